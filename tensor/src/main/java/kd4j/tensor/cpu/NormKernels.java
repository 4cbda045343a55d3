/*
 * RMSNorm and LayerNorm over the last dim, forward and backward. x, out, dOut, dX [R, C] fp32; w, b [C] F32/BF16
 * (widened in the load; F16 through the scalar path); the forward saves invRms (and mean/invStd) per row.
 * dX rows are parallel; the parameter gradients dW/dB are a second pass parallel over column blocks, so every dW
 * element has exactly one writer and is accumulated (+=) without locks.
 */
package kd4j.tensor.cpu;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import kd4j.tensor.DType;

import static kd4j.tensor.cpu.Simd.LE;
import static kd4j.tensor.cpu.Simd.F;
import static kd4j.tensor.cpu.Simd.FLOAT;
import static kd4j.tensor.cpu.Simd.L;

public final class NormKernels {
    private NormKernels() {}

    private static int rowGrain(int cols) { return Math.max(1, ElementwiseKernels.GRAIN / Math.max(1, cols)); }

    private static int colGrain(int rows) { return Math.max(L, ElementwiseKernels.GRAIN / Math.max(1, rows)); }

    private static int wBound(DType wt, int n) { return Simd.vectorizable(wt) ? Simd.bound(n) : 0; }

    /** out[r, :] = x[r, :] * invRms[r] * w; invRms[r] = 1 / sqrt(mean(x[r, :]^2) + eps). */
    static void rmsNormForward(Parallel par, MemorySegment x, MemorySegment w, DType wt, float eps, MemorySegment out,
                               MemorySegment invRms, int rows, int cols) {
        par.forRange(rows, rowGrain(cols), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                long row = (long) r * cols;
                float inv = (float) (1.0 / Math.sqrt(Simd.sumOfSquares(x, row, cols) / cols + eps));
                invRms.setAtIndex(FLOAT, r, inv);
                int i = 0, ub = wBound(wt, cols);
                FloatVector vi = FloatVector.broadcast(F, inv);
                for (; i < ub; i += L) FloatVector.fromMemorySegment(F, x, 4L * (row + i), LE).mul(vi).mul(wt == DType.BF16 ? Simd.loadBf16(w, i) : FloatVector.fromMemorySegment(F, w, 4L * i, LE)).intoMemorySegment(out, 4L * (row + i), LE);
                for (; i < cols; i++) out.setAtIndex(FLOAT, row + i, x.getAtIndex(FLOAT, row + i) * inv * Simd.read(w, wt, i));
            }
        });
    }

    /**
     * With g = dOut * w: dX = inv * g - x * inv^3 * mean(g * x)  (=);  dW[c] += sum_r dOut[r, c] x[r, c] inv[r].
     */
    static void rmsNormBackward(Parallel par, MemorySegment dOut, MemorySegment x, MemorySegment w, DType wt,
                                MemorySegment invRms, MemorySegment dX, MemorySegment dW, int rows, int cols) {
        par.forRange(rows, rowGrain(cols), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                long row = (long) r * cols;
                float inv = invRms.getAtIndex(FLOAT, r);
                float gx = 0;
                int i = 0, ub = wBound(wt, cols);
                if (ub > 0) {
                    FloatVector acc = FloatVector.zero(F);
                    for (; i < ub; i += L) acc = FloatVector.fromMemorySegment(F, dOut, 4L * (row + i), LE).mul(wt == DType.BF16 ? Simd.loadBf16(w, i) : FloatVector.fromMemorySegment(F, w, 4L * i, LE)).fma(FloatVector.fromMemorySegment(F, x, 4L * (row + i), LE), acc);
                    gx = Simd.sumLanes(acc);
                }
                for (; i < cols; i++) gx += dOut.getAtIndex(FLOAT, row + i) * Simd.read(w, wt, i) * x.getAtIndex(FLOAT, row + i);
                float k = inv * inv * inv * gx / cols;
                FloatVector vi = FloatVector.broadcast(F, inv), vk = FloatVector.broadcast(F, -k);
                for (i = 0; i < ub; i += L)
                    FloatVector.fromMemorySegment(F, dOut, 4L * (row + i), LE).mul(wt == DType.BF16 ? Simd.loadBf16(w, i) : FloatVector.fromMemorySegment(F, w, 4L * i, LE)).mul(vi).add(FloatVector.fromMemorySegment(F, x, 4L * (row + i), LE).mul(vk)).intoMemorySegment(dX, 4L * (row + i), LE);
                for (; i < cols; i++)
                    dX.setAtIndex(FLOAT, row + i, dOut.getAtIndex(FLOAT, row + i) * Simd.read(w, wt, i) * inv - x.getAtIndex(FLOAT, row + i) * k);
            }
        });
        par.forRange(cols, colGrain(rows), (c0, c1) -> {
            int n = c1 - c0;
            for (int r = 0; r < rows; r++) {
                long row = (long) r * cols + c0;
                float inv = invRms.getAtIndex(FLOAT, r);
                int i = 0, ub = Simd.bound(n);
                FloatVector vi = FloatVector.broadcast(F, inv);
                for (; i < ub; i += L) FloatVector.fromMemorySegment(F, dOut, 4L * (row + i), LE).mul(FloatVector.fromMemorySegment(F, x, 4L * (row + i), LE)).fma(vi, FloatVector.fromMemorySegment(F, dW, 4L * (c0 + i), LE)).intoMemorySegment(dW, 4L * (c0 + i), LE);
                for (; i < n; i++)
                    dW.setAtIndex(FLOAT, c0 + i, dW.getAtIndex(FLOAT, c0 + i) + dOut.getAtIndex(FLOAT, row + i) * x.getAtIndex(FLOAT, row + i) * inv);
            }
        });
    }

    /** out = (x - mean) * invStd * w + b per row; b may be null. mean and invStd saved. */
    static void layerNormForward(Parallel par, MemorySegment x, MemorySegment w, DType wt, MemorySegment b, DType bt,
                                 float eps, MemorySegment out, MemorySegment mean, MemorySegment invStd, int rows, int cols) {
        par.forRange(rows, rowGrain(cols), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                long row = (long) r * cols;
                float mu = Simd.sum(x, row, cols) / cols;
                // Two-pass variance (subtract the mean first): no cancellation for rows with a large mean.
                float var = 0;
                for (int i = 0; i < cols; i++) { float d = x.getAtIndex(FLOAT, row + i) - mu; var += d * d; }
                float inv = (float) (1.0 / Math.sqrt(var / cols + eps));
                mean.setAtIndex(FLOAT, r, mu);
                invStd.setAtIndex(FLOAT, r, inv);
                boolean vec = Simd.vectorizable(wt) && (b == null || Simd.vectorizable(bt));
                int i = 0, ub = vec ? Simd.bound(cols) : 0;
                FloatVector vm = FloatVector.broadcast(F, mu), vi = FloatVector.broadcast(F, inv);
                for (; i < ub; i += L) {
                    FloatVector y = FloatVector.fromMemorySegment(F, x, 4L * (row + i), LE).sub(vm).mul(vi).mul(wt == DType.BF16 ? Simd.loadBf16(w, i) : FloatVector.fromMemorySegment(F, w, 4L * i, LE));
                    if (b != null) y = y.add(bt == DType.BF16 ? Simd.loadBf16(b, i) : FloatVector.fromMemorySegment(F, b, 4L * i, LE));
                    y.intoMemorySegment(out, 4L * (row + i), LE);
                }
                for (; i < cols; i++) {
                    float y = (x.getAtIndex(FLOAT, row + i) - mu) * inv * Simd.read(w, wt, i);
                    out.setAtIndex(FLOAT, row + i, b == null ? y : y + Simd.read(b, bt, i));
                }
            }
        });
    }

    /** With xhat = (x - mean) invStd and g = dOut w: dX = invStd (g - mean(g) - xhat mean(g xhat)); dW += sum dOut xhat; dB += sum dOut. */
    static void layerNormBackward(Parallel par, MemorySegment dOut, MemorySegment x, MemorySegment w, DType wt,
                                  MemorySegment mean, MemorySegment invStd, MemorySegment dX, MemorySegment dW,
                                  MemorySegment dB, int rows, int cols) {
        par.forRange(rows, rowGrain(cols), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                long row = (long) r * cols;
                float mu = mean.getAtIndex(FLOAT, r), inv = invStd.getAtIndex(FLOAT, r);
                float sumG = 0, sumGx = 0;
                for (int i = 0; i < cols; i++) {
                    float g = dOut.getAtIndex(FLOAT, row + i) * Simd.read(w, wt, i);
                    sumG += g;
                    sumGx += g * (x.getAtIndex(FLOAT, row + i) - mu) * inv;
                }
                float mg = sumG / cols, mgx = sumGx / cols;
                int i = 0, ub = wBound(wt, cols);
                FloatVector vm = FloatVector.broadcast(F, mu), vi = FloatVector.broadcast(F, inv);
                FloatVector vmg = FloatVector.broadcast(F, mg), vmgx = FloatVector.broadcast(F, mgx);
                for (; i < ub; i += L) {
                    FloatVector xhat = FloatVector.fromMemorySegment(F, x, 4L * (row + i), LE).sub(vm).mul(vi);
                    FloatVector g = FloatVector.fromMemorySegment(F, dOut, 4L * (row + i), LE).mul(wt == DType.BF16 ? Simd.loadBf16(w, i) : FloatVector.fromMemorySegment(F, w, 4L * i, LE));
                    g.sub(vmg).sub(xhat.mul(vmgx)).mul(vi).intoMemorySegment(dX, 4L * (row + i), LE);
                }
                for (; i < cols; i++) {
                    float xhat = (x.getAtIndex(FLOAT, row + i) - mu) * inv;
                    float g = dOut.getAtIndex(FLOAT, row + i) * Simd.read(w, wt, i);
                    dX.setAtIndex(FLOAT, row + i, inv * (g - mg - xhat * mgx));
                }
            }
        });
        par.forRange(cols, colGrain(rows), (c0, c1) -> {
            for (int r = 0; r < rows; r++) {
                long row = (long) r * cols;
                float mu = mean.getAtIndex(FLOAT, r), inv = invStd.getAtIndex(FLOAT, r);
                for (int c = c0; c < c1; c++) {
                    float g = dOut.getAtIndex(FLOAT, row + c);
                    dW.setAtIndex(FLOAT, c, dW.getAtIndex(FLOAT, c) + g * (x.getAtIndex(FLOAT, row + c) - mu) * inv);
                    if (dB != null) dB.setAtIndex(FLOAT, c, dB.getAtIndex(FLOAT, c) + g);
                }
            }
        });
    }
}
