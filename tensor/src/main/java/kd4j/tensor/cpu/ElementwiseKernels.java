/*
 * Elementwise ops: broadcast add/mul, scaling, bias-gradient row sums and the activations (SiLU, GELU, softplus,
 * SwiGLU) with their backward kernels, each backward directly under its forward. All indices are element indices
 * into fp32 segments; the facade has checked shapes. Work is split into blocks of GRAIN elements.
 * GELU uses an erf approximation in double (|error| < 1.2e-7 relative), as Java has no Math.erf.
 */
package kd4j.tensor.cpu;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import static kd4j.tensor.cpu.Simd.LE;
import static kd4j.tensor.cpu.Simd.F;
import static kd4j.tensor.cpu.Simd.FLOAT;
import static kd4j.tensor.cpu.Simd.L;

public final class ElementwiseKernels {
    /** Elements per parallel block: large enough that a fork costs well under 1% of the block. */
    static final int GRAIN = 1 << 15;

    private ElementwiseKernels() {}

    /** out[e] = a[e] + b[e % inner] (inner = b's numel; b == a's shape when inner == n). */
    static void add(Parallel par, MemorySegment a, MemorySegment b, MemorySegment out, int n, int inner) {
        binary(par, a, b, out, n, inner, false);
    }

    /** out[e] = a[e] * b[e % inner]. */
    static void mul(Parallel par, MemorySegment a, MemorySegment b, MemorySegment out, int n, int inner) {
        binary(par, a, b, out, n, inner, true);
    }

    private static void binary(Parallel par, MemorySegment a, MemorySegment b, MemorySegment out, int n, int inner, boolean mul) {
        par.forRange(n, GRAIN, (e0, e1) -> {
            for (int e = e0; e < e1; ) {
                int bi = e % inner, len = Math.min(e1 - e, inner - bi);
                int i = 0, ub = Simd.bound(len);
                for (; i < ub; i += L) {
                    FloatVector x = FloatVector.fromMemorySegment(F, a, 4L * (e + i), LE), y = FloatVector.fromMemorySegment(F, b, 4L * (bi + i), LE);
                    (mul ? x.mul(y) : x.add(y)).intoMemorySegment(out, 4L * (e + i), LE);
                }
                for (; i < len; i++) {
                    float x = a.getAtIndex(FLOAT, e + i), y = b.getAtIndex(FLOAT, bi + i);
                    out.setAtIndex(FLOAT, e + i, mul ? x * y : x + y);
                }
                e += len;
            }
        });
    }

    /** acc[e] += alpha * x[e]. */
    static void addScaled(Parallel par, MemorySegment acc, MemorySegment x, float alpha, int n) {
        par.forRange(n, GRAIN, (e0, e1) -> Simd.axpy(alpha, x, e0, acc, e0, e1 - e0));
    }

    /** out[e] = alpha * x[e]. */
    static void scale(Parallel par, MemorySegment x, float alpha, MemorySegment out, int n) {
        par.forRange(n, GRAIN, (e0, e1) -> {
            int i = e0, ub = e0 + Simd.bound(e1 - e0);
            FloatVector va = FloatVector.broadcast(F, alpha);
            for (; i < ub; i += L) FloatVector.fromMemorySegment(F, x, 4L * i, LE).mul(va).intoMemorySegment(out, 4L * i, LE);
            for (; i < e1; i++) out.setAtIndex(FLOAT, i, alpha * x.getAtIndex(FLOAT, i));
        });
    }

    /** dB[c] += sum_r dOut[r, c]; parallel over column blocks so no two threads write one dB element. */
    static void sumRowsBackward(Parallel par, MemorySegment dOut, MemorySegment dB, int rows, int cols) {
        par.forRange(cols, Math.max(L, GRAIN / Math.max(1, rows)), (c0, c1) -> {
            for (int r = 0; r < rows; r++) Simd.axpy(1f, dOut, (long) r * cols + c0, dB, c0, c1 - c0);
        });
    }

    // ---- SiLU: x * sigmoid(x) ----

    static void siluForward(Parallel par, MemorySegment x, MemorySegment out, int n) {
        par.forRange(n, GRAIN, (e0, e1) -> {
            int i = e0, ub = e0 + Simd.bound(e1 - e0);
            FloatVector one = FloatVector.broadcast(F, 1f);
            for (; i < ub; i += L) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, 4L * i, LE);
                v.div(one.add(Simd.exp(v.neg()))).intoMemorySegment(out, 4L * i, LE);
            }
            for (; i < e1; i++) {
                float v = x.getAtIndex(FLOAT, i);
                out.setAtIndex(FLOAT, i, (float) (v / (1 + Math.exp(-v))));
            }
        });
    }

    /** dX = dOut * (s + x s (1 - s)), s = sigmoid(x). */
    static void siluBackward(Parallel par, MemorySegment dOut, MemorySegment x, MemorySegment dX, int n) {
        par.forRange(n, GRAIN, (e0, e1) -> {
            int i = e0, ub = e0 + Simd.bound(e1 - e0);
            FloatVector one = FloatVector.broadcast(F, 1f);
            for (; i < ub; i += L) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, 4L * i, LE);
                FloatVector s = one.div(one.add(Simd.exp(v.neg())));
                FloatVector.fromMemorySegment(F, dOut, 4L * i, LE).mul(s.mul(one.add(v.mul(one.sub(s))))).intoMemorySegment(dX, 4L * i, LE);
            }
            for (; i < e1; i++) {
                float v = x.getAtIndex(FLOAT, i);
                float s = (float) (1 / (1 + Math.exp(-v)));
                dX.setAtIndex(FLOAT, i, dOut.getAtIndex(FLOAT, i) * s * (1 + v * (1 - s)));
            }
        });
    }

    // ---- GELU (exact, erf form) ----

    static void geluForward(Parallel par, MemorySegment x, MemorySegment out, int n) {
        par.forRange(n, GRAIN, (e0, e1) -> {
            for (int i = e0; i < e1; i++) {
                double v = x.getAtIndex(FLOAT, i);
                out.setAtIndex(FLOAT, i, (float) (0.5 * v * (1 + erf(v * 0.7071067811865476))));
            }
        });
    }

    /** dX = dOut * (Phi(x) + x phi(x)), Phi the normal CDF and phi its density. */
    static void geluBackward(Parallel par, MemorySegment dOut, MemorySegment x, MemorySegment dX, int n) {
        par.forRange(n, GRAIN, (e0, e1) -> {
            for (int i = e0; i < e1; i++) {
                double v = x.getAtIndex(FLOAT, i);
                double cdf = 0.5 * (1 + erf(v * 0.7071067811865476));
                double pdf = Math.exp(-0.5 * v * v) * 0.3989422804014327;
                dX.setAtIndex(FLOAT, i, (float) (dOut.getAtIndex(FLOAT, i) * (cdf + v * pdf)));
            }
        });
    }

    /**
     * erf(x) from the complementary error function's Chebyshev fit (Numerical Recipes erfcc: fractional error
     * below 1.2e-7 everywhere), which is well inside fp32 rounding of the GELU output.
     */
    static double erf(double x) {
        double z = Math.abs(x);
        double t = 1 / (1 + 0.5 * z);
        double r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
                + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? 1 - r : r - 1;
    }

    // ---- softplus: log(1 + exp(x)), x itself above 20 ----

    /**
     * Two passes, exp(min(x, 20)) into out and then log1p of it: exp and log inline in one loop took C2 past its node
     * limit before the store, and the loop's vectors were boxed on the heap.
     */
    static void softplusForward(Parallel par, MemorySegment x, MemorySegment out, int n) {
        par.forRange(n, GRAIN, (e0, e1) -> {
            int i = e0, ub = e0 + Simd.bound(e1 - e0);
            FloatVector twenty = FloatVector.broadcast(F, 20f);
            for (; i < ub; i += L) Simd.exp(FloatVector.fromMemorySegment(F, x, 4L * i, LE).min(twenty)).intoMemorySegment(out, 4L * i, LE);
            for (; i < e1; i++) out.setAtIndex(FLOAT, i, (float) Math.exp(Math.min(x.getAtIndex(FLOAT, i), 20f)));
        });
        par.forRange(n, GRAIN, (e0, e1) -> {
            int i = e0, ub = e0 + Simd.bound(e1 - e0);
            FloatVector one = FloatVector.broadcast(F, 1f), twenty = FloatVector.broadcast(F, 20f);
            for (; i < ub; i += L) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, 4L * i, LE), u = FloatVector.fromMemorySegment(F, out, 4L * i, LE), w = one.add(u);
                // log1p(u) = log(w) u / (w - 1) with w = 1 + u (Goldberg): a few ulp even where w rounds to 1.
                FloatVector sp = Simd.log(w).mul(u.div(w.sub(one))).blend(u, w.compare(VectorOperators.EQ, one));
                sp.blend(v, v.compare(VectorOperators.GT, twenty)).intoMemorySegment(out, 4L * i, LE);
            }
            for (; i < e1; i++) {
                float v = x.getAtIndex(FLOAT, i);
                out.setAtIndex(FLOAT, i, v > 20f ? v : (float) Math.log1p(Math.exp(v)));
            }
        });
    }

    static void softplusBackward(Parallel par, MemorySegment dOut, MemorySegment x, MemorySegment dX, int n) {
        par.forRange(n, GRAIN, (e0, e1) -> {
            int i = e0, ub = e0 + Simd.bound(e1 - e0);
            FloatVector one = FloatVector.broadcast(F, 1f), twenty = FloatVector.broadcast(F, 20f);
            for (; i < ub; i += L) {
                FloatVector v = FloatVector.fromMemorySegment(F, x, 4L * i, LE);
                FloatVector s = one.div(one.add(Simd.exp(v.neg())));
                s = s.blend(one, v.compare(VectorOperators.GT, twenty));
                FloatVector.fromMemorySegment(F, dOut, 4L * i, LE).mul(s).intoMemorySegment(dX, 4L * i, LE);
            }
            for (; i < e1; i++) {
                float v = x.getAtIndex(FLOAT, i);
                float s = v > 20f ? 1f : (float) (1 / (1 + Math.exp(-v)));
                dX.setAtIndex(FLOAT, i, dOut.getAtIndex(FLOAT, i) * s);
            }
        });
    }

    // ---- SwiGLU: silu(gate) * up ----

    static void swigluForward(Parallel par, MemorySegment gate, MemorySegment up, MemorySegment out, int n) {
        par.forRange(n, GRAIN, (e0, e1) -> {
            int i = e0, ub = e0 + Simd.bound(e1 - e0);
            FloatVector one = FloatVector.broadcast(F, 1f);
            for (; i < ub; i += L) {
                FloatVector g = FloatVector.fromMemorySegment(F, gate, 4L * i, LE);
                g.div(one.add(Simd.exp(g.neg()))).mul(FloatVector.fromMemorySegment(F, up, 4L * i, LE)).intoMemorySegment(out, 4L * i, LE);
            }
            for (; i < e1; i++) {
                float g = gate.getAtIndex(FLOAT, i);
                out.setAtIndex(FLOAT, i, (float) (g / (1 + Math.exp(-g))) * up.getAtIndex(FLOAT, i));
            }
        });
    }

    /** dGate = dOut * up * silu'(gate), dUp = dOut * silu(gate). */
    static void swigluBackward(Parallel par, MemorySegment dOut, MemorySegment gate, MemorySegment up,
                               MemorySegment dGate, MemorySegment dUp, int n) {
        par.forRange(n, GRAIN, (e0, e1) -> {
            int i = e0, ub = e0 + Simd.bound(e1 - e0);
            FloatVector one = FloatVector.broadcast(F, 1f);
            for (; i < ub; i += L) {
                FloatVector g = FloatVector.fromMemorySegment(F, gate, 4L * i, LE), d = FloatVector.fromMemorySegment(F, dOut, 4L * i, LE);
                FloatVector s = one.div(one.add(Simd.exp(g.neg())));
                d.mul(FloatVector.fromMemorySegment(F, up, 4L * i, LE)).mul(s.mul(one.add(g.mul(one.sub(s))))).intoMemorySegment(dGate, 4L * i, LE);
                d.mul(g.mul(s)).intoMemorySegment(dUp, 4L * i, LE);
            }
            for (; i < e1; i++) {
                float g = gate.getAtIndex(FLOAT, i), d = dOut.getAtIndex(FLOAT, i);
                float s = (float) (1 / (1 + Math.exp(-g)));
                dGate.setAtIndex(FLOAT, i, d * up.getAtIndex(FLOAT, i) * s * (1 + g * (1 - s)));
                dUp.setAtIndex(FLOAT, i, d * g * s);
            }
        });
    }
}
