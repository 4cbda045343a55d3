/*
 * Test harness for the CPU kernels: builds the same inputs on the CPU backend and on the reference backend
 * (scalar loops in double, the oracle), runs one op on both, and compares the chosen outputs element by element
 * with |cpu - ref| <= atol + rtol * |ref|. Failures name the op, the shape, the first bad index, both values and
 * the max abs/rel difference (llm.c check_tensor, nanochat assert_close).
 */
package kd4j.tensor.cpu;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.BiConsumer;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;
import kd4j.tensor.reference.ReferenceBackend;

final class Compare {
    static final Backend REF = new ReferenceBackend();
    /** Two threads, so the parallel split paths run even on a 1-core CI box. */
    static final CpuBackend CPU = new CpuBackend(2);

    /** Sizes that miss every vector width and tile multiple (Lucene's list, trimmed for a shared 2-core box). */
    static final int[] SIZES = {1, 3, 7, 8, 13, 16, 31, 64, 100, 127, 128, 257, 1000, 4099};

    private Compare() {}

    static float[] uniform(long seed, int n, float lo, float hi) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = lo + (hi - lo) * r.nextFloat();
        return v;
    }

    static int[] ints(long seed, int n, int bound) {
        Random r = new Random(seed);
        int[] v = new int[n];
        for (int i = 0; i < n; i++) v[i] = r.nextInt(bound);
        return v;
    }

    /** The same tensors on both backends; index them in the order they were added. */
    static final class Case {
        private final List<Object> data = new ArrayList<>();
        private final List<int[]> shapes = new ArrayList<>();
        private final List<DType> dtypes = new ArrayList<>();
        Tensor[] ref, cpu;

        int f(float[] v, int... shape) { return add(v, DType.F32, shape); }
        int i(int[] v, int... shape) { return add(v, DType.I32, shape); }
        int zeros(int... shape) { return add(null, DType.F32, shape); }
        int typed(float[] v, DType dt, int... shape) { return add(v, dt, shape); }

        private int add(Object v, DType dt, int[] shape) {
            data.add(v); shapes.add(shape); dtypes.add(dt);
            return data.size() - 1;
        }

        Tensor[] build(Backend be) {
            Tensor[] t = new Tensor[data.size()];
            for (int k = 0; k < t.length; k++) {
                Object v = data.get(k);
                DType dt = dtypes.get(k);
                if (v instanceof int[] iv) t[k] = be.fromInts(iv, shapes.get(k));
                else if (v == null) t[k] = be.zeros(dt, shapes.get(k));
                else if (dt == DType.F32) t[k] = be.fromFloats((float[]) v, shapes.get(k));
                else {
                    Tensor f = be.fromFloats((float[]) v, shapes.get(k));
                    t[k] = be.empty(dt, shapes.get(k));
                    be.copy(f, t[k]);
                }
            }
            return t;
        }

        /** Runs body on both backends and compares the given output indices. */
        void run(String op, BiConsumer<Backend, Tensor[]> body, double atol, double rtol, int... outputs) {
            ref = build(REF);
            cpu = build(CPU);
            body.accept(REF, ref);
            body.accept(CPU, cpu);
            for (int o : outputs)
                assertClose(op + " output #" + o, ref[o].shape(), ref[o].toFloatArray(), cpu[o].toFloatArray(), atol, rtol);
        }
    }

    static void assertClose(String op, int[] shape, float[] expected, float[] actual, double atol, double rtol) {
        if (expected.length != actual.length)
            fail(op + " " + Arrays.toString(shape) + ": lengths differ, ref " + expected.length + " cpu " + actual.length);
        int firstBad = -1;
        double maxAbs = 0, maxRel = 0;
        for (int k = 0; k < expected.length; k++) {
            double e = expected[k], a = actual[k];
            boolean same = Double.compare(e, a) == 0 || (Double.isNaN(e) && Double.isNaN(a));
            double abs = same ? 0 : Math.abs(e - a);
            if (Double.isNaN(abs)) abs = Double.POSITIVE_INFINITY;
            maxAbs = Math.max(maxAbs, abs);
            maxRel = Math.max(maxRel, abs / Math.max(1e-30, Math.abs(e)));
            if (firstBad < 0 && abs > atol + rtol * Math.abs(e)) firstBad = k;
        }
        if (firstBad >= 0)
            fail(String.format("%s %s [%s]: first mismatch at flat index %d: ref %.9g cpu %.9g (tolerance %.3g + %.3g*|ref|); "
                            + "max abs diff %.3g, max rel diff %.3g", op, Arrays.toString(shape), Simd.describe(), firstBad,
                    expected[firstBad], actual[firstBad], atol, rtol, maxAbs, maxRel));
    }
}
