/*
 * A tensor is a cheap handle: dtype, dims, strides and an element offset over a Storage owned by one Backend.
 * Views (reshape, transpose, narrow, select) make new handles over the same storage; contiguous() is the only
 * implicit copy, and it is named. Kernels take contiguous tensors unless their Javadoc says otherwise.
 */
package kd4j.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

public final class Tensor {
    private final Storage storage;
    private final DType dtype;
    private final int[] shape;
    private final long[] strides;   // in elements
    private final long offset;      // in elements

    public Tensor(Storage storage, DType dtype, int[] shape, long[] strides, long offset) {
        if (shape.length != strides.length) throw new IllegalArgumentException("shape and strides differ in rank");
        for (int d : shape) if (d < 0) throw new ShapeException("negative dimension in " + Arrays.toString(shape));
        this.storage = storage;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.strides = strides.clone();
        this.offset = offset;
    }

    /** A contiguous tensor over the whole given storage region starting at element 0. */
    public static Tensor of(Storage storage, DType dtype, int... shape) {
        return new Tensor(storage, dtype, shape, contiguousStrides(shape), 0);
    }

    public static long[] contiguousStrides(int[] shape) {
        long[] s = new long[shape.length];
        long acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
        return s;
    }

    public static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    public Storage storage() { return storage; }
    public Backend backend() { return storage.backend(); }
    public DType dtype() { return dtype; }
    public int[] shape() { return shape.clone(); }
    public long[] strides() { return strides.clone(); }
    public long offset() { return offset; }
    public int rank() { return shape.length; }
    public long numel() { return numel(shape); }

    /** Size of dimension d; negative d counts from the end. */
    public int dim(int d) { return shape[d < 0 ? shape.length + d : d]; }
    public long stride(int d) { return strides[d < 0 ? strides.length + d : d]; }

    /** Rows when viewed as a matrix [numel / lastDim, lastDim]. */
    public long rows() { return shape.length == 0 ? 1 : numel() / Math.max(1, shape[shape.length - 1]); }

    /** Byte offset of element 0 in the storage. */
    public long byteOffset() { return offset * dtype.byteSize(); }

    public boolean isContiguous() {
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && strides[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    public boolean sameShape(Tensor o) { return Arrays.equals(shape, o.shape); }

    // ---- views ----

    /** Same elements, new dims; the tensor must be contiguous. One dim may be -1 (inferred). */
    public Tensor reshape(int... newShape) {
        int[] dims = newShape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] == -1) {
                if (infer >= 0) throw ShapeException.of("reshape", "more than one -1", "to", newShape);
                infer = i;
            } else known *= dims[i];
        }
        if (infer >= 0) {
            if (known == 0 || numel() % known != 0)
                throw ShapeException.of("reshape", "cannot infer -1", "from", shape, "to", newShape);
            dims[infer] = (int) (numel() / known);
        }
        if (numel(dims) != numel())
            throw ShapeException.of("reshape", "element counts differ", "from", shape, "to", newShape);
        if (!isContiguous())
            throw ShapeException.of("reshape", "tensor is not contiguous; call contiguous() first", "from", shape);
        return new Tensor(storage, dtype, dims, contiguousStrides(dims), offset);
    }

    /** Swaps two dimensions (a view). */
    public Tensor transpose(int d0, int d1) {
        int a = d0 < 0 ? shape.length + d0 : d0, b = d1 < 0 ? shape.length + d1 : d1;
        int[] s = shape.clone();
        long[] st = strides.clone();
        s[a] = shape[b]; s[b] = shape[a];
        st[a] = strides[b]; st[b] = strides[a];
        return new Tensor(storage, dtype, s, st, offset);
    }

    /** Elements start..start+length-1 along dimension d (a view). */
    public Tensor narrow(int d, int start, int length) {
        int a = d < 0 ? shape.length + d : d;
        if (start < 0 || length < 0 || start + length > shape[a])
            throw ShapeException.of("narrow", "range " + start + "+" + length + " out of bounds on dim " + a,
                    "tensor", shape);
        int[] s = shape.clone();
        s[a] = length;
        return new Tensor(storage, dtype, s, strides, offset + start * strides[a]);
    }

    /** Index i of dimension d, dropping that dimension (a view). */
    public Tensor select(int d, int index) {
        int a = d < 0 ? shape.length + d : d;
        if (index < 0 || index >= shape[a])
            throw ShapeException.of("select", "index " + index + " out of bounds on dim " + a, "tensor", shape);
        int[] s = new int[shape.length - 1];
        long[] st = new long[shape.length - 1];
        for (int i = 0, j = 0; i < shape.length; i++) {
            if (i == a) continue;
            s[j] = shape[i]; st[j] = strides[i]; j++;
        }
        return new Tensor(storage, dtype, s, st, offset + index * strides[a]);
    }

    /** This tensor if contiguous, else a contiguous copy on the same backend. */
    public Tensor contiguous() {
        if (isContiguous()) return this;
        Tensor out = backend().empty(dtype, shape);
        backend().copy(this, out);
        return out;
    }

    // ---- host transfer ----

    /** Copies all elements to a new float array (any floating dtype is widened). */
    public float[] toFloatArray() {
        Tensor src = this;
        if (dtype != DType.F32) {
            src = backend().empty(DType.F32, shape);
            backend().copy(this, src);
        } else if (!isContiguous()) {
            src = contiguous();
        }
        float[] out = new float[Math.toIntExact(numel())];
        backend().copyOut(src, MemorySegment.ofArray(out));
        return out;
    }

    public double[] toDoubleArray() {
        if (dtype != DType.F64) {
            float[] f = toFloatArray();
            double[] d = new double[f.length];
            for (int i = 0; i < f.length; i++) d[i] = f[i];
            return d;
        }
        Tensor src = contiguous();
        double[] out = new double[Math.toIntExact(numel())];
        backend().copyOut(src, MemorySegment.ofArray(out));
        return out;
    }

    public int[] toIntArray() {
        if (dtype != DType.I32) throw ShapeException.of("toIntArray", "needs I32", "tensor", this);
        Tensor src = contiguous();
        int[] out = new int[Math.toIntExact(numel())];
        backend().copyOut(src, MemorySegment.ofArray(out));
        return out;
    }

    /** Reads one element as a double (slow: for tests, scalars and debugging). */
    public double item(long... index) {
        if (index.length != shape.length)
            throw ShapeException.of("item", "index rank " + index.length + " differs", "tensor", shape);
        long e = offset;
        for (int i = 0; i < index.length; i++) e += index[i] * strides[i];
        Tensor one = new Tensor(storage, dtype, new int[0], new long[0], e);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(dtype.byteSize(), 8);
            backend().copyOut(one, buf);
            return switch (dtype) {
                case F32 -> buf.get(ValueLayout.JAVA_FLOAT, 0);
                case F64 -> buf.get(ValueLayout.JAVA_DOUBLE, 0);
                case BF16 -> DType.bf16ToFloat(buf.get(ValueLayout.JAVA_SHORT, 0));
                case F16 -> DType.f16ToFloat(buf.get(ValueLayout.JAVA_SHORT, 0));
                case I32 -> buf.get(ValueLayout.JAVA_INT, 0);
                case I64 -> buf.get(ValueLayout.JAVA_LONG, 0);
            };
        }
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + " " + dtype + " on " + backend().name();
    }
}
