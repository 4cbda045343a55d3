/* Simd's tier-independent exp, log and lane sum against Math in double: ulp bounds over the whole float range. */
package kd4j.tensor.cpu;

import org.junit.jupiter.api.extension.ExtendWith;
import static kd4j.tensor.cpu.Simd.F;
import static kd4j.tensor.cpu.Simd.L;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.DoubleUnaryOperator;
import java.util.function.UnaryOperator;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

@ExtendWith(VectorWidthCondition.class)
class SimdMathTest {
    private static float[] apply(UnaryOperator<FloatVector> f, float[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i + L <= x.length; i += L) f.apply(FloatVector.fromArray(F, x, i)).intoArray(out, i);
        return out;
    }

    /** Max error in ulps of the exact result (rounded to float) over the inputs; subnormal results count absolutely. */
    private static double maxUlps(float[] x, float[] got, DoubleUnaryOperator exact) {
        double worst = 0;
        for (int i = 0; i < x.length; i++) {
            float want = (float) exact.applyAsDouble(x[i]);
            if (Float.isInfinite(want) || want == 0) {
                assertEquals(want, got[i], "at x=" + x[i]);
                continue;
            }
            worst = Math.max(worst, Math.abs(got[i] - want) / Math.ulp(Math.max(Math.abs(want), Float.MIN_NORMAL)));
        }
        return worst;
    }

    private static float[] range(float lo, float hi, int n) {
        float[] v = new float[n - n % L];
        for (int i = 0; i < v.length; i++) v[i] = lo + (hi - lo) * i / (v.length - 1);
        return v;
    }

    @Test
    void exp_within2UlpEverywhereAndExactAtTheEdges() {
        float[] x = range(-110f, 90f, 200_000);
        double ulps = maxUlps(x, apply(Simd::exp, x), Math::exp);
        assertTrue(ulps <= 2, "exp max error " + ulps + " ulp");
        float[] edge = new float[L];
        float[] specials = {Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN, 0f, -0f, 88.72283f, -103.97f, 88.7229f};
        for (int i = 0; i < L; i++) edge[i] = specials[i % specials.length];
        float[] got = apply(Simd::exp, edge);
        for (int i = 0; i < L; i++) {
            float want = (float) Math.exp(edge[i]);
            if (Float.isNaN(want)) assertTrue(Float.isNaN(got[i]), "exp(NaN)");
            else assertEquals(want, got[i], Math.ulp(want) * 2, "exp(" + edge[i] + ")");
        }
    }

    @Test
    void log_within2UlpOverNormalFloats() {
        float[] x = new float[200_000 - 200_000 % L];
        for (int i = 0; i < x.length; i++) x[i] = (float) Math.pow(10, -37 + 74.0 * i / x.length);
        double ulps = maxUlps(x, apply(Simd::log, x), Math::log);
        assertTrue(ulps <= 2, "log max error " + ulps + " ulp");
        float[] near1 = range(0.5f, 2f, 100_000);
        assertTrue(maxUlps(near1, apply(Simd::log, near1), Math::log) <= 2, "log near 1");
    }

    @Test
    void sumLanes_addsInTheDocumentedTree() {
        float[] v = new float[L];
        for (int i = 0; i < L; i++) v[i] = (float) Math.scalb(1.0 + i, -i * 9);  // order-sensitive magnitudes
        float want = pairwise(v);
        assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(Simd.sumLanes(FloatVector.fromArray(F, v, 0))));
    }

    /** Lane i pairs with lane i + L/2, recursively: the same tree as sumLanes, written out in scalar code. */
    private static float pairwise(float[] v) {
        float[] w = v.clone();
        for (int h = w.length / 2; h >= 1; h /= 2) for (int i = 0; i < h; i++) w[i] = w[i] + w[i + h];
        return w[0];
    }
}
