/*
 * Every autograd op, every differentiable input, against central finite differences in double precision (F64
 * tensors on the ReferenceBackend), micrograd/tinygrad style. Each op gets an input domain that keeps it away
 * from kinks and thresholds. The backward is seeded with a random dOut w, so the checked scalar is sum(w * out).
 * Also: the tape merges a value used twice, GradMode.off records nothing, and gradients accumulate across two
 * backward calls.
 */
package kd4j.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.Random;
import java.util.function.Function;
import kd4j.autograd.ops.AttentionOps;
import kd4j.autograd.ops.ElementwiseOps;
import kd4j.autograd.ops.EmbeddingOps;
import kd4j.autograd.ops.LinearOps;
import kd4j.autograd.ops.LossOps;
import kd4j.autograd.ops.NormOps;
import kd4j.autograd.ops.ScanOps;
import kd4j.autograd.ops.ShapeOps;
import kd4j.tensor.Backend;
import kd4j.tensor.Backend.Divergence;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;
import kd4j.tensor.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

class GradCheckTest {
    private static final Backend BE = new ReferenceBackend();
    private static final double H = 1e-6, ATOL = 1e-6, RTOL = 1e-5;
    private final Random random = new Random(1234);

    /** One differentiable input: values and shape. */
    private record In(double[] values, int... shape) {}

    private In uniform(double lo, double hi, int... shape) {
        double[] v = new double[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = lo + (hi - lo) * random.nextDouble();
        return new In(v, shape);
    }

    private In normal(int... shape) { return uniform(-1.5, 1.5, shape); }

    private static Var[] vars(In[] inputs, int perturbInput, int perturbIndex, double delta) {
        Var[] vs = new Var[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            double[] v = inputs[i].values.clone();
            if (i == perturbInput) v[perturbIndex] += delta;
            vs[i] = new Var(BE.fromDoubles(v, inputs[i].shape), true);
        }
        return vs;
    }

    private static double dot(Tensor out, double[] w) {
        double[] o = out.toDoubleArray();
        double s = 0;
        for (int i = 0; i < o.length; i++) s += o[i] * w[i];
        return s;
    }

    /** Checks d sum(w * op(inputs)) / d input for every element of every input. */
    private void check(String op, Function<Var[], Var> fn, In... inputs) {
        Var[] vs = vars(inputs, -1, 0, 0);
        Var out = fn.apply(vs);
        assertEquals(DType.F64, out.data().dtype(), op + ": output dtype");
        double[] w = new double[Math.toIntExact(out.data().numel())];
        for (int i = 0; i < w.length; i++) w[i] = random.nextGaussian();
        Tape.backward(out, BE.fromDoubles(w, out.shape()));
        assertEquals(0, Tape.current().size(), op + ": tape cleared after backward");
        for (int i = 0; i < inputs.length; i++) {
            assertTrue(vs[i].grad() != null, op + ": input " + i + " got no gradient");
            double[] analytic = vs[i].grad().toDoubleArray();
            for (int j = 0; j < analytic.length; j++) {
                double plus, minus;
                try (var g = GradMode.off()) {
                    plus = dot(fn.apply(vars(inputs, i, j, H)).data(), w);
                    minus = dot(fn.apply(vars(inputs, i, j, -H)).data(), w);
                }
                double numeric = (plus - minus) / (2 * H);
                if (Math.abs(analytic[j] - numeric) > ATOL + RTOL * Math.abs(numeric))
                    fail(op + ": input " + i + " " + Arrays.toString(inputs[i].shape) + " element " + j
                            + ": analytic " + analytic[j] + " vs numeric " + numeric);
            }
        }
    }

    // ---- gemm family ----

    @Test
    void linear_backward_matchesFiniteDifferences() {
        check("linear", v -> LinearOps.linear(v[0], v[1], v[2]), normal(2, 3, 4), normal(5, 4), normal(5));
        check("linear(no bias)", v -> LinearOps.linear(v[0], v[1], null), normal(3, 4), normal(2, 4));
    }

    @Test
    void matmul_backward_matchesFiniteDifferences() {
        for (boolean ta : new boolean[] {false, true})
            for (boolean tb : new boolean[] {false, true}) {
                String name = "matmul(transA=" + ta + ", transB=" + tb + ")";
                int[] a3 = ta ? new int[] {2, 4, 3} : new int[] {2, 3, 4};
                int[] b3 = tb ? new int[] {2, 5, 4} : new int[] {2, 4, 5};
                int[] b2 = tb ? new int[] {5, 4} : new int[] {4, 5};
                int[] a2 = ta ? new int[] {4, 3} : new int[] {3, 4};
                check(name + " batched", v -> LinearOps.matmul(v[0], v[1], ta, tb), normal(a3), normal(b3));
                check(name + " shared b", v -> LinearOps.matmul(v[0], v[1], ta, tb), normal(a3), normal(b2));
                check(name + " rank 2", v -> LinearOps.matmul(v[0], v[1], ta, tb), normal(a2), normal(b2));
            }
    }

    // ---- elementwise family ----

    @Test
    void elementwise_backward_matchesFiniteDifferences() {
        check("add", v -> ElementwiseOps.add(v[0], v[1]), normal(2, 3), normal(2, 3));
        check("add(broadcast)", v -> ElementwiseOps.add(v[0], v[1]), normal(2, 3, 4), normal(3, 4));
        check("mul", v -> ElementwiseOps.mul(v[0], v[1]), normal(2, 3), normal(2, 3));
        check("mul(broadcast)", v -> ElementwiseOps.mul(v[0], v[1]), normal(4, 3), normal(3));
        check("scale", v -> ElementwiseOps.scale(v[0], -0.75f), normal(5));
        check("silu", v -> ElementwiseOps.silu(v[0]), uniform(-4, 4, 7));
        check("gelu", v -> ElementwiseOps.gelu(v[0]), uniform(-4, 4, 7));
        // softplus switches to identity above 20: stay on one side of the threshold
        check("softplus", v -> ElementwiseOps.softplus(v[0]), uniform(-6, 6, 7));
        check("softplus(large)", v -> ElementwiseOps.softplus(v[0]), uniform(21, 25, 3));
        check("swiglu", v -> ElementwiseOps.swiglu(v[0], v[1]), uniform(-3, 3, 2, 4), normal(2, 4));
    }

    // ---- norm family ----

    @Test
    void norms_backward_matchFiniteDifferences() {
        check("rmsNorm", v -> NormOps.rmsNorm(v[0], v[1], 1e-5f), normal(2, 3, 5), normal(5));
        check("layerNorm", v -> NormOps.layerNorm(v[0], v[1], v[2], 1e-5f), normal(3, 6), normal(6), normal(6));
        check("layerNorm(no bias)", v -> NormOps.layerNorm(v[0], v[1], null, 1e-5f), normal(2, 4), normal(4));
    }

    // ---- embedding, rope, attention ----

    @Test
    void embedding_backward_matchesFiniteDifferences() {
        Tensor ids = BE.fromInts(new int[] {1, 4, 1, 0, 5, 1}, 2, 3);   // repeated id 1 must accumulate
        check("embedding", v -> EmbeddingOps.embedding(ids, v[0]), normal(6, 3));
    }

    @Test
    void rope_backward_matchesFiniteDifferences() {
        Tensor invFreq = BE.fromDoubles(new double[] {1.0, 0.1}, 2);
        check("rope", v -> AttentionOps.rope(v[0], invFreq, 2), normal(2, 3, 2, 4));
    }

    @Test
    void attention_backward_matchesFiniteDifferences() {
        // GQA (4 query heads over 2 kv heads), causal, one padded key in batch 1
        Tensor mask = BE.fromInts(new int[] {1, 1, 1, 0, 1, 1}, 2, 3);
        check("attention", v -> AttentionOps.attention(v[0], v[1], v[2], 0.7f, 0, mask),
                normal(2, 3, 4, 2), normal(2, 3, 2, 2), normal(2, 3, 2, 2));
        // decoding against a cache: 2 queries at positions 2, 3 over 4 keys, no mask
        check("attention(offset)", v -> AttentionOps.attention(v[0], v[1], v[2], 0.5f, 2, null),
                normal(1, 2, 2, 3), normal(1, 4, 1, 3), normal(1, 4, 1, 3));
        // query 0 of batch 0 sees no key at all: zero output, zero gradient
        Tensor firstMasked = BE.fromInts(new int[] {0, 1}, 1, 2);
        check("attention(empty row)", v -> AttentionOps.attention(v[0], v[1], v[2], 1f, 0, firstMasked),
                normal(1, 2, 1, 2), normal(1, 2, 1, 2), normal(1, 2, 1, 2));
    }

    // ---- shape ops ----

    @Test
    void shapeOps_backward_matchFiniteDifferences() {
        check("reshape", v -> ElementwiseOps.mul(ShapeOps.reshape(v[0], 3, -1), ShapeOps.reshape(v[0], 3, -1)),
                normal(2, 3, 2));
        check("narrow", v -> ShapeOps.narrow(v[0], 1, 1, 2), normal(2, 4, 3));
        check("transpose", v -> ShapeOps.transpose(v[0], 0, 2), normal(2, 3, 4));
    }

    // ---- losses and reductions ----

    @Test
    void crossEntropy_backward_matchesFiniteDifferences() {
        Tensor targets = BE.fromInts(new int[] {2, -100, 0, 4, 1, 3}, 2, 3);
        check("crossEntropy", v -> LossOps.crossEntropy(v[0], targets, -100), uniform(-3, 3, 2, 3, 5));
        check("crossEntropyPerToken", v -> LossOps.crossEntropyPerToken(v[0], targets, -100),
                uniform(-3, 3, 6, 5));
    }

    @Test
    void distill_backward_matchesFiniteDifferences() {
        Tensor teacher = BE.fromDoubles(uniform(-3, 3, 4, 6).values, 4, 6);
        for (Divergence d : Divergence.values())
            check("distill(" + d + ")", v -> LossOps.distill(d, 1.7f, v[0], teacher), uniform(-3, 3, 4, 6));
    }

    @Test
    void sparseDistill_backward_matchesFiniteDifferences() {
        Tensor ids = BE.fromInts(new int[] {0, 3, 5, 2, -1, 4, 1, 1, -1}, 3, 3);
        Tensor probs = BE.fromDoubles(new double[] {0.5, 0.3, 0.1, 0.6, 0.0, 0.2, 0.25, 0.25, 0.0}, 3, 3);
        check("sparseDistill", v -> LossOps.sparseDistill(1.5f, v[0], ids, probs), uniform(-3, 3, 3, 6));
    }

    @Test
    void reductions_backward_matchFiniteDifferences() {
        check("mean", v -> LossOps.mean(v[0]), normal(3, 4));
        check("sum", v -> LossOps.sum(v[0]), normal(5));
        Tensor weights = BE.fromDoubles(new double[] {0.5, 0, 2, -1, 0.25, 3}, 6);
        check("weightedSum", v -> LossOps.weightedSum(v[0], weights), normal(2, 3));
    }

    // ---- conv/scan family ----

    @Test
    void causalConv1d_backward_matchesFiniteDifferences() {
        check("causalConv1d", v -> ScanOps.causalConv1d(v[0], v[1], v[2]), normal(2, 5, 3), normal(3, 4),
                normal(3));
        check("causalConv1d(no bias)", v -> ScanOps.causalConv1d(v[0], v[1], null), normal(1, 4, 2), normal(2, 3));
    }

    @Test
    void selectiveScan_backward_matchesFiniteDifferences() {
        // delta > 0 as after softplus; aLog moderate so exp(delta A) stays in (0, 1) without underflow
        check("selectiveScan", v -> ScanOps.selectiveScan(v[0], v[1], v[2], v[3], v[4], v[5]),
                normal(2, 4, 3), uniform(0.1, 1.0, 2, 4, 3), uniform(-1, 1, 3, 2), normal(2, 4, 2), normal(2, 4, 2),
                normal(3));
    }

    @Test
    void gradCheck_detectsAWrongBackward() {
        // silu forward with a backward that forgets the x * s * (1 - s) term: the checker must reject it
        Function<Var[], Var> wrong = v -> {
            Tensor x = v[0].data(), out = BE.empty(DType.F64, x.shape());
            BE.siluForward(x, out);
            return Tape.record("wrongSilu", out, (dOut, grads) -> {
                Tensor s = BE.empty(DType.F64, x.shape());
                BE.scale(x, 0f, s);
                BE.add(s, BE.fromDoubles(new double[] {0.5, 0.5, 0.5}, 3), s);
                BE.mul(dOut, s, grads.assign(v[0]));
            }, v[0]);
        };
        assertThrows(org.opentest4j.AssertionFailedError.class, () -> check("wrongSilu", wrong, normal(3)));
    }

    // ---- tape behaviour ----

    @Test
    void tape_mergesAValueUsedTwice() {
        Var x = new Var(BE.fromDoubles(new double[] {1.5, -2.0, 0.5}, 3), true);
        Var y = ElementwiseOps.add(ElementwiseOps.mul(x, x), ElementwiseOps.scale(x, 3f));   // x^2 + 3x
        Tape.backward(LossOps.sum(y));
        assertArrayEquals(new double[] {2 * 1.5 + 3, 2 * -2.0 + 3, 2 * 0.5 + 3}, x.grad().toDoubleArray());
    }

    @Test
    void passThroughGradients_areHandedOnWithoutTouchingTheSeed() {
        Var x = new Var(BE.fromDoubles(new double[] {1, 2, 3, 4}, 2, 2), true);
        // y = reshape(x) + 2x, flattened: the add hands its dOut to the reshape, the reshape's backward then adds
        // into the gradient the scale already wrote
        Var y = ShapeOps.reshape(ElementwiseOps.add(ShapeOps.reshape(x, 4), ShapeOps.reshape(ElementwiseOps.scale(x, 2f), 4)), 2, 2);
        double[] seedValues = {1, -2, 0.5, 4};
        Tensor seed = BE.fromDoubles(seedValues, 2, 2);
        Tape.backward(y, seed);
        assertArrayEquals(new double[] {3, -6, 1.5, 12}, x.grad().toDoubleArray());
        assertArrayEquals(seedValues, seed.toDoubleArray());
        // the root's seed belongs to the caller: x + x must not adopt it and then double it in place
        Var w = new Var(BE.fromDoubles(new double[] {7, 8}, 2), true);
        Tensor seed2 = BE.fromDoubles(new double[] {1, 3}, 2);
        Tape.backward(ElementwiseOps.add(w, w), seed2);
        assertArrayEquals(new double[] {2, 6}, w.grad().toDoubleArray());
        assertArrayEquals(new double[] {1, 3}, seed2.toDoubleArray());
        // x + x: the second input takes the gradient the first one was handed
        Var z = new Var(BE.fromDoubles(new double[] {5, 6}, 2), true);
        Tape.backward(LossOps.sum(ElementwiseOps.add(ElementwiseOps.scale(z, 3f), ElementwiseOps.scale(z, 3f))));
        assertArrayEquals(new double[] {6, 6}, z.grad().toDoubleArray());
        // a parameter's gradient stays its own buffer: a second backward accumulates into it
        Parameter p = new Parameter("p", BE.fromDoubles(new double[] {1, 2}, 2), Parameter.Group.DECAY);
        for (int pass = 0; pass < 2; pass++) Tape.backward(LossOps.sum(ShapeOps.reshape(p, 2, 1)));
        assertArrayEquals(new double[] {2, 2}, p.grad().toDoubleArray());
    }

    @Test
    void gradModeOff_recordsNothing() {
        Var x = new Var(BE.fromDoubles(new double[] {1, 2}, 2), true);
        Var y;
        try (var g = GradMode.off()) {
            y = LossOps.sum(ElementwiseOps.silu(x));
            assertEquals(0, Tape.current().size());
        }
        assertTrue(GradMode.isEnabled(), "grad mode restored on close");
        Var result = y;
        assertThrows(IllegalStateException.class, () -> Tape.backward(result));
        assertNull(x.grad());
    }

    @Test
    void gradients_accumulateAcrossTwoBackwardCalls() {
        Parameter w = new Parameter("w", BE.fromDoubles(new double[] {0.5, -1, 2}, 3), Parameter.Group.DECAY);
        Tensor input = BE.fromDoubles(new double[] {3, 4, -5}, 3);
        for (int pass = 0; pass < 2; pass++)
            Tape.backward(LossOps.sum(ElementwiseOps.mul(Var.constant(input), w)));
        assertArrayEquals(new double[] {6, 8, -10}, w.grad().toDoubleArray());
        Tensor buffer = w.grad();
        w.zeroGrad();
        assertTrue(buffer == w.grad(), "zeroGrad keeps the buffer");
        assertArrayEquals(new double[] {0, 0, 0}, w.grad().toDoubleArray());
        Tape.backward(LossOps.sum(ElementwiseOps.mul(Var.constant(input), w)));
        assertArrayEquals(new double[] {3, 4, -5}, w.grad().toDoubleArray());
    }

    private static void assertArrayEquals(double[] expected, double[] actual) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, actual, 1e-12);
    }
}
