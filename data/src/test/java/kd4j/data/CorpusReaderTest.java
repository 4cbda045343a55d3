package kd4j.data;

import static org.junit.jupiter.api.Assertions.*;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CorpusReaderTest {
    @TempDir Path dir;

    static List<Document> readAll(List<Path> inputs, String field, List<String> warnings) throws Exception {
        List<Document> out = new ArrayList<>();
        try (CorpusReader r = new CorpusReader(inputs, field, warnings::add)) {
            for (Document d; (d = r.read()) != null; ) out.add(d);
        }
        return out;
    }

    static void gzip(Path p, String text) throws Exception {
        try (OutputStream o = new GZIPOutputStream(Files.newOutputStream(p))) {
            o.write(text.getBytes(StandardCharsets.UTF_8));
        }
    }

    @Test
    void readsFoldersOfTextJsonlAndGz_inPathOrder_withIds() throws Exception {
        Path corpus = Files.createDirectories(dir.resolve("corpus"));
        Files.writeString(corpus.resolve("b.txt"), "Plain text\nacross lines.\n");
        Files.writeString(corpus.resolve("a.jsonl"), "{\"id\": \"x1\", \"text\": \"first\"}\n\n{\"text\": \"second\", \"id\": 7}\r\n{\"text\": \"no id\"}");
        gzip(corpus.resolve("c.jsonl.gz"), "{\"text\": \"zipped \\u00e9\"}\n");
        gzip(corpus.resolve("d.txt.gz"), "zipped plain");
        Files.writeString(Files.createDirectories(corpus.resolve(".hidden")).resolve("skip.txt"), "never read");
        List<String> warnings = new ArrayList<>();
        List<Document> docs = readAll(List.of(corpus), "text", warnings);
        assertEquals(List.of("x1", "7", "a.jsonl:4", "b.txt", "c.jsonl.gz:1", "d.txt.gz"), docs.stream().map(Document::id).toList());
        assertEquals(List.of("first", "second", "no id", "Plain text\nacross lines.\n", "zipped é", "zipped plain"),
                docs.stream().map(Document::text).toList());
        assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L), docs.stream().map(Document::ordinal).toList());
        assertEquals(corpus.resolve("a.jsonl").toString(), docs.get(0).source());
        assertEquals(List.of(), warnings);
    }

    @Test
    void missingField_namesFileLineFieldsAndSuggestsOne() throws Exception {
        Path p = dir.resolve("corpus.jsonl");
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 1881; i++) s.append("{\"id\": ").append(i).append(", \"text\": \"t\"}\n");
        s.append("{\"id\": 1881, \"body\": \"the text is here\"}\n");
        Files.writeString(p, s);
        var e = assertThrows(DataFormatException.class, () -> readAll(List.of(p), "text", new ArrayList<>()));
        assertEquals(p + ":1,882: line has no field \"text\" (fields: id, body). Use --field body?", e.getMessage());
    }

    @Test
    void badJsonLines_nameTheLineAndWhatWasExpected() throws Exception {
        Path p = dir.resolve("bad.jsonl");
        Files.writeString(p, "{\"text\": \"ok\"}\n[1, 2]\n");
        var e = assertThrows(DataFormatException.class, () -> readAll(List.of(p), "text", new ArrayList<>()));
        assertEquals(p + ":2: expected a JSON object, found an array", e.getMessage());

        Files.writeString(p, "{\"text\": 12}\n");
        e = assertThrows(DataFormatException.class, () -> readAll(List.of(p), "text", new ArrayList<>()));
        assertEquals(p + ":1: field \"text\" is a number, expected a string", e.getMessage());

        Files.writeString(p, "Just some prose.\n");
        e = assertThrows(DataFormatException.class, () -> readAll(List.of(p), "text", new ArrayList<>()));
        assertTrue(e.getMessage().startsWith(p + ":1: not valid JSON: "), e.getMessage());
        assertTrue(e.getMessage().endsWith("rename it if it is plain text)"), e.getMessage());
    }

    @Test
    void emptyAndBinaryFilesAreRejected() throws Exception {
        Path empty = dir.resolve("empty.txt");
        Files.write(empty, new byte[0]);
        var e = assertThrows(DataFormatException.class, () -> readAll(List.of(empty), "text", new ArrayList<>()));
        assertEquals(empty + ": file is empty; expected UTF-8 text", e.getMessage());

        Path blank = dir.resolve("blank.jsonl");
        Files.writeString(blank, "\n  \n");
        e = assertThrows(DataFormatException.class, () -> readAll(List.of(blank), "text", new ArrayList<>()));
        assertEquals(blank + ": contains no text", e.getMessage());

        Path bin = dir.resolve("model.bin");
        Files.write(bin, new byte[] {'a', 'b', 'c', 0, 1, 2});
        e = assertThrows(DataFormatException.class, () -> readAll(List.of(bin), "text", new ArrayList<>()));
        assertEquals(bin + ": not a text file: byte 0x00 at offset 3; expected UTF-8 text", e.getMessage());

        Path notGz = dir.resolve("fake.jsonl.gz");
        Files.writeString(notGz, "{\"text\": \"not compressed\"}");
        e = assertThrows(DataFormatException.class, () -> readAll(List.of(notGz), "text", new ArrayList<>()));
        assertTrue(e.getMessage().startsWith(notGz + ": not a gzip file"), e.getMessage());

        var missing = assertThrows(DataFormatException.class, () -> readAll(List.of(dir.resolve("nope")), "text", new ArrayList<>()));
        assertEquals(dir.resolve("nope") + ": no such file or folder", missing.getMessage());
    }

    @Test
    void invalidUtf8IsReplacedAndReportedOncePerFileWithItsOffset() throws Exception {
        Path p = dir.resolve("latin1.txt");
        Files.write(p, new byte[] {'a', 'b', (byte) 0xFF, 'c', 'd', (byte) 0xE9, '!'});
        List<String> warnings = new ArrayList<>();
        List<Document> docs = readAll(List.of(p), "text", warnings);
        assertEquals("ab\uFFFDcd\uFFFD!", docs.get(0).text());
        assertEquals(List.of(p + ": invalid UTF-8 at byte 2 replaced with U+FFFD (1 more in this file)"), warnings);

        Path j = dir.resolve("bad.jsonl");
        byte[] line1 = "{\"text\": \"ok\"}\n".getBytes(StandardCharsets.UTF_8);
        byte[] line2 = "{\"text\": \"x\u0000\"}".replace("\u0000", "\u00FF").getBytes(StandardCharsets.ISO_8859_1);
        byte[] all = new byte[line1.length + line2.length];
        System.arraycopy(line1, 0, all, 0, line1.length);
        System.arraycopy(line2, 0, all, line1.length, line2.length);
        Files.write(j, all);
        warnings.clear();
        docs = readAll(List.of(j), "text", warnings);
        assertEquals("x\uFFFD", docs.get(1).text());
        assertEquals(List.of(j + ": invalid UTF-8 at byte " + (line1.length + 11) + " replaced with U+FFFD"), warnings);
    }

    @Test
    void readsTheBundledCorpora() throws Exception {
        Path sotu = Path.of("..", "corpora", "sotu.jsonl.gz");
        Path moby = Path.of("..", "corpora", "moby-dick.jsonl.gz");
        Assumptions.assumeTrue(Files.exists(sotu) && Files.exists(moby), "bundled corpora not found at " + sotu.toAbsolutePath().normalize());
        List<String> warnings = new ArrayList<>();
        List<Document> docs = readAll(List.of(sotu, moby), "text", warnings);
        assertEquals(233 + 135, docs.size());
        assertEquals("1790_george_washington_n", docs.get(0).id());
        assertTrue(docs.get(0).text().startsWith("Fellow-Citizens of the Senate and House of Representatives:"));
        assertEquals("moby-dick-ch001", docs.get(233).id());
        assertTrue(docs.get(233).text().startsWith("CHAPTER 1. Loomings."));
        assertEquals(List.of(), warnings);
    }
}
