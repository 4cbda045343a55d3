/*
 * norm.cl: RMSNorm and LayerNorm over the last dim, forward and backward. x, out, dOut, dX [R, C] F32;
 * w [C] F32/BF16/F16 (wType 0/2/3, widened as loaded); b [C] F32 (hasB = 0 when absent).
 * Forward and the dX backward: one work-group of WG items per row, sums as group trees. Forwards save invRms [R]
 * (RMSNorm) or mean, invStd [R] (LayerNorm). Parameter gradients dW, dB (+=) are two-stage column reductions
 * without atomics: the *_partials kernels run one work-item per (column c, row slice s) and write the slice's sum
 * to partials[s * C + c] (rows of a slice in order); reduce.cl's sum_column_partials then adds the slices of each
 * column in order to dW / dB. The slicing depends on R alone, so reruns give the same bits.
 *   rms:   y = x * inv * w, inv = 1/sqrt(mean(x^2) + eps); dx = inv * g*w - x * inv^3 * mean(g*w*x)
 *   layer: xh = (x - mean) * inv; y = xh * w + b;         dx = inv * (g*w - mean(g*w) - xh * mean(g*w*xh))
 */

kernel void rms_norm_forward(global const float* x, long xo, global const void* w, long wo, int wType, float eps,
                             global float* out, long oo, global float* invRms, long io, int C) {
    local float scratch[WG];
    long row = get_group_id(0);
    int l = get_local_id(0);
    global const float* xr = x + xo + row * C;
    float ss = 0.0f;
    for (int c = l; c < C; c += WG) ss += xr[c] * xr[c];
    ss = group_sum(ss, scratch);
    float inv = rsqrt(ss / C + eps);
    if (l == 0) invRms[io + row] = inv;
    for (int c = l; c < C; c += WG) out[oo + row * C + c] = xr[c] * inv * load_w(w, wo + c, wType);
}

kernel void rms_norm_backward_dx(global const float* dOut, long go, global const float* x, long xo,
                                 global const void* w, long wo, int wType, global const float* invRms, long io,
                                 global float* dX, long dxo, int C) {
    local float scratch[WG];
    long row = get_group_id(0);
    int l = get_local_id(0);
    global const float* xr = x + xo + row * C;
    global const float* g = dOut + go + row * C;
    float inv = invRms[io + row];
    float dot = 0.0f;
    for (int c = l; c < C; c += WG) dot += g[c] * load_w(w, wo + c, wType) * xr[c];
    dot = group_sum(dot, scratch) / C;
    for (int c = l; c < C; c += WG)
        dX[dxo + row * C + c] = inv * g[c] * load_w(w, wo + c, wType) - xr[c] * inv * inv * inv * dot;
}

kernel void rms_norm_backward_dw_partials(global const float* dOut, long go, global const float* x, long xo,
                                          global const float* invRms, long io, global float* partials, int R, int C,
                                          int rowsPerSlice) {
    int c = get_global_id(0), slice = get_global_id(1);
    if (c >= C) return;
    int r1 = min(R, (slice + 1) * rowsPerSlice);
    float s = 0.0f;
    for (int r = slice * rowsPerSlice; r < r1; r++) s += dOut[go + (long) r * C + c] * x[xo + (long) r * C + c] * invRms[io + r];
    partials[(long) slice * C + c] = s;
}

kernel void layer_norm_forward(global const float* x, long xo, global const void* w, long wo, int wType,
                               global const float* b, long bo, int hasB, float eps, global float* out, long oo,
                               global float* mean, long mo, global float* invStd, long io, int C) {
    local float scratch[WG];
    long row = get_group_id(0);
    int l = get_local_id(0);
    global const float* xr = x + xo + row * C;
    float s = 0.0f;
    for (int c = l; c < C; c += WG) s += xr[c];
    float mu = group_sum(s, scratch) / C;
    float v = 0.0f;
    for (int c = l; c < C; c += WG) { float d = xr[c] - mu; v += d * d; }   // two-pass variance: no cancellation
    float inv = rsqrt(group_sum(v, scratch) / C + eps);
    if (l == 0) { mean[mo + row] = mu; invStd[io + row] = inv; }
    for (int c = l; c < C; c += WG)
        out[oo + row * C + c] = (xr[c] - mu) * inv * load_w(w, wo + c, wType) + (hasB ? b[bo + c] : 0.0f);
}

kernel void layer_norm_backward_dx(global const float* dOut, long go, global const float* x, long xo,
                                   global const void* w, long wo, int wType, global const float* mean, long mo,
                                   global const float* invStd, long io, global float* dX, long dxo, int C) {
    local float scratch[WG];
    long row = get_group_id(0);
    int l = get_local_id(0);
    global const float* xr = x + xo + row * C;
    global const float* g = dOut + go + row * C;
    float mu = mean[mo + row], inv = invStd[io + row];
    float sg = 0.0f, sgx = 0.0f;
    for (int c = l; c < C; c += WG) {
        float gw = g[c] * load_w(w, wo + c, wType);
        sg += gw;
        sgx += gw * (xr[c] - mu) * inv;
    }
    sg = group_sum(sg, scratch) / C;
    sgx = group_sum(sgx, scratch) / C;
    for (int c = l; c < C; c += WG) {
        float xh = (xr[c] - mu) * inv;
        dX[dxo + row * C + c] = inv * (g[c] * load_w(w, wo + c, wType) - sg - xh * sgx);
    }
}

/* dW partials at partials[s * C + c], dB partials after them at partials[(S + s) * C + c] (S = slices). */
kernel void layer_norm_backward_dwdb_partials(global const float* dOut, long go, global const float* x, long xo,
                                              global const float* mean, long mo, global const float* invStd, long io,
                                              global float* partials, int R, int C, int rowsPerSlice) {
    int c = get_global_id(0), slice = get_global_id(1);
    if (c >= C) return;
    int r1 = min(R, (slice + 1) * rowsPerSlice);
    float sw = 0.0f, sb = 0.0f;
    for (int r = slice * rowsPerSlice; r < r1; r++) {
        float g = dOut[go + (long) r * C + c];
        sw += g * (x[xo + (long) r * C + c] - mean[mo + r]) * invStd[io + r];
        sb += g;
    }
    partials[(long) slice * C + c] = sw;
    partials[(long) (get_global_size(1) + slice) * C + c] = sb;
}
