/*
 * Whole-tensor reductions (sum, sum of squares, finiteness) and row-wise softmax / log-softmax with backward.
 * Whole-tensor sums use fixed CHUNK-sized partial sums in fp32 vectors, combined in double in chunk order, so the
 * result does not depend on the thread count. Softmax subtracts the row max before exp.
 */
package kd4j.tensor.cpu;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import static kd4j.tensor.cpu.Simd.LE;
import static kd4j.tensor.cpu.Simd.F;
import static kd4j.tensor.cpu.Simd.FLOAT;
import static kd4j.tensor.cpu.Simd.L;

public final class ReduceKernels {
    /** Elements per partial sum: short enough that fp32 accumulation stays accurate, long enough to vectorise. */
    static final int CHUNK = 4096;

    private ReduceKernels() {}

    static double sum(Parallel par, MemorySegment x, long n) { return chunked(par, x, n, false); }

    static double sumOfSquares(Parallel par, MemorySegment x, long n) { return chunked(par, x, n, true); }

    private static double chunked(Parallel par, MemorySegment x, long n, boolean squares) {
        int chunks = (int) ((n + CHUNK - 1) / CHUNK);
        double[] partial = new double[chunks];
        par.forRange(chunks, 16, (c0, c1) -> {
            for (int c = c0; c < c1; c++) {
                long start = (long) c * CHUNK;
                int len = (int) Math.min(CHUNK, n - start);
                partial[c] = squares ? Simd.sumOfSquares(x, start, len) : Simd.sum(x, start, len);
            }
        });
        double total = 0;
        for (double p : partial) total += p;
        return total;
    }

    /** x * 0 is 0 for every finite x and NaN for NaN and +-inf, so one vector sum finds any non-finite value. */
    static boolean allFinite(Parallel par, MemorySegment x, long n) {
        int chunks = (int) ((n + CHUNK - 1) / CHUNK);
        boolean[] bad = new boolean[chunks];
        par.forRange(chunks, 16, (c0, c1) -> {
            for (int c = c0; c < c1; c++) {
                long start = (long) c * CHUNK;
                int len = (int) Math.min(CHUNK, n - start), i = 0, ub = Simd.bound(len);
                float acc = 0;
                if (ub > 0) {
                    FloatVector v = FloatVector.zero(F);
                    for (; i < ub; i += L) v = v.add(FloatVector.fromMemorySegment(F, x, 4L * (start + i), LE).mul(0f));
                    acc = Simd.sumLanes(v);
                }
                for (; i < len; i++) acc += x.getAtIndex(FLOAT, start + i) * 0f;
                bad[c] = acc != 0f;
            }
        });
        for (boolean b : bad) if (b) return false;
        return true;
    }

    /** out[r, :] = softmax(x[r, :]); out may alias x. */
    static void softmaxForward(Parallel par, MemorySegment x, MemorySegment out, int rows, int cols) {
        par.forRange(rows, Math.max(1, ElementwiseKernels.GRAIN / Math.max(1, cols)), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                long row = (long) r * cols;
                float m = Simd.max(x, row, cols);
                float inv = 1f / Simd.sumExp(x, row, cols, 1f, m);
                expShifted(x, row, out, row, cols, m, inv);
            }
        });
    }

    /** out[i] = exp(x[i] - shift) * mul. */
    static void expShifted(MemorySegment x, long xi, MemorySegment out, long oi, int n, float shift, float mul) {
        int i = 0, ub = Simd.bound(n);
        FloatVector vs = FloatVector.broadcast(F, shift), vm = FloatVector.broadcast(F, mul);
        for (; i < ub; i += L) Simd.exp(FloatVector.fromMemorySegment(F, x, 4L * (xi + i), LE).sub(vs)).mul(vm).intoMemorySegment(out, 4L * (oi + i), LE);
        for (; i < n; i++) out.setAtIndex(FLOAT, oi + i, (float) Math.exp(x.getAtIndex(FLOAT, xi + i) - shift) * mul);
    }

    /** dX = out * (dOut - sum_c dOut * out). */
    static void softmaxBackward(Parallel par, MemorySegment dOut, MemorySegment out, MemorySegment dX, int rows, int cols) {
        par.forRange(rows, Math.max(1, ElementwiseKernels.GRAIN / Math.max(1, cols)), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                long row = (long) r * cols;
                float s = Simd.dot(dOut, row, out, row, cols);
                int i = 0, ub = Simd.bound(cols);
                FloatVector vs = FloatVector.broadcast(F, s);
                for (; i < ub; i += L) FloatVector.fromMemorySegment(F, out, 4L * (row + i), LE).mul(FloatVector.fromMemorySegment(F, dOut, 4L * (row + i), LE).sub(vs)).intoMemorySegment(dX, 4L * (row + i), LE);
                for (; i < cols; i++)
                    dX.setAtIndex(FLOAT, row + i, out.getAtIndex(FLOAT, row + i) * (dOut.getAtIndex(FLOAT, row + i) - s));
            }
        });
    }

    /** out[r, :] = x[r, :] - logsumexp(x[r, :]). */
    static void logSoftmaxForward(Parallel par, MemorySegment x, MemorySegment out, int rows, int cols) {
        par.forRange(rows, Math.max(1, ElementwiseKernels.GRAIN / Math.max(1, cols)), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                long row = (long) r * cols;
                float lse = Simd.logSumExp(x, row, cols, 1f);
                int i = 0, ub = Simd.bound(cols);
                FloatVector vl = FloatVector.broadcast(F, lse);
                for (; i < ub; i += L) FloatVector.fromMemorySegment(F, x, 4L * (row + i), LE).sub(vl).intoMemorySegment(out, 4L * (row + i), LE);
                for (; i < cols; i++) out.setAtIndex(FLOAT, row + i, x.getAtIndex(FLOAT, row + i) - lse);
            }
        });
    }

    /** dX = dOut - exp(out) * sum_c dOut. */
    static void logSoftmaxBackward(Parallel par, MemorySegment dOut, MemorySegment out, MemorySegment dX, int rows, int cols) {
        par.forRange(rows, Math.max(1, ElementwiseKernels.GRAIN / Math.max(1, cols)), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                long row = (long) r * cols;
                float s = Simd.sum(dOut, row, cols);
                int i = 0, ub = Simd.bound(cols);
                FloatVector vs = FloatVector.broadcast(F, s);
                for (; i < ub; i += L)
                    FloatVector.fromMemorySegment(F, dOut, 4L * (row + i), LE).sub(Simd.exp(FloatVector.fromMemorySegment(F, out, 4L * (row + i), LE)).mul(vs)).intoMemorySegment(dX, 4L * (row + i), LE);
                for (; i < cols; i++)
                    dX.setAtIndex(FLOAT, row + i, dOut.getAtIndex(FLOAT, row + i) - (float) Math.exp(out.getAtIndex(FLOAT, row + i)) * s);
            }
        });
    }
}
