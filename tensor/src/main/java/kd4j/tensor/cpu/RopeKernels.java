/*
 * Rotary position embedding, HF "rotate half" layout: x [B, T, H, D], pairs (i, i + D/2) rotated by the angle
 * (positionOffset + t) * invFreq[i]. The angle and its cos/sin are computed in double once per token into a
 * per-thread table and reused by all H heads. Backward rotates by the negative angle. out may alias x.
 */
package kd4j.tensor.cpu;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

import static kd4j.tensor.cpu.Simd.F;
import static kd4j.tensor.cpu.Simd.FLOAT;
import static kd4j.tensor.cpu.Simd.L;
import static kd4j.tensor.cpu.Simd.load;
import static kd4j.tensor.cpu.Simd.store;

public final class RopeKernels {
    private RopeKernels() {}

    private static final ThreadLocal<float[][]> TABLE = ThreadLocal.withInitial(() -> new float[][] {new float[0], new float[0]});

    /** sign = +1 forward, -1 backward (rotation by the negative angle). */
    static void rope(Parallel par, MemorySegment x, MemorySegment invFreq, int positionOffset, MemorySegment out,
                     int batches, int tokens, int heads, int headDim, float sign) {
        int half = headDim / 2;
        par.forRange(batches * tokens, Math.max(1, ElementwiseKernels.GRAIN / Math.max(1, heads * headDim)), (r0, r1) -> {
            float[][] tab = TABLE.get();
            if (tab[0].length < half) { tab[0] = new float[half]; tab[1] = new float[half]; }
            float[] cos = tab[0], sin = tab[1];
            for (int r = r0; r < r1; r++) {
                double pos = positionOffset + r % tokens;
                for (int i = 0; i < half; i++) {
                    double a = pos * invFreq.getAtIndex(FLOAT, i);
                    cos[i] = (float) Math.cos(a);
                    sin[i] = (float) (sign * Math.sin(a));
                }
                for (int h = 0; h < heads; h++) {
                    long base = ((long) r * heads + h) * headDim;
                    int i = 0, ub = Simd.bound(half);
                    for (; i < ub; i += L) {
                        FloatVector x1 = load(x, base + i), x2 = load(x, base + half + i);
                        FloatVector c = FloatVector.fromArray(F, cos, i), s = FloatVector.fromArray(F, sin, i);
                        store(x1.mul(c).sub(x2.mul(s)), out, base + i);
                        store(x2.mul(c).add(x1.mul(s)), out, base + half + i);
                    }
                    for (; i < half; i++) {
                        float x1 = x.getAtIndex(FLOAT, base + i), x2 = x.getAtIndex(FLOAT, base + half + i);
                        out.setAtIndex(FLOAT, base + i, x1 * cos[i] - x2 * sin[i]);
                        out.setAtIndex(FLOAT, base + half + i, x2 * cos[i] + x1 * sin[i]);
                    }
                }
            }
        });
    }
}
