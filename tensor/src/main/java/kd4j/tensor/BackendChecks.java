/*
 * The argument checks of every Backend method, written once: the CPU, OpenCL and reference backends call the method
 * of the same name here first, so the same mistake gets the same ShapeException on each (naming the op, the operand,
 * what was expected and what came), and each op's derived dims come back in a small record. What differs between
 * backends is only a policy fixed at construction: where a tensor must live (host memory or one device), whether the
 * F32 operands may also be F64 (the reference backend, for finite-difference checks), and whether operands must be
 * contiguous (the reference backend reads any strides). Limits of one backend's kernels (OpenCL's head-dim cap, the
 * CPU's 2^31-1 elements per call) stay in that backend. Checks allocate nothing unless they throw.
 */
package kd4j.tensor;

public final class BackendChecks {
    /** Where the tensors a backend computes on must live. */
    public enum Residency { HOST, DEVICE }

    private final Backend owner;
    private final Residency residency;
    private final boolean acceptsF64;
    private final boolean requiresContiguous;

    /**
     * owner: the backend these checks guard (DEVICE residency means "storage owned by owner"); acceptsF64: F32
     * operands may be F64 instead; requiresContiguous: operands documented as contiguous must be.
     */
    public BackendChecks(Backend owner, Residency residency, boolean acceptsF64, boolean requiresContiguous) {
        this.owner = owner;
        this.residency = residency;
        this.acceptsF64 = acceptsF64;
        this.requiresContiguous = requiresContiguous;
    }

    // ==== derived dims ====

    /** A tensor viewed as rows x cols over its last dim (softmax, norms, losses). */
    public record Rows(int rows, int cols) {}

    /** c [batches, m, n] = op(a) [batches, m, k] op(b) [batches or shared, k, n]. */
    public record Gemm(int batches, int m, int n, int k) {}

    /** x [batches, tokens, heads, dim]. */
    public record Rope(int batches, int tokens, int heads, int dim) {}

    /** ids: n tokens; table [vocab, cols]. */
    public record Embedding(int tokens, int vocab, int cols) {}

    /** q [batches, tokens, heads, dim]; k, v [batches, keys, kvHeads, dim]. */
    public record Attention(int batches, int tokens, int keys, int heads, int kvHeads, int dim) {}

    /** student [rows, vocab]; ids, probs [rows, topK]. */
    public record SparseDistill(int rows, int vocab, int topK) {}

    /** x [batches, tokens, channels]; w [channels, width] (tokens = 1 for a decoding step). */
    public record Conv(int batches, int tokens, int channels, int width) {}

    /** u [batches, tokens, inner]; aLog [inner, state] (tokens = 1 for a decoding step). */
    public record Scan(int batches, int tokens, int inner, int state) {}

    // ==== memory ====

    public static void allocate(DType dtype, long count) {
        if (dtype == null) throw new ShapeException("allocate: dtype is null");
        if (count < 0) throw new ShapeException("allocate: negative element count " + count);
    }

    public void copyIn(Tensor dst, long srcBytes) { transfer("copyIn", "dst", dst, "source", srcBytes); }

    public void copyOut(Tensor src, long dstBytes) { transfer("copyOut", "src", src, "destination", dstBytes); }

    /** A contiguous tensor here and a host buffer that holds all of its bytes. */
    private void transfer(String op, String name, Tensor t, String hostSide, long hostBytes) {
        resident(op, name, t);
        contiguous(op, name, t);
        long bytes = t.numel() * t.dtype().byteSize();
        if (hostBytes < bytes)
            throw ShapeException.of(op, hostSide + " holds " + hostBytes + " bytes, " + bytes + " needed", name, t);
    }

    public void copy(Tensor src, Tensor dst) {
        resident("copy", "src", src);
        resident("copy", "dst", dst);
        sameShape("copy", "src", src, "dst", dst);
        if (src.dtype().isFloating() != dst.dtype().isFloating())
            throw ShapeException.of("copy", "cannot convert between floating and integer dtypes", "src", src, "dst", dst);
    }

    public void fill(Tensor dst) {
        resident("fill", "dst", dst);
        if (requiresContiguous) contiguous("fill", "dst", dst);
    }

    // ==== elementwise family ====

    /** add and mul: b has a's shape or a's trailing dims; out has a's shape. Returns b's numel (the broadcast period). */
    public long broadcast(String op, Tensor a, Tensor b, Tensor out) {
        floats(op, "a", a);
        floats(op, "b", b);
        int ar = a.rank(), br = b.rank();
        boolean trailing = br <= ar;
        for (int i = 1; trailing && i <= br; i++) trailing = b.dim(br - i) == a.dim(ar - i);
        if (!trailing) throw ShapeException.of(op, "b must have a's shape or a's trailing dims", "a", a, "b", b);
        like(op, "a", a, "out", out);
        return b.numel();
    }

    public void addScaled(Tensor acc, Tensor x) {
        floats("addScaled", "acc", acc);
        sized("addScaled", "x", x, acc.numel());
    }

    public void scale(Tensor x, Tensor out) {
        floats("scale", "x", x);
        sized("scale", "out", out, x.numel());
    }

    /** dOut viewed as [rows, dB.numel()]. */
    public Rows sumRowsBackward(Tensor dOut, Tensor dB) {
        floats("sumRowsBackward", "dOut", dOut);
        floats("sumRowsBackward", "dB", dB);
        long cols = dB.numel();
        if (cols == 0 || dOut.numel() % cols != 0)
            throw ShapeException.of("sumRowsBackward", "dOut must be a whole number of rows of dB's " + cols + " elements",
                    "dOut", dOut, "dB", dB);
        return new Rows(count("sumRowsBackward", "rows of dOut", dOut.numel() / cols, dOut), (int) cols);
    }

    /** silu, gelu, softplus forward: out has x's shape. */
    public void unary(String op, Tensor x, Tensor out) {
        floats(op, "x", x);
        like(op, "x", x, "out", out);
    }

    /** softplus runs two passes through its output, so out may not overlap x. */
    public void softplusForward(Tensor x, Tensor out) {
        unary("softplusForward", x, out);
        if (overlaps(out, x)) throw ShapeException.of("softplusForward", "out may not alias x", "x", x, "out", out);
    }

    /** silu, gelu, softplus backward: dOut and dX have x's shape. */
    public void unaryBackward(String op, Tensor dOut, Tensor x, Tensor dX) {
        floats(op, "x", x);
        like(op, "x", x, "dOut", dOut);
        like(op, "x", x, "dX", dX);
    }

    public void swigluForward(Tensor gate, Tensor up, Tensor out) {
        String op = "swigluForward";
        floats(op, "gate", gate);
        like(op, "gate", gate, "up", up);
        like(op, "gate", gate, "out", out);
    }

    public void swigluBackward(Tensor dOut, Tensor gate, Tensor up, Tensor dGate, Tensor dUp) {
        String op = "swigluBackward";
        floats(op, "gate", gate);
        like(op, "gate", gate, "dOut", dOut);
        like(op, "gate", gate, "up", up);
        like(op, "gate", gate, "dGate", dGate);
        like(op, "gate", gate, "dUp", dUp);
    }

    // ==== reduce family ====

    /** sum, sumOfSquares, allFinite. */
    public void reduce(String op, Tensor x) { floats(op, "x", x); }

    /** softmax and log-softmax forward: x, out [R, C]. */
    public Rows rowsForward(String op, Tensor x, Tensor out) {
        floats(op, "x", x);
        like(op, "x", x, "out", out);
        return rows(op, "x", x);
    }

    /** softmax and log-softmax backward: dOut, out, dX [R, C]. */
    public Rows rowsBackward(String op, Tensor dOut, Tensor out, Tensor dX) {
        floats(op, "out", out);
        like(op, "out", out, "dOut", dOut);
        like(op, "out", out, "dX", dX);
        return rows(op, "out", out);
    }

    // ==== norm family ====

    public Rows rmsNormForward(Tensor x, Tensor w, Tensor out, Tensor invRms) {
        String op = "rmsNormForward";
        int rows = normInput(op, x, w);
        like(op, "x", x, "out", out);
        perRow(op, "invRms", invRms, rows);
        return new Rows(rows, lastDim(x));
    }

    public Rows rmsNormBackward(Tensor dOut, Tensor x, Tensor w, Tensor invRms, Tensor dX, Tensor dW) {
        String op = "rmsNormBackward";
        int rows = normInput(op, x, w);
        like(op, "x", x, "dOut", dOut);
        like(op, "x", x, "dX", dX);
        perRow(op, "invRms", invRms, rows);
        sized(op, "dW", dW, lastDim(x));
        return new Rows(rows, lastDim(x));
    }

    public Rows layerNormForward(Tensor x, Tensor w, Tensor b, Tensor out, Tensor mean, Tensor invStd) {
        String op = "layerNormForward";
        int rows = normInput(op, x, w);
        if (b != null) {
            weights(op, "b", b);
            numel(op, "b", b, lastDim(x));
        }
        like(op, "x", x, "out", out);
        perRow(op, "mean", mean, rows);
        perRow(op, "invStd", invStd, rows);
        return new Rows(rows, lastDim(x));
    }

    public Rows layerNormBackward(Tensor dOut, Tensor x, Tensor w, Tensor mean, Tensor invStd, Tensor dX, Tensor dW,
                                  Tensor dB) {
        String op = "layerNormBackward";
        int rows = normInput(op, x, w);
        like(op, "x", x, "dOut", dOut);
        like(op, "x", x, "dX", dX);
        perRow(op, "mean", mean, rows);
        perRow(op, "invStd", invStd, rows);
        sized(op, "dW", dW, lastDim(x));
        if (dB != null) sized(op, "dB", dB, lastDim(x));
        return new Rows(rows, lastDim(x));
    }

    /** x [R, C] and a weight w [C]; returns R. */
    private int normInput(String op, Tensor x, Tensor w) {
        floats(op, "x", x);
        weights(op, "w", w);
        numel(op, "w", w, lastDim(x));
        return rowCount(op, "x", x);
    }

    // ==== gemm family ====

    /**
     * a, c F32 and b F32/BF16/F16 of rank 2 or 3: a and c the same rank, b rank 2 (shared) or a's rank; batch sizes
     * equal; op(a) [M, K], op(b) [K, N], c [M, N]; c's last dim unit-stride and c overlapping neither a nor b.
     * a and b may be strided views (a backend that cannot read them refuses with contiguous()).
     */
    public Gemm gemm(boolean transA, boolean transB, Tensor a, Tensor b, Tensor c) {
        // bf16 a: mixed-precision runs, on backends that have the kernel, and on the reference, which reads every dtype
        typed("gemm", "a", a, owner.supportsBf16Matmul() || acceptsF64, false);
        typed("gemm", "b", b, true, false);
        typed("gemm", "c", c, false, false);
        return gemmDims(transA, transB, a, b, c);
    }

    // The shape rules in one expression and their messages in a cold method keep this under the JIT's inlining limit
    // for hot methods (325 bytecodes), so the record it returns is scalar-replaced (SmallOpsBench -prof gc).
    private static Gemm gemmDims(boolean transA, boolean transB, Tensor a, Tensor b, Tensor c) {
        int ar = a.rank(), br = b.rank(), cr = c.rank();
        if (ar < 2 || ar > 3 || cr != ar || br < 2 || br > ar) throw gemmMistake(transA, transB, a, b, c);
        int batches = cr == 3 ? c.dim(0) : 1;
        int m = transA ? a.dim(-1) : a.dim(-2), k = transA ? a.dim(-2) : a.dim(-1);
        int kb = transB ? b.dim(-1) : b.dim(-2), n = transB ? b.dim(-2) : b.dim(-1);
        if (ar == 3 && a.dim(0) != batches || br == 3 && b.dim(0) != batches || k != kb || c.dim(-2) != m || c.dim(-1) != n
                || c.stride(-1) != 1 && n > 1 || overlaps(c, a) || overlaps(c, b))
            throw gemmMistake(transA, transB, a, b, c);
        return new Gemm(batches, m, n, k);
    }

    /** The first of gemm's shape rules that a, b, c break, as its message. */
    private static ShapeException gemmMistake(boolean transA, boolean transB, Tensor a, Tensor b, Tensor c) {
        String op = "gemm";
        if (a.rank() < 2 || a.rank() > 3 || c.rank() != a.rank() || b.rank() < 2 || b.rank() > a.rank())
            return ShapeException.of(op, "a and c must be [M, K] and [M, N] or batched [Bt, M, K] and [Bt, M, N], b [K, N] or"
                    + " batched like a", "a", a, "b", b, "c", c);
        int batches = c.rank() == 3 ? c.dim(0) : 1;
        if (a.rank() == 3 && a.dim(0) != batches || b.rank() == 3 && b.dim(0) != batches)
            return ShapeException.of(op, "batch sizes differ", "a", a, "b", b, "c", c);
        int m = transA ? a.dim(-1) : a.dim(-2), k = transA ? a.dim(-2) : a.dim(-1);
        int kb = transB ? b.dim(-1) : b.dim(-2), n = transB ? b.dim(-2) : b.dim(-1);
        if (k != kb)
            return ShapeException.of(op, "inner dimensions differ (op(a) is [" + m + ", " + k + "], op(b) is [" + kb + ", " + n
                    + "]; transA=" + transA + " transB=" + transB + ")", "a", a, "b", b);
        if (c.dim(-2) != m || c.dim(-1) != n)
            return ShapeException.of(op, "c must be [" + (c.rank() == 3 ? batches + ", " : "") + m + ", " + n + "]",
                    "a", a, "b", b, "c", c);
        if (c.stride(-1) != 1 && n > 1) return ShapeException.of(op, "c must have unit stride in its last dim", "c", c);
        return ShapeException.of(op, "c may not alias a or b", "a", a, "b", b, "c", c);
    }

    // ==== rope family ====

    /** ropeForward (x, out) and ropeBackward (dOut, dX): [B, T, H, D] with D even; invFreq [D/2]. */
    public Rope rope(String op, String xName, Tensor x, Tensor invFreq, String outName, Tensor out) {
        floats(op, xName, x);
        rank(op, xName, x, 4, "[B, T, H, D]");
        like(op, xName, x, outName, out);
        int d = x.dim(3);
        if (d % 2 != 0) throw ShapeException.of(op, "head dim D must be even", xName, x);
        sized(op, "invFreq", invFreq, d / 2);
        return new Rope(x.dim(0), x.dim(1), x.dim(2), d);
    }

    // ==== embedding family ====

    public Embedding embeddingForward(Tensor ids, Tensor table, Tensor out) {
        weights("embeddingForward", "table", table);
        return embedding("embeddingForward", ids, "table", table, "out", out);
    }

    public Embedding embeddingBackward(Tensor dOut, Tensor ids, Tensor dTable) {
        floats("embeddingBackward", "dTable", dTable);
        return embedding("embeddingBackward", ids, "dTable", dTable, "dOut", dOut);
    }

    /** ids I32 (any shape, N elements), a table [V, C] whose dtype the caller checked, and rows [N, C] F32. */
    private Embedding embedding(String op, Tensor ids, String tableName, Tensor table, String rowsName, Tensor rows) {
        ints(op, "ids", ids);
        rank(op, tableName, table, 2, "[V, C]");
        int n = count(op, "ids", ids.numel(), ids);
        sized(op, rowsName, rows, (long) n * table.dim(1));
        return new Embedding(n, table.dim(0), table.dim(1));
    }

    /** The value check of an id a host backend reads: ids[position] must lie in [0, vocab). */
    public static IllegalArgumentException idOutsideTable(String op, long position, int id, int vocab) {
        return new IllegalArgumentException(op + ": ids[" + position + "] = " + id + " is outside the table [0, " + vocab + ")");
    }

    // ==== attention family ====

    public Attention attentionForward(Tensor q, Tensor k, Tensor v, int queryOffset, Tensor keyMask, Tensor out, Tensor lse) {
        String op = "attentionForward";
        attentionInputs(op, q, k, v, queryOffset, keyMask);
        like(op, "q", q, "out", out);
        lse(op, lse, q);
        return attention(q, k);
    }

    public Attention attentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, int queryOffset,
                                       Tensor keyMask, Tensor dQ, Tensor dK, Tensor dV) {
        String op = "attentionBackward";
        attentionInputs(op, q, k, v, queryOffset, keyMask);
        like(op, "q", q, "dOut", dOut);
        like(op, "q", q, "out", out);
        like(op, "q", q, "dQ", dQ);
        like(op, "k", k, "dK", dK);
        like(op, "v", v, "dV", dV);
        lse(op, lse, q);
        return attention(q, k);
    }

    private static Attention attention(Tensor q, Tensor k) {
        return new Attention(q.dim(0), q.dim(1), k.dim(1), q.dim(2), k.dim(2), q.dim(3));
    }

    private void attentionInputs(String op, Tensor q, Tensor k, Tensor v, int queryOffset, Tensor keyMask) {
        floats(op, "q", q);
        typed(op, "k", k, false, false);
        typed(op, "v", v, false, false);
        rank(op, "q", q, 4, "[B, T, H, D]");
        rank(op, "k", k, 4, "[B, S, Hkv, D]");
        sameShape(op, "k", k, "v", v);
        int b = q.dim(0), h = q.dim(2), hd = q.dim(3), s = k.dim(1), hkv = k.dim(2);
        if (k.dim(0) != b || k.dim(3) != hd)
            throw ShapeException.of(op, "k must be [B, S, Hkv, D] with q's B and D", "q", q, "k", k);
        if (hkv == 0 || h % hkv != 0) throw ShapeException.of(op, "H must be a multiple of Hkv", "q", q, "k", k);
        if (queryOffset < 0) throw ShapeException.of(op, "queryOffset must be >= 0, got " + queryOffset, "q", q);
        if (requiresContiguous) {
            kvBlocks(op, "k", k);
            kvBlocks(op, "v", v);
        }
        if (keyMask != null) {
            ints(op, "keyMask", keyMask);
            shape(op, "keyMask", keyMask, "[B, S]", b, s);
        }
    }

    /** k and v may have any batch stride as long as each [S, Hkv, D] block is contiguous (a KV-cache view). */
    private static void kvBlocks(String op, String name, Tensor x) {
        int s = x.dim(1), hkv = x.dim(2), d = x.dim(3);
        if (x.stride(3) != 1 && d > 1 || x.stride(2) != d && hkv > 1 || x.stride(1) != (long) hkv * d && s > 1)
            throw ShapeException.of(op, "each [S, Hkv, D] block of " + name + " must be contiguous", name, x);
    }

    private void lse(String op, Tensor lse, Tensor q) {
        shaped(op, "lse", lse, "[B, H, T]", q.dim(0), q.dim(2), q.dim(1));
    }

    // ==== cross-entropy family ====

    public Rows crossEntropyForward(Tensor logits, Tensor targets, Tensor losses, Tensor lse) {
        String op = "crossEntropyForward";
        int rows = logitsAndTargets(op, logits, targets);
        perRow(op, "losses", losses, rows);
        perRow(op, "lse", lse, rows);
        return new Rows(rows, lastDim(logits));
    }

    public Rows crossEntropyBackward(Tensor dLosses, Tensor logits, Tensor targets, Tensor lse, Tensor dLogits) {
        String op = "crossEntropyBackward";
        int rows = logitsAndTargets(op, logits, targets);
        perRow(op, "dLosses", dLosses, rows);
        perRow(op, "lse", lse, rows);
        like(op, "logits", logits, "dLogits", dLogits);
        return new Rows(rows, lastDim(logits));
    }

    /** logits [N, V] and targets [N]; returns N. */
    private int logitsAndTargets(String op, Tensor logits, Tensor targets) {
        floats(op, "logits", logits);
        ints(op, "targets", targets);
        int rows = rowCount(op, "logits", logits);
        numel(op, "targets", targets, rows);
        return rows;
    }

    /** The value check of a target a host backend reads: in [0, vocab) or ignoreIndex. */
    public static IllegalArgumentException targetOutsideVocabulary(String op, long row, int target, int vocab, int ignoreIndex) {
        return new IllegalArgumentException(op + ": targets[" + row + "] = " + target + " is outside [0, " + vocab
                + ") and is not ignoreIndex " + ignoreIndex);
    }

    // ==== distill family ====

    public Rows distillForward(float tau, Tensor student, Tensor teacher, Tensor perToken) {
        String op = "distillForward";
        int rows = studentAndTeacher(op, tau, student, teacher);
        perRow(op, "perToken", perToken, rows);
        return new Rows(rows, lastDim(student));
    }

    public Rows distillBackward(float tau, Tensor dPerToken, Tensor student, Tensor teacher, Tensor dStudent) {
        String op = "distillBackward";
        int rows = studentAndTeacher(op, tau, student, teacher);
        perRow(op, "dPerToken", dPerToken, rows);
        like(op, "student", student, "dStudent", dStudent);
        return new Rows(rows, lastDim(student));
    }

    /** student, teacher [N, V]; returns N. */
    private int studentAndTeacher(String op, float tau, Tensor student, Tensor teacher) {
        floats(op, "student", student);
        like(op, "student", student, "teacher", teacher);
        temperature(op, tau);
        return rowCount(op, "student", student);
    }

    public SparseDistill sparseDistillForward(float tau, Tensor student, Tensor ids, Tensor probs, Tensor perToken, Tensor lse) {
        String op = "sparseDistillForward";
        int rows = sparseInputs(op, tau, student, ids, probs);
        perRow(op, "perToken", perToken, rows);
        perRow(op, "lse", lse, rows);
        return new SparseDistill(rows, lastDim(student), ids.dim(1));
    }

    public SparseDistill sparseDistillBackward(float tau, Tensor dPerToken, Tensor student, Tensor ids, Tensor probs,
                                               Tensor lse, Tensor dStudent) {
        String op = "sparseDistillBackward";
        int rows = sparseInputs(op, tau, student, ids, probs);
        perRow(op, "dPerToken", dPerToken, rows);
        perRow(op, "lse", lse, rows);
        like(op, "student", student, "dStudent", dStudent);
        return new SparseDistill(rows, lastDim(student), ids.dim(1));
    }

    /** student [N, V], ids and probs [N, K]; returns N. */
    private int sparseInputs(String op, float tau, Tensor student, Tensor ids, Tensor probs) {
        floats(op, "student", student);
        ints(op, "ids", ids);
        temperature(op, tau);
        int rows = rowCount(op, "student", student);
        if (ids.rank() != 2 || ids.dim(0) != rows)
            throw ShapeException.of(op, "ids must be [N, K] with N = " + rows + " student rows", "student", student, "ids", ids);
        like(op, "ids", ids, "probs", probs);
        return rows;
    }

    private static void temperature(String op, float tau) {
        if (!(tau > 0) || Float.isInfinite(tau))
            throw new ShapeException(op + ": temperature tau must be a positive number, got " + tau);
    }

    /** The value check of a cached teacher id: below vocab (negative ids mean "skip"). */
    public static IllegalArgumentException sparseIdOutsideVocabulary(String op, long row, int slot, int id, int vocab) {
        return new IllegalArgumentException(op + ": ids[" + row + ", " + slot + "] = " + id + " is outside the vocabulary [0, "
                + vocab + ") (negative ids mean 'skip')");
    }

    // ==== conv/scan family ====

    public Conv causalConv1dForward(Tensor x, Tensor w, Tensor bias, Tensor out) {
        String op = "causalConv1dForward";
        convInputs(op, x, w, bias, "bias");
        like(op, "x", x, "out", out);
        return new Conv(x.dim(0), x.dim(1), x.dim(2), w.dim(1));
    }

    public Conv causalConv1dBackward(Tensor dOut, Tensor x, Tensor w, Tensor dX, Tensor dW, Tensor dBias) {
        String op = "causalConv1dBackward";
        convInputs(op, x, w, dBias, "dBias");
        like(op, "x", x, "dOut", dOut);
        like(op, "x", x, "dX", dX);
        like(op, "w", w, "dW", dW);
        return new Conv(x.dim(0), x.dim(1), x.dim(2), w.dim(1));
    }

    /** x [B, T, C], w [C, K], and a per-channel bias (or its gradient) [C] or null. */
    private void convInputs(String op, Tensor x, Tensor w, Tensor bias, String biasName) {
        floats(op, "x", x);
        floats(op, "w", w);
        rank(op, "x", x, 3, "[B, T, C]");
        rank(op, "w", w, 2, "[C, K]");
        int c = x.dim(2);
        if (w.dim(0) != c) throw ShapeException.of(op, "w must be [C, K] with x's C", "x", x, "w", w);
        if (bias != null) sized(op, biasName, bias, c);
    }

    public Conv causalConv1dStep(Tensor x, Tensor w, Tensor bias, Tensor convState, Tensor out) {
        String op = "causalConv1dStep";
        floats(op, "x", x);
        floats(op, "w", w);
        rank(op, "x", x, 2, "[B, C]");
        rank(op, "w", w, 2, "[C, K]");
        int b = x.dim(0), c = x.dim(1), k = w.dim(1);
        if (w.dim(0) != c) throw ShapeException.of(op, "w must be [C, K] with x's C", "x", x, "w", w);
        if (k < 1) throw ShapeException.of(op, "w must have a kernel width K >= 1", "w", w);
        shaped(op, "convState", convState, "[B, C, K-1]", b, c, k - 1);
        like(op, "x", x, "out", out);
        if (bias != null) sized(op, "bias", bias, c);
        return new Conv(b, 1, c, k);
    }

    public Scan selectiveScanForward(Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat, Tensor d, Tensor y) {
        String op = "selectiveScanForward";
        scanInputs(op, u, delta, aLog, bMat, cMat, d);
        like(op, "u", u, "y", y);
        return new Scan(u.dim(0), u.dim(1), u.dim(2), aLog.dim(1));
    }

    public Scan selectiveScanBackward(Tensor dY, Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat, Tensor d,
                                      Tensor dU, Tensor dDelta, Tensor dALog, Tensor dB, Tensor dC, Tensor dD) {
        String op = "selectiveScanBackward";
        scanInputs(op, u, delta, aLog, bMat, cMat, d);
        like(op, "u", u, "dY", dY);
        like(op, "u", u, "dU", dU);
        like(op, "u", u, "dDelta", dDelta);
        like(op, "aLog", aLog, "dALog", dALog);
        like(op, "bMat", bMat, "dB", dB);
        like(op, "cMat", cMat, "dC", dC);
        sized(op, "dD", dD, u.dim(2));
        return new Scan(u.dim(0), u.dim(1), u.dim(2), aLog.dim(1));
    }

    private void scanInputs(String op, Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat, Tensor d) {
        floats(op, "u", u);
        rank(op, "u", u, 3, "[B, T, I]");
        floats(op, "aLog", aLog);
        rank(op, "aLog", aLog, 2, "[I, N]");
        int b = u.dim(0), t = u.dim(1), i = u.dim(2), n = aLog.dim(1);
        like(op, "u", u, "delta", delta);
        shape(op, "aLog", aLog, "[I, N]", i, n);
        shaped(op, "bMat", bMat, "[B, T, N]", b, t, n);
        shaped(op, "cMat", cMat, "[B, T, N]", b, t, n);
        sized(op, "d", d, i);
    }

    public Scan selectiveScanStep(Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat, Tensor d, Tensor state,
                                  Tensor y) {
        String op = "selectiveScanStep";
        floats(op, "u", u);
        rank(op, "u", u, 2, "[B, I]");
        floats(op, "aLog", aLog);
        rank(op, "aLog", aLog, 2, "[I, N]");
        int b = u.dim(0), i = u.dim(1), n = aLog.dim(1);
        like(op, "u", u, "delta", delta);
        like(op, "u", u, "y", y);
        shape(op, "aLog", aLog, "[I, N]", i, n);
        shaped(op, "bMat", bMat, "[B, N]", b, n);
        shaped(op, "cMat", cMat, "[B, N]", b, n);
        shaped(op, "state", state, "[B, I, N]", b, i, n);
        sized(op, "d", d, i);
        return new Scan(b, 1, i, n);
    }

    // ==== optim family ====

    public void adamwStep(Tensor param, Tensor grad, Tensor m, Tensor v, int step) {
        String op = "adamwStep";
        floats(op, "param", param);
        sized(op, "grad", grad, param.numel());
        sized(op, "m", m, param.numel());
        sized(op, "v", v, param.numel());
        if (step < 1) throw new ShapeException(op + ": step counts from 1, got " + step);
    }

    /** adamwSteps: parallel lists (params, grads, m, v, weightDecay), each entry as adamwStep's operands. */
    public void adamwSteps(java.util.List<Tensor> params, java.util.List<Tensor> grads, java.util.List<Tensor> m,
                           java.util.List<Tensor> v, float[] weightDecay, int step) {
        int count = params.size();
        if (grads.size() != count || m.size() != count || v.size() != count || weightDecay.length != count)
            throw new ShapeException("adamwSteps: " + count + " params, " + grads.size() + " grads, " + m.size()
                    + " m, " + v.size() + " v, " + weightDecay.length + " weight decays: the lists must be parallel");
        for (int i = 0; i < count; i++) adamwStep(params.get(i), grads.get(i), m.get(i), v.get(i), step);
    }

    public void sgdStep(Tensor param, Tensor grad, Tensor momentumBuffer) {
        String op = "sgdStep";
        floats(op, "param", param);
        sized(op, "grad", grad, param.numel());
        sized(op, "momentumBuffer", momentumBuffer, param.numel());
    }

    // ==== operand checks ====

    /** t is not null and lives where this backend computes. */
    public void resident(String op, String name, Tensor t) {
        if (t == null || !(residency == Residency.HOST ? t.storage() instanceof HostStorage : t.storage().backend() == owner))
            throw notResident(op, name, t);
    }

    private ShapeException notResident(String op, String name, Tensor t) {
        if (t == null) return new ShapeException(op + ": " + name + " is null");
        return ShapeException.of(op, name + " lives on " + t.backend().name() + ", not "
                + (residency == Residency.HOST ? "in host memory" : "on " + owner.name()) + "; copy it there first with upload("
                + name + ") on " + (residency == Residency.HOST ? "the cpu or reference backend" : owner.name()), name, t);
    }

    /** The one wording of "must be contiguous", also for a backend whose kernel cannot take a view another one can. */
    public static void contiguous(String op, String name, Tensor t) {
        if (!t.isContiguous())
            throw ShapeException.of(op, name + " must be contiguous (call contiguous() first)", name, t);
    }

    /** An F32 operand (F64 too where the policy accepts it). */
    private void floats(String op, String name, Tensor t) { typed(op, name, t, false, requiresContiguous); }

    /** A weight-like operand: F32, BF16 or F16, widened by the kernel that reads it. */
    private void weights(String op, String name, Tensor t) { typed(op, name, t, true, requiresContiguous); }

    /** An I32 operand (token ids, targets, masks). */
    private void ints(String op, String name, Tensor t) {
        resident(op, name, t);
        if (t.dtype() != DType.I32) throw ShapeException.of(op, name + " must be I32, found " + t.dtype(), name, t);
        if (requiresContiguous) contiguous(op, name, t);
    }

    private void typed(String op, String name, Tensor t, boolean halfToo, boolean contiguous) {
        resident(op, name, t);
        DType dt = t.dtype();
        if (!(dt == DType.F32 || dt == DType.F64 && acceptsF64 || halfToo && (dt == DType.BF16 || dt == DType.F16)))
            throw wrongDtype(op, name, t, halfToo);
        if (contiguous) contiguous(op, name, t);
    }

    private static ShapeException wrongDtype(String op, String name, Tensor t, boolean halfToo) {
        String hint = t.dtype() == DType.F64 ? "; F64 is computed by the reference backend only (Backends.open(\"reference\"))" : "";
        return ShapeException.of(op, name + " must be " + (halfToo ? "F32, BF16 or F16" : "F32") + ", found " + t.dtype() + hint,
                name, t);
    }

    // ==== shape checks ====

    /** An F32 operand (as floats) with ref's shape. */
    private void like(String op, String refName, Tensor ref, String name, Tensor t) {
        floats(op, name, t);
        sameShape(op, refName, ref, name, t);
    }

    /** An F32 operand (as floats) of n elements. */
    private void sized(String op, String name, Tensor t, long n) {
        floats(op, name, t);
        numel(op, name, t, n);
    }

    private static void sameShape(String op, String an, Tensor a, String bn, Tensor b) {
        if (!a.sameShape(b)) throw ShapeException.of(op, an + " and " + bn + " shapes differ", an, a, bn, b);
    }

    private static void numel(String op, String name, Tensor t, long expected) {
        if (t.numel() != expected)
            throw ShapeException.of(op, name + " must have " + expected + " elements, has " + t.numel(), name, t);
    }

    private static void rank(String op, String name, Tensor t, int rank, String layout) {
        if (t.rank() != rank) throw ShapeException.of(op, name + " must have rank " + rank + " " + layout, name, t);
    }

    /** An F32 operand (as floats) of exactly the given shape. */
    private void shaped(String op, String name, Tensor t, String layout, int d0, int d1) {
        floats(op, name, t);
        shape(op, name, t, layout, d0, d1);
    }

    private void shaped(String op, String name, Tensor t, String layout, int d0, int d1, int d2) {
        floats(op, name, t);
        shape(op, name, t, layout, d0, d1, d2);
    }

    private static void shape(String op, String name, Tensor t, String layout, int d0, int d1) {
        if (t.rank() != 2 || t.dim(0) != d0 || t.dim(1) != d1) wrongShape(op, name, t, layout, "[" + d0 + ", " + d1 + "]");
    }

    private static void shape(String op, String name, Tensor t, String layout, int d0, int d1, int d2) {
        if (t.rank() != 3 || t.dim(0) != d0 || t.dim(1) != d1 || t.dim(2) != d2)
            wrongShape(op, name, t, layout, "[" + d0 + ", " + d1 + ", " + d2 + "]");
    }

    private static void wrongShape(String op, String name, Tensor t, String layout, String expected) {
        throw ShapeException.of(op, name + " must be " + layout + " = " + expected, name, t);
    }

    /** One value for each of rows rows. */
    private void perRow(String op, String name, Tensor t, int rows) {
        floats(op, name, t);
        if (t.numel() != rows)
            throw ShapeException.of(op, name + " must have one value per row (" + rows + "), has " + t.numel(), name, t);
    }

    /** t viewed as [rows, lastDim] (a scalar is one row of one). */
    private static Rows rows(String op, String name, Tensor t) { return new Rows(rowCount(op, name, t), lastDim(t)); }

    private static int rowCount(String op, String name, Tensor t) {
        int cols = lastDim(t);
        long rows = t.rank() == 0 ? 1 : cols == 0 ? 0 : t.numel() / cols;
        if (rows > Integer.MAX_VALUE) count(op, "rows of " + name, rows, t);   // throws; the message is built only then
        return (int) rows;
    }

    private static int lastDim(Tensor t) { return t.rank() == 0 ? 1 : t.dim(-1); }

    private static int count(String op, String what, long n, Tensor t) {
        if (n > Integer.MAX_VALUE) throw ShapeException.of(op, n + " " + what + " exceed the 2^31-1 per-call limit", "tensor", t);
        return (int) n;
    }

    /** Whether two tensors over the same storage touch a common byte range. */
    public static boolean overlaps(Tensor x, Tensor y) {
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
}
