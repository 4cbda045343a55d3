/*
 * Mixed-precision training (run.precision bf16: the linear layers' GEMM inputs rounded to bf16, fp32
 * accumulation, fp32 master weights and AdamW state) on opencl:0, PoCL in CI:
 *  - six AdamW steps of a tiny Llama on one batch in bf16 track the fp32 run from the same weights: every loss
 *    within 1 % relative (bf16 inputs carry 2^-8 relative rounding, so logits move by well under 1 %);
 *  - master weights, gradients and both moments stay F32 and keep fp32 resolution (after the steps the weights
 *    are not bf16-representable, which they would be if anything rounded them);
 *  - gradients flow through the casts: a bf16 linear layer under cross-entropy matches central finite
 *    differences of the same fp32 function (in double, on the reference backend) within a bf16 tolerance, for x,
 *    the weight and the bias;
 *  - the CPU backend refuses bf16 with a message saying why.
 * Skipped with the install line when no OpenCL platform is present.
 */
package kd4j.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Random;
import kd4j.autograd.MatmulPrecision;
import kd4j.autograd.Parameter;
import kd4j.autograd.StepArena;
import kd4j.autograd.Tape;
import kd4j.autograd.Var;
import kd4j.autograd.ops.LinearOps;
import kd4j.autograd.ops.LossOps;
import kd4j.autograd.optim.AdamW;
import kd4j.tensor.Backend;
import kd4j.tensor.Backends;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;
import kd4j.tensor.reference.ReferenceBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class MixedPrecisionTrainingTest {
    private static final int BATCH = 2, SEQ = 13, STEPS = 6;
    private static Backend cl;

    @BeforeAll
    static void open() {
        String why = null;
        try {
            cl = Backends.open("opencl");
        } catch (RuntimeException e) {
            why = e.getMessage();
        }
        Assumptions.assumeTrue(why == null, "OpenCL unavailable (" + why + "); install one with: "
                + "sudo apt-get install pocl-opencl-icd ocl-icd-libopencl1");
    }

    @AfterAll
    static void close() { if (cl != null) cl.close(); }

    @Test
    void bf16StepsTrackTheFp32RunAndKeepFp32MasterWeights() {
        ModelConfig cfg = TinyConfigs.parse(TinyConfigs.ALL.get("llama"));
        CausalLM fp32 = Models.randomInit(cfg, cl, 11), bf16 = Models.randomInit(cfg, cl, 11);
        List<Parameter> pa = fp32.parameters().all(), pb = bf16.parameters().all();
        Random r = new Random(3);
        int[] ids = new int[BATCH * SEQ];
        for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(cfg.vocabSize());
        Step a = new Step(fp32, ids, MatmulPrecision.FP32), b = new Step(bf16, ids, MatmulPrecision.BF16);
        double first = Double.NaN, last = Double.NaN;
        for (int s = 1; s <= STEPS; s++) {
            double la = a.run(), lb = b.run();
            assertEquals(la, lb, 1e-2 * Math.abs(la), "loss of step " + s + ": fp32 " + la + ", bf16 " + lb);
            if (s == 1) {
                assertNotEquals(la, lb, "the bf16 run rounds its GEMM inputs, so its loss differs in the last digits");
                first = lb;
            }
            last = lb;
            a.update();
            b.update();
        }
        assertTrue(last < first, "the bf16 run learns the batch: loss " + first + " -> " + last);
        int notBf16 = 0;
        for (Parameter p : pb) {
            assertEquals(DType.F32, p.data().dtype(), p.name() + ": master weight dtype");
            assertEquals(DType.F32, p.grad().dtype(), p.name() + ": gradient dtype");
            for (float v : p.data().toFloatArray()) if ((Float.floatToRawIntBits(v) & 0xFFFF) != 0) notBf16++;
        }
        assertTrue(notBf16 > 0, "after " + STEPS + " AdamW steps the fp32 master weights hold values bf16 cannot");
        b.optimizer.state().forEach((name, t) -> {
            if (!name.equals("step")) assertEquals(DType.F32, t.dtype(), name + ": AdamW moment dtype");
        });
        assertEquals(pa.size(), pb.size());
    }

    @Test
    void gradientsFlowThroughTheBf16CastsLikeFiniteDifferences() {
        int n = 6, in = 10, out = 7;
        Random r = new Random(5);
        float[] xv = gaussian(r, n * in), wv = gaussian(r, out * in), bv = gaussian(r, out);
        int[] targets = new int[n];
        for (int i = 0; i < n; i++) targets[i] = r.nextInt(out);

        Var x = new Var(cl.fromFloats(xv, n, in), true), w = new Var(cl.fromFloats(wv, out, in), true),
                b = new Var(cl.fromFloats(bv, out), true);
        StepArena arena = new StepArena();
        try (var scope = arena.activate(); var p = MatmulPrecision.use(MatmulPrecision.BF16)) {
            Var loss = LossOps.crossEntropy(LinearOps.linear(x, w, b), cl.fromInts(targets, n), NextTokenBatch.IGNORE);
            Tape.backward(loss);
        }
        ReferenceBackend ref = new ReferenceBackend();
        float[][] values = {xv, wv, bv};
        Var[] vars = {x, w, b};
        String[] names = {"x", "weight", "bias"};
        for (int which = 0; which < 3; which++) {
            float[] got = vars[which].grad().toFloatArray();
            double[] fd = new double[got.length];
            double scale = 0;
            for (int i = 0; i < got.length; i++) {
                double h = 1e-4;
                fd[i] = (loss(ref, values, which, i, h, n, in, out, targets) - loss(ref, values, which, i, -h, n, in, out, targets)) / (2 * h);
                scale = Math.max(scale, Math.abs(fd[i]));
            }
            // bf16 rounding of x, W and dY: each product in a gradient is off by at most ~3 * 2^-8 relative
            double tol = 3 * 0x1p-8 * scale + 1e-5;
            for (int i = 0; i < got.length; i++)
                assertEquals(fd[i], got[i], tol, names[which] + "[" + i + "]: bf16 gradient against central differences"
                        + " of the fp32 loss (largest gradient " + scale + ")");
            assertTrue(scale > 1e-3, names[which] + ": the gradient is not zero");
        }
        arena.reset();
    }

    @Test
    void theCpuBackendRefusesBf16MatrixInputs() {
        Backend cpu = Backends.cpu();
        Var x = new Var(cpu.fromFloats(new float[] {1, 2}, 1, 2), false), w = new Var(cpu.fromFloats(new float[] {1, 2}, 1, 2), false);
        try (var p = MatmulPrecision.use(MatmulPrecision.BF16)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> LinearOps.linear(x, w, null));
            assertTrue(e.getMessage().contains("computes in fp32"), e.getMessage());
        }
        assertEquals(MatmulPrecision.FP32, MatmulPrecision.current(), "the scope restores the previous precision");
    }

    /** Mean cross-entropy of x W^T + b in double on the reference backend, with input `which` element i moved by h. */
    private static double loss(ReferenceBackend ref, float[][] values, int which, int i, double h, int n, int in, int out, int[] targets) {
        double[][] d = new double[3][];
        for (int v = 0; v < 3; v++) {
            d[v] = new double[values[v].length];
            for (int j = 0; j < d[v].length; j++) d[v][j] = values[v][j];
        }
        d[which][i] += h;
        Var x = new Var(ref.fromDoubles(d[0], n, in), false), w = new Var(ref.fromDoubles(d[1], out, in), false),
                b = new Var(ref.fromDoubles(d[2], out), false);
        return LossOps.crossEntropy(LinearOps.linear(x, w, b), ref.fromInts(targets, n), NextTokenBatch.IGNORE).data().item();
    }

    private static float[] gaussian(Random r, int count) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    /** A model's training loop state under one matmul precision. */
    private static final class Step {
        final CausalLM model;
        final Tensor ids, targets;
        final AdamW optimizer;
        final MatmulPrecision precision;
        final StepArena arena = new StepArena();

        Step(CausalLM model, int[] ids, MatmulPrecision precision) {
            this.model = model;
            this.precision = precision;
            Backend be = model.backend();
            this.ids = be.fromInts(ids, BATCH, SEQ);
            this.targets = NextTokenBatch.targetsOf(this.ids, null);
            this.optimizer = new AdamW(model.parameters().all(), 3e-3, 0.1);
        }

        double run() {
            model.parameters().zeroGrad();
            try (var scope = arena.activate(); var p = MatmulPrecision.use(precision)) {
                Var loss = LossOps.crossEntropy(model.forward(ids, null), targets, NextTokenBatch.IGNORE);
                Tape.backward(loss);
                return loss.data().item(new long[loss.data().rank()]);
            }
        }

        void update() {
            arena.reset();
            optimizer.step();
        }
    }
}
