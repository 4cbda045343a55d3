/* Exit codes come from the exception's type: each kind of failure the CLI documents, by its class. */
package kd4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import kd4j.data.DataFormatException;
import kd4j.models.io.CheckpointFormatException;
import kd4j.tensor.opencl.DeviceUnavailableException;
import kd4j.tokenizers.TokenizerFormatException;
import kd4j.train.ConfigFormatException;
import kd4j.train.DivergenceException;
import org.junit.jupiter.api.Test;

class ErrorsTest {
    @Test
    void exitCodes_followTheExceptionTypes() {
        Path f = Path.of("x.json");
        assertEquals(ExitCodes.DEVICE_UNAVAILABLE, Errors.exitCode(new DeviceUnavailableException("no GPU")));
        assertEquals(ExitCodes.BAD_INPUT, Errors.exitCode(new TokenizerFormatException(f, "$.model", "bad")));
        assertEquals(ExitCodes.BAD_INPUT, Errors.exitCode(new CheckpointFormatException(f, "header", "bad")));
        assertEquals(ExitCodes.BAD_INPUT, Errors.exitCode(new ConfigFormatException(f, 1, 2, "run.seed", "bad")));
        assertEquals(ExitCodes.USAGE, Errors.exitCode(new ConfigFormatException(null, -1, -1, "run.seed", "bad")),
                "a bad flag value has no file behind it");
        assertEquals(ExitCodes.BAD_INPUT, Errors.exitCode(DataFormatException.of(f, "bad")));
        assertEquals(ExitCodes.FAILED, Errors.exitCode(new IOException("No space left on device")), "a full disk");
        assertEquals(ExitCodes.USAGE, Errors.exitCode(new IllegalArgumentException("--ratio must be in (0, 1]")));
        assertEquals(ExitCodes.FAILED, Errors.exitCode(new DivergenceException(3, "the loss is NaN")));
        assertEquals(ExitCodes.FAILED, Errors.exitCode(new UncheckedIOException(new IOException("x"))),
                "only the unwrapped cause is mapped (handleExecutionException unwraps)");
    }
}
