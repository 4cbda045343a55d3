/*
 * reduce.cl: whole-tensor reductions (sum, sum of squares, non-finite count) and row-wise softmax/log-softmax.
 * Reductions are work-group trees: each of G groups of WG work-items (WG a power of two, from the build options)
 * strides over the input accumulating in double where the device has fp64, folds its WG values in local memory,
 * and writes one float partial; the host adds the G partials in double. mode: 0 sum, 1 sum of squares,
 * 2 count of non-finite values.
 * Softmax rows: one work-group per row of x [R, C]; max and sum are group trees; out may alias x (each element is
 * read and written by the same work-item). Saves nothing beyond out itself.
 * sum_column_partials: the second stage of the two-stage column reductions (dW, dB, see norm.cl): one work-item
 * per column c adds partials[po + s * C + c] for s = 0..S-1 in order to out[c] (+=). Deterministic, no atomics.
 */
#if defined(cl_khr_fp64)
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double acc_t;
#else
typedef float acc_t;
#endif

kernel void reduce_partials(global const float* x, long xo, long n, int mode, global float* partials) {
    local acc_t scratch[WG];
    int l = get_local_id(0);
    acc_t acc = 0;
    for (long i = get_global_id(0); i < n; i += get_global_size(0)) {
        float v = x[xo + i];
        acc += mode == 0 ? (acc_t) v : mode == 1 ? (acc_t) v * v : (isfinite(v) ? 0 : 1);
    }
    scratch[l] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = WG / 2; s > 0; s >>= 1) {
        if (l < s) scratch[l] += scratch[l + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0) partials[get_group_id(0)] = (float) scratch[0];
}

kernel void sum_column_partials(global const float* partials, long po, int S, int C, global float* out, long oo) {
    int c = get_global_id(0);
    if (c >= C) return;
    float s = 0.0f;
    for (int slice = 0; slice < S; slice++) s += partials[po + (long) slice * C + c];
    out[oo + c] += s;
}

kernel void softmax_forward(global const float* x, long xo, global float* out, long oo, int C) {
    local float scratch[WG];
    long row = get_group_id(0);
    int l = get_local_id(0);
    global const float* xr = x + xo + row * C;
    global float* outr = out + oo + row * C;
    float m = -INFINITY;
    for (int c = l; c < C; c += WG) m = fmax(m, xr[c]);
    m = group_max(m, scratch);
    float s = 0.0f;
    for (int c = l; c < C; c += WG) s += exp(xr[c] - m);   // subtract the row max before exp
    s = group_sum(s, scratch);
    float inv = 1.0f / s;
    for (int c = l; c < C; c += WG) outr[c] = exp(xr[c] - m) * inv;
}

kernel void softmax_backward(global const float* dOut, long go, global const float* out, long oo,
                             global float* dX, long dxo, int C) {
    local float scratch[WG];
    long row = get_group_id(0);
    int l = get_local_id(0);
    global const float* g = dOut + go + row * C;
    global const float* y = out + oo + row * C;
    float dot = 0.0f;
    for (int c = l; c < C; c += WG) dot += g[c] * y[c];
    dot = group_sum(dot, scratch);
    for (int c = l; c < C; c += WG) dX[dxo + row * C + c] = y[c] * (g[c] - dot);
}

kernel void log_softmax_forward(global const float* x, long xo, global float* out, long oo, int C) {
    local float scratch[WG];
    long row = get_group_id(0);
    int l = get_local_id(0);
    global const float* xr = x + xo + row * C;
    float m = -INFINITY;
    for (int c = l; c < C; c += WG) m = fmax(m, xr[c]);
    m = group_max(m, scratch);
    float s = 0.0f;
    for (int c = l; c < C; c += WG) s += exp(xr[c] - m);
    s = group_sum(s, scratch);
    float lse = m + log(s);
    for (int c = l; c < C; c += WG) out[oo + row * C + c] = xr[c] - lse;
}

kernel void log_softmax_backward(global const float* dOut, long go, global const float* out, long oo,
                                 global float* dX, long dxo, int C) {
    local float scratch[WG];
    long row = get_group_id(0);
    int l = get_local_id(0);
    global const float* g = dOut + go + row * C;
    float s = 0.0f;
    for (int c = l; c < C; c += WG) s += g[c];
    s = group_sum(s, scratch);
    for (int c = l; c < C; c += WG) dX[dxo + row * C + c] = g[c] - exp(out[oo + row * C + c]) * s;
}
