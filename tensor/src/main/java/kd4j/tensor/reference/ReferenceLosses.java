/*
 * Reference cross-entropy and distillation losses: whole rows in double, log-softmax by max-subtracted
 * log-sum-exp. Logits are [N, V] (any rank, the last dim is V); ids and targets I32. The fused, chunked kernels
 * of the other backends are tested against these.
 */
package kd4j.tensor.reference;

import static kd4j.tensor.reference.HostAccess.read;
import static kd4j.tensor.reference.HostAccess.readInts;
import static kd4j.tensor.reference.HostAccess.write;
import static kd4j.tensor.reference.ReferenceBackend.logSumExp;

import kd4j.tensor.Backend.Divergence;
import kd4j.tensor.BackendChecks;
import kd4j.tensor.Tensor;

final class ReferenceLosses {
    private ReferenceLosses() {}

    /** Rows of [N, V] logits; ReferenceBackend has checked every shape (BackendChecks). */
    private static int rows(Tensor logits) { return (int) logits.rows(); }

    private static void checkTarget(String op, int target, int n, int vocab, int ignoreIndex) {
        if (target < 0 || target >= vocab) throw BackendChecks.targetOutsideVocabulary(op, n, target, vocab, ignoreIndex);
    }

    static void crossEntropyForward(Tensor logits, Tensor targets, int ignoreIndex, Tensor losses, Tensor lse) {
        int rows = rows(logits), vocab = logits.dim(-1);
        double[] x = read(logits), loss = new double[rows], l = new double[rows];
        int[] tg = readInts(targets);
        for (int n = 0; n < rows; n++) {
            l[n] = logSumExp(x, n * vocab, vocab, 1.0);
            if (tg[n] == ignoreIndex) continue;
            checkTarget("crossEntropyForward", tg[n], n, vocab, ignoreIndex);
            loss[n] = l[n] - x[n * vocab + tg[n]];
        }
        write(losses, loss);
        write(lse, l);
    }

    static void crossEntropyBackward(Tensor dLosses, Tensor logits, Tensor targets, Tensor lse, int ignoreIndex,
                                     Tensor dLogits) {
        int rows = rows(logits), vocab = logits.dim(-1);
        double[] g = read(dLosses), x = read(logits), l = read(lse), dx = new double[x.length];
        int[] tg = readInts(targets);
        for (int n = 0; n < rows; n++) {
            if (tg[n] == ignoreIndex) continue;
            checkTarget("crossEntropyBackward", tg[n], n, vocab, ignoreIndex);
            for (int v = 0; v < vocab; v++) dx[n * vocab + v] = g[n] * Math.exp(x[n * vocab + v] - l[n]);
            dx[n * vocab + tg[n]] -= g[n];
        }
        write(dLogits, dx);
    }

    /** log_softmax(x[row] / tau) into out[row]. */
    private static void logSoftmax(double[] x, int row, int vocab, double tau, double[] out) {
        double l = logSumExp(x, row * vocab, vocab, tau);
        for (int v = 0; v < vocab; v++) out[v] = x[row * vocab + v] / tau - l;
    }

    static void distillForward(Divergence divergence, float tau, Tensor student, Tensor teacher, Tensor perToken) {
        int rows = rows(student), vocab = student.dim(-1);
        double[] s = read(student), t = read(teacher), out = new double[rows];
        double[] ls = new double[vocab], lt = new double[vocab];
        for (int n = 0; n < rows; n++) {
            logSoftmax(s, n, vocab, tau, ls);
            logSoftmax(t, n, vocab, tau, lt);
            double acc = 0;
            for (int v = 0; v < vocab; v++) {
                acc += switch (divergence) {
                    case FORWARD_KL -> Math.exp(lt[v]) * (lt[v] - ls[v]);
                    case REVERSE_KL -> Math.exp(ls[v]) * (ls[v] - lt[v]);
                    case SOFT_CE -> -Math.exp(lt[v]) * ls[v];
                    case MSE -> {
                        double diff = s[n * vocab + v] - t[n * vocab + v];
                        yield diff * diff / vocab;
                    }
                };
            }
            out[n] = acc;
        }
        write(perToken, out);
    }

    static void distillBackward(Divergence divergence, float tau, Tensor dPerToken, Tensor student, Tensor teacher,
                                Tensor dStudent) {
        int rows = rows(student), vocab = student.dim(-1);
        double[] g = read(dPerToken), s = read(student), t = read(teacher), ds = new double[s.length];
        double[] ls = new double[vocab], lt = new double[vocab];
        for (int n = 0; n < rows; n++) {
            logSoftmax(s, n, vocab, tau, ls);
            logSoftmax(t, n, vocab, tau, lt);
            double reverseKl = 0;
            if (divergence == Divergence.REVERSE_KL)
                for (int v = 0; v < vocab; v++) reverseKl += Math.exp(ls[v]) * (ls[v] - lt[v]);
            for (int v = 0; v < vocab; v++) {
                int i = n * vocab + v;
                ds[i] = g[n] * switch (divergence) {
                    // d/dz of -sum pt ls with z = s / tau is ps - pt (sum pt = 1); the entropy term has none.
                    case FORWARD_KL, SOFT_CE -> (Math.exp(ls[v]) - Math.exp(lt[v])) / tau;
                    // d/dz_v sum ps (ls - lt) = ps_v ((ls_v - lt_v) - KL).
                    case REVERSE_KL -> Math.exp(ls[v]) * ((ls[v] - lt[v]) - reverseKl) / tau;
                    case MSE -> 2 * (s[i] - t[i]) / vocab;
                };
            }
        }
        write(dStudent, ds);
    }

    static void sparseDistillForward(float tau, Tensor student, Tensor ids, Tensor probs, Tensor perToken,
                                     Tensor lse) {
        int rows = rows(student), vocab = student.dim(-1);
        int topK = ids.dim(-1);
        double[] s = read(student), p = read(probs), out = new double[rows], l = new double[rows];
        int[] id = readInts(ids);
        for (int n = 0; n < rows; n++) {
            l[n] = logSumExp(s, n * vocab, vocab, tau);
            double acc = 0;
            for (int j = 0; j < topK; j++) {
                int v = id[n * topK + j];
                if (v < 0) continue;
                if (v >= vocab) throw BackendChecks.sparseIdOutsideVocabulary("sparseDistillForward", n, j, v, vocab);
                acc -= p[n * topK + j] * (s[n * vocab + v] / tau - l[n]);
            }
            out[n] = acc;
        }
        write(perToken, out);
        write(lse, l);
    }

    static void sparseDistillBackward(float tau, Tensor dPerToken, Tensor student, Tensor ids, Tensor probs,
                                      Tensor lse, Tensor dStudent) {
        int rows = rows(student), vocab = student.dim(-1);
        int topK = ids.dim(-1);
        double[] g = read(dPerToken), s = read(student), p = read(probs), l = read(lse), ds = new double[s.length];
        int[] id = readInts(ids);
        for (int n = 0; n < rows; n++) {
            double mass = 0;
            for (int j = 0; j < topK; j++) if (id[n * topK + j] >= 0) mass += p[n * topK + j];
            for (int v = 0; v < vocab; v++)
                ds[n * vocab + v] = g[n] / tau * Math.exp(s[n * vocab + v] / tau - l[n]) * mass;
            for (int j = 0; j < topK; j++) {
                int v = id[n * topK + j];
                if (v < 0) continue;
                if (v >= vocab) throw BackendChecks.sparseIdOutsideVocabulary("sparseDistillBackward", n, j, v, vocab);
                ds[n * vocab + v] -= g[n] / tau * p[n * topK + j];
            }
        }
        write(dStudent, ds);
    }
}
