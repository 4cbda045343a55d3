/*
 * elementwise.cl: pointwise ops and their backwards (add, mul, scale, addScaled, the bias-gradient row sum,
 * SiLU, GELU (exact, erf), softplus, SwiGLU). All tensors F32, contiguous, addressed as pointer + element offset.
 * Work: one work-item per element, 1-D over n (global rounded up to the work-group size; extra items return).
 * add/mul broadcast b over a's leading dims: b[i % bn]. sum_rows_backward_partials: one work-item per (column,
 * row slice), the first stage of a two-stage column sum (see norm.cl).
 */

kernel void add(global const float* a, long ao, global const float* b, long bo, long bn,
                global float* out, long oo, long n) {
    long i = get_global_id(0);
    if (i < n) out[oo + i] = a[ao + i] + b[bo + i % bn];
}

kernel void add_scaled(global float* acc, long ao, global const float* x, long xo, float alpha, long n) {
    long i = get_global_id(0);
    if (i < n) acc[ao + i] += alpha * x[xo + i];
}

kernel void mul(global const float* a, long ao, global const float* b, long bo, long bn,
                global float* out, long oo, long n) {
    long i = get_global_id(0);
    if (i < n) out[oo + i] = a[ao + i] * b[bo + i % bn];
}

kernel void scale(global const float* x, long xo, float alpha, global float* out, long oo, long n) {
    long i = get_global_id(0);
    if (i < n) out[oo + i] = alpha * x[xo + i];
}

/* dB[c] += sum_r dOut[r, c]: one work-item per column, coalesced across columns. */
/* Stage 1 of dB += column sums of dOut [R, C]: item (c, slice) sums the slice's rows; reduce.cl's
 * sum_column_partials adds the slices in order. */
kernel void sum_rows_backward_partials(global const float* dOut, long go, global float* partials, int R, int C,
                                       int rowsPerSlice) {
    int c = get_global_id(0), slice = get_global_id(1);
    if (c >= C) return;
    int r1 = min(R, (slice + 1) * rowsPerSlice);
    float s = 0.0f;
    for (int r = slice * rowsPerSlice; r < r1; r++) s += dOut[go + (long) r * C + c];
    partials[(long) slice * C + c] = s;
}

float sigmoid(float x) { return 1.0f / (1.0f + exp(-x)); }

kernel void silu_forward(global const float* x, long xo, global float* out, long oo, long n) {
    long i = get_global_id(0);
    if (i < n) { float v = x[xo + i]; out[oo + i] = v * sigmoid(v); }
}

kernel void silu_backward(global const float* dOut, long go, global const float* x, long xo,
                          global float* dX, long dxo, long n) {
    long i = get_global_id(0);
    if (i >= n) return;
    float v = x[xo + i], s = sigmoid(v);
    dX[dxo + i] = dOut[go + i] * (s + v * s * (1.0f - s));
}

kernel void gelu_forward(global const float* x, long xo, global float* out, long oo, long n) {
    long i = get_global_id(0);
    if (i < n) { float v = x[xo + i]; out[oo + i] = 0.5f * v * (1.0f + erf(v * M_SQRT1_2_F)); }
}

/* d/dx [x Phi(x)] = Phi(x) + x phi(x), phi the standard normal density. */
kernel void gelu_backward(global const float* dOut, long go, global const float* x, long xo,
                          global float* dX, long dxo, long n) {
    long i = get_global_id(0);
    if (i >= n) return;
    float v = x[xo + i];
    float cdf = 0.5f * (1.0f + erf(v * M_SQRT1_2_F));
    float pdf = exp(-0.5f * v * v) * (M_2_SQRTPI_F * M_SQRT1_2_F * 0.5f);
    dX[dxo + i] = dOut[go + i] * (cdf + v * pdf);
}

/* Above 20, log1p(exp(x)) equals x in fp32 (PyTorch's threshold); below, log1p keeps precision for large -x. */
kernel void softplus_forward(global const float* x, long xo, global float* out, long oo, long n) {
    long i = get_global_id(0);
    if (i < n) { float v = x[xo + i]; out[oo + i] = v > 20.0f ? v : log1p(exp(v)); }
}

kernel void softplus_backward(global const float* dOut, long go, global const float* x, long xo,
                              global float* dX, long dxo, long n) {
    long i = get_global_id(0);
    if (i >= n) return;
    float v = x[xo + i];
    dX[dxo + i] = v > 20.0f ? dOut[go + i] : dOut[go + i] * sigmoid(v);
}

kernel void swiglu_forward(global const float* gate, long gto, global const float* up, long uo,
                           global float* out, long oo, long n) {
    long i = get_global_id(0);
    if (i >= n) return;
    float g = gate[gto + i];
    out[oo + i] = g * sigmoid(g) * up[uo + i];
}

kernel void swiglu_backward(global const float* dOut, long go, global const float* gate, long gto,
                            global const float* up, long uo, global float* dGate, long dgo,
                            global float* dUp, long duo, long n) {
    long i = get_global_id(0);
    if (i >= n) return;
    float g = gate[gto + i], s = sigmoid(g), d = dOut[go + i];
    dGate[dgo + i] = d * up[uo + i] * (s + g * s * (1.0f - s));
    dUp[duo + i] = d * g * s;
}
