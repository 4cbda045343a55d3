/*
 * Rotary position embedding, HF "rotate half" layout: x [B, T, H, D], pairs (i, i + D/2) rotated by the angle
 * (positionOffset + t) * invFreq[i]. The angle and its cos/sin are computed in double once per position into a
 * table shared by every batch row and head, and kept for later calls with the same frequencies: a training step
 * ropes q and k of every layer, forward and backward, over the same positions, and decoding with a KV cache asks
 * for one position more each token, so the table covers positions from 0 and doubles when it must grow (up to
 * MAX_TABLE_POSITIONS; beyond that a call gets a table of just its own positions). Backward rotates by the
 * negative angle. out may alias x.
 */
package kd4j.tensor.cpu;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

import static kd4j.tensor.cpu.Simd.LE;
import static kd4j.tensor.cpu.Simd.F;
import static kd4j.tensor.cpu.Simd.FLOAT;
import static kd4j.tensor.cpu.Simd.L;

public final class RopeKernels {
    private RopeKernels() {}

    /** cos and sin of (offset + p) * freq[i] at [p * half + i], p < positions. */
    private record Table(float[] freq, int offset, int positions, float[] cos, float[] sin) {
        boolean covers(MemorySegment invFreq, int half, int from, int count) {
            if (freq.length != half || from < offset || from + count > offset + positions) return false;
            for (int i = 0; i < half; i++)
                if (Float.floatToRawIntBits(freq[i]) != Float.floatToRawIntBits(invFreq.getAtIndex(FLOAT, i))) return false;
            return true;
        }
    }

    /** Positions a shared table may cover from 0 (with head dim 128: 64 K x 64 x 2 floats = 32 MiB at most). */
    static final int MAX_TABLE_POSITIONS = 1 << 16;

    /** The last table built (read-only once published); rebuilt when the frequencies change or it must grow. */
    private static volatile Table last;

    /** A table holding positions offset..offset+count-1 of these frequencies. */
    private static Table table(MemorySegment invFreq, int half, int offset, int count) {
        Table t = last;
        if (t != null && t.covers(invFreq, half, offset, count)) return t;
        long end = (long) offset + count;
        int from, positions;
        if (end <= MAX_TABLE_POSITIONS) {
            from = 0;
            positions = Math.min(MAX_TABLE_POSITIONS, Math.max((int) end, Integer.highestOneBit((int) end - 1) << 1));
        } else {
            from = offset;
            positions = count;
        }
        float[] freq = new float[half], cos = new float[positions * half], sin = new float[positions * half];
        for (int i = 0; i < half; i++) freq[i] = invFreq.getAtIndex(FLOAT, i);
        for (int p = 0; p < positions; p++)
            for (int i = 0; i < half; i++) {
                double a = (double) (from + p) * freq[i];
                cos[p * half + i] = (float) Math.cos(a);
                sin[p * half + i] = (float) Math.sin(a);
            }
        t = new Table(freq, from, positions, cos, sin);
        last = t;
        return t;
    }

    /** sign = +1 forward, -1 backward (rotation by the negative angle). */
    static void rope(Parallel par, MemorySegment x, MemorySegment invFreq, int positionOffset, MemorySegment out,
                     int batches, int tokens, int heads, int headDim, float sign) {
        int half = headDim / 2;
        Table tab = table(invFreq, half, positionOffset, tokens);
        boolean negate = sign < 0;
        par.forRange(batches * tokens, Math.max(1, ElementwiseKernels.GRAIN / Math.max(1, heads * headDim)), (r0, r1) -> {
            float[] cos = tab.cos, sin = tab.sin;
            for (int r = r0; r < r1; r++) {
                int to = (positionOffset + r % tokens - tab.offset) * half;
                for (int h = 0; h < heads; h++) {
                    long base = ((long) r * heads + h) * headDim;
                    int i = 0, ub = Simd.bound(half);
                    for (; i < ub; i += L) {
                        FloatVector x1 = FloatVector.fromMemorySegment(F, x, 4L * (base + i), LE), x2 = FloatVector.fromMemorySegment(F, x, 4L * (base + half + i), LE);
                        FloatVector c = FloatVector.fromArray(F, cos, to + i), s = FloatVector.fromArray(F, sin, to + i);
                        if (negate) s = s.neg();
                        x1.mul(c).sub(x2.mul(s)).intoMemorySegment(out, 4L * (base + i), LE);
                        x2.mul(c).add(x1.mul(s)).intoMemorySegment(out, 4L * (base + half + i), LE);
                    }
                    for (; i < half; i++) {
                        float x1 = x.getAtIndex(FLOAT, base + i), x2 = x.getAtIndex(FLOAT, base + half + i);
                        float c = cos[to + i], sn = negate ? -sin[to + i] : sin[to + i];
                        out.setAtIndex(FLOAT, base + i, x1 * c - x2 * sn);
                        out.setAtIndex(FLOAT, base + half + i, x2 * c + x1 * sn);
                    }
                }
            }
        });
    }
}
