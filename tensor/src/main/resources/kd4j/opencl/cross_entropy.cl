/*
 * cross_entropy.cl: token cross-entropy with the log-softmax fused, chunked over the vocabulary.
 * logits, dLogits [N, V] F32; targets I32 [N]; losses, lse, dLosses [N] F32.
 * Work: one work-group of WG items per row; each item walks the row in steps of WG keeping an online (max, sum),
 * and the group merges the pairs as a tree, so no [N, V] softmax is materialised. Forward saves lse[n]; the
 * backward recomputes softmax = exp(logit - lse) chunk by chunk. Rows whose target is ignoreIndex get loss 0 and
 * zero gradients; a target outside [0, V) gives a NaN loss rather than reading out of bounds.
 */

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
