/*
 * The offline logits cache end to end with a tiny random Qwen2 teacher: what is written decodes to the teacher's
 * own truncation of its logits (ragged batches included), the byte layout and bytes per token, resume after a
 * kill is byte-identical, shards join, bad or foreign caches are refused, and offline KD with k = V gives the
 * online loss and gradient.
 */
package kd4j.distill.kd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import kd4j.autograd.GradMode;
import kd4j.autograd.StepArena;
import kd4j.autograd.Tape;
import kd4j.autograd.Var;
import kd4j.data.Shard;
import kd4j.data.TokenSequences;
import kd4j.models.CausalLM;
import kd4j.models.Models;
import kd4j.tensor.Backend;
import kd4j.tensor.Backends;
import kd4j.train.MicroBatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LogitsCacheTest {
    static final String TINY_QWEN2 = """
            {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 32,
             "intermediate_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2,
             "vocab_size": 64, "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
             "tie_word_embeddings": true, "bos_token_id": 0, "eos_token_id": 0, "hidden_act": "silu"}
            """;
    static final int V = 64, SEQ = 8;

    @TempDir
    Path tmp;
    final Backend be = Backends.cpu();

    static CausalLM tinyQwen2(Backend be, long seed) {
        return Models.randomInit(Models.parseConfig(TINY_QWEN2, Path.of("tiny-qwen2.json")), be, seed);
    }

    /** 11 instances of SEQ + 1 random ids (ids 1..V-1), two of them shorter (ragged batches). */
    static List<int[]> instances() {
        SplittableRandom r = new SplittableRandom(3);
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < 11; i++) {
            int[] s = new int[i == 4 ? 5 : i == 9 ? 2 : SEQ + 1];
            for (int t = 0; t < s.length; t++) s[t] = 1 + r.nextInt(V - 1);
            out.add(s);
        }
        return out;
    }

    static TokenSequences source(List<int[]> inst, String tokenizer) {
        return TokenSequences.of(inst, 0, 0, "corpus-sha256-abc", tokenizer);
    }

    LogitsCacheManifest cache(CausalLM teacher, String teacherId, TopPkLogits.Truncation tr, int bits, Shard shard,
                              Path out, LogitsCacheRun.Listener l) throws IOException {
        return new LogitsCacheRun(source(instances(), "tok-fp"), teacher, teacherId, tr, bits, 5, shard, out, 2, 1).run(l);
    }

    /** The teacher's tau-1 logits for one instance run alone, [positions, V]. */
    static float[] logitsAlone(CausalLM teacher, int[] inst) {
        try (var off = GradMode.off(); var scope = new StepArena().activate()) {
            int t = inst.length - 1;
            return teacher.forward(teacher.backend().fromInts(java.util.Arrays.copyOf(inst, t), 1, t), null).data().toFloatArray();
        }
    }

    @Test
    void roundTrip_decodesTheTeachersTruncation_andReportsBytesPerToken() throws IOException {
        CausalLM teacher = tinyQwen2(be, 1);
        Path out = tmp.resolve("cache");
        var tr = new TopPkLogits.Truncation.TopPK(0.6, 5);
        LogitsCacheManifest m = cache(teacher, "teacher-a", tr, 16, Shard.WHOLE, out, null);
        assertEquals(1, m.idBytes(), "64 ids fit one byte");
        LogitsCache c = LogitsCache.open(out);
        TopPkLogits truncator = new TopPkLogits(tr, V);
        long tokens = 0, bytes = 0;
        int[] ids = new int[5];
        float[] probs = new float[5];
        List<int[]> inst = instances();
        for (int i = 0; i < inst.size(); i++) {
            SparseTargets got = c.instance(i);
            int positions = Math.max(0, inst.get(i).length - 1);
            assertEquals(positions, got.rows(), "positions of instance " + i);
            if (positions == 0) continue;
            float[] logits = logitsAlone(teacher, inst.get(i));
            for (int t = 0; t < positions; t++) {
                int k = truncator.truncate(logits, t * V, ids, probs, null);
                assertEquals(k, got.count(t), "kept ids of instance " + i + " position " + t);
                double mass = 0;
                for (int j = 0; j < k; j++) {
                    assertEquals(ids[j], got.ids()[t * 5 + j], "id rank " + j + " of instance " + i + " position " + t);
                    assertEquals(probs[j], got.probs()[t * 5 + j], probs[j] * 1e-3, "fp16 probability");
                    mass += probs[j];
                }
                assertEquals(1 - mass, got.leftOut()[t], 1e-3 * (1 - mass) + 1e-7, "left-out mass");
                tokens++;
                bytes += 1 + k + 2L * (k + 1);          // count, 1-byte ids, fp16 probabilities and left-out mass
            }
        }
        assertEquals(tokens, m.tokens());
        assertEquals(bytes, m.bytes());
        assertEquals((double) bytes / tokens, c.manifest().bytesPerToken(), 1e-12);
    }

    @Test
    void killedRun_resumesByteIdentical_forSampledCachesToo() throws IOException {
        CausalLM teacher = tinyQwen2(be, 1);
        for (TopPkLogits.Truncation tr : List.of(new TopPkLogits.Truncation.TopPK(0.9, 4), new TopPkLogits.Truncation.Sampled(16))) {
            Path whole = tmp.resolve("whole-" + tr.maxKept()), killed = tmp.resolve("killed-" + tr.maxKept());
            cache(teacher, "t", tr, 16, Shard.WHOLE, whole, null);
            int[] chunks = {0};
            assertThrows(IllegalStateException.class, () -> cache(teacher, "t", tr, 16, Shard.WHOLE, killed, p -> {
                if (++chunks[0] == 2) throw new IllegalStateException("killed");
            }));
            assertThrows(LogitsCacheException.class, () -> LogitsCache.open(killed), "an unfinished cache is refused");
            Files.writeString(killed.resolve("chunk-000000000004.bin.tmp"), "half-written");
            int[] resumedChunks = {0};
            LogitsCacheManifest m = cache(teacher, "t", tr, 16, Shard.WHOLE, killed, p -> resumedChunks[0]++);
            assertEquals(6 - 2, resumedChunks[0], "11 instances in chunks of 2: the 2 finished chunks are kept");
            try (var files = Files.list(whole)) {
                for (Path p : files.toList())
                    assertArrayEquals(Files.readAllBytes(p), Files.readAllBytes(killed.resolve(p.getFileName())), p.getFileName().toString());
            }
            assertTrue(m.complete());
        }
    }

    @Test
    void rerunOfAFinishedCache_redoesExactlyTheChunksThatFailTheirCheck() throws IOException {
        CausalLM teacher = tinyQwen2(be, 1);
        TopPkLogits.Truncation tr = new TopPkLogits.Truncation.TopPK(0.9, 4);
        Path out = tmp.resolve("rerun");
        cache(teacher, "t", tr, 16, Shard.WHOLE, out, null);
        java.util.Map<String, byte[]> good = new java.util.TreeMap<>();
        try (var files = Files.list(out)) {
            for (Path p : files.toList()) good.put(p.getFileName().toString(), Files.readAllBytes(p));
        }
        Path cut = out.resolve(LogitsCache.chunkName(2)), flipped = out.resolve(LogitsCache.chunkName(6));
        Files.write(cut, java.util.Arrays.copyOf(good.get(cut.getFileName().toString()), 40));
        byte[] f = good.get(flipped.getFileName().toString()).clone();
        f[f.length / 2] ^= 0x10;
        Files.write(flipped, f);
        List<Long> redone = new ArrayList<>();
        LogitsCacheManifest m = cache(teacher, "t", tr, 16, Shard.WHOLE, out, p -> redone.add(p.instancesDone()));
        assertEquals(2, redone.size(), "only the truncated and the flipped chunk are cached again: " + redone);
        assertTrue(m.complete());
        try (var files = Files.list(out)) {
            List<Path> now = files.toList();
            assertEquals(good.keySet(), new java.util.TreeSet<>(now.stream().map(p -> p.getFileName().toString()).toList()));
            for (Path p : now) assertArrayEquals(good.get(p.getFileName().toString()), Files.readAllBytes(p), p.toString());
        }
        // and a good finished cache is returned as it is, touching nothing
        List<Long> none = new ArrayList<>();
        cache(teacher, "t", tr, 16, Shard.WHOLE, out, p -> none.add(p.instancesDone()));
        assertTrue(none.isEmpty());
    }

    @Test
    void sampledCache_weightsSumToOne_andEstimateTheTeacher() throws IOException {
        CausalLM teacher = tinyQwen2(be, 1);
        Path out = tmp.resolve("sampled");
        cache(teacher, "t", new TopPkLogits.Truncation.Sampled(4000), 32, Shard.WHOLE, out, null);
        LogitsCache c = LogitsCache.open(out);
        SparseTargets got = c.instance(0);
        float[] logits = logitsAlone(teacher, instances().get(0));
        double max = Double.NEGATIVE_INFINITY, z = 0;
        for (int v = 0; v < V; v++) max = Math.max(max, logits[v]);
        for (int v = 0; v < V; v++) z += Math.exp(logits[v] - max);
        double sum = 0;
        for (int j = 0; j < got.count(0); j++) {
            int id = got.ids()[j];
            double p = Math.exp(logits[id] - max) / z, w = got.probs()[j];
            sum += w;
            // 4000 draws: the weight's standard deviation is sqrt(p (1 - p) / 4000) <= 0.008
            assertEquals(p, w, 5 * Math.sqrt(p * (1 - p) / 4000) + 1e-3, "weight of id " + id);
        }
        assertEquals(1.0, sum, 1e-6);
        assertEquals(0f, got.leftOut()[0]);
        assertTrue(got.sampled());
    }

    @Test
    void shards_joinIntoOneCache_andAMissingShardIsNamed() throws IOException {
        CausalLM teacher = tinyQwen2(be, 1);
        var tr = new TopPkLogits.Truncation.TopK(3);
        Path whole = tmp.resolve("whole"), sharded = tmp.resolve("sharded");
        cache(teacher, "t", tr, 16, Shard.WHOLE, whole, null);
        cache(teacher, "t", tr, 16, new Shard(1, 2), sharded, null);
        var e = assertThrows(LogitsCacheException.class, () -> LogitsCache.open(sharded));
        assertTrue(e.getMessage().contains("instances [0, 5) are in no shard"), e.getMessage());
        cache(teacher, "t", tr, 16, new Shard(0, 2), sharded, null);
        LogitsCache a = LogitsCache.open(whole), b = LogitsCache.open(sharded);
        assertEquals(a.manifest().tokens(), b.manifest().tokens());
        long[] batch = {0, 4, 9, 10};
        SparseTargets ta = a.targets(batch, SEQ), tb = b.targets(batch, SEQ);
        assertArrayEquals(ta.ids(), tb.ids());
        assertArrayEquals(ta.probs(), tb.probs());
        assertArrayEquals(ta.leftOut(), tb.leftOut());
        assertEquals(-1, ta.ids()[(SEQ + 4) * 3], "instance 4 has 4 positions: row 4 of its block is empty");
    }

    @Test
    void foreignOrDamagedCaches_areRefusedWithTheReason() throws IOException {
        CausalLM teacher = tinyQwen2(be, 1);
        var tr = new TopPkLogits.Truncation.TopK(3);
        Path out = tmp.resolve("c");
        cache(teacher, "teacher-a", tr, 16, Shard.WHOLE, out, null);
        LogitsCache c = LogitsCache.open(out);
        c.requireMatches("corpus-sha256-abc", 11, "tok-fp", "teacher-a");
        var tok = assertThrows(LogitsCacheException.class, () -> c.requireMatches("corpus-sha256-abc", 11, "other-tok", null));
        assertTrue(tok.getMessage().contains("tokenizer tok-fp, the training data's is other-tok")
                && tok.getMessage().contains("kd4j cache-logits"), tok.getMessage());
        var teach = assertThrows(LogitsCacheException.class, () -> c.requireMatches(null, -1, null, "teacher-b"));
        assertTrue(teach.getMessage().contains("teacher 'teacher-a'"), teach.getMessage());
        var corpus = assertThrows(LogitsCacheException.class, () -> c.requireMatches("other", 12, null, null));
        assertTrue(corpus.getMessage().contains("corpus checksum") && corpus.getMessage().contains("11 instances"), corpus.getMessage());

        var other = assertThrows(LogitsCacheException.class, () -> cache(teacher, "teacher-b", tr, 16, Shard.WHOLE, out, null));
        assertTrue(other.getMessage().contains("teacher: 'teacher-a' vs 'teacher-b'"), other.getMessage());

        Path chunk = out.resolve(LogitsCache.chunkName(2));
        byte[] bytes = Files.readAllBytes(chunk);
        Files.write(chunk, java.util.Arrays.copyOf(bytes, bytes.length - 3));
        var cut = assertThrows(LogitsCacheException.class, () -> LogitsCache.open(out));
        assertTrue(cut.getMessage().contains(chunk.toString()), cut.getMessage());
        Files.write(chunk, bytes);
        byte[] bad = bytes.clone();
        int firstCount = LogitsCache.HEADER + 8 * 3 + 4;    // 2 instances: 3 offsets, then i32 positions, then count
        bad[firstCount] = 9;                                // more ids than the cache keeps
        Files.write(chunk, bad);
        LogitsCache damaged = LogitsCache.open(out);
        // the CRC catches the flipped byte when the chunk is first read
        var crc = assertThrows(LogitsCacheException.class, () -> damaged.instance(2));
        assertTrue(crc.getMessage().contains(chunk.toString()) && crc.getMessage().contains("does not match the stored"),
                crc.getMessage());
        // with a CRC forged to match, the layout check still refuses the instance
        java.util.zip.CRC32 forged = new java.util.zip.CRC32();
        forged.update(bad, LogitsCache.HEADER, bad.length - LogitsCache.HEADER - 8);
        java.nio.ByteBuffer.wrap(bad).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(bad.length - 8, forged.getValue());
        Files.write(chunk, bad);
        LogitsCache forgedCache = LogitsCache.open(out);
        var dec = assertThrows(LogitsCacheException.class, () -> forgedCache.instance(2));
        assertTrue(dec.getMessage().contains(chunk.toString()) && dec.getMessage().contains("instance 2"), dec.getMessage());
    }

    /** Loss and student gradient of one KdLoss on a batch. */
    record Outcome(double loss, float[] grad) {}

    Outcome run(KdLoss loss, CausalLM student, MicroBatch batch) {
        student.parameters().zeroGrad();
        try (var scope = new StepArena().activate()) {
            Var l = loss.loss(student, batch, 1);
            double value = l.data().item();
            Tape.backward(l);
            return new Outcome(value, student.parameters().all().get(0).grad().toFloatArray());
        }
    }

    @Test
    void offlineWithEveryId_givesTheOnlineLossAndGradient() throws IOException {
        CausalLM teacher = tinyQwen2(be, 1), student = tinyQwen2(be, 2);
        Path exact = tmp.resolve("k-all-32"), half = tmp.resolve("k-all-16");
        cache(teacher, "t", new TopPkLogits.Truncation.TopK(V), 32, Shard.WHOLE, exact, null);
        cache(teacher, "t", new TopPkLogits.Truncation.TopK(V), 16, Shard.WHOLE, half, null);
        List<int[]> inst = instances();
        long[] ids = {3, 4, 9, 0};
        MicroBatch batch = MicroBatch.fromInstances(List.of(inst.get(3), inst.get(4), inst.get(9), inst.get(0)), SEQ, ids);
        for (float tau : new float[] {1f, 2f}) {
            var settings = new KdLoss.Settings(KdObjective.Divergence.FORWARD_KL, tau, true, 0,
                    KdObjective.TailMode.RENORMALIZE, new AlphaSchedule.Constant(0.7));
            Outcome online = run(KdLoss.online(teacher, settings), student, batch);
            for (Path dir : List.of(exact, half)) {
                double tol = dir == exact ? 1e-5 : 2e-3;
                KdLoss offline = KdLoss.offline(LogitsCache.open(dir), settings);
                Outcome off = run(offline, student, batch);
                assertEquals(online.loss(), off.loss(), tol * Math.abs(online.loss()), dir.getFileName() + " loss, tau " + tau);
                double maxGrad = 0;
                for (float g : online.grad()) maxGrad = Math.max(maxGrad, Math.abs(g));
                for (int i = 0; i < online.grad().length; i++)
                    assertEquals(online.grad()[i], off.grad()[i], tol * maxGrad, dir.getFileName() + " grad[" + i + "], tau " + tau);
                assertEquals(2.0 * KdLoss.parameterCount(teacher) * batch.countedTokens(), offline.teacherFlops(), 1e-6);
            }
            assertTrue(online.loss() > 0);
        }
    }
}
