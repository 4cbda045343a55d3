/*
 * conv_scan.cl: Mamba's causal depthwise conv and selective scan, forward, backward and one-token decode steps.
 * Conv: x, out, dOut, dX [B, T, C]; w, dW [C, Kw]; bias, dBias [C] (hasBias = 0 when absent); inputs before t = 0
 * are zero. Forward and dX: one work-item per element; dW/dBias (+=): one work-item per (c, j) looping over (b, t).
 * Scan: u, delta, y, dY [B, T, I]; aLog [I, N]; bMat, cMat [B, T, N]; d [I]; A = -exp(aLog); state s [N] per
 * (b, i) starts at 0: s = exp(delta A) s + delta B u; y = s . C + D u. N <= NMAX (build option).
 * Forward: one work-item per (b, i), the state in registers. Backward: one work-item per channel i loops over the
 * batch, recomputing the states into S [B, T, I, N] and writing the state gradients G [B, T, I, N] (scratch the
 * host allocates); it accumulates dALog and dD (+=) for its channel without atomics. A second kernel, one
 * work-item per (b, t, n), reduces over i for dB and dC (=).
 */

kernel void causal_conv1d_forward(global const float* x, long xo, global const float* w, long wo,
                                  global const float* bias, long bo, int hasBias, int T, int C, int Kw,
                                  global float* out, long oo, long n) {
    long gid = get_global_id(0);
    if (gid >= n) return;
    int c = gid % C;
    long bt = gid / C;
    int t = bt % T;
    float acc = hasBias ? bias[bo + c] : 0.0f;
    for (int j = 0; j < Kw; j++) {
        int ts = t - (Kw - 1) + j;
        if (ts >= 0) acc += w[wo + (long) c * Kw + j] * x[xo + gid + (long) (ts - t) * C];
    }
    out[oo + gid] = acc;
}

kernel void causal_conv1d_backward_dx(global const float* dOut, long go, global const float* w, long wo,
                                      int T, int C, int Kw, global float* dX, long dxo, long n) {
    long gid = get_global_id(0);
    if (gid >= n) return;
    int c = gid % C;
    int t = (gid / C) % T;
    float acc = 0.0f;
    for (int j = 0; j < Kw; j++) {
        int to = t + (Kw - 1) - j;   // the output that read x[t] through tap j
        if (to < T) acc += w[wo + (long) c * Kw + j] * dOut[go + gid + (long) (to - t) * C];
    }
    dX[dxo + gid] = acc;
}

kernel void causal_conv1d_backward_dw(global const float* dOut, long go, global const float* x, long xo,
                                      int B, int T, int C, int Kw, global float* dW, long dwo,
                                      global float* dBias, long dbo, int hasBias) {
    int gid = get_global_id(0);
    if (gid >= C * Kw) return;
    int c = gid / Kw, j = gid % Kw;
    float sw = 0.0f, sb = 0.0f;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            float g = dOut[go + ((long) b * T + t) * C + c];
            int ts = t - (Kw - 1) + j;
            if (ts >= 0) sw += g * x[xo + ((long) b * T + ts) * C + c];
            sb += g;
        }
    dW[dwo + gid] += sw;
    if (hasBias && j == 0) dBias[dbo + c] += sb;
}

/* convState [B, C, Kw-1], oldest first, shifted in place; x, out [B, C]. One work-item per (b, c). */
kernel void causal_conv1d_step(global const float* x, long xo, global const float* w, long wo,
                               global const float* bias, long bo, int hasBias, int C, int Kw,
                               global float* state, long so, global float* out, long oo, long n) {
    long gid = get_global_id(0);
    if (gid >= n) return;
    int c = gid % C;
    global float* st = state + so + gid * (Kw - 1);
    float xv = x[xo + gid];
    float acc = hasBias ? bias[bo + c] : 0.0f;
    for (int j = 0; j < Kw - 1; j++) acc += w[wo + (long) c * Kw + j] * st[j];
    acc += w[wo + (long) c * Kw + Kw - 1] * xv;
    for (int j = 0; j + 1 < Kw - 1; j++) st[j] = st[j + 1];
    if (Kw > 1) st[Kw - 2] = xv;
    out[oo + gid] = acc;
}

kernel void selective_scan_forward(global const float* u, long uo, global const float* delta, long dlo,
                                   global const float* aLog, long ao, global const float* bMat, long bo,
                                   global const float* cMat, long co, global const float* d, long ddo,
                                   int Bsz, int T, int I, int N, global float* y, long yo) {
    int gid = get_global_id(0);
    if (gid >= Bsz * I) return;
    int i = gid % I, b = gid / I;
    float A[NMAX], s[NMAX];
    for (int j = 0; j < N; j++) { A[j] = -exp(aLog[ao + (long) i * N + j]); s[j] = 0.0f; }
    float D = d[ddo + i];
    for (int t = 0; t < T; t++) {
        long bti = ((long) b * T + t) * I + i, btn = ((long) b * T + t) * N;
        float dt = delta[dlo + bti], ut = u[uo + bti], acc = 0.0f;
        for (int j = 0; j < N; j++) {
            s[j] = exp(dt * A[j]) * s[j] + dt * bMat[bo + btn + j] * ut;
            acc += s[j] * cMat[co + btn + j];
        }
        y[yo + bti] = acc + D * ut;
    }
}

/*
 * Reverse pass per channel i: g_t = dY_t C_t + exp(delta_{t+1} A) g_{t+1};
 * dU = dY D + sum_n g delta B;  dDelta = sum_n g (A a s_{t-1} + B u);  dA += g delta a s_{t-1};  dALog = dA * A.
 */
kernel void selective_scan_backward(global const float* dY, long gyo, global const float* u, long uo,
                                    global const float* delta, long dlo, global const float* aLog, long ao,
                                    global const float* bMat, long bo, global const float* cMat, long co,
                                    global const float* d, long ddo, int Bsz, int T, int I, int N,
                                    global float* S, global float* G,
                                    global float* dU, long duo, global float* dDelta, long ddlo,
                                    global float* dALog, long dao, global float* dD, long dDo) {
    int i = get_global_id(0);
    if (i >= I) return;
    float A[NMAX], s[NMAX], g[NMAX], dA[NMAX];
    for (int j = 0; j < N; j++) { A[j] = -exp(aLog[ao + (long) i * N + j]); dA[j] = 0.0f; }
    float D = d[ddo + i], dDacc = 0.0f;
    for (int b = 0; b < Bsz; b++) {
        for (int j = 0; j < N; j++) s[j] = 0.0f;
        for (int t = 0; t < T; t++) {
            long bti = ((long) b * T + t) * I + i, btn = ((long) b * T + t) * N;
            float dt = delta[dlo + bti], ut = u[uo + bti];
            for (int j = 0; j < N; j++) {
                s[j] = exp(dt * A[j]) * s[j] + dt * bMat[bo + btn + j] * ut;
                S[bti * N + j] = s[j];
            }
        }
        for (int j = 0; j < N; j++) g[j] = 0.0f;
        for (int t = T - 1; t >= 0; t--) {
            long bti = ((long) b * T + t) * I + i, btn = ((long) b * T + t) * N;
            float dt = delta[dlo + bti], ut = u[uo + bti], dy = dY[gyo + bti];
            float du = dy * D, ddelta = 0.0f;
            dDacc += dy * ut;
            for (int j = 0; j < N; j++) {
                g[j] += dy * cMat[co + btn + j];
                G[bti * N + j] = g[j];
                float a = exp(dt * A[j]);
                float prev = t > 0 ? S[(bti - I) * N + j] : 0.0f;
                float bj = bMat[bo + btn + j];
                du += g[j] * dt * bj;
                ddelta += g[j] * (A[j] * a * prev + bj * ut);
                dA[j] += g[j] * dt * a * prev;
                g[j] *= a;   // carried to t - 1 through s_t = a s_{t-1} + ...
            }
            dU[duo + bti] = du;
            dDelta[ddlo + bti] = ddelta;
        }
    }
    for (int j = 0; j < N; j++) dALog[dao + (long) i * N + j] += dA[j] * A[j];
    dD[dDo + i] += dDacc;
}

/* dB[b,t,n] = sum_i G delta u;  dC[b,t,n] = sum_i dY S. One work-item per (b, t, n). */
kernel void selective_scan_backward_bc(global const float* dY, long gyo, global const float* u, long uo,
                                       global const float* delta, long dlo, global const float* S,
                                       global const float* G, int I, int N, global float* dB, long dbo,
                                       global float* dC, long dco, long n) {
    long gid = get_global_id(0);
    if (gid >= n) return;
    int j = gid % N;
    long bt = gid / N;
    float sb = 0.0f, sc = 0.0f;
    for (int i = 0; i < I; i++) {
        long bti = bt * I + i;
        sb += G[bti * N + j] * delta[dlo + bti] * u[uo + bti];
        sc += dY[gyo + bti] * S[bti * N + j];
    }
    dB[dbo + gid] = sb;
    dC[dco + gid] = sc;
}

/* state [B, I, N] in place; u, delta, y [B, I]; bMat, cMat [B, N]. One work-item per (b, i). */
kernel void selective_scan_step(global const float* u, long uo, global const float* delta, long dlo,
                                global const float* aLog, long ao, global const float* bMat, long bo,
                                global const float* cMat, long co, global const float* d, long ddo,
                                int I, int N, global float* state, long so, global float* y, long yo, long n) {
    long gid = get_global_id(0);
    if (gid >= n) return;
    int i = gid % I;
    long b = gid / I;
    float dt = delta[dlo + gid], ut = u[uo + gid], acc = 0.0f;
    for (int j = 0; j < N; j++) {
        long sj = so + gid * N + j;
        float s = exp(-dt * exp(aLog[ao + (long) i * N + j])) * state[sj] + dt * bMat[bo + b * N + j] * ut;
        state[sj] = s;
        acc += s * cMat[co + b * N + j];
    }
    y[yo + gid] = acc + d[ddo + i] * ut;
}
