/*
 * The mixed-precision GEMM of the OpenCL backend (run.precision bf16): a and b stored BF16, accumulation in fp32.
 * Checked on whatever opencl:0 is (PoCL in CI) with the default and the GPU tile shapes, every transpose
 * combination, sizes that miss the tile multiples, batches:
 *  - against ReferenceBackend in double on the same bf16 values: only fp32 accumulation error remains, so the
 *    tolerance is the fp32 one (atol 1e-5 * K);
 *  - against the double GEMM of the unrounded fp32 inputs within the bf16-derived bound |alpha| 2^-7 sum_k |a||b|
 *    (bf16 keeps 8 significant bits, so a rounding is off by at most u = 2^-8 relative and a product of two
 *    rounded values by at most 2u + u^2; the 2^-16 term is covered by the fp32 atol).
 * The tensor-core kernel (gemm_mma) runs here with its mma.sync emulated from the PTX ISA fragment layouts; the asm
 * statement itself needs an NVIDIA sm_80+ device. GemmPathTest covers when that kernel is chosen.
 */
package kd4j.tensor.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Random;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;
import kd4j.tensor.reference.ReferenceBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

public class MixedPrecisionGemmTest {
    private static OpenClBackend cl;
    private static final ReferenceBackend ref = new ReferenceBackend();
    private final Random random = new Random(17);

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

    private static Tensor bf16(Backend be, Tensor t) {
        Tensor out = be.empty(DType.BF16, t.shape());
        be.copy(t, out);
        return out;
    }

    private static Tensor abs(Backend be, float[] v, int... shape) {
        float[] a = v.clone();
        for (int i = 0; i < a.length; i++) a[i] = Math.abs(a[i]);
        return be.fromFloats(a, shape);
    }

    /** One GEMM of bf16 copies of random a, b on g, checked against both references. */
    private void check(OpenClBackend g, String what, boolean ta, boolean tb, int batch, int m, int n, int k, float alpha, float beta) {
        int[] aShape = batch > 0 ? (ta ? new int[] {batch, k, m} : new int[] {batch, m, k}) : (ta ? new int[] {k, m} : new int[] {m, k});
        int[] bShape = tb ? new int[] {n, k} : new int[] {k, n};
        int[] cShape = batch > 0 ? new int[] {batch, m, n} : new int[] {m, n};
        float[] av = randoms(Tensor.numel(aShape)), bv = randoms(Tensor.numel(bShape)), cv = randoms(Tensor.numel(cShape));
        Tensor ga = bf16(g, g.fromFloats(av, aShape)), gb = bf16(g, g.fromFloats(bv, bShape)), gc = g.fromFloats(cv, cShape);
        assertEquals(DType.BF16, ga.dtype());
        g.gemm(ta, tb, alpha, ga, gb, beta, gc);
        double[] got = gc.toDoubleArray();

        Tensor ra = bf16(ref, ref.fromFloats(av, aShape)), rb = bf16(ref, ref.fromFloats(bv, bShape)), rc = ref.fromFloats(cv, cShape);
        ref.gemm(ta, tb, alpha, ra, rb, beta, rc);
        double[] sameInputs = rc.toDoubleArray();
        Tensor fa = ref.fromFloats(av, aShape), fb = ref.fromFloats(bv, bShape), fc = ref.fromFloats(cv, cShape);
        ref.gemm(ta, tb, alpha, fa, fb, beta, fc);
        double[] fp32Inputs = fc.toDoubleArray();
        Tensor bound = ref.zeros(DType.F32, cShape);
        ref.gemm(ta, tb, 1f, abs(ref, av, aShape), abs(ref, bv, bShape), 0f, bound);
        double[] sumAbs = bound.toDoubleArray();

        String name = what + " " + (batch > 0 ? batch + "x" : "") + m + "x" + n + "x" + k + " transA=" + ta + " transB=" + tb;
        double atol = 1e-5 * k;
        for (int i = 0; i < got.length; i++) {
            double tight = atol + 1e-4 * Math.abs(sameInputs[i]);
            if (!(Math.abs(got[i] - sameInputs[i]) <= tight))
                fail(name + ": element " + i + " = " + got[i] + ", double GEMM of the bf16 inputs " + sameInputs[i]
                        + " (fp32-accumulation tolerance " + tight + ")");
            double loose = Math.abs(alpha) * Math.scalb(sumAbs[i], -7) + atol;
            if (!(Math.abs(got[i] - fp32Inputs[i]) <= loose))
                fail(name + ": element " + i + " = " + got[i] + ", double GEMM of the fp32 inputs " + fp32Inputs[i]
                        + " (bf16 bound 2^-7 |alpha| sum|a||b| = " + loose + ")");
        }
    }

    @Test
    void bf16Gemm_matchesDoubleReference_everyTransposeAndTileShape() {
        int[][] sizes = {{1, 1, 1}, {5, 7, 3}, {33, 65, 17}, {70, 45, 129}};
        for (int[] s : sizes)
            for (int ta = 0; ta < 2; ta++)
                for (int tb = 0; tb < 2; tb++)
                    check(cl, "default tiles", ta == 1, tb == 1, 0, s[0], s[1], s[2], 0.5f, 0.75f);
        check(cl, "batched, shared b", false, true, 3, 37, 41, 19, 1f, 0f);
        OpenClBackend.GemmTiles[][] gpu = {
                {new OpenClBackend.GemmTiles(128, 128, 16, 8, 8), new OpenClBackend.GemmTiles(64, 64, 16, 4, 4)}};
        for (OpenClBackend.GemmTiles[] t : gpu)
            try (OpenClBackend g = new OpenClBackend(0, t[0], t[1])) {
                for (int[] s : new int[][] {{128, 256, 48}, {130, 68, 20}})
                    for (int ta = 0; ta < 2; ta++)
                        for (int tb = 0; tb < 2; tb++)
                            check(g, "GPU tiles (float4 loads)", ta == 1, tb == 1, 0, s[0], s[1], s[2], 1f, 1f);
            }
    }

    /**
     * gemm_mma, the tensor-core kernel, with its one mma.sync statement replaced by the emulation built from the PTX
     * ISA fragment layouts (-DMMA_EMULATE): tile loads, fragment reads, edges, batches and the C store are the
     * kernel's own. The asm line itself runs only on an NVIDIA sm_80+ device.
     */
    @Test
    void tensorCoreKernelWithEmulatedMma_matchesDoubleReference() {
        try (OpenClBackend g = new OpenClBackend(0, null, null, true)) {
            for (int[] s : new int[][] {{1, 1, 1}, {16, 8, 16}, {64, 64, 32}, {70, 45, 129}, {130, 68, 20}})
                for (int ta = 0; ta < 2; ta++)
                    for (int tb = 0; tb < 2; tb++)
                        check(g, "emulated mma", ta == 1, tb == 1, 0, s[0], s[1], s[2], 0.5f, 0.75f);
            check(g, "emulated mma, batched, shared b", false, true, 3, 37, 41, 19, 1f, 0f);
        }
    }

    @Test
    void bf16InputsAreRoundedToNearestEven() {
        // 1 + 2^-8 lies halfway between bf16 neighbours 1 and 1 + 2^-7: nearest even keeps 1; 1 + 3 * 2^-8 rounds up
        float[] v = {1f + 0x1p-8f, 1f + 3 * 0x1p-8f, -2.5f, 1e-3f};
        Tensor x = bf16(cl, cl.fromFloats(v, 2, 2)), eye = bf16(cl, cl.fromFloats(new float[] {1, 0, 0, 1}, 2, 2));
        Tensor c = cl.zeros(DType.F32, 2, 2);
        cl.gemm(false, false, 1f, x, eye, 0f, c);
        float[] got = c.toFloatArray();
        for (int i = 0; i < v.length; i++)
            assertEquals(DType.bf16ToFloat(DType.floatToBf16(v[i])), got[i], 0f, "element " + i + " of " + v[i]);
        assertEquals(1f, got[0], 0f);
        assertEquals(1f + 0x1p-6f, got[1], 0f);
        assertTrue(cl.supportsBf16Matmul());
    }
}
