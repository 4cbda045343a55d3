/*
 * Reads a corpus as a stream of documents: plain text files (one document per file), JSON Lines files (one
 * document per line, the text in a chosen field), folders of either (walked recursively in path order, hidden
 * files skipped) and the .gz forms of all of them. Invalid UTF-8 is replaced by U+FFFD and reported once per
 * file with the byte offset of its first occurrence. Not a tokenizer and not parallel: Prepare does that.
 */
package kd4j.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

public final class CorpusReader implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<Path> files;
    private final String field;
    private final Consumer<String> warnings;
    private int fileIndex = -1;
    private Path file;
    private InputStream in;
    private boolean jsonl;
    private long line;            // 1-based line number of the last line read in a JSONL file
    private long byteOffset;      // uncompressed byte offset of the next line in the current file
    private long documentsInFile;
    private long ordinal;
    private final Utf8 utf8 = new Utf8();

    /**
     * @param inputs   files and folders, read in the given order (folders in sorted path order)
     * @param field    the JSONL field that holds the text (usually "text")
     * @param warnings receives one line per recoverable problem (invalid UTF-8), naming the file and byte offset
     */
    public CorpusReader(List<Path> inputs, String field, Consumer<String> warnings) throws IOException {
        this.files = expand(inputs);
        this.field = field;
        this.warnings = warnings;
    }

    /** The files that inputs name, folders expanded recursively (sorted, hidden files and folders skipped). */
    public static List<Path> expand(List<Path> inputs) throws IOException {
        List<Path> out = new ArrayList<>();
        for (Path p : inputs) {
            if (Files.isDirectory(p)) {
                try (Stream<Path> walk = Files.walk(p)) {
                    walk.filter(Files::isRegularFile)
                            .filter(f -> !isHidden(p.relativize(f)))
                            .sorted()
                            .forEach(out::add);
                }
            } else if (Files.isRegularFile(p)) {
                out.add(p);
            } else {
                throw DataFormatException.of(p, "no such file or folder");
            }
        }
        if (out.isEmpty()) throw DataFormatException.of(inputs.isEmpty() ? null : inputs.get(0), "no input files found");
        return out;
    }

    private static boolean isHidden(Path relative) {
        for (Path part : relative) if (part.toString().startsWith(".")) return true;
        return false;
    }

    /** True for names ending in .jsonl or .ndjson (optionally .gz): one JSON object per line. */
    public static boolean isJsonLines(Path file) {
        String n = stripGz(file.getFileName().toString().toLowerCase(java.util.Locale.ROOT));
        return n.endsWith(".jsonl") || n.endsWith(".ndjson");
    }

    private static String stripGz(String name) {
        return name.endsWith(".gz") ? name.substring(0, name.length() - 3) : name;
    }

    public List<Path> files() {
        return files;
    }

    /** The next document, or null after the last one. */
    public Document read() throws IOException {
        while (true) {
            if (in == null && !openNext()) return null;
            Document d = jsonl ? readJsonLine() : readWholeFile();
            if (d != null) {
                documentsInFile++;
                return d;
            }
            finishFile();
        }
    }

    private boolean openNext() throws IOException {
        if (++fileIndex >= files.size()) return false;
        file = files.get(fileIndex);
        jsonl = isJsonLines(file);
        line = 0;
        byteOffset = 0;
        readPos = readLimit = 0;
        documentsInFile = 0;
        utf8.reset();
        if (Files.size(file) == 0) throw DataFormatException.of(file, "file is empty; expected UTF-8 text");
        InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        if (file.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".gz")) {
            try {
                raw = new BufferedInputStream(new GZIPInputStream(raw, 1 << 16), 1 << 16);
            } catch (ZipException | EOFException e) {
                raw.close();
                throw DataFormatException.of(file, "not a gzip file (" + e.getMessage() + ")");
            }
        }
        in = raw;
        return true;
    }

    private void finishFile() throws IOException {
        in.close();
        in = null;
        if (utf8.malformed > 0)
            warnings.accept(file + ": invalid UTF-8 at byte " + utf8.firstMalformed + " replaced with U+FFFD"
                    + (utf8.malformed > 1 ? " (" + (utf8.malformed - 1) + " more in this file)" : "")
                    + (file.toString().endsWith(".gz") ? " (offsets are in the uncompressed data)" : ""));
        if (documentsInFile == 0) throw DataFormatException.of(file, "contains no text");
    }

    private Document readWholeFile() throws IOException {
        if (documentsInFile > 0) return null;
        byte[] bytes = readAll();
        int start = hasBom(bytes, 0, bytes.length) ? 3 : 0;
        checkText(bytes, start, bytes.length, 0, -1);
        String text = utf8.decode(bytes, start, bytes.length - start, 0);
        if (text.isBlank()) throw DataFormatException.of(file, "contains no text (only white space)");
        Path name = file.getFileName();
        return new Document(ordinal++, name.toString(), file.toString(), text);
    }

    private byte[] readAll() throws IOException {
        try {
            return in.readAllBytes();
        } catch (EOFException | ZipException e) {
            throw DataFormatException.of(file, "gzip data is truncated or corrupt (" + e.getMessage() + ")");
        }
    }

    private Document readJsonLine() throws IOException {
        while (true) {
            long lineStart = byteOffset;
            byte[] bytes = readLine();
            if (bytes == null) return null;
            line++;
            int start = line == 1 && hasBom(bytes, 0, lineLength) ? 3 : 0;
            int end = lineLength;
            if (end > start && bytes[end - 1] == '\r') end--;
            if (isBlank(bytes, start, end)) continue;
            checkText(bytes, start, end, lineStart, line);
            String text = utf8.decode(bytes, start, end - start, lineStart);
            JsonNode node;
            try {
                node = JSON.readTree(text);
            } catch (JsonProcessingException e) {
                throw DataFormatException.atLine(file, line, "not valid JSON: " + e.getOriginalMessage()
                        + (line == 1 ? " (a .jsonl file holds one JSON object per line; rename it if it is plain text)" : ""));
            }
            if (node == null || !node.isObject())
                throw DataFormatException.atLine(file, line, "expected a JSON object, found " + kind(node));
            JsonNode value = node.get(field);
            if (value == null) throw missingField(node);
            if (!value.isTextual())
                throw DataFormatException.atLine(file, line, "field \"" + field + "\" is " + kind(value) + ", expected a string");
            JsonNode idNode = node.get("id");
            String id = idNode != null && (idNode.isTextual() || idNode.isNumber()) ? idNode.asText()
                    : file.getFileName() + ":" + line;
            return new Document(ordinal++, id, file.toString(), value.textValue(), group(node));
        }
    }

    /** "group (label)", "group", "label" or "" from a record's optional string fields of those names. */
    private static String group(JsonNode node) {
        JsonNode g = node.get("group"), l = node.get("label");
        String group = g != null && g.isTextual() ? g.textValue() : "", label = l != null && l.isTextual() ? l.textValue() : "";
        if (group.isEmpty() || label.isEmpty()) return group + label;
        return group + " (" + label + ")";
    }

    private DataFormatException missingField(JsonNode node) {
        List<String> names = new ArrayList<>();
        String suggestion = null;
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String n = it.next();
            names.add(n);
            // Suggest the string field with the longest value: the text is usually the longest string.
            if (node.get(n).isTextual() && !n.equals("id")
                    && (suggestion == null || node.get(n).textValue().length() > node.get(suggestion).textValue().length()))
                suggestion = n;
        }
        return DataFormatException.atLine(file, line, "line has no field \"" + field + "\" (fields: " + String.join(", ", names)
                + ")." + (suggestion != null ? " Use --field " + suggestion + "?" : ""));
    }

    private static String kind(JsonNode n) {
        if (n == null || n.isMissingNode()) return "nothing";
        return switch (n.getNodeType()) {
            case ARRAY -> "an array";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            case NUMBER -> "a number";
            case OBJECT -> "an object";
            case STRING -> "a string";
            default -> n.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
        };
    }

    /** A NUL byte never occurs in text (JSON escapes it), so one means a binary file was passed as a corpus. */
    private void checkText(byte[] b, int from, int to, long base, long lineNumber) throws DataFormatException {
        for (int i = from; i < to; i++) {
            if (b[i] == 0) {
                String where = "byte 0x00 at offset " + (base + i) + (file.toString().endsWith(".gz") ? " (uncompressed)" : "");
                String msg = "not a text file: " + where + "; expected UTF-8 text";
                throw lineNumber > 0 ? DataFormatException.atLine(file, lineNumber, msg) : DataFormatException.of(file, msg);
            }
        }
    }

    private static boolean hasBom(byte[] b, int from, int to) {
        return to - from >= 3 && (b[from] & 0xFF) == 0xEF && (b[from + 1] & 0xFF) == 0xBB && (b[from + 2] & 0xFF) == 0xBF;
    }

    private static boolean isBlank(byte[] b, int from, int to) {
        for (int i = from; i < to; i++) if (b[i] != ' ' && b[i] != '\t') return false;
        return true;
    }

    private byte[] lineBuffer = new byte[1 << 12];
    private int lineLength;
    private final byte[] readBuffer = new byte[1 << 16];
    private int readPos, readLimit;

    /** Reads one line (without its '\n') into lineBuffer; returns it, or null at end of file. */
    private byte[] readLine() throws IOException {
        int n = 0;
        boolean any = false;
        try {
            while (true) {
                if (readPos == readLimit) {
                    readLimit = in.read(readBuffer, 0, readBuffer.length);
                    readPos = 0;
                    if (readLimit <= 0) {
                        readLimit = 0;
                        break;
                    }
                }
                any = true;
                int start = readPos;
                while (readPos < readLimit && readBuffer[readPos] != '\n') readPos++;
                int len = readPos - start;
                if (n + len > lineBuffer.length) lineBuffer = java.util.Arrays.copyOf(lineBuffer, Math.max(n + len, n * 2));
                System.arraycopy(readBuffer, start, lineBuffer, n, len);
                n += len;
                byteOffset += len;
                if (readPos < readLimit) {   // found '\n'
                    readPos++;
                    byteOffset++;
                    break;
                }
            }
        } catch (EOFException | ZipException e) {
            throw DataFormatException.atLine(file, line + 1, "gzip data is truncated or corrupt (" + e.getMessage() + ")");
        }
        lineLength = n;
        return any ? lineBuffer : null;
    }

    @Override
    public void close() throws IOException {
        if (in != null) in.close();
        in = null;
    }

    /** UTF-8 decoding that replaces malformed input and remembers where the first malformed byte was. */
    private static final class Utf8 {
        private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        long firstMalformed = -1;
        long malformed;

        void reset() {
            firstMalformed = -1;
            malformed = 0;
        }

        String decode(byte[] b, int off, int len, long base) {
            ByteBuffer src = ByteBuffer.wrap(b, off, len);
            CharBuffer dst = CharBuffer.allocate(len + 16);
            decoder.reset();
            while (true) {
                CoderResult r = decoder.decode(src, dst, true);
                if (r.isOverflow()) {
                    dst = grow(dst);
                } else if (r.isError()) {
                    if (malformed++ == 0) firstMalformed = base + src.position();
                    if (!dst.hasRemaining()) dst = grow(dst);
                    dst.put('\uFFFD');
                    src.position(src.position() + r.length());
                } else {
                    break;
                }
            }
            while (decoder.flush(dst).isOverflow()) dst = grow(dst);
            dst.flip();
            return dst.toString();
        }

        private static CharBuffer grow(CharBuffer b) {
            CharBuffer bigger = CharBuffer.allocate(b.capacity() * 2 + 16);
            b.flip();
            bigger.put(b);
            return bigger;
        }
    }
}
