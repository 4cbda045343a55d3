/*
 * Incremental decoding equals the full forward pass: the KV cache for attention models and the recurrent
 * conv/SSM state for Mamba, fed in uneven chunks; and generation is deterministic and consistent with it.
 */
package kd4j.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import kd4j.autograd.GradMode;
import kd4j.tensor.Backend;
import kd4j.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class DecodeTest {
    final Backend be = TestBackends.fast();

    private CausalLM model(String family) { return Models.randomInit(TinyConfigs.parse(TinyConfigs.ALL.get(family)), be, 5); }

    private static int[] ids(int n, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = r.nextInt(vocab);
        return ids;
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "qwen3", "mamba"})
    void decodeInChunks_equalsFullForward(String family) {
        CausalLM m = model(family);
        int batch = 2, time = 11, vocab = m.config().vocabSize();
        int[] all = ids(batch * time, vocab, 9);
        float[] full;
        try (var g = GradMode.off()) { full = m.forward(be.fromInts(all, batch, time), null).data().toFloatArray(); }
        CausalLM.DecodeState state = m.newDecodeState(batch, 16);
        int[] chunks = {4, 1, 3, 1, 2};
        int start = 0;
        for (int len : chunks) {
            int[] part = new int[batch * len];
            for (int b = 0; b < batch; b++) System.arraycopy(all, b * time + start, part, b * len, len);
            Tensor logits = m.decode(be.fromInts(part, batch, len), state);
            float[] got = logits.toFloatArray();
            for (int b = 0; b < batch; b++)
                for (int t = 0; t < len; t++) {
                    float[] want = Arrays.copyOfRange(full, ((b * time) + start + t) * vocab, ((b * time) + start + t + 1) * vocab);
                    float[] have = Arrays.copyOfRange(got, (b * len + t) * vocab, (b * len + t + 1) * vocab);
                    ModelConformanceTest.assertClose(family + " decode b=" + b + " t=" + (start + t), want, have, 1e-5, 1e-5);
                }
            start += len;
            assertEquals(start, state.length());
        }
        assertEquals(time, start);
        var e = assertThrows(IllegalArgumentException.class, () -> m.decode(be.fromInts(ids(batch * 6, vocab, 1), batch, 6), state));
        assertTrue(e.getMessage().contains("exceed the decode state's maxLength 16"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen3", "mamba"})
    void decodeLast_equalsTheLastRowOfDecode(String family) {
        CausalLM m = model(family);
        int batch = 2, time = 7, vocab = m.config().vocabSize();
        int[] prompt = ids(batch * time, vocab, 4), next = ids(batch, vocab, 6);
        CausalLM.DecodeState full = m.newDecodeState(batch, 9), last = m.newDecodeState(batch, 9);
        for (int[] part : new int[][] {prompt, next}) {
            int len = part.length / batch;
            float[] all = m.decode(be.fromInts(part, batch, len), full).toFloatArray();
            Tensor got = m.decodeLast(be.fromInts(part, batch, len), last);
            assertArrayEquals(new int[] {batch, vocab}, got.shape());
            float[] have = got.toFloatArray();
            for (int b = 0; b < batch; b++)
                ModelConformanceTest.assertClose(family + " decodeLast b=" + b + " len=" + len,
                        Arrays.copyOfRange(all, (b * len + len - 1) * vocab, (b * len + len) * vocab),
                        Arrays.copyOfRange(have, b * vocab, (b + 1) * vocab), 1e-5, 1e-5);
            assertEquals(full.length(), last.length());
        }
    }

    /** Blocks of 3 positions (crossing the batch rows' boundary) give the logits of the whole forward pass. */
    @ParameterizedTest
    @ValueSource(strings = {"qwen2", "mamba"})
    void chunkedLogits_equalTheFullForwardBlockByBlock(String family) {
        CausalLM m = model(family);
        int batch = 2, time = 5, vocab = m.config().vocabSize();
        int[] all = ids(batch * time, vocab, 8);
        float[] full;
        try (var g = GradMode.off()) { full = m.forward(be.fromInts(all, batch, time), null).data().toFloatArray(); }
        long chunkBytes = 3L * vocab * Float.BYTES;
        ChunkedLogits chunks = new ChunkedLogits(m, chunkBytes);
        assertEquals(3L * vocab * Float.BYTES, chunks.blockBytes(batch * time));
        float[] got = new float[full.length];
        int[] blocks = {0}, next = {0};
        chunks.forEach(be.fromInts(all, batch, time), null, (r0, logits) -> {
            assertEquals(next[0], r0, "blocks arrive in order");
            assertEquals(vocab, logits.dim(1));
            float[] f = logits.toFloatArray();
            System.arraycopy(f, 0, got, r0 * vocab, f.length);
            next[0] = r0 + logits.dim(0);
            blocks[0]++;
        });
        assertEquals(batch * time, next[0]);
        assertEquals(4, blocks[0], "10 positions in blocks of 3");
        ModelConformanceTest.assertClose(family + " chunked logits", full, got, 1e-5, 1e-5);
    }

    @Test
    void rightPaddingWithKeyMask_leavesRealPositionsUnchanged() {
        CausalLM m = model("llama");
        int[] ids = {5, 6, 7, 8, 9, 10, 11, 12};
        int[] padded = {5, 6, 7, 8, 9, 0, 0, 0};
        int[] mask = {1, 1, 1, 1, 1, 0, 0, 0};
        try (var g = GradMode.off()) {
            float[] a = m.forward(be.fromInts(ids, 1, 8), null).data().toFloatArray();
            float[] b = m.forward(be.fromInts(padded, 1, 8), be.fromInts(mask, 1, 8)).data().toFloatArray();
            int v = m.config().vocabSize();
            ModelConformanceTest.assertClose("padded", Arrays.copyOf(a, 5 * v), Arrays.copyOf(b, 5 * v), 1e-6, 0);
        }
        int[] targets = NextTokenBatch.targetsOf(be.fromInts(padded, 1, 8), be.fromInts(mask, 1, 8)).toIntArray();
        assertArrayEquals(new int[] {6, 7, 8, 9, -100, -100, -100, -100}, targets);
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "mamba"})
    void greedyGeneration_isDeterministicAndFollowsTheFullForwardArgmax(String family) {
        CausalLM m = model(family);
        int[][] prompts = {{1, 2, 3}, {4, 5, 6}, {7, 8}};
        int[][] a = Generation.generate(m, prompts, 6, Generation.Sampling.greedy(), -1, 1);
        int[][] b = Generation.generate(m, prompts, 6, Generation.Sampling.greedy(), -1, 99);
        assertArrayEquals(a, b);
        for (int p = 0; p < prompts.length; p++) {
            assertEquals(6, a[p].length);
            int[] seq = Arrays.copyOf(prompts[p], prompts[p].length + 6);
            System.arraycopy(a[p], 0, seq, prompts[p].length, 6);
            try (var g = GradMode.off()) {
                float[] logits = m.forward(be.fromInts(seq, 1, seq.length), null).data().toFloatArray();
                int v = m.config().vocabSize();
                for (int t = 0; t < 6; t++) {
                    int pos = prompts[p].length - 1 + t;
                    assertEquals(Generation.argmax(Arrays.copyOfRange(logits, pos * v, (pos + 1) * v)), a[p][t],
                            family + " prompt " + p + " step " + t);
                }
            }
        }
    }

    @Test
    void sampling_isSeededAndRespectsTopKAndTopP() {
        CausalLM m = model("qwen2");
        int[][] prompt = {{3, 1, 4, 1, 5}};
        var sampling = new Generation.Sampling(1.0f, 0, 1.0f);
        assertArrayEquals(Generation.generate(m, prompt, 8, sampling, -1, 42), Generation.generate(m, prompt, 8, sampling, -1, 42));
        assertArrayEquals(Generation.generate(m, prompt, 8, Generation.Sampling.greedy(), -1, 0),
                Generation.generate(m, prompt, 8, new Generation.Sampling(0.7f, 1, 1.0f), -1, 5), "top-k 1 is greedy");

        float[] logits = {0f, 3f, 2.9f, -5f, 1f};
        SplittableRandom rng = new SplittableRandom(1);
        for (int i = 0; i < 200; i++) {
            int k2 = Generation.sample(logits.clone(), new Generation.Sampling(1f, 2, 1f), rng);
            assertTrue(k2 == 1 || k2 == 2, "top-k 2 sampled " + k2);
            // p(1) ~ 0.48, p(2) ~ 0.44: top-p 0.5 keeps ids 1 and 2 only, top-p 0.3 keeps id 1 only
            int p5 = Generation.sample(logits.clone(), new Generation.Sampling(1f, 0, 0.5f), rng);
            assertTrue(p5 == 1 || p5 == 2, "top-p 0.5 sampled " + p5);
            assertEquals(1, Generation.sample(logits.clone(), new Generation.Sampling(1f, 0, 0.3f), rng));
        }
    }

    @Test
    void generation_stopsAtTheStopToken() {
        CausalLM m = model("llama");
        int[][] prompt = {{1, 2, 3}};
        int[] free = Generation.generate(m, prompt, 5, Generation.Sampling.greedy(), -1, 0)[0];
        int stop = free[2];
        int[] stopped = Generation.generate(m, prompt, 5, Generation.Sampling.greedy(), stop, 0)[0];
        int firstStop = 0;
        while (free[firstStop] != stop) firstStop++;
        assertArrayEquals(Arrays.copyOf(free, firstStop + 1), stopped);
    }
}
