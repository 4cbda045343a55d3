package kd4j.data;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which document each packed instance starts in, also after packing dropped tokens in between. */
class DatasetInstancesTest {
    @TempDir Path dir;

    /** Five documents, each written in letters of its own, so an instance's first letter names its document. */
    static final List<String> TEXTS = List.of(
            // 16 a's fill a whole 16-token chunk with no sentence end; the next chunk starts with ". " and has no
            // other end, so packing drops that one-token chunk "." (the case that used to lose the mapping).
            "aaaaaaaaaaaaaaaa. bbbbbbbbbbbbbbbbbbb. ab ab.",
            "ddd dd. ddddd dd ddd. dddd ddddddd. ddd.",
            "eeee ee eee. eeeee eeeeeee. ee e e eeee. eeeee eeeee eee.",
            "ffff fff. fff fffff ff. f fff fffff. fffff ff fff. fff.",
            "gggg ggg. ggg ggggg gg. g ggg ggggg. ggggg gg ggg. ggg.");   // its tail may stay unwritten

    @Test
    void everyInstanceIsMappedToTheDocumentItStartsIn_pastADroppedChunk() throws Exception {
        Path corpus = dir.resolve("letters.jsonl");
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < TEXTS.size(); i++)
            s.append("{\"id\": \"t").append(i).append("\", \"text\": \"").append(TEXTS.get(i)).append("\"}\n");
        Files.writeString(corpus, s);
        Path out = dir.resolve("prepared");
        var manifest = Prepare.run(Prepare.Options.defaults(List.of(corpus), out).withSeq(15).withValidation(0)
                .withThreads(1), new TestTokenizers.ByteTokenizer(false), line -> {}).manifest();
        long documentTokens = TEXTS.stream().mapToLong(t -> t.length() + 1).sum();
        assertEquals(documentTokens, manifest.train().documentTokens());
        assertTrue(manifest.unpackedTokens() >= 1, "the corpus must make packing drop a chunk: " + manifest);

        try (DatasetInstances src = DatasetInstances.open(out, null)) {
            var docs = src.instanceDocuments();
            assertEquals(src.size(), docs.size());
            int[] checked = new int[TEXTS.size()];
            long previous = -1;
            for (int i = 0; i < src.size(); i++) {
                assertNotNull(docs.get(i), "instance " + i + " lost its document");
                long ordinal = docs.get(i).ordinal();
                assertTrue(ordinal >= previous, "documents in stream order at instance " + i);
                previous = ordinal;
                int[] inst = src.get(i);
                // Documents start with a letter and hold spaces only between words, so an instance that starts with a
                // letter or a space starts in the document of its first letter; one that starts with a dot or EOS may
                // start in the previous document's tail and is not checked.
                if (inst[0] != ' ' && (inst[0] < 'a' || inst[0] > 'z')) continue;
                int letter = 0;
                for (int t : inst) if (t >= 'a' && t <= 'z') { letter = t; break; }
                int expected = switch (letter) {
                    case 'a', 'b' -> 0;
                    case 'd' -> 1;
                    case 'e' -> 2;
                    case 'f' -> 3;
                    case 'g' -> 4;
                    default -> -1;
                };
                if (expected < 0) continue;
                assertEquals("t" + expected, docs.get(i).id(), "instance " + i);
                checked[expected]++;
            }
            for (int d = 0; d < 4; d++) assertTrue(checked[d] > 0, "no instance checked in document " + d);
            assertEquals(List.of("letters.jsonl"), src.instanceSources().stream().distinct().toList());
        }
    }
}
