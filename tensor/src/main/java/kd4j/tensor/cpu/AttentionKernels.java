/*
 * Causal grouped-query attention, FlashAttention-style: one task per (b, h, tile of TQ queries) walks the visible
 * key tiles of SK keys with an online softmax (running max m, running sum l, rescaled accumulator), so only a
 * TQ x SK score tile exists at any time. The forward saves lse = m + log l per query row. The backward recomputes
 * p = exp(s - lse) tile by tile in two passes: dK, dV by key tile (one writer per key row, looping over every query
 * head of the group) and dQ by query tile; each pass owns what it writes, so there are no locks.
 * Each key tile is transposed once into a [D, SK] scratch so a score row is D broadcast-FMAs over SK lanes
 * instead of SK horizontal reductions.
 * Layouts: q, out, dOut, dQ [B, T, H, D]; k, v, dK, dV [B, S, Hkv, D] with any batch stride; lse [B, H, T]; keyMask I32 [B, S].
 */
package kd4j.tensor.cpu;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import static kd4j.tensor.cpu.Simd.F;
import static kd4j.tensor.cpu.Simd.FLOAT;
import static kd4j.tensor.cpu.Simd.INT;
import static kd4j.tensor.cpu.Simd.L;

public final class AttentionKernels {
    /** Query rows per task and keys per tile: a 32 x 64 score tile and a [64, D] K/V tile stay in L1/L2. */
    static final int TQ = 32;
    static final int SK = 64;

    private AttentionKernels() {}

    /** Shapes and strides of one attention call. Batch strides are in elements. */
    record Dims(int batches, int queries, int keys, int heads, int kvHeads, int headDim, int queryOffset,
                long kBatchStride, long vBatchStride) {
        int group() { return heads / kvHeads; }
        long qRow(int b, int t, int h) { return (((long) b * queries + t) * heads + h) * headDim; }
        long kRow(int b, int s, int hk) { return b * kBatchStride + ((long) s * kvHeads + hk) * headDim; }
        long vRow(int b, int s, int hk) { return b * vBatchStride + ((long) s * kvHeads + hk) * headDim; }
        long lseIndex(int b, int h, int t) { return ((long) b * heads + h) * queries + t; }
    }

    private static final class Scratch {
        float[] kt = new float[0], vt = new float[0], q = new float[0], dO = new float[0], acc = new float[0];
        final float[] scores = new float[TQ * SK], dp = new float[SK], m = new float[TQ], l = new float[TQ];
        float[] dk = new float[0], dv = new float[0];

        void ensure(int d) {
            if (kt.length < d * SK) {
                kt = new float[d * SK]; vt = new float[d * SK];
                q = new float[TQ * d]; dO = new float[d]; acc = new float[TQ * d];
                dk = new float[SK * d]; dv = new float[SK * d];
            }
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** Transposes rows s0..s0+sk of k (or v) for kv head hk into dst[d * SK + j]. */
    private static void transposeTile(MemorySegment src, boolean isK, Dims dm, int b, int hk, int s0, int sk, float[] dst) {
        int d = dm.headDim;
        for (int j = 0; j < sk; j++) {
            long row = isK ? dm.kRow(b, s0 + j, hk) : dm.vRow(b, s0 + j, hk);
            for (int e = 0; e < d; e++) dst[e * SK + j] = src.getAtIndex(FLOAT, row + e);
        }
    }

    /** out[j] = scale * sum_e q[qo + e] * t[e * SK + j] for j < sk (t a transposed tile). */
    private static void scoreRow(float[] q, int qo, float[] t, int d, int sk, float scale, float[] out, int oo) {
        int j = 0, ub = Simd.bound(sk);
        for (; j < ub; j += L) {
            FloatVector acc = FloatVector.zero(F);
            for (int e = 0; e < d; e++) acc = FloatVector.broadcast(F, q[qo + e]).fma(FloatVector.fromArray(F, t, e * SK + j), acc);
            acc.mul(scale).intoArray(out, oo + j);
        }
        for (; j < sk; j++) {
            float acc = 0;
            for (int e = 0; e < d; e++) acc += q[qo + e] * t[e * SK + j];
            out[oo + j] = acc * scale;
        }
    }

    /** scores[o + j] = exp(scores[o + j] - shift) in place (masked -inf scores become 0); returns their sum. */
    private static float expRow(float[] scores, int o, int n, float shift) {
        int j = 0, ub = Simd.bound(n);
        float sum = 0;
        if (ub > 0) {
            FloatVector vs = FloatVector.broadcast(F, shift), acc = FloatVector.zero(F);
            for (; j < ub; j += L) {
                FloatVector p = Simd.exp(FloatVector.fromArray(F, scores, o + j).sub(vs));
                p.intoArray(scores, o + j);
                acc = acc.add(p);
            }
            sum = Simd.sumLanes(acc);
        }
        for (; j < n; j++) { float p = (float) Math.exp(scores[o + j] - shift); scores[o + j] = p; sum += p; }
        return sum;
    }

    private static boolean visible(MemorySegment keyMask, int keys, int b, int s, int pos) {
        return s <= pos && (keyMask == null || keyMask.getAtIndex(INT, (long) b * keys + s) != 0);
    }

    static void attentionForward(Parallel par, Dims dm, MemorySegment q, MemorySegment k, MemorySegment v, float scale,
                                 MemorySegment keyMask, MemorySegment out, MemorySegment lse) {
        int qTiles = (dm.queries + TQ - 1) / TQ, d = dm.headDim;
        par.forEach(dm.batches * dm.heads * qTiles, (w0, w1) -> {
            Scratch sc = SCRATCH.get();
            sc.ensure(d);
            for (int w = w0; w < w1; w++) {
                int b = w / (dm.heads * qTiles), h = (w / qTiles) % dm.heads, t0 = (w % qTiles) * TQ;
                int tq = Math.min(TQ, dm.queries - t0), hk = h / dm.group();
                for (int i = 0; i < tq; i++) Simd.copy(q, dm.qRow(b, t0 + i, h), sc.q, i * d, d);
                Arrays.fill(sc.m, Float.NEGATIVE_INFINITY);
                Arrays.fill(sc.l, 0f);
                Arrays.fill(sc.acc, 0, tq * d, 0f);
                int keyEnd = Math.min(dm.keys, dm.queryOffset + t0 + tq);  // keys past the last query's position are never visible
                for (int s0 = 0; s0 < keyEnd; s0 += SK) {
                    int sk = Math.min(SK, keyEnd - s0);
                    transposeTile(k, true, dm, b, hk, s0, sk, sc.kt);
                    for (int i = 0; i < tq; i++) {
                        int pos = dm.queryOffset + t0 + i;
                        if (pos < s0) continue;
                        int so = i * SK;
                        scoreRow(sc.q, i * d, sc.kt, d, sk, scale, sc.scores, so);
                        float tileMax = Float.NEGATIVE_INFINITY;
                        for (int j = 0; j < sk; j++) {
                            if (!visible(keyMask, dm.keys, b, s0 + j, pos)) sc.scores[so + j] = Float.NEGATIVE_INFINITY;
                            else tileMax = Math.max(tileMax, sc.scores[so + j]);
                        }
                        if (tileMax == Float.NEGATIVE_INFINITY) continue;
                        float mNew = Math.max(sc.m[i], tileMax);
                        float corr = (float) Math.exp(sc.m[i] - mNew);  // 0 on the first visible tile (m = -inf)
                        if (corr != 1f) for (int e = 0; e < d; e++) sc.acc[i * d + e] *= corr;
                        float lsum = sc.l[i] * corr + expRow(sc.scores, so, sk, mNew);
                        for (int j = 0; j < sk; j++) {
                            float p = sc.scores[so + j];
                            if (p != 0f) Simd.axpy(p, v, dm.vRow(b, s0 + j, hk), sc.acc, i * d, d);
                        }
                        sc.l[i] = lsum;
                        sc.m[i] = mNew;
                    }
                }
                for (int i = 0; i < tq; i++) {
                    long o = dm.qRow(b, t0 + i, h);
                    long li = dm.lseIndex(b, h, t0 + i);
                    if (sc.l[i] == 0f) {
                        out.asSlice(o * 4, d * 4L).fill((byte) 0);
                        lse.setAtIndex(FLOAT, li, Float.NEGATIVE_INFINITY);
                        continue;
                    }
                    float inv = 1f / sc.l[i];
                    for (int e = 0; e < d; e++) out.setAtIndex(FLOAT, o + e, sc.acc[i * d + e] * inv);
                    lse.setAtIndex(FLOAT, li, sc.m[i] + (float) Math.log(sc.l[i]));
                }
            }
        });
    }

    /**
     * p = exp(s - lse), dp = dOut . v, ds = p (dp - Di) with Di = dOut . out:
     * dQ = scale sum_j ds_j k_j;  dK_j = scale sum_i ds_ij q_i;  dV_j = sum_i p_ij dOut_i.
     */
    static void attentionBackward(Parallel par, Dims dm, MemorySegment dOut, MemorySegment q, MemorySegment k,
                                  MemorySegment v, MemorySegment out, MemorySegment lse, float scale, MemorySegment keyMask,
                                  MemorySegment dQ, MemorySegment dK, MemorySegment dV, long dKBatchStride, long dVBatchStride) {
        int d = dm.headDim, kTiles = (dm.keys + SK - 1) / SK, qTiles = (dm.queries + TQ - 1) / TQ;
        // Pass 1: dK, dV per (b, kv head, key tile), over every query head of the group and every query that sees the tile.
        par.forEach(dm.batches * dm.kvHeads * kTiles, (w0, w1) -> {
            Scratch sc = SCRATCH.get();
            sc.ensure(d);
            for (int w = w0; w < w1; w++) {
                int b = w / (dm.kvHeads * kTiles), hk = (w / kTiles) % dm.kvHeads, s0 = (w % kTiles) * SK;
                int sk = Math.min(SK, dm.keys - s0);
                Arrays.fill(sc.dk, 0, sk * d, 0f);
                Arrays.fill(sc.dv, 0, sk * d, 0f);
                transposeTile(k, true, dm, b, hk, s0, sk, sc.kt);
                transposeTile(v, false, dm, b, hk, s0, sk, sc.vt);
                int tStart = Math.max(0, s0 - dm.queryOffset);
                for (int h = hk * dm.group(); h < (hk + 1) * dm.group(); h++)
                    for (int t = tStart; t < dm.queries; t++) {
                        float l = lse.getAtIndex(FLOAT, dm.lseIndex(b, h, t));
                        if (l == Float.NEGATIVE_INFINITY) continue;
                        int pos = dm.queryOffset + t;
                        long qo = dm.qRow(b, t, h);
                        Simd.copy(q, qo, sc.q, 0, d);
                        Simd.copy(dOut, qo, sc.dO, 0, d);
                        float di = Simd.dot(dOut, qo, out, qo, d);
                        scoreRow(sc.q, 0, sc.kt, d, sk, scale, sc.scores, 0);
                        scoreRow(sc.dO, 0, sc.vt, d, sk, 1f, sc.dp, 0);
                        for (int j = 0; j < sk; j++) {
                            if (!visible(keyMask, dm.keys, b, s0 + j, pos)) continue;
                            float p = (float) Math.exp(sc.scores[j] - l);
                            float ds = p * (sc.dp[j] - di);
                            Simd.axpy(p, sc.dO, 0, sc.dv, j * d, d);
                            Simd.axpy(scale * ds, sc.q, 0, sc.dk, j * d, d);
                        }
                    }
                for (int j = 0; j < sk; j++) {
                    long kr = b * dKBatchStride + ((long) (s0 + j) * dm.kvHeads + hk) * d;
                    long vr = b * dVBatchStride + ((long) (s0 + j) * dm.kvHeads + hk) * d;
                    Simd.copy(sc.dk, j * d, dK, kr, d);
                    Simd.copy(sc.dv, j * d, dV, vr, d);
                }
            }
        });
        // Pass 2: dQ per (b, h, query tile).
        par.forEach(dm.batches * dm.heads * qTiles, (w0, w1) -> {
            Scratch sc = SCRATCH.get();
            sc.ensure(d);
            for (int w = w0; w < w1; w++) {
                int b = w / (dm.heads * qTiles), h = (w / qTiles) % dm.heads, t0 = (w % qTiles) * TQ;
                int tq = Math.min(TQ, dm.queries - t0), hk = h / dm.group();
                Arrays.fill(sc.acc, 0, tq * d, 0f);
                for (int i = 0; i < tq; i++) Simd.copy(q, dm.qRow(b, t0 + i, h), sc.q, i * d, d);
                int keyEnd = Math.min(dm.keys, dm.queryOffset + t0 + tq);
                for (int s0 = 0; s0 < keyEnd; s0 += SK) {
                    int sk = Math.min(SK, keyEnd - s0);
                    transposeTile(k, true, dm, b, hk, s0, sk, sc.kt);
                    transposeTile(v, false, dm, b, hk, s0, sk, sc.vt);
                    for (int i = 0; i < tq; i++) {
                        int t = t0 + i, pos = dm.queryOffset + t;
                        float l = lse.getAtIndex(FLOAT, dm.lseIndex(b, h, t));
                        if (pos < s0 || l == Float.NEGATIVE_INFINITY) continue;
                        long qo = dm.qRow(b, t, h);
                        Simd.copy(dOut, qo, sc.dO, 0, d);
                        float di = Simd.dot(dOut, qo, out, qo, d);
                        scoreRow(sc.q, i * d, sc.kt, d, sk, scale, sc.scores, 0);
                        scoreRow(sc.dO, 0, sc.vt, d, sk, 1f, sc.dp, 0);
                        for (int j = 0; j < sk; j++) {
                            if (!visible(keyMask, dm.keys, b, s0 + j, pos)) continue;
                            float p = (float) Math.exp(sc.scores[j] - l);
                            float ds = p * (sc.dp[j] - di);
                            if (ds != 0f) Simd.axpy(scale * ds, k, dm.kRow(b, s0 + j, hk), sc.acc, i * d, d);
                        }
                    }
                }
                for (int i = 0; i < tq; i++) Simd.copy(sc.acc, i * d, dQ, dm.qRow(b, t0 + i, h), d);
            }
        });
    }
}
