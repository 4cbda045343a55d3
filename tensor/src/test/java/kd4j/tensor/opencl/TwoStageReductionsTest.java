/*
 * The two-stage row-parallel reductions of the OpenCL backend against ReferenceBackend (double) at row counts that
 * span one slice, several and the slice cap (the partials kernels sum about 64 rows per slice, at most 128 slices),
 * with column counts that miss the work-group size: RMSNorm dW, LayerNorm dW and dB, the bias gradient
 * (sumRowsBackward) and the embedding backward (many repeated ids, ids outside the vocabulary skipped). Every
 * parameter gradient accumulates (+=) onto a non-zero start. Each reduction run twice gives the same bits.
 * Tolerance atol 1e-5 * sqrt(R) * 4 + rtol 1e-4: fp32 sums of R terms of unit size.
 */
package kd4j.tensor.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Random;
import java.util.function.Consumer;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;
import kd4j.tensor.reference.ReferenceBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

public class TwoStageReductionsTest {
    private static OpenClBackend cl;
    private static final ReferenceBackend ref = new ReferenceBackend();
    private static final int[] ROWS = {1, 63, 65, 1000, 9000};
    private final Random random = new Random(23);

    @BeforeAll
    static void open() {
        cl = OpenClTestDevice.openOrSkip();
    }

    @AfterAll
    static void close() { if (cl != null) cl.close(); }

    private float[] randoms(long n) {
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) v[i] = (float) random.nextGaussian();
        return v;
    }

    private static void close(String what, Tensor expected, Tensor actual, int rows) {
        double[] e = expected.toDoubleArray(), a = actual.toDoubleArray();
        double atol = 4e-5 * Math.sqrt(rows);
        for (int i = 0; i < e.length; i++)
            if (!(Math.abs(e[i] - a[i]) <= atol + 1e-4 * Math.abs(e[i])))
                fail(what + ": element " + i + " expected " + e[i] + " got " + a[i] + " (atol " + atol + ")");
    }

    /** Runs op on two fresh copies of start and checks both runs give the same bits; returns the first. */
    private static Tensor twice(String what, float[] start, int[] shape, Consumer<Tensor> op) {
        Tensor a = cl.fromFloats(start, shape), b = cl.fromFloats(start, shape);
        op.accept(a);
        op.accept(b);
        assertArrayEquals(a.toFloatArray(), b.toFloatArray(), what + ": a rerun gives other bits");
        return a;
    }

    @Test
    void normAndBiasGradients_matchTheReference_atEverySliceCount() {
        int c = 37;
        for (int rows : ROWS) {
            float[] x = randoms((long) rows * c), g = randoms((long) rows * c), w = randoms(c), start = randoms(c);
            Tensor rx = ref.fromFloats(x, rows, c), rg = ref.fromFloats(g, rows, c), rw = ref.fromFloats(w, c);
            Tensor cx = cl.fromFloats(x, rows, c), cg = cl.fromFloats(g, rows, c), cw = cl.fromFloats(w, c);

            Tensor rOut = ref.zeros(DType.F32, rows, c), rInv = ref.zeros(DType.F32, rows), rdX = ref.zeros(DType.F32, rows, c);
            Tensor cOut = cl.zeros(DType.F32, rows, c), cInv = cl.zeros(DType.F32, rows), cdX = cl.zeros(DType.F32, rows, c);
            ref.rmsNormForward(rx, rw, 1e-5f, rOut, rInv);
            cl.rmsNormForward(cx, cw, 1e-5f, cOut, cInv);
            Tensor rdW = ref.fromFloats(start, c);
            ref.rmsNormBackward(rg, rx, rw, rInv, rdX, rdW);
            Tensor cdW = twice("rmsNorm dW", start, new int[] {c}, dW -> cl.rmsNormBackward(cg, cx, cw, cInv, cdX, dW));
            close("rmsNormBackward dW, R=" + rows, rdW, cdW, rows);

            Tensor rMean = ref.zeros(DType.F32, rows), cMean = cl.zeros(DType.F32, rows);
            ref.layerNormForward(rx, rw, null, 1e-5f, rOut, rMean, rInv);
            cl.layerNormForward(cx, cw, null, 1e-5f, cOut, cMean, cInv);
            Tensor lw = ref.fromFloats(start, c), lb = ref.fromFloats(start, c);
            ref.layerNormBackward(rg, rx, rw, rMean, rInv, rdX, lw, lb);
            Tensor clb = cl.fromFloats(start, c);
            Tensor clw = twice("layerNorm dW", start, new int[] {c}, dW -> cl.layerNormBackward(cg, cx, cw, cMean, cInv, cdX, dW, null));
            cl.layerNormBackward(cg, cx, cw, cMean, cInv, cdX, cl.fromFloats(start, c), clb);
            close("layerNormBackward dW, R=" + rows, lw, clw, rows);
            close("layerNormBackward dB, R=" + rows, lb, clb, rows);

            Tensor rdB = ref.fromFloats(start, c);
            ref.sumRowsBackward(rg, rdB);
            Tensor cdB = twice("sumRowsBackward", start, new int[] {c}, dB -> cl.sumRowsBackward(cg, dB));
            close("sumRowsBackward, R=" + rows, rdB, cdB, rows);
        }
    }

    @Test
    void embeddingBackward_matchesTheReference_withRepeatedAndInvalidIds() {
        int v = 50, c = 19;
        for (int n : new int[] {1, 7, 300, 2000}) {
            int[] ids = new int[n];
            for (int i = 0; i < n; i++) ids[i] = i % 11 == 5 ? (i % 2 == 0 ? -1 : v + 3) : random.nextInt(i % 3 == 0 ? 4 : v);
            float[] g = randoms((long) n * c), start = randoms((long) v * c);
            Tensor rTable = ref.fromFloats(start, v, c);
            // the reference skips nothing: give it the valid rows only
            int valid = 0;
            for (int id : ids) if (id >= 0 && id < v) valid++;
            int[] rIds = new int[valid];
            float[] rg = new float[valid * c];
            for (int i = 0, j = 0; i < n; i++)
                if (ids[i] >= 0 && ids[i] < v) {
                    rIds[j] = ids[i];
                    System.arraycopy(g, i * c, rg, j * c, c);
                    j++;
                }
            if (valid > 0) ref.embeddingBackward(ref.fromFloats(rg, valid, c), ref.fromInts(rIds, valid), rTable);
            Tensor cIds = cl.fromInts(ids, n), cg = cl.fromFloats(g, n, c);
            Tensor cTable = twice("embeddingBackward", start, new int[] {v, c}, t -> cl.embeddingBackward(cg, cIds, t));
            close("embeddingBackward, N=" + n, rTable, cTable, n);
        }
    }
}
