/*
 * The one place the CPU backend chooses its vector width, plus the small vector loops every kernel family shares
 * (dot, sum, max, axpy, sum of exp). The species is chosen once: the machine's preferred width, or
 * -Dkd4j.vectorBits=128|256|512|0 to force one (0 = scalar: every loop runs its scalar tail only), so tests can
 * exercise every width on one machine, as Lucene's tests.vectorsize and llama3.java's VectorBitSize do.
 * Each loop is vector body (4 accumulators where it reduces: FMA latency 4-5 cycles, 2 per cycle) + scalar tail.
 */
package kd4j.tensor.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import kd4j.tensor.DType;

public final class Simd {
    static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** Vector width in bits; 0 means scalar loops only. */
    public static final int BITS = chooseBits();
    static final boolean SCALAR = BITS == 0;
    /** The float species (128-bit in scalar mode, where it is never used for arithmetic). */
    static final VectorSpecies<Float> F = VectorSpecies.of(float.class, VectorShape.forBitSize(SCALAR ? 128 : BITS));
    /** Float lanes per vector (the species' lane count, also in scalar mode so tile sizes stay defined). */
    static final int L = F.length();
    /** bf16 widening: L shorts (half the float width) → L ints (the float width) → shift → reinterpret. */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(Math.max(64, L * 16)));
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());

    private Simd() {}

    private static int chooseBits() {
        int preferred = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        String p = System.getProperty("kd4j.vectorBits");
        if (p == null || p.isBlank()) return preferred;
        int bits;
        try { bits = Integer.parseInt(p.trim()); } catch (NumberFormatException e) { bits = -1; }
        if (bits != 0 && bits != 128 && bits != 256 && bits != 512)
            throw new IllegalStateException("-Dkd4j.vectorBits=" + p + " is not one of 0 (scalar), 128, 256, 512");
        return bits;
    }

    /** "256-bit (8 float lanes)" or "scalar". */
    public static String describe() {
        return SCALAR ? "scalar (kd4j.vectorBits=0)" : BITS + "-bit vectors (" + L + " float lanes)";
    }

    /** End of the vector body for n elements: a multiple of L, and 0 in scalar mode. */
    static int bound(int n) { return SCALAR ? 0 : n - n % L; }

    static FloatVector load(MemorySegment s, long index) {
        return FloatVector.fromMemorySegment(F, s, index * Float.BYTES, LE);
    }

    static void store(FloatVector v, MemorySegment s, long index) {
        v.intoMemorySegment(s, index * Float.BYTES, LE);
    }

    /**
     * L bf16 values at element index, widened to fp32. Layout: a bf16 is the top 16 bits of the fp32 with the same
     * sign, exponent and 7-bit mantissa, so widening is "sign-extend to int, shift left 16" (the sign-extension bits
     * fall off the top) and a reinterpret.
     */
    static FloatVector loadBf16(MemorySegment s, long index) {
        ShortVector h = ShortVector.fromMemorySegment(S, s, index * 2, LE);
        IntVector w = (IntVector) h.convertShape(VectorOperators.S2I, I, 0);
        return w.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** L values of a weight in F32 or BF16 (F16 weights take the scalar path: see vectorizable). */
    static FloatVector loadWidened(MemorySegment s, DType dtype, long index) {
        return dtype == DType.BF16 ? loadBf16(s, index) : load(s, index);
    }

    /** Whether a weight of this dtype has a vector load; F16 is widened one element at a time. */
    static boolean vectorizable(DType dtype) { return dtype == DType.F32 || dtype == DType.BF16; }

    /** One element of a float tensor of any storage dtype, widened to fp32. */
    static float read(MemorySegment s, DType dtype, long index) {
        return switch (dtype) {
            case F32 -> s.getAtIndex(FLOAT, index);
            case BF16 -> DType.bf16ToFloat(s.getAtIndex(SHORT, index));
            case F16 -> Float.float16ToFloat(s.getAtIndex(SHORT, index));
            case F64 -> (float) s.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, index);
            default -> throw new IllegalArgumentException("not a float dtype: " + dtype);
        };
    }

    // ---- shared loops over segments (index arguments are element indices of fp32 arrays) ----

    static float dot(MemorySegment a, long ai, MemorySegment b, long bi, int n) {
        int i = 0, ub = bound(n);
        float sum = 0;
        if (ub > 0) {
            FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
            for (; i + 2 * L <= ub; i += 2 * L) {
                acc0 = load(a, ai + i).fma(load(b, bi + i), acc0);
                acc1 = load(a, ai + i + L).fma(load(b, bi + i + L), acc1);
            }
            for (; i < ub; i += L) acc0 = load(a, ai + i).fma(load(b, bi + i), acc0);
            sum = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) sum += a.getAtIndex(FLOAT, ai + i) * b.getAtIndex(FLOAT, bi + i);
        return sum;
    }

    static float sum(MemorySegment a, long ai, int n) {
        int i = 0, ub = bound(n);
        float sum = 0;
        if (ub > 0) {
            FloatVector acc = FloatVector.zero(F);
            for (; i < ub; i += L) acc = acc.add(load(a, ai + i));
            sum = acc.reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) sum += a.getAtIndex(FLOAT, ai + i);
        return sum;
    }

    static float sumOfSquares(MemorySegment a, long ai, int n) {
        int i = 0, ub = bound(n);
        float sum = 0;
        if (ub > 0) {
            FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
            for (; i + 2 * L <= ub; i += 2 * L) {
                FloatVector x0 = load(a, ai + i), x1 = load(a, ai + i + L);
                acc0 = x0.fma(x0, acc0);
                acc1 = x1.fma(x1, acc1);
            }
            for (; i < ub; i += L) { FloatVector x = load(a, ai + i); acc0 = x.fma(x, acc0); }
            sum = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) { float x = a.getAtIndex(FLOAT, ai + i); sum += x * x; }
        return sum;
    }

    static float max(MemorySegment a, long ai, int n) {
        int i = 0, ub = bound(n);
        float m = Float.NEGATIVE_INFINITY;
        if (ub > 0) {
            FloatVector acc = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            for (; i < ub; i += L) acc = acc.max(load(a, ai + i));
            m = acc.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) m = Math.max(m, a.getAtIndex(FLOAT, ai + i));
        return m;
    }

    /** sum_i exp(a[i] * mul - shift): the denominator of a softmax at temperature 1/mul, shifted by its max. */
    static float sumExp(MemorySegment a, long ai, int n, float mul, float shift) {
        int i = 0, ub = bound(n);
        float sum = 0;
        if (ub > 0) {
            FloatVector acc = FloatVector.zero(F), vm = FloatVector.broadcast(F, mul), vs = FloatVector.broadcast(F, -shift);
            for (; i < ub; i += L) acc = acc.add(load(a, ai + i).fma(vm, vs).lanewise(VectorOperators.EXP));
            sum = acc.reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) sum += (float) Math.exp(a.getAtIndex(FLOAT, ai + i) * mul - shift);
        return sum;
    }

    /** log sum_i exp(a[i] * mul), stable: the max is subtracted before exp. -inf for n == 0. */
    static float logSumExp(MemorySegment a, long ai, int n, float mul) {
        float m = max(a, ai, n) * mul;
        if (mul < 0) throw new IllegalArgumentException("logSumExp needs mul >= 0");
        if (m == Float.NEGATIVE_INFINITY || Float.isNaN(m)) return m;
        if (m == Float.POSITIVE_INFINITY) return m;
        return m + (float) Math.log(sumExp(a, ai, n, mul, m));
    }

    /** dst[i] += alpha * src[i]. */
    static void axpy(float alpha, MemorySegment src, long si, MemorySegment dst, long di, int n) {
        int i = 0, ub = bound(n);
        if (ub > 0) {
            FloatVector va = FloatVector.broadcast(F, alpha);
            for (; i < ub; i += L) store(load(src, si + i).fma(va, load(dst, di + i)), dst, di + i);
        }
        for (; i < n; i++) dst.setAtIndex(FLOAT, di + i, dst.getAtIndex(FLOAT, di + i) + alpha * src.getAtIndex(FLOAT, si + i));
    }

    /** dst[i] += alpha * src[i] on heap arrays (per-thread scratch tiles). */
    static void axpy(float alpha, float[] src, int si, float[] dst, int di, int n) {
        int i = 0, ub = bound(n);
        if (ub > 0) {
            FloatVector va = FloatVector.broadcast(F, alpha);
            for (; i < ub; i += L)
                FloatVector.fromArray(F, src, si + i).fma(va, FloatVector.fromArray(F, dst, di + i)).intoArray(dst, di + i);
        }
        for (; i < n; i++) dst[di + i] += alpha * src[si + i];
    }

    /** dst[i] += alpha * src[i], src in a segment, dst a heap scratch row. */
    static void axpy(float alpha, MemorySegment src, long si, float[] dst, int di, int n) {
        int i = 0, ub = bound(n);
        if (ub > 0) {
            FloatVector va = FloatVector.broadcast(F, alpha);
            for (; i < ub; i += L)
                load(src, si + i).fma(va, FloatVector.fromArray(F, dst, di + i)).intoArray(dst, di + i);
        }
        for (; i < n; i++) dst[di + i] += alpha * src.getAtIndex(FLOAT, si + i);
    }

    static float dot(float[] a, int ai, float[] b, int bi, int n) {
        int i = 0, ub = bound(n);
        float sum = 0;
        if (ub > 0) {
            FloatVector acc = FloatVector.zero(F);
            for (; i < ub; i += L) acc = FloatVector.fromArray(F, a, ai + i).fma(FloatVector.fromArray(F, b, bi + i), acc);
            sum = acc.reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) sum += a[ai + i] * b[bi + i];
        return sum;
    }

    /** Copies n floats from a segment into a heap scratch array. */
    static void copy(MemorySegment src, long si, float[] dst, int di, int n) {
        MemorySegment.copy(src, FLOAT, si * Float.BYTES, dst, di, n);
    }

    /** Copies n floats from a heap scratch array into a segment. */
    static void copy(float[] src, int si, MemorySegment dst, long di, int n) {
        MemorySegment.copy(src, si, dst, FLOAT, di * Float.BYTES, n);
    }
}
