/*
 * optim.cl: optimizer updates, in place, one work-item per parameter element (1-D). All F32, contiguous.
 * adamw_step: one tensor of n elements. adamw_step_multi: every tensor of a step in one launch, over the packed
 * layout (PackedParameters): p, g, m, v are four buffers in which tensor t sits at the same element offset
 * table[3t]; table[3t + 1] is its element count and table[3t + 2] the number of elements of all tensors before it
 * (start), so work-item i (0 <= i < total) finds its tensor by binary search over the starts and updates element
 * offset + i - start. weightDecay[t] per tensor. Both kernels call adamw_update, and contraction is off, so the
 * fused launch is bit-identical to one adamw_step per tensor.
 * Bias corrections bc1 = 1 - beta1^step and bc2 = 1 - beta2^step come from the host (computed once per step in
 * double). sgd_step: momentum buffer, decoupled weight decay.
 */
#pragma OPENCL FP_CONTRACT OFF

void adamw_update(global float* p, global const float* g, global float* m, global float* v, long i, float lr,
                  float beta1, float beta2, float eps, float weightDecay, float bc1, float bc2) {
    float gi = g[i];
    float mi = beta1 * m[i] + (1.0f - beta1) * gi;
    float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    float pi = p[i];
    p[i] = pi - lr * ((mi / bc1) / (sqrt(vi / bc2) + eps) + weightDecay * pi);
}

kernel void adamw_step(global float* p, long po, global const float* g, long go, global float* m, long mo,
                       global float* v, long vo, float lr, float beta1, float beta2, float eps, float weightDecay,
                       float bc1, float bc2, long n) {
    long i = get_global_id(0);
    if (i >= n) return;
    adamw_update(p + po, g + go, m + mo, v + vo, i, lr, beta1, beta2, eps, weightDecay, bc1, bc2);
}

kernel void adamw_step_multi(global float* p, global const float* g, global float* m, global float* v,
                             global const long* table, global const float* weightDecay, int count, long total,
                             float lr, float beta1, float beta2, float eps, float bc1, float bc2) {
    long i = get_global_id(0);
    if (i >= total) return;
    int lo = 0, hi = count - 1;                 /* the last tensor whose start is <= i */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (table[3 * mid + 2] <= i) lo = mid; else hi = mid - 1;
    }
    long e = table[3 * lo] + i - table[3 * lo + 2];
    adamw_update(p, g, m, v, e, lr, beta1, beta2, eps, weightDecay[lo], bc1, bc2);
}

kernel void sgd_step(global float* p, long po, global const float* g, long go, global float* buf, long bo,
                     float lr, float momentum, float weightDecay, long n) {
    long i = get_global_id(0);
    if (i >= n) return;
    float b = momentum * buf[bo + i] + g[go + i];
    buf[bo + i] = b;
    float pi = p[po + i];
    p[po + i] = pi - lr * (b + weightDecay * pi);
}
