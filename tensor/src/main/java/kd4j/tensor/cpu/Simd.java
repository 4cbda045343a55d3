/*
 * The one place the CPU backend chooses its vector width, plus the small vector loops every kernel family shares
 * (dot, sum, max, axpy, sum of exp). The species is chosen once: the machine's preferred width, or
 * -Dkd4j.vectorBits=128|256|512|0 to force one (0 = scalar: every loop runs its scalar tail only), so tests can
 * exercise every width on one machine, as Lucene's tests.vectorsize and llama3.java's VectorBitSize do.
 * Each loop is vector body (4 accumulators where it reduces: FMA latency 4-5 cycles, 2 per cycle) + scalar tail.
 *
 * Kernels load and store vectors with the JDK's own calls (FloatVector.fromMemorySegment(F, seg, 4L * index, LE) and
 * intoMemorySegment), never through a helper of ours. Vectors stay in registers only where C2 inlines every call that
 * takes or returns one, and it always inlines the JDK's (@ForceInline) but may refuse ours: at a call site that was
 * cold when it profiled (a helper already compiled on its own is "a medium method" there), and anywhere past its node
 * limit in a large kernel. A refused helper boxes each vector it returns: llama-bench training made 400 MB of heap
 * garbage a step that way. For the same reason exp and log take their constants from static final vectors, and a
 * kernel needing both exp and log runs them in two passes.
 */
package kd4j.tensor.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
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

    // ---- JIT-independent lane reductions and transcendentals ----
    //
    // FloatVector.reduceLanes(ADD) leaves the order of the additions unspecified: the Java fallback that the
    // interpreter and C1 run adds lane 0, 1, 2, ... while the C2 intrinsic adds a tree, so one sum can differ in its
    // last bit before and after a kernel is compiled. lanewise(EXP/LOG/...) is worse: SVML stubs under C2, the
    // StrictMath-like fallback elsewhere. Training must repeat bit for bit (same seed, same thread count), so every
    // kernel reduces with sumLanes (a fixed tree of lanewise adds over fixed shuffles) and exponentiates with exp
    // below (a polynomial of lanewise add/mul/fma and integer bit operations, each exactly specified and identical in
    // every tier). MAX/MIN reductions are exact in any order and stay on reduceLanes.

    /** Lane i takes lane (i + h) mod L: the pairings of sumLanes's tree (null where h >= L). */
    private static final VectorShuffle<Float> ROT8 = rotation(8), ROT4 = rotation(4), ROT2 = rotation(2), ROT1 = rotation(1);

    private static VectorShuffle<Float> rotation(int h) {
        return h >= L ? null : VectorShuffle.fromOp(F, i -> (i + h) & (L - 1));
    }

    /**
     * The sum of v's lanes in one fixed order (halves, then quarters, ...: lane 0 ends holding
     * ((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7)) for 8 lanes), the same in the interpreter, C1 and C2.
     */
    static float sumLanes(FloatVector v) {
        if (L >= 16) v = v.add(v.rearrange(ROT8));
        if (L >= 8) v = v.add(v.rearrange(ROT4));
        v = v.add(v.rearrange(ROT2));
        v = v.add(v.rearrange(ROT1));
        return v.lane(0);
    }

    private static final float LOG2E = 1.44269504088896341f;
    /** ln 2 split in a part with 8 significant bits (n * LN2_HI is exact for |n| < 2^16) and the rest. */
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    /** 1.5 * 2^23: adding it rounds a float of magnitude below 2^22 to an integer held in the low mantissa bits. */
    private static final float ROUND_MAGIC = 12582912f;
    private static final int ROUND_MAGIC_BITS = Float.floatToRawIntBits(ROUND_MAGIC);

    // exp's and log's constants as vectors built once. Each inline broadcast is a chain of a dozen calls when C2 parses a
    // kernel, and a kernel with exp and log inline (softplus) ran past C2's node limit: C2 then stopped inlining, and
    // every vector of the loop went to the heap (96 bytes of garbage per element). A static final vector is one node.
    private static FloatVector v(float x) { return FloatVector.broadcast(F, x); }
    private static IntVector vi(int x) { return IntVector.broadcast(I, x); }
    private static final FloatVector ONE = v(1f), ZERO = v(0f), EXP_MIN = v(-104f), EXP_MAX = v(89f);
    private static final FloatVector V_LOG2E = v(LOG2E), V_ROUND_MAGIC = v(ROUND_MAGIC);
    private static final FloatVector MINUS_LN2_HI = v(-LN2_HI), MINUS_LN2_LO = v(-LN2_LO), V_LN2_HI = v(LN2_HI), V_LN2_LO = v(LN2_LO);
    private static final FloatVector EXP_P0 = v(1.9875691500e-4f), EXP_P1 = v(1.3981999507e-3f), EXP_P2 = v(8.3334519073e-3f),
            EXP_P3 = v(4.1665795894e-2f), EXP_P4 = v(1.6666665459e-1f), EXP_P5 = v(5.0000001201e-1f);
    private static final IntVector V_ROUND_MAGIC_BITS = vi(ROUND_MAGIC_BITS), BIAS = vi(127), LOG_BIAS = vi(126);
    private static final IntVector MANTISSA = vi(0x007FFFFF), HALF_EXPONENT = vi(0x3F000000);
    private static final FloatVector SQRT_HALF = v(0.70710678118654752f), MINUS_HALF = v(-0.5f);
    private static final FloatVector LOG_P0 = v(7.0376836292e-2f), LOG_P1 = v(-1.1514610310e-1f), LOG_P2 = v(1.1676998740e-1f),
            LOG_P3 = v(-1.2420140846e-1f), LOG_P4 = v(1.4249322787e-1f), LOG_P5 = v(-1.6668057665e-1f),
            LOG_P6 = v(2.0000714765e-1f), LOG_P7 = v(-2.4999993993e-1f), LOG_P8 = v(3.3333331174e-1f);

    /**
     * exp(x) lane by lane (Cephes expf: relative error about 2 ulp), from lanewise add/mul/fma/min/max and integer
     * shifts only, so the result is bit-identical in every JIT tier. x = n ln2 + r with |r| <= ln2 / 2, exp(r) a
     * degree-7 polynomial, times 2^n applied as two factors 2^(n/2) (each a normal float) so that results round
     * gradually into the subnormals and overflow to +inf exactly where the float result would. exp(-inf) = 0,
     * exp(+inf) = +inf, exp(NaN) = NaN.
     */
    static FloatVector exp(FloatVector x) {
        // Beyond these the float result is 0 (2^-150 rounds to 0) or +inf; clamping keeps n within [-150, 129].
        x = x.max(EXP_MIN).min(EXP_MAX);
        FloatVector t = x.fma(V_LOG2E, V_ROUND_MAGIC);
        FloatVector n = t.sub(V_ROUND_MAGIC);
        FloatVector r = n.fma(MINUS_LN2_HI, x);
        r = n.fma(MINUS_LN2_LO, r);
        FloatVector p = EXP_P0.fma(r, EXP_P1).fma(r, EXP_P2).fma(r, EXP_P3).fma(r, EXP_P4).fma(r, EXP_P5);
        FloatVector y = p.mul(r.mul(r)).add(r).add(ONE);
        IntVector ni = t.reinterpretAsInts().sub(V_ROUND_MAGIC_BITS);
        IntVector half = ni.lanewise(VectorOperators.ASHR, 1), rest = ni.sub(half);
        FloatVector s1 = half.add(BIAS).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = rest.add(BIAS).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return y.mul(s1).mul(s2);
    }

    /**
     * ln(x) lane by lane for positive normal x (Cephes logf: relative error about 1 ulp), from lanewise add/mul/fma
     * and integer bit operations only, so bit-identical in every JIT tier. Callers guarantee the domain.
     */
    static FloatVector log(FloatVector x) {
        IntVector bits = x.reinterpretAsInts();
        // x = m 2^e with m in [0.5, 1), then m in [sqrt(1/2), sqrt(2)) by moving one factor of 2 when m is small.
        IntVector e = bits.lanewise(VectorOperators.LSHR, 23).sub(LOG_BIAS);
        FloatVector m = bits.and(MANTISSA).or(HALF_EXPONENT).reinterpretAsFloats();
        VectorMask<Float> small = m.compare(VectorOperators.LT, SQRT_HALF);
        FloatVector fe = ((FloatVector) e.convert(VectorOperators.I2F, 0)).sub(ZERO.blend(ONE, small));
        m = m.sub(ONE).add(ZERO.blend(m, small));
        FloatVector z = m.mul(m);
        FloatVector y = LOG_P0.fma(m, LOG_P1).fma(m, LOG_P2).fma(m, LOG_P3).fma(m, LOG_P4).fma(m, LOG_P5)
                .fma(m, LOG_P6).fma(m, LOG_P7).fma(m, LOG_P8);
        y = y.mul(m).mul(z);
        y = fe.fma(V_LN2_LO, y);
        y = z.fma(MINUS_HALF, y);
        return fe.fma(V_LN2_HI, m.add(y));
    }

    // ---- shared loops over segments (index arguments are element indices of fp32 arrays) ----

    static float dot(MemorySegment a, long ai, MemorySegment b, long bi, int n) {
        int i = 0, ub = bound(n);
        float sum = 0;
        if (ub > 0) {
            FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
            for (; i + 2 * L <= ub; i += 2 * L) {
                acc0 = FloatVector.fromMemorySegment(F, a, 4L * (ai + i), LE).fma(FloatVector.fromMemorySegment(F, b, 4L * (bi + i), LE), acc0);
                acc1 = FloatVector.fromMemorySegment(F, a, 4L * (ai + i + L), LE).fma(FloatVector.fromMemorySegment(F, b, 4L * (bi + i + L), LE), acc1);
            }
            for (; i < ub; i += L) acc0 = FloatVector.fromMemorySegment(F, a, 4L * (ai + i), LE).fma(FloatVector.fromMemorySegment(F, b, 4L * (bi + i), LE), acc0);
            sum = sumLanes(acc0.add(acc1));
        }
        for (; i < n; i++) sum += a.getAtIndex(FLOAT, ai + i) * b.getAtIndex(FLOAT, bi + i);
        return sum;
    }

    static float sum(MemorySegment a, long ai, int n) {
        int i = 0, ub = bound(n);
        float sum = 0;
        if (ub > 0) {
            FloatVector acc = FloatVector.zero(F);
            for (; i < ub; i += L) acc = acc.add(FloatVector.fromMemorySegment(F, a, 4L * (ai + i), LE));
            sum = sumLanes(acc);
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
                FloatVector x0 = FloatVector.fromMemorySegment(F, a, 4L * (ai + i), LE), x1 = FloatVector.fromMemorySegment(F, a, 4L * (ai + i + L), LE);
                acc0 = x0.fma(x0, acc0);
                acc1 = x1.fma(x1, acc1);
            }
            for (; i < ub; i += L) { FloatVector x = FloatVector.fromMemorySegment(F, a, 4L * (ai + i), LE); acc0 = x.fma(x, acc0); }
            sum = sumLanes(acc0.add(acc1));
        }
        for (; i < n; i++) { float x = a.getAtIndex(FLOAT, ai + i); sum += x * x; }
        return sum;
    }

    static float max(MemorySegment a, long ai, int n) {
        int i = 0, ub = bound(n);
        float m = Float.NEGATIVE_INFINITY;
        if (ub > 0) {
            FloatVector acc = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            for (; i < ub; i += L) acc = acc.max(FloatVector.fromMemorySegment(F, a, 4L * (ai + i), LE));
            m = acc.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) m = Math.max(m, a.getAtIndex(FLOAT, ai + i));
        return m;
    }

    /** max_i a[ai + i] (Math.max semantics, the same value in any order); -inf for n = 0. */
    static float max(float[] a, int ai, int n) {
        int i = 0, ub = bound(n);
        float m = Float.NEGATIVE_INFINITY;
        if (ub > 0) {
            FloatVector acc = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            for (; i < ub; i += L) acc = acc.max(FloatVector.fromArray(F, a, ai + i));
            m = acc.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) m = Math.max(m, a[ai + i]);
        return m;
    }

    /** a[ai + i] *= s for i < n. */
    static void scale(float[] a, int ai, int n, float s) {
        int i = 0, ub = bound(n);
        for (; i < ub; i += L) FloatVector.fromArray(F, a, ai + i).mul(s).intoArray(a, ai + i);
        for (; i < n; i++) a[ai + i] *= s;
    }

    /** sum_i exp(a[i] * mul - shift): the denominator of a softmax at temperature 1/mul, shifted by its max. */
    static float sumExp(MemorySegment a, long ai, int n, float mul, float shift) {
        int i = 0, ub = bound(n);
        float sum = 0;
        if (ub > 0) {
            FloatVector acc = FloatVector.zero(F), vm = FloatVector.broadcast(F, mul), vs = FloatVector.broadcast(F, -shift);
            for (; i < ub; i += L) acc = acc.add(Simd.exp(FloatVector.fromMemorySegment(F, a, 4L * (ai + i), LE).fma(vm, vs)));
            sum = sumLanes(acc);
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
            for (; i < ub; i += L) FloatVector.fromMemorySegment(F, src, 4L * (si + i), LE).fma(va, FloatVector.fromMemorySegment(F, dst, 4L * (di + i), LE)).intoMemorySegment(dst, 4L * (di + i), LE);
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
                FloatVector.fromMemorySegment(F, src, 4L * (si + i), LE).fma(va, FloatVector.fromArray(F, dst, di + i)).intoArray(dst, di + i);
        }
        for (; i < n; i++) dst[di + i] += alpha * src.getAtIndex(FLOAT, si + i);
    }

    static float dot(float[] a, int ai, float[] b, int bi, int n) {
        int i = 0, ub = bound(n);
        float sum = 0;
        if (ub > 0) {
            FloatVector acc = FloatVector.zero(F);
            for (; i < ub; i += L) acc = FloatVector.fromArray(F, a, ai + i).fma(FloatVector.fromArray(F, b, bi + i), acc);
            sum = sumLanes(acc);
        }
        for (; i < n; i++) sum += a[ai + i] * b[bi + i];
        return sum;
    }

    /** Copies n floats from a segment into a heap scratch array. */
    static void copy(MemorySegment src, long si, float[] dst, int di, int n) {
        MemorySegment.copy(src, FLOAT, si * Float.BYTES, dst, di, n);
    }

    /** Copies n consecutive elements of a float tensor of any storage dtype into a heap scratch array, widened to fp32. */
    static void copyWidened(MemorySegment src, DType dtype, long si, float[] dst, int di, int n) {
        if (dtype == DType.F32) { copy(src, si, dst, di, n); return; }
        int i = 0;
        if (dtype == DType.BF16 && !SCALAR) for (int end = bound(n); i < end; i += L) loadBf16(src, si + i).intoArray(dst, di + i);
        for (; i < n; i++) dst[di + i] = read(src, dtype, si + i);
    }

    /** Sets n floats of a segment to +0 (no slice object, unlike asSlice(...).fill). */
    static void zero(MemorySegment s, long index, int n) {
        int i = 0;
        if (!SCALAR) for (FloatVector z = FloatVector.zero(F); i + L <= n; i += L) z.intoMemorySegment(s, 4L * (index + i), LE);
        for (; i < n; i++) s.setAtIndex(FLOAT, index + i, 0f);
    }

    /** Copies n floats from a heap scratch array into a segment. */
    static void copy(float[] src, int si, MemorySegment dst, long di, int n) {
        MemorySegment.copy(src, si, dst, FLOAT, di * Float.BYTES, n);
    }
}
