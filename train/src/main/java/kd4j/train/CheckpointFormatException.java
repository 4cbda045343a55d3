/*
 * A kd4j checkpoint that cannot be read back: missing or truncated files, a checksum that does not match, a
 * tensor whose name, dtype or shape differs from the model being resumed. The message names the file, the
 * position and what was expected.
 */
package kd4j.train;

import java.io.IOException;
import java.nio.file.Path;

public final class CheckpointFormatException extends IOException {
    public CheckpointFormatException(Path file, String problem) {
        super(file + ": " + problem);
    }

    /** The safetensors reader's complaint about a checkpoint's tensor file, as this layer's checked exception. */
    public CheckpointFormatException(kd4j.models.io.CheckpointFormatException cause) {
        super(cause.getMessage(), cause);
    }

    public CheckpointFormatException(Path file, long offset, String expected, String found) {
        super(file + " at byte " + offset + ": expected " + expected + ", found " + found);
    }
}
