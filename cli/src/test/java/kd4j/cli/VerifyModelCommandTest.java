/* `kd4j verify-model` on the fixture models: in tolerance (exit 0), a mismatched reference (exit 1), bad input (exit 3). */
package kd4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VerifyModelCommandTest {
    @TempDir Path tmp;

    static Path models() {
        String p = System.getProperty("kd4j.fixtures", System.getenv("KD4J_FIXTURES"));
        Path dir = p == null ? null : Path.of(p, "models");
        Assumptions.assumeTrue(dir != null && Files.isDirectory(dir.resolve("qwen2")),
                "fixtures not found at " + p + "; set KD4J_FIXTURES");
        return dir;
    }

    @Test
    void fixtureModel_isWithinTolerance() {
        Path q = models().resolve("qwen2");
        var run = CliRunner.run("verify-model", "--model", q.toString(), "--reference",
                q.resolve("reference.safetensors").toString());
        assertEquals(0, run.exit(), run.out() + run.err());
        assertTrue(run.out().lines().anyMatch(l -> l.startsWith("logits ") && l.endsWith("ok")), run.out());
        assertTrue(run.out().contains("grad.model.layers.1.self_attn.q_proj.bias"), run.out());
        assertTrue(run.out().contains("all "), run.out());
    }

    @Test
    void otherModelsReference_isOutOfTolerance() {
        Path m = models();
        var run = CliRunner.run("verify-model", "--model", m.resolve("llama").toString(), "--reference",
                m.resolve("qwen2/reference.safetensors").toString());
        assertEquals(ExitCodes.FAILED, run.exit(), run.out() + run.err());
        assertTrue(run.out().contains("OUT OF TOLERANCE"), run.out());
    }

    @Test
    void missingModelDirectory_isBadInput() {
        var run = CliRunner.run("verify-model", "--model", tmp.resolve("nope").toString(), "--reference",
                tmp.resolve("ref.safetensors").toString());
        assertEquals(ExitCodes.BAD_INPUT, run.exit(), run.out() + run.err());
        assertTrue(run.err().contains("nope"), run.err());
    }
}
