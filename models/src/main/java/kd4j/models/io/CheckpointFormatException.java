/*
 * A checkpoint or config file that kd4j cannot use: truncated, lying about its offsets, missing a tensor, holding
 * a tensor of the wrong shape, or naming an unsupported architecture. The message names the file, the position
 * (tensor name, JSON key or byte offset) and what was expected, so it is user-ready as it stands.
 */
package kd4j.models.io;

import java.nio.file.Path;

public final class CheckpointFormatException extends IllegalArgumentException {
    private final Path file;

    /** "model.safetensors: tensor 'x': has shape [2, 3], expected [3, 2]". where may be null. */
    public CheckpointFormatException(Path file, String where, String problem) {
        super(format(file, where, problem));
        this.file = file;
    }

    public CheckpointFormatException(Path file, String where, String problem, Throwable cause) {
        super(format(file, where, problem), cause);
        this.file = file;
    }

    /** The offending file (may be null for an in-memory config). */
    public Path file() { return file; }

    private static String format(Path file, String where, String problem) {
        StringBuilder sb = new StringBuilder();
        sb.append(file == null ? "<config>" : file.toString());
        if (where != null && !where.isEmpty()) sb.append(": ").append(where);
        return sb.append(": ").append(problem).toString();
    }
}
