/*
 * A text input for tokenization that cannot be used: a JSONL line that is not JSON or lacks the text field, or a
 * file with no text at all. The message names the file and the line ("corpus.jsonl:12: not valid JSON: ...").
 * Bad input (exit 3), as the data pipeline's DataFormatException is.
 */
package kd4j.tokenizers;

import java.io.IOException;
import java.nio.file.Path;

public final class TextFormatException extends IOException {
    private final Path file;
    private final long line;

    /** line is 1-based, or 0 when the problem is the whole file. */
    public TextFormatException(Path file, long line, String problem) {
        super(file + (line > 0 ? ":" + line : "") + ": " + problem);
        this.file = file;
        this.line = line;
    }

    public Path file() { return file; }

    /** 1-based line of the problem, 0 for the whole file. */
    public long line() { return line; }
}
