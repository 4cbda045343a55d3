/*
 * Same inputs, same thread count → the same bits, however the pool's threads happen to be scheduled. Kernels
 * that sum over work split across threads (parameter gradients above all) must combine partial sums in a fixed
 * order; this runs each such backward several times on an oversubscribed pool and compares raw output bits.
 */
package kd4j.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Random;
import java.util.function.Supplier;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ThreadDeterminismTest {
    private static final int RUNS = 6;
    private static CpuBackend be;

    @BeforeAll
    static void open() { be = new CpuBackend(8); }   // more threads than cores: many different interleavings

    @AfterAll
    static void close() { be.close(); }

    private static Tensor rand(long seed, float lo, float hi, int... shape) {
        Random r = new Random(seed);
        float[] v = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = lo + (hi - lo) * r.nextFloat();
        return be.fromFloats(v, shape);
    }

    private static int[] bits(Tensor... outputs) {
        int total = 0;
        for (Tensor t : outputs) total += (int) t.numel();
        int[] out = new int[total];
        int k = 0;
        for (Tensor t : outputs) for (float f : t.toFloatArray()) out[k++] = Float.floatToRawIntBits(f);
        return out;
    }

    private static void assertSameEveryRun(String op, Supplier<int[]> run) {
        int[] first = run.get();
        for (int i = 1; i < RUNS; i++) assertArrayEquals(first, run.get(), op + ": run " + i + " differs from run 0");
    }

    @Test
    void selectiveScanBackward_sameBitsEveryRun() {
        int b = 2, t = 48, inner = 256, state = 16;
        Tensor u = rand(1, -1, 1, b, t, inner), delta = rand(2, 0.01f, 0.5f, b, t, inner);
        Tensor aLog = rand(3, -1, 1.5f, inner, state), bm = rand(4, -1, 1, b, t, state), cm = rand(5, -1, 1, b, t, state);
        Tensor d = rand(6, -1, 1, inner), dy = rand(7, -1, 1, b, t, inner);
        assertSameEveryRun("selectiveScanBackward", () -> {
            Tensor du = be.empty(DType.F32, b, t, inner), dDelta = be.empty(DType.F32, b, t, inner);
            Tensor daLog = be.empty(DType.F32, inner, state), dB = be.empty(DType.F32, b, t, state);
            Tensor dC = be.empty(DType.F32, b, t, state), dD = be.empty(DType.F32, inner);
            be.selectiveScanBackward(dy, u, delta, aLog, bm, cm, d, du, dDelta, daLog, dB, dC, dD);
            return bits(du, dDelta, daLog, dB, dC, dD);
        });
    }

    @Test
    void parameterGradients_sameBitsEveryRun() {
        int rows = 512, cols = 384, vocab = 97, k = 4;
        Tensor x = rand(11, -2, 2, rows, cols), dOut = rand(12, -1, 1, rows, cols), w = rand(13, 0.5f, 1.5f, cols);
        Tensor invRms = be.empty(DType.F32, rows), normOut = be.empty(DType.F32, rows, cols);
        be.rmsNormForward(x, w, 1e-5f, normOut, invRms);
        int[] idsArray = new int[rows];
        for (int i = 0; i < rows; i++) idsArray[i] = (i * 31) % vocab;
        Tensor ids = be.fromInts(idsArray, rows);
        Tensor convX = rand(14, -1, 1, 4, rows / 4, cols), convW = rand(15, -1, 1, cols, k);
        Tensor convD = rand(16, -1, 1, 4, rows / 4, cols);
        assertSameEveryRun("rmsNormBackward/embeddingBackward/sumRowsBackward/gemm dW/causalConv1dBackward", () -> {
            Tensor dX = be.empty(DType.F32, rows, cols), dW = be.zeros(DType.F32, cols);
            be.rmsNormBackward(dOut, x, w, invRms, dX, dW);
            Tensor dTable = be.zeros(DType.F32, vocab, cols);
            be.embeddingBackward(dOut, ids, dTable);
            Tensor dBias = be.zeros(DType.F32, cols);
            be.sumRowsBackward(dOut, dBias);
            Tensor dWeight = be.zeros(DType.F32, cols, cols);
            be.gemm(true, false, 1f, dOut, x, 1f, dWeight);   // dW += dOutᵀ x, the weight gradient of a Linear
            Tensor cdx = be.empty(DType.F32, 4, rows / 4, cols), cdw = be.zeros(DType.F32, cols, k), cdb = be.zeros(DType.F32, cols);
            be.causalConv1dBackward(convD, convX, convW, cdx, cdw, cdb);
            return bits(dX, dW, dTable, dBias, dWeight, cdx, cdw, cdb);
        });
    }
}
