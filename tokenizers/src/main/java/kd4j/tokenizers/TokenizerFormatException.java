/*
 * A tokenizer.json (or tokenizer_config.json) that cannot be loaded: names the file, the JSON path of the bad
 * value ($.model.merges[1207]) and what was expected, so the message is user-ready without a stack trace.
 */
package kd4j.tokenizers;

import java.nio.file.Path;

public final class TokenizerFormatException extends IllegalArgumentException {
    private final Path path;
    private final String jsonPath;

    public TokenizerFormatException(Path path, String jsonPath, String message) {
        super((path == null ? "tokenizer.json" : path.toString()) + ": " + jsonPath + ": " + message);
        this.path = path;
        this.jsonPath = jsonPath;
    }

    /** The file that was being read (may be null for in-memory JSON). */
    public Path path() { return path; }

    /** JSONPath of the offending value, e.g. {@code $.model.merges[3]}. */
    public String jsonPath() { return jsonPath; }
}
