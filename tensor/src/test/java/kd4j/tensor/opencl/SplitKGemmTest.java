/*
 * Split-K for the weight-gradient GEMMs (c = alpha a^T b + beta c, a [K, M], b [K, N]) on opencl:0 (PoCL in CI),
 * with the slice count forced (the device's own rule only splits when its tile grid leaves compute units idle,
 * which PoCL's 2 units never do): 2, 3 and 7 slices, K a multiple of the slice length or not, tiny K, alpha/beta,
 * beta 0 over a NaN-filled c, fp32 and bf16 inputs, the GPU tile shapes. Checked against ReferenceBackend in double
 * (atol 1e-5 * K, rtol 1e-4) and rerun for the same bits. Other transpose combinations never split.
 */
package kd4j.tensor.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.Random;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;
import kd4j.tensor.reference.ReferenceBackend;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

public class SplitKGemmTest {
    private static final ReferenceBackend ref = new ReferenceBackend();
    private final Random random = new Random(31);

    private static OpenClBackend open(OpenClBackend.GemmTiles large, OpenClBackend.GemmTiles small) {
        return OpenClTestDevice.openOrSkip(index -> new OpenClBackend(index, large, small));
    }

    private float[] randoms(long n) {
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) v[i] = (float) random.nextGaussian();
        return v;
    }

    private static Tensor as(Backend be, float[] v, DType dtype, int... shape) {
        Tensor t = be.fromFloats(v, shape);
        if (dtype == DType.F32) return t;
        Tensor out = be.empty(dtype, shape);
        be.copy(t, out);
        return out;
    }

    private void check(OpenClBackend cl, int slices, int m, int n, int k, float alpha, float beta, DType dtype) {
        float[] av = randoms((long) k * m), bv = randoms((long) k * n), cv = randoms((long) m * n);
        if (beta == 0f) Arrays.fill(cv, Float.NaN);
        Tensor ra = as(ref, av, dtype, k, m), rb = as(ref, bv, dtype, k, n), rc = ref.fromFloats(beta == 0f ? new float[m * n] : cv, m, n);
        ref.gemm(true, false, alpha, ra, rb, beta, rc);
        cl.forceSplitK(slices);
        Tensor ca = as(cl, av, dtype, k, m), cb = as(cl, bv, dtype, k, n);
        Tensor c1 = cl.fromFloats(cv, m, n), c2 = cl.fromFloats(cv, m, n);
        cl.gemm(true, false, alpha, ca, cb, beta, c1);
        cl.gemm(true, false, alpha, ca, cb, beta, c2);
        cl.forceSplitK(0);
        String what = "split-K " + slices + " slices, " + dtype + " " + m + "x" + n + "x" + k + " alpha " + alpha + " beta " + beta;
        double[] e = rc.toDoubleArray(), a = c1.toDoubleArray();
        for (int i = 0; i < e.length; i++)
            if (!(Math.abs(e[i] - a[i]) <= 1e-5 * k + 1e-4 * Math.abs(e[i])))
                fail(what + ": element " + i + " expected " + e[i] + " got " + a[i]);
        assertArrayEquals(c1.toFloatArray(), c2.toFloatArray(), what + ": a rerun gives other bits");
    }

    @Test
    void weightGradientGemm_splitOverK_matchesTheReference() {
        try (OpenClBackend cl = open(null, null)) {
            for (int slices : new int[] {2, 3, 7})
                for (int[] s : new int[][] {{37, 45, 1000}, {64, 128, 256}, {5, 3, 17}})
                    check(cl, slices, s[0], s[1], s[2], 0.5f, 0.75f, DType.F32);
            check(cl, 4, 33, 20, 515, 1f, 0f, DType.F32);
            check(cl, 3, 40, 24, 300, 1f, 1f, DType.BF16);
        }
        try (OpenClBackend gpuTiles = open(new OpenClBackend.GemmTiles(128, 128, 16, 8, 8), new OpenClBackend.GemmTiles(64, 64, 16, 4, 4))) {
            check(gpuTiles, 5, 130, 68, 700, 1f, 1f, DType.F32);
        }
    }
}
