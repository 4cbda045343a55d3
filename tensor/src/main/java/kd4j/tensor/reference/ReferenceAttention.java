/*
 * Reference causal grouped-query attention: the full score row of every query is materialised, which is the
 * obviously correct way to write it (the tiled online-softmax kernels are tested against this). Shapes as in
 * Backend.attentionForward: q [B, T, H, D]; k, v [B, S, Hkv, D] (any batch stride); keyMask I32 [B, S] or null.
 */
package kd4j.tensor.reference;

import static kd4j.tensor.reference.HostAccess.read;
import static kd4j.tensor.reference.HostAccess.readInts;
import static kd4j.tensor.reference.HostAccess.write;

import kd4j.tensor.Tensor;

final class ReferenceAttention {
    private ReferenceAttention() {}

    private record Dims(int batches, int tokens, int heads, int dim, int keys, int kvHeads) {
        int group() { return heads / kvHeads; }
        int q(int b, int t, int h) { return ((b * tokens + t) * heads + h) * dim; }
        int kv(int b, int s, int h) { return ((b * keys + s) * kvHeads + h) * dim; }
        int lse(int b, int h, int t) { return (b * heads + h) * tokens + t; }
    }

    /** ReferenceBackend has checked every shape (BackendChecks). */
    private static Dims dims(Tensor q, Tensor k) {
        return new Dims(q.dim(0), q.dim(1), q.dim(2), q.dim(3), k.dim(1), k.dim(2));
    }

    private static boolean visible(int[] mask, Dims d, int b, int s, int position) {
        return s <= position && (mask == null || mask[b * d.keys + s] != 0);
    }

    private static double score(double[] q, double[] k, Dims d, int qi, int ki, double scale) {
        double dot = 0;
        for (int i = 0; i < d.dim; i++) dot += q[qi + i] * k[ki + i];
        return dot * scale;
    }

    static void forward(Tensor q, Tensor k, Tensor v, float scale, int queryOffset, Tensor keyMask, Tensor out,
                        Tensor lse) {
        Dims d = dims(q, k);
        double[] qv = read(q), kv = read(k), vv = read(v), o = new double[qv.length];
        double[] l = new double[d.batches * d.heads * d.tokens];
        int[] mask = keyMask == null ? null : readInts(keyMask);
        double[] scores = new double[d.keys];
        for (int b = 0; b < d.batches; b++)
            for (int h = 0; h < d.heads; h++)
                for (int t = 0; t < d.tokens; t++) {
                    int kvh = h / d.group(), qi = d.q(b, t, h);
                    double max = Double.NEGATIVE_INFINITY;
                    for (int s = 0; s < d.keys; s++) {
                        scores[s] = visible(mask, d, b, s, queryOffset + t)
                                ? score(qv, kv, d, qi, d.kv(b, s, kvh), scale) : Double.NEGATIVE_INFINITY;
                        max = Math.max(max, scores[s]);
                    }
                    if (max == Double.NEGATIVE_INFINITY) {   // no visible key: -inf lse, zero output
                        l[d.lse(b, h, t)] = max;
                        continue;
                    }
                    double sum = 0;
                    for (int s = 0; s < d.keys; s++) sum += Math.exp(scores[s] - max);
                    double logSum = max + Math.log(sum);
                    l[d.lse(b, h, t)] = logSum;
                    for (int s = 0; s < d.keys; s++) {
                        double p = Math.exp(scores[s] - logSum);
                        if (p == 0) continue;
                        int vi = d.kv(b, s, kvh);
                        for (int i = 0; i < d.dim; i++) o[qi + i] += p * vv[vi + i];
                    }
                }
        write(out, o);
        write(lse, l);
    }

    static void backward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, float scale,
                         int queryOffset, Tensor keyMask, Tensor dQ, Tensor dK, Tensor dV) {
        Dims d = dims(q, k);
        double[] g = read(dOut), qv = read(q), kv = read(k), vv = read(v), l = read(lse);
        double[] dq = new double[qv.length], dk = new double[kv.length], dv = new double[vv.length];
        int[] mask = keyMask == null ? null : readInts(keyMask);
        double[] p = new double[d.keys], dp = new double[d.keys];
        for (int b = 0; b < d.batches; b++)
            for (int h = 0; h < d.heads; h++)
                for (int t = 0; t < d.tokens; t++) {
                    double logSum = l[d.lse(b, h, t)];
                    if (logSum == Double.NEGATIVE_INFINITY) continue;
                    int kvh = h / d.group(), qi = d.q(b, t, h);
                    double rowDot = 0;   // sum_s p dp = dOut . out
                    for (int s = 0; s < d.keys; s++) {
                        if (!visible(mask, d, b, s, queryOffset + t)) { p[s] = 0; dp[s] = 0; continue; }
                        int ki = d.kv(b, s, kvh);
                        p[s] = Math.exp(score(qv, kv, d, qi, ki, scale) - logSum);
                        double dot = 0;
                        for (int i = 0; i < d.dim; i++) dot += g[qi + i] * vv[ki + i];
                        dp[s] = dot;
                        rowDot += p[s] * dot;
                    }
                    for (int s = 0; s < d.keys; s++) {
                        if (p[s] == 0) continue;
                        int ki = d.kv(b, s, kvh);
                        double ds = p[s] * (dp[s] - rowDot) * scale;
                        for (int i = 0; i < d.dim; i++) {
                            dq[qi + i] += ds * kv[ki + i];
                            dk[ki + i] += ds * qv[qi + i];
                            dv[ki + i] += p[s] * g[qi + i];
                        }
                    }
                }
        write(dQ, dq);
        write(dK, dk);
        write(dV, dv);
    }
}
