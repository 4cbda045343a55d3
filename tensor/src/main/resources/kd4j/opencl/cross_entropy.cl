/*
 * cross_entropy.cl: token cross-entropy with the log-softmax fused, chunked over the vocabulary.
 * logits, dLogits [N, V] F32; targets I32 [N]; losses, lse, dLosses [N] F32.
 * Work: one work-group of WG items per row; each item walks the row in steps of WG keeping an online (max, sum),
 * and the group merges the pairs as a tree, so no [N, V] softmax is materialised. Forward saves lse[n]; the
 * backward recomputes softmax = exp(logit - lse) chunk by chunk. Rows whose target is ignoreIndex get loss 0 and
 * zero gradients; a target outside [0, V) gives a NaN loss rather than reading out of bounds.
 */

/* Merges (m2, s2) into (m, s): sums of exp(x - m) under a common max; -inf maxima carry no mass. */
void merge_lse(float* m, float* s, float m2, float s2) {
    float mNew = fmax(*m, m2);
    if (mNew == -INFINITY) return;
    *s = *s * exp(*m - mNew) + s2 * exp(m2 - mNew);
    *m = mNew;
}

/* Log-sum-exp of scale * row[0..V) by the whole group; every item gets the result. */
float group_lse(global const float* row, int V, float scale, local float* ms, local float* ss) {
    int l = get_local_id(0);
    float m = -INFINITY, s = 0.0f;
    for (int j = l; j < V; j += WG) {
        float x = row[j] * scale;
        if (x > m) { s = s * exp(m - x) + 1.0f; m = x; } else s += exp(x - m);
    }
    ms[l] = m;
    ss[l] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int w = WG / 2; w > 0; w >>= 1) {
        if (l < w) {
            float a = ms[l], b = ss[l];
            merge_lse(&a, &b, ms[l + w], ss[l + w]);
            ms[l] = a;
            ss[l] = b;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = ms[0] + log(ss[0]);
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

kernel void cross_entropy_forward(global const float* logits, long xo, global const int* targets, long to,
                                  int ignoreIndex, int V, global float* losses, long lso, global float* lse, long leo) {
    local float ms[WG], ss[WG];
    long n = get_group_id(0);
    global const float* row = logits + xo + n * V;
    float rowLse = group_lse(row, V, 1.0f, ms, ss);
    if (get_local_id(0) != 0) return;
    int target = targets[to + n];
    lse[leo + n] = rowLse;
    if (target == ignoreIndex) losses[lso + n] = 0.0f;
    else if (target < 0 || target >= V) losses[lso + n] = NAN;
    else losses[lso + n] = rowLse - row[target];
}

kernel void cross_entropy_backward(global const float* dLosses, long go, global const float* logits, long xo,
                                   global const int* targets, long to, global const float* lse, long leo,
                                   int ignoreIndex, int V, global float* dLogits, long dxo) {
    long n = get_group_id(0);
    int target = targets[to + n];
    float g = target == ignoreIndex ? 0.0f : dLosses[go + n];
    float rowLse = lse[leo + n];
    for (int j = get_local_id(0); j < V; j += WG) {
        float p = exp(logits[xo + n * V + j] - rowLse);
        dLogits[dxo + n * V + j] = g * (p - (j == target ? 1.0f : 0.0f));
    }
}
