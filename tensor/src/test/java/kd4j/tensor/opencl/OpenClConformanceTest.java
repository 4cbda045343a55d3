/*
 * Every Backend method of the OpenCL backend, forward and backward, against ReferenceBackend (scalar loops in double)
 * on random inputs whose sizes miss the kernels' tile multiples (work-group 256 rows, GEMM tiles 32/128, attention
 * tiles 32). Runs on whatever OpenCL device opencl:0 is (PoCL in CI); skipped with the apt-get line when none.
 * Tolerance: |cl - ref| <= atol + rtol * |ref|, with atol scaled by the reduction length where there is one.
 */
package kd4j.tensor.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.Random;
import kd4j.tensor.Backend;
import kd4j.tensor.Covers;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;
import kd4j.tensor.reference.ReferenceBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

public class OpenClConformanceTest {
    private static OpenClBackend cl;
    private static final ReferenceBackend ref = new ReferenceBackend();
    private final Random random = new Random(42);

    @BeforeAll
    public static void open() {
        cl = OpenClTestDevice.openOrSkip();
    }

    @AfterAll
    public static void close() { if (cl != null) cl.close(); }

    // ---- helpers: the same random values on both backends ----

    private record Pair(Tensor ref, Tensor cl) {}

    private float[] randoms(long n, float scale) {
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) v[i] = (float) (random.nextGaussian() * scale);
        return v;
    }

    private Pair rand(int... shape) { return values(randoms(Tensor.numel(shape), 1f), shape); }

    private Pair values(float[] v, int... shape) { return new Pair(ref.fromFloats(v, shape), cl.fromFloats(v, shape)); }

    private Pair ints(int[] v, int... shape) { return new Pair(ref.fromInts(v, shape), cl.fromInts(v, shape)); }

    private Pair zeros(int... shape) { return new Pair(ref.zeros(DType.F32, shape), cl.zeros(DType.F32, shape)); }

    private Pair cast(Pair p, DType dtype) {
        Tensor r = ref.empty(dtype, p.ref.shape()), c = cl.empty(dtype, p.cl.shape());
        ref.copy(p.ref, r);
        cl.copy(p.cl, c);
        return new Pair(r, c);
    }

    private static void close(String op, Pair p, double atol, double rtol) {
        double[] expected = p.ref.toDoubleArray(), actual = p.cl.toDoubleArray();
        assertEquals(expected.length, actual.length, op + ": element count");
        double maxAbs = 0;
        int firstBad = -1;
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual[i];
            if (Double.isNaN(e) && Double.isNaN(a) || e == a) continue;
            double d = Math.abs(e - a);
            maxAbs = Math.max(maxAbs, d);
            if (!(d <= atol + rtol * Math.abs(e)) && firstBad < 0) firstBad = i;
        }
        if (firstBad >= 0)
            fail(op + " " + Arrays.toString(p.ref.shape()) + ": first bad index " + firstBad + " expected "
                    + expected[firstBad] + " got " + actual[firstBad] + " (max abs diff " + maxAbs + ", atol " + atol + ")");
    }

    private static void close(String op, Pair p) { close(op, p, 1e-5, 1e-4); }

    // ---- memory ----

    @Covers({"copy", "fill", "sumOfSquares"})
    @Test
    void copyInOutFillAndStridedCopies() {
        Pair x = rand(3, 5, 7);
        close("copyIn/copyOut", x, 0, 0);
        Pair t = new Pair(x.ref.transpose(0, 2), x.cl.transpose(0, 2));
        Pair out = zeros(7, 5, 3);
        ref.copy(t.ref, out.ref);
        cl.copy(t.cl, out.cl);
        close("copy transposed", out, 0, 0);
        for (DType dt : new DType[] {DType.BF16, DType.F16, DType.F64}) {
            Pair c = cast(x, dt);
            assertEquals(dt, c.cl.dtype());
            close("copy F32 -> " + dt, c, 0, 0);
        }
        Pair ids = ints(new int[] {3, -1, 7, 1 << 30}, 4);
        Tensor r64 = ref.empty(DType.I64, 4), c64 = cl.empty(DType.I64, 4);
        ref.copy(ids.ref, r64);
        cl.copy(ids.cl, c64);
        Tensor back = cl.empty(DType.I32, 4);
        cl.copy(c64, back);
        assertEquals(Arrays.toString(new int[] {3, -1, 7, 1 << 30}), Arrays.toString(back.toIntArray()), "I32 -> I64 -> I32");
        assertEquals((double) (1 << 30), c64.item(3), "I64 element");
        Pair narrow = new Pair(x.ref.narrow(1, 1, 3), x.cl.narrow(1, 1, 3));
        assertEquals(narrow.ref.item(2, 1, 4), narrow.cl.item(2, 1, 4));
        Pair f = zeros(13);
        ref.fill(f.ref, 2.5);
        cl.fill(f.cl, 2.5);
        close("fill", f, 0, 0);
        Tensor z = cl.zeros(DType.F32, 300);
        assertEquals(0.0, cl.sumOfSquares(z), "allocate is zero-filled");
    }

    @Covers({"allocate", "copyIn", "copyOut", "name", "describe", "sync", "close"})
    @Test
    void transfersIdentitySyncAndClose() {
        assertEquals("opencl:" + cl.device().index(), cl.name());
        assertTrue(cl.describe().contains(cl.device().name()), cl.describe());
        ClStorage s = (ClStorage) cl.allocate(DType.F32, 300);
        Tensor z = Tensor.of(s, DType.F32, 300);
        assertEquals(0.0, cl.sumOfSquares(z), "allocate is zero-filled");
        Tensor t = cl.empty(DType.I32, 2, 3);
        cl.copyIn(t, java.lang.foreign.MemorySegment.ofArray(new int[] {1, -2, 3, 4, 5, 1 << 30, 99}));   // a longer source is fine
        Tensor d = cl.empty(DType.I32, 2, 3);
        cl.copy(t, d);
        cl.sync();
        int[] out = new int[7];
        cl.copyOut(d, java.lang.foreign.MemorySegment.ofArray(out));
        assertEquals(Arrays.toString(new int[] {1, -2, 3, 4, 5, 1 << 30, 0}), Arrays.toString(out));
        var e = assertThrows(kd4j.tensor.ShapeException.class, () -> cl.copyIn(t, java.lang.foreign.MemorySegment.ofArray(new int[5])));
        assertTrue(e.getMessage().startsWith("copyIn: source holds 20 bytes, 24 needed"), e.getMessage());
        OpenClBackend other = new OpenClBackend(0);
        Tensor x = other.zeros(DType.F32, 8), y = other.zeros(DType.F32, 8);
        other.close();
        other.close();   // idempotent
        var closed = assertThrows(IllegalStateException.class, () -> other.scale(x, 2f, y));
        assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
    }

    @Covers({"allFinite", "sum", "sumOfSquares"})
    @Test
    void reductionsAreWorkGroupTrees() {
        for (int n : new int[] {1, 7, 255, 257, 1000, 70001}) {
            Pair x = rand(n);
            assertEquals(ref.sum(x.ref), cl.sum(x.cl), 1e-5 * n, "sum n=" + n);
            assertEquals(ref.sumOfSquares(x.ref), cl.sumOfSquares(x.cl), 1e-5 * n, "sumOfSquares n=" + n);
            assertTrue(cl.allFinite(x.cl));
        }
        float[] v = randoms(1000, 1);
        v[777] = Float.NaN;
        assertFalse(cl.allFinite(cl.fromFloats(v, 1000)));
        v[777] = Float.POSITIVE_INFINITY;
        assertFalse(cl.allFinite(cl.fromFloats(v, 1000)));
    }

    // ---- elementwise ----

    @Covers({"add", "addScaled", "geluBackward", "geluForward", "mul", "scale", "siluBackward", "siluForward", "softplusBackward", "softplusForward", "sumRowsBackward", "swigluBackward", "swigluForward"})
    @Test
    void elementwiseForwardAndBackward() {
        Pair a = rand(5, 37), b = rand(5, 37), bias = rand(37), out = zeros(5, 37);
        ref.add(a.ref, b.ref, out.ref); cl.add(a.cl, b.cl, out.cl); close("add", out);
        ref.add(a.ref, bias.ref, out.ref); cl.add(a.cl, bias.cl, out.cl); close("add broadcast", out);
        ref.mul(a.ref, bias.ref, out.ref); cl.mul(a.cl, bias.cl, out.cl); close("mul broadcast", out);
        ref.scale(a.ref, -1.5f, out.ref); cl.scale(a.cl, -1.5f, out.cl); close("scale", out);
        Pair acc = rand(5, 37);
        ref.addScaled(acc.ref, b.ref, 0.25f); cl.addScaled(acc.cl, b.cl, 0.25f); close("addScaled", acc);
        Pair dB = rand(37);
        ref.sumRowsBackward(a.ref, dB.ref); cl.sumRowsBackward(a.cl, dB.cl); close("sumRowsBackward", dB);
        Pair x = values(randoms(5 * 37, 4f), 5, 37), dOut = rand(5, 37), dX = zeros(5, 37);
        x.ref.storage();
        float[] big = randoms(5 * 37, 4f);
        big[3] = 25f; big[4] = -30f;   // past softplus' threshold
        Pair xs = values(big, 5, 37);
        ref.siluForward(x.ref, out.ref); cl.siluForward(x.cl, out.cl); close("siluForward", out);
        ref.siluBackward(dOut.ref, x.ref, dX.ref); cl.siluBackward(dOut.cl, x.cl, dX.cl); close("siluBackward", dX);
        ref.geluForward(x.ref, out.ref); cl.geluForward(x.cl, out.cl); close("geluForward", out);
        ref.geluBackward(dOut.ref, x.ref, dX.ref); cl.geluBackward(dOut.cl, x.cl, dX.cl); close("geluBackward", dX);
        ref.softplusForward(xs.ref, out.ref); cl.softplusForward(xs.cl, out.cl); close("softplusForward", out);
        ref.softplusBackward(dOut.ref, xs.ref, dX.ref); cl.softplusBackward(dOut.cl, xs.cl, dX.cl); close("softplusBackward", dX);
        Pair dUp = zeros(5, 37);
        ref.swigluForward(x.ref, b.ref, out.ref); cl.swigluForward(x.cl, b.cl, out.cl); close("swigluForward", out);
        ref.swigluBackward(dOut.ref, x.ref, b.ref, dX.ref, dUp.ref); cl.swigluBackward(dOut.cl, x.cl, b.cl, dX.cl, dUp.cl);
        close("swigluBackward dGate", dX); close("swigluBackward dUp", dUp);
    }

    @Covers({"logSoftmaxBackward", "logSoftmaxForward", "softmaxBackward", "softmaxForward"})
    @Test
    void softmaxAndLogSoftmax() {
        for (int c : new int[] {1, 3, 257, 1000}) {
            Pair x = values(randoms(3L * c, 3f), 3, c), out = zeros(3, c), dOut = rand(3, c), dX = zeros(3, c);
            ref.softmaxForward(x.ref, out.ref); cl.softmaxForward(x.cl, out.cl); close("softmaxForward C=" + c, out);
            ref.softmaxBackward(dOut.ref, out.ref, dX.ref); cl.softmaxBackward(dOut.cl, out.cl, dX.cl); close("softmaxBackward C=" + c, dX);
            ref.logSoftmaxForward(x.ref, out.ref); cl.logSoftmaxForward(x.cl, out.cl); close("logSoftmaxForward C=" + c, out);
            ref.logSoftmaxBackward(dOut.ref, out.ref, dX.ref); cl.logSoftmaxBackward(dOut.cl, out.cl, dX.cl); close("logSoftmaxBackward C=" + c, dX, 1e-4, 1e-4);
        }
    }

    // ---- norm ----

    @Covers({"layerNormBackward", "layerNormForward", "rmsNormBackward", "rmsNormForward"})
    @Test
    void rmsNormAndLayerNorm() {
        for (int c : new int[] {5, 300}) {
            Pair x = rand(7, c), w = rand(c), b = rand(c), out = zeros(7, c), s1 = zeros(7), s2 = zeros(7);
            Pair dOut = rand(7, c), dX = zeros(7, c), dW = rand(c), dB = rand(c);
            ref.rmsNormForward(x.ref, w.ref, 1e-5f, out.ref, s1.ref); cl.rmsNormForward(x.cl, w.cl, 1e-5f, out.cl, s1.cl);
            close("rmsNormForward", out); close("rmsNormForward invRms", s1);
            ref.rmsNormBackward(dOut.ref, x.ref, w.ref, s1.ref, dX.ref, dW.ref);
            cl.rmsNormBackward(dOut.cl, x.cl, w.cl, s1.cl, dX.cl, dW.cl);
            close("rmsNormBackward dX", dX, 1e-4, 1e-4); close("rmsNormBackward dW", dW, 1e-4, 1e-4);
            Pair wb = cast(w, DType.BF16);
            ref.rmsNormForward(x.ref, wb.ref, 1e-5f, out.ref, s1.ref); cl.rmsNormForward(x.cl, wb.cl, 1e-5f, out.cl, s1.cl);
            close("rmsNormForward bf16 w", out);
            ref.layerNormForward(x.ref, w.ref, b.ref, 1e-5f, out.ref, s1.ref, s2.ref);
            cl.layerNormForward(x.cl, w.cl, b.cl, 1e-5f, out.cl, s1.cl, s2.cl);
            close("layerNormForward", out); close("layerNormForward mean", s1); close("layerNormForward invStd", s2);
            ref.layerNormBackward(dOut.ref, x.ref, w.ref, s1.ref, s2.ref, dX.ref, dW.ref, dB.ref);
            cl.layerNormBackward(dOut.cl, x.cl, w.cl, s1.cl, s2.cl, dX.cl, dW.cl, dB.cl);
            close("layerNormBackward dX", dX, 1e-4, 1e-4); close("layerNormBackward dW", dW, 1e-4, 1e-4); close("layerNormBackward dB", dB);
            ref.layerNormForward(x.ref, w.ref, null, 1e-5f, out.ref, s1.ref, s2.ref);
            cl.layerNormForward(x.cl, w.cl, null, 1e-5f, out.cl, s1.cl, s2.cl);
            close("layerNormForward no bias", out);
        }
    }

    // ---- gemm ----

    @Covers({"fill", "gemm"})
    @Test
    void gemmEveryTransposeOddSizesBatchedAndHalfWeights() {
        int[][] sizes = {{1, 1, 1}, {5, 7, 3}, {33, 65, 17}, {70, 45, 129}};
        for (int[] s : sizes) {
            int m = s[0], n = s[1], k = s[2];
            for (int ta = 0; ta < 2; ta++)
                for (int tb = 0; tb < 2; tb++) {
                    Pair a = ta == 1 ? rand(k, m) : rand(m, k), b = tb == 1 ? rand(n, k) : rand(k, n), c = rand(m, n);
                    ref.gemm(ta == 1, tb == 1, 0.5f, a.ref, b.ref, 0.75f, c.ref);
                    cl.gemm(ta == 1, tb == 1, 0.5f, a.cl, b.cl, 0.75f, c.cl);
                    close("gemm " + m + "x" + n + "x" + k + " transA=" + ta + " transB=" + tb, c, 1e-5 * k, 1e-4);
                }
        }
        Pair a = rand(3, 37, 19), b3 = rand(3, 19, 41), b2 = rand(19, 41), c = zeros(3, 37, 41);
        float[] nan = new float[3 * 37 * 41];
        Arrays.fill(nan, Float.NaN);
        Pair cNan = values(nan, 3, 37, 41);
        ref.gemm(false, false, 1f, a.ref, b3.ref, 0f, c.ref); cl.gemm(false, false, 1f, a.cl, b3.cl, 0f, cNan.cl);
        close("gemm batched (beta 0 ignores NaN in c)", new Pair(c.ref, cNan.cl), 1e-4, 1e-4);
        ref.gemm(false, false, 1f, a.ref, b2.ref, 0f, c.ref); cl.gemm(false, false, 1f, a.cl, b2.cl, 0f, c.cl);
        close("gemm batched, shared b", c, 1e-4, 1e-4);
        Pair w = rand(41, 19);
        for (DType dt : new DType[] {DType.BF16, DType.F16}) {
            Pair wh = cast(w, dt), c2 = zeros(3, 37, 41);
            ref.gemm(false, true, 1f, a.ref, wh.ref, 0f, c2.ref); cl.gemm(false, true, 1f, a.cl, wh.cl, 0f, c2.cl);
            close("gemm " + dt + " b transposed", c2, 1e-4, 1e-4);
        }
    }

    /**
     * The GPU tile shapes (128x128 with 8x8 per item, 64x64 with 4x4) on this device: whole tiles with float4 loads and
     * stores, ragged edges, a view at an offset that is not a multiple of 4 (scalar path), bf16 weights, batches.
     */
    @Covers({"copy", "gemm"})
    @Test
    void gemmGpuTileShapesFloat4PathsAndOffsetViews() {
        OpenClBackend.GemmTiles[][] configs = {
                {new OpenClBackend.GemmTiles(128, 128, 16, 8, 8), new OpenClBackend.GemmTiles(64, 64, 16, 4, 4)},
                {new OpenClBackend.GemmTiles(64, 64, 16, 4, 4), null}};
        int[][] sizes = {{128, 256, 48}, {64, 128, 32}, {130, 68, 20}};
        for (OpenClBackend.GemmTiles[] t : configs) {
            try (OpenClBackend g = new OpenClBackend(0, t[0], t[1])) {
                for (int[] s : sizes) {
                    int m = s[0], n = s[1], k = s[2];
                    for (int ta = 0; ta < 2; ta++)
                        for (int tb = 0; tb < 2; tb++)
                            for (DType dt : new DType[] {DType.F32, DType.BF16}) {
                                float[] av = randoms((long) m * k, 1f), bv = randoms((long) k * n, 1f), cv = randoms((long) m * n, 1f);
                                int[] aShape = ta == 1 ? new int[] {k, m} : new int[] {m, k}, bShape = tb == 1 ? new int[] {n, k} : new int[] {k, n};
                                Tensor ra = ref.fromFloats(av, aShape), rb = ref.fromFloats(bv, bShape), rc = ref.fromFloats(cv, m, n);
                                Tensor ga = g.fromFloats(av, aShape), gb = g.fromFloats(bv, bShape), gc = g.fromFloats(cv, m, n);
                                if (dt != DType.F32) {
                                    Tensor rh = ref.empty(dt, bShape), gh = g.empty(dt, bShape);
                                    ref.copy(rb, rh); g.copy(gb, gh);
                                    rb = rh; gb = gh;
                                }
                                ref.gemm(ta == 1, tb == 1, 0.5f, ra, rb, 0.75f, rc);
                                g.gemm(ta == 1, tb == 1, 0.5f, ga, gb, 0.75f, gc);
                                close("gemm tiles " + t[0] + " " + m + "x" + n + "x" + k + " transA=" + ta + " transB=" + tb + " " + dt,
                                        new Pair(rc, gc), 1e-5 * k, 1e-4);
                            }
                }
                // a [2, 64, 32] batch viewed from element 3 of a bigger buffer: offsets not a multiple of 4
                float[] av = randoms(3 + 2 * 64 * 32, 1f), bv = randoms(2 * 32 * 128, 1f);
                Tensor ra = ref.fromFloats(av, av.length).narrow(0, 3, 2 * 64 * 32).reshape(2, 64, 32);
                Tensor ga = g.fromFloats(av, av.length).narrow(0, 3, 2 * 64 * 32).reshape(2, 64, 32);
                Tensor rb = ref.fromFloats(bv, 2, 32, 128), gb = g.fromFloats(bv, 2, 32, 128);
                Tensor rc = ref.zeros(DType.F32, 2, 64, 128), gc = g.zeros(DType.F32, 2, 64, 128);
                ref.gemm(false, false, 1f, ra, rb, 0f, rc);
                g.gemm(false, false, 1f, ga, gb, 0f, gc);
                close("gemm tiles " + t[0] + " batched view at offset 3", new Pair(rc, gc), 1e-4, 1e-4);
            }
        }
    }

    // ---- rope, embedding ----

    @Covers({"ropeBackward", "ropeForward"})
    @Test
    void ropeForwardAndBackward() {
        float[] f = new float[6];
        for (int i = 0; i < 6; i++) f[i] = (float) Math.pow(10000, -2.0 * i / 12);
        Pair inv = values(f, 6), x = rand(2, 5, 3, 12), out = zeros(2, 5, 3, 12);
        ref.ropeForward(x.ref, inv.ref, 7, out.ref); cl.ropeForward(x.cl, inv.cl, 7, out.cl); close("ropeForward", out);
        ref.ropeBackward(x.ref, inv.ref, 7, out.ref); cl.ropeBackward(x.cl, inv.cl, 7, out.cl); close("ropeBackward", out);
        cl.ropeForward(x.cl, inv.cl, 7, x.cl);
        cl.ropeBackward(x.cl, inv.cl, 7, x.cl);
        close("rope round trip in place", new Pair(x.ref, x.cl), 1e-5, 1e-5);
    }

    @Covers({"embeddingBackward", "embeddingForward"})
    @Test
    void embeddingForwardAndScatterAddBackward() {
        Pair table = rand(11, 13), ids = ints(new int[] {3, 0, 10, 3, 3, 7, 0}, 7), out = zeros(7, 13);
        ref.embeddingForward(ids.ref, table.ref, out.ref); cl.embeddingForward(ids.cl, table.cl, out.cl); close("embeddingForward", out, 0, 0);
        Pair tb = cast(table, DType.BF16);
        ref.embeddingForward(ids.ref, tb.ref, out.ref); cl.embeddingForward(ids.cl, tb.cl, out.cl); close("embeddingForward bf16", out, 0, 0);
        Pair dOut = rand(7, 13), dTable = rand(11, 13);
        ref.embeddingBackward(dOut.ref, ids.ref, dTable.ref); cl.embeddingBackward(dOut.cl, ids.cl, dTable.cl);
        close("embeddingBackward (repeated ids accumulate)", dTable);
    }

    // ---- attention ----

    @Covers({"attentionBackward", "attentionForward", "fill"})
    @Test
    void attentionForwardAndBackwardGqaMaskAndOffset() {
        int b = 2, t = 37, s = 40, h = 4, hkv = 2, d = 16, offset = 3;
        Pair q = rand(b, t, h, d), k = rand(b, s, hkv, d), v = rand(b, s, hkv, d);
        int[] m = new int[b * s];
        Arrays.fill(m, 1);
        m[5] = 0; m[s + 1] = 0; m[s + 20] = 0;
        Pair mask = ints(m, b, s), out = zeros(b, t, h, d), lse = zeros(b, h, t);
        float scale = (float) (1 / Math.sqrt(d));
        ref.attentionForward(q.ref, k.ref, v.ref, scale, offset, mask.ref, out.ref, lse.ref);
        cl.attentionForward(q.cl, k.cl, v.cl, scale, offset, mask.cl, out.cl, lse.cl);
        close("attentionForward", out); close("attentionForward lse", lse);
        Pair dOut = rand(b, t, h, d), dQ = zeros(b, t, h, d), dK = zeros(b, s, hkv, d), dV = zeros(b, s, hkv, d);
        ref.attentionBackward(dOut.ref, q.ref, k.ref, v.ref, out.ref, lse.ref, scale, offset, mask.ref, dQ.ref, dK.ref, dV.ref);
        cl.attentionBackward(dOut.cl, q.cl, k.cl, v.cl, out.cl, lse.cl, scale, offset, mask.cl, dQ.cl, dK.cl, dV.cl);
        close("attentionBackward dQ", dQ, 1e-4, 1e-4); close("attentionBackward dK", dK, 1e-4, 1e-4); close("attentionBackward dV", dV, 1e-4, 1e-4);
        // A KV-cache view: keys 0..S-1 of a longer cache, batch stride larger than S * Hkv * D; no mask, no offset.
        Pair cacheK = rand(b, s + 9, hkv, d), cacheV = rand(b, s + 9, hkv, d);
        Pair kView = new Pair(cacheK.ref.narrow(1, 0, s), cacheK.cl.narrow(1, 0, s));
        Pair vView = new Pair(cacheV.ref.narrow(1, 0, s), cacheV.cl.narrow(1, 0, s));
        Pair q1 = rand(b, 1, h, d), out1 = zeros(b, 1, h, d), lse1 = zeros(b, h, 1);
        ref.attentionForward(q1.ref, kView.ref, vView.ref, scale, s - 1, null, out1.ref, lse1.ref);
        cl.attentionForward(q1.cl, kView.cl, vView.cl, scale, s - 1, null, out1.cl, lse1.cl);
        close("attentionForward KV-cache view", out1); close("attentionForward KV-cache lse", lse1);
    }

    // ---- cross-entropy, distill ----

    @Covers({"crossEntropyBackward", "crossEntropyForward"})
    @Test
    void crossEntropyChunkedOverVocabulary() {
        int n = 5, vocab = 1001;
        Pair logits = values(randoms((long) n * vocab, 3f), n, vocab), targets = ints(new int[] {0, 1000, -100, 17, 500}, n);
        Pair losses = zeros(n), lse = zeros(n);
        ref.crossEntropyForward(logits.ref, targets.ref, -100, losses.ref, lse.ref);
        cl.crossEntropyForward(logits.cl, targets.cl, -100, losses.cl, lse.cl);
        close("crossEntropyForward", losses); close("crossEntropyForward lse", lse);
        Pair dLosses = rand(n), dLogits = zeros(n, vocab);
        ref.crossEntropyBackward(dLosses.ref, logits.ref, targets.ref, lse.ref, -100, dLogits.ref);
        cl.crossEntropyBackward(dLosses.cl, logits.cl, targets.cl, lse.cl, -100, dLogits.cl);
        close("crossEntropyBackward", dLogits);
    }

    @Covers({"distillBackward", "distillForward", "sparseDistillBackward", "sparseDistillForward"})
    @Test
    void distillEveryDivergenceAndSparse() {
        int n = 3, vocab = 301;
        Pair student = values(randoms((long) n * vocab, 2f), n, vocab), teacher = values(randoms((long) n * vocab, 2f), n, vocab);
        Pair per = zeros(n), dPer = rand(n), dStudent = zeros(n, vocab);
        for (Backend.Divergence div : Backend.Divergence.values()) {
            ref.distillForward(div, 2f, student.ref, teacher.ref, per.ref); cl.distillForward(div, 2f, student.cl, teacher.cl, per.cl);
            close("distillForward " + div, per, 1e-4, 1e-4);
            ref.distillBackward(div, 2f, dPer.ref, student.ref, teacher.ref, dStudent.ref);
            cl.distillBackward(div, 2f, dPer.cl, student.cl, teacher.cl, dStudent.cl);
            close("distillBackward " + div, dStudent, 1e-5, 1e-4);
        }
        Pair ids = ints(new int[] {5, 9, 5, -1, 0, 300, 2, -1, 7, 8, 9, 10}, n, 4);
        Pair probs = values(new float[] {0.5f, 0.25f, 0.125f, 0.9f, 0.1f, 0.2f, 0.3f, 0f, 0.4f, 0.3f, 0.2f, 0.1f}, n, 4);
        Pair lse = zeros(n);
        ref.sparseDistillForward(1.5f, student.ref, ids.ref, probs.ref, per.ref, lse.ref);
        cl.sparseDistillForward(1.5f, student.cl, ids.cl, probs.cl, per.cl, lse.cl);
        close("sparseDistillForward", per); close("sparseDistillForward lse", lse);
        ref.sparseDistillBackward(1.5f, dPer.ref, student.ref, ids.ref, probs.ref, lse.ref, dStudent.ref);
        cl.sparseDistillBackward(1.5f, dPer.cl, student.cl, ids.cl, probs.cl, lse.cl, dStudent.cl);
        close("sparseDistillBackward", dStudent);
    }

    // ---- conv/scan ----

    @Covers({"causalConv1dBackward", "causalConv1dForward", "causalConv1dStep", "selectiveScanBackward", "selectiveScanForward", "selectiveScanStep"})
    @Test
    void causalConvAndSelectiveScanWithDecodeSteps() {
        int b = 2, t = 9, c = 5, kw = 4;
        Pair x = rand(b, t, c), w = rand(c, kw), bias = rand(c), out = zeros(b, t, c);
        ref.causalConv1dForward(x.ref, w.ref, bias.ref, out.ref); cl.causalConv1dForward(x.cl, w.cl, bias.cl, out.cl);
        close("causalConv1dForward", out);
        Pair dOut = rand(b, t, c), dX = zeros(b, t, c), dW = rand(c, kw), dBias = rand(c);
        ref.causalConv1dBackward(dOut.ref, x.ref, w.ref, dX.ref, dW.ref, dBias.ref);
        cl.causalConv1dBackward(dOut.cl, x.cl, w.cl, dX.cl, dW.cl, dBias.cl);
        close("causalConv1dBackward dX", dX); close("causalConv1dBackward dW", dW); close("causalConv1dBackward dBias", dBias);
        Pair state = zeros(b, c, kw - 1), stepOut = zeros(b, c);
        for (int i = 0; i < t; i++) {
            Pair xi = new Pair(x.ref.select(1, i).contiguous(), x.cl.select(1, i).contiguous());
            ref.causalConv1dStep(xi.ref, w.ref, bias.ref, state.ref, stepOut.ref);
            cl.causalConv1dStep(xi.cl, w.cl, bias.cl, state.cl, stepOut.cl);
            close("causalConv1dStep t=" + i, stepOut);
        }
        int in = 6, ns = 3;
        Pair u = rand(b, t, in), delta = values(abs(randoms((long) b * t * in, 0.5f)), b, t, in), aLog = rand(in, ns);
        Pair bm = rand(b, t, ns), cm = rand(b, t, ns), d = rand(in), y = zeros(b, t, in);
        ref.selectiveScanForward(u.ref, delta.ref, aLog.ref, bm.ref, cm.ref, d.ref, y.ref);
        cl.selectiveScanForward(u.cl, delta.cl, aLog.cl, bm.cl, cm.cl, d.cl, y.cl);
        close("selectiveScanForward", y);
        Pair dY = rand(b, t, in), dU = zeros(b, t, in), dDelta = zeros(b, t, in), dA = rand(in, ns), dB = zeros(b, t, ns),
                dC = zeros(b, t, ns), dD = rand(in);
        ref.selectiveScanBackward(dY.ref, u.ref, delta.ref, aLog.ref, bm.ref, cm.ref, d.ref, dU.ref, dDelta.ref, dA.ref, dB.ref, dC.ref, dD.ref);
        cl.selectiveScanBackward(dY.cl, u.cl, delta.cl, aLog.cl, bm.cl, cm.cl, d.cl, dU.cl, dDelta.cl, dA.cl, dB.cl, dC.cl, dD.cl);
        close("selectiveScanBackward dU", dU, 1e-4, 1e-4); close("selectiveScanBackward dDelta", dDelta, 1e-4, 1e-4);
        close("selectiveScanBackward dALog", dA, 1e-4, 1e-4); close("selectiveScanBackward dB", dB, 1e-4, 1e-4);
        close("selectiveScanBackward dC", dC, 1e-4, 1e-4); close("selectiveScanBackward dD", dD, 1e-4, 1e-4);
        Pair st = zeros(b, in, ns), yi = zeros(b, in);
        for (int i = 0; i < 3; i++) {
            Pair ui = sel(u, i), di = sel(delta, i), bi = sel(bm, i), ci = sel(cm, i);
            ref.selectiveScanStep(ui.ref, di.ref, aLog.ref, bi.ref, ci.ref, d.ref, st.ref, yi.ref);
            cl.selectiveScanStep(ui.cl, di.cl, aLog.cl, bi.cl, ci.cl, d.cl, st.cl, yi.cl);
            close("selectiveScanStep t=" + i, yi);
        }
    }

    private static Pair sel(Pair p, int t) { return new Pair(p.ref.select(1, t).contiguous(), p.cl.select(1, t).contiguous()); }

    private static float[] abs(float[] v) {
        for (int i = 0; i < v.length; i++) v[i] = Math.abs(v[i]) + 0.01f;
        return v;
    }

    // ---- optim ----

    @Covers({"adamwStep", "sgdStep"})
    @Test
    void adamwAndSgdSteps() {
        Pair p = rand(1001), g = rand(1001), m = zeros(1001), v = zeros(1001);
        for (int step = 1; step <= 3; step++) {
            ref.adamwStep(p.ref, g.ref, m.ref, v.ref, 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, step);
            cl.adamwStep(p.cl, g.cl, m.cl, v.cl, 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, step);
        }
        close("adamwStep param", p); close("adamwStep m", m); close("adamwStep v", v);
        Pair buf = zeros(1001);
        for (int step = 0; step < 3; step++) {
            ref.sgdStep(p.ref, g.ref, buf.ref, 0.1f, 0.9f, 0.01f);
            cl.sgdStep(p.cl, g.cl, buf.cl, 0.1f, 0.9f, 0.01f);
        }
        close("sgdStep param", p); close("sgdStep buffer", buf);
    }

    // ---- errors ----

    @Covers({"name"})
    @Test
    void kernelBuildErrorNamesTheFileAndCarriesTheCompilerLog() {
        ClException e = assertThrows(ClException.class, () -> cl.programs().program("broken.cl",
                "kernel void broken(global float* x) { x[0] = TILE_K; }", "-cl-std=CL1.2"));
        assertTrue(e.getMessage().startsWith("opencl broken.cl: build failed on " + cl.device().name()), e.getMessage());
        assertTrue(e.getMessage().contains("TILE_K"), "compiler log missing: " + e.getMessage());
        assertTrue(e.getMessage().contains("CL_BUILD_PROGRAM_FAILURE"), e.getMessage());
    }

    @Covers({"add", "gemm"})
    @Test
    void badShapesAndForeignTensorsAreTypedErrors() {
        Tensor a = cl.zeros(DType.F32, 3, 4), b = cl.zeros(DType.F32, 5, 6), c = cl.zeros(DType.F32, 3, 6);
        var e = assertThrows(kd4j.tensor.ShapeException.class, () -> cl.gemm(false, false, 1, a, b, 0, c));
        assertTrue(e.getMessage().startsWith("gemm: inner dimensions differ"), e.getMessage());
        Tensor host = ref.zeros(DType.F32, 3, 4);
        e = assertThrows(kd4j.tensor.ShapeException.class, () -> cl.add(host, a, a));
        assertTrue(e.getMessage().contains("lives on reference, not on opencl:"), e.getMessage());
        assertThrows(DeviceUnavailableException.class, () -> new OpenClBackend(99));
    }
}
