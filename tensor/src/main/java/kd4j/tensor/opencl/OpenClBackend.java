/*
 * The OpenCL backend: every Backend op as a kernel from resources kd4j/opencl/<family>.cl, on one device with one
 * in-order command queue. Tensors live in device buffers (ClStorage) across ops and steps; only copyOut and the
 * scalar reductions (sum, sumOfSquares, allFinite) come back to the host. Programs are built once per device and
 * options (ClProgramCache). Not the reference: the CPU/reference backends are the oracles its tests compare with.
 * Compute is fp32; weights documented as F32/BF16/F16 are widened inside the kernels. GEMMs also take a BF16 a
 * (mixed precision): the plain kernel widens it as loaded, and on NVIDIA sm_80+ bf16 x bf16 runs on tensor cores
 * (gemm_mma, GemmPath). Reductions are deterministic: fixed orders, no float atomics.
 */
package kd4j.tensor.opencl;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import kd4j.tensor.Backend;
import kd4j.tensor.BackendChecks;
import kd4j.tensor.DType;
import kd4j.tensor.ShapeException;
import kd4j.tensor.Storage;
import kd4j.tensor.Tensor;

public final class OpenClBackend implements Backend {
    /** Work-group size of the row kernels (reductions, norms, softmax, cross-entropy); a power of two. */
    private final int wg;
    private static final int MAX_PARTIALS = 256;
    private static final int ATTENTION_DMAX = 128, ATTENTION_TILE = 32, SCAN_NMAX = 64;
    /** Two-stage column reductions: about this many rows per slice, at most this many slices. */
    private static final int ROWS_PER_SLICE = 64, COLUMN_SLICES_MAX = 128;

    private final ClDevice device;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment context;
    private final MemorySegment queue;
    private final ClProgramCache programs;
    private final Map<String, ClKernel> kernels = new HashMap<>();
    private final GemmTiles tiles;
    /** Smaller tiles for GEMMs whose large-tile grid would leave compute units idle (null: always the large ones). */
    private final GemmTiles smallTiles;
    private final int computeUnits;
    private final GemmPath bf16Path;
    private final boolean mmaEmulated;
    private int forcedSplitK;
    /** Split-K: at least this many K per slice, at most this many slices. */
    private static final int SPLIT_K_MIN = 256, SPLIT_K_MAX = 16;
    /** -Dkd4j.opencl.profile=true: every launch is followed by clFinish and timed per kernel; printed at close. */
    private final boolean profile = Boolean.getBoolean("kd4j.opencl.profile");
    private final Map<String, long[]> profileTimes = new java.util.HashMap<>();
    private String profileLabel = "";
    private final ClStorage partials;
    /** adamw_step_multi's device tables by layout (a training run has one). */
    private final Map<String, Object[]> multiTensorTables = new HashMap<>();
    private final ClStorage dummy;
    private final BackendChecks checks = new BackendChecks(this, BackendChecks.Residency.DEVICE, false, true);
    private boolean closed;

    /** Register tile shape of the GEMM: a BM x BN tile of C per group, TM x TN per work-item, BK deep. */
    record GemmTiles(int bm, int bn, int bk, int tm, int tn) {
        int threads() { return (bm / tm) * (bn / tn); }
        String options() { return "-DBM=" + bm + " -DBN=" + bn + " -DBK=" + bk + " -DTM=" + tm + " -DTN=" + tn; }

        /** "BM,BN,BK,TM,TN" from -Dkd4j.opencl.gemmTiles (benchmark sweeps). */
        static GemmTiles parse(String spec) {
            String[] p = spec.split(",");
            if (p.length != 5) throw new IllegalArgumentException("-Dkd4j.opencl.gemmTiles: expected BM,BN,BK,TM,TN, got '" + spec + "'");
            int[] v = new int[5];
            for (int i = 0; i < 5; i++) v[i] = Integer.parseInt(p[i].trim());
            return checked(new GemmTiles(v[0], v[1], v[2], v[3], v[4]), "gemm tiles '" + spec + "'");
        }

        /** The shape constraints of gemm.cl: whole float4 loads per work-item, 4-wide register groups. */
        static GemmTiles checked(GemmTiles t, String source) {
            int nt = t.threads();
            if (t.tm % 4 != 0 || t.tn % 4 != 0 || t.bm % t.tm != 0 || t.bn % t.tn != 0 || t.bk % 4 != 0
                    || (t.bm * t.bk / 4) % nt != 0 || (t.bk * t.bn / 4) % nt != 0)
                throw new IllegalArgumentException(source + ": TM, TN, BK must be multiples of 4, TM | BM, TN | BN, and BM*BK/4,"
                        + " BK*BN/4 multiples of the " + nt + " work-items");
            return t;
        }
    }

    /** Opens device index (opencl:N numbering, see ClDevice.list). */
    public OpenClBackend(int index) { this(index, null, null); }

    /** With explicit GEMM tiles (tests run the GPU shapes on PoCL); null: -Dkd4j.opencl.gemmTiles/gemmSmallTiles or the device default. */
    OpenClBackend(int index, GemmTiles large, GemmTiles small) { this(index, large, small, false); }

    /**
     * mmaEmulated: bf16 GEMMs run gemm_mma with -DMMA_EMULATE=1 (the tensor-core kernel with its mma.sync replaced
     * by an emulation from the PTX fragment layouts), so PoCL tests the rest of that kernel.
     */
    OpenClBackend(int index, GemmTiles large, GemmTiles small, boolean mmaEmulated) {
        List<ClDevice> devices = ClDevice.list();
        if (devices.isEmpty())
            throw DeviceUnavailableException.noPlatform("libOpenCL.so.1 loaded, clGetPlatformIDs returned 0 platforms");
        if (index < 0 || index >= devices.size())
            throw new DeviceUnavailableException("kd4j: no OpenCL device opencl:" + index + " (found " + devices.size()
                    + ": " + devices.stream().map(ClDevice::describe).toList() + "). Run `kd4j devices` to check.");
        this.device = devices.get(index);
        this.wg = (int) Math.min(256, Long.highestOneBit(Math.max(1, device.maxWorkGroupSize())));
        boolean bigGpu = device.gpu() && device.maxWorkGroupSize() >= 256;
        this.tiles = large != null ? GemmTiles.checked(large, "gemm tiles")
                : System.getProperty("kd4j.opencl.gemmTiles") != null
                ? GemmTiles.parse(System.getProperty("kd4j.opencl.gemmTiles"))
                : bigGpu
                ? new GemmTiles(128, 128, 16, 8, 8)     // 256 items, 64 accumulators each (docs/performance.md)
                : new GemmTiles(32, 32, 16, 4, 4);      // 64 items: PoCL's CPU work-groups run items as loop iterations
        this.smallTiles = small != null ? GemmTiles.checked(small, "gemm small tiles")
                : System.getProperty("kd4j.opencl.gemmSmallTiles") != null
                ? GemmTiles.parse(System.getProperty("kd4j.opencl.gemmSmallTiles"))
                : bigGpu ? new GemmTiles(64, 64, 16, 4, 4) : null;
        this.computeUnits = Math.max(1, device.computeUnits());
        this.bf16Path = GemmPath.forBf16(device);
        this.mmaEmulated = mmaEmulated;
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment err = tmp.allocate(JAVA_INT);
            MemorySegment ids = tmp.allocate(ADDRESS);
            ids.set(ADDRESS, 0, device.id());
            this.context = Cl.createContext(MemorySegment.NULL, 1, ids, err);
            ClError.check(err.get(JAVA_INT, 0), "clCreateContext(" + device.name() + ")");
            this.queue = Cl.createCommandQueue(context, device.id(), 0, err);
            ClError.check(err.get(JAVA_INT, 0), "clCreateCommandQueue(" + device.name() + ")");
        }
        this.programs = new ClProgramCache(context, device);
        this.partials = allocateBytes(MAX_PARTIALS * 4L);
        this.dummy = allocateBytes(64);
    }

    /** "opencl" (the first GPU, else device 0) or "opencl:N". */
    public static OpenClBackend open(String spec) {
        if (spec.equals("opencl")) {
            List<ClDevice> devices = ClDevice.list();
            int index = 0;
            for (ClDevice d : devices) if (d.gpu()) { index = d.index(); break; }
            return new OpenClBackend(index);
        }
        if (spec.startsWith("opencl:")) {
            try {
                return new OpenClBackend(Integer.parseInt(spec.substring("opencl:".length())));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("device '" + spec + "': expected opencl:N with N a device index");
            }
        }
        throw new IllegalArgumentException("device '" + spec + "': expected opencl or opencl:N");
    }

    public ClDevice device() { return device; }

    /** The program cache (tests build deliberately broken sources through it). */
    public ClProgramCache programs() { return programs; }

    // ==== identity and memory ====

    @Override
    public String name() { return "opencl:" + device.index(); }

    @Override
    public String describe() { return device.describe(); }

    @Override
    public long memoryCapacityBytes() { return device.globalMemBytes(); }

    @Override
    public Storage allocate(DType dtype, long count) {
        BackendChecks.allocate(dtype, count);
        ClStorage s = allocateBytes(Math.max(16, count * dtype.byteSize()));
        return s;
    }

    private synchronized ClStorage allocateBytes(long bytes) {
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment err = tmp.allocate(JAVA_INT);
            MemorySegment mem = Cl.createBuffer(context, Cl.CL_MEM_READ_WRITE, bytes, err);
            ClError.check(err.get(JAVA_INT, 0), "clCreateBuffer(" + bytes + " bytes)");
            MemorySegment zero = tmp.allocate(4);
            // Zero-filled as the Backend contract says; bytes is a multiple of 4 except for tiny 2-byte tensors.
            if (bytes % 4 == 0) ClError.check(Cl.enqueueFillBuffer(queue, mem, zero, 4, 0, bytes), "clEnqueueFillBuffer");
            else ClError.check(Cl.enqueueFillBuffer(queue, mem, zero, 1, 0, bytes), "clEnqueueFillBuffer");
            return new ClStorage(this, mem, bytes);
        }
    }

    @Override
    public synchronized void copyIn(Tensor dst, MemorySegment src) {
        checks.copyIn(dst, src.byteSize());
        ClStorage s = (ClStorage) dst.storage();
        long bytes = dst.numel() * dst.dtype().byteSize();
        if (bytes == 0) return;
        // Blocking write: the host buffer may be a heap array, which native code cannot keep past the call.
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment staged = src.isNative() ? src : tmp.allocate(bytes, 64).copyFrom(src.asSlice(0, bytes));
            ClError.check(Cl.enqueueWriteBuffer(queue, s.mem, Cl.CL_TRUE, dst.byteOffset(), bytes, staged),
                    "clEnqueueWriteBuffer(" + bytes + " bytes)");
        }
    }

    @Override
    public synchronized void copyOut(Tensor src, MemorySegment dst) {
        checks.copyOut(src, dst.byteSize());
        ClStorage s = (ClStorage) src.storage();
        long bytes = src.numel() * src.dtype().byteSize();
        if (bytes == 0) return;
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment staged = dst.isNative() ? dst : tmp.allocate(bytes, 64);
            ClError.check(Cl.enqueueReadBuffer(queue, s.mem, Cl.CL_TRUE, src.byteOffset(), bytes, staged),
                    "clEnqueueReadBuffer(" + bytes + " bytes)");
            if (staged != dst) dst.asSlice(0, bytes).copyFrom(staged);
        }
    }

    @Override
    public synchronized void copy(Tensor src, Tensor dst) {
        checks.copy(src, dst);
        ClStorage s = (ClStorage) src.storage(), d = (ClStorage) dst.storage();
        boolean srcInt = !src.dtype().isFloating();
        long n = src.numel();
        if (n == 0) return;
        if (src.dtype() == dst.dtype() && src.isContiguous() && dst.isContiguous()) {
            long bytes = n * src.dtype().byteSize();
            ClError.check(Cl.enqueueCopyBuffer(queue, s.mem, d.mem, src.byteOffset(), dst.byteOffset(), bytes), "clEnqueueCopyBuffer");
            return;
        }
        if (src.rank() > 8) throw ShapeException.of("copy", "strided copies support rank <= 8", "src", src);
        long[] shape = new long[8];
        Arrays.fill(shape, 1);
        for (int i = 0; i < src.rank(); i++) shape[i] = src.dim(i);
        ClKernel k = kernel("copy", srcInt ? "copy_int" : "copy_float");
        int i = 0;
        k.memArg(i++, s.mem); k.longArg(i++, src.offset()); k.intArg(i++, typeCode(src.dtype()));
        k.memArg(i++, d.mem); k.longArg(i++, dst.offset()); k.intArg(i++, typeCode(dst.dtype()));
        k.long8Arg(i++, shape); k.long8Arg(i++, src.strides()); k.long8Arg(i++, dst.strides());
        k.intArg(i++, Math.max(1, src.rank())); k.longArg(i, n);
        enqueue1d(k, n);
    }

    @Override
    public synchronized void fill(Tensor dst, double value) {
        checks.fill(dst);
        ClStorage s = (ClStorage) dst.storage();
        long bytes = dst.numel() * dst.dtype().byteSize();
        if (bytes == 0) return;
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment pattern = tmp.allocate(8, 8);
            switch (dst.dtype()) {
                case F32 -> pattern.set(JAVA_FLOAT, 0, (float) value);
                case F64 -> pattern.set(JAVA_DOUBLE, 0, value);
                case BF16 -> pattern.set(JAVA_SHORT, 0, DType.floatToBf16((float) value));
                case F16 -> pattern.set(JAVA_SHORT, 0, DType.floatToF16((float) value));
                case I32 -> pattern.set(JAVA_INT, 0, (int) value);
                case I64 -> pattern.set(JAVA_LONG, 0, (long) value);
            }
            ClError.check(Cl.enqueueFillBuffer(queue, s.mem, pattern, dst.dtype().byteSize(), dst.byteOffset(), bytes),
                    "clEnqueueFillBuffer");
        }
    }

    @Override
    public synchronized void sync() {
        ClError.check(Cl.finish(queue), "clFinish");
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        Cl.finish(queue);
        if (profile) System.err.print(profileReport());
        for (ClKernel k : kernels.values()) k.close();
        kernels.clear();
        programs.close();
        Cl.releaseCommandQueue(queue);
        Cl.releaseContext(context);
    }

    // ==== elementwise family ====

    @Override
    public synchronized void add(Tensor a, Tensor b, Tensor out) { broadcastOp("add", a, b, out); }

    @Override
    public synchronized void mul(Tensor a, Tensor b, Tensor out) { broadcastOp("mul", a, b, out); }

    private void broadcastOp(String op, Tensor a, Tensor b, Tensor out) {
        checks.broadcast(op, a, b, out);
        launch1d("elementwise", op, a.numel(), a, b, b.numel(), out, a.numel());
    }

    @Override
    public synchronized void addScaled(Tensor acc, Tensor x, float alpha) {
        checks.addScaled(acc, x);
        launch1d("elementwise", "add_scaled", x.numel(), acc, x, alpha, x.numel());
    }

    @Override
    public synchronized void scale(Tensor x, float alpha, Tensor out) {
        checks.scale(x, out);
        launch1d("elementwise", "scale", x.numel(), x, alpha, out, x.numel());
    }

    @Override
    public synchronized void sumRowsBackward(Tensor dOut, Tensor dB) {
        checks.sumRowsBackward(dOut, dB);
        long c = dB.numel();
        columnSums("elementwise", "sum_rows_backward_partials", (int) (dOut.numel() / c), (int) c, new Tensor[] {dB}, dOut);
    }

    @Override
    public synchronized void siluForward(Tensor x, Tensor out) { unary("siluForward", "silu_forward", x, out); }

    @Override
    public synchronized void siluBackward(Tensor dOut, Tensor x, Tensor dX) { unaryBackward("siluBackward", "silu_backward", dOut, x, dX); }

    @Override
    public synchronized void geluForward(Tensor x, Tensor out) { unary("geluForward", "gelu_forward", x, out); }

    @Override
    public synchronized void geluBackward(Tensor dOut, Tensor x, Tensor dX) { unaryBackward("geluBackward", "gelu_backward", dOut, x, dX); }

    @Override
    public synchronized void softplusForward(Tensor x, Tensor out) {
        checks.softplusForward(x, out);
        launch1d("elementwise", "softplus_forward", x.numel(), x, out, x.numel());
    }

    @Override
    public synchronized void softplusBackward(Tensor dOut, Tensor x, Tensor dX) { unaryBackward("softplusBackward", "softplus_backward", dOut, x, dX); }

    private void unary(String op, String kernel, Tensor x, Tensor out) {
        checks.unary(op, x, out);
        launch1d("elementwise", kernel, x.numel(), x, out, x.numel());
    }

    private void unaryBackward(String op, String kernel, Tensor dOut, Tensor x, Tensor dX) {
        checks.unaryBackward(op, dOut, x, dX);
        launch1d("elementwise", kernel, x.numel(), dOut, x, dX, x.numel());
    }

    @Override
    public synchronized void swigluForward(Tensor gate, Tensor up, Tensor out) {
        checks.swigluForward(gate, up, out);
        launch1d("elementwise", "swiglu_forward", gate.numel(), gate, up, out, gate.numel());
    }

    @Override
    public synchronized void swigluBackward(Tensor dOut, Tensor gate, Tensor up, Tensor dGate, Tensor dUp) {
        checks.swigluBackward(dOut, gate, up, dGate, dUp);
        launch1d("elementwise", "swiglu_backward", gate.numel(), dOut, gate, up, dGate, dUp, gate.numel());
    }

    // ==== reduce family ====

    @Override
    public synchronized double sum(Tensor x) { return reduce("sum", x, 0); }

    @Override
    public synchronized double sumOfSquares(Tensor x) { return reduce("sumOfSquares", x, 1); }

    @Override
    public synchronized boolean allFinite(Tensor x) { return reduce("allFinite", x, 2) == 0; }

    /** Group-tree partials on the device, then the last MAX_PARTIALS values added on the host in double. */
    private double reduce(String op, Tensor x, int mode) {
        checks.reduce(op, x);
        long n = x.numel();
        if (n == 0) return 0;
        int groups = (int) Math.min(MAX_PARTIALS, (n + wg - 1) / wg);
        ClKernel k = kernel("reduce", "reduce_partials");
        k.memArg(0, mem(x)); k.longArg(1, x.offset()); k.longArg(2, n); k.intArg(3, mode); k.memArg(4, partials.mem);
        enqueue(k, new long[] {(long) groups * wg}, new long[] {wg});
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment host = tmp.allocate(groups * 4L, 64);
            ClError.check(Cl.enqueueReadBuffer(queue, partials.mem, Cl.CL_TRUE, 0, groups * 4L, host), "clEnqueueReadBuffer(partials)");
            double s = 0;
            for (int g = 0; g < groups; g++) s += host.getAtIndex(JAVA_FLOAT, g);
            return s;
        }
    }

    @Override
    public synchronized void softmaxForward(Tensor x, Tensor out) { rows("softmaxForward", "softmax_forward", x, out); }

    @Override
    public synchronized void softmaxBackward(Tensor dOut, Tensor out, Tensor dX) { rowsBackward("softmaxBackward", "softmax_backward", dOut, out, dX); }

    @Override
    public synchronized void logSoftmaxForward(Tensor x, Tensor out) { rows("logSoftmaxForward", "log_softmax_forward", x, out); }

    @Override
    public synchronized void logSoftmaxBackward(Tensor dOut, Tensor out, Tensor dX) { rowsBackward("logSoftmaxBackward", "log_softmax_backward", dOut, out, dX); }

    private void rows(String op, String kernel, Tensor x, Tensor out) {
        checks.rowsForward(op, x, out);
        launchRows("reduce", kernel, x.rows(), x, out, lastDim(x));
    }

    private void rowsBackward(String op, String kernel, Tensor dOut, Tensor out, Tensor dX) {
        checks.rowsBackward(op, dOut, out, dX);
        launchRows("reduce", kernel, out.rows(), dOut, out, dX, lastDim(out));
    }

    // ==== norm family ====

    @Override
    public synchronized void rmsNormForward(Tensor x, Tensor w, float eps, Tensor out, Tensor invRms) {
        int c = checks.rmsNormForward(x, w, out, invRms).cols();
        launchRows("norm", "rms_norm_forward", x.rows(), x, w, typeCode(w.dtype()), eps, out, invRms, c);
    }

    @Override
    public synchronized void rmsNormBackward(Tensor dOut, Tensor x, Tensor w, Tensor invRms, Tensor dX, Tensor dW) {
        int c = checks.rmsNormBackward(dOut, x, w, invRms, dX, dW).cols();
        launchRows("norm", "rms_norm_backward_dx", x.rows(), dOut, x, w, typeCode(w.dtype()), invRms, dX, c);
        columnSums("norm", "rms_norm_backward_dw_partials", (int) x.rows(), c, new Tensor[] {dW}, dOut, x, invRms);
    }

    @Override
    public synchronized void layerNormForward(Tensor x, Tensor w, Tensor b, float eps, Tensor out, Tensor mean, Tensor invStd) {
        int c = checks.layerNormForward(x, w, b, out, mean, invStd).cols();
        if (b != null && b.dtype() != DType.F32)   // norm.cl reads the bias as float (w is widened, b is not)
            throw ShapeException.of("layerNormForward", "b must be F32 on " + name() + ", found " + b.dtype(), "b", b);
        launchRows("norm", "layer_norm_forward", x.rows(), x, w, typeCode(w.dtype()), orDummy(b), b == null ? 0 : 1, eps,
                out, mean, invStd, c);
    }

    @Override
    public synchronized void layerNormBackward(Tensor dOut, Tensor x, Tensor w, Tensor mean, Tensor invStd, Tensor dX, Tensor dW, Tensor dB) {
        int c = checks.layerNormBackward(dOut, x, w, mean, invStd, dX, dW, dB).cols();
        launchRows("norm", "layer_norm_backward_dx", x.rows(), dOut, x, w, typeCode(w.dtype()), mean, invStd, dX, c);
        columnSums("norm", "layer_norm_backward_dwdb_partials", (int) x.rows(), c, new Tensor[] {dW, dB}, dOut, x, mean, invStd);
    }

    /**
     * Two-stage column sums of a [rows, cols] reduction (dW, dB): the family's partials kernel writes one sum per
     * (column, row slice) to scratch (outs.length blocks of slices x cols), then reduce.cl's sum_column_partials adds
     * each column's slices in order to outs[j] (+=; a null out is skipped). args precede the kernel's
     * (partials, R, C, rowsPerSlice). The slicing is a function of rows alone (deterministic on every device).
     */
    private void columnSums(String family, String partialsKernel, int rows, int cols, Tensor[] outs, Object... args) {
        if (rows == 0 || cols == 0) return;
        int slices = Math.max(1, Math.min(COLUMN_SLICES_MAX, ceilDiv(rows, ROWS_PER_SLICE)));
        int rowsPerSlice = ceilDiv(rows, slices);
        slices = ceilDiv(rows, rowsPerSlice);
        Raw partials = new Raw(allocateBytes((long) outs.length * slices * cols * 4));
        ClKernel k = kernel(family, partialsKernel);
        int i = setArgs(k, 0, args);
        setArgs(k, i, partials, rows, cols, rowsPerSlice);
        enqueue(k, new long[] {ceilDiv(cols, wg) * (long) wg, slices}, new long[] {wg, 1});
        for (int j = 0; j < outs.length; j++)
            if (outs[j] != null)
                launch1d("reduce", "sum_column_partials", cols, partials, (long) j * slices * cols, slices, cols, outs[j]);
    }

    // ==== gemm family ====

    @Override
    public synchronized void gemm(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c) {
        BackendChecks.Gemm g = checks.gemm(transA, transB, a, b, c);
        BackendChecks.contiguous("gemm", "a", a); BackendChecks.contiguous("gemm", "b", b); BackendChecks.contiguous("gemm", "c", c);
        int m = g.m(), n = g.n(), k = g.k(), batch = g.batches();
        if (m == 0 || n == 0 || batch == 0) return;
        long strideA = (long) m * k, strideB = b.rank() == 3 ? (long) k * n : 0, strideC = (long) m * n;
        if ((bf16Path == GemmPath.TENSOR_CORE || mmaEmulated) && a.dtype() == DType.BF16 && b.dtype() == DType.BF16) {
            // tensor cores: 64 x 64 tiles of C, 4 warps per group (gemm.cl, gemm_mma)
            ClKernel kern = kernel("gemm", "gemm_mma", "-DMMA=1" + (mmaEmulated ? " -DMMA_EMULATE=1" : "")
                    + " -DTRANS_A=" + (transA ? 1 : 0) + " -DTRANS_B=" + (transB ? 1 : 0));
            setGemmArgs(kern, m, n, k, alpha, beta, mem(a), a.offset(), strideA, mem(b), b.offset(), strideB, mem(c), c.offset(),
                    strideC, false, false, false);
            if (profile) profileLabel = " " + (transA ? "T" : "N") + (transB ? "T" : "N") + " mma m" + m + " n" + n + " k" + k + (batch > 1 ? " x" + batch : "");
            enqueue(kern, new long[] {(long) ceilDiv(m, 64) * 128, ceilDiv(n, 64), batch}, new long[] {128, 1, 1});
            return;
        }
        GemmTiles t = tiles;
        if (smallTiles != null && (long) ceilDiv(m, tiles.bm()) * ceilDiv(n, tiles.bn()) * batch < 2L * computeUnits) t = smallTiles;
        String options = t.options() + " -DTRANS_A=" + (transA ? 1 : 0) + " -DTRANS_B=" + (transB ? 1 : 0)
                + " -DA_TYPE=" + typeCode(a.dtype()) + " -DB_TYPE=" + typeCode(b.dtype());
        ClKernel kern = kernel("gemm", "gemm", options);
        int slices = transA && !transB && batch == 1 ? splitKSlices(t, m, n, k) : 1;
        if (slices > 1) {
            gemmSplitK(kern, options, t, slices, m, n, k, alpha, beta, a, b, c);
            return;
        }
        int lda = transA ? m : k, ldb = transB ? k : n;
        // float4 loads/stores need every row start 16-byte aligned (cl_mem bases are): offsets, strides, leading dims % 4
        boolean vecA = a.offset() % 4 == 0 && strideA % 4 == 0 && lda % 4 == 0;
        boolean vecB = b.offset() % 4 == 0 && strideB % 4 == 0 && ldb % 4 == 0;
        boolean vecC = c.offset() % 4 == 0 && strideC % 4 == 0 && n % 4 == 0;
        setGemmArgs(kern, m, n, k, alpha, beta, mem(a), a.offset(), strideA, mem(b), b.offset(), strideB, mem(c), c.offset(),
                strideC, vecA, vecB, vecC);
        if (profile) profileLabel = " " + (transA ? "T" : "N") + (transB ? "T" : "N") + " " + b.dtype() + " m" + m + " n" + n + " k" + k + (batch > 1 ? " x" + batch : "") + " tiles " + t.bm() + "x" + t.bn();
        int nt = t.threads();
        enqueue(kern, new long[] {(long) ceilDiv(m, t.bm()) * nt, ceilDiv(n, t.bn()), batch}, new long[] {nt, 1, 1});
    }

    /** The arguments of gemm.cl's gemm and gemm_mma (the same list): buffers with element offsets and batch strides. */
    private void setGemmArgs(ClKernel kern, int m, int n, int k, float alpha, float beta, MemorySegment a, long ao, long strideA,
                             MemorySegment b, long bo, long strideB, MemorySegment c, long co, long strideC,
                             boolean vecA, boolean vecB, boolean vecC) {
        int i = 0;
        kern.intArg(i++, m); kern.intArg(i++, n); kern.intArg(i++, k);
        kern.floatArg(i++, alpha); kern.floatArg(i++, beta);
        kern.memArg(i++, a); kern.longArg(i++, ao); kern.longArg(i++, strideA);
        kern.memArg(i++, b); kern.longArg(i++, bo); kern.longArg(i++, strideB);
        kern.memArg(i++, c); kern.longArg(i++, co); kern.longArg(i++, strideC);
        kern.intArg(i++, vecA ? 1 : 0); kern.intArg(i++, vecB ? 1 : 0); kern.intArg(i, vecC ? 1 : 0);
    }

    /**
     * K slices for a weight-gradient GEMM (c = a^T b, a [K, M], b [K, N], K the long side): more than 1 when its tile
     * grid would leave compute units idle and K is long enough to share out, so each slice's work-groups fill
     * the device. A function of the shape and the device only: reruns take the same slices.
     */
    private int splitKSlices(GemmTiles t, int m, int n, int k) {
        if (forcedSplitK > 0) return Math.min(forcedSplitK, Math.max(1, ceilDiv(k, t.bk())));
        long grid = (long) ceilDiv(m, t.bm()) * ceilDiv(n, t.bn());
        if (grid >= computeUnits || k < 2 * SPLIT_K_MIN) return 1;
        return (int) Math.max(1, Math.min(Math.min(SPLIT_K_MAX, k / SPLIT_K_MIN), ceilDiv(2L * computeUnits, grid)));
    }

    /**
     * Split-K: slice s of K (Ks rows of a and b, a multiple of BK; the last slice takes the rest) goes through the
     * plain kernel into partials [S, M, N] (one batched launch for the full slices, one for the rest), then
     * gemm_splitk_sum adds the slices in order: c = alpha * sum + beta * c. Deterministic: no atomics, fixed order.
     */
    private void gemmSplitK(ClKernel kern, String options, GemmTiles t, int slices, int m, int n, int k, float alpha,
                            float beta, Tensor a, Tensor b, Tensor c) {
        int ks = ceilDiv(ceilDiv(k, slices), t.bk()) * t.bk();
        int full = k / ks, rest = k - full * ks, count = full + (rest > 0 ? 1 : 0);
        long mn = (long) m * n;
        ClStorage partials = allocateBytes(count * mn * 4);
        int nt = t.threads();
        boolean vecC = mn % 4 == 0 && n % 4 == 0;
        // a^T slices: rows s * Ks.. of a [K, M] (stride Ks * M), of b [K, N] (stride Ks * N)
        boolean vecA = a.offset() % 4 == 0 && m % 4 == 0, vecB = b.offset() % 4 == 0 && n % 4 == 0;
        if (full > 0) {
            setGemmArgs(kern, m, n, ks, 1f, 0f, mem(a), a.offset(), (long) ks * m, mem(b), b.offset(), (long) ks * n,
                    partials.mem, 0, mn, vecA, vecB, vecC);
            if (profile) profileLabel = " TN split-K " + count + " m" + m + " n" + n + " k" + k + " tiles " + t.bm() + "x" + t.bn();
            enqueue(kern, new long[] {(long) ceilDiv(m, t.bm()) * nt, ceilDiv(n, t.bn()), full}, new long[] {nt, 1, 1});
        }
        if (rest > 0) {
            setGemmArgs(kern, m, n, rest, 1f, 0f, mem(a), a.offset() + (long) full * ks * m, 0, mem(b),
                    b.offset() + (long) full * ks * n, 0, partials.mem, full * mn, 0, vecA, vecB, vecC);
            enqueue(kern, new long[] {(long) ceilDiv(m, t.bm()) * nt, ceilDiv(n, t.bn()), 1}, new long[] {nt, 1, 1});
        }
        ClKernel sum = kernel("gemm", "gemm_splitk_sum", options);
        setArgs(sum, 0, new Raw(partials), count, mn, alpha, beta, c);
        enqueue1d(sum, mn);
    }

    /** Tests: every transA && !transB GEMM takes this many K slices (0: the device's own choice). */
    void forceSplitK(int slices) { forcedSplitK = slices; }

    @Override
    public boolean supportsBf16Matmul() { return true; }

    /** The kernel GEMMs with bf16 a and b run on this device (GemmPath: tensor cores or the plain kernel). */
    public GemmPath bf16GemmPath() { return bf16Path; }

    /** The GEMM tile shape chosen for this device (for benchmarks and reports). */
    public String gemmTiles() { return tiles + (smallTiles != null ? " (small grids: " + smallTiles + ")" : ""); }

    // ==== rope family ====

    @Override
    public synchronized void ropeForward(Tensor x, Tensor invFreq, int positionOffset, Tensor out) { rope("ropeForward", "x", x, invFreq, positionOffset, "out", out, 1f); }

    @Override
    public synchronized void ropeBackward(Tensor dOut, Tensor invFreq, int positionOffset, Tensor dX) { rope("ropeBackward", "dOut", dOut, invFreq, positionOffset, "dX", dX, -1f); }

    private void rope(String op, String xName, Tensor x, Tensor invFreq, int positionOffset, String outName, Tensor out, float sign) {
        checks.rope(op, xName, x, invFreq, outName, out);
        long n = x.numel() / 2;
        launch1d("rope", "rope_forward", n, x, invFreq, positionOffset, x.dim(1), x.dim(2), x.dim(3), sign, out, n);
    }

    // ==== embedding family ====

    @Override
    public synchronized void embeddingForward(Tensor ids, Tensor table, Tensor out) {
        checks.embeddingForward(ids, table, out);
        launch1d("embedding", "embedding_forward", out.numel(), ids, table, typeCode(table.dtype()), table.dim(0), table.dim(1), out, out.numel());
    }

    @Override
    public synchronized void embeddingBackward(Tensor dOut, Tensor ids, Tensor dTable) {
        checks.embeddingBackward(dOut, ids, dTable);
        int n = (int) ids.numel(), cols = dTable.dim(1);
        if (n == 0 || cols == 0) return;
        Raw order = new Raw(allocateBytes(Math.max(16, n * 4L))), runStart = new Raw(allocateBytes(Math.max(16, n * 4L))),
                runLength = new Raw(allocateBytes(Math.max(16, n * 4L)));
        launch1d("embedding", "embedding_backward_order", n, ids, n, dTable.dim(0), order, runStart, runLength);
        ClKernel k = kernel("embedding", "embedding_backward");
        setArgs(k, 0, dOut, ids, order, runStart, runLength, n, cols, dTable);
        enqueue(k, new long[] {ceilDiv(cols, wg) * (long) wg, n}, new long[] {wg, 1});
    }

    // ==== attention family ====

    @Override
    public synchronized void attentionForward(Tensor q, Tensor k, Tensor v, float scale, int queryOffset, Tensor keyMask, Tensor out, Tensor lse) {
        BackendChecks.Attention d = attentionLimits("attentionForward", checks.attentionForward(q, k, v, queryOffset, keyMask, out, lse), q);
        int b = d.batches(), t = d.tokens(), s = d.keys(), h = d.heads(), hkv = d.kvHeads(), hd = d.dim();
        if (b == 0 || t == 0 || h == 0) return;
        ClKernel kern = kernel("attention", "attention_forward", "-DHD=" + hd);
        setArgs(kern, 0, q, k, k.stride(0), v, v.stride(0), orDummy(keyMask), keyMask == null ? 0 : 1, scale,
                queryOffset, t, s, h, hkv, hd, out, lse);
        enqueue(kern, new long[] {(long) ceilDiv(t, ATTENTION_TILE) * ATTENTION_TILE, (long) b * h}, new long[] {ATTENTION_TILE, 1});
    }

    @Override
    public synchronized void attentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, float scale,
                                               int queryOffset, Tensor keyMask, Tensor dQ, Tensor dK, Tensor dV) {
        BackendChecks.Attention d = attentionLimits("attentionBackward",
                checks.attentionBackward(dOut, q, k, v, out, lse, queryOffset, keyMask, dQ, dK, dV), q);
        int b = d.batches(), t = d.tokens(), s = d.keys(), h = d.heads(), hkv = d.kvHeads(), hd = d.dim();
        if (b == 0 || s == 0 || h == 0) return;
        ClStorage delta = allocateBytes(Math.max(16, (long) b * h * t * 4));
        ClKernel deltaKernel = kernel("attention", "attention_backward_delta", "-DHD=" + hd);
        setArgs(deltaKernel, 0, dOut, out, t, h, hd, new Raw(delta), (long) b * t * h);
        enqueue1d(deltaKernel, (long) b * t * h);
        ClKernel dq = kernel("attention", "attention_backward_dq", "-DHD=" + hd);
        setArgs(dq, 0, dOut, q, k, k.stride(0), v, v.stride(0), lse, new Raw(delta), orDummy(keyMask), keyMask == null ? 0 : 1,
                scale, queryOffset, t, s, h, hkv, hd, dQ);
        enqueue(dq, new long[] {(long) ceilDiv(t, ATTENTION_TILE) * ATTENTION_TILE, (long) b * h}, new long[] {ATTENTION_TILE, 1});
        ClKernel dkdv = kernel("attention", "attention_backward_dkdv", "-DHD=" + hd);
        setArgs(dkdv, 0, dOut, q, k, k.stride(0), v, v.stride(0), lse, new Raw(delta), orDummy(keyMask), keyMask == null ? 0 : 1,
                scale, queryOffset, t, s, h, hkv, hd, dK, dV);
        enqueue(dkdv, new long[] {(long) ceilDiv(s, ATTENTION_TILE) * ATTENTION_TILE, (long) b * hkv}, new long[] {ATTENTION_TILE, 1});
    }

    /** The kernels' own limit on top of the shared checks: the head dim fits the DMAX registers. */
    private static BackendChecks.Attention attentionLimits(String op, BackendChecks.Attention d, Tensor q) {
        if (d.dim() > ATTENTION_DMAX)
            throw ShapeException.of(op, "head dim " + d.dim() + " exceeds the OpenCL kernel's DMAX " + ATTENTION_DMAX, "q", q);
        return d;
    }

    // ==== cross-entropy family ====

    @Override
    public synchronized void crossEntropyForward(Tensor logits, Tensor targets, int ignoreIndex, Tensor losses, Tensor lse) {
        long n = checks.crossEntropyForward(logits, targets, losses, lse).rows();
        launchRows("cross_entropy", "cross_entropy_forward", n, logits, targets, ignoreIndex, lastDim(logits), losses, lse);
    }

    @Override
    public synchronized void crossEntropyBackward(Tensor dLosses, Tensor logits, Tensor targets, Tensor lse, int ignoreIndex, Tensor dLogits) {
        long n = checks.crossEntropyBackward(dLosses, logits, targets, lse, dLogits).rows();
        launchRows("cross_entropy", "cross_entropy_backward", n, dLosses, logits, targets, lse, ignoreIndex, lastDim(logits), dLogits);
    }

    // ==== distill family ====

    @Override
    public synchronized void distillForward(Divergence divergence, float tau, Tensor student, Tensor teacher, Tensor perToken) {
        checks.distillForward(tau, student, teacher, perToken);
        launchRows("distill", "distill_forward", student.rows(), divergence.ordinal(), tau, student, teacher, lastDim(student), perToken);
    }

    @Override
    public synchronized void distillBackward(Divergence divergence, float tau, Tensor dPerToken, Tensor student, Tensor teacher, Tensor dStudent) {
        checks.distillBackward(tau, dPerToken, student, teacher, dStudent);
        launchRows("distill", "distill_backward", student.rows(), divergence.ordinal(), tau, dPerToken, student, teacher, lastDim(student), dStudent);
    }

    @Override
    public synchronized void sparseDistillForward(float tau, Tensor student, Tensor ids, Tensor probs, Tensor perToken, Tensor lse) {
        int kk = checks.sparseDistillForward(tau, student, ids, probs, perToken, lse).topK();
        launchRows("distill", "sparse_distill_forward", student.rows(), tau, student, ids, probs, lastDim(student), kk, perToken, lse);
    }

    @Override
    public synchronized void sparseDistillBackward(float tau, Tensor dPerToken, Tensor student, Tensor ids, Tensor probs, Tensor lse, Tensor dStudent) {
        int kk = checks.sparseDistillBackward(tau, dPerToken, student, ids, probs, lse, dStudent).topK();
        launchRows("distill", "sparse_distill_backward", student.rows(), tau, dPerToken, student, ids, probs, lse, lastDim(student), kk, dStudent);
    }

    // ==== conv/scan family ====

    @Override
    public synchronized void causalConv1dForward(Tensor x, Tensor w, Tensor bias, Tensor out) {
        BackendChecks.Conv d = checks.causalConv1dForward(x, w, bias, out);
        launch1d("conv_scan", "causal_conv1d_forward", x.numel(), x, w, orDummy(bias), bias == null ? 0 : 1, d.tokens(), d.channels(), d.width(), out, x.numel());
    }

    @Override
    public synchronized void causalConv1dBackward(Tensor dOut, Tensor x, Tensor w, Tensor dX, Tensor dW, Tensor dBias) {
        BackendChecks.Conv d = checks.causalConv1dBackward(dOut, x, w, dX, dW, dBias);
        launch1d("conv_scan", "causal_conv1d_backward_dx", x.numel(), dOut, w, d.tokens(), d.channels(), d.width(), dX, x.numel());
        launch1d("conv_scan", "causal_conv1d_backward_dw", (long) d.channels() * d.width(), dOut, x, d.batches(), d.tokens(), d.channels(), d.width(), dW, orDummy(dBias), dBias == null ? 0 : 1);
    }

    @Override
    public synchronized void causalConv1dStep(Tensor x, Tensor w, Tensor bias, Tensor convState, Tensor out) {
        checks.causalConv1dStep(x, w, bias, convState, out);
        launch1d("conv_scan", "causal_conv1d_step", x.numel(), x, w, orDummy(bias), bias == null ? 0 : 1, x.dim(1), w.dim(1), convState, out, x.numel());
    }

    @Override
    public synchronized void selectiveScanForward(Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat, Tensor d, Tensor y) {
        int[] s = scanLimits("selectiveScanForward", checks.selectiveScanForward(u, delta, aLog, bMat, cMat, d, y), aLog);
        launch1d("conv_scan", "selective_scan_forward", (long) s[0] * s[2], u, delta, aLog, bMat, cMat, d, s[0], s[1], s[2], s[3], y);
    }

    @Override
    public synchronized void selectiveScanBackward(Tensor dY, Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat, Tensor d,
                                                   Tensor dU, Tensor dDelta, Tensor dALog, Tensor dB, Tensor dC, Tensor dD) {
        int[] s = scanLimits("selectiveScanBackward",
                checks.selectiveScanBackward(dY, u, delta, aLog, bMat, cMat, d, dU, dDelta, dALog, dB, dC, dD), aLog);
        long states = Math.max(16, (long) s[0] * s[1] * s[2] * s[3] * 4);
        Raw states1 = new Raw(allocateBytes(states)), grads = new Raw(allocateBytes(states));
        launch1d("conv_scan", "selective_scan_backward", s[2], dY, u, delta, aLog, bMat, cMat, d, s[0], s[1], s[2], s[3],
                states1, grads, dU, dDelta, dALog, dD);
        long nbc = (long) s[0] * s[1] * s[3];
        launch1d("conv_scan", "selective_scan_backward_bc", nbc, dY, u, delta, states1, grads, s[2], s[3], dB, dC, nbc);
    }

    @Override
    public synchronized void selectiveScanStep(Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat, Tensor d, Tensor state, Tensor y) {
        scanLimits("selectiveScanStep", checks.selectiveScanStep(u, delta, aLog, bMat, cMat, d, state, y), aLog);
        launch1d("conv_scan", "selective_scan_step", u.numel(), u, delta, aLog, bMat, cMat, d, u.dim(1), aLog.dim(1), state, y, u.numel());
    }

    /** {B, T, I, N}, after the kernels' own limit on top of the shared checks: the state fits the NMAX registers. */
    private static int[] scanLimits(String op, BackendChecks.Scan s, Tensor aLog) {
        if (s.state() > SCAN_NMAX) throw ShapeException.of(op, "state size N exceeds the OpenCL kernel's NMAX " + SCAN_NMAX, "aLog", aLog);
        return new int[] {s.batches(), s.tokens(), s.inner(), s.state()};
    }

    // ==== optim family ====

    @Override
    public synchronized void adamwStep(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2,
                                       float eps, float weightDecay, int step) {
        checks.adamwStep(param, grad, m, v, step);
        float bc1 = (float) (1 - Math.pow(beta1, step)), bc2 = (float) (1 - Math.pow(beta2, step));
        launch1d("optim", "adamw_step", param.numel(), param, grad, m, v, lr, beta1, beta2, eps, weightDecay, bc1, bc2, param.numel());
    }

    /**
     * One launch for every tensor when each list shares one storage with tensor i at the same offset in all four
     * (PackedParameters + AdamW); otherwise one adamw_step per tensor. Both run adamw_update: bit-identical.
     */
    @Override
    public synchronized void adamwSteps(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v, float lr,
                                        float beta1, float beta2, float eps, float[] weightDecay, int step) {
        checks.adamwSteps(params, grads, m, v, weightDecay, step);
        int count = params.size();
        boolean fused = count > 1;
        long total = 0;
        long[] table = new long[3 * count];
        for (int i = 0; i < count && fused; i++) {
            Tensor p = params.get(i), g = grads.get(i), mi = m.get(i), vi = v.get(i);
            fused = p.storage() == params.get(0).storage() && g.storage() == grads.get(0).storage()
                    && mi.storage() == m.get(0).storage() && vi.storage() == v.get(0).storage()
                    && g.offset() == p.offset() && mi.offset() == p.offset() && vi.offset() == p.offset();
            table[3 * i] = p.offset();
            table[3 * i + 1] = p.numel();
            table[3 * i + 2] = total;
            total += p.numel();
        }
        if (!fused || total == 0) {
            for (int i = 0; i < count; i++)
                adamwStep(params.get(i), grads.get(i), m.get(i), v.get(i), lr, beta1, beta2, eps, weightDecay[i], step);
            return;
        }
        Raw[] t = multiTensorTable(table, weightDecay);
        float bc1 = (float) (1 - Math.pow(beta1, step)), bc2 = (float) (1 - Math.pow(beta2, step));
        ClKernel k = kernel("optim", "adamw_step_multi");
        int i = 0;
        k.memArg(i++, mem(params.get(0))); k.memArg(i++, mem(grads.get(0))); k.memArg(i++, mem(m.get(0))); k.memArg(i++, mem(v.get(0)));
        k.memArg(i++, t[0].storage().mem); k.memArg(i++, t[1].storage().mem); k.intArg(i++, count); k.longArg(i++, total);
        k.floatArg(i++, lr); k.floatArg(i++, beta1); k.floatArg(i++, beta2); k.floatArg(i++, eps);
        k.floatArg(i++, bc1); k.floatArg(i, bc2);
        enqueue1d(k, total);
    }

    /** The offset table and weight decays of adamw_step_multi on the device, uploaded once per distinct layout. */
    private Raw[] multiTensorTable(long[] table, float[] weightDecay) {
        String key = Arrays.hashCode(table) + "/" + Arrays.hashCode(weightDecay);
        Object[] cached = multiTensorTables.get(key);
        if (cached != null && Arrays.equals((long[]) cached[0], table) && Arrays.equals((float[]) cached[1], weightDecay))
            return (Raw[]) cached[2];
        ClStorage t = allocateBytes(table.length * 8L), w = allocateBytes(Math.max(16, weightDecay.length * 4L));
        try (Arena tmp = Arena.ofConfined()) {
            ClError.check(Cl.enqueueWriteBuffer(queue, t.mem, Cl.CL_TRUE, 0, table.length * 8L, tmp.allocateFrom(JAVA_LONG, table)),
                    "clEnqueueWriteBuffer(adamw table)");
            ClError.check(Cl.enqueueWriteBuffer(queue, w.mem, Cl.CL_TRUE, 0, weightDecay.length * 4L, tmp.allocateFrom(JAVA_FLOAT, weightDecay)),
                    "clEnqueueWriteBuffer(adamw weight decays)");
        }
        Raw[] out = {new Raw(t), new Raw(w)};
        if (multiTensorTables.size() > 16) multiTensorTables.clear();
        multiTensorTables.put(key, new Object[] {table.clone(), weightDecay.clone(), out});
        return out;
    }

    @Override
    public synchronized void sgdStep(Tensor param, Tensor grad, Tensor momentumBuffer, float lr, float momentum, float weightDecay) {
        checks.sgdStep(param, grad, momentumBuffer);
        launch1d("optim", "sgd_step", param.numel(), param, grad, momentumBuffer, lr, momentum, weightDecay, param.numel());
    }

    // ==== launching ====

    /** A raw device buffer passed as (cl_mem, offset 0): scratch that is no Tensor. */
    private record Raw(ClStorage storage) {}

    private String commonOptions() {
        return "-cl-std=CL1.2 -DWG=" + wg + " -DBQ=" + ATTENTION_TILE + " -DBS=" + ATTENTION_TILE + " -DDMAX=" + ATTENTION_DMAX
                + " -DNMAX=" + SCAN_NMAX;
    }

    private ClKernel kernel(String family, String name) { return kernel(family, name, ""); }

    private ClKernel kernel(String family, String name, String extraOptions) {
        if (closed) throw new IllegalStateException(name() + " is closed");
        String options = commonOptions() + (extraOptions.isEmpty() ? "" : " " + extraOptions);
        String key = family + '/' + name + '/' + options;
        ClKernel k = kernels.get(key);
        if (k == null) {
            KernelSource.Entry src = KernelSource.load(family);
            k = new ClKernel(programs.program(src.file(), src.source(), options), src.file(), name, arena);
            kernels.put(key, k);
        }
        return k;
    }

    /** Sets args from index i: a Tensor is (cl_mem, long element offset); Raw is (cl_mem, 0); boxed scalars as typed. */
    private int setArgs(ClKernel k, int i, Object... args) {
        for (Object a : args) {
            switch (a) {
                case Tensor t -> { k.memArg(i++, mem(t)); k.longArg(i++, t.offset()); }
                case Raw r -> k.memArg(i++, r.storage().mem);
                case Integer v -> k.intArg(i++, v);
                case Long v -> k.longArg(i++, v);
                case Float v -> k.floatArg(i++, v);
                default -> throw new IllegalStateException("opencl: unsupported kernel argument " + a);
            }
        }
        return i;
    }

    /** One work-item per element (or column), global rounded up to wg; kernels drop the extra items. */
    private void launch1d(String family, String name, long items, Object... args) {
        if (items == 0) return;
        ClKernel k = kernel(family, name);
        setArgs(k, 0, args);
        enqueue1d(k, items);
    }

    private void enqueue1d(ClKernel k, long items) {
        enqueue(k, new long[] {ceilDiv(items, wg) * wg}, new long[] {wg});
    }

    /** One work-group of wg items per row. */
    private void launchRows(String family, String name, long rows, Object... args) {
        if (rows == 0) return;
        ClKernel k = kernel(family, name);
        setArgs(k, 0, args);
        enqueue(k, new long[] {rows * wg}, new long[] {wg});
    }

    private void enqueue(ClKernel k, long[] global, long[] local) {
        long t0 = profile ? System.nanoTime() : 0;
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment g = tmp.allocate(JAVA_LONG, global.length), l = tmp.allocate(JAVA_LONG, local.length);
            for (int i = 0; i < global.length; i++) { g.setAtIndex(JAVA_LONG, i, global[i]); l.setAtIndex(JAVA_LONG, i, local[i]); }
            ClError.check(Cl.enqueueNDRangeKernel(queue, k.handle, global.length, g, l),
                    "clEnqueueNDRangeKernel(" + k.file + ": " + k.name + ", global " + Arrays.toString(global) + ", local " + Arrays.toString(local) + ")");
        }
        if (profile) {
            ClError.check(Cl.finish(queue), "clFinish");
            long[] e = profileTimes.computeIfAbsent(k.file + ":" + k.name + profileLabel, x -> new long[2]);
            profileLabel = "";
            e[0]++;
            e[1] += System.nanoTime() - t0;
        }
    }

    /** Per-kernel launch counts and times under -Dkd4j.opencl.profile=true (launch + clFinish), largest first. */
    public synchronized String profileReport() {
        long total = 0;
        for (long[] e : profileTimes.values()) total += e[1];
        StringBuilder sb = new StringBuilder(String.format("opencl profile (%s): %.1f ms in kernels%n", name(), total / 1e6));
        List<Map.Entry<String, long[]>> es = new java.util.ArrayList<>(profileTimes.entrySet());
        es.sort((x, y) -> Long.compare(y.getValue()[1], x.getValue()[1]));
        for (Map.Entry<String, long[]> e : es)
            sb.append(String.format("%9.2f ms %5.1f%% %7d x  %s%n", e.getValue()[1] / 1e6, 100.0 * e.getValue()[1] / Math.max(1, total),
                    e.getValue()[0], e.getKey()));
        return sb.toString();
    }

    // ==== argument plumbing (the checks themselves are BackendChecks) ====

    private MemorySegment mem(Tensor t) { return ((ClStorage) t.storage()).mem; }

    private Tensor orDummy(Tensor t) { return t != null ? t : Tensor.of(dummy, DType.F32, 4); }

    private static int lastDim(Tensor t) { return t.rank() == 0 ? 1 : t.dim(-1); }

    private static long ceilDiv(long a, long b) { return (a + b - 1) / b; }

    private static int ceilDiv(int a, int b) { return (a + b - 1) / b; }

    private static int typeCode(DType t) {
        return switch (t) { case F32 -> 0; case F64 -> 1; case BF16 -> 2; case F16 -> 3; case I32 -> 4; case I64 -> 5; };
    }
}
