/*
 * The reference backend: every Backend method as plain scalar loops computing in double. It is the oracle the
 * CPU and OpenCL backends are tested against and the backend of the finite-difference gradient checks (it
 * accepts F64 wherever the interface says F32). Not fast and never a silent fallback: no Vector API, no threads,
 * and attention materialises the full score matrix because that is the obviously correct way to write it.
 * Each kernel reads its inputs into double[] (so an output may alias an input), computes, then writes outputs.
 * Attention, the losses and the Mamba conv/scan live in ReferenceAttention, ReferenceLosses and ReferenceScan.
 */
package kd4j.tensor.reference;

import static kd4j.tensor.reference.HostAccess.read;
import static kd4j.tensor.reference.HostAccess.readInts;
import static kd4j.tensor.reference.HostAccess.write;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import kd4j.tensor.Backend;
import kd4j.tensor.BackendChecks;
import kd4j.tensor.DType;
import kd4j.tensor.HostStorage;
import kd4j.tensor.ShapeException;
import kd4j.tensor.Storage;
import kd4j.tensor.Tensor;

public final class ReferenceBackend implements Backend {
    /** The shared checks; F64 wherever F32 is documented, and any strides (every read goes through HostAccess). */
    private final BackendChecks checks = new BackendChecks(this, BackendChecks.Residency.HOST, true, false);

    @Override
    public String name() { return "reference"; }

    @Override
    public String describe() { return "reference (scalar loops in double, single thread)"; }

    // ==== memory ====

    @Override
    public Storage allocate(DType dtype, long count) {
        BackendChecks.allocate(dtype, count);
        // Arena.ofAuto(): freed by the GC once unreachable; Arena.allocate zero-fills.
        MemorySegment seg = Arena.ofAuto().allocate(Math.max(1, count) * dtype.byteSize(), 64);
        return new HostStorage(this, seg.asSlice(0, count * dtype.byteSize()));
    }

    @Override
    public void copyIn(Tensor dst, MemorySegment src) {
        checks.copyIn(dst, src.byteSize());
        long bytes = dst.numel() * dst.dtype().byteSize();
        MemorySegment.copy(src, 0, HostAccess.segment(dst), dst.byteOffset(), bytes);
    }

    @Override
    public void copyOut(Tensor src, MemorySegment dst) {
        checks.copyOut(src, dst.byteSize());
        long bytes = src.numel() * src.dtype().byteSize();
        MemorySegment.copy(HostAccess.segment(src), src.byteOffset(), dst, 0, bytes);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        checks.copy(src, dst);
        boolean srcInt = !src.dtype().isFloating();
        MemorySegment s = HostAccess.segment(src), d = HostAccess.segment(dst);
        long n = src.numel();
        if (srcInt) {
            long[] values = new long[Math.toIntExact(n)];
            for (int i = 0; i < n; i++) values[i] = HostAccess.getLong(s, src.dtype(), HostAccess.elementAt(src, i));
            for (int i = 0; i < n; i++) HostAccess.setLong(d, dst.dtype(), HostAccess.elementAt(dst, i), values[i]);
        } else {
            double[] values = read(src);
            for (int i = 0; i < n; i++) HostAccess.set(d, dst.dtype(), HostAccess.elementAt(dst, i), values[i]);
        }
    }

    @Override
    public void fill(Tensor dst, double value) {
        checks.fill(dst);
        double[] v = new double[Math.toIntExact(dst.numel())];
        Arrays.fill(v, value);
        write(dst, v);
    }

    @Override
    public void sync() {}

    @Override
    public void close() {}

    // ==== elementwise family ====

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        checks.broadcast("add", a, b, out);
        double[] x = read(a), y = read(b), r = new double[x.length];
        for (int i = 0; i < x.length; i++) r[i] = x[i] + y[i % y.length];
        write(out, r);
    }

    @Override
    public void addScaled(Tensor acc, Tensor x, float alpha) {
        checks.addScaled(acc, x);
        double[] s = read(acc), v = read(x);
        for (int i = 0; i < s.length; i++) s[i] += alpha * v[i];
        write(acc, s);
    }

    @Override
    public void mul(Tensor a, Tensor b, Tensor out) {
        checks.broadcast("mul", a, b, out);
        double[] x = read(a), y = read(b), r = new double[x.length];
        for (int i = 0; i < x.length; i++) r[i] = x[i] * y[i % y.length];
        write(out, r);
    }

    @Override
    public void scale(Tensor x, float alpha, Tensor out) {
        checks.scale(x, out);
        double[] v = read(x);
        for (int i = 0; i < v.length; i++) v[i] *= alpha;
        write(out, v);
    }

    @Override
    public void sumRowsBackward(Tensor dOut, Tensor dB) {
        int cols = checks.sumRowsBackward(dOut, dB).cols();
        double[] g = read(dOut), acc = read(dB);
        for (int i = 0; i < g.length; i++) acc[i % cols] += g[i];
        write(dB, acc);
    }

    static double sigmoid(double x) { return 1.0 / (1.0 + Math.exp(-x)); }

    @Override
    public void siluForward(Tensor x, Tensor out) {
        checks.unary("siluForward", x, out);
        double[] v = read(x);
        for (int i = 0; i < v.length; i++) v[i] = v[i] * sigmoid(v[i]);
        write(out, v);
    }

    @Override
    public void siluBackward(Tensor dOut, Tensor x, Tensor dX) {
        checks.unaryBackward("siluBackward", dOut, x, dX);
        double[] g = read(dOut), v = read(x);
        for (int i = 0; i < v.length; i++) {
            double s = sigmoid(v[i]);
            g[i] *= s + v[i] * s * (1 - s);
        }
        write(dX, g);
    }

    @Override
    public void geluForward(Tensor x, Tensor out) {
        checks.unary("geluForward", x, out);
        double[] v = read(x);
        for (int i = 0; i < v.length; i++) v[i] = 0.5 * v[i] * (1 + Special.erf(v[i] / Math.sqrt(2)));
        write(out, v);
    }

    @Override
    public void geluBackward(Tensor dOut, Tensor x, Tensor dX) {
        checks.unaryBackward("geluBackward", dOut, x, dX);
        double[] g = read(dOut), v = read(x);
        for (int i = 0; i < v.length; i++) {
            double cdf = 0.5 * (1 + Special.erf(v[i] / Math.sqrt(2)));
            double pdf = Math.exp(-0.5 * v[i] * v[i]) / Math.sqrt(2 * Math.PI);
            g[i] *= cdf + v[i] * pdf;
        }
        write(dX, g);
    }

    @Override
    public void softplusForward(Tensor x, Tensor out) {
        checks.softplusForward(x, out);
        double[] v = read(x);
        for (int i = 0; i < v.length; i++) v[i] = v[i] > 20 ? v[i] : Math.log1p(Math.exp(v[i]));
        write(out, v);
    }

    @Override
    public void softplusBackward(Tensor dOut, Tensor x, Tensor dX) {
        checks.unaryBackward("softplusBackward", dOut, x, dX);
        double[] g = read(dOut), v = read(x);
        for (int i = 0; i < v.length; i++) if (v[i] <= 20) g[i] *= sigmoid(v[i]);
        write(dX, g);
    }

    @Override
    public void swigluForward(Tensor gate, Tensor up, Tensor out) {
        checks.swigluForward(gate, up, out);
        double[] g = read(gate), u = read(up);
        for (int i = 0; i < g.length; i++) g[i] = g[i] * sigmoid(g[i]) * u[i];
        write(out, g);
    }

    @Override
    public void swigluBackward(Tensor dOut, Tensor gate, Tensor up, Tensor dGate, Tensor dUp) {
        checks.swigluBackward(dOut, gate, up, dGate, dUp);
        double[] d = read(dOut), g = read(gate), u = read(up);
        double[] dg = new double[g.length], du = new double[g.length];
        for (int i = 0; i < g.length; i++) {
            double s = sigmoid(g[i]);
            du[i] = d[i] * g[i] * s;
            dg[i] = d[i] * u[i] * (s + g[i] * s * (1 - s));
        }
        write(dGate, dg);
        write(dUp, du);
    }

    // ==== reduce family ====

    @Override
    public double sum(Tensor x) {
        checks.reduce("sum", x);
        double s = 0;
        for (double v : read(x)) s += v;
        return s;
    }

    @Override
    public double sumOfSquares(Tensor x) {
        checks.reduce("sumOfSquares", x);
        double s = 0;
        for (double v : read(x)) s += v * v;
        return s;
    }

    @Override
    public boolean allFinite(Tensor x) {
        checks.reduce("allFinite", x);
        for (double v : read(x)) if (!Double.isFinite(v)) return false;
        return true;
    }

    @Override
    public void softmaxForward(Tensor x, Tensor out) {
        int cols = checks.rowsForward("softmaxForward", x, out).cols();
        double[] v = read(x);
        for (int r = 0; r * cols < v.length; r++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int c = 0; c < cols; c++) max = Math.max(max, v[r * cols + c]);
            for (int c = 0; c < cols; c++) sum += v[r * cols + c] = Math.exp(v[r * cols + c] - max);
            for (int c = 0; c < cols; c++) v[r * cols + c] /= sum;
        }
        write(out, v);
    }

    @Override
    public void softmaxBackward(Tensor dOut, Tensor out, Tensor dX) {
        int cols = checks.rowsBackward("softmaxBackward", dOut, out, dX).cols();
        double[] g = read(dOut), y = read(out), r = new double[g.length];
        for (int row = 0; row * cols < g.length; row++) {
            double dot = 0;
            for (int c = 0; c < cols; c++) dot += g[row * cols + c] * y[row * cols + c];
            for (int c = 0; c < cols; c++) r[row * cols + c] = y[row * cols + c] * (g[row * cols + c] - dot);
        }
        write(dX, r);
    }

    @Override
    public void logSoftmaxForward(Tensor x, Tensor out) {
        int cols = checks.rowsForward("logSoftmaxForward", x, out).cols();
        double[] v = read(x);
        for (int r = 0; r * cols < v.length; r++) {
            double lse = logSumExp(v, r * cols, cols, 1.0);
            for (int c = 0; c < cols; c++) v[r * cols + c] -= lse;
        }
        write(out, v);
    }

    @Override
    public void logSoftmaxBackward(Tensor dOut, Tensor out, Tensor dX) {
        int cols = checks.rowsBackward("logSoftmaxBackward", dOut, out, dX).cols();
        double[] g = read(dOut), y = read(out), r = new double[g.length];
        for (int row = 0; row * cols < g.length; row++) {
            double sum = 0;
            for (int c = 0; c < cols; c++) sum += g[row * cols + c];
            for (int c = 0; c < cols; c++) r[row * cols + c] = g[row * cols + c] - Math.exp(y[row * cols + c]) * sum;
        }
        write(dX, r);
    }

    /** log(sum_c exp(v[from + c] / tau)), subtracting the max first so exp never overflows. */
    static double logSumExp(double[] v, int from, int count, double tau) {
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < count; c++) max = Math.max(max, v[from + c] / tau);
        if (max == Double.NEGATIVE_INFINITY) return max;
        double s = 0;
        for (int c = 0; c < count; c++) s += Math.exp(v[from + c] / tau - max);
        return max + Math.log(s);
    }

    // ==== norm family ====

    @Override
    public void rmsNormForward(Tensor x, Tensor w, float eps, Tensor out, Tensor invRms) {
        int cols = checks.rmsNormForward(x, w, out, invRms).cols();
        double[] v = read(x), wt = read(w), inv = new double[(int) x.rows()];
        for (int r = 0; r < inv.length; r++) {
            double ss = 0;
            for (int c = 0; c < cols; c++) ss += v[r * cols + c] * v[r * cols + c];
            inv[r] = 1.0 / Math.sqrt(ss / cols + eps);
            for (int c = 0; c < cols; c++) v[r * cols + c] = v[r * cols + c] * inv[r] * wt[c];
        }
        write(out, v);
        write(invRms, inv);
    }

    @Override
    public void rmsNormBackward(Tensor dOut, Tensor x, Tensor w, Tensor invRms, Tensor dX, Tensor dW) {
        int cols = checks.rmsNormBackward(dOut, x, w, invRms, dX, dW).cols();
        double[] g = read(dOut), v = read(x), wt = read(w), inv = read(invRms), dw = read(dW);
        double[] dx = new double[v.length];
        for (int r = 0; r < inv.length; r++) {
            double dot = 0;   // sum_c g w x
            for (int c = 0; c < cols; c++) dot += g[r * cols + c] * wt[c] * v[r * cols + c];
            double ir = inv[r];
            for (int c = 0; c < cols; c++) {
                int i = r * cols + c;
                dx[i] = ir * wt[c] * g[i] - v[i] * ir * ir * ir * dot / cols;
                dw[c] += g[i] * v[i] * ir;
            }
        }
        write(dX, dx);
        write(dW, dw);
    }

    @Override
    public void layerNormForward(Tensor x, Tensor w, Tensor b, float eps, Tensor out, Tensor mean, Tensor invStd) {
        int cols = checks.layerNormForward(x, w, b, out, mean, invStd).cols();
        int rows = (int) x.rows();
        double[] v = read(x), wt = read(w), bias = b == null ? new double[cols] : read(b);
        double[] mu = new double[rows], is = new double[rows];
        for (int r = 0; r < rows; r++) {
            double m = 0;
            for (int c = 0; c < cols; c++) m += v[r * cols + c];
            m /= cols;
            double var = 0;
            for (int c = 0; c < cols; c++) var += (v[r * cols + c] - m) * (v[r * cols + c] - m);
            var /= cols;   // biased variance, as PyTorch's LayerNorm
            mu[r] = m;
            is[r] = 1.0 / Math.sqrt(var + eps);
            for (int c = 0; c < cols; c++) v[r * cols + c] = (v[r * cols + c] - m) * is[r] * wt[c] + bias[c];
        }
        write(out, v);
        write(mean, mu);
        write(invStd, is);
    }

    @Override
    public void layerNormBackward(Tensor dOut, Tensor x, Tensor w, Tensor mean, Tensor invStd, Tensor dX,
                                  Tensor dW, Tensor dB) {
        int cols = checks.layerNormBackward(dOut, x, w, mean, invStd, dX, dW, dB).cols();
        double[] g = read(dOut), v = read(x), wt = read(w), mu = read(mean), is = read(invStd);
        double[] dw = read(dW), db = dB == null ? new double[cols] : read(dB), dx = new double[v.length];
        for (int r = 0; r < mu.length; r++) {
            double meanDxhat = 0, meanDxhatXhat = 0;
            for (int c = 0; c < cols; c++) {
                int i = r * cols + c;
                double xhat = (v[i] - mu[r]) * is[r];
                double dxhat = g[i] * wt[c];
                meanDxhat += dxhat;
                meanDxhatXhat += dxhat * xhat;
                dw[c] += g[i] * xhat;
                db[c] += g[i];
            }
            meanDxhat /= cols;
            meanDxhatXhat /= cols;
            for (int c = 0; c < cols; c++) {
                int i = r * cols + c;
                double xhat = (v[i] - mu[r]) * is[r];
                dx[i] = is[r] * (g[i] * wt[c] - meanDxhat - xhat * meanDxhatXhat);
            }
        }
        write(dX, dx);
        write(dW, dw);
        if (dB != null) write(dB, db);
    }

    // ==== gemm family ====

    @Override
    public void gemm(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c) {
        BackendChecks.Gemm g = checks.gemm(transA, transB, a, b, c);
        int batches = g.batches(), m = g.m(), n = g.n(), k = g.k();
        double[] x = read(a), y = read(b), z = read(c), r = new double[z.length];
        long aBatch = a.rank() == 3 ? (long) m * k : 0, bBatch = b.rank() == 3 ? (long) k * n : 0;
        for (int bt = 0; bt < batches; bt++) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) {
                        double av = x[(int) (bt * aBatch + (transA ? (long) p * m + i : (long) i * k + p))];
                        double bv = y[(int) (bt * bBatch + (transB ? (long) j * k + p : (long) p * n + j))];
                        s += av * bv;
                    }
                    int ci = (bt * m + i) * n + j;
                    // beta = 0 ignores c entirely (even NaN), as BLAS does.
                    r[ci] = alpha * s + (beta == 0 ? 0 : beta * z[ci]);
                }
            }
        }
        write(c, r);
    }

    // ==== rope family ====

    @Override
    public void ropeForward(Tensor x, Tensor invFreq, int positionOffset, Tensor out) {
        checks.rope("ropeForward", "x", x, invFreq, "out", out);
        rotate("ropeForward", x, invFreq, positionOffset, 1, out);
    }

    @Override
    public void ropeBackward(Tensor dOut, Tensor invFreq, int positionOffset, Tensor dX) {
        checks.rope("ropeBackward", "dOut", dOut, invFreq, "dX", dX);
        rotate("ropeBackward", dOut, invFreq, positionOffset, -1, dX);
    }

    private static void rotate(String op, Tensor x, Tensor invFreq, int positionOffset, int sign, Tensor out) {
        int batches = x.dim(0), tokens = x.dim(1), heads = x.dim(2), dim = x.dim(3), half = dim / 2;
        double[] v = read(x), f = read(invFreq), r = new double[v.length];
        for (int b = 0; b < batches; b++)
            for (int t = 0; t < tokens; t++)
                for (int h = 0; h < heads; h++) {
                    int base = ((b * tokens + t) * heads + h) * dim;
                    for (int i = 0; i < half; i++) {
                        double angle = sign * (double) (positionOffset + t) * f[i];
                        double cos = Math.cos(angle), sin = Math.sin(angle);
                        double lo = v[base + i], hi = v[base + i + half];
                        r[base + i] = lo * cos - hi * sin;
                        r[base + i + half] = hi * cos + lo * sin;
                    }
                }
        write(out, r);
    }

    // ==== embedding family ====

    @Override
    public void embeddingForward(Tensor ids, Tensor table, Tensor out) {
        checks.embeddingForward(ids, table, out);
        int vocab = table.dim(0), cols = table.dim(1);
        int[] id = readInts(ids);
        double[] tb = read(table), r = new double[id.length * cols];
        for (int n = 0; n < id.length; n++) {
            checkId("embeddingForward", id, n, vocab);
            System.arraycopy(tb, id[n] * cols, r, n * cols, cols);
        }
        write(out, r);
    }

    @Override
    public void embeddingBackward(Tensor dOut, Tensor ids, Tensor dTable) {
        checks.embeddingBackward(dOut, ids, dTable);
        int vocab = dTable.dim(0), cols = dTable.dim(1);
        int[] id = readInts(ids);
        double[] g = read(dOut), acc = read(dTable);
        for (int n = 0; n < id.length; n++) {
            checkId("embeddingBackward", id, n, vocab);
            for (int c = 0; c < cols; c++) acc[id[n] * cols + c] += g[n * cols + c];
        }
        write(dTable, acc);
    }

    static void checkId(String op, int[] ids, int n, int vocab) {
        if (ids[n] < 0 || ids[n] >= vocab) throw BackendChecks.idOutsideTable(op, n, ids[n], vocab);
    }

    // ==== attention, cross-entropy, distill, conv/scan: see the family files ====

    @Override
    public void attentionForward(Tensor q, Tensor k, Tensor v, float scale, int queryOffset, Tensor keyMask,
                                 Tensor out, Tensor lse) {
        checks.attentionForward(q, k, v, queryOffset, keyMask, out, lse);
        ReferenceAttention.forward(q, k, v, scale, queryOffset, keyMask, out, lse);
    }

    @Override
    public void attentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, float scale,
                                  int queryOffset, Tensor keyMask, Tensor dQ, Tensor dK, Tensor dV) {
        checks.attentionBackward(dOut, q, k, v, out, lse, queryOffset, keyMask, dQ, dK, dV);
        ReferenceAttention.backward(dOut, q, k, v, out, lse, scale, queryOffset, keyMask, dQ, dK, dV);
    }

    @Override
    public void crossEntropyForward(Tensor logits, Tensor targets, int ignoreIndex, Tensor losses, Tensor lse) {
        checks.crossEntropyForward(logits, targets, losses, lse);
        ReferenceLosses.crossEntropyForward(logits, targets, ignoreIndex, losses, lse);
    }

    @Override
    public void crossEntropyBackward(Tensor dLosses, Tensor logits, Tensor targets, Tensor lse, int ignoreIndex,
                                     Tensor dLogits) {
        checks.crossEntropyBackward(dLosses, logits, targets, lse, dLogits);
        ReferenceLosses.crossEntropyBackward(dLosses, logits, targets, lse, ignoreIndex, dLogits);
    }

    @Override
    public void distillForward(Divergence divergence, float tau, Tensor student, Tensor teacher, Tensor perToken) {
        checks.distillForward(tau, student, teacher, perToken);
        ReferenceLosses.distillForward(divergence, tau, student, teacher, perToken);
    }

    @Override
    public void distillBackward(Divergence divergence, float tau, Tensor dPerToken, Tensor student, Tensor teacher,
                                Tensor dStudent) {
        checks.distillBackward(tau, dPerToken, student, teacher, dStudent);
        ReferenceLosses.distillBackward(divergence, tau, dPerToken, student, teacher, dStudent);
    }

    @Override
    public void sparseDistillForward(float tau, Tensor student, Tensor ids, Tensor probs, Tensor perToken,
                                     Tensor lse) {
        checks.sparseDistillForward(tau, student, ids, probs, perToken, lse);
        ReferenceLosses.sparseDistillForward(tau, student, ids, probs, perToken, lse);
    }

    @Override
    public void sparseDistillBackward(float tau, Tensor dPerToken, Tensor student, Tensor ids, Tensor probs,
                                      Tensor lse, Tensor dStudent) {
        checks.sparseDistillBackward(tau, dPerToken, student, ids, probs, lse, dStudent);
        ReferenceLosses.sparseDistillBackward(tau, dPerToken, student, ids, probs, lse, dStudent);
    }

    @Override
    public void causalConv1dForward(Tensor x, Tensor w, Tensor bias, Tensor out) {
        checks.causalConv1dForward(x, w, bias, out);
        ReferenceScan.causalConv1dForward(x, w, bias, out);
    }

    @Override
    public void causalConv1dBackward(Tensor dOut, Tensor x, Tensor w, Tensor dX, Tensor dW, Tensor dBias) {
        checks.causalConv1dBackward(dOut, x, w, dX, dW, dBias);
        ReferenceScan.causalConv1dBackward(dOut, x, w, dX, dW, dBias);
    }

    @Override
    public void selectiveScanForward(Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat, Tensor d,
                                     Tensor y) {
        checks.selectiveScanForward(u, delta, aLog, bMat, cMat, d, y);
        ReferenceScan.selectiveScanForward(u, delta, aLog, bMat, cMat, d, y);
    }

    @Override
    public void selectiveScanBackward(Tensor dY, Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat,
                                      Tensor d, Tensor dU, Tensor dDelta, Tensor dALog, Tensor dB, Tensor dC,
                                      Tensor dD) {
        checks.selectiveScanBackward(dY, u, delta, aLog, bMat, cMat, d, dU, dDelta, dALog, dB, dC, dD);
        ReferenceScan.selectiveScanBackward(dY, u, delta, aLog, bMat, cMat, d, dU, dDelta, dALog, dB, dC, dD);
    }

    @Override
    public void causalConv1dStep(Tensor x, Tensor w, Tensor bias, Tensor convState, Tensor out) {
        checks.causalConv1dStep(x, w, bias, convState, out);
        ReferenceScan.causalConv1dStep(x, w, bias, convState, out);
    }

    @Override
    public void selectiveScanStep(Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat, Tensor d,
                                  Tensor state, Tensor y) {
        checks.selectiveScanStep(u, delta, aLog, bMat, cMat, d, state, y);
        ReferenceScan.selectiveScanStep(u, delta, aLog, bMat, cMat, d, state, y);
    }

    // ==== optim family ====

    @Override
    public void adamwStep(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2,
                          float eps, float weightDecay, int step) {
        checks.adamwStep(param, grad, m, v, step);
        double[] p = read(param), g = read(grad), mm = read(m), vv = read(v);
        double c1 = 1 - Math.pow(beta1, step), c2 = 1 - Math.pow(beta2, step);
        for (int i = 0; i < p.length; i++) {
            mm[i] = beta1 * mm[i] + (1 - beta1) * g[i];
            vv[i] = beta2 * vv[i] + (1 - beta2) * g[i] * g[i];
            p[i] -= lr * (mm[i] / c1 / (Math.sqrt(vv[i] / c2) + eps) + weightDecay * p[i]);
        }
        write(param, p);
        write(m, mm);
        write(v, vv);
    }

    @Override
    public void sgdStep(Tensor param, Tensor grad, Tensor momentumBuffer, float lr, float momentum,
                        float weightDecay) {
        checks.sgdStep(param, grad, momentumBuffer);
        double[] p = read(param), g = read(grad), buf = read(momentumBuffer);
        for (int i = 0; i < p.length; i++) {
            buf[i] = momentum * buf[i] + g[i];
            p[i] -= lr * (buf[i] + weightDecay * p[i]);
        }
        write(param, p);
        write(momentumBuffer, buf);
    }
}
