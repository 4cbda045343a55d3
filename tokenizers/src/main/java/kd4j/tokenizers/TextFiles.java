/*
 * Reading text for tokenization: invalid UTF-8 is replaced as HF does (one U+FFFD per maximal invalid subpart)
 * and reported once per file with the byte offset of the first bad sequence. JSONL files give one document per
 * line from a named field; other files are plain text.
 */
package kd4j.tokenizers;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

public final class TextFiles {

    /** The file's text; warnings receives one message when it holds invalid UTF-8. */
    public static String readText(Path file, Consumer<String> warnings) throws IOException {
        return decode(Files.readAllBytes(file), file.toString(), warnings);
    }

    /** Text of bytes read from source (a file name or "stdin", for the warning). */
    public static String decode(byte[] bytes, String source, Consumer<String> warnings) {
        long[] bad = {-1, 0};
        String text = Utf8.decode(bytes, 0, bytes.length, bad);
        if (bad[0] >= 0)
            warnings.accept(source + ": invalid UTF-8 at byte " + bad[0] + " (" + bad[1]
                    + " invalid sequence" + (bad[1] == 1 ? "" : "s") + " replaced by U+FFFD, as HF tokenizers does)");
        return text;
    }

    /** Whether the file is read as JSON lines (by its extension .jsonl or .ndjson). */
    public static boolean isJsonLines(Path file) {
        String name = file.getFileName().toString();
        return name.endsWith(".jsonl") || name.endsWith(".ndjson");
    }

    /**
     * Documents of a file: for JSONL the string field of every non-blank line, otherwise every non-empty line.
     *
     * @throws TextFormatException naming the file, line and fields when a line is not JSON or lacks the field
     */
    public static List<String> readDocuments(Path file, String field, Consumer<String> warnings) throws IOException {
        String text = readText(file, warnings);
        List<String> docs = new ArrayList<>();
        boolean json = isJsonLines(file);
        int lineNo = 0;
        for (String line : text.split("\n", -1)) {
            lineNo++;
            if (line.isBlank()) continue;
            if (!json) { docs.add(line); continue; }
            JsonNode node;
            try {
                node = TokenizerJson.MAPPER.readTree(line);
            } catch (JsonProcessingException e) {
                throw new TextFormatException(file, lineNo, "not valid JSON: " + e.getOriginalMessage());
            }
            JsonNode value = node.get(field);
            if (value == null || !value.isTextual()) {
                List<String> fields = new ArrayList<>();
                node.fieldNames().forEachRemaining(fields::add);
                throw new TextFormatException(file, lineNo, "line has no string field \"" + field
                        + "\" (fields: " + String.join(", ", fields) + ")");
            }
            docs.add(value.asText());
        }
        return docs;
    }

    private TextFiles() {}
}
