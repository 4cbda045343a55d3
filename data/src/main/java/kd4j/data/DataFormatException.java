/*
 * Bad input to the data pipeline: a corpus file, a token shard or an index that is not what it should be. The
 * message names the file, the position (line or byte offset) and what was expected, and is user-ready as built.
 */
package kd4j.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

public final class DataFormatException extends IOException {
    private final Path file;

    /** "file:line: problem" for text inputs (lines counted from 1, printed with thousands separators). */
    public static DataFormatException atLine(Path file, long line, String problem) {
        return new DataFormatException(file, name(file) + ":" + String.format(Locale.ROOT, "%,d", line) + ": " + problem);
    }

    /** "file: byte N: problem" for binary inputs. */
    public static DataFormatException atByte(Path file, long offset, String problem) {
        return new DataFormatException(file, name(file) + ": byte " + offset + ": " + problem);
    }

    /** "file: problem" when no finer position applies (an empty file, a missing part). */
    public static DataFormatException of(Path file, String problem) {
        return new DataFormatException(file, name(file) + ": " + problem);
    }

    private DataFormatException(Path file, String message) {
        super(message);
        this.file = file;
    }

    public Path file() {
        return file;
    }

    private static String name(Path file) {
        return file == null ? "<input>" : file.toString();
    }
}
