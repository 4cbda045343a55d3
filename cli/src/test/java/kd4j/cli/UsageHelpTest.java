package kd4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Picocli runs every help text through String.format: a lone % (a "95% interval") made it print a warning on stderr
 * each time the help was built and show the raw text. Rendering every command's help must warn about nothing.
 */
class UsageHelpTest {
    @Test
    void everyCommandsHelpRendersWithoutPicocliWarnings() {
        List<String> commands = new ArrayList<>(), warnings = new ArrayList<>();
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            render(Kd4j.newCommandLine(), commands, warnings, captured);
        } finally {
            System.setErr(err);
        }
        assertTrue(commands.size() > 20, "walked only " + commands);
        assertTrue(commands.contains("kd4j demo") && commands.contains("kd4j bench train"), commands.toString());
        assertEquals(List.of(), warnings);
    }

    private static void render(CommandLine cl, List<String> commands, List<String> warnings, ByteArrayOutputStream captured) {
        String name = cl.getCommandSpec().qualifiedName();
        commands.add(name);
        captured.reset();
        String help = cl.getUsageMessage(CommandLine.Help.Ansi.OFF);
        assertTrue(help.contains("Usage: " + name), help);
        String err = captured.toString(StandardCharsets.UTF_8);
        if (err.contains("picocli WARN")) warnings.add(name + ": " + err.strip());
        for (CommandLine sub : cl.getSubcommands().values()) render(sub, commands, warnings, captured);
    }
}
