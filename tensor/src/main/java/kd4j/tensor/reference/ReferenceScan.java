/*
 * Reference Mamba-1 kernels: the causal depthwise conv and the selective scan, as the plain recurrences of the
 * Backend Javadoc. The backward keeps every state [T, I, N] of a sequence (the fast kernels recompute in chunks).
 * Shapes: x [B, T, C], w [C, K]; u, delta, y [B, T, I]; aLog [I, N]; bMat, cMat [B, T, N]; d [I].
 */
package kd4j.tensor.reference;

import static kd4j.tensor.reference.HostAccess.read;
import static kd4j.tensor.reference.HostAccess.write;

import kd4j.tensor.Tensor;

final class ReferenceScan {
    private ReferenceScan() {}

    // ReferenceBackend has checked every shape (BackendChecks) before these run.

    static void causalConv1dForward(Tensor x, Tensor w, Tensor bias, Tensor out) {
        int batches = x.dim(0), tokens = x.dim(1), channels = x.dim(2), width = w.dim(1);
        double[] xv = read(x), wv = read(w), bv = bias == null ? new double[channels] : read(bias);
        double[] o = new double[xv.length];
        for (int b = 0; b < batches; b++)
            for (int t = 0; t < tokens; t++)
                for (int c = 0; c < channels; c++) {
                    double acc = bv[c];
                    for (int j = 0; j < width; j++) {
                        int src = t - (width - 1) + j;
                        if (src >= 0) acc += wv[c * width + j] * xv[(b * tokens + src) * channels + c];
                    }
                    o[(b * tokens + t) * channels + c] = acc;
                }
        write(out, o);
    }

    static void causalConv1dBackward(Tensor dOut, Tensor x, Tensor w, Tensor dX, Tensor dW, Tensor dBias) {
        int batches = x.dim(0), tokens = x.dim(1), channels = x.dim(2), width = w.dim(1);
        double[] g = read(dOut), xv = read(x), wv = read(w), dx = new double[xv.length], dw = read(dW);
        double[] db = dBias == null ? new double[channels] : read(dBias);
        for (int b = 0; b < batches; b++)
            for (int t = 0; t < tokens; t++)
                for (int c = 0; c < channels; c++) {
                    double go = g[(b * tokens + t) * channels + c];
                    db[c] += go;
                    for (int j = 0; j < width; j++) {
                        int src = t - (width - 1) + j;
                        if (src < 0) continue;
                        int xi = (b * tokens + src) * channels + c;
                        dx[xi] += wv[c * width + j] * go;
                        dw[c * width + j] += xv[xi] * go;
                    }
                }
        write(dX, dx);
        write(dW, dw);
        if (dBias != null) write(dBias, db);
    }

    static void causalConv1dStep(Tensor x, Tensor w, Tensor bias, Tensor convState, Tensor out) {
        int batches = x.dim(0), channels = x.dim(1), width = w.dim(1);
        double[] xv = read(x), wv = read(w), st = read(convState), o = new double[xv.length];
        double[] bv = bias == null ? new double[channels] : read(bias);
        int keep = width - 1;
        for (int b = 0; b < batches; b++)
            for (int c = 0; c < channels; c++) {
                int si = (b * channels + c) * keep, xi = b * channels + c;
                double acc = bv[c] + wv[c * width + keep] * xv[xi];
                for (int j = 0; j < keep; j++) acc += wv[c * width + j] * st[si + j];
                o[xi] = acc;
                // shift the window: drop the oldest input, append this one
                for (int j = 0; j + 1 < keep; j++) st[si + j] = st[si + j + 1];
                if (keep > 0) st[si + keep - 1] = xv[xi];
            }
        write(out, o);
        write(convState, st);
    }

    private record ScanDims(int batches, int tokens, int inner, int state) {}

    private static ScanDims scanDims(Tensor u, Tensor aLog) {
        return new ScanDims(u.dim(0), u.dim(1), u.dim(2), aLog.dim(1));
    }

    static void selectiveScanForward(Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat, Tensor d,
                                     Tensor y) {
        ScanDims s = scanDims(u, aLog);
        double[] uv = read(u), dt = read(delta), al = read(aLog), bv = read(bMat), cv = read(cMat), dv = read(d);
        double[] out = new double[uv.length], h = new double[s.inner * s.state];
        for (int b = 0; b < s.batches; b++) {
            java.util.Arrays.fill(h, 0);
            for (int t = 0; t < s.tokens; t++) {
                int row = (b * s.tokens + t), bc = row * s.state;
                for (int i = 0; i < s.inner; i++) {
                    int ui = row * s.inner + i;
                    double acc = 0;
                    for (int n = 0; n < s.state; n++) {
                        double a = -Math.exp(al[i * s.state + n]);
                        int hi = i * s.state + n;
                        h[hi] = Math.exp(dt[ui] * a) * h[hi] + dt[ui] * bv[bc + n] * uv[ui];
                        acc += h[hi] * cv[bc + n];
                    }
                    out[ui] = acc + dv[i] * uv[ui];
                }
            }
        }
        write(y, out);
    }

    static void selectiveScanBackward(Tensor dY, Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat,
                                      Tensor d, Tensor dU, Tensor dDelta, Tensor dALog, Tensor dB, Tensor dC,
                                      Tensor dD) {
        ScanDims s = scanDims(u, aLog);
        int in = s.inner, ns = s.state, tokens = s.tokens;
        double[] g = read(dY), uv = read(u), dt = read(delta), al = read(aLog), bv = read(bMat), cv = read(cMat);
        double[] dv = read(d);
        double[] du = new double[uv.length], ddt = new double[uv.length], db = new double[bv.length];
        double[] dc = new double[cv.length], dal = read(dALog), dd = read(dD), dA = new double[in * ns];
        double[] states = new double[(tokens + 1) * in * ns];   // states[t + 1] = state after token t
        double[] adj = new double[in * ns];                      // d loss / d state_t, carried backwards
        for (int b = 0; b < s.batches; b++) {
            for (int t = 0; t < tokens; t++) {
                int row = b * tokens + t;
                for (int i = 0; i < in; i++)
                    for (int n = 0; n < ns; n++) {
                        int hi = i * ns + n, ui = row * in + i;
                        double a = -Math.exp(al[hi]);
                        states[(t + 1) * in * ns + hi] = Math.exp(dt[ui] * a) * states[t * in * ns + hi]
                                + dt[ui] * bv[row * ns + n] * uv[ui];
                    }
            }
            java.util.Arrays.fill(adj, 0);
            for (int t = tokens - 1; t >= 0; t--) {
                int row = b * tokens + t;
                for (int i = 0; i < in; i++) {
                    int ui = row * in + i;
                    dd[i] += g[ui] * uv[ui];
                    du[ui] += g[ui] * dv[i];
                    for (int n = 0; n < ns; n++) {
                        int hi = i * ns + n;
                        double a = -Math.exp(al[hi]);
                        double decay = Math.exp(dt[ui] * a);
                        double prev = states[t * in * ns + hi], cur = states[(t + 1) * in * ns + hi];
                        dc[row * ns + n] += g[ui] * cur;
                        double gs = adj[hi] + g[ui] * cv[row * ns + n];   // total gradient of state_t
                        ddt[ui] += gs * (a * decay * prev + bv[row * ns + n] * uv[ui]);
                        dA[hi] += gs * dt[ui] * decay * prev;
                        db[row * ns + n] += gs * dt[ui] * uv[ui];
                        du[ui] += gs * dt[ui] * bv[row * ns + n];
                        adj[hi] = gs * decay;   // state_{t-1} feeds state_t through the decay
                    }
                }
            }
            java.util.Arrays.fill(states, 0);
        }
        // A = -exp(aLog), so dA/daLog = A.
        for (int hi = 0; hi < in * ns; hi++) dal[hi] += dA[hi] * -Math.exp(al[hi]);
        write(dU, du);
        write(dDelta, ddt);
        write(dB, db);
        write(dC, dc);
        write(dALog, dal);
        write(dD, dd);
    }

    static void selectiveScanStep(Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat, Tensor d,
                                  Tensor state, Tensor y) {
        int batches = u.dim(0), in = u.dim(1), ns = aLog.dim(1);
        double[] uv = read(u), dt = read(delta), al = read(aLog), bv = read(bMat), cv = read(cMat), dv = read(d);
        double[] h = read(state), out = new double[uv.length];
        for (int b = 0; b < batches; b++)
            for (int i = 0; i < in; i++) {
                int ui = b * in + i;
                double acc = 0;
                for (int n = 0; n < ns; n++) {
                    int hi = ui * ns + n;
                    double a = -Math.exp(al[i * ns + n]);
                    h[hi] = Math.exp(dt[ui] * a) * h[hi] + dt[ui] * bv[b * ns + n] * uv[ui];
                    acc += h[hi] * cv[b * ns + n];
                }
                out[ui] = acc + dv[i] * uv[ui];
            }
        write(y, out);
        write(state, h);
    }
}
