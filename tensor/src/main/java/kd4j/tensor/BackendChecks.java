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

    public void copyIn(Tensor dst, long srcBytes) {
        resident("copyIn", "dst", dst);
        contiguous("copyIn", "dst", dst);
        long bytes = dst.numel() * dst.dtype().byteSize();
        if (srcBytes < bytes)
            throw ShapeException.of("copyIn", "source holds " + srcBytes + " bytes, " + bytes + " needed", "dst", dst);
    }

    public void copyOut(Tensor src, long dstBytes) {
        resident("copyOut", "src", src);
        contiguous("copyOut", "src", src);
        long bytes = src.numel() * src.dtype().byteSize();
        if (dstBytes < bytes)
            throw ShapeException.of("copyOut", "destination holds " + dstBytes + " bytes, " + bytes + " needed", "src", src);
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
        floats(op, "out", out);
        int ar = a.rank(), br = b.rank();
        boolean trailing = br <= ar;
        for (int i = 1; trailing && i <= br; i++) trailing = b.dim(br - i) == a.dim(ar - i);
        if (!trailing) throw ShapeException.of(op, "b must have a's shape or a's trailing dims", "a", a, "b", b);
        sameShape(op, "a", a, "out", out);
        return b.numel();
    }

    public void addScaled(Tensor acc, Tensor x) {
        floats("addScaled", "acc", acc);
        floats("addScaled", "x", x);
        numel("addScaled", "x", x, acc.numel());
    }

    public void scale(Tensor x, Tensor out) {
        floats("scale", "x", x);
        floats("scale", "out", out);
        numel("scale", "out", out, x.numel());
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
        floats(op, "out", out);
        sameShape(op, "x", x, "out", out);
    }

    /** softplus runs two passes through its output, so out may not overlap x. */
    public void softplusForward(Tensor x, Tensor out) {
        unary("softplusForward", x, out);
        if (overlaps(out, x)) throw ShapeException.of("softplusForward", "out may not alias x", "x", x, "out", out);
    }

    /** silu, gelu, softplus backward: dOut and dX have x's shape. */
    public void unaryBackward(String op, Tensor dOut, Tensor x, Tensor dX) {
        floats(op, "dOut", dOut);
        floats(op, "x", x);
        floats(op, "dX", dX);
        sameShape(op, "x", x, "dOut", dOut);
        sameShape(op, "x", x, "dX", dX);
    }

    public void swigluForward(Tensor gate, Tensor up, Tensor out) {
        String op = "swigluForward";
        floats(op, "gate", gate);
        floats(op, "up", up);
        floats(op, "out", out);
        sameShape(op, "gate", gate, "up", up);
        sameShape(op, "gate", gate, "out", out);
    }

    public void swigluBackward(Tensor dOut, Tensor gate, Tensor up, Tensor dGate, Tensor dUp) {
        String op = "swigluBackward";
        floats(op, "dOut", dOut);
        floats(op, "gate", gate);
        floats(op, "up", up);
        floats(op, "dGate", dGate);
        floats(op, "dUp", dUp);
        sameShape(op, "gate", gate, "dOut", dOut);
        sameShape(op, "gate", gate, "up", up);
        sameShape(op, "gate", gate, "dGate", dGate);
        sameShape(op, "gate", gate, "dUp", dUp);
    }

    // ==== reduce family ====

    /** sum, sumOfSquares, allFinite. */
    public void reduce(String op, Tensor x) { floats(op, "x", x); }

    /** softmax and log-softmax forward: x, out [R, C]. */
    public Rows rowsForward(String op, Tensor x, Tensor out) {
        floats(op, "x", x);
        floats(op, "out", out);
        sameShape(op, "x", x, "out", out);
        return rows(op, "x", x);
    }

    /** softmax and log-softmax backward: dOut, out, dX [R, C]. */
    public Rows rowsBackward(String op, Tensor dOut, Tensor out, Tensor dX) {
        floats(op, "dOut", dOut);
        floats(op, "out", out);
        floats(op, "dX", dX);
        sameShape(op, "out", out, "dOut", dOut);
        sameShape(op, "out", out, "dX", dX);
        return rows(op, "out", out);
    }

    // ==== norm family ====

    public Rows rmsNormForward(Tensor x, Tensor w, Tensor out, Tensor invRms) {
        String op = "rmsNormForward";
        Rows r = normInput(op, x, w);
        floats(op, "out", out);
        sameShape(op, "x", x, "out", out);
        perRow(op, "invRms", invRms, r);
        return r;
    }

    public Rows rmsNormBackward(Tensor dOut, Tensor x, Tensor w, Tensor invRms, Tensor dX, Tensor dW) {
        String op = "rmsNormBackward";
        Rows r = normInput(op, x, w);
        floats(op, "dOut", dOut);
        floats(op, "dX", dX);
        sameShape(op, "x", x, "dOut", dOut);
        sameShape(op, "x", x, "dX", dX);
        perRow(op, "invRms", invRms, r);
        floats(op, "dW", dW);
        numel(op, "dW", dW, r.cols);
        return r;
    }

    public Rows layerNormForward(Tensor x, Tensor w, Tensor b, Tensor out, Tensor mean, Tensor invStd) {
        String op = "layerNormForward";
        Rows r = normInput(op, x, w);
        if (b != null) {
            weights(op, "b", b);
            numel(op, "b", b, r.cols);
        }
        floats(op, "out", out);
        sameShape(op, "x", x, "out", out);
        perRow(op, "mean", mean, r);
        perRow(op, "invStd", invStd, r);
        return r;
    }

    public Rows layerNormBackward(Tensor dOut, Tensor x, Tensor w, Tensor mean, Tensor invStd, Tensor dX, Tensor dW,
                                  Tensor dB) {
        String op = "layerNormBackward";
        Rows r = normInput(op, x, w);
        floats(op, "dOut", dOut);
        floats(op, "dX", dX);
        sameShape(op, "x", x, "dOut", dOut);
        sameShape(op, "x", x, "dX", dX);
        perRow(op, "mean", mean, r);
        perRow(op, "invStd", invStd, r);
        floats(op, "dW", dW);
        numel(op, "dW", dW, r.cols);
        if (dB != null) {
            floats(op, "dB", dB);
            numel(op, "dB", dB, r.cols);
        }
        return r;
    }

    /** x [R, C] and a weight w [C]. */
    private Rows normInput(String op, Tensor x, Tensor w) {
        floats(op, "x", x);
        weights(op, "w", w);
        Rows r = rows(op, "x", x);
        numel(op, "w", w, r.cols);
        return r;
    }

    // ==== gemm family ====

    /**
     * a, c F32 and b F32/BF16/F16 of rank 2 or 3: a and c the same rank, b rank 2 (shared) or a's rank; batch sizes
     * equal; op(a) [M, K], op(b) [K, N], c [M, N]; c's last dim unit-stride and c overlapping neither a nor b.
     * a and b may be strided views (a backend that cannot read them refuses with contiguous()).
     */
    public Gemm gemm(boolean transA, boolean transB, Tensor a, Tensor b, Tensor c) {
        String op = "gemm";
        typed(op, "a", a, false, false);
        typed(op, "b", b, true, false);
        typed(op, "c", c, false, false);
        if (a.rank() < 2 || a.rank() > 3 || c.rank() != a.rank() || b.rank() < 2 || b.rank() > a.rank())
            throw ShapeException.of(op, "a and c must be [M, K] and [M, N] or batched [Bt, M, K] and [Bt, M, N], b [K, N] or"
                    + " batched like a", "a", a, "b", b, "c", c);
        int batches = c.rank() == 3 ? c.dim(0) : 1;
        if (a.rank() == 3 && a.dim(0) != batches || b.rank() == 3 && b.dim(0) != batches)
            throw ShapeException.of(op, "batch sizes differ", "a", a, "b", b, "c", c);
        int m = transA ? a.dim(-1) : a.dim(-2), k = transA ? a.dim(-2) : a.dim(-1);
        int kb = transB ? b.dim(-1) : b.dim(-2), n = transB ? b.dim(-2) : b.dim(-1);
        if (k != kb)
            throw ShapeException.of(op, "inner dimensions differ (op(a) is [" + m + ", " + k + "], op(b) is [" + kb + ", " + n
                    + "]; transA=" + transA + " transB=" + transB + ")", "a", a, "b", b);
        if (c.dim(-2) != m || c.dim(-1) != n)
            throw ShapeException.of(op, "c must be [" + (c.rank() == 3 ? batches + ", " : "") + m + ", " + n + "]",
                    "a", a, "b", b, "c", c);
        if (c.stride(-1) != 1 && n > 1) throw ShapeException.of(op, "c must have unit stride in its last dim", "c", c);
        if (overlaps(c, a) || overlaps(c, b)) throw ShapeException.of(op, "c may not alias a or b", "a", a, "b", b, "c", c);
        return new Gemm(batches, m, n, k);
    }

    // ==== rope family ====

    /** ropeForward (x, out) and ropeBackward (dOut, dX): [B, T, H, D] with D even; invFreq [D/2]. */
    public Rope rope(String op, String xName, Tensor x, Tensor invFreq, String outName, Tensor out) {
        floats(op, xName, x);
        floats(op, "invFreq", invFreq);
        floats(op, outName, out);
        rank(op, xName, x, 4, "[B, T, H, D]");
        sameShape(op, xName, x, outName, out);
        int d = x.dim(3);
        if (d % 2 != 0) throw ShapeException.of(op, "head dim D must be even", xName, x);
        numel(op, "invFreq", invFreq, d / 2);
        return new Rope(x.dim(0), x.dim(1), x.dim(2), d);
    }

    // ==== embedding family ====

    public Embedding embeddingForward(Tensor ids, Tensor table, Tensor out) {
        String op = "embeddingForward";
        ints(op, "ids", ids);
        weights(op, "table", table);
        floats(op, "out", out);
        rank(op, "table", table, 2, "[V, C]");
        int n = count(op, "ids", ids.numel(), ids);
        numel(op, "out", out, (long) n * table.dim(1));
        return new Embedding(n, table.dim(0), table.dim(1));
    }

    public Embedding embeddingBackward(Tensor dOut, Tensor ids, Tensor dTable) {
        String op = "embeddingBackward";
        floats(op, "dOut", dOut);
        ints(op, "ids", ids);
        floats(op, "dTable", dTable);
        rank(op, "dTable", dTable, 2, "[V, C]");
        int n = count(op, "ids", ids.numel(), ids);
        numel(op, "dOut", dOut, (long) n * dTable.dim(1));
        return new Embedding(n, dTable.dim(0), dTable.dim(1));
    }

    /** The value check of an id a host backend reads: ids[position] must lie in [0, vocab). */
    public static IllegalArgumentException idOutsideTable(String op, long position, int id, int vocab) {
        return new IllegalArgumentException(op + ": ids[" + position + "] = " + id + " is outside the table [0, " + vocab + ")");
    }

    // ==== attention family ====

    public Attention attentionForward(Tensor q, Tensor k, Tensor v, int queryOffset, Tensor keyMask, Tensor out, Tensor lse) {
        String op = "attentionForward";
        Attention d = attentionInputs(op, q, k, v, queryOffset, keyMask);
        floats(op, "out", out);
        sameShape(op, "q", q, "out", out);
        lse(op, lse, d);
        return d;
    }

    public Attention attentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, int queryOffset,
                                       Tensor keyMask, Tensor dQ, Tensor dK, Tensor dV) {
        String op = "attentionBackward";
        Attention d = attentionInputs(op, q, k, v, queryOffset, keyMask);
        floats(op, "dOut", dOut);
        floats(op, "out", out);
        floats(op, "dQ", dQ);
        floats(op, "dK", dK);
        floats(op, "dV", dV);
        sameShape(op, "q", q, "dOut", dOut);
        sameShape(op, "q", q, "out", out);
        sameShape(op, "q", q, "dQ", dQ);
        sameShape(op, "k", k, "dK", dK);
        sameShape(op, "v", v, "dV", dV);
        lse(op, lse, d);
        return d;
    }

    private Attention attentionInputs(String op, Tensor q, Tensor k, Tensor v, int queryOffset, Tensor keyMask) {
        floats(op, "q", q);
        typed(op, "k", k, false, false);
        typed(op, "v", v, false, false);
        rank(op, "q", q, 4, "[B, T, H, D]");
        rank(op, "k", k, 4, "[B, S, Hkv, D]");
        sameShape(op, "k", k, "v", v);
        int b = q.dim(0), t = q.dim(1), h = q.dim(2), hd = q.dim(3), s = k.dim(1), hkv = k.dim(2);
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
        return new Attention(b, t, s, h, hkv, hd);
    }

    /** k and v may have any batch stride as long as each [S, Hkv, D] block is contiguous (a KV-cache view). */
    private static void kvBlocks(String op, String name, Tensor x) {
        int s = x.dim(1), hkv = x.dim(2), d = x.dim(3);
        if (x.stride(3) != 1 && d > 1 || x.stride(2) != d && hkv > 1 || x.stride(1) != (long) hkv * d && s > 1)
            throw ShapeException.of(op, "each [S, Hkv, D] block of " + name + " must be contiguous", name, x);
    }

    private void lse(String op, Tensor lse, Attention d) {
        floats(op, "lse", lse);
        shape(op, "lse", lse, "[B, H, T]", d.batches, d.heads, d.tokens);
    }

    // ==== cross-entropy family ====

    public Rows crossEntropyForward(Tensor logits, Tensor targets, Tensor losses, Tensor lse) {
        String op = "crossEntropyForward";
        Rows r = logitsAndTargets(op, logits, targets);
        perRow(op, "losses", losses, r);
        perRow(op, "lse", lse, r);
        return r;
    }

    public Rows crossEntropyBackward(Tensor dLosses, Tensor logits, Tensor targets, Tensor lse, Tensor dLogits) {
        String op = "crossEntropyBackward";
        Rows r = logitsAndTargets(op, logits, targets);
        perRow(op, "dLosses", dLosses, r);
        perRow(op, "lse", lse, r);
        floats(op, "dLogits", dLogits);
        sameShape(op, "logits", logits, "dLogits", dLogits);
        return r;
    }

    private Rows logitsAndTargets(String op, Tensor logits, Tensor targets) {
        floats(op, "logits", logits);
        ints(op, "targets", targets);
        Rows r = rows(op, "logits", logits);
        numel(op, "targets", targets, r.rows);
        return r;
    }

    /** The value check of a target a host backend reads: in [0, vocab) or ignoreIndex. */
    public static IllegalArgumentException targetOutsideVocabulary(String op, long row, int target, int vocab, int ignoreIndex) {
        return new IllegalArgumentException(op + ": targets[" + row + "] = " + target + " is outside [0, " + vocab
                + ") and is not ignoreIndex " + ignoreIndex);
    }

    // ==== distill family ====

    public Rows distillForward(float tau, Tensor student, Tensor teacher, Tensor perToken) {
        String op = "distillForward";
        Rows r = studentAndTeacher(op, tau, student, teacher);
        perRow(op, "perToken", perToken, r);
        return r;
    }

    public Rows distillBackward(float tau, Tensor dPerToken, Tensor student, Tensor teacher, Tensor dStudent) {
        String op = "distillBackward";
        Rows r = studentAndTeacher(op, tau, student, teacher);
        perRow(op, "dPerToken", dPerToken, r);
        floats(op, "dStudent", dStudent);
        sameShape(op, "student", student, "dStudent", dStudent);
        return r;
    }

    private Rows studentAndTeacher(String op, float tau, Tensor student, Tensor teacher) {
        floats(op, "student", student);
        floats(op, "teacher", teacher);
        sameShape(op, "student", student, "teacher", teacher);
        temperature(op, tau);
        return rows(op, "student", student);
    }

    public SparseDistill sparseDistillForward(float tau, Tensor student, Tensor ids, Tensor probs, Tensor perToken, Tensor lse) {
        String op = "sparseDistillForward";
        SparseDistill s = sparseInputs(op, tau, student, ids, probs);
        Rows r = new Rows(s.rows, s.vocab);
        perRow(op, "perToken", perToken, r);
        perRow(op, "lse", lse, r);
        return s;
    }

    public SparseDistill sparseDistillBackward(float tau, Tensor dPerToken, Tensor student, Tensor ids, Tensor probs,
                                               Tensor lse, Tensor dStudent) {
        String op = "sparseDistillBackward";
        SparseDistill s = sparseInputs(op, tau, student, ids, probs);
        Rows r = new Rows(s.rows, s.vocab);
        perRow(op, "dPerToken", dPerToken, r);
        perRow(op, "lse", lse, r);
        floats(op, "dStudent", dStudent);
        sameShape(op, "student", student, "dStudent", dStudent);
        return s;
    }

    private SparseDistill sparseInputs(String op, float tau, Tensor student, Tensor ids, Tensor probs) {
        floats(op, "student", student);
        ints(op, "ids", ids);
        floats(op, "probs", probs);
        temperature(op, tau);
        Rows r = rows(op, "student", student);
        if (ids.rank() != 2 || ids.dim(0) != r.rows)
            throw ShapeException.of(op, "ids must be [N, K] with N = " + r.rows + " student rows", "student", student, "ids", ids);
        sameShape(op, "ids", ids, "probs", probs);
        return new SparseDistill(r.rows, r.cols, ids.dim(1));
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
        Conv c = convInputs(op, x, w, bias, "bias");
        floats(op, "out", out);
        sameShape(op, "x", x, "out", out);
        return c;
    }

    public Conv causalConv1dBackward(Tensor dOut, Tensor x, Tensor w, Tensor dX, Tensor dW, Tensor dBias) {
        String op = "causalConv1dBackward";
        Conv c = convInputs(op, x, w, dBias, "dBias");
        floats(op, "dOut", dOut);
        floats(op, "dX", dX);
        floats(op, "dW", dW);
        sameShape(op, "x", x, "dOut", dOut);
        sameShape(op, "x", x, "dX", dX);
        sameShape(op, "w", w, "dW", dW);
        return c;
    }

    /** x [B, T, C], w [C, K], and a per-channel bias (or its gradient) [C] or null. */
    private Conv convInputs(String op, Tensor x, Tensor w, Tensor bias, String biasName) {
        floats(op, "x", x);
        floats(op, "w", w);
        rank(op, "x", x, 3, "[B, T, C]");
        rank(op, "w", w, 2, "[C, K]");
        int c = x.dim(2);
        if (w.dim(0) != c) throw ShapeException.of(op, "w must be [C, K] with x's C", "x", x, "w", w);
        if (bias != null) {
            floats(op, biasName, bias);
            numel(op, biasName, bias, c);
        }
        return new Conv(x.dim(0), x.dim(1), c, w.dim(1));
    }

    public Conv causalConv1dStep(Tensor x, Tensor w, Tensor bias, Tensor convState, Tensor out) {
        String op = "causalConv1dStep";
        floats(op, "x", x);
        floats(op, "w", w);
        floats(op, "convState", convState);
        floats(op, "out", out);
        rank(op, "x", x, 2, "[B, C]");
        rank(op, "w", w, 2, "[C, K]");
        int b = x.dim(0), c = x.dim(1), k = w.dim(1);
        if (w.dim(0) != c) throw ShapeException.of(op, "w must be [C, K] with x's C", "x", x, "w", w);
        if (k < 1) throw ShapeException.of(op, "w must have a kernel width K >= 1", "w", w);
        shape(op, "convState", convState, "[B, C, K-1]", b, c, k - 1);
        sameShape(op, "x", x, "out", out);
        if (bias != null) {
            floats(op, "bias", bias);
            numel(op, "bias", bias, c);
        }
        return new Conv(b, 1, c, k);
    }

    public Scan selectiveScanForward(Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat, Tensor d, Tensor y) {
        String op = "selectiveScanForward";
        Scan s = scanInputs(op, u, delta, aLog, bMat, cMat, d);
        floats(op, "y", y);
        sameShape(op, "u", u, "y", y);
        return s;
    }

    public Scan selectiveScanBackward(Tensor dY, Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat, Tensor d,
                                      Tensor dU, Tensor dDelta, Tensor dALog, Tensor dB, Tensor dC, Tensor dD) {
        String op = "selectiveScanBackward";
        Scan s = scanInputs(op, u, delta, aLog, bMat, cMat, d);
        floats(op, "dY", dY);
        floats(op, "dU", dU);
        floats(op, "dDelta", dDelta);
        floats(op, "dALog", dALog);
        floats(op, "dB", dB);
        floats(op, "dC", dC);
        floats(op, "dD", dD);
        sameShape(op, "u", u, "dY", dY);
        sameShape(op, "u", u, "dU", dU);
        sameShape(op, "u", u, "dDelta", dDelta);
        sameShape(op, "aLog", aLog, "dALog", dALog);
        sameShape(op, "bMat", bMat, "dB", dB);
        sameShape(op, "cMat", cMat, "dC", dC);
        numel(op, "dD", dD, s.inner);
        return s;
    }

    private Scan scanInputs(String op, Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat, Tensor d) {
        floats(op, "u", u);
        floats(op, "delta", delta);
        floats(op, "aLog", aLog);
        floats(op, "bMat", bMat);
        floats(op, "cMat", cMat);
        floats(op, "d", d);
        rank(op, "u", u, 3, "[B, T, I]");
        rank(op, "aLog", aLog, 2, "[I, N]");
        int b = u.dim(0), t = u.dim(1), i = u.dim(2), n = aLog.dim(1);
        sameShape(op, "u", u, "delta", delta);
        shape(op, "aLog", aLog, "[I, N]", i, n);
        shape(op, "bMat", bMat, "[B, T, N]", b, t, n);
        shape(op, "cMat", cMat, "[B, T, N]", b, t, n);
        numel(op, "d", d, i);
        return new Scan(b, t, i, n);
    }

    public Scan selectiveScanStep(Tensor u, Tensor delta, Tensor aLog, Tensor bMat, Tensor cMat, Tensor d, Tensor state,
                                  Tensor y) {
        String op = "selectiveScanStep";
        floats(op, "u", u);
        floats(op, "delta", delta);
        floats(op, "aLog", aLog);
        floats(op, "bMat", bMat);
        floats(op, "cMat", cMat);
        floats(op, "d", d);
        floats(op, "state", state);
        floats(op, "y", y);
        rank(op, "u", u, 2, "[B, I]");
        rank(op, "aLog", aLog, 2, "[I, N]");
        int b = u.dim(0), i = u.dim(1), n = aLog.dim(1);
        sameShape(op, "u", u, "delta", delta);
        sameShape(op, "u", u, "y", y);
        shape(op, "aLog", aLog, "[I, N]", i, n);
        shape(op, "bMat", bMat, "[B, N]", b, n);
        shape(op, "cMat", cMat, "[B, N]", b, n);
        shape(op, "state", state, "[B, I, N]", b, i, n);
        numel(op, "d", d, i);
        return new Scan(b, 1, i, n);
    }

    // ==== optim family ====

    public void adamwStep(Tensor param, Tensor grad, Tensor m, Tensor v, int step) {
        String op = "adamwStep";
        floats(op, "param", param);
        floats(op, "grad", grad);
        floats(op, "m", m);
        floats(op, "v", v);
        numel(op, "grad", grad, param.numel());
        numel(op, "m", m, param.numel());
        numel(op, "v", v, param.numel());
        if (step < 1) throw new ShapeException(op + ": step counts from 1, got " + step);
    }

    public void sgdStep(Tensor param, Tensor grad, Tensor momentumBuffer) {
        String op = "sgdStep";
        floats(op, "param", param);
        floats(op, "grad", grad);
        floats(op, "momentumBuffer", momentumBuffer);
        numel(op, "grad", grad, param.numel());
        numel(op, "momentumBuffer", momentumBuffer, param.numel());
    }

    // ==== operand checks ====

    /** t is not null and lives where this backend computes. */
    public void resident(String op, String name, Tensor t) {
        if (t == null) throw new ShapeException(op + ": " + name + " is null");
        boolean here = residency == Residency.HOST ? t.storage() instanceof HostStorage : t.storage().backend() == owner;
        if (!here)
            throw ShapeException.of(op, name + " lives on " + t.backend().name() + ", not "
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
        boolean ok = dt == DType.F32 || dt == DType.F64 && acceptsF64 || halfToo && (dt == DType.BF16 || dt == DType.F16);
        if (!ok) {
            String hint = dt == DType.F64 ? "; F64 is computed by the reference backend only (Backends.open(\"reference\"))" : "";
            throw ShapeException.of(op, name + " must be " + (halfToo ? "F32, BF16 or F16" : "F32") + ", found " + dt + hint,
                    name, t);
        }
        if (contiguous) contiguous(op, name, t);
    }

    // ==== shape checks ====

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

    /** One value per row of r. */
    private void perRow(String op, String name, Tensor t, Rows r) {
        floats(op, name, t);
        if (t.numel() != r.rows)
            throw ShapeException.of(op, name + " must have one value per row (" + r.rows + "), has " + t.numel(), name, t);
    }

    private static Rows rows(String op, String name, Tensor t) {
        int cols = t.rank() == 0 ? 1 : t.dim(-1);
        long rows = t.rank() == 0 ? 1 : cols == 0 ? 0 : t.numel() / cols;
        return new Rows(count(op, "rows of " + name, rows, t), cols);
    }

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
