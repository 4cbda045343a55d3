/*
 * Element access for the reference backend: read any host tensor (any strides, any dtype) into a double[] in
 * logical row-major order, and write one back. Deliberately slow and obvious: it is the oracle's only way to
 * touch memory, so the kernels above it can be plain loops over arrays.
 */
package kd4j.tensor.reference;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import java.lang.foreign.MemorySegment;
import kd4j.tensor.DType;
import kd4j.tensor.HostStorage;
import kd4j.tensor.ShapeException;
import kd4j.tensor.Tensor;

final class HostAccess {
    private HostAccess() {}

    static MemorySegment segment(Tensor t) {
        if (!(t.storage() instanceof HostStorage h))
            throw new ShapeException("reference backend: tensor " + t + " is not in host memory (storage "
                    + t.storage().getClass().getSimpleName() + "); copy it to the host first");
        return h.segment();
    }

    /** Storage element index of the logical (row-major) element i. */
    static long elementAt(Tensor t, long i) {
        int[] shape = t.shape();
        long[] strides = t.strides();
        long e = t.offset();
        for (int d = shape.length - 1; d >= 0; d--) {
            if (shape[d] == 0) return e;
            e += (i % shape[d]) * strides[d];
            i /= shape[d];
        }
        return e;
    }

    static double get(MemorySegment s, DType t, long e) {
        return switch (t) {
            case F32 -> s.getAtIndex(JAVA_FLOAT_UNALIGNED, e);
            case F64 -> s.getAtIndex(JAVA_DOUBLE_UNALIGNED, e);
            case BF16 -> DType.bf16ToFloat(s.getAtIndex(JAVA_SHORT_UNALIGNED, e));
            case F16 -> DType.f16ToFloat(s.getAtIndex(JAVA_SHORT_UNALIGNED, e));
            case I32 -> s.getAtIndex(JAVA_INT_UNALIGNED, e);
            case I64 -> s.getAtIndex(JAVA_LONG_UNALIGNED, e);
        };
    }

    static void set(MemorySegment s, DType t, long e, double v) {
        switch (t) {
            case F32 -> s.setAtIndex(JAVA_FLOAT_UNALIGNED, e, (float) v);
            case F64 -> s.setAtIndex(JAVA_DOUBLE_UNALIGNED, e, v);
            case BF16 -> s.setAtIndex(JAVA_SHORT_UNALIGNED, e, DType.floatToBf16((float) v));
            case F16 -> s.setAtIndex(JAVA_SHORT_UNALIGNED, e, DType.floatToF16((float) v));
            case I32 -> s.setAtIndex(JAVA_INT_UNALIGNED, e, (int) v);
            case I64 -> s.setAtIndex(JAVA_LONG_UNALIGNED, e, (long) v);
        }
    }

    static long getLong(MemorySegment s, DType t, long e) {
        return switch (t) {
            case I32 -> s.getAtIndex(JAVA_INT_UNALIGNED, e);
            case I64 -> s.getAtIndex(JAVA_LONG_UNALIGNED, e);
            default -> (long) get(s, t, e);
        };
    }

    static void setLong(MemorySegment s, DType t, long e, long v) {
        switch (t) {
            case I32 -> s.setAtIndex(JAVA_INT_UNALIGNED, e, (int) v);
            case I64 -> s.setAtIndex(JAVA_LONG_UNALIGNED, e, v);
            default -> set(s, t, e, v);
        }
    }

    /** All elements in logical order, widened to double. */
    static double[] read(Tensor t) {
        MemorySegment s = segment(t);
        int n = Math.toIntExact(t.numel());
        double[] out = new double[n];
        boolean contiguous = t.isContiguous();
        for (int i = 0; i < n; i++) out[i] = get(s, t.dtype(), contiguous ? t.offset() + i : elementAt(t, i));
        return out;
    }

    /** Token ids and masks (I32 or I64) in logical order. */
    static int[] readInts(Tensor t) {
        if (t.dtype().isFloating())
            throw ShapeException.of("reference", "expected an integer tensor (I32) for ids/targets/mask", "got", t);
        MemorySegment s = segment(t);
        int n = Math.toIntExact(t.numel());
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = (int) getLong(s, t.dtype(), elementAt(t, i));
        return out;
    }

    /** Writes values (logical order) into t, narrowing to t's dtype. */
    static void write(Tensor t, double[] values) {
        MemorySegment s = segment(t);
        int n = Math.toIntExact(t.numel());
        if (values.length < n) throw new IllegalStateException("write: " + values.length + " values for " + t);
        boolean contiguous = t.isContiguous();
        for (int i = 0; i < n; i++) set(s, t.dtype(), contiguous ? t.offset() + i : elementAt(t, i), values[i]);
    }
}
