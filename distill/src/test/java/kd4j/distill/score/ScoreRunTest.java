package kd4j.distill.score;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import kd4j.data.TokenSequences;
import kd4j.data.Shard;
import kd4j.tensor.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScoreRunTest {
    @TempDir Path dir;

    static final int EOS = 0, PAD = 0;
    final PrefixSumLM lm = new PrefixSumLM(new ReferenceBackend(), 7, 11);

    static TokenSequences corpus(int n, String checksum) {
        Random r = new Random(5);
        List<int[]> inst = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] ids = new int[6];
            for (int t = 0; t < ids.length; t++) ids[t] = r.nextInt(7);   // includes EOS now and then
            inst.add(ids);
        }
        return TokenSequences.of(inst, EOS, PAD, checksum, "tok-A");
    }

    ScoreRun run(TokenSequences src, Shard shard, Path out) {
        return new ScoreRun(src, new TeacherScorer(lm, 2, EOS, PAD), "prefix-lm", shard, out, 2);
    }

    static final class Killed extends RuntimeException {}

    /** A score manifest written before precision was recorded reads as fp32; a run at another precision differs by it. */
    @Test
    void precision_isPartOfTheRunAndDefaultsToFp32ForOldFiles() throws IOException {
        ScoreManifest now = run(corpus(3, "c"), Shard.WHOLE, dir.resolve("x")).manifest();
        assertEquals("fp32", now.precision());
        var json = (com.fasterxml.jackson.databind.node.ObjectNode) ScoreFile.JSON.valueToTree(now);
        assertEquals("fp32", json.get("precision").asText(), json.toString());
        json.remove("precision");                       // as a file written before the field existed
        ScoreManifest old = ScoreFile.JSON.treeToValue(json, ScoreManifest.class);
        assertEquals("fp32", old.precision());
        assertTrue(old.sameRun(now));
        ScoreManifest bf16 = now.withPrecision("bf16");
        assertFalse(bf16.sameRun(now));
        assertEquals(List.of("precision: bf16 vs fp32"), bf16.differences(now));
    }

    /** The CPU and reference backends compute every GEMM in fp32: a bf16 scorer there is refused with the reason. */
    @Test
    void bf16Scoring_onABackendWithoutBf16Gemm_isRefused() {
        var e = assertThrows(IllegalArgumentException.class, () -> new TeacherScorer(lm, 2, EOS, PAD,
                kd4j.models.ChunkedLogits.DEFAULT_CHUNK_BYTES, kd4j.autograd.MatmulPrecision.BF16));
        assertTrue(e.getMessage().startsWith("--precision bf16: the reference backend computes every GEMM in fp32"), e.getMessage());
    }

    @Test
    void resumeAfterKill_writesTheSameFileAsAnUninterruptedRun() throws IOException {
        TokenSequences src = corpus(21, "corpus-1");
        Path whole = dir.resolve("whole.scores");
        ScoreFile reference = run(src, Shard.WHOLE, whole).run(null);
        assertEquals(21, reference.size());

        Path out = dir.resolve("resumed.scores");
        ScoreRun first = run(src, Shard.WHOLE, out);
        int[] chunks = {0};
        assertThrows(Killed.class, () -> first.run(p -> { if (++chunks[0] == 3) throw new Killed(); }));
        assertFalse(Files.exists(out));
        assertEquals(3, first.finishedChunks().size(), "three chunks of 4 instances were finished before the kill");
        Files.writeString(first.partsDir().resolve("chunk-000000000012.bin.tmp"), "half-written");

        int callsBefore = lm.forwardCalls;
        List<ScoreRun.Progress> seen = new ArrayList<>();
        run(src, Shard.WHOLE, out).run(seen::add);
        assertEquals(12, seen.getFirst().resumedFrom());
        assertEquals(21, seen.getLast().instancesDone());
        assertEquals(5, lm.forwardCalls - callsBefore, "only instances 12..20 scored again (5 batches of 2)");
        assertArrayEquals(Files.readAllBytes(whole), Files.readAllBytes(out));
        assertFalse(Files.exists(dir.resolve("resumed.scores.parts")), "parts folder removed at the end");

        // a third run finds the finished file and scores nothing
        int calls = lm.forwardCalls;
        run(src, Shard.WHOLE, out).run(null);
        assertEquals(calls, lm.forwardCalls);
    }

    @Test
    void unfinishedRunWithOtherSettings_isRefused() {
        Path out = dir.resolve("a.scores");
        assertThrows(Killed.class, () -> run(corpus(10, "corpus-1"), Shard.WHOLE, out).run(p -> { throw new Killed(); }));
        var e = assertThrows(ScoreFileException.class, () -> run(corpus(10, "corpus-2"), Shard.WHOLE, out).run(null));
        assertTrue(e.getMessage().contains("holds an unfinished run with other settings (corpus checksum: corpus-2 vs corpus-1)"),
                e.getMessage());
    }

    @Test
    void shardsMerged_equalTheWholeRun() throws IOException {
        TokenSequences src = corpus(23, "corpus-1");
        ScoreFile whole = run(src, Shard.WHOLE, dir.resolve("whole.scores")).run(null);
        List<Path> parts = new ArrayList<>();
        for (int i = 2; i >= 0; i--) {           // any order
            Path p = dir.resolve("s" + i + ".scores");
            ScoreFile s = run(src, new Shard(i, 3), p).run(null);
            assertEquals(new long[] {0, 7, 15}[i], s.start());
            assertEquals(new long[] {7, 15, 23}[i], s.end());
            parts.add(p);
        }
        ScoreFile merged = ScoreFile.merge(parts);
        Path m = dir.resolve("merged.scores");
        merged.write(m);
        assertTrue(merged.isComplete());
        for (int i = 0; i < 23; i++) {
            assertEquals(whole.count(i), merged.count(i));
            assertEquals(whole.sum(i), merged.sum(i), 1e-9);
        }
        ScoreManifest wm = ScoreFile.readManifest(dir.resolve("whole.scores")), mm = ScoreFile.readManifest(m);
        assertEquals(wm, mm, "a merge is indistinguishable from a whole run");
    }

    @Test
    void merge_refusesGapsOverlapsAndOtherCorpora() throws IOException {
        TokenSequences src = corpus(20, "corpus-1");
        Path s0 = dir.resolve("s0"), s1 = dir.resolve("s1"), s2 = dir.resolve("s2"), s1of2 = dir.resolve("s1of2");
        run(src, new Shard(0, 4), s0).run(null);
        run(src, new Shard(1, 4), s1).run(null);
        run(src, new Shard(2, 4), s2).run(null);
        run(src, new Shard(1, 2), s1of2).run(null);

        var gap = assertThrows(ScoreFileException.class, () -> ScoreFile.merge(List.of(s0, s2)));
        assertEquals("score-merge: gap: no scores for instances [5, 10) between " + s0 + " and " + s2
                + " [10, 15). Score the missing shard and merge again.", gap.getMessage());
        var tail = assertThrows(ScoreFileException.class, () -> ScoreFile.merge(List.of(s0, s1, s2)));
        assertEquals("score-merge: gap: no scores for instances [15, 20) after " + s2
                + " (the corpus has 20 instances). Score the missing shard and merge again.", tail.getMessage());
        var head = assertThrows(ScoreFileException.class, () -> ScoreFile.merge(List.of(s1of2)));
        assertTrue(head.getMessage().startsWith("score-merge: gap: no scores for instances [0, 10) before"), head.getMessage());
        var overlap = assertThrows(ScoreFileException.class, () -> ScoreFile.merge(List.of(s0, s1, s2, s1of2)));
        assertEquals("score-merge: overlap: " + s1of2 + " [10, 20) overlaps " + s2 + " on instances [10, 15). "
                + "Give each shard once.", overlap.getMessage());

        Path other = dir.resolve("other");
        run(corpus(20, "corpus-2"), new Shard(1, 2), other).run(null);
        var corpusMismatch = assertThrows(ScoreFileException.class, () -> ScoreFile.merge(List.of(s0, s1, other)));
        assertTrue(corpusMismatch.getMessage().contains("score different corpora or tokenizers (corpus checksum: "
                + "corpus-1 vs corpus-2)"), corpusMismatch.getMessage());
    }

    @Test
    void truncatedOrForeignFile_isRefusedWithItsName() throws IOException {
        Path out = dir.resolve("x.scores");
        run(corpus(8, "c"), Shard.WHOLE, out).run(null);
        byte[] all = Files.readAllBytes(out);
        Path cut = dir.resolve("cut.scores");
        Files.write(cut, java.util.Arrays.copyOf(all, all.length - 3));
        var e = assertThrows(ScoreFileException.class, () -> ScoreFile.read(cut));
        assertTrue(e.getMessage().startsWith(cut + ": file is " + (all.length - 3) + " bytes, expected " + all.length),
                e.getMessage());
        Path text = dir.resolve("notes.txt");
        Files.writeString(text, "hello world, not scores");
        var f = assertThrows(ScoreFileException.class, () -> ScoreFile.read(text));
        assertTrue(f.getMessage().startsWith(text + ": not a kd4j score file"), f.getMessage());
    }

    @Test
    void shardParsing() {
        assertEquals(new Shard(3, 16), Shard.parse("3/16"));
        assertThrows(IllegalArgumentException.class, () -> Shard.parse("16/16"));
        assertThrows(IllegalArgumentException.class, () -> Shard.parse("a/4"));
        assertThrows(IllegalArgumentException.class, () -> Shard.parse("3"));
        // slices tile the corpus exactly, also for huge counts
        long n = 10_000_000_019L;
        Shard last = new Shard(6, 7);
        assertEquals(n, last.end(n));
        assertEquals(new Shard(6, 7).start(n), new Shard(5, 7).end(n));
        assertEquals(n * 5 / 7, new Shard(5, 7).start(n));
    }
}
