/*
 * common.cl: the helpers several op families share, prepended by KernelSource to every family's source before
 * it is built (so each is written once). WG, the work-group size, a power of two, comes from the build options.
 *   load_w      one element of a weight stored as F32/BF16/F16 (type 0/2/3), widened to float
 *   bf16_to_float  a bf16 bit pattern widened to float (bf16 is the upper half of an fp32)
 *   group_sum   sum of one value per work-item of the group, as a tree in local memory; every item gets it
 *   group_max   the same for the maximum
 *   merge_lse   merges two online log-sum-exp states (max, sum of exp(x - max))
 *   group_lse   log-sum-exp of scale * row[0..V) computed by the whole group, online and chunked
 * Every group_* helper ends with a barrier, so the scratch memory may be reused right after it returns.
 */

float load_w(global const void* p, long i, int type) {
    if (type == 0) return ((global const float*) p)[i];
    if (type == 2) return as_float(((uint) ((global const ushort*) p)[i]) << 16);   // bf16: upper half of fp32
    return vload_half(i, (global const half*) p);
}

float bf16_to_float(ushort h) { return as_float(((uint) h) << 16); }

float group_sum(float v, local float* scratch) {
    int l = get_local_id(0);
    scratch[l] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = WG / 2; s > 0; s >>= 1) {
        if (l < s) scratch[l] += scratch[l + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

float group_max(float v, local float* scratch) {
    int l = get_local_id(0);
    scratch[l] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = WG / 2; s > 0; s >>= 1) {
        if (l < s) scratch[l] = fmax(scratch[l], scratch[l + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

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
