/*
 * The fast CPU backend: fp32 compute with the Vector API on one fixed thread pool. This class is the facade: it
 * checks every shape, dtype and layout once, with messages that name the op and the tensors, then hands raw
 * segments and dimensions to the kernel family files, which trust their arguments (Lucene's VectorUtil split).
 * F64 tensors belong to the reference backend; here they are refused, except by copy, which converts every dtype.
 * Storage is HostStorage over 64-byte aligned, zero-filled segments from an automatic (GC-managed) arena, counted by
 * NativeMemory so that dead tensors are collected before native memory outgrows its budget.
 */
package kd4j.tensor.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.HostStorage;
import kd4j.tensor.ShapeException;
import kd4j.tensor.Storage;
import kd4j.tensor.Tensor;

import static kd4j.tensor.DType.BF16;
import static kd4j.tensor.DType.F16;
import static kd4j.tensor.DType.F32;
import static kd4j.tensor.DType.F64;
import static kd4j.tensor.DType.I32;
import static kd4j.tensor.DType.I64;

public final class CpuBackend implements Backend {
    private final Parallel par;
    private final boolean shared;

    /** A backend with -Dkd4j.threads threads, or one per core. */
    public CpuBackend() { this(0); }

    /** threads <= 0 means the default (-Dkd4j.threads, else the number of cores). */
    public CpuBackend(int threads) { this(threads, false); }

    private CpuBackend(int threads, boolean shared) {
        this.par = new Parallel(threads);
        this.shared = shared;
    }

    /** A process-wide instance whose close() does nothing (used by Backends.cpu()). */
    public static CpuBackend sharedInstance(int threads) { return new CpuBackend(threads, true); }

    public int threads() { return par.threads(); }

    // ==== identity and memory ====

    @Override public String name() { return "cpu"; }

    @Override
    public String describe() {
        return "cpu: " + par.threads() + " thread" + (par.threads() == 1 ? "" : "s") + ", " + Simd.describe() + ", "
                + System.getProperty("os.arch") + ", Java " + Runtime.version().feature();
    }

    @Override
    public long memoryCapacityBytes() { return NativeMemory.hostCapacityBytes(); }

    @Override
    public Storage allocate(DType dtype, long count) {
        if (count < 0) throw new ShapeException("allocate: negative element count " + count);
        // Zero-filled; 64-byte alignment keeps vector loads within cache lines. NativeMemory counts it against the budget.
        return new HostStorage(this, NativeMemory.GLOBAL.allocate(Math.max(1, count * dtype.byteSize()), 64));
    }

    @Override
    public void copyIn(Tensor dst, MemorySegment src) {
        long bytes = dst.numel() * dst.dtype().byteSize();
        requireContiguous("copyIn", "dst", dst);
        if (src.byteSize() < bytes)
            throw ShapeException.of("copyIn", "source holds " + src.byteSize() + " bytes, " + bytes + " needed", "dst", dst);
        MemorySegment.copy(src, 0, host("copyIn", "dst", dst), 0, bytes);
    }

    @Override
    public void copyOut(Tensor src, MemorySegment dst) {
        long bytes = src.numel() * src.dtype().byteSize();
        requireContiguous("copyOut", "src", src);
        if (dst.byteSize() < bytes)
            throw ShapeException.of("copyOut", "destination holds " + dst.byteSize() + " bytes, " + bytes + " needed", "src", src);
        MemorySegment.copy(host("copyOut", "src", src), 0, dst, 0, bytes);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        if (!src.sameShape(dst)) throw ShapeException.of("copy", "shapes differ", "src", src, "dst", dst);
        if (src.dtype().isFloating() != dst.dtype().isFloating())
            throw ShapeException.of("copy", "cannot convert between float and integer dtypes", "src", src, "dst", dst);
        MemorySegment s = host("copy", "src", src), d = host("copy", "dst", dst);
        if (src.numel() == 0) return;
        if (src.dtype() == dst.dtype() && src.isContiguous() && dst.isContiguous()) {
            MemorySegment.copy(s, 0, d, 0, src.numel() * src.dtype().byteSize());
            return;
        }
        int[] shape = src.shape();
        int rank = shape.length;
        long[] ss = src.strides(), ds = dst.strides();
        int[] idx = new int[rank];
        long n = src.numel(), si = 0, di = 0;
        for (long e = 0; e < n; e++) {
            convertOne(s, src.dtype(), si, d, dst.dtype(), di);
            for (int ax = rank - 1; ax >= 0; ax--) {   // odometer increment, innermost axis first
                idx[ax]++;
                si += ss[ax];
                di += ds[ax];
                if (idx[ax] < shape[ax]) break;
                si -= ss[ax] * shape[ax];
                di -= ds[ax] * shape[ax];
                idx[ax] = 0;
            }
        }
    }

    private static void convertOne(MemorySegment s, DType st, long si, MemorySegment d, DType dt, long di) {
        if (!st.isFloating()) {
            long v = st == I32 ? s.getAtIndex(Simd.INT, si) : s.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, si);
            if (dt == I32) d.setAtIndex(Simd.INT, di, (int) v);
            else d.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, di, v);
            return;
        }
        if (st == F64 && dt == F64) {
            d.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, di, s.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, si));
            return;
        }
        if (st == F64 && dt == F32) {
            d.setAtIndex(Simd.FLOAT, di, (float) s.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, si));
            return;
        }
        float v = Simd.read(s, st, si);
        switch (dt) {
            case F32 -> d.setAtIndex(Simd.FLOAT, di, v);
            case F64 -> d.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, di, v);
            case BF16 -> d.setAtIndex(Simd.SHORT, di, DType.floatToBf16(v));
            case F16 -> d.setAtIndex(Simd.SHORT, di, Float.floatToFloat16(v));
            default -> throw new AssertionError(dt);
        }
    }

    @Override
    public void fill(Tensor dst, double value) {
        requireContiguous("fill", "dst", dst);
        MemorySegment d = host("fill", "dst", dst);
        long n = dst.numel();
        switch (dst.dtype()) {
            case F32 -> { float v = (float) value; for (long i = 0; i < n; i++) d.setAtIndex(Simd.FLOAT, i, v); }
            case F64 -> { for (long i = 0; i < n; i++) d.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i, value); }
            case BF16 -> { short v = DType.floatToBf16((float) value); for (long i = 0; i < n; i++) d.setAtIndex(Simd.SHORT, i, v); }
            case F16 -> { short v = Float.floatToFloat16((float) value); for (long i = 0; i < n; i++) d.setAtIndex(Simd.SHORT, i, v); }
            case I32 -> { int v = (int) value; for (long i = 0; i < n; i++) d.setAtIndex(Simd.INT, i, v); }
            case I64 -> { long v = (long) value; for (long i = 0; i < n; i++) d.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, v); }
        }
    }

    @Override public void sync() { }

    @Override
    public void close() {
        if (!shared) par.close();
    }

    // ==== facade checks ====

    /** The tensor's memory from its first element to the end of its storage. */
    private static MemorySegment host(String op, String name, Tensor t) {
        if (!(t.storage() instanceof HostStorage hs))
            throw ShapeException.of(op, name + " lives on backend '" + t.backend().name()
                    + "', not in host memory; copy it with cpu.upload(" + name + ") first", name, t);
        return hs.segment().asSlice(t.byteOffset());
    }

    private static void requireContiguous(String op, String name, Tensor t) {
        if (!t.isContiguous())
            throw ShapeException.of(op, name + " must be contiguous (call contiguous() first)", name, t);
    }

    private static MemorySegment typed(String op, String name, Tensor t, DType dtype) {
        if (t == null) throw new ShapeException(op + ": " + name + " is null");
        if (t.dtype() != dtype) {
            String hint = t.dtype() == F64 ? "; the CPU backend computes in fp32, use Backends.open(\"reference\") for F64" : "";
            throw ShapeException.of(op, name + " must be " + dtype + ", found " + t.dtype() + hint, name, t);
        }
        requireContiguous(op, name, t);
        return host(op, name, t);
    }

    private static MemorySegment f32(String op, String name, Tensor t) { return typed(op, name, t, F32); }

    private static MemorySegment i32(String op, String name, Tensor t) { return typed(op, name, t, I32); }

    /** A weight-like argument: F32, BF16 or F16, widened by the kernel that reads it. */
    private static MemorySegment weight(String op, String name, Tensor t) {
        if (t == null) throw new ShapeException(op + ": " + name + " is null");
        if (t.dtype() != F32 && t.dtype() != BF16 && t.dtype() != F16)
            throw ShapeException.of(op, name + " must be F32, BF16 or F16, found " + t.dtype(), name, t);
        requireContiguous(op, name, t);
        return host(op, name, t);
    }

    private static int toInt(String op, long n, Tensor t) {
        if (n > Integer.MAX_VALUE) throw ShapeException.of(op, n + " elements exceed the 2^31-1 per-call limit", "tensor", t);
        return (int) n;
    }

    private static void sameShape(String op, Tensor a, String an, Tensor b, String bn) {
        if (!a.sameShape(b)) throw ShapeException.of(op, an + " and " + bn + " shapes differ", an, a, bn, b);
    }

    private static void shape(String op, String name, Tensor t, int... expected) {
        if (!Arrays.equals(t.shape(), expected))
            throw ShapeException.of(op, name + " has the wrong shape, expected " + Arrays.toString(expected), name, t);
    }

    private static void numel(String op, String name, Tensor t, long expected) {
        if (t.numel() != expected)
            throw ShapeException.of(op, name + " must have " + expected + " elements, has " + t.numel(), name, t);
    }

    private static void rank(String op, String name, Tensor t, int r) {
        if (t.rank() != r) throw ShapeException.of(op, name + " must have rank " + r, name, t);
    }

    private static int lastDim(Tensor t) { return t.rank() == 0 ? 1 : t.dim(-1); }

    /** b equals a's shape or a's trailing dims (broadcast over a's leading dims); returns b's numel. */
    private static int broadcastInner(String op, Tensor a, Tensor b) {
        int[] as = a.shape(), bs = b.shape();
        boolean ok = bs.length <= as.length
                && Arrays.equals(bs, Arrays.copyOfRange(as, as.length - bs.length, as.length));
        if (!ok) throw ShapeException.of(op, "b must have a's shape or a's trailing dims", "a", a, "b", b);
        return toInt(op, b.numel(), b);
    }

    // ==== elementwise family ====

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        MemorySegment sa = f32("add", "a", a), sb = f32("add", "b", b), so = f32("add", "out", out);
        int inner = broadcastInner("add", a, b);
        sameShape("add", a, "a", out, "out");
        if (a.numel() == 0) return;
        ElementwiseKernels.add(par, sa, sb, so, toInt("add", a.numel(), a), inner);
    }

    @Override
    public void addScaled(Tensor acc, Tensor x, float alpha) {
        MemorySegment sa = f32("addScaled", "acc", acc), sx = f32("addScaled", "x", x);
        numel("addScaled", "x", x, acc.numel());
        ElementwiseKernels.addScaled(par, sa, sx, alpha, toInt("addScaled", acc.numel(), acc));
    }

    @Override
    public void mul(Tensor a, Tensor b, Tensor out) {
        MemorySegment sa = f32("mul", "a", a), sb = f32("mul", "b", b), so = f32("mul", "out", out);
        int inner = broadcastInner("mul", a, b);
        sameShape("mul", a, "a", out, "out");
        if (a.numel() == 0) return;
        ElementwiseKernels.mul(par, sa, sb, so, toInt("mul", a.numel(), a), inner);
    }

    @Override
    public void scale(Tensor x, float alpha, Tensor out) {
        MemorySegment sx = f32("scale", "x", x), so = f32("scale", "out", out);
        numel("scale", "out", out, x.numel());
        ElementwiseKernels.scale(par, sx, alpha, so, toInt("scale", x.numel(), x));
    }

    @Override
    public void sumRowsBackward(Tensor dOut, Tensor dB) {
        MemorySegment sd = f32("sumRowsBackward", "dOut", dOut), sb = f32("sumRowsBackward", "dB", dB);
        long cols = dB.numel();
        if (cols == 0 || dOut.numel() % cols != 0)
            throw ShapeException.of("sumRowsBackward", "dOut is not a whole number of rows of dB's length", "dOut", dOut, "dB", dB);
        ElementwiseKernels.sumRowsBackward(par, sd, sb, toInt("sumRowsBackward", dOut.numel() / cols, dOut), (int) cols);
    }

    private interface Unary { void run(Parallel p, MemorySegment x, MemorySegment out, int n); }

    private interface UnaryBackward { void run(Parallel p, MemorySegment dOut, MemorySegment x, MemorySegment dX, int n); }

    private void unary(String op, Tensor x, Tensor out, Unary k) {
        MemorySegment sx = f32(op, "x", x), so = f32(op, "out", out);
        sameShape(op, x, "x", out, "out");
        k.run(par, sx, so, toInt(op, x.numel(), x));
    }

    private void unaryBackward(String op, Tensor dOut, Tensor x, Tensor dX, UnaryBackward k) {
        MemorySegment sd = f32(op, "dOut", dOut), sx = f32(op, "x", x), sdx = f32(op, "dX", dX);
        sameShape(op, x, "x", dOut, "dOut");
        sameShape(op, x, "x", dX, "dX");
        k.run(par, sd, sx, sdx, toInt(op, x.numel(), x));
    }

    @Override public void siluForward(Tensor x, Tensor out) { unary("siluForward", x, out, ElementwiseKernels::siluForward); }
    @Override public void siluBackward(Tensor dOut, Tensor x, Tensor dX) { unaryBackward("siluBackward", dOut, x, dX, ElementwiseKernels::siluBackward); }
    @Override public void geluForward(Tensor x, Tensor out) { unary("geluForward", x, out, ElementwiseKernels::geluForward); }
    @Override public void geluBackward(Tensor dOut, Tensor x, Tensor dX) { unaryBackward("geluBackward", dOut, x, dX, ElementwiseKernels::geluBackward); }
    @Override
    public void softplusForward(Tensor x, Tensor out) {
        if (overlaps(out, x)) throw ShapeException.of("softplusForward", "out may not alias x", "x", x, "out", out);
        unary("softplusForward", x, out, ElementwiseKernels::softplusForward);
    }
    @Override public void softplusBackward(Tensor dOut, Tensor x, Tensor dX) { unaryBackward("softplusBackward", dOut, x, dX, ElementwiseKernels::softplusBackward); }

    @Override
    public void swigluForward(Tensor gate, Tensor up, Tensor out) {
        String op = "swigluForward";
        MemorySegment sg = f32(op, "gate", gate), su = f32(op, "up", up), so = f32(op, "out", out);
        sameShape(op, gate, "gate", up, "up");
        sameShape(op, gate, "gate", out, "out");
        ElementwiseKernels.swigluForward(par, sg, su, so, toInt(op, gate.numel(), gate));
    }

    @Override
    public void swigluBackward(Tensor dOut, Tensor gate, Tensor up, Tensor dGate, Tensor dUp) {
        String op = "swigluBackward";
        MemorySegment sd = f32(op, "dOut", dOut), sg = f32(op, "gate", gate), su = f32(op, "up", up);
        MemorySegment sdg = f32(op, "dGate", dGate), sdu = f32(op, "dUp", dUp);
        for (Tensor t : new Tensor[] {dOut, up, dGate, dUp}) sameShape(op, gate, "gate", t, "other");
        ElementwiseKernels.swigluBackward(par, sd, sg, su, sdg, sdu, toInt(op, gate.numel(), gate));
    }

    // ==== reduce family ====

    @Override public double sum(Tensor x) { return ReduceKernels.sum(par, f32("sum", "x", x), x.numel()); }

    @Override public double sumOfSquares(Tensor x) { return ReduceKernels.sumOfSquares(par, f32("sumOfSquares", "x", x), x.numel()); }

    @Override public boolean allFinite(Tensor x) { return ReduceKernels.allFinite(par, f32("allFinite", "x", x), x.numel()); }

    @Override
    public void softmaxForward(Tensor x, Tensor out) {
        MemorySegment sx = f32("softmaxForward", "x", x), so = f32("softmaxForward", "out", out);
        sameShape("softmaxForward", x, "x", out, "out");
        ReduceKernels.softmaxForward(par, sx, so, toInt("softmaxForward", x.rows(), x), lastDim(x));
    }

    @Override
    public void softmaxBackward(Tensor dOut, Tensor out, Tensor dX) {
        String op = "softmaxBackward";
        MemorySegment sd = f32(op, "dOut", dOut), so = f32(op, "out", out), sdx = f32(op, "dX", dX);
        sameShape(op, out, "out", dOut, "dOut");
        sameShape(op, out, "out", dX, "dX");
        ReduceKernels.softmaxBackward(par, sd, so, sdx, toInt(op, out.rows(), out), lastDim(out));
    }

    @Override
    public void logSoftmaxForward(Tensor x, Tensor out) {
        MemorySegment sx = f32("logSoftmaxForward", "x", x), so = f32("logSoftmaxForward", "out", out);
        sameShape("logSoftmaxForward", x, "x", out, "out");
        ReduceKernels.logSoftmaxForward(par, sx, so, toInt("logSoftmaxForward", x.rows(), x), lastDim(x));
    }

    @Override
    public void logSoftmaxBackward(Tensor dOut, Tensor out, Tensor dX) {
        String op = "logSoftmaxBackward";
        MemorySegment sd = f32(op, "dOut", dOut), so = f32(op, "out", out), sdx = f32(op, "dX", dX);
        sameShape(op, out, "out", dOut, "dOut");
        sameShape(op, out, "out", dX, "dX");
        ReduceKernels.logSoftmaxBackward(par, sd, so, sdx, toInt(op, out.rows(), out), lastDim(out));
    }

    // ==== norm family ====

    @Override
    public void rmsNormForward(Tensor x, Tensor w, float eps, Tensor out, Tensor invRms) {
        String op = "rmsNormForward";
        MemorySegment sx = f32(op, "x", x), sw = weight(op, "w", w), so = f32(op, "out", out), si = f32(op, "invRms", invRms);
        int cols = lastDim(x), rows = toInt(op, x.rows(), x);
        numel(op, "w", w, cols);
        sameShape(op, x, "x", out, "out");
        numel(op, "invRms", invRms, rows);
        NormKernels.rmsNormForward(par, sx, sw, w.dtype(), eps, so, si, rows, cols);
    }

    @Override
    public void rmsNormBackward(Tensor dOut, Tensor x, Tensor w, Tensor invRms, Tensor dX, Tensor dW) {
        String op = "rmsNormBackward";
        MemorySegment sd = f32(op, "dOut", dOut), sx = f32(op, "x", x), sw = weight(op, "w", w);
        MemorySegment si = f32(op, "invRms", invRms), sdx = f32(op, "dX", dX), sdw = f32(op, "dW", dW);
        int cols = lastDim(x), rows = toInt(op, x.rows(), x);
        numel(op, "w", w, cols);
        numel(op, "dW", dW, cols);
        numel(op, "invRms", invRms, rows);
        sameShape(op, x, "x", dOut, "dOut");
        sameShape(op, x, "x", dX, "dX");
        NormKernels.rmsNormBackward(par, sd, sx, sw, w.dtype(), si, sdx, sdw, rows, cols);
    }

    @Override
    public void layerNormForward(Tensor x, Tensor w, Tensor b, float eps, Tensor out, Tensor mean, Tensor invStd) {
        String op = "layerNormForward";
        MemorySegment sx = f32(op, "x", x), sw = weight(op, "w", w), so = f32(op, "out", out);
        MemorySegment sb = b == null ? null : weight(op, "b", b);
        MemorySegment sm = f32(op, "mean", mean), si = f32(op, "invStd", invStd);
        int cols = lastDim(x), rows = toInt(op, x.rows(), x);
        numel(op, "w", w, cols);
        if (b != null) numel(op, "b", b, cols);
        sameShape(op, x, "x", out, "out");
        numel(op, "mean", mean, rows);
        numel(op, "invStd", invStd, rows);
        NormKernels.layerNormForward(par, sx, sw, w.dtype(), sb, b == null ? F32 : b.dtype(), eps, so, sm, si, rows, cols);
    }

    @Override
    public void layerNormBackward(Tensor dOut, Tensor x, Tensor w, Tensor mean, Tensor invStd, Tensor dX, Tensor dW, Tensor dB) {
        String op = "layerNormBackward";
        MemorySegment sd = f32(op, "dOut", dOut), sx = f32(op, "x", x), sw = weight(op, "w", w);
        MemorySegment sm = f32(op, "mean", mean), si = f32(op, "invStd", invStd), sdx = f32(op, "dX", dX);
        MemorySegment sdw = f32(op, "dW", dW), sdb = dB == null ? null : f32(op, "dB", dB);
        int cols = lastDim(x), rows = toInt(op, x.rows(), x);
        numel(op, "w", w, cols);
        numel(op, "dW", dW, cols);
        if (dB != null) numel(op, "dB", dB, cols);
        numel(op, "mean", mean, rows);
        numel(op, "invStd", invStd, rows);
        sameShape(op, x, "x", dOut, "dOut");
        sameShape(op, x, "x", dX, "dX");
        NormKernels.layerNormBackward(par, sd, sx, sw, w.dtype(), sm, si, sdx, sdw, sdb, rows, cols);
    }

    // ==== gemm family ====

    @Override
    public void gemm(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c) {
        String op = "gemm";
        if (a.dtype() != F32) throw ShapeException.of(op, "a must be F32, found " + a.dtype(), "a", a);
        if (c.dtype() != F32) throw ShapeException.of(op, "c must be F32, found " + c.dtype(), "c", c);
        if (b.dtype() != F32 && b.dtype() != BF16 && b.dtype() != F16)
            throw ShapeException.of(op, "b must be F32, BF16 or F16, found " + b.dtype(), "b", b);
        for (Tensor t : new Tensor[] {a, b, c})
            if (t.rank() != 2 && t.rank() != 3) throw ShapeException.of(op, "operands must have rank 2 or 3", "a", a, "b", b, "c", c);
        int batches = c.rank() == 3 ? c.dim(0) : 1;
        if (c.rank() == 2 && (a.rank() == 3 || b.rank() == 3))
            throw ShapeException.of(op, "batched a or b needs a batched c [Bt, M, N]", "a", a, "b", b, "c", c);
        if (a.rank() == 3 && a.dim(0) != batches || b.rank() == 3 && b.dim(0) != batches)
            throw ShapeException.of(op, "batch sizes differ", "a", a, "b", b, "c", c);
        int m = transA ? a.dim(-1) : a.dim(-2), ka = transA ? a.dim(-2) : a.dim(-1);
        int kb = transB ? b.dim(-1) : b.dim(-2), n = transB ? b.dim(-2) : b.dim(-1);
        if (ka != kb)
            throw ShapeException.of(op, "inner dimensions differ (op(a) is [" + m + ", " + ka + "], op(b) is [" + kb + ", " + n
                    + "]; transA=" + transA + " transB=" + transB + ")", "a", a, "b", b);
        if (c.dim(-2) != m || c.dim(-1) != n)
            throw ShapeException.of(op, "c must be [" + m + ", " + n + "]", "a", a, "b", b, "c", c);
        if (c.stride(-1) != 1 && n > 1)
            throw ShapeException.of(op, "c must have unit stride in its last dim", "c", c);
        if (overlaps(c, a) || overlaps(c, b)) throw ShapeException.of(op, "c may not alias a or b", "a", a, "b", b, "c", c);
        // op(x)[i, j] = x[i, j] or x[j, i]: a transpose just swaps the two strides handed to the packing routines.
        GemmKernels.Operand oa = new GemmKernels.Operand(host(op, "a", a), F32, 0, a.rank() == 3 ? a.stride(0) : 0,
                transA ? a.stride(-1) : a.stride(-2), transA ? a.stride(-2) : a.stride(-1));
        GemmKernels.Operand ob = new GemmKernels.Operand(host(op, "b", b), b.dtype(), 0, b.rank() == 3 ? b.stride(0) : 0,
                transB ? b.stride(-1) : b.stride(-2), transB ? b.stride(-2) : b.stride(-1));
        GemmKernels.gemm(par, batches, m, n, ka, alpha, oa, ob, beta, host(op, "c", c), 0,
                c.rank() == 3 ? c.stride(0) : 0, c.stride(-2));
    }

    /** Whether two tensors over the same storage touch a common byte range. */
    private static boolean overlaps(Tensor x, Tensor y) {
        if (x.storage() != y.storage() || x.numel() == 0 || y.numel() == 0) return false;
        long x0 = x.byteOffset(), x1 = x0 + (span(x) + 1) * x.dtype().byteSize();
        long y0 = y.byteOffset(), y1 = y0 + (span(y) + 1) * y.dtype().byteSize();
        return x0 < y1 && y0 < x1;
    }

    private static long span(Tensor t) {
        long s = 0;
        for (int i = 0; i < t.rank(); i++) s += (long) (t.dim(i) - 1) * Math.abs(t.stride(i));
        return s;
    }

    // ==== rope family ====

    private void rope(String op, Tensor x, Tensor invFreq, int positionOffset, Tensor out, float sign) {
        MemorySegment sx = f32(op, "x", x), sf = f32(op, "invFreq", invFreq), so = f32(op, "out", out);
        rank(op, "x", x, 4);
        sameShape(op, x, "x", out, "out");
        int d = x.dim(3);
        if (d % 2 != 0) throw ShapeException.of(op, "head dim must be even", "x", x);
        numel(op, "invFreq", invFreq, d / 2);
        RopeKernels.rope(par, sx, sf, positionOffset, so, x.dim(0), x.dim(1), x.dim(2), d, sign);
    }

    @Override public void ropeForward(Tensor x, Tensor invFreq, int positionOffset, Tensor out) { rope("ropeForward", x, invFreq, positionOffset, out, 1f); }
    @Override public void ropeBackward(Tensor dOut, Tensor invFreq, int positionOffset, Tensor dX) { rope("ropeBackward", dOut, invFreq, positionOffset, dX, -1f); }

    // ==== embedding family ====

    @Override
    public void embeddingForward(Tensor ids, Tensor table, Tensor out) {
        String op = "embeddingForward";
        MemorySegment si = i32(op, "ids", ids), st = weight(op, "table", table), so = f32(op, "out", out);
        rank(op, "table", table, 2);
        int n = toInt(op, ids.numel(), ids), cols = table.dim(1);
        numel(op, "out", out, (long) n * cols);
        EmbeddingKernels.checkIds(op, si, n, table.dim(0));
        EmbeddingKernels.embeddingForward(par, si, st, table.dtype(), so, n, cols);
    }

    @Override
    public void embeddingBackward(Tensor dOut, Tensor ids, Tensor dTable) {
        String op = "embeddingBackward";
        MemorySegment sd = f32(op, "dOut", dOut), si = i32(op, "ids", ids), st = f32(op, "dTable", dTable);
        rank(op, "dTable", dTable, 2);
        int n = toInt(op, ids.numel(), ids), cols = dTable.dim(1);
        numel(op, "dOut", dOut, (long) n * cols);
        EmbeddingKernels.checkIds(op, si, n, dTable.dim(0));
        EmbeddingKernels.embeddingBackward(par, sd, si, st, n, cols);
    }

    // ==== attention family ====

    private AttentionKernels.Dims attentionDims(String op, Tensor q, Tensor k, Tensor v, int queryOffset, Tensor keyMask) {
        rank(op, "q", q, 4);
        rank(op, "k", k, 4);
        rank(op, "v", v, 4);
        sameShape(op, k, "k", v, "v");
        int b = q.dim(0), t = q.dim(1), h = q.dim(2), d = q.dim(3), s = k.dim(1), hkv = k.dim(2);
        if (k.dim(0) != b || k.dim(3) != d)
            throw ShapeException.of(op, "k must be [B, S, Hkv, D] with q's B and D", "q", q, "k", k);
        if (hkv == 0 || h % hkv != 0) throw ShapeException.of(op, "H must be a multiple of Hkv", "q", q, "k", k);
        if (queryOffset < 0) throw ShapeException.of(op, "queryOffset must be >= 0, got " + queryOffset, "q", q);
        for (Tensor kv : new Tensor[] {k, v})
            if (kv.dtype() != F32 || kv.stride(3) != 1 && d > 1 || kv.stride(2) != d && hkv > 1 || kv.stride(1) != (long) hkv * d && s > 1)
                throw ShapeException.of(op, "k and v must be F32 with each [S, Hkv, D] batch block contiguous", "k", k, "v", v);
        if (keyMask != null) { i32(op, "keyMask", keyMask); shape(op, "keyMask", keyMask, b, s); }
        return new AttentionKernels.Dims(b, t, s, h, hkv, d, queryOffset, k.dim(0) == 1 ? 0 : k.stride(0),
                v.dim(0) == 1 ? 0 : v.stride(0));
    }

    @Override
    public void attentionForward(Tensor q, Tensor k, Tensor v, float scale, int queryOffset, Tensor keyMask, Tensor out, Tensor lse) {
        String op = "attentionForward";
        MemorySegment sq = f32(op, "q", q), so = f32(op, "out", out), sl = f32(op, "lse", lse);
        AttentionKernels.Dims dm = attentionDims(op, q, k, v, queryOffset, keyMask);
        sameShape(op, q, "q", out, "out");
        shape(op, "lse", lse, q.dim(0), q.dim(2), q.dim(1));
        AttentionKernels.attentionForward(par, dm, sq, host(op, "k", k), host(op, "v", v), scale,
                keyMask == null ? null : host(op, "keyMask", keyMask), so, sl);
    }

    @Override
    public void attentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, float scale,
                                  int queryOffset, Tensor keyMask, Tensor dQ, Tensor dK, Tensor dV) {
        String op = "attentionBackward";
        MemorySegment sd = f32(op, "dOut", dOut), sq = f32(op, "q", q), so = f32(op, "out", out), sl = f32(op, "lse", lse);
        MemorySegment sdq = f32(op, "dQ", dQ), sdk = f32(op, "dK", dK), sdv = f32(op, "dV", dV);
        AttentionKernels.Dims dm = attentionDims(op, q, k, v, queryOffset, keyMask);
        for (Tensor t : new Tensor[] {dOut, out, dQ}) sameShape(op, q, "q", t, "dOut/out/dQ");
        sameShape(op, k, "k", dK, "dK");
        sameShape(op, v, "v", dV, "dV");
        shape(op, "lse", lse, q.dim(0), q.dim(2), q.dim(1));
        long dkStride = (long) k.dim(1) * k.dim(2) * k.dim(3);
        AttentionKernels.attentionBackward(par, dm, sd, sq, host(op, "k", k), host(op, "v", v), so, sl, scale,
                keyMask == null ? null : host(op, "keyMask", keyMask), sdq, sdk, sdv, dkStride, dkStride);
    }

    // ==== cross-entropy family ====

    @Override
    public void crossEntropyForward(Tensor logits, Tensor targets, int ignoreIndex, Tensor losses, Tensor lse) {
        String op = "crossEntropyForward";
        MemorySegment sx = f32(op, "logits", logits), st = i32(op, "targets", targets);
        MemorySegment sl = f32(op, "losses", losses), se = f32(op, "lse", lse);
        int v = lastDim(logits), n = toInt(op, logits.rows(), logits);
        numel(op, "targets", targets, n);
        numel(op, "losses", losses, n);
        numel(op, "lse", lse, n);
        CrossEntropyKernels.checkTargets(op, st, n, v, ignoreIndex);
        CrossEntropyKernels.crossEntropyForward(par, sx, st, ignoreIndex, sl, se, n, v);
    }

    @Override
    public void crossEntropyBackward(Tensor dLosses, Tensor logits, Tensor targets, Tensor lse, int ignoreIndex, Tensor dLogits) {
        String op = "crossEntropyBackward";
        MemorySegment sd = f32(op, "dLosses", dLosses), sx = f32(op, "logits", logits), st = i32(op, "targets", targets);
        MemorySegment se = f32(op, "lse", lse), sdx = f32(op, "dLogits", dLogits);
        int v = lastDim(logits), n = toInt(op, logits.rows(), logits);
        numel(op, "dLosses", dLosses, n);
        numel(op, "targets", targets, n);
        numel(op, "lse", lse, n);
        sameShape(op, logits, "logits", dLogits, "dLogits");
        CrossEntropyKernels.checkTargets(op, st, n, v, ignoreIndex);
        CrossEntropyKernels.crossEntropyBackward(par, sd, sx, st, se, ignoreIndex, sdx, n, v);
    }

    // ==== distill family ====

    private static void checkTau(String op, float tau) {
        if (!(tau > 0) || Float.isInfinite(tau)) throw new ShapeException(op + ": temperature tau must be a positive number, got " + tau);
    }

    @Override
    public void distillForward(Divergence divergence, float tau, Tensor student, Tensor teacher, Tensor perToken) {
        String op = "distillForward";
        MemorySegment ss = f32(op, "student", student), st = f32(op, "teacher", teacher), sp = f32(op, "perToken", perToken);
        sameShape(op, student, "student", teacher, "teacher");
        int v = lastDim(student), n = toInt(op, student.rows(), student);
        numel(op, "perToken", perToken, n);
        checkTau(op, tau);
        DistillKernels.distillForward(par, divergence, tau, ss, st, sp, n, v);
    }

    @Override
    public void distillBackward(Divergence divergence, float tau, Tensor dPerToken, Tensor student, Tensor teacher, Tensor dStudent) {
        String op = "distillBackward";
        MemorySegment sd = f32(op, "dPerToken", dPerToken), ss = f32(op, "student", student);
        MemorySegment st = f32(op, "teacher", teacher), sds = f32(op, "dStudent", dStudent);
        sameShape(op, student, "student", teacher, "teacher");
        sameShape(op, student, "student", dStudent, "dStudent");
        int v = lastDim(student), n = toInt(op, student.rows(), student);
        numel(op, "dPerToken", dPerToken, n);
        checkTau(op, tau);
        DistillKernels.distillBackward(par, divergence, tau, sd, ss, st, sds, n, v);
    }

    private static int sparseTopK(String op, Tensor student, Tensor ids, Tensor probs) {
        int n = toInt(op, student.rows(), student);
        if (ids.rank() != 2 || ids.dim(0) != n)
            throw ShapeException.of(op, "ids must be [N, K] with N = " + n + " student rows", "student", student, "ids", ids);
        sameShape(op, ids, "ids", probs, "probs");
        return ids.dim(1);
    }

    @Override
    public void sparseDistillForward(float tau, Tensor student, Tensor ids, Tensor probs, Tensor perToken, Tensor lse) {
        String op = "sparseDistillForward";
        MemorySegment ss = f32(op, "student", student), si = i32(op, "ids", ids), sp = f32(op, "probs", probs);
        MemorySegment spt = f32(op, "perToken", perToken), sl = f32(op, "lse", lse);
        int topK = sparseTopK(op, student, ids, probs), n = (int) student.rows(), v = lastDim(student);
        numel(op, "perToken", perToken, n);
        numel(op, "lse", lse, n);
        checkTau(op, tau);
        DistillKernels.checkSparseIds(op, si, n, topK, v);
        DistillKernels.sparseDistillForward(par, tau, ss, si, sp, spt, sl, n, v, topK);
    }

    @Override
    public void sparseDistillBackward(float tau, Tensor dPerToken, Tensor student, Tensor ids, Tensor probs, Tensor lse, Tensor dStudent) {
        String op = "sparseDistillBackward";
        MemorySegment sd = f32(op, "dPerToken", dPerToken), ss = f32(op, "student", student), si = i32(op, "ids", ids);
        MemorySegment sp = f32(op, "probs", probs), sl = f32(op, "lse", lse), sds = f32(op, "dStudent", dStudent);
        int topK = sparseTopK(op, student, ids, probs), n = (int) student.rows(), v = lastDim(student);
        numel(op, "dPerToken", dPerToken, n);
        numel(op, "lse", lse, n);
        sameShape(op, student, "student", dStudent, "dStudent");
        checkTau(op, tau);
        DistillKernels.checkSparseIds(op, si, n, topK, v);
        DistillKernels.sparseDistillBackward(par, tau, sd, ss, si, sp, sl, sds, n, v, topK);
    }

    // ==== conv/scan family ====

    @Override
    public void causalConv1dForward(Tensor x, Tensor w, Tensor bias, Tensor out) {
        String op = "causalConv1dForward";
        MemorySegment sx = f32(op, "x", x), sw = f32(op, "w", w), so = f32(op, "out", out);
        MemorySegment sb = bias == null ? null : f32(op, "bias", bias);
        rank(op, "x", x, 3);
        rank(op, "w", w, 2);
        int c = x.dim(2);
        if (w.dim(0) != c) throw ShapeException.of(op, "w must be [C, K] with x's C", "x", x, "w", w);
        if (bias != null) numel(op, "bias", bias, c);
        sameShape(op, x, "x", out, "out");
        ConvScanKernels.causalConv1dForward(par, sx, sw, sb, so, x.dim(0), x.dim(1), c, w.dim(1));
    }

    @Override
    public void causalConv1dBackward(Tensor dOut, Tensor x, Tensor w, Tensor dX, Tensor dW, Tensor dBias) {
        String op = "causalConv1dBackward";
        MemorySegment sd = f32(op, "dOut", dOut), sx = f32(op, "x", x), sw = f32(op, "w", w);
        MemorySegment sdx = f32(op, "dX", dX), sdw = f32(op, "dW", dW), sdb = dBias == null ? null : f32(op, "dBias", dBias);
        rank(op, "x", x, 3);
        rank(op, "w", w, 2);
        int c = x.dim(2);
        if (w.dim(0) != c) throw ShapeException.of(op, "w must be [C, K] with x's C", "x", x, "w", w);
        sameShape(op, x, "x", dOut, "dOut");
        sameShape(op, x, "x", dX, "dX");
        sameShape(op, w, "w", dW, "dW");
        if (dBias != null) numel(op, "dBias", dBias, c);
        ConvScanKernels.causalConv1dBackward(par, sd, sx, sw, sdx, sdw, sdb, x.dim(0), x.dim(1), c, w.dim(1));
    }

    private record ScanDims(int b, int t, int i, int n) {}

    private static ScanDims scanDims(String op, Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat, Tensor d) {
        rank(op, "u", u, 3);
        rank(op, "aLog", aLog, 2);
        int b = u.dim(0), t = u.dim(1), i = u.dim(2), n = aLog.dim(1);
        sameShape(op, u, "u", delta, "delta");
        shape(op, "aLog", aLog, i, n);
        shape(op, "bMat", bMat, b, t, n);
        shape(op, "cMat", cMat, b, t, n);
        numel(op, "d", d, i);
        return new ScanDims(b, t, i, n);
    }

    @Override
    public void selectiveScanForward(Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat, Tensor d, Tensor y) {
        String op = "selectiveScanForward";
        MemorySegment su = f32(op, "u", u), sdt = f32(op, "delta", delta), sa = f32(op, "aLog", aLog);
        MemorySegment sb = f32(op, "bMat", bMat), sc = f32(op, "cMat", cMat), sd = f32(op, "d", d), sy = f32(op, "y", y);
        ScanDims s = scanDims(op, u, delta, aLog, bMat, cMat, d);
        sameShape(op, u, "u", y, "y");
        ConvScanKernels.selectiveScanForward(par, su, sdt, sa, sb, sc, sd, sy, s.b, s.t, s.i, s.n);
    }

    @Override
    public void selectiveScanBackward(Tensor dY, Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat, Tensor d,
                                      Tensor dU, Tensor dDelta, Tensor dALog, Tensor dB, Tensor dC, Tensor dD) {
        String op = "selectiveScanBackward";
        MemorySegment sdy = f32(op, "dY", dY), su = f32(op, "u", u), sdt = f32(op, "delta", delta), sa = f32(op, "aLog", aLog);
        MemorySegment sb = f32(op, "bMat", bMat), sc = f32(op, "cMat", cMat), sd = f32(op, "d", d);
        MemorySegment sdu = f32(op, "dU", dU), sddt = f32(op, "dDelta", dDelta), sda = f32(op, "dALog", dALog);
        MemorySegment sdb = f32(op, "dB", dB), sdc = f32(op, "dC", dC), sdd = f32(op, "dD", dD);
        ScanDims s = scanDims(op, u, delta, aLog, bMat, cMat, d);
        for (Tensor t : new Tensor[] {dY, dU, dDelta}) sameShape(op, u, "u", t, "dY/dU/dDelta");
        sameShape(op, aLog, "aLog", dALog, "dALog");
        sameShape(op, bMat, "bMat", dB, "dB");
        sameShape(op, cMat, "cMat", dC, "dC");
        numel(op, "dD", dD, s.i);
        ConvScanKernels.selectiveScanBackward(par, sdy, su, sdt, sa, sb, sc, sd, sdu, sddt, sda, sdb, sdc, sdd, s.b, s.t, s.i, s.n);
    }

    @Override
    public void causalConv1dStep(Tensor x, Tensor w, Tensor bias, Tensor convState, Tensor out) {
        String op = "causalConv1dStep";
        MemorySegment sx = f32(op, "x", x), sw = f32(op, "w", w), ss = f32(op, "convState", convState), so = f32(op, "out", out);
        MemorySegment sb = bias == null ? null : f32(op, "bias", bias);
        rank(op, "x", x, 2);
        rank(op, "w", w, 2);
        int b = x.dim(0), c = x.dim(1), k = w.dim(1);
        if (w.dim(0) != c) throw ShapeException.of(op, "w must be [C, K] with x's C", "x", x, "w", w);
        shape(op, "convState", convState, b, c, k - 1);
        sameShape(op, x, "x", out, "out");
        if (bias != null) numel(op, "bias", bias, c);
        ConvScanKernels.causalConv1dStep(par, sx, sw, sb, ss, so, b, c, k);
    }

    @Override
    public void selectiveScanStep(Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat, Tensor d, Tensor state, Tensor y) {
        String op = "selectiveScanStep";
        MemorySegment su = f32(op, "u", u), sdt = f32(op, "delta", delta), sa = f32(op, "aLog", aLog);
        MemorySegment sb = f32(op, "bMat", bMat), sc = f32(op, "cMat", cMat), sd = f32(op, "d", d);
        MemorySegment ss = f32(op, "state", state), sy = f32(op, "y", y);
        rank(op, "u", u, 2);
        rank(op, "aLog", aLog, 2);
        int b = u.dim(0), i = u.dim(1), n = aLog.dim(1);
        sameShape(op, u, "u", delta, "delta");
        sameShape(op, u, "u", y, "y");
        shape(op, "aLog", aLog, i, n);
        shape(op, "bMat", bMat, b, n);
        shape(op, "cMat", cMat, b, n);
        shape(op, "state", state, b, i, n);
        numel(op, "d", d, i);
        ConvScanKernels.selectiveScanStep(par, su, sdt, sa, sb, sc, sd, ss, sy, b, i, n);
    }

    // ==== optim family ====

    @Override
    public void adamwStep(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
                          float weightDecay, int step) {
        String op = "adamwStep";
        MemorySegment sp = f32(op, "param", param), sg = f32(op, "grad", grad), sm = f32(op, "m", m), sv = f32(op, "v", v);
        long n = param.numel();
        numel(op, "grad", grad, n);
        numel(op, "m", m, n);
        numel(op, "v", v, n);
        if (step < 1) throw new ShapeException(op + ": step counts from 1, got " + step);
        OptimKernels.adamwStep(par, sp, sg, sm, sv, toInt(op, n, param), lr, beta1, beta2, eps, weightDecay, step);
    }

    @Override
    public void sgdStep(Tensor param, Tensor grad, Tensor momentumBuffer, float lr, float momentum, float weightDecay) {
        String op = "sgdStep";
        MemorySegment sp = f32(op, "param", param), sg = f32(op, "grad", grad), sb = f32(op, "momentumBuffer", momentumBuffer);
        long n = param.numel();
        numel(op, "grad", grad, n);
        numel(op, "momentumBuffer", momentumBuffer, n);
        OptimKernels.sgdStep(par, sp, sg, sb, toInt(op, n, param), lr, momentum, weightDecay);
    }
}
