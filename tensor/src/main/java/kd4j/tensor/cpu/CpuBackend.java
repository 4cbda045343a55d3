/*
 * The fast CPU backend: fp32 compute with the Vector API on one fixed thread pool. This class is the facade: it
 * checks every shape, dtype and layout once, with messages that name the op and the tensors, then hands raw
 * segments and dimensions to the kernel family files, which trust their arguments (Lucene's VectorUtil split).
 * F64 tensors belong to the reference backend; here they are refused, except by copy, which converts every dtype.
 * Storage is HostStorage over 64-byte aligned, zero-filled segments from an automatic (GC-managed) arena, counted by
 * NativeMemory so that dead tensors are collected before native memory outgrows its budget. The GEMM packs a
 * frozen (read-only mapped) weight once and keeps its panels (FrozenWeightPanels).
 */
package kd4j.tensor.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import kd4j.tensor.Backend;
import kd4j.tensor.BackendChecks;
import kd4j.tensor.DType;
import kd4j.tensor.HostStorage;
import kd4j.tensor.ShapeException;
import kd4j.tensor.Storage;
import kd4j.tensor.Tensor;

import static kd4j.tensor.DType.F32;
import static kd4j.tensor.DType.F64;
import static kd4j.tensor.DType.I32;
import static kd4j.tensor.DType.I64;

public final class CpuBackend implements Backend {
    private final Parallel par;
    private final FrozenWeightPanels frozenPanels = new FrozenWeightPanels(FrozenWeightPanels.BUDGET);

    /** Heap bytes of the frozen weights' GEMM panels this backend keeps (for tests and memory reports). */
    long frozenPanelBytes() { return frozenPanels.bytes(); }

    /** The most heap the GEMM keeps for frozen weights' panels (kd4j.gemmWeightCacheBytes; default half the heap). */
    public static long frozenWeightPanelBudget() { return FrozenWeightPanels.BUDGET; }
    private final boolean shared;
    private final BackendChecks checks = new BackendChecks(this, BackendChecks.Residency.HOST, false, true);

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
        BackendChecks.allocate(dtype, count);
        // Zero-filled; 64-byte alignment keeps vector loads within cache lines. NativeMemory counts it against the budget.
        return new HostStorage(this, NativeMemory.GLOBAL.allocate(Math.max(1, count * dtype.byteSize()), 64));
    }

    @Override
    public void copyIn(Tensor dst, MemorySegment src) {
        checks.copyIn(dst, src.byteSize());
        MemorySegment.copy(src, 0, host(dst), 0, dst.numel() * dst.dtype().byteSize());
    }

    @Override
    public void copyOut(Tensor src, MemorySegment dst) {
        checks.copyOut(src, dst.byteSize());
        MemorySegment.copy(host(src), 0, dst, 0, src.numel() * src.dtype().byteSize());
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        checks.copy(src, dst);
        MemorySegment s = host(src), d = host(dst);
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
        checks.fill(dst);
        MemorySegment d = host(dst);
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

    // ==== facade: BackendChecks has checked every argument; these only hand the kernels their memory ====

    /** The tensor's memory from its first element to the end of its storage. */
    private static MemorySegment host(Tensor t) {
        return ((HostStorage) t.storage()).segment().asSlice(t.byteOffset());
    }

    private static MemorySegment orNull(Tensor t) { return t == null ? null : host(t); }

    /** The kernels take int counts: one call handles at most 2^31-1 elements. */
    private static int toInt(String op, long n, Tensor t) {
        if (n > Integer.MAX_VALUE) throw ShapeException.of(op, n + " elements exceed the 2^31-1 per-call limit", "tensor", t);
        return (int) n;
    }

    // ==== elementwise family ====

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        int inner = toInt("add", checks.broadcast("add", a, b, out), b);
        if (a.numel() == 0) return;
        ElementwiseKernels.add(par, host(a), host(b), host(out), toInt("add", a.numel(), a), inner);
    }

    @Override
    public void addScaled(Tensor acc, Tensor x, float alpha) {
        checks.addScaled(acc, x);
        ElementwiseKernels.addScaled(par, host(acc), host(x), alpha, toInt("addScaled", acc.numel(), acc));
    }

    @Override
    public void mul(Tensor a, Tensor b, Tensor out) {
        int inner = toInt("mul", checks.broadcast("mul", a, b, out), b);
        if (a.numel() == 0) return;
        ElementwiseKernels.mul(par, host(a), host(b), host(out), toInt("mul", a.numel(), a), inner);
    }

    @Override
    public void scale(Tensor x, float alpha, Tensor out) {
        checks.scale(x, out);
        ElementwiseKernels.scale(par, host(x), alpha, host(out), toInt("scale", x.numel(), x));
    }

    @Override
    public void sumRowsBackward(Tensor dOut, Tensor dB) {
        BackendChecks.Rows r = checks.sumRowsBackward(dOut, dB);
        ElementwiseKernels.sumRowsBackward(par, host(dOut), host(dB), r.rows(), r.cols());
    }

    private interface Unary { void run(Parallel p, MemorySegment x, MemorySegment out, int n); }

    private interface UnaryBackward { void run(Parallel p, MemorySegment dOut, MemorySegment x, MemorySegment dX, int n); }

    private void unary(String op, Tensor x, Tensor out, Unary k) {
        checks.unary(op, x, out);
        k.run(par, host(x), host(out), toInt(op, x.numel(), x));
    }

    private void unaryBackward(String op, Tensor dOut, Tensor x, Tensor dX, UnaryBackward k) {
        checks.unaryBackward(op, dOut, x, dX);
        k.run(par, host(dOut), host(x), host(dX), toInt(op, x.numel(), x));
    }

    @Override public void siluForward(Tensor x, Tensor out) { unary("siluForward", x, out, ElementwiseKernels::siluForward); }
    @Override public void siluBackward(Tensor dOut, Tensor x, Tensor dX) { unaryBackward("siluBackward", dOut, x, dX, ElementwiseKernels::siluBackward); }
    @Override public void geluForward(Tensor x, Tensor out) { unary("geluForward", x, out, ElementwiseKernels::geluForward); }
    @Override public void geluBackward(Tensor dOut, Tensor x, Tensor dX) { unaryBackward("geluBackward", dOut, x, dX, ElementwiseKernels::geluBackward); }
    @Override
    public void softplusForward(Tensor x, Tensor out) {
        checks.softplusForward(x, out);
        ElementwiseKernels.softplusForward(par, host(x), host(out), toInt("softplusForward", x.numel(), x));
    }
    @Override public void softplusBackward(Tensor dOut, Tensor x, Tensor dX) { unaryBackward("softplusBackward", dOut, x, dX, ElementwiseKernels::softplusBackward); }

    @Override
    public void swigluForward(Tensor gate, Tensor up, Tensor out) {
        checks.swigluForward(gate, up, out);
        ElementwiseKernels.swigluForward(par, host(gate), host(up), host(out), toInt("swigluForward", gate.numel(), gate));
    }

    @Override
    public void swigluBackward(Tensor dOut, Tensor gate, Tensor up, Tensor dGate, Tensor dUp) {
        checks.swigluBackward(dOut, gate, up, dGate, dUp);
        ElementwiseKernels.swigluBackward(par, host(dOut), host(gate), host(up), host(dGate), host(dUp),
                toInt("swigluBackward", gate.numel(), gate));
    }

    // ==== reduce family ====

    @Override
    public double sum(Tensor x) {
        checks.reduce("sum", x);
        return ReduceKernels.sum(par, host(x), x.numel());
    }

    @Override
    public double sumOfSquares(Tensor x) {
        checks.reduce("sumOfSquares", x);
        return ReduceKernels.sumOfSquares(par, host(x), x.numel());
    }

    @Override
    public boolean allFinite(Tensor x) {
        checks.reduce("allFinite", x);
        return ReduceKernels.allFinite(par, host(x), x.numel());
    }

    private interface RowsForward { void run(Parallel p, MemorySegment x, MemorySegment out, int rows, int cols); }

    private interface RowsBackward { void run(Parallel p, MemorySegment dOut, MemorySegment out, MemorySegment dX, int rows, int cols); }

    private void rowsForward(String op, Tensor x, Tensor out, RowsForward k) {
        BackendChecks.Rows r = checks.rowsForward(op, x, out);
        k.run(par, host(x), host(out), r.rows(), r.cols());
    }

    private void rowsBackward(String op, Tensor dOut, Tensor out, Tensor dX, RowsBackward k) {
        BackendChecks.Rows r = checks.rowsBackward(op, dOut, out, dX);
        k.run(par, host(dOut), host(out), host(dX), r.rows(), r.cols());
    }

    @Override public void softmaxForward(Tensor x, Tensor out) { rowsForward("softmaxForward", x, out, ReduceKernels::softmaxForward); }
    @Override public void softmaxBackward(Tensor dOut, Tensor out, Tensor dX) { rowsBackward("softmaxBackward", dOut, out, dX, ReduceKernels::softmaxBackward); }
    @Override public void logSoftmaxForward(Tensor x, Tensor out) { rowsForward("logSoftmaxForward", x, out, ReduceKernels::logSoftmaxForward); }
    @Override public void logSoftmaxBackward(Tensor dOut, Tensor out, Tensor dX) { rowsBackward("logSoftmaxBackward", dOut, out, dX, ReduceKernels::logSoftmaxBackward); }

    // ==== norm family ====

    @Override
    public void rmsNormForward(Tensor x, Tensor w, float eps, Tensor out, Tensor invRms) {
        BackendChecks.Rows r = checks.rmsNormForward(x, w, out, invRms);
        NormKernels.rmsNormForward(par, host(x), host(w), w.dtype(), eps, host(out), host(invRms), r.rows(), r.cols());
    }

    @Override
    public void rmsNormBackward(Tensor dOut, Tensor x, Tensor w, Tensor invRms, Tensor dX, Tensor dW) {
        BackendChecks.Rows r = checks.rmsNormBackward(dOut, x, w, invRms, dX, dW);
        NormKernels.rmsNormBackward(par, host(dOut), host(x), host(w), w.dtype(), host(invRms), host(dX), host(dW),
                r.rows(), r.cols());
    }

    @Override
    public void layerNormForward(Tensor x, Tensor w, Tensor b, float eps, Tensor out, Tensor mean, Tensor invStd) {
        BackendChecks.Rows r = checks.layerNormForward(x, w, b, out, mean, invStd);
        NormKernels.layerNormForward(par, host(x), host(w), w.dtype(), orNull(b), b == null ? F32 : b.dtype(), eps, host(out),
                host(mean), host(invStd), r.rows(), r.cols());
    }

    @Override
    public void layerNormBackward(Tensor dOut, Tensor x, Tensor w, Tensor mean, Tensor invStd, Tensor dX, Tensor dW, Tensor dB) {
        BackendChecks.Rows r = checks.layerNormBackward(dOut, x, w, mean, invStd, dX, dW, dB);
        NormKernels.layerNormBackward(par, host(dOut), host(x), host(w), w.dtype(), host(mean), host(invStd), host(dX),
                host(dW), orNull(dB), r.rows(), r.cols());
    }

    // ==== gemm family ====

    @Override
    public void gemm(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c) {
        BackendChecks.Gemm g = checks.gemm(transA, transB, a, b, c);
        int batches = g.batches(), m = g.m(), n = g.n(), ka = g.k();
        // op(x)[i, j] = x[i, j] or x[j, i]: a transpose just swaps the two strides handed to the packing routines.
        GemmKernels.Operand oa = new GemmKernels.Operand(host(a), F32, 0, a.rank() == 3 ? a.stride(0) : 0,
                transA ? a.stride(-1) : a.stride(-2), transA ? a.stride(-2) : a.stride(-1));
        GemmKernels.Operand ob = new GemmKernels.Operand(host(b), b.dtype(), 0, b.rank() == 3 ? b.stride(0) : 0,
                transB ? b.stride(-1) : b.stride(-2), transB ? b.stride(-2) : b.stride(-1));
        // A frozen weight (a read-only mapping) is packed once and its panels reused by every later call.
        GemmKernels.PackedB packed = b.rank() == 2 && batches == 1 && ob.segment().isReadOnly()
                ? frozenPanels.get(par, b.storage(), b.byteOffset(), ob, ka, n) : null;
        GemmKernels.gemm(par, batches, m, n, ka, alpha, oa, ob, packed, beta, host(c), 0,
                c.rank() == 3 ? c.stride(0) : 0, c.stride(-2));
    }

    // ==== rope family ====

    @Override
    public void ropeForward(Tensor x, Tensor invFreq, int positionOffset, Tensor out) {
        BackendChecks.Rope d = checks.rope("ropeForward", "x", x, invFreq, "out", out);
        RopeKernels.rope(par, host(x), host(invFreq), positionOffset, host(out), d.batches(), d.tokens(), d.heads(), d.dim(), 1f);
    }

    @Override
    public void ropeBackward(Tensor dOut, Tensor invFreq, int positionOffset, Tensor dX) {
        BackendChecks.Rope d = checks.rope("ropeBackward", "dOut", dOut, invFreq, "dX", dX);
        RopeKernels.rope(par, host(dOut), host(invFreq), positionOffset, host(dX), d.batches(), d.tokens(), d.heads(), d.dim(), -1f);
    }

    // ==== embedding family ====

    @Override
    public void embeddingForward(Tensor ids, Tensor table, Tensor out) {
        String op = "embeddingForward";
        BackendChecks.Embedding e = checks.embeddingForward(ids, table, out);
        MemorySegment si = host(ids);
        EmbeddingKernels.checkIds(op, si, e.tokens(), e.vocab());
        EmbeddingKernels.embeddingForward(par, si, host(table), table.dtype(), host(out), e.tokens(), e.cols());
    }

    @Override
    public void embeddingBackward(Tensor dOut, Tensor ids, Tensor dTable) {
        String op = "embeddingBackward";
        BackendChecks.Embedding e = checks.embeddingBackward(dOut, ids, dTable);
        MemorySegment si = host(ids);
        EmbeddingKernels.checkIds(op, si, e.tokens(), e.vocab());
        EmbeddingKernels.embeddingBackward(par, host(dOut), si, host(dTable), e.tokens(), e.cols());
    }

    // ==== attention family ====

    private static AttentionKernels.Dims attentionDims(BackendChecks.Attention d, int queryOffset, Tensor k, Tensor v) {
        return new AttentionKernels.Dims(d.batches(), d.tokens(), d.keys(), d.heads(), d.kvHeads(), d.dim(), queryOffset,
                k.dim(0) == 1 ? 0 : k.stride(0), v.dim(0) == 1 ? 0 : v.stride(0));
    }

    @Override
    public void attentionForward(Tensor q, Tensor k, Tensor v, float scale, int queryOffset, Tensor keyMask, Tensor out, Tensor lse) {
        AttentionKernels.Dims dm = attentionDims(checks.attentionForward(q, k, v, queryOffset, keyMask, out, lse), queryOffset, k, v);
        AttentionKernels.attentionForward(par, dm, host(q), host(k), host(v), scale, orNull(keyMask), host(out), host(lse));
    }

    @Override
    public void attentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, float scale,
                                  int queryOffset, Tensor keyMask, Tensor dQ, Tensor dK, Tensor dV) {
        AttentionKernels.Dims dm = attentionDims(checks.attentionBackward(dOut, q, k, v, out, lse, queryOffset, keyMask, dQ, dK, dV),
                queryOffset, k, v);
        long dkStride = (long) k.dim(1) * k.dim(2) * k.dim(3);
        AttentionKernels.attentionBackward(par, dm, host(dOut), host(q), host(k), host(v), host(out), host(lse), scale,
                orNull(keyMask), host(dQ), host(dK), host(dV), dkStride, dkStride);
    }

    // ==== cross-entropy family ====

    @Override
    public void crossEntropyForward(Tensor logits, Tensor targets, int ignoreIndex, Tensor losses, Tensor lse) {
        String op = "crossEntropyForward";
        BackendChecks.Rows r = checks.crossEntropyForward(logits, targets, losses, lse);
        MemorySegment st = host(targets);
        CrossEntropyKernels.checkTargets(op, st, r.rows(), r.cols(), ignoreIndex);
        CrossEntropyKernels.crossEntropyForward(par, host(logits), st, ignoreIndex, host(losses), host(lse), r.rows(), r.cols());
    }

    @Override
    public void crossEntropyBackward(Tensor dLosses, Tensor logits, Tensor targets, Tensor lse, int ignoreIndex, Tensor dLogits) {
        String op = "crossEntropyBackward";
        BackendChecks.Rows r = checks.crossEntropyBackward(dLosses, logits, targets, lse, dLogits);
        MemorySegment st = host(targets);
        CrossEntropyKernels.checkTargets(op, st, r.rows(), r.cols(), ignoreIndex);
        CrossEntropyKernels.crossEntropyBackward(par, host(dLosses), host(logits), st, host(lse), ignoreIndex, host(dLogits),
                r.rows(), r.cols());
    }

    // ==== distill family ====

    @Override
    public void distillForward(Divergence divergence, float tau, Tensor student, Tensor teacher, Tensor perToken) {
        BackendChecks.Rows r = checks.distillForward(tau, student, teacher, perToken);
        DistillKernels.distillForward(par, divergence, tau, host(student), host(teacher), host(perToken), r.rows(), r.cols());
    }

    @Override
    public void distillBackward(Divergence divergence, float tau, Tensor dPerToken, Tensor student, Tensor teacher, Tensor dStudent) {
        BackendChecks.Rows r = checks.distillBackward(tau, dPerToken, student, teacher, dStudent);
        DistillKernels.distillBackward(par, divergence, tau, host(dPerToken), host(student), host(teacher), host(dStudent),
                r.rows(), r.cols());
    }

    @Override
    public void sparseDistillForward(float tau, Tensor student, Tensor ids, Tensor probs, Tensor perToken, Tensor lse) {
        String op = "sparseDistillForward";
        BackendChecks.SparseDistill s = checks.sparseDistillForward(tau, student, ids, probs, perToken, lse);
        MemorySegment si = host(ids);
        DistillKernels.checkSparseIds(op, si, s.rows(), s.topK(), s.vocab());
        DistillKernels.sparseDistillForward(par, tau, host(student), si, host(probs), host(perToken), host(lse), s.rows(),
                s.vocab(), s.topK());
    }

    @Override
    public void sparseDistillBackward(float tau, Tensor dPerToken, Tensor student, Tensor ids, Tensor probs, Tensor lse, Tensor dStudent) {
        String op = "sparseDistillBackward";
        BackendChecks.SparseDistill s = checks.sparseDistillBackward(tau, dPerToken, student, ids, probs, lse, dStudent);
        MemorySegment si = host(ids);
        DistillKernels.checkSparseIds(op, si, s.rows(), s.topK(), s.vocab());
        DistillKernels.sparseDistillBackward(par, tau, host(dPerToken), host(student), si, host(probs), host(lse), host(dStudent),
                s.rows(), s.vocab(), s.topK());
    }

    // ==== conv/scan family ====

    @Override
    public void causalConv1dForward(Tensor x, Tensor w, Tensor bias, Tensor out) {
        BackendChecks.Conv c = checks.causalConv1dForward(x, w, bias, out);
        ConvScanKernels.causalConv1dForward(par, host(x), host(w), orNull(bias), host(out), c.batches(), c.tokens(),
                c.channels(), c.width());
    }

    @Override
    public void causalConv1dBackward(Tensor dOut, Tensor x, Tensor w, Tensor dX, Tensor dW, Tensor dBias) {
        BackendChecks.Conv c = checks.causalConv1dBackward(dOut, x, w, dX, dW, dBias);
        ConvScanKernels.causalConv1dBackward(par, host(dOut), host(x), host(w), host(dX), host(dW), orNull(dBias), c.batches(),
                c.tokens(), c.channels(), c.width());
    }

    @Override
    public void selectiveScanForward(Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat, Tensor d, Tensor y) {
        BackendChecks.Scan s = checks.selectiveScanForward(u, delta, aLog, bMat, cMat, d, y);
        ConvScanKernels.selectiveScanForward(par, host(u), host(delta), host(aLog), host(bMat), host(cMat), host(d), host(y),
                s.batches(), s.tokens(), s.inner(), s.state());
    }

    @Override
    public void selectiveScanBackward(Tensor dY, Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat, Tensor d,
                                      Tensor dU, Tensor dDelta, Tensor dALog, Tensor dB, Tensor dC, Tensor dD) {
        BackendChecks.Scan s = checks.selectiveScanBackward(dY, u, delta, aLog, bMat, cMat, d, dU, dDelta, dALog, dB, dC, dD);
        ConvScanKernels.selectiveScanBackward(par, host(dY), host(u), host(delta), host(aLog), host(bMat), host(cMat), host(d),
                host(dU), host(dDelta), host(dALog), host(dB), host(dC), host(dD), s.batches(), s.tokens(), s.inner(), s.state());
    }

    @Override
    public void causalConv1dStep(Tensor x, Tensor w, Tensor bias, Tensor convState, Tensor out) {
        BackendChecks.Conv c = checks.causalConv1dStep(x, w, bias, convState, out);
        ConvScanKernels.causalConv1dStep(par, host(x), host(w), orNull(bias), host(convState), host(out), c.batches(),
                c.channels(), c.width());
    }

    @Override
    public void selectiveScanStep(Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat, Tensor d, Tensor state, Tensor y) {
        BackendChecks.Scan s = checks.selectiveScanStep(u, delta, aLog, bMat, cMat, d, state, y);
        ConvScanKernels.selectiveScanStep(par, host(u), host(delta), host(aLog), host(bMat), host(cMat), host(d), host(state),
                host(y), s.batches(), s.inner(), s.state());
    }

    // ==== optim family ====

    @Override
    public void adamwStep(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
                          float weightDecay, int step) {
        checks.adamwStep(param, grad, m, v, step);
        OptimKernels.adamwStep(par, host(param), host(grad), host(m), host(v), toInt("adamwStep", param.numel(), param), lr,
                beta1, beta2, eps, weightDecay, step);
    }

    @Override
    public void sgdStep(Tensor param, Tensor grad, Tensor momentumBuffer, float lr, float momentum, float weightDecay) {
        checks.sgdStep(param, grad, momentumBuffer);
        OptimKernels.sgdStep(par, host(param), host(grad), host(momentumBuffer), toInt("sgdStep", param.numel(), param), lr,
                momentum, weightDecay);
    }
}
