/*
 * distill.cl: logit knowledge-distillation losses between a student and a teacher, chunked over the vocabulary.
 * student, teacher, dStudent [N, V] F32; perToken, dPerToken, lse [N]; ids I32 [N, K], probs F32 [N, K].
 * ls, lt = log_softmax(x / tau); ps, pt their probabilities. divergence: 0 FORWARD_KL sum pt (lt - ls);
 * 1 REVERSE_KL sum ps (ls - lt); 2 SOFT_CE -sum pt ls; 3 MSE mean (s - t)^2 (tau ignored).
 * Work: one work-group of WG items per row; log-sum-exps are online (max, sum) pairs merged as a group tree, then
 * a second pass over the row accumulates the divergence. Gradients w.r.t. z = s / tau, then divided by tau:
 *   FORWARD_KL, SOFT_CE: ps - pt;   REVERSE_KL: ps * ((ls - lt) - f), f the row's divergence;   MSE: 2 (s - t) / V.
 * The sparse variant reads the teacher as K (id, prob) pairs per row (ids < 0 are padding) and saves lse[n].
 */

/* The row's divergence; every item of the group gets it. */
float row_divergence(int divergence, global const float* s, global const float* t, int V, float tau,
                     float lseS, float lseT, local float* scratch) {
    float acc = 0.0f;
    for (int j = get_local_id(0); j < V; j += WG) {
        if (divergence == 3) { float d = s[j] - t[j]; acc += d * d; continue; }
        float ls = s[j] / tau - lseS, lt = t[j] / tau - lseT;
        if (divergence == 0) acc += exp(lt) * (lt - ls);
        else if (divergence == 1) acc += exp(ls) * (ls - lt);
        else acc -= exp(lt) * ls;
    }
    float r = group_sum(acc, scratch);
    return divergence == 3 ? r / V : r;
}

kernel void distill_forward(int divergence, float tau, global const float* student, long so,
                            global const float* teacher, long to, int V, global float* perToken, long po) {
    local float ms[WG], ss[WG];
    long n = get_group_id(0);
    global const float* s = student + so + n * V;
    global const float* t = teacher + to + n * V;
    float lseS = divergence == 3 ? 0.0f : group_lse(s, V, 1.0f / tau, ms, ss);
    float lseT = divergence == 3 ? 0.0f : group_lse(t, V, 1.0f / tau, ms, ss);
    float f = row_divergence(divergence, s, t, V, tau, lseS, lseT, ms);
    if (get_local_id(0) == 0) perToken[po + n] = f;
}

kernel void distill_backward(int divergence, float tau, global const float* dPerToken, long go,
                             global const float* student, long so, global const float* teacher, long to, int V,
                             global float* dStudent, long dso) {
    local float ms[WG], ss[WG];
    long n = get_group_id(0);
    global const float* s = student + so + n * V;
    global const float* t = teacher + to + n * V;
    global float* ds = dStudent + dso + n * V;
    float g = dPerToken[go + n];
    if (divergence == 3) {
        for (int j = get_local_id(0); j < V; j += WG) ds[j] = g * 2.0f * (s[j] - t[j]) / V;
        return;
    }
    float lseS = group_lse(s, V, 1.0f / tau, ms, ss);
    float lseT = group_lse(t, V, 1.0f / tau, ms, ss);
    float f = divergence == 1 ? row_divergence(1, s, t, V, tau, lseS, lseT, ms) : 0.0f;
    for (int j = get_local_id(0); j < V; j += WG) {
        float ls = s[j] / tau - lseS, lt = t[j] / tau - lseT;
        float ps = exp(ls);
        float dz = divergence == 1 ? ps * ((ls - lt) - f) : ps - exp(lt);
        ds[j] = g * dz / tau;
    }
}

kernel void sparse_distill_forward(float tau, global const float* student, long so, global const int* ids, long io,
                                   global const float* probs, long pro, int V, int K,
                                   global float* perToken, long po, global float* lse, long lo) {
    local float ms[WG], ss[WG];
    long n = get_group_id(0);
    global const float* s = student + so + n * V;
    float rowLse = group_lse(s, V, 1.0f / tau, ms, ss);
    float acc = 0.0f;
    for (int k = get_local_id(0); k < K; k += WG) {
        int id = ids[io + n * K + k];
        if (id >= 0) acc -= probs[pro + n * K + k] * (id < V ? s[id] / tau - rowLse : NAN);
    }
    acc = group_sum(acc, ms);
    if (get_local_id(0) == 0) { perToken[po + n] = acc; lse[lo + n] = rowLse; }
}

kernel void sparse_distill_backward(float tau, global const float* dPerToken, long go, global const float* student,
                                    long so, global const int* ids, long io, global const float* probs, long pro,
                                    global const float* lse, long lo, int V, int K, global float* dStudent, long dso) {
    local float scratch[WG];
    long n = get_group_id(0);
    global const float* s = student + so + n * V;
    global float* ds = dStudent + dso + n * V;
    float g = dPerToken[go + n] / tau, rowLse = lse[lo + n];
    float mass = 0.0f;
    for (int k = get_local_id(0); k < K; k += WG) if (ids[io + n * K + k] >= 0) mass += probs[pro + n * K + k];
    mass = group_sum(mass, scratch);
    for (int j = get_local_id(0); j < V; j += WG) ds[j] = g * exp(s[j] / tau - rowLse) * mass;
    barrier(CLK_GLOBAL_MEM_FENCE);   // the dense part is written before item 0 subtracts the targets
    if (get_local_id(0) != 0) return;
    for (int k = 0; k < K; k++) {
        int id = ids[io + n * K + k];
        if (id >= 0 && id < V) ds[id] -= g * probs[pro + n * K + k];   // in order: repeated ids accumulate
    }
}
