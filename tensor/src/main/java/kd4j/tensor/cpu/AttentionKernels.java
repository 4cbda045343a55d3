/*
 * Causal grouped-query attention, FlashAttention-style: each tile of TQ queries of a head walks the visible key
 * tiles of SK keys with an online softmax (running max m, running sum l, rescaled accumulator), so only a TQ x SK
 * score tile exists at any time. Forward tasks are (b, kv head), caching that head's transposed key tiles for all
 * its query tiles, when there are at least two such pairs per thread, else (b, h, query tile). The forward saves
 * lse = m + log l per query row. The backward recomputes
 * p = exp(s - lse) tile by tile: in one pass when there are at least two (batch, kv head) pairs per thread (a task
 * owns a kv head: its dK, dV and its query heads' dQ), else in two finer passes (dK, dV by key tile, then dQ by
 * query tile) that recompute P twice. Every task owns what it writes, so there are no locks.
 * Each key tile is transposed once into a [D, SK] scratch so a score row is D broadcast-FMAs over SK lanes
 * instead of SK horizontal reductions, and the products with a tile (P V, dS K, Pᵀ dO, dSᵀ Q) are micro-GEMM rows
 * (accRows) that keep an output row of D in vector registers while they stream the tile's rows. The backward
 * recomputes P and dS a whole TQ x SK tile at a time (vectorised exp and softmax backward).
 * Layouts: q, out, dOut, dQ [B, T, H, D]; k, v, dK, dV [B, S, Hkv, D] with any batch stride; lse [B, H, T]; keyMask I32 [B, S].
 */
package kd4j.tensor.cpu;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

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
        float[] kt = new float[0], vt = new float[0], kr = new float[0], vr = new float[0];
        float[] q = new float[0], dO = new float[0], acc = new float[0], dk = new float[0], dv = new float[0];
        final float[] scores = new float[TQ * SK], dp = new float[TQ * SK];
        final float[] m = new float[TQ], l = new float[TQ], di = new float[TQ];
        /** Per query row of a tile: the keys it sees in the current key tile (its causal bound), and whether it sees any. */
        final int[] vis = new int[TQ];
        final boolean[] live = new boolean[TQ];

        /**
         * The forward's per-(b, kv head) tile cache: key tile i transposed (ktTiles[i]) and value tile i as rows
         * (vrTiles[i]), filled in order as query tiles reach them; tilesReady of them are valid.
         */
        float[][] ktTiles = new float[0][], vrTiles = new float[0][];
        int tilesReady;
        /** Di = dOut . out of every query row of the backward task's heads ([head in group][t]). */
        float[] diRows = new float[0];

        void ensure(int d) {
            if (kt.length < d * SK) {
                kt = new float[d * SK]; vt = new float[d * SK]; kr = new float[SK * d]; vr = new float[SK * d];
                q = new float[TQ * d]; dO = new float[TQ * d]; acc = new float[TQ * d];
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

    /** Copies rows s0..s0+sk of k (or v) for kv head hk into dst[j * d + e] (row-major, contiguous). */
    private static void rowTile(MemorySegment src, boolean isK, Dims dm, int b, int hk, int s0, int sk, float[] dst) {
        int d = dm.headDim;
        for (int j = 0; j < sk; j++) Simd.copy(src, isK ? dm.kRow(b, s0 + j, hk) : dm.vRow(b, s0 + j, hk), dst, j * d, d);
    }

    /**
     * out[j] = scale * sum_e q[qo + e] * t[e * SK + j] for j < sk (t a transposed tile): one row of a Q Kᵀ micro-GEMM,
     * four independent vector accumulators over keys per pass so the FMA chains overlap.
     */
    private static void scoreRow(float[] q, int qo, float[] t, int d, int sk, float scale, float[] out, int oo) {
        int j = 0;
        if (!Simd.SCALAR)
            for (; j + 4 * L <= sk; j += 4 * L) {
                FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
                for (int e = 0, ti = j; e < d; e++, ti += SK) {
                    FloatVector x = FloatVector.broadcast(F, q[qo + e]);
                    a0 = x.fma(FloatVector.fromArray(F, t, ti), a0);
                    a1 = x.fma(FloatVector.fromArray(F, t, ti + L), a1);
                    a2 = x.fma(FloatVector.fromArray(F, t, ti + 2 * L), a2);
                    a3 = x.fma(FloatVector.fromArray(F, t, ti + 3 * L), a3);
                }
                a0.mul(scale).intoArray(out, oo + j);
                a1.mul(scale).intoArray(out, oo + j + L);
                a2.mul(scale).intoArray(out, oo + j + 2 * L);
                a3.mul(scale).intoArray(out, oo + j + 3 * L);
            }
        scoreTail(q, qo, t, d, j, sk, scale, out, oo);
    }

    /**
     * scoreRow for two query rows (q at qo and qo + d, out at oo and oo + SK): each 4L-wide run of a t row is loaded
     * once for both, so a step is 4 loads and 2 broadcasts for 8 FMAs in 8 independent chains (8 + 4 + 2 = 14
     * vector registers) instead of 5 loads for 4 FMAs in 4 chains. Each output is the same FMA chain as in scoreRow,
     * so the results are the same bits.
     */
    private static void scoreRowPair(float[] q, int qo, float[] t, int d, int sk, float scale, float[] out, int oo) {
        int j = 0, qo1 = qo + d, oo1 = oo + SK;
        if (!Simd.SCALAR)
            for (; j + 4 * L <= sk; j += 4 * L) {
                FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
                FloatVector b0 = FloatVector.zero(F), b1 = FloatVector.zero(F), b2 = FloatVector.zero(F), b3 = FloatVector.zero(F);
                for (int e = 0, ti = j; e < d; e++, ti += SK) {
                    FloatVector t0 = FloatVector.fromArray(F, t, ti), t1 = FloatVector.fromArray(F, t, ti + L);
                    FloatVector t2 = FloatVector.fromArray(F, t, ti + 2 * L), t3 = FloatVector.fromArray(F, t, ti + 3 * L);
                    FloatVector x = FloatVector.broadcast(F, q[qo + e]), y = FloatVector.broadcast(F, q[qo1 + e]);
                    a0 = x.fma(t0, a0); a1 = x.fma(t1, a1); a2 = x.fma(t2, a2); a3 = x.fma(t3, a3);
                    b0 = y.fma(t0, b0); b1 = y.fma(t1, b1); b2 = y.fma(t2, b2); b3 = y.fma(t3, b3);
                }
                a0.mul(scale).intoArray(out, oo + j); a1.mul(scale).intoArray(out, oo + j + L);
                a2.mul(scale).intoArray(out, oo + j + 2 * L); a3.mul(scale).intoArray(out, oo + j + 3 * L);
                b0.mul(scale).intoArray(out, oo1 + j); b1.mul(scale).intoArray(out, oo1 + j + L);
                b2.mul(scale).intoArray(out, oo1 + j + 2 * L); b3.mul(scale).intoArray(out, oo1 + j + 3 * L);
            }
        scoreTail(q, qo, t, d, j, sk, scale, out, oo);
        scoreTail(q, qo1, t, d, j, sk, scale, out, oo1);
    }

    /** scoreRow's keys from j on (fewer than 4L): one vector at a time, then scalars. */
    private static void scoreTail(float[] q, int qo, float[] t, int d, int j, int sk, float scale, float[] out, int oo) {
        if (!Simd.SCALAR)
            for (; j + L <= sk; j += L) {
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

    /**
     * Scores of query rows i0 <= i < i1 (q rows of d, out rows of SK) against the transposed tile t, two rows at a
     * time where both are wanted. rowWanted null means every row.
     */
    private static void scoreRows(float[] q, float[] t, int d, int sk, float scale, float[] out, int i0, int i1, boolean[] rowWanted) {
        int i = i0;
        while (i < i1) {
            if (rowWanted != null && !rowWanted[i]) { i++; continue; }
            if (i + 1 < i1 && (rowWanted == null || rowWanted[i + 1])) {
                scoreRowPair(q, i * d, t, d, sk, scale, out, i * SK);
                i += 2;
            } else {
                scoreRow(q, i * d, t, d, sk, scale, out, i * SK);
                i++;
            }
        }
    }

    /**
     * acc[ao + e] += sum_{j < n} w[wo + j * ws] * rows[ro + j * d + e] for e < d: one row of a P·V (or dSᵀ·Q, Pᵀ·dO,
     * dS·K) micro-GEMM with the output row held in four vector accumulators over the head dim.
     */
    private static void accRows(float[] w, int wo, int ws, int n, float[] rows, int ro, int d, float[] acc, int ao) {
        int e = 0;
        if (!Simd.SCALAR) {
            for (; e + 4 * L <= d; e += 4 * L) {
                FloatVector a0 = FloatVector.fromArray(F, acc, ao + e), a1 = FloatVector.fromArray(F, acc, ao + e + L);
                FloatVector a2 = FloatVector.fromArray(F, acc, ao + e + 2 * L), a3 = FloatVector.fromArray(F, acc, ao + e + 3 * L);
                for (int j = 0, wi = wo, ri = ro + e; j < n; j++, wi += ws, ri += d) {
                    FloatVector x = FloatVector.broadcast(F, w[wi]);
                    a0 = x.fma(FloatVector.fromArray(F, rows, ri), a0);
                    a1 = x.fma(FloatVector.fromArray(F, rows, ri + L), a1);
                    a2 = x.fma(FloatVector.fromArray(F, rows, ri + 2 * L), a2);
                    a3 = x.fma(FloatVector.fromArray(F, rows, ri + 3 * L), a3);
                }
                a0.intoArray(acc, ao + e); a1.intoArray(acc, ao + e + L);
                a2.intoArray(acc, ao + e + 2 * L); a3.intoArray(acc, ao + e + 3 * L);
            }
            for (; e + L <= d; e += L) {
                FloatVector a0 = FloatVector.fromArray(F, acc, ao + e);
                for (int j = 0, wi = wo, ri = ro + e; j < n; j++, wi += ws, ri += d)
                    a0 = FloatVector.broadcast(F, w[wi]).fma(FloatVector.fromArray(F, rows, ri), a0);
                a0.intoArray(acc, ao + e);
            }
        }
        for (; e < d; e++) {
            float s = acc[ao + e];
            for (int j = 0, wi = wo, ri = ro + e; j < n; j++, wi += ws, ri += d) s += w[wi] * rows[ri];
            acc[ao + e] = s;
        }
    }

    /**
     * acc row i += sum_{j < n[i]} w[i * SK + j] * rows[j * d + ..] for the rows i0 <= i < i1 of a score tile (P V or dS K):
     * two rows at a time with accRowPair over the keys both see, the longer row's extra keys after that. Each output
     * is the same FMA chain as accRows alone would give (same order of j), so the results are the same bits.
     */
    private static void accTileRows(float[] w, int[] n, int i0, int i1, float[] rows, int d, float[] acc) {
        int i = i0;
        boolean pairs = !Simd.SCALAR && d % (4 * L) == 0;
        for (; pairs && i + 2 <= i1; i += 2) {
            int common = Math.min(n[i], n[i + 1]);
            if (common > 0) accRowPair(w, i * SK, SK, 1, common, rows, 0, d, acc, i * d);
            for (int r = i; r < i + 2; r++)
                if (n[r] > common) accRows(w, r * SK + common, 1, n[r] - common, rows, common * d, d, acc, r * d);
        }
        for (; i < i1; i++) if (n[i] > 0) accRows(w, i * SK, 1, n[i], rows, 0, d, acc, i * d);
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

    /** dp[o + j] = scale * p[o + j] * (dp[o + j] - di): the softmax backward of one row, in place over dp. */
    private static void dsRow(float[] p, float[] dp, int o, int n, float di, float scale) {
        int j = 0, ub = Simd.bound(n);
        if (ub > 0) {
            FloatVector vdi = FloatVector.broadcast(F, di);
            for (; j < ub; j += L)
                FloatVector.fromArray(F, p, o + j).mul(scale).mul(FloatVector.fromArray(F, dp, o + j).sub(vdi)).intoArray(dp, o + j);
        }
        for (; j < n; j++) dp[o + j] = p[o + j] * scale * (dp[o + j] - di);
    }

    /**
     * Masks one score row of a key tile for the query at pos: keys past pos (causal) and keys with keyMask 0 become
     * -inf. Returns the number of leading keys that can be visible (the causal bound), 0 when none.
     */
    private static int maskRow(float[] scores, int o, MemorySegment keyMask, int keys, int b, int s0, int sk, int pos) {
        int vis = Math.max(0, Math.min(sk, pos - s0 + 1));
        for (int j = vis; j < sk; j++) scores[o + j] = Float.NEGATIVE_INFINITY;
        if (keyMask != null)
            for (int j = 0; j < vis; j++)
                if (keyMask.getAtIndex(INT, (long) b * keys + s0 + j) == 0) scores[o + j] = Float.NEGATIVE_INFINITY;
        return vis;
    }

    /**
     * With at least two (batch, kv head) pairs per thread, a task owns a kv head and runs every query tile of its
     * heads, so each key tile is transposed (and each value tile copied) once per task instead of once per query tile;
     * otherwise tasks are (b, h, query tile) for finer parallelism. Each query row gets the same operations either way.
     */
    static void attentionForward(Parallel par, Dims dm, MemorySegment q, MemorySegment k, MemorySegment v, float scale,
                                 MemorySegment keyMask, MemorySegment out, MemorySegment lse) {
        int qTiles = (dm.queries + TQ - 1) / TQ, d = dm.headDim;
        if (dm.batches * dm.kvHeads >= 2 * par.threads()) {
            par.forEach(dm.batches * dm.kvHeads, (w0, w1) -> {
                Scratch sc = SCRATCH.get();
                sc.ensure(d);
                for (int w = w0; w < w1; w++) {
                    int b = w / dm.kvHeads, hk = w % dm.kvHeads;
                    sc.tilesReady = 0;
                    for (int h = hk * dm.group(); h < (hk + 1) * dm.group(); h++)
                        for (int t0 = 0; t0 < dm.queries; t0 += TQ)
                            forwardQueryTile(sc, dm, q, k, v, scale, keyMask, out, lse, b, h, t0, true);
                }
            });
            return;
        }
        par.forEach(dm.batches * dm.heads * qTiles, (w0, w1) -> {
            Scratch sc = SCRATCH.get();
            sc.ensure(d);
            for (int w = w0; w < w1; w++) {
                int b = w / (dm.heads * qTiles), h = (w / qTiles) % dm.heads, t0 = (w % qTiles) * TQ;
                forwardQueryTile(sc, dm, q, k, v, scale, keyMask, out, lse, b, h, t0, false);
            }
        });
    }

    /**
     * The forward of one (b, h, query tile). Kept out of the parallel lambda (and the key-tile step out of this) so
     * that C2 compiles them from many invocations early, instead of waiting to OSR-compile one long-running loop.
     * cached: key/value tiles come from the scratch's tile cache (valid for this b and kv head), filled on first use.
     */
    private static void forwardQueryTile(Scratch sc, Dims dm, MemorySegment q, MemorySegment k, MemorySegment v, float scale,
                                         MemorySegment keyMask, MemorySegment out, MemorySegment lse, int b, int h, int t0,
                                         boolean cached) {
        int d = dm.headDim, tq = Math.min(TQ, dm.queries - t0), hk = h / dm.group();
        for (int i = 0; i < tq; i++) Simd.copy(q, dm.qRow(b, t0 + i, h), sc.q, i * d, d);
        Arrays.fill(sc.m, Float.NEGATIVE_INFINITY);
        Arrays.fill(sc.l, 0f);
        Arrays.fill(sc.acc, 0, tq * d, 0f);
        int keyEnd = Math.min(dm.keys, dm.queryOffset + t0 + tq);  // keys past the last query's position are never visible
        for (int s0 = 0; s0 < keyEnd; s0 += SK) {
            int sk = Math.min(SK, keyEnd - s0);
            float[] kt = sc.kt, vr = sc.vr;
            if (cached) {
                int tile = s0 / SK;
                if (tile >= sc.tilesReady) cacheTile(sc, dm, k, v, b, hk, tile);
                kt = sc.ktTiles[tile];
                vr = sc.vrTiles[tile];
            } else {
                transposeTile(k, true, dm, b, hk, s0, sk, kt);
                rowTile(v, false, dm, b, hk, s0, sk, vr);
            }
            forwardKeyTile(sc, dm, kt, vr, keyMask, scale, b, t0, tq, s0, sk);
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

    /** Fills the forward's tile cache up to key tile `tile` (whole tiles: later query tiles see more of them). */
    private static void cacheTile(Scratch sc, Dims dm, MemorySegment k, MemorySegment v, int b, int hk, int tile) {
        int d = dm.headDim;
        if (sc.ktTiles.length <= tile) {
            int n = Math.max(tile + 1, (dm.keys + SK - 1) / SK);
            sc.ktTiles = Arrays.copyOf(sc.ktTiles, n);
            sc.vrTiles = Arrays.copyOf(sc.vrTiles, n);
        }
        for (int t = sc.tilesReady; t <= tile; t++) {
            if (sc.ktTiles[t] == null || sc.ktTiles[t].length < d * SK) { sc.ktTiles[t] = new float[d * SK]; sc.vrTiles[t] = new float[SK * d]; }
            int s0 = t * SK, sk = Math.min(SK, dm.keys - s0);
            transposeTile(k, true, dm, b, hk, s0, sk, sc.ktTiles[t]);
            rowTile(v, false, dm, b, hk, s0, sk, sc.vrTiles[t]);
        }
        sc.tilesReady = tile + 1;
    }

    /**
     * One key tile (kt transposed, vr rows) against the query rows of the scratch: the online-softmax update. Scores
     * and P V go two rows at a time (scoreRows, accTileRows); the per-row softmax bookkeeping sits in between.
     */
    private static void forwardKeyTile(Scratch sc, Dims dm, float[] kt, float[] vr, MemorySegment keyMask, float scale,
                                       int b, int t0, int tq, int s0, int sk) {
        int d = dm.headDim, iFirst = Math.max(0, s0 - dm.queryOffset - t0);  // rows before iFirst see no key of the tile
        if (iFirst >= tq) return;
        scoreRows(sc.q, kt, d, sk, scale, sc.scores, iFirst, tq, null);
        for (int i = iFirst; i < tq; i++) {
            int so = i * SK, pos = dm.queryOffset + t0 + i;
            int vis = maskRow(sc.scores, so, keyMask, dm.keys, b, s0, sk, pos);
            float tileMax = Simd.max(sc.scores, so, vis);
            sc.vis[i] = 0;
            if (tileMax == Float.NEGATIVE_INFINITY) continue;
            float mNew = Math.max(sc.m[i], tileMax);
            float corr = (float) Math.exp(sc.m[i] - mNew);  // 0 on the first visible tile (m = -inf)
            if (corr != 1f) Simd.scale(sc.acc, i * d, d, corr);
            sc.l[i] = sc.l[i] * corr + expRow(sc.scores, so, vis, mNew);
            sc.m[i] = mNew;
            sc.vis[i] = vis;
        }
        accTileRows(sc.scores, sc.vis, iFirst, tq, vr, d, sc.acc);
    }

    /**
     * Recomputes, for query rows i < tq of the scratch tiles (q, dO, l, di) against the key tile at s0 (kt, vt
     * transposed), p = exp(s - lse) into scores and ds = scale p (dp - di) into dp, masked entries 0.
     * Returns, per row, nothing; rows with lse = -inf (no visible key) get all-zero p and ds.
     */
    private static void recompute(Scratch sc, Dims dm, MemorySegment keyMask, int b, int tFirst, int tq, int s0, int sk,
                                  float scale) {
        int d = dm.headDim;
        for (int i = 0; i < tq; i++) sc.live[i] = sc.l[i] != Float.NEGATIVE_INFINITY && dm.queryOffset + tFirst + i >= s0;
        scoreRows(sc.q, sc.kt, d, sk, scale, sc.scores, 0, tq, sc.live);
        scoreRows(sc.dO, sc.vt, d, sk, 1f, sc.dp, 0, tq, sc.live);
        for (int i = 0; i < tq; i++) {
            int so = i * SK;
            if (!sc.live[i]) {
                Arrays.fill(sc.scores, so, so + sk, 0f);
                Arrays.fill(sc.dp, so, so + sk, 0f);
                continue;
            }
            maskRow(sc.scores, so, keyMask, dm.keys, b, s0, sk, dm.queryOffset + tFirst + i);
            expRow(sc.scores, so, sk, sc.l[i]);
            dsRow(sc.scores, sc.dp, so, sk, sc.di[i], scale);
        }
    }

    /**
     * Loads query rows t0..t0+tq of head h into the scratch q and dO tiles with their lse and Di = dOut . out (from
     * sc.diRows when the task precomputed them for its kv head's group).
     */
    private static void loadQueries(Scratch sc, Dims dm, MemorySegment q, MemorySegment dOut, MemorySegment out,
                                    MemorySegment lse, int b, int h, int t0, int tq, boolean diPrecomputed) {
        int d = dm.headDim, diOff = (h % dm.group()) * dm.queries + t0;
        for (int i = 0; i < tq; i++) {
            long qo = dm.qRow(b, t0 + i, h);
            Simd.copy(q, qo, sc.q, i * d, d);
            Simd.copy(dOut, qo, sc.dO, i * d, d);
            sc.di[i] = diPrecomputed ? sc.diRows[diOff + i] : Simd.dot(dOut, qo, out, qo, d);
            sc.l[i] = lse.getAtIndex(FLOAT, dm.lseIndex(b, h, t0 + i));
        }
    }

    /**
     * p = exp(s - lse), dp = dOut . v, ds = p (dp - Di) with Di = dOut . out:
     * dQ = scale sum_j ds_j k_j;  dK_j = scale sum_i ds_ij q_i;  dV_j = sum_i p_ij dOut_i.
     * P and dS are recomputed a TQ x SK tile at a time and applied as micro-GEMMs. With at least two (batch, kv head)
     * pairs per thread, one pass does everything (fusedBackward: each task owns a kv head's dK, dV and its query heads'
     * dQ, so P and dS are computed once); otherwise two passes split finer (dK, dV by key tile, then dQ by query tile)
     * at the cost of computing P and dS twice. Both sum every output in the same order: the bits do not depend on
     * which path ran.
     */
    static void attentionBackward(Parallel par, Dims dm, MemorySegment dOut, MemorySegment q, MemorySegment k,
                                  MemorySegment v, MemorySegment out, MemorySegment lse, float scale, MemorySegment keyMask,
                                  MemorySegment dQ, MemorySegment dK, MemorySegment dV, long dKBatchStride, long dVBatchStride) {
        if (dm.batches * dm.kvHeads >= 2 * par.threads())
            fusedBackward(par, dm, dOut, q, k, v, out, lse, scale, keyMask, dQ, dK, dV, dKBatchStride, dVBatchStride);
        else
            twoPassBackward(par, dm, dOut, q, k, v, out, lse, scale, keyMask, dQ, dK, dV, dKBatchStride, dVBatchStride);
    }

    /** One task per (b, kv head): key tiles outer, the group's query heads and query tiles inner; dQ rows accumulate in place. */
    static void fusedBackward(Parallel par, Dims dm, MemorySegment dOut, MemorySegment q, MemorySegment k,
                              MemorySegment v, MemorySegment out, MemorySegment lse, float scale, MemorySegment keyMask,
                              MemorySegment dQ, MemorySegment dK, MemorySegment dV, long dKBatchStride, long dVBatchStride) {
        int d = dm.headDim;
        par.forEach(dm.batches * dm.kvHeads, (w0, w1) -> {
            Scratch sc = SCRATCH.get();
            sc.ensure(d);
            for (int w = w0; w < w1; w++) {
                int b = w / dm.kvHeads, hk = w % dm.kvHeads;
                for (int t = 0; t < dm.queries; t++) Simd.zero(dQ, dm.qRow(b, t, hk * dm.group()), dm.group() * d);  // the group's heads are adjacent
                // Di of every query row of the group once, not once per key tile
                if (sc.diRows.length < dm.group() * dm.queries) sc.diRows = new float[dm.group() * dm.queries];
                for (int g = 0; g < dm.group(); g++)
                    for (int t = 0; t < dm.queries; t++) {
                        long qo = dm.qRow(b, t, hk * dm.group() + g);
                        sc.diRows[g * dm.queries + t] = Simd.dot(dOut, qo, out, qo, d);
                    }
                for (int s0 = 0; s0 < dm.keys; s0 += SK) {
                    keyTileBackward(sc, dm, dOut, q, k, v, out, lse, scale, keyMask, dQ, b, hk, s0);
                    writeKeyGrads(sc, dm, b, hk, s0, Math.min(SK, dm.keys - s0), dK, dV, dKBatchStride, dVBatchStride);
                }
            }
        });
    }

    /**
     * Every query (of every head of the group) against the key tile at s0: dK, dV of the tile into the scratch and,
     * unless dQ is null (the two-pass path's first pass), the tile's share of dQ added in place. A non-null dQ means
     * the fused path, whose task has put the group's Di rows in sc.diRows.
     */
    private static void keyTileBackward(Scratch sc, Dims dm, MemorySegment dOut, MemorySegment q, MemorySegment k, MemorySegment v,
                                     MemorySegment out, MemorySegment lse, float scale, MemorySegment keyMask, MemorySegment dQ,
                                     int b, int hk, int s0) {
        int d = dm.headDim, sk = Math.min(SK, dm.keys - s0);
        Arrays.fill(sc.dk, 0, sk * d, 0f);
        Arrays.fill(sc.dv, 0, sk * d, 0f);
        transposeTile(k, true, dm, b, hk, s0, sk, sc.kt);
        transposeTile(v, false, dm, b, hk, s0, sk, sc.vt);
        if (dQ != null) rowTile(k, true, dm, b, hk, s0, sk, sc.kr);
        int tStart = Math.max(0, s0 - dm.queryOffset);
        for (int h = hk * dm.group(); h < (hk + 1) * dm.group(); h++)
            for (int t0 = tStart; t0 < dm.queries; t0 += TQ) {
                int tq = Math.min(TQ, dm.queries - t0);
                loadQueries(sc, dm, q, dOut, out, lse, b, h, t0, tq, dQ != null);
                recompute(sc, dm, keyMask, b, t0, tq, s0, sk, scale);
                accumulateKeyGrads(sc, d, sk, tq);
                if (dQ == null) continue;
                for (int i = 0; i < tq; i++) {
                    sc.vis[i] = Math.max(0, Math.min(sk, dm.queryOffset + t0 + i - s0 + 1));
                    if (sc.vis[i] > 0) Simd.copy(dQ, dm.qRow(b, t0 + i, h), sc.acc, i * d, d);
                }
                accTileRows(sc.dp, sc.vis, 0, tq, sc.kr, d, sc.acc);
                for (int i = 0; i < tq; i++)
                    if (sc.vis[i] > 0) Simd.copy(sc.acc, i * d, dQ, dm.qRow(b, t0 + i, h), d);
            }
    }

    /** Recomputes P and dS of the query tile at t0 against the key tile at s0 and adds dS K to the dQ rows in sc.acc. */
    private static void queryGradTile(Scratch sc, Dims dm, MemorySegment keyMask, float scale, int b, int t0, int tq, int s0, int sk) {
        int d = dm.headDim;
        recompute(sc, dm, keyMask, b, t0, tq, s0, sk, scale);
        for (int i = 0; i < tq; i++) sc.vis[i] = Math.max(0, Math.min(sk, dm.queryOffset + t0 + i - s0 + 1));
        accTileRows(sc.dp, sc.vis, 0, tq, sc.kr, d, sc.acc);
    }

    /** dV_j += sum_i p_ij dOut_i and dK_j += sum_i ds_ij q_i for the keys j < sk of the tile, from the recomputed P and dS. */
    private static void accumulateKeyGrads(Scratch sc, int d, int sk, int tq) {
        int j = 0;
        if (!Simd.SCALAR && d % (4 * L) == 0)
            for (; j + 2 <= sk; j += 2) {
                accRowPair(sc.scores, j, 1, SK, tq, sc.dO, 0, d, sc.dv, j * d);
                accRowPair(sc.dp, j, 1, SK, tq, sc.q, 0, d, sc.dk, j * d);
            }
        for (; j < sk; j++) {
            accRows(sc.scores, j, SK, tq, sc.dO, 0, d, sc.dv, j * d);
            accRows(sc.dp, j, SK, tq, sc.q, 0, d, sc.dk, j * d);
        }
    }

    /**
     * accRows for two adjacent output rows at once (weights w[wo + i ws] and w[wo + wp + i ws], outputs acc[ao..] and
     * acc[ao + d..]), 4L of the head dim at a time: each row of `rows` is loaded once for both outputs, so a step is
     * 4 loads and 2 broadcasts for 8 FMAs instead of 8 loads and 2 broadcasts (8 + 4 + 2 = 14 vector registers). Each
     * output element is the same FMA chain as in accRows, so the results are the same bits. Needs d a multiple of 4L.
     */
    private static void accRowPair(float[] w, int wo, int wp, int ws, int n, float[] rows, int ro, int d, float[] acc, int ao) {
        for (int e = 0; e < d; e += 4 * L) {
            int a0 = ao + e, a1 = ao + d + e;
            FloatVector x0 = FloatVector.fromArray(F, acc, a0), x1 = FloatVector.fromArray(F, acc, a0 + L);
            FloatVector x2 = FloatVector.fromArray(F, acc, a0 + 2 * L), x3 = FloatVector.fromArray(F, acc, a0 + 3 * L);
            FloatVector y0 = FloatVector.fromArray(F, acc, a1), y1 = FloatVector.fromArray(F, acc, a1 + L);
            FloatVector y2 = FloatVector.fromArray(F, acc, a1 + 2 * L), y3 = FloatVector.fromArray(F, acc, a1 + 3 * L);
            for (int i = 0, wi = wo, ri = ro + e; i < n; i++, wi += ws, ri += d) {
                FloatVector r0 = FloatVector.fromArray(F, rows, ri), r1 = FloatVector.fromArray(F, rows, ri + L);
                FloatVector r2 = FloatVector.fromArray(F, rows, ri + 2 * L), r3 = FloatVector.fromArray(F, rows, ri + 3 * L);
                FloatVector p = FloatVector.broadcast(F, w[wi]), q = FloatVector.broadcast(F, w[wi + wp]);
                x0 = p.fma(r0, x0); x1 = p.fma(r1, x1); x2 = p.fma(r2, x2); x3 = p.fma(r3, x3);
                y0 = q.fma(r0, y0); y1 = q.fma(r1, y1); y2 = q.fma(r2, y2); y3 = q.fma(r3, y3);
            }
            x0.intoArray(acc, a0); x1.intoArray(acc, a0 + L); x2.intoArray(acc, a0 + 2 * L); x3.intoArray(acc, a0 + 3 * L);
            y0.intoArray(acc, a1); y1.intoArray(acc, a1 + L); y2.intoArray(acc, a1 + 2 * L); y3.intoArray(acc, a1 + 3 * L);
        }
    }

    private static void writeKeyGrads(Scratch sc, Dims dm, int b, int hk, int s0, int sk, MemorySegment dK, MemorySegment dV,
                                      long dKBatchStride, long dVBatchStride) {
        int d = dm.headDim;
        for (int j = 0; j < sk; j++) {
            long kr = b * dKBatchStride + ((long) (s0 + j) * dm.kvHeads + hk) * d;
            long vr = b * dVBatchStride + ((long) (s0 + j) * dm.kvHeads + hk) * d;
            Simd.copy(sc.dk, j * d, dK, kr, d);
            Simd.copy(sc.dv, j * d, dV, vr, d);
        }
    }

    /** Pass 1 by (b, kv head, key tile) for dK, dV; pass 2 by (b, head, query tile) for dQ. */
    static void twoPassBackward(Parallel par, Dims dm, MemorySegment dOut, MemorySegment q, MemorySegment k,
                                MemorySegment v, MemorySegment out, MemorySegment lse, float scale, MemorySegment keyMask,
                                MemorySegment dQ, MemorySegment dK, MemorySegment dV, long dKBatchStride, long dVBatchStride) {
        int d = dm.headDim, kTiles = (dm.keys + SK - 1) / SK, qTiles = (dm.queries + TQ - 1) / TQ;
        // Pass 1: dK, dV per (b, kv head, key tile), over every query head of the group and every query that sees the tile.
        par.forEach(dm.batches * dm.kvHeads * kTiles, (w0, w1) -> {
            Scratch sc = SCRATCH.get();
            sc.ensure(d);
            for (int w = w0; w < w1; w++) {
                int b = w / (dm.kvHeads * kTiles), hk = (w / kTiles) % dm.kvHeads, s0 = (w % kTiles) * SK;
                keyTileBackward(sc, dm, dOut, q, k, v, out, lse, scale, keyMask, null, b, hk, s0);
                writeKeyGrads(sc, dm, b, hk, s0, Math.min(SK, dm.keys - s0), dK, dV, dKBatchStride, dVBatchStride);
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
                loadQueries(sc, dm, q, dOut, out, lse, b, h, t0, tq, false);
                int keyEnd = Math.min(dm.keys, dm.queryOffset + t0 + tq);
                for (int s0 = 0; s0 < keyEnd; s0 += SK) {
                    // The whole key tile, as the fused path sees it (keys past keyEnd are masked): P and dS get the same bits.
                    int sk = Math.min(SK, dm.keys - s0);
                    transposeTile(k, true, dm, b, hk, s0, sk, sc.kt);
                    transposeTile(v, false, dm, b, hk, s0, sk, sc.vt);
                    rowTile(k, true, dm, b, hk, s0, sk, sc.kr);
                    queryGradTile(sc, dm, keyMask, scale, b, t0, tq, s0, sk);
                }
                for (int i = 0; i < tq; i++) Simd.copy(sc.acc, i * d, dQ, dm.qRow(b, t0 + i, h), d);
            }
        });
    }
}
