/*
 * rope.cl: rotary position embedding, HF "rotate half" convention. x, out [B, T, H, D] F32 contiguous;
 * invFreq [D/2]. Token t has position positionOffset + t; angle a_i = position * invFreq[i].
 * Work: one work-item per (row = (b, t, h), i < D/2) pair; it reads x[i] and x[i + D/2] before writing both, so
 * out may alias x. sign = +1 rotates forward; sign = -1 rotates by the negative angles (the backward).
 */

kernel void rope_forward(global const float* x, long xo, global const float* invFreq, long fo, int positionOffset,
                         int T, int H, int D, float sign, global float* out, long oo, long n) {
    long gid = get_global_id(0);
    if (gid >= n) return;
    int halfD = D / 2;
    int i = gid % halfD;
    long row = gid / halfD;
    int t = (row / H) % T;
    float angle = (float) (positionOffset + t) * invFreq[fo + i];
    float c = cos(angle), s = sign * sin(angle);
    long base = row * D;
    float x1 = x[xo + base + i], x2 = x[xo + base + i + halfD];
    out[oo + base + i] = x1 * c - x2 * s;
    out[oo + base + i + halfD] = x2 * c + x1 * s;
}
