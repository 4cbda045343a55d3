/*
 * The divergences the fixtures do not cover (skew KL, skew reverse KL, the tail-bucket and uniform sparse
 * modes, student-renormalised truncation): central finite differences in double on the reference backend for
 * every input element, and identities that pin their values (skew 0 = plain KL; a cache keeping every id makes
 * each sparse mode equal forward KL; a uniform tail equals forward KL against that teacher computed by hand).
 */
package kd4j.distill.kd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.function.Function;
import kd4j.autograd.GradMode;
import kd4j.autograd.StepArena;
import kd4j.autograd.Tape;
import kd4j.autograd.Var;
import kd4j.autograd.ops.LossOps;
import kd4j.models.ModelConfig;
import kd4j.tensor.Backend;
import kd4j.tensor.Backends;
import kd4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

class KdObjectiveTest {
    static final int N = 3, V = 7;
    final Backend ref = Backends.open("reference");
    final SplittableRandom rng = new SplittableRandom(7);

    double[] randomLogits(double scale) {
        double[] x = new double[N * V];
        for (int i = 0; i < x.length; i++) x[i] = rng.nextGaussian() * scale;
        return x;
    }

    /** Top-k targets (k = keep) with tau-1 probabilities from teacher logits; rows may keep fewer (padding -1). */
    static SparseTargets topK(double[] teacher, int[] keepPerRow, int k) {
        int[] ids = new int[N * k];
        float[] probs = new float[N * k], left = new float[N];
        java.util.Arrays.fill(ids, -1);
        for (int n = 0; n < N; n++) {
            float[] row = new float[V];
            for (int v = 0; v < V; v++) row[v] = (float) teacher[n * V + v];
            int[] id = new int[k];
            float[] p = new float[k];
            int c = new TopPkLogits(new TopPkLogits.Truncation.TopK(keepPerRow[n]), V).truncate(row, 0, id, p, null);
            double mass = 0;
            for (int j = 0; j < c; j++) { ids[n * k + j] = id[j]; probs[n * k + j] = p[j]; mass += p[j]; }
            left[n] = (float) Math.max(0, 1 - mass);
        }
        return new SparseTargets(N, k, ids, probs, left, false);
    }

    /** Checks d(sum_n w_n f_n)/d student against central differences, for every student element. */
    void gradCheck(String what, double[] student, Function<Var, Var> perToken) {
        double[] w = {0.7, -1.3, 2.1};
        Tensor weights = ref.fromDoubles(w, N);
        double[] analytic;
        try (var scope = new StepArena().activate()) {
            Var s = new Var(ref.fromDoubles(student, N, V), true);
            Tape.backward(LossOps.weightedSum(perToken.apply(s), weights));
            analytic = s.grad().toDoubleArray();
        }
        double h = 1e-6;
        for (int i = 0; i < student.length; i++) {
            double[] plus = student.clone(), minus = student.clone();
            plus[i] += h;
            minus[i] -= h;
            double numeric = (value(plus, perToken, w) - value(minus, perToken, w)) / (2 * h);
            assertEquals(numeric, analytic[i], 1e-6 + 1e-5 * Math.abs(numeric), what + ": d/d student[" + i / V + ", " + i % V + "]");
        }
    }

    double value(double[] student, Function<Var, Var> perToken, double[] w) {
        try (var off = GradMode.off(); var scope = new StepArena().activate()) {
            double[] f = perToken.apply(new Var(ref.fromDoubles(student, N, V), false)).data().toDoubleArray();
            double s = 0;
            for (int n = 0; n < N; n++) s += w[n] * f[n];
            return s;
        }
    }

    double[] perToken(Function<Var, Var> f, double[] student) {
        try (var off = GradMode.off(); var scope = new StepArena().activate()) {
            return f.apply(new Var(ref.fromDoubles(student, N, V), false)).data().toDoubleArray();
        }
    }

    @Test
    void skewDivergences_matchFiniteDifferences() {
        double[] s = randomLogits(2), t = randomLogits(3);
        Tensor teacher = ref.fromDoubles(t, N, V);
        for (var d : new KdObjective.Divergence[] {KdObjective.Divergence.SKEW_KL, KdObjective.Divergence.SKEW_REVERSE_KL})
            for (float tau : new float[] {1f, 2f})
                gradCheck(d + " tau " + tau, s, x -> KdObjective.dense(d, tau, true, 0.3, x, teacher));
    }

    @Test
    void skewZero_isPlainKl_andSkewIsBounded() {
        double[] s = randomLogits(2), t = randomLogits(3);
        Tensor teacher = ref.fromDoubles(t, N, V);
        double[] fkl = perToken(x -> KdObjective.dense(KdObjective.Divergence.FORWARD_KL, 1.5f, false, 0, x, teacher), s);
        double[] rkl = perToken(x -> KdObjective.dense(KdObjective.Divergence.REVERSE_KL, 1.5f, false, 0, x, teacher), s);
        double[] skf = perToken(x -> KdObjective.dense(KdObjective.Divergence.SKEW_KL, 1.5f, false, 0, x, teacher), s);
        double[] skr = perToken(x -> KdObjective.dense(KdObjective.Divergence.SKEW_REVERSE_KL, 1.5f, false, 0, x, teacher), s);
        double[] sk1 = perToken(x -> KdObjective.dense(KdObjective.Divergence.SKEW_KL, 1.5f, false, 0.1, x, teacher), s);
        for (int n = 0; n < N; n++) {
            assertEquals(fkl[n], skf[n], 1e-9, "skew 0 forward = forward KL, token " + n);
            assertEquals(rkl[n], skr[n], 1e-9, "skew 0 reverse = reverse KL, token " + n);
            // KL(p || 0.1 p + 0.9 q) <= -log(0.1): the skew keeps the divergence finite
            assertTrue(sk1[n] > 0 && sk1[n] < -Math.log(0.1) && sk1[n] < fkl[n], "skew 0.1 token " + n + ": " + sk1[n]);
        }
    }

    @Test
    void sparseModes_matchFiniteDifferences() {
        double[] s = randomLogits(2), t = randomLogits(3);
        SparseTargets targets = topK(t, new int[] {3, 1, 5}, 5);
        for (var mode : new KdObjective.TailMode[] {KdObjective.TailMode.RENORMALIZE_BOTH, KdObjective.TailMode.TAIL_BUCKET,
                KdObjective.TailMode.UNIFORM})
            for (float tau : new float[] {1f, 2f})
                gradCheck(mode + " tau " + tau, s, x -> KdObjective.sparse(mode, tau, false, x, targets));
    }

    @Test
    void sparseModes_keepingEveryId_equalForwardKl() {
        double[] s = randomLogits(2), t = randomLogits(3);
        SparseTargets all = topK(t, new int[] {V, V, V}, V);
        Tensor teacher = ref.fromDoubles(t, N, V);
        for (float tau : new float[] {1f, 2f}) {
            double[] fkl = perToken(x -> KdObjective.dense(KdObjective.Divergence.FORWARD_KL, tau, false, 0, x, teacher), s);
            for (var mode : new KdObjective.TailMode[] {KdObjective.TailMode.TAIL_BUCKET, KdObjective.TailMode.UNIFORM}) {
                double[] got = perToken(x -> KdObjective.sparse(mode, tau, false, x, all), s);
                for (int n = 0; n < N; n++)
                    assertEquals(fkl[n], got[n], 1e-6, mode + " with K = V, tau " + tau + ", token " + n);
            }
        }
    }

    @Test
    void uniformTail_isForwardKlAgainstTheSpreadTeacher_andBucketIsAtMostThat() {
        double[] s = randomLogits(2), t = randomLogits(3);
        SparseTargets targets = topK(t, new int[] {2, 2, 4}, 4);
        double[] uniform = perToken(x -> KdObjective.sparse(KdObjective.TailMode.UNIFORM, 1f, false, x, targets), s);
        double[] bucket = perToken(x -> KdObjective.sparse(KdObjective.TailMode.TAIL_BUCKET, 1f, false, x, targets), s);
        for (int n = 0; n < N; n++) {
            int c = targets.count(n);
            double z = 0;
            for (int j = 0; j < c; j++) z += targets.probs()[n * 4 + j];
            z += targets.leftOut()[n];
            double[] q = new double[V];
            java.util.Arrays.fill(q, targets.leftOut()[n] / (V - c) / z);
            for (int j = 0; j < c; j++) q[targets.ids()[n * 4 + j]] = targets.probs()[n * 4 + j] / z;
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int v = 0; v < V; v++) max = Math.max(max, s[n * V + v]);
            for (int v = 0; v < V; v++) sum += Math.exp(s[n * V + v] - max);
            double kl = 0;
            for (int v = 0; v < V; v++) kl += q[v] * (Math.log(q[v]) - (s[n * V + v] - max - Math.log(sum)));
            assertEquals(kl, uniform[n], 1e-9, "uniform tail, token " + n);
            // merging the tail ids into one bucket can only lower a KL (data processing inequality)
            assertTrue(bucket[n] <= uniform[n] + 1e-12 && bucket[n] >= 0, "bucket " + bucket[n] + " vs uniform " + uniform[n]);
        }
    }

    @Test
    void badInput_isRefusedWithTheFix() {
        Backend cpu = Backends.cpu();
        Var s = new Var(cpu.fromFloats(new float[2 * 5], 2, 5), true);
        var e = assertThrows(RuntimeException.class,
                () -> KdObjective.dense(KdObjective.Divergence.FORWARD_KL, 1f, false, 0, s, cpu.fromFloats(new float[2 * 6], 2, 6)));
        assertTrue(e.getMessage().contains("student") && e.getMessage().contains("teacher"), e.getMessage());
        record Cfg(int vocabSize) implements ModelConfig {
            public String architecture() { return "x"; }
            public int hiddenSize() { return 1; }
            public int numHiddenLayers() { return 1; }
            public boolean tieWordEmbeddings() { return false; }
            public int bosTokenId() { return -1; }
            public int eosTokenId() { return 0; }
        }
        var v = assertThrows(IllegalArgumentException.class, () -> KdLoss.requireSameVocabulary(new Cfg(151936), new Cfg(32000), "qwen"));
        assertTrue(v.getMessage().contains("151936") && v.getMessage().contains("32000")
                && v.getMessage().contains("Difference Sampling"), v.getMessage());
        assertThrows(IllegalArgumentException.class, () -> KdObjective.Divergence.parse("js"));
        assertEquals(KdObjective.Divergence.SKEW_KL, KdObjective.Divergence.parse("skew-kl"));
        assertThrows(IllegalArgumentException.class,
                () -> KdObjective.dense(KdObjective.Divergence.FORWARD_KL, 0f, false, 0, s, cpu.fromFloats(new float[10], 2, 5)));
    }
}
