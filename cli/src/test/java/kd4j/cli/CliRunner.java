/*
 * Runs the kd4j command line in-process, as picocli's own tests do, with out and err captured: the one helper the
 * command tests share.
 */
package kd4j.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

final class CliRunner {
    private CliRunner() {}

    /** A finished run: the exit code and everything printed to out and err. */
    record Run(int exit, String out, String err) {}

    /** Executes {@code kd4j args...} through {@link Kd4j#newCommandLine()} and returns what it printed. */
    static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        var cl = Kd4j.newCommandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }
}
