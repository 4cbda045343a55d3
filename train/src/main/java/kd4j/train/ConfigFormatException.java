/*
 * A training config that cannot be used: an unknown key, a value of the wrong type, or a value out of range.
 * The message names the file, the line and the key (with a did-you-mean when one is close), so it is
 * user-ready as it stands: "run.json:7:5: unknown key "optimizer.learnRate" (did you mean "lr"?)".
 */
package kd4j.train;

import java.nio.file.Path;

public final class ConfigFormatException extends IllegalArgumentException {
    private final Path file;
    private final int line;
    private final String key;
    private final String problem;

    public ConfigFormatException(Path file, int line, int column, String key, String problem) {
        super(format(file, line, column, key, problem));
        this.file = file;
        this.line = line;
        this.key = key;
        this.problem = problem;
    }

    /** The config file, or null when the value came from a command-line flag. */
    public Path file() { return file; }

    /** 1-based line in the file, or -1 when unknown. */
    public int line() { return line; }

    /** Dotted key path such as "optimizer.lr". */
    public String key() { return key; }

    /** What is wrong with the value, without file and key ("must be >= 1, got -2"). */
    public String problem() { return problem; }

    private static String format(Path file, int line, int column, String key, String problem) {
        StringBuilder sb = new StringBuilder();
        sb.append(file == null ? "command line" : file.toString());
        if (line > 0) sb.append(':').append(line);
        if (line > 0 && column > 0) sb.append(':').append(column);
        sb.append(": ");
        if (key != null && !key.isEmpty()) sb.append('"').append(key).append("\": ");
        return sb.append(problem).toString();
    }
}
