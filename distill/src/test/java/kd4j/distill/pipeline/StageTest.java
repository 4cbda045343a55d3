/*
 * Stage keys and the stage cache: a key depends on the name, the config slice and the upstream keys; the
 * runner skips a finished stage, resumes an interrupted one with the same key and restarts one whose key changed.
 */
package kd4j.distill.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StageTest {
    @TempDir Path dir;

    static ObjectNode slice(int v) { return JsonNodeFactory.instance.objectNode().put("v", v); }

    @Test
    void key_dependsOnNameSliceAndUpstreamKeys() {
        Stage a = Stage.of("a", slice(1)), a2 = Stage.of("a", slice(2));
        Stage b = Stage.of("b", slice(1), a), b2 = Stage.of("b", slice(1), a2);
        assertEquals(a.key(), Stage.of("a", slice(1)).key());
        assertNotEquals(a.key(), a2.key());
        assertNotEquals(a.key(), Stage.of("c", slice(1)).key());
        assertNotEquals(b.key(), b2.key());                 // a changed input changes every stage downstream
        assertEquals(64, a.key().length());
    }

    @Test
    void runner_skipsFinished_resumesInterrupted_restartsChanged() throws IOException {
        Stage.Runner r = new Stage.Runner(dir, new PrintStream(new ByteArrayOutputStream()));
        AtomicInteger calls = new AtomicInteger();
        Stage s = Stage.of("s", slice(1));
        assertEquals(7, r.run(s, d -> { calls.incrementAndGet(); return JsonNodeFactory.instance.numberNode(7); }).asInt());
        assertEquals(7, r.run(s, d -> { throw new AssertionError("must be cached"); }).asInt());
        assertEquals(1, calls.get());

        // Interrupted: the body fails after writing a file; the next run with the same key resumes (keeps the file).
        Stage t = Stage.of("t", slice(1));
        assertThrows(IllegalStateException.class, () -> r.run(t, d -> {
            Files.writeString(d.resolve("partial.txt"), "half");
            throw new IllegalStateException("killed");
        }));
        assertEquals("half", r.run(t, d -> JsonNodeFactory.instance.textNode(Files.readString(d.resolve("partial.txt")))).asText());

        // Changed key: the folder starts empty again.
        Stage t2 = Stage.of("t", slice(2));
        assertFalse(r.run(t2, d -> JsonNodeFactory.instance.booleanNode(Files.exists(d.resolve("partial.txt")))).asBoolean());

        var actions = r.outcomes().stream().map(o -> o.stage() + ":" + o.action()).toList();
        assertEquals(java.util.List.of("s:RAN", "s:SKIPPED", "t:RESUMED", "t:RAN"), actions);
        assertTrue(Files.readString(dir.resolve(Stage.LOG)).contains("\"action\":\"resumed\""));
    }

    @Test
    void subsetAndCut_helpers() {
        assertEquals("one two", Pipeline.cut("one two three", 9));
        assertEquals("abcdefghij", Pipeline.cut("abcdefghijklmnop", 10));  // no whitespace near the end: hard cut
        assertEquals("short", Pipeline.cut("short", 0));
    }

    static kd4j.data.TokenSequences of(int[]... rows) {
        return new kd4j.data.TokenSequences() {
            public long size() { return rows.length; }
            public int length(long i) { return rows[(int) i].length; }
            public int read(long i, int[] dst, int off) { System.arraycopy(rows[(int) i], 0, dst, off, rows[(int) i].length); return rows[(int) i].length; }
            public long totalTokens() { long s = 0; for (int[] r : rows) s += r.length; return s; }
            public Path path() { return Path.of("memory"); }
            public void close() {}
        };
    }

    @Test
    void subset_spreadsOverTheCorpus() {
        int[][] rows = new int[10][];
        for (int i = 0; i < 10; i++) rows[i] = new int[] {i};
        var s = Pipeline.subset(of(rows), 0.25);
        assertEquals(2, s.size());
        assertEquals(0, s.get(0)[0]);
        assertEquals(5, s.get(1)[0]);
        assertEquals(10, Pipeline.subset(of(rows), 1.0).size());
    }
}
