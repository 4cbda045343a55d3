/*
 * What the JSON config readers (TrainConfig, the pipeline's PipelineConfig) share to turn a bad value into a
 * ConfigFormatException that names the file, the line and column and the dotted key: the key's place in the
 * text, Jackson's path as a dotted key, and a Checker for range checks after parsing.
 */
package kd4j.train;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonMappingException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;

public final class ConfigErrors {
    private ConfigErrors() {}

    /**
     * Range checks of a parsed config; a failure throws with the key's line in text (when the text has the key),
     * or as a command-line error (no file) when the key's value came from an override.
     */
    public record Checker(Path file, String text, java.util.Set<String> overridden) {
        public Checker(Path file, String text) { this(file, text, java.util.Set.of()); }

        public void atLeast(String key, long value, long min) {
            if (value < min) fail(key, "must be >= " + min + ", got " + value);
        }

        public void unitInterval(String key, double v) {
            if (!(v >= 0 && v < 1)) fail(key, "must be in [0, 1), got " + v);
        }

        /**
         * For checks made outside this config's reader (the KD job's names and schedules): fromFlag, the
         * flag-worded error, where key's value came from a flag (or there is no file); else the file's error at key.
         */
        public RuntimeException bad(String key, String problem, RuntimeException fromFlag) {
            if (file == null || overridden.contains(key)) return fromFlag;
            int[] lc = text == null ? new int[] {-1, -1} : locate(text, key);
            return new ConfigFormatException(file, lc[0], lc[1], key, problem);
        }

        public void fail(String key, String problem) {
            if (overridden.contains(key)) throw new ConfigFormatException(null, -1, -1, key, problem);
            int[] lc = text == null ? new int[] {-1, -1} : locate(text, key);
            throw new ConfigFormatException(file, lc[0], lc[1], key, problem);
        }
    }

    /** Line and column of a dotted key's name in JSON text ({-1, -1} when absent, e.g. a default). */
    public static int[] locate(String text, String dottedKey) {
        try (JsonParser p = new JsonFactory().createParser(text)) {
            Deque<String> path = new ArrayDeque<>();
            String pending = null;
            for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
                switch (t) {
                    case FIELD_NAME -> {
                        pending = p.currentName();
                        String full = path.isEmpty() ? pending : String.join(".", path.reversed()) + "." + pending;
                        if (full.equals(dottedKey)) {
                            JsonLocation l = p.currentTokenLocation();
                            return new int[] {l.getLineNr(), l.getColumnNr()};
                        }
                    }
                    case START_OBJECT -> { if (pending != null) path.push(pending); pending = null; }
                    case END_OBJECT -> { if (!path.isEmpty()) path.pop(); }
                    default -> pending = null;
                }
            }
        } catch (IOException ignored) {
            // The text parsed once already; a failure here only costs the line number.
        }
        return new int[] {-1, -1};
    }

    /** Jackson's path to the failing value as a dotted key ("students.training.steps", "data.inputs[2]"). */
    public static String path(JsonMappingException m) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference r : m.getPath()) {
            if (r.getFieldName() != null) {
                if (!sb.isEmpty()) sb.append('.');
                sb.append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                sb.append('[').append(r.getIndex()).append(']');
            }
        }
        return sb.toString();
    }

    /** The first line of a Jackson message (the rest is its source excerpt), or "invalid value" when there is none. */
    public static String firstLine(String s) {
        if (s == null) return "invalid value";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
