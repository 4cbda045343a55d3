/*
 * attention.cl: causal grouped-query attention, tile by tile with an online softmax (never a [T, S] score matrix).
 * q, out, dOut, dQ [B, T, H, D]; k, v [B, S, Hkv, D] with batch strides kbs, vbs (each [S, Hkv, D] block
 * contiguous: KV-cache views work); dK, dV [B, S, Hkv, D] contiguous; lse, delta [B, H, T]; keyMask I32 [B, S]
 * (hasMask = 0: every key). Query head h reads kv head h / (H / Hkv). Query t sits at position queryOffset + t and
 * sees keys s <= queryOffset + t with keyMask[b, s] != 0.
 * Work-groups: forward and dQ: BQ consecutive queries of one (b, h), one work-item per query row; key/value tiles of
 * BS rows are staged in local memory and shared by the group. dK/dV: BS consecutive keys of one (b, hkv) per group,
 * one work-item per key row, query/dOut tiles staged in local memory. Head dim D <= DMAX (build option).
 * Forward saves lse (scale * scores' log-sum-exp; -inf and a zero output when no key is visible). The backward
 * recomputes p = exp(scale * q.k - lse) tile by tile and uses delta[b, h, t] = dOut . out (attention_backward_delta).
 */

/* The head dim is a build option (HD = D of the call, at most DMAX), so the per-row loops over d have constant
 * bounds: the compiler unrolls them and keeps the private row arrays in registers instead of spilled memory. */
#define D HD

kernel void attention_forward(global const float* q, long qo, global const float* k, long ko, long kbs,
                              global const float* v, long vo, long vbs, global const int* mask, long mo, int hasMask,
                              float scale, int queryOffset, int T, int S, int H, int Hkv, int Drt,
                              global float* out, long oo, global float* lse, long lo) {
    local float Ks[BS][HD];
    local float Vs[BS][HD];
    const int l = get_local_id(0);
    const int t = get_group_id(0) * BQ + l;
    const int bh = get_group_id(1), b = bh / H, h = bh % H, hk = h / (H / Hkv);
    const bool active = t < T;
    float qr[HD], acc[HD];
    #pragma unroll
    for (int d = 0; d < D; d++) { qr[d] = active ? q[qo + (((long) b * T + t) * H + h) * D + d] : 0.0f; acc[d] = 0.0f; }
    float m = -INFINITY, sum = 0.0f;
    const int lastQuery = min(T - 1, (int) get_group_id(0) * BQ + BQ - 1);
    const int sEnd = min(S, queryOffset + lastQuery + 1);   // keys past the group's last visible one are never staged
    for (int s0 = 0; s0 < sEnd; s0 += BS) {
        for (int e = l; e < BS * D; e += BQ) {
            int r = e / D, d = e % D, s = s0 + r;
            Ks[r][d] = s < S ? k[ko + b * kbs + ((long) s * Hkv + hk) * D + d] : 0.0f;
            Vs[r][d] = s < S ? v[vo + b * vbs + ((long) s * Hkv + hk) * D + d] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (active) {
            for (int r = 0; r < BS; r++) {
                int s = s0 + r;
                if (s >= S || s > queryOffset + t) break;
                if (hasMask && mask[mo + (long) b * S + s] == 0) continue;
                float score = 0.0f;
                #pragma unroll
                for (int d = 0; d < D; d++) score = fma(qr[d], Ks[r][d], score);
                score *= scale;
                float mNew = fmax(m, score);
                float correction = exp(m - mNew);            // rescales what was summed under the old max
                float p = exp(score - mNew);
                sum = sum * correction + p;
                #pragma unroll
                for (int d = 0; d < D; d++) acc[d] = acc[d] * correction + p * Vs[r][d];
                m = mNew;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (!active) return;
    long orow = oo + (((long) b * T + t) * H + h) * D;
    float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
    #pragma unroll
    for (int d = 0; d < D; d++) out[orow + d] = acc[d] * inv;
    lse[lo + ((long) b * H + h) * T + t] = sum > 0.0f ? m + log(sum) : -INFINITY;
}

/* delta[b, h, t] = sum_d dOut * out: one work-item per query row. */
kernel void attention_backward_delta(global const float* dOut, long go, global const float* out, long oo,
                                     int T, int H, int Drt, global float* delta, long n) {
    long gid = get_global_id(0);
    if (gid >= n) return;
    int h = gid % H;
    long bt = gid / H;
    int t = bt % T, b = bt / T;
    float s = 0.0f;
    #pragma unroll
    for (int d = 0; d < D; d++) s += dOut[go + gid * D + d] * out[oo + gid * D + d];
    delta[((long) b * H + h) * T + t] = s;
}

/* dQ[t] = scale * sum_s p_ts (dOut_t . v_s - delta_t) k_s, one work-item per query row, k/v tiles in local memory. */
kernel void attention_backward_dq(global const float* dOut, long go, global const float* q, long qo,
                                  global const float* k, long ko, long kbs, global const float* v, long vo, long vbs,
                                  global const float* lse, long lo, global const float* delta,
                                  global const int* mask, long mo, int hasMask, float scale, int queryOffset,
                                  int T, int S, int H, int Hkv, int Drt, global float* dQ, long dqo) {
    local float Ks[BS][HD];
    local float Vs[BS][HD];
    const int l = get_local_id(0);
    const int t = get_group_id(0) * BQ + l;
    const int bh = get_group_id(1), b = bh / H, h = bh % H, hk = h / (H / Hkv);
    const bool active = t < T;
    long row = (((long) b * T + t) * H + h) * D;
    float qr[HD], gr[HD], dq[HD];
    #pragma unroll
    for (int d = 0; d < D; d++) {
        qr[d] = active ? q[qo + row + d] : 0.0f;
        gr[d] = active ? dOut[go + row + d] : 0.0f;
        dq[d] = 0.0f;
    }
    float rowLse = active ? lse[lo + ((long) b * H + h) * T + t] : 0.0f;
    float rowDelta = active ? delta[((long) b * H + h) * T + t] : 0.0f;
    const int lastQuery = min(T - 1, (int) get_group_id(0) * BQ + BQ - 1);
    const int sEnd = min(S, queryOffset + lastQuery + 1);
    for (int s0 = 0; s0 < sEnd; s0 += BS) {
        for (int e = l; e < BS * D; e += BQ) {
            int r = e / D, d = e % D, s = s0 + r;
            Ks[r][d] = s < S ? k[ko + b * kbs + ((long) s * Hkv + hk) * D + d] : 0.0f;
            Vs[r][d] = s < S ? v[vo + b * vbs + ((long) s * Hkv + hk) * D + d] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (active) {
            for (int r = 0; r < BS; r++) {
                int s = s0 + r;
                if (s >= S || s > queryOffset + t) break;
                if (hasMask && mask[mo + (long) b * S + s] == 0) continue;
                float score = 0.0f, dp = 0.0f;
                #pragma unroll
                for (int d = 0; d < D; d++) { score = fma(qr[d], Ks[r][d], score); dp = fma(gr[d], Vs[r][d], dp); }
                float p = exp(score * scale - rowLse);
                float ds = p * (dp - rowDelta) * scale;
                #pragma unroll
                for (int d = 0; d < D; d++) dq[d] = fma(ds, Ks[r][d], dq[d]);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (!active) return;
    #pragma unroll
    for (int d = 0; d < D; d++) dQ[dqo + row + d] = dq[d];
}

/*
 * dV[s] = sum over the group's query heads and visible t of p_ts dOut_t;
 * dK[s] = scale * sum of p_ts (dOut_t . v_s - delta_t) q_t. One work-item per key row; q/dOut tiles in local memory.
 */
kernel void attention_backward_dkdv(global const float* dOut, long go, global const float* q, long qo,
                                    global const float* k, long ko, long kbs, global const float* v, long vo, long vbs,
                                    global const float* lse, long lo, global const float* delta,
                                    global const int* mask, long mo, int hasMask, float scale, int queryOffset,
                                    int T, int S, int H, int Hkv, int Drt,
                                    global float* dK, long dko, global float* dV, long dvo) {
    local float Qs[BQ][HD];
    local float Gs[BQ][HD];
    local float Ls[BQ], Ds[BQ];
    const int l = get_local_id(0);
    const int s = get_group_id(0) * BS + l;
    const int bk = get_group_id(1), b = bk / Hkv, hk = bk % Hkv, group = H / Hkv;
    const bool active = s < S && !(hasMask && mask[mo + (long) b * S + s] == 0);
    float kr[HD], vr[HD], dk[HD], dv[HD];
    #pragma unroll
    for (int d = 0; d < D; d++) {
        kr[d] = s < S ? k[ko + b * kbs + ((long) s * Hkv + hk) * D + d] : 0.0f;
        vr[d] = s < S ? v[vo + b * vbs + ((long) s * Hkv + hk) * D + d] : 0.0f;
        dk[d] = 0.0f;
        dv[d] = 0.0f;
    }
    /* Query t sees key s when s <= queryOffset + t: the group's first key bounds the first query tile. */
    const int firstKey = get_group_id(0) * BS;
    const int tStart = max(0, firstKey - queryOffset) / BQ * BQ;
    for (int h = hk * group; h < (hk + 1) * group; h++) {
        for (int t0 = tStart; t0 < T; t0 += BQ) {
            for (int e = l; e < BQ * D; e += BS) {
                int r = e / D, d = e % D, t = t0 + r;
                long row = (((long) b * T + t) * H + h) * D + d;
                Qs[r][d] = t < T ? q[qo + row] : 0.0f;
                Gs[r][d] = t < T ? dOut[go + row] : 0.0f;
            }
            for (int r = l; r < BQ; r += BS) {
                int t = t0 + r;
                Ls[r] = t < T ? lse[lo + ((long) b * H + h) * T + t] : 0.0f;
                Ds[r] = t < T ? delta[((long) b * H + h) * T + t] : 0.0f;
            }
            barrier(CLK_LOCAL_MEM_FENCE);
            if (active) {
                for (int r = 0; r < BQ; r++) {
                    int t = t0 + r;
                    if (t >= T) break;
                    if (s > queryOffset + t) continue;
                    float score = 0.0f, dp = 0.0f;
                    #pragma unroll
                    for (int d = 0; d < D; d++) { score = fma(Qs[r][d], kr[d], score); dp = fma(Gs[r][d], vr[d], dp); }
                    float p = exp(score * scale - Ls[r]);
                    float ds = p * (dp - Ds[r]) * scale;
                    #pragma unroll
                    for (int d = 0; d < D; d++) { dv[d] = fma(p, Gs[r][d], dv[d]); dk[d] = fma(ds, Qs[r][d], dk[d]); }
                }
            }
            barrier(CLK_LOCAL_MEM_FENCE);
        }
    }
    if (s >= S) return;
    long krow = (((long) b * S + s) * Hkv + hk) * D;
    #pragma unroll
    for (int d = 0; d < D; d++) { dK[dko + krow + d] = dk[d]; dV[dvo + krow + d] = dv[d]; }
}
