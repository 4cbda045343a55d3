/*
 * Reference Mamba-1 kernels: the causal depthwise conv and the selective scan, as the plain recurrences of the
 * Backend Javadoc. The backward keeps every state [T, I, N] of a sequence (the fast kernels recompute in chunks).
 * Shapes: x [B, T, C], w [C, K]; u, delta, y [B, T, I]; aLog [I, N]; bMat, cMat [B, T, N]; d [I].
 */
package kd4j.tensor.reference;

import static kd4j.tensor.reference.HostAccess.read;
import static kd4j.tensor.reference.HostAccess.write;
import static kd4j.tensor.reference.ReferenceBackend.check;

import kd4j.tensor.Tensor;

final class ReferenceScan {
    private ReferenceScan() {}

    private static void checkConv(String op, Tensor x, Tensor w, Tensor bias) {
        check(x.rank() == 3 && w.rank() == 2 && w.dim(0) == x.dim(2) && (bias == null || bias.numel() == x.dim(2)),
                op, "x must be [B, T, C], w [C, K], bias [C] or null", "x", x, "w", w,
                "bias", bias == null ? "null" : bias);
    }

    static void causalConv1dForward(Tensor x, Tensor w, Tensor bias, Tensor out) {
        checkConv("causalConv1dForward", x, w, bias);
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
        checkConv("causalConv1dBackward", x, w, dBias);
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
        check(x.rank() == 2 && w.dim(0) == channels && convState.numel() == (long) batches * channels * (width - 1)
                        && out.sameShape(x), "causalConv1dStep",
                "x, out must be [B, C], w [C, K], convState [B, C, K-1]", "x", x, "w", w, "convState", convState,
                "out", out);
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

    private static ScanDims checkScan(String op, Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat,
                                      Tensor d) {
        check(u.rank() == 3 && aLog.rank() == 2, op, "u must be [B, T, I] and aLog [I, N]", "u", u, "aLog", aLog);
        ScanDims s = new ScanDims(u.dim(0), u.dim(1), u.dim(2), aLog.dim(1));
        check(delta.sameShape(u) && aLog.dim(0) == s.inner && d.numel() == s.inner
                        && bMat.numel() == (long) s.batches * s.tokens * s.state && bMat.sameShape(cMat), op,
                "delta must be [B, T, I], bMat and cMat [B, T, N], d [I]", "u", u, "delta", delta, "aLog", aLog,
                "bMat", bMat, "cMat", cMat, "d", d);
        return s;
    }

    static void selectiveScanForward(Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat, Tensor d,
                                     Tensor y) {
        ScanDims s = checkScan("selectiveScanForward", u, delta, aLog, bMat, cMat, d);
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
        ScanDims s = checkScan("selectiveScanBackward", u, delta, aLog, bMat, cMat, d);
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
        check(u.rank() == 2 && delta.sameShape(u) && y.sameShape(u) && aLog.dim(0) == in
                        && bMat.numel() == (long) batches * ns && cMat.numel() == (long) batches * ns
                        && d.numel() == in && state.numel() == (long) batches * in * ns, "selectiveScanStep",
                "u, delta, y must be [B, I], aLog [I, N], bMat and cMat [B, N], d [I], state [B, I, N]", "u", u,
                "aLog", aLog, "bMat", bMat, "state", state);
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
