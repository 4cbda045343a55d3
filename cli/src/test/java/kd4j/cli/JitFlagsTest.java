package kd4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JitFlagsTest {
    @Test
    void hotspotDefaultsMissBothFlags() {
        Map<String, String> defaults = Map.of("UseProfiledLoopPredicate", "true", "PerBytecodeTrapLimit", "4");
        List<String> missing = JitFlags.missing(defaults::get);
        assertEquals(List.of("-XX:-UseProfiledLoopPredicate", "-XX:PerBytecodeTrapLimit=100"), missing);
        String note = JitFlags.note(missing).orElseThrow();
        assertTrue(note.contains("-XX:-UseProfiledLoopPredicate -XX:PerBytecodeTrapLimit=100"), note);
        assertTrue(note.contains("boxed vectors"), note);
    }

    @Test
    void theLaunchersFlagsOrMoreSatisfyIt() {
        assertEquals(List.of(), JitFlags.missing(Map.of("UseProfiledLoopPredicate", "false", "PerBytecodeTrapLimit", "100")::get));
        assertEquals(List.of(), JitFlags.missing(Map.of("UseProfiledLoopPredicate", "false", "PerBytecodeTrapLimit", "250")::get));
        assertEquals(List.of("-XX:PerBytecodeTrapLimit=100"),
                JitFlags.missing(Map.of("UseProfiledLoopPredicate", "false", "PerBytecodeTrapLimit", "99")::get));
        assertTrue(JitFlags.note(List.of()).isEmpty());
    }

    @Test
    void aJvmWithoutTheOptionsGetsNoNote() {
        assertEquals(List.of(), JitFlags.missing(option -> null));   // not HotSpot, or no C2
    }

    @Test
    void theTestForksRunWithTheFlags() {
        // surefire starts this JVM with kd4j.jvmFlags from the parent pom, the same flags as the launcher
        assertEquals(List.of(), JitFlags.missing());
    }
}
