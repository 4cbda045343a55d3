/*
 * The logit-distillation divergences as per-token autograd values [N], for a student's logits [N, V] (or
 * [B, T, V]) against a teacher: dense (online KD, the teacher's full logits) or sparse (offline KD, a cache of
 * kept ids and probabilities). With x = logits / tau, ls = log_softmax(x_student), lt = log_softmax(x_teacher):
 *   FORWARD_KL  sum pt (lt - ls)           REVERSE_KL  sum ps (ls - lt)           SOFT_CE  -sum pt ls
 *   SKEW_KL     KL(pt || l pt + (1-l) ps)  SKEW_REVERSE_KL  KL(ps || l ps + (1-l) pt)   (DistiLLM, Ko et al. 2024,
 *               "skew KL" / "skew reverse KL" with skew l, default 0.1)      MSE  mean_v (s - t)^2 (tau ignored)
 * tau2 multiplies by tau^2 (Hinton's gradient-scale correction). FORWARD_KL, REVERSE_KL, SOFT_CE, MSE and the
 * RENORMALIZE sparse mode run on the backend's fused distill kernels; the skew divergences and the other sparse
 * modes stream the rows through the host in chunks of ~64k values (in double), so no [N, V] copy is made.
 * The truncated-teacher formulas follow the kd/ fixtures' README; see TailMode for what each sparse mode means.
 */
package kd4j.distill.kd;

import java.lang.foreign.MemorySegment;
import java.util.Locale;
import kd4j.autograd.Tape;
import kd4j.autograd.Var;
import kd4j.autograd.ops.ElementwiseOps;
import kd4j.autograd.ops.LossOps;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.ShapeException;
import kd4j.tensor.Tensor;

public final class KdObjective {
    private KdObjective() {}

    /** DistiLLM's default skew. */
    public static final double DEFAULT_SKEW = 0.1;

    public enum Divergence {
        FORWARD_KL, REVERSE_KL, SKEW_KL, SKEW_REVERSE_KL, SOFT_CE, MSE;

        /** "forward-kl", "fkl", "kl", "reverse-kl", "rkl", "skew-kl", "skew-rkl", "soft-ce", "ce", "mse". */
        public static Divergence parse(String text) {
            String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT).replace('_', '-');
            return switch (t) {
                case "forward-kl", "fkl", "kl" -> FORWARD_KL;
                case "reverse-kl", "rkl" -> REVERSE_KL;
                case "skew-kl", "skew-forward-kl", "sfkl" -> SKEW_KL;
                case "skew-reverse-kl", "skew-rkl", "srkl" -> SKEW_REVERSE_KL;
                case "soft-ce", "ce", "soft-cross-entropy" -> SOFT_CE;
                case "mse" -> MSE;
                default -> throw new IllegalArgumentException("--divergence: '" + text + "' is not one of forward-kl, "
                        + "reverse-kl, skew-kl, skew-reverse-kl, soft-ce, mse");
            };
        }
    }

    /**
     * How a truncated cache becomes a target, with K the kept ids, p their teacher probabilities at tau = 1 and
     * r = 1 - sum p the left-out mass. The teacher at tau is p^(1/tau) normalised (exact for the kept ids).
     * RENORMALIZE: teacher renormalised over K, student over the full vocabulary (Peng et al.'s setting; with
     * K = V it is online forward KL). RENORMALIZE_BOTH: student renormalised over K too. TAIL_BUCKET: K plus one
     * bucket holding r, compared with the student's mass outside K. UNIFORM: r spread evenly over the other V - K
     * ids (full-vocabulary KL against that teacher). The last two assume a uniform tail when tempering.
     */
    public enum TailMode {
        RENORMALIZE, RENORMALIZE_BOTH, TAIL_BUCKET, UNIFORM;

        /** "renormalize", "renormalize-both", "tail", "uniform". */
        public static TailMode parse(String text) {
            String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT).replace('_', '-');
            return switch (t) {
                case "renormalize", "renormalise", "renorm" -> RENORMALIZE;
                case "renormalize-both", "renormalise-both", "renorm-both" -> RENORMALIZE_BOTH;
                case "tail", "tail-bucket" -> TAIL_BUCKET;
                case "uniform" -> UNIFORM;
                default -> throw new IllegalArgumentException("--kd-tail: '" + text + "' is not one of renormalize, "
                        + "renormalize-both, tail, uniform");
            };
        }
    }

    // ==== dense (online) ====

    /** Per-token divergence [N] between student [N, V] / [B, T, V] and a teacher of the same shape (a constant). */
    public static Var dense(Divergence divergence, float tau, boolean tau2, double skew, Var student, Tensor teacher) {
        checkTau(tau);
        if (!(skew >= 0 && skew < 1)) throw new IllegalArgumentException("--skew must be in [0, 1), got " + skew);
        Tensor st = student.data();
        if (!st.sameShape(teacher))
            throw ShapeException.of("KdObjective.dense", "student and teacher logits differ in shape", "student", st,
                    "teacher", teacher);
        Var perToken = switch (divergence) {
            case FORWARD_KL -> LossOps.distill(Backend.Divergence.FORWARD_KL, tau, student, teacher);
            case REVERSE_KL -> LossOps.distill(Backend.Divergence.REVERSE_KL, tau, student, teacher);
            case SOFT_CE -> LossOps.distill(Backend.Divergence.SOFT_CE, tau, student, teacher);
            case MSE -> LossOps.distill(Backend.Divergence.MSE, tau, student, teacher);
            case SKEW_KL, SKEW_REVERSE_KL -> hostRows("skewKl", new SkewKernel(divergence == Divergence.SKEW_KL,
                    skew, tau, st.dim(-1)), student, teacher);
        };
        return tau2 && tau != 1f && divergence != Divergence.MSE ? ElementwiseOps.scale(perToken, tau * tau) : perToken;
    }

    // ==== sparse (offline) ====

    /** Per-token divergence [N] between student [N, V] / [B, T, V] and cached targets of N rows. */
    public static Var sparse(TailMode mode, float tau, boolean tau2, Var student, SparseTargets targets) {
        checkTau(tau);
        Tensor st = student.data();
        int vocab = st.dim(-1);
        long rows = st.numel() / vocab;
        if (rows != targets.rows())
            throw ShapeException.of("KdObjective.sparse", "cached targets have " + targets.rows()
                    + " rows, the student " + rows, "student", st);
        for (int i = 0; i < targets.ids().length; i++)
            if (targets.ids()[i] >= vocab)
                throw new IllegalArgumentException("cached teacher id " + targets.ids()[i] + " (token " + i / targets.k()
                        + ") is outside the student's vocabulary [0, " + vocab + "): teacher and student must share "
                        + "the vocabulary; for cross-tokenizer distillation use Difference Sampling (kd4j select)");
        Var perToken;
        if (targets.sampled()) {
            if (tau != 1f)
                throw new IllegalArgumentException("a sampled logits cache is an unbiased estimate of the teacher at "
                        + "tau = 1 only; train it with --tau 1 (got " + tau + ")");
            perToken = sparseSoftCe(tau, student, targets, rows, null);
        } else if (mode == TailMode.RENORMALIZE) {
            // -sum q ls on the backend, plus the target's negative entropy sum q log q (a constant)
            double[] negEntropy = new double[(int) rows];
            float[] q = new float[targets.probs().length];
            int k = targets.k();
            for (int n = 0; n < rows; n++) {
                int c = targets.count(n);
                double lse = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < c; j++) lse = logAddExp(lse, Math.log(targets.probs()[n * k + j]) / tau);
                for (int j = 0; j < c; j++) {
                    double lq = Math.log(targets.probs()[n * k + j]) / tau - lse;
                    q[n * k + j] = (float) Math.exp(lq);
                    if (lq > Double.NEGATIVE_INFINITY) negEntropy[n] += Math.exp(lq) * lq;
                }
            }
            perToken = sparseSoftCe(tau, student, new SparseTargets(targets.rows(), k, targets.ids(), q,
                    targets.leftOut(), false), rows, negEntropy);
        } else {
            perToken = hostRows("sparseKd", new SparseKernel(mode, tau, vocab, targets), student, null);
        }
        return tau2 && tau != 1f ? ElementwiseOps.scale(perToken, tau * tau) : perToken;
    }

    private static Var sparseSoftCe(float tau, Var student, SparseTargets t, long rows, double[] constant) {
        Backend be = student.backend();
        Tensor ids = be.fromInts(t.ids(), (int) rows, t.k());
        Tensor probs = be.fromFloats(t.probs(), (int) rows, t.k());
        Var ce = LossOps.sparseDistill(tau, student, ids, probs);
        if (constant == null) return ce;
        Tensor c = ce.data().dtype() == DType.F64 ? be.fromDoubles(constant, (int) rows) : be.fromFloats(toFloats(constant), (int) rows);
        return ElementwiseOps.add(ce, Var.constant(c));
    }

    private static void checkTau(float tau) {
        if (!(tau > 0) || !Float.isFinite(tau)) throw new IllegalArgumentException("--tau must be positive, got " + tau);
    }

    // ==== host row streaming ====

    /** One row's value and gradient, in double; x, t hold the row at off (t null for sparse kernels). */
    private interface RowKernel {
        double value(int n, double[] s, double[] t, int off);

        /** Writes d value / d logits[n, :] into ds[off..off + V). */
        void gradient(int n, double[] s, double[] t, int off, double[] ds);
    }

    private static Var hostRows(String name, RowKernel kernel, Var student, Tensor teacher) {
        Backend be = student.backend();
        Tensor st = student.data().contiguous();
        int vocab = st.dim(-1), rows = Math.toIntExact(st.numel() / vocab);
        Tensor s2 = st.reshape(rows, vocab), t2 = teacher == null ? null : teacher.contiguous().reshape(rows, vocab);
        int chunk = Math.max(1, Math.min(rows, (1 << 16) / Math.max(1, vocab)));
        double[] s = new double[chunk * vocab], t = t2 == null ? null : new double[chunk * vocab];
        double[] out = new double[rows];
        for (int r0 = 0; r0 < rows; r0 += chunk) {
            int len = Math.min(chunk, rows - r0);
            readRows(s2, r0, len, s);
            if (t != null) readRows(t2, r0, len, t);
            for (int i = 0; i < len; i++) out[r0 + i] = kernel.value(r0 + i, s, t, i * vocab);
        }
        DType dtype = st.dtype() == DType.F64 ? DType.F64 : DType.F32;
        Tensor perToken = dtype == DType.F64 ? be.fromDoubles(out, rows) : be.fromFloats(toFloats(out), rows);
        return Tape.record(name, perToken, (dOut, grads) -> {
            double[] g = dOut.toDoubleArray();
            Tensor ds2 = grads.assign(student).reshape(rows, vocab);
            double[] ds = new double[chunk * vocab];
            for (int r0 = 0; r0 < rows; r0 += chunk) {
                int len = Math.min(chunk, rows - r0);
                readRows(s2, r0, len, s);
                if (t != null) readRows(t2, r0, len, t);
                for (int i = 0; i < len; i++) {
                    kernel.gradient(r0 + i, s, t, i * vocab, ds);
                    for (int v = 0; v < vocab; v++) ds[i * vocab + v] *= g[r0 + i];
                }
                writeRows(ds2, r0, len, ds);
            }
        }, student);
    }

    private static void readRows(Tensor x, int r0, int len, double[] into) {
        Tensor rows = x.narrow(0, r0, len);
        int n = len * x.dim(1);
        if (x.dtype() == DType.F64) {
            x.backend().copyOut(rows, MemorySegment.ofArray(into).asSlice(0, (long) n * Double.BYTES));
        } else {
            float[] f = rows.toFloatArray();
            for (int i = 0; i < n; i++) into[i] = f[i];
        }
    }

    private static void writeRows(Tensor x, int r0, int len, double[] from) {
        Tensor rows = x.narrow(0, r0, len);
        int n = len * x.dim(1);
        if (x.dtype() == DType.F64) x.backend().copyIn(rows, MemorySegment.ofArray(from).asSlice(0, (long) n * Double.BYTES));
        else {
            float[] f = new float[n];
            for (int i = 0; i < n; i++) f[i] = (float) from[i];
            x.backend().copyIn(rows, MemorySegment.ofArray(f));
        }
    }

    static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    static double logAddExp(double a, double b) {
        if (a == Double.NEGATIVE_INFINITY) return b;
        if (b == Double.NEGATIVE_INFINITY) return a;
        double m = Math.max(a, b);
        return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
    }

    /** log-sum-exp of x[off..off+n) / tau, max subtracted first. */
    private static double logSumExp(double[] x, int off, int n, double inv) {
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < n; v++) max = Math.max(max, x[off + v] * inv);
        double sum = 0;
        for (int v = 0; v < n; v++) sum += Math.exp(x[off + v] * inv - max);
        return max + Math.log(sum);
    }

    /** The skew divergences; ps, pt and the mixture are recomputed per row (two passes, no stored softmax). */
    private static final class SkewKernel implements RowKernel {
        private final boolean forward;
        private final double skew, inv;
        private final int vocab;

        SkewKernel(boolean forward, double skew, float tau, int vocab) {
            this.forward = forward;
            this.skew = skew;
            this.inv = 1.0 / tau;
            this.vocab = vocab;
        }

        @Override
        public double value(int n, double[] s, double[] t, int off) {
            double lseS = logSumExp(s, off, vocab, inv), lseT = logSumExp(t, off, vocab, inv), sum = 0;
            for (int v = 0; v < vocab; v++) {
                double ls = s[off + v] * inv - lseS, lt = t[off + v] * inv - lseT;
                double ps = Math.exp(ls), pt = Math.exp(lt);
                if (forward) {
                    double m = skew * pt + (1 - skew) * ps;
                    if (pt > 0) sum += pt * (lt - Math.log(m));
                } else {
                    double m = skew * ps + (1 - skew) * pt;
                    if (ps > 0) sum += ps * (ls - Math.log(m));
                }
            }
            return sum;
        }

        @Override
        public void gradient(int n, double[] s, double[] t, int off, double[] ds) {
            double lseS = logSumExp(s, off, vocab, inv), lseT = logSumExp(t, off, vocab, inv), mean = 0;
            // ds first holds the per-id factor w, then ps (w - E_ps[w]) / tau
            for (int v = 0; v < vocab; v++) {
                double ls = s[off + v] * inv - lseS, lt = t[off + v] * inv - lseT;
                double ps = Math.exp(ls), pt = Math.exp(lt), w;
                if (forward) {
                    double m = skew * pt + (1 - skew) * ps;
                    w = m > 0 ? -(1 - skew) * pt / m : 0;
                } else {
                    double m = skew * ps + (1 - skew) * pt;
                    w = m > 0 && ps > 0 ? ls - Math.log(m) + 1 - skew * ps / m : 0;
                }
                ds[off + v] = w;
                mean += ps * w;
            }
            for (int v = 0; v < vocab; v++) {
                double ps = Math.exp(s[off + v] * inv - lseS);
                ds[off + v] = ps * (ds[off + v] - mean) * inv;
            }
        }
    }

    /** RENORMALIZE_BOTH, TAIL_BUCKET and UNIFORM against a cached row. */
    private static final class SparseKernel implements RowKernel {
        private final TailMode mode;
        private final double inv;
        private final int vocab;
        private final SparseTargets targets;
        private final double[] target;     // the row's tempered teacher over K (then the tail mass at [k])
        private final int[] stamp;         // stamp[v] == row + 1 when v is kept in that row (no clearing per row)

        SparseKernel(TailMode mode, float tau, int vocab, SparseTargets targets) {
            this.mode = mode;
            this.inv = 1.0 / tau;
            this.vocab = vocab;
            this.targets = targets;
            this.target = new double[targets.k() + 1];
            this.stamp = new int[vocab];
            java.util.Arrays.fill(stamp, -1);
        }

        /** Fills target[0..c) and target[c] = tail mass (0 for the renormalised modes); returns c. */
        private int temper(int n) {
            int k = targets.k(), c = targets.count(n);
            double tail = 0, logEach = Double.NEGATIVE_INFINITY;
            if (mode != TailMode.RENORMALIZE_BOTH && c < vocab) {
                double r = Math.max(0, targets.leftOut()[n]);
                logEach = r > 0 ? Math.log(r / (vocab - c)) * inv : Double.NEGATIVE_INFINITY;
            }
            double z = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < c; j++) z = logAddExp(z, Math.log(targets.probs()[n * k + j]) * inv);
            double logTail = logEach == Double.NEGATIVE_INFINITY ? logEach : logEach + Math.log(vocab - c);
            z = logAddExp(z, logTail);
            for (int j = 0; j < c; j++) target[j] = Math.exp(Math.log(targets.probs()[n * k + j]) * inv - z);
            tail = Math.exp(logTail - z);
            target[c] = tail;
            for (int j = 0; j < c; j++) stamp[targets.ids()[n * k + j]] = n;
            return c;
        }

        @Override
        public double value(int n, double[] s, double[] t, int off) {
            int k = targets.k(), c = temper(n);
            double sum = 0;
            if (mode == TailMode.RENORMALIZE_BOTH) {
                double lseK = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < c; j++) lseK = logAddExp(lseK, s[off + targets.ids()[n * k + j]] * inv);
                for (int j = 0; j < c; j++)
                    if (target[j] > 0) sum += target[j] * (Math.log(target[j]) - (s[off + targets.ids()[n * k + j]] * inv - lseK));
                return sum;
            }
            double lse = logSumExp(s, off, vocab, inv);
            for (int j = 0; j < c; j++)
                if (target[j] > 0) sum += target[j] * (Math.log(target[j]) - (s[off + targets.ids()[n * k + j]] * inv - lse));
            double tail = target[c];
            if (tail <= 0) return sum;
            if (mode == TailMode.TAIL_BUCKET) {
                double rest = 0;
                for (int v = 0; v < vocab; v++) if (stamp[v] != n) rest += Math.exp(s[off + v] * inv - lse);
                return sum + tail * (Math.log(tail) - Math.log(Math.max(rest, Double.MIN_NORMAL)));
            }
            double each = tail / (vocab - c), logEach = Math.log(each);
            for (int v = 0; v < vocab; v++) if (stamp[v] != n) sum += each * (logEach - (s[off + v] * inv - lse));
            return sum;
        }

        @Override
        public void gradient(int n, double[] s, double[] t, int off, double[] ds) {
            int k = targets.k(), c = temper(n);
            if (mode == TailMode.RENORMALIZE_BOTH) {
                double lseK = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < c; j++) lseK = logAddExp(lseK, s[off + targets.ids()[n * k + j]] * inv);
                java.util.Arrays.fill(ds, off, off + vocab, 0);
                for (int j = 0; j < c; j++) {
                    int id = targets.ids()[n * k + j];
                    ds[off + id] = (Math.exp(s[off + id] * inv - lseK) - target[j]) * inv;
                }
                return;
            }
            double lse = logSumExp(s, off, vocab, inv), tail = target[c];
            // d/dx: ps - t for kept ids; for the others ps (1 - tail / rest) (bucket) or ps - tail / (V - K) (uniform)
            double rest = 0;
            if (mode == TailMode.TAIL_BUCKET && tail > 0)
                for (int v = 0; v < vocab; v++) if (stamp[v] != n) rest += Math.exp(s[off + v] * inv - lse);
            double each = c < vocab ? tail / (vocab - c) : 0;
            double bucketFactor = tail > 0 ? 1 - tail / Math.max(rest, Double.MIN_NORMAL) : 1;
            for (int v = 0; v < vocab; v++) {
                double ps = Math.exp(s[off + v] * inv - lse);
                ds[off + v] = (mode == TailMode.TAIL_BUCKET ? ps * bucketFactor : ps - each) * inv;
            }
            for (int j = 0; j < c; j++) {
                int id = targets.ids()[n * k + j];
                ds[off + id] = (Math.exp(s[off + id] * inv - lse) - target[j]) * inv;
            }
        }
    }
}
