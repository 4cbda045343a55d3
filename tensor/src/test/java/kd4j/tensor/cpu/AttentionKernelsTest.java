/* Tiled causal GQA attention forward/backward vs the reference backend's full score matrix: sizes that miss the
 * TQ x SK tiles, query offsets (KV cache), key masks (including rows that see no key) and a KV-cache view whose
 * batch stride is larger than its [S, Hkv, D] block. */
package kd4j.tensor.cpu;

import org.junit.jupiter.api.extension.ExtendWith;
import static kd4j.tensor.cpu.Compare.CPU;
import static kd4j.tensor.cpu.Compare.REF;

import kd4j.tensor.Covers;
import kd4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@ExtendWith(VectorWidthCondition.class)
class AttentionKernelsTest {
    @Covers({"attentionForward", "attentionBackward"})
    @ParameterizedTest(name = "B={0} T={1} H={2} Hkv={3} D={4} offset={5} mask={6}")
    @CsvSource({
            "1,1,1,1,1,0,false", "2,7,4,2,8,0,false", "1,33,2,1,13,0,true", "2,70,4,4,16,0,false",
            "1,65,6,2,64,0,true", "2,5,4,1,8,60,false", "1,31,2,2,17,100,true", "1,129,2,1,32,3,false"})
    void attention_forwardAndBackward(int b, int t, int h, int hkv, int d, int offset, boolean masked) {
        int s = offset + t;
        int[] mask = new int[b * s];
        for (int i = 0; i < mask.length; i++) mask[i] = masked ? (i % 5 == 1 || i % (s) == 0 ? 0 : 1) : 1;
        float scale = (float) (1 / Math.sqrt(d));
        Compare.Case c = new Compare.Case();
        int q = c.f(Compare.uniform(t, b * t * h * d, -2, 2), b, t, h, d);
        int k = c.f(Compare.uniform(s, b * s * hkv * d, -2, 2), b, s, hkv, d);
        int v = c.f(Compare.uniform(s + 1, b * s * hkv * d, -2, 2), b, s, hkv, d);
        int km = c.i(mask, b, s), dOut = c.f(Compare.uniform(9, b * t * h * d, -1, 1), b, t, h, d);
        int out = c.zeros(b, t, h, d), lse = c.zeros(b, h, t);
        int dq = c.zeros(b, t, h, d), dk = c.zeros(b, s, hkv, d), dv = c.zeros(b, s, hkv, d);
        c.run("attention", (be, x) -> {
            Tensor mk = masked ? x[km] : null;
            be.attentionForward(x[q], x[k], x[v], scale, offset, mk, x[out], x[lse]);
            be.attentionBackward(x[dOut], x[q], x[k], x[v], x[out], x[lse], scale, offset, mk, x[dq], x[dk], x[dv]);
        }, 2e-5, 1e-4, out, lse, dq, dk, dv);
    }

    /**
     * One thread takes the per-kv-head forward (cached key tiles) and the fused one-pass backward wherever B x Hkv >= 2,
     * sixteen threads the per-query-tile forward and the two-pass backward: out, lse and the gradients are the same bits.
     */
    @Covers({"attentionForward", "attentionBackward"})
    @ParameterizedTest(name = "B={0} T={1} H={2} Hkv={3} D={4} offset={5} mask={6}")
    @CsvSource({"2,7,4,2,8,0,false", "1,65,6,2,64,0,true", "2,70,4,4,16,0,false", "2,5,4,1,8,60,false", "1,31,2,2,17,100,true",
            "2,45,2,1,24,3,true"})
    void attention_backwardPathsGiveTheSameBits(int b, int t, int h, int hkv, int d, int offset, boolean masked) {
        int s = offset + t;
        int[] mask = new int[b * s];
        for (int i = 0; i < mask.length; i++) mask[i] = masked ? (i % 7 == 2 ? 0 : 1) : 1;
        float[][] grads = new float[2][];
        int[] threads = {1, 16};
        for (int run = 0; run < 2; run++) {
            try (CpuBackend be = new CpuBackend(threads[run])) {
                Tensor q = be.fromFloats(Compare.uniform(t, b * t * h * d, -2, 2), b, t, h, d);
                Tensor k = be.fromFloats(Compare.uniform(s, b * s * hkv * d, -2, 2), b, s, hkv, d);
                Tensor v = be.fromFloats(Compare.uniform(s + 1, b * s * hkv * d, -2, 2), b, s, hkv, d);
                Tensor km = masked ? be.fromInts(mask, b, s) : null;
                Tensor dOut = be.fromFloats(Compare.uniform(9, b * t * h * d, -1, 1), b, t, h, d);
                Tensor out = be.empty(kd4j.tensor.DType.F32, b, t, h, d), lse = be.empty(kd4j.tensor.DType.F32, b, h, t);
                Tensor dq = be.empty(kd4j.tensor.DType.F32, b, t, h, d);
                Tensor dk = be.empty(kd4j.tensor.DType.F32, b, s, hkv, d), dv = be.empty(kd4j.tensor.DType.F32, b, s, hkv, d);
                be.attentionForward(q, k, v, 0.25f, offset, km, out, lse);
                be.attentionBackward(dOut, q, k, v, out, lse, 0.25f, offset, km, dq, dk, dv);
                float[] all = new float[0];
                for (Tensor x : new Tensor[] {out, lse, dq, dk, dv}) {
                    float[] xv = x.toFloatArray();
                    all = java.util.Arrays.copyOf(all, all.length + xv.length);
                    System.arraycopy(xv, 0, all, all.length - xv.length, xv.length);
                }
                grads[run] = all;
            }
        }
        for (int i = 0; i < grads[0].length; i++)
            org.junit.jupiter.api.Assertions.assertEquals(Float.floatToRawIntBits(grads[0][i]), Float.floatToRawIntBits(grads[1][i]),
                    "element " + i + " of out, lse, dQ, dK, dV: " + grads[0][i] + " vs " + grads[1][i]);
    }

    @Covers({"attentionForward"})
    @Test
    void attention_kvCacheViewWithLargerBatchStride() {
        int b = 2, t = 3, h = 4, hkv = 2, d = 8, s = 20, capacity = 32, offset = s - t;
        float[] cache = Compare.uniform(11, b * capacity * hkv * d, -1, 1), vCache = Compare.uniform(12, b * capacity * hkv * d, -1, 1);
        float[] qv = Compare.uniform(13, b * t * h * d, -1, 1);
        Tensor kView = CPU.fromFloats(cache, b, capacity, hkv, d).narrow(1, 0, s);
        Tensor vView = CPU.fromFloats(vCache, b, capacity, hkv, d).narrow(1, 0, s);
        Tensor out = CPU.empty(kd4j.tensor.DType.F32, b, t, h, d), lse = CPU.empty(kd4j.tensor.DType.F32, b, h, t);
        CPU.attentionForward(CPU.fromFloats(qv, b, t, h, d), kView, vView, 0.3f, offset, null, out, lse);
        Tensor rk = REF.fromFloats(cache, b, capacity, hkv, d).narrow(1, 0, s).contiguous();
        Tensor rv = REF.fromFloats(vCache, b, capacity, hkv, d).narrow(1, 0, s).contiguous();
        Tensor rOut = REF.empty(kd4j.tensor.DType.F32, b, t, h, d), rLse = REF.empty(kd4j.tensor.DType.F32, b, h, t);
        REF.attentionForward(REF.fromFloats(qv, b, t, h, d), rk, rv, 0.3f, offset, null, rOut, rLse);
        Compare.assertClose("attention kv view out", out.shape(), rOut.toFloatArray(), out.toFloatArray(), 1e-5, 1e-5);
        Compare.assertClose("attention kv view lse", lse.shape(), rLse.toFloatArray(), lse.toFloatArray(), 1e-5, 1e-5);
    }
}
