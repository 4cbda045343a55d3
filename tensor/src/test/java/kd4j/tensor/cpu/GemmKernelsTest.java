/* GEMM on the CPU backend against the reference triple loop: every transpose combination, odd sizes across the
 * MR/NR/MC/KC tile edges, batching, strided views, bf16/fp16 weights, beta, aliasing and shape errors. */
package kd4j.tensor.cpu;

import org.junit.jupiter.api.extension.ExtendWith;
import static kd4j.tensor.cpu.Compare.CPU;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import kd4j.tensor.Covers;
import kd4j.tensor.DType;
import kd4j.tensor.ShapeException;
import kd4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

@ExtendWith(VectorWidthCondition.class)
class GemmKernelsTest {
    /** m, n, k triples crossing the micro-tile (4, 8 or 12 x 2L), the MC = 72 row block and the K blocks (kcFor: at most KC = 896). */
    static final int[][] DIMS = {
            {1, 1, 1}, {1, 5, 3}, {3, 7, 13}, {6, 16, 8}, {7, 17, 31}, {8, 16, 64}, {13, 100, 17},
            {31, 127, 257}, {64, 64, 64}, {73, 33, 300}, {100, 257, 31}, {127, 3, 513}, {2, 2100, 5}, {0, 4, 3}, {5, 4, 0},
            {9, 40, 1800}};

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (int[] d : DIMS)
            for (boolean ta : new boolean[] {false, true})
                for (boolean tb : new boolean[] {false, true}) out.add(Arguments.of(d[0], d[1], d[2], ta, tb));
        return out.stream();
    }

    @Test
    void tileRows_are4Below512Bits_else8_or12WhenAsked() {
        int expected = Simd.SCALAR || Simd.L < 16 ? 4 : "12".equals(System.getProperty("kd4j.gemmTileRows")) ? 12 : 8;
        assertEquals(expected, GemmKernels.MR, "the tile the surefire execution asked for (gemm-tile-12 runs this class at 12)");
    }

    private static int[] dims(boolean trans, int rows, int cols) { return trans ? new int[] {cols, rows} : new int[] {rows, cols}; }

    @Covers({"gemm"})
    @ParameterizedTest(name = "m={0} n={1} k={2} transA={3} transB={4}")
    @MethodSource("cases")
    void gemm_matchesReference(int m, int n, int k, boolean transA, boolean transB) {
        Compare.Case c = new Compare.Case();
        int a = c.f(Compare.uniform(m * 31 + n, m * k, -1, 1), dims(transA, m, k));
        int b = c.f(Compare.uniform(k * 17 + n, k * n, -1, 1), dims(transB, k, n));
        int out = c.f(Compare.uniform(5, m * n, -1, 1), m, n);
        c.run("gemm", (be, t) -> be.gemm(transA, transB, 0.5f, t[a], t[b], 0.75f, t[out]), 2e-6 * (k + 1), 1e-5, out);
    }

    @Covers({"gemm"})
    @Test
    void gemm_handComputed() {
        Tensor a = CPU.fromFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        Tensor b = CPU.fromFloats(new float[] {7, 8, 9, 10, 11, 12}, 3, 2);
        Tensor c = CPU.empty(DType.F32, 2, 2);
        CPU.gemm(false, false, 1f, a, b, 0f, c);
        assertArrayEquals(new float[] {58, 64, 139, 154}, c.toFloatArray());
        CPU.gemm(true, true, 2f, b, a, 1f, c);   // c += 2 * (b^T a^T) = 2 * (a b)^T
        assertArrayEquals(new float[] {58 + 116, 64 + 278, 139 + 128, 154 + 308}, c.toFloatArray());
    }

    @Covers({"gemm"})
    @Test
    void gemm_betaZeroIgnoresNaN() {
        Tensor a = CPU.fromFloats(new float[] {1, 2}, 1, 2), b = CPU.fromFloats(new float[] {3, 4}, 2, 1);
        Tensor c = CPU.fromFloats(new float[] {Float.NaN}, 1, 1);
        CPU.gemm(false, false, 1f, a, b, 0f, c);
        assertArrayEquals(new float[] {11}, c.toFloatArray());
    }

    @Covers({"gemm"})
    @Test
    void gemm_batched_sharedAndPerBatchB() {
        for (boolean batchedB : new boolean[] {false, true}) {
            Compare.Case c = new Compare.Case();
            int a = c.f(Compare.uniform(1, 3 * 13 * 37, -1, 1), 3, 13, 37);
            int b = batchedB ? c.f(Compare.uniform(2, 3 * 37 * 21, -1, 1), 3, 37, 21) : c.f(Compare.uniform(2, 37 * 21, -1, 1), 37, 21);
            int out = c.zeros(3, 13, 21);
            c.run("gemm batched b=" + batchedB, (be, t) -> be.gemm(false, false, 1f, t[a], t[b], 0f, t[out]), 1e-4, 1e-5, out);
        }
    }

    @Covers({"gemm"})
    @Test
    void gemm_transposedViewEqualsTransposeFlag() {
        Tensor a = CPU.fromFloats(Compare.uniform(3, 19 * 23, -1, 1), 19, 23);
        Tensor b = CPU.fromFloats(Compare.uniform(4, 19 * 11, -1, 1), 19, 11);
        Tensor viaFlag = CPU.empty(DType.F32, 23, 11), viaView = CPU.empty(DType.F32, 23, 11);
        CPU.gemm(true, false, 1f, a, b, 0f, viaFlag);
        CPU.gemm(false, false, 1f, a.transpose(0, 1), b, 0f, viaView);
        assertArrayEquals(viaFlag.toFloatArray(), viaView.toFloatArray());
    }

    @Covers({"copy", "gemm"})
    @Test
    void gemm_halfWeightsEqualFp32WidenedWeights() {
        for (DType half : new DType[] {DType.BF16, DType.F16})
            for (boolean transB : new boolean[] {false, true}) {
                int m = 37, n = 45, k = 270;
                Tensor a = CPU.fromFloats(Compare.uniform(7, m * k, -1, 1), m, k);
                Tensor b32 = CPU.fromFloats(Compare.uniform(8, k * n, -1, 1), transB ? new int[] {n, k} : new int[] {k, n});
                Tensor bHalf = CPU.empty(half, b32.shape());
                CPU.copy(b32, bHalf);
                Tensor widened = CPU.empty(DType.F32, b32.shape());
                CPU.copy(bHalf, widened);
                Tensor c1 = CPU.empty(DType.F32, m, n), c2 = CPU.empty(DType.F32, m, n);
                CPU.gemm(false, transB, 1f, a, bHalf, 0f, c1);
                CPU.gemm(false, transB, 1f, a, widened, 0f, c2);
                // Same widened values, same packing order, same micro-kernel: bit-identical.
                assertArrayEquals(c2.toFloatArray(), c1.toFloatArray(), half + " transB=" + transB);
            }
    }

    /**
     * The parallel schedules (whole batches per task; cooperative with shared packed B split by rows, or by columns
     * when M is small) give the same bits as one thread: each C element is the same FMA chain over k per K block.
     * Shapes cross NC (two B panels), several K blocks, the 2-batches-per-thread cut-over and an M too small to split.
     */
    @Covers({"gemm"})
    @Test
    void gemm_sameBitsForEveryThreadCount() {
        int[][] shapes = {{1, 203, 2100, 800, 0}, {1, 9, 2100, 500, 1}, {3, 77, 130, 401, 0}, {5, 64, 200, 96, 1}, {2, 300, 45, 700, 1}};
        for (int[] sh : shapes) {
            int batches = sh[0], m = sh[1], n = sh[2], k = sh[3];
            boolean transA = sh[4] == 1;
            float[] av = Compare.uniform(m + n, batches * m * k, -1, 1), bv = Compare.uniform(k + 3, batches * k * n, -1, 1);
            float[] c0 = Compare.uniform(9, batches * m * n, -1, 1);
            float[] expected = null;
            for (int threads : new int[] {1, 2, 3, 5}) {
                try (CpuBackend be = new CpuBackend(threads)) {
                    Tensor a = transA ? be.fromFloats(av, batches, k, m).transpose(1, 2) : be.fromFloats(av, batches, m, k);
                    Tensor b = be.fromFloats(bv, batches, k, n), c = be.fromFloats(c0, batches, m, n);
                    be.gemm(false, false, 0.5f, a, b, 0.25f, c);
                    float[] got = c.toFloatArray();
                    if (expected == null) expected = got;
                    else assertArrayEquals(expected, got, "batches=" + batches + " m=" + m + " n=" + n + " k=" + k + " transA=" + transA
                            + ": " + threads + " threads differ from 1 thread");
                }
            }
        }
    }

    /**
     * A frozen weight (read-only storage, as an inference load maps safetensors) is packed once and its panels
     * reused: the same bits as the same weight in writable storage, on the first call and on later ones, for
     * fp32 and bf16, both layouts, across NC panels and K blocks, on one thread (sequential blocks) and three
     * (cooperative); and the panels stay only for read-only weights.
     */
    @Covers({"gemm"})
    @Test
    void gemm_frozenWeightPanels_giveTheSameBitsAsPackingEveryCall() {
        int m = 37, n = 2100, k = 1000;
        for (DType dt : new DType[] {DType.F32, DType.BF16})
            for (boolean transB : new boolean[] {false, true})
                for (int threads : new int[] {1, 3}) {
                    try (CpuBackend be = new CpuBackend(threads)) {
                        int[] shape = transB ? new int[] {n, k} : new int[] {k, n};
                        Tensor writable = be.empty(dt, shape);
                        be.copy(be.fromFloats(Compare.uniform(k + n, k * n, -1, 1), shape), writable);
                        var seg = ((kd4j.tensor.HostStorage) writable.storage()).segment();
                        Tensor frozen = Tensor.of(new kd4j.tensor.HostStorage(be, seg.asReadOnly()), dt, shape);
                        float[] av = Compare.uniform(m, m * k, -1, 1), cv = Compare.uniform(4, m * n, -1, 1);
                        Tensor c0 = be.fromFloats(cv, m, n);
                        be.gemm(false, transB, 0.5f, be.fromFloats(av, m, k), writable, 0.25f, c0);
                        assertEquals(0, be.frozenPanelBytes(), "a writable weight is packed per call, never kept");
                        float[] expected = c0.toFloatArray();
                        for (int call = 0; call < 2; call++) {
                            Tensor c = be.fromFloats(cv, m, n);
                            be.gemm(false, transB, 0.5f, be.fromFloats(av, m, k), frozen, 0.25f, c);
                            assertArrayEquals(expected, c.toFloatArray(), dt + " transB=" + transB + " threads=" + threads + " call " + call);
                            assertEquals(GemmKernels.packedBytes(k, n), be.frozenPanelBytes(), "one weight's panels kept");
                        }
                    }
                }
    }

    /**
     * Decode-sized GEMMs (m <= ROWS_TIMES_WEIGHT_MAX_M rows times a transposed bf16/fp32 weight, parallel size) take
     * the dot-product path: against the double reference, with beta, and the same bits for every thread count.
     */
    @Covers({"copy", "gemm"})
    @Test
    void gemm_fewRowsTimesTransposedWeight_matchesReferenceOnEveryThreadCount() {
        var ref = new kd4j.tensor.reference.ReferenceBackend();
        for (DType dt : new DType[] {DType.F32, DType.BF16})
            for (int m = 1; m <= GemmKernels.ROWS_TIMES_WEIGHT_MAX_M + 1; m++) {
                int n = 700, k = 1500;                                     // m n k >= PARALLEL_MIN_MNK from m = 1
                float[] av = Compare.uniform(m, m * k, -1, 1), wv = Compare.uniform(k, n * k, -1, 1), cv = Compare.uniform(3, m * n, -1, 1);
                Tensor wRef = ref.empty(dt, n, k);
                ref.copy(ref.fromFloats(wv, n, k), wRef);
                Tensor cRef = ref.fromFloats(cv, m, n);
                ref.gemm(false, true, 0.5f, ref.fromFloats(av, m, k), wRef, 0.25f, cRef);
                float[] expected = cRef.toFloatArray(), first = null;
                for (int threads : new int[] {1, 2, 3}) {
                    try (CpuBackend be = new CpuBackend(threads)) {
                        Tensor w = be.empty(dt, n, k);
                        be.copy(be.fromFloats(wv, n, k), w);
                        Tensor c = be.fromFloats(cv, m, n);
                        be.gemm(false, true, 0.5f, be.fromFloats(av, m, k), w, 0.25f, c);
                        float[] got = c.toFloatArray();
                        for (int i = 0; i < got.length; i++)
                            assertEquals(expected[i], got[i], 2e-6 * k, dt + " m=" + m + " index " + i);
                        if (first == null) first = got;
                        else assertArrayEquals(first, got, dt + " m=" + m + ": " + threads + " threads differ from 1");
                    }
                }
            }
    }

    @Covers({"gemm"})
    @Test
    void gemm_rejectsBadShapesAndAliasing() {
        Tensor a = CPU.empty(DType.F32, 4, 384), b = CPU.empty(DType.F32, 512, 1024), c = CPU.empty(DType.F32, 4, 1024);
        ShapeException e = assertThrows(ShapeException.class, () -> CPU.gemm(false, false, 1f, a, b, 0f, c));
        assertTrue(e.getMessage().contains("inner dimensions differ") && e.getMessage().contains("[4, 384]"), e.getMessage());
        Tensor sq = CPU.empty(DType.F32, 8, 8);
        e = assertThrows(ShapeException.class, () -> CPU.gemm(false, false, 1f, sq, CPU.empty(DType.F32, 8, 8), 0f, sq));
        assertTrue(e.getMessage().contains("alias"), e.getMessage());
        Tensor a64 = CPU.empty(DType.F64, 2, 2);
        e = assertThrows(ShapeException.class, () -> CPU.gemm(false, false, 1f, a64, a64, 0f, CPU.empty(DType.F32, 2, 2)));
        assertTrue(e.getMessage().contains("F64"), e.getMessage());
    }
}
