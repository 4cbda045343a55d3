/*
 * Zero-shot task files: JSON Lines (gzip-compressed when the name ends in .gz), one example per line. The kind is
 * recognised from the first example's fields: {"context", "choices", "gold"} is a multiple-choice task
 * (MultipleChoiceEval), {"sentence_good", "sentence_bad"} a minimal-pair task such as BLiMP (MinimalPairEval).
 * Anything else is refused with the file, the line and the fields it has.
 */
package kd4j.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

public final class TaskFiles {
    private static final ObjectMapper JSON = new ObjectMapper();

    public enum Kind {
        MULTIPLE_CHOICE("multiple choice (context, choices, gold)"),
        MINIMAL_PAIRS("minimal pairs (sentence_good, sentence_bad)");

        private final String description;
        Kind(String description) { this.description = description; }
        public String description() { return description; }
    }

    /** One parsed line: its 1-based number in the file and the JSON object on it. */
    record Line(int number, JsonNode json) {}

    private TaskFiles() {}

    /** The kind of a task file, from the fields of its first example. */
    public static Kind kind(Path file) throws IOException {
        List<Line> lines = lines(file);
        Line first = lines.getFirst();
        JsonNode n = first.json();
        if (n.has("sentence_good") || n.has("sentence_bad")) return Kind.MINIMAL_PAIRS;
        if (n.has("context") || n.has("choices")) return Kind.MULTIPLE_CHOICE;
        throw new IOException(file + ":" + first.number() + ": unknown task shape" + fields(n) + "; expected "
                + Kind.MULTIPLE_CHOICE.description() + " or " + Kind.MINIMAL_PAIRS.description());
    }

    /** Every non-blank line as a JSON object; errors name the file and line; an empty file is an error. */
    static List<Line> lines(Path file) throws IOException {
        List<Line> out = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(open(file), StandardCharsets.UTF_8))) {
            int number = 0;
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                number++;
                if (line.isBlank()) continue;
                JsonNode n;
                try {
                    n = JSON.readTree(line);
                } catch (JsonProcessingException e) {
                    throw new IOException(file + ":" + number + ": not a JSON object (" + e.getOriginalMessage() + ")");
                }
                if (!n.isObject()) throw new IOException(file + ":" + number + ": expected a JSON object, found " + n.getNodeType());
                out.add(new Line(number, n));
            }
        } catch (java.util.zip.ZipException e) {
            throw new IOException(file + ": not a valid gzip file (" + e.getMessage() + ")");
        }
        if (out.isEmpty()) throw new IOException(file + ": no examples (expected one JSON object per line)");
        return out;
    }

    private static InputStream open(Path file) throws IOException {
        InputStream in = Files.newInputStream(file);
        return file.getFileName().toString().endsWith(".gz") ? new GZIPInputStream(in, 1 << 16) : in;
    }

    static String fields(JsonNode n) {
        List<String> names = new ArrayList<>();
        n.fieldNames().forEachRemaining(names::add);
        return " (fields: " + String.join(", ", names) + ")";
    }
}
