/*
 * fp32 GEMM, C = alpha * op(A) op(B) + beta * C, batched, in the BLIS/GotoBLAS structure: B is packed into
 * KC x NC panels, A into MC x KC panels, and a register-blocked micro-kernel of MR rows x NR = 2 vectors keeps
 * MR * 2 accumulators (4 x 2 = 8 of the 16 AVX2 ymm registers; 8 x 2 = 16 of the 32 zmm registers with 512-bit
 * vectors) fed by broadcasts of A and two vector loads of B per k. Transposes and strides are absorbed by packing:
 * op(A)[i, k] lives at i * aRow + k * aCol and op(B)[k, j] at k * bRow + j * bCol (element strides), so every
 * transpose combination and every strided view runs the same micro-kernel. bf16/fp16 B is widened while it is packed.
 * A B that never changes (a frozen weight, mapped read-only) may come packed once for all calls (PackedB): the same
 * panels packB makes, so the results are the same bits with or without it.
 * Not here: the naive triple loop (that is ReferenceBackend's job as the oracle).
 */
package kd4j.tensor.cpu;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;
import kd4j.tensor.DType;

import static kd4j.tensor.cpu.Simd.LE;
import static kd4j.tensor.cpu.Simd.F;
import static kd4j.tensor.cpu.Simd.FLOAT;
import static kd4j.tensor.cpu.Simd.L;

public final class GemmKernels {
    /**
     * Micro-tile rows (broadcasts of A) and columns (2 vectors of B; 8 in scalar mode). 4 x 2 vectors = 8
     * accumulators suit AVX2's 16 registers (see vectorKernel for why not 6 x 2). With 512-bit vectors (32 registers)
     * the tile is 8 x 2: 16 accumulators + 2 B vectors + 8 broadcasts = 26 registers, where 12 x 2 needed 24 + 2 + 12 =
     * 38 and spilled. Measured on a Zen 4 EPYC (AVX-512, 2 cores, loaded by other jobs, alternating JVMs, best of
     * N): 8 x 2 beat 12 x 2 at 1024^3 (1 thread 84-89 vs 78-79 GFLOP/s, 2 threads 143-158 vs 83-93) and 2048^3 on 2
     * threads (167-178 vs 140-157), equal within noise at 2048^3 on 1 thread (docs/performance.md).
     * -Dkd4j.gemmTileRows=12 keeps the old tile for A/B runs. Each C element is the same FMA chain over k either
     * way, so the tile shape does not change results (checked: bit-identical C for both tiles).
     */
    static final int MR = !Simd.SCALAR && L >= 16 ? tileRows512() : 4;

    /** The 512-bit tile's rows: 8 (default, no spill) or 12 (-Dkd4j.gemmTileRows=12, the earlier tile, for A/B runs). */
    private static int tileRows512() {
        String v = System.getProperty("kd4j.gemmTileRows", "8");
        return switch (v) {
            case "12" -> 12;
            case "8" -> 8;
            default -> throw new IllegalArgumentException("-Dkd4j.gemmTileRows=" + v + ": expected 8 or 12");
        };
    }
    static final int NR = Simd.SCALAR ? 8 : 2 * L;

    /** A cache block from -Dname (for A/B runs of the blocking), default def; a positive multiple of unit. */
    private static int blockSize(String name, int def, int unit) {
        String v = System.getProperty(name);
        if (v == null) return def;
        try {
            int x = Integer.parseInt(v.strip());
            if (x >= unit && x % unit == 0 && x <= 8192) return x;
        } catch (NumberFormatException e) {
            // fall through to the message
        }
        throw new IllegalArgumentException("-D" + name + "=" + v + ": expected a multiple of " + unit + " from " + unit + " to 8192");
    }
    /** Four floats: MR (4, 8 or 12) is a multiple of it, so a packed k-slice of A is whole four-lane copies. */
    /**
     * Cache blocks: an A panel MC x KC (up to 258 KB) lives in L2, a B micro-panel KC x NR (up to 115 KB at 512 bits)
     * in L2 as well, B's KC x NC in L3. K is cut into equal blocks of at most KC (kcFor), so K = 384 (every Linear of
     * a hidden-384 model) and K = 896 (every projection of a hidden-896 teacher such as Qwen2.5-0.5B, and its lm_head)
     * are one block: C is then written once, never read back. Each extra K block is another pass of read-modify-write
     * over C whose loads miss the caches (a C block of MC x NC is 590 KB) and stall the micro-kernel, which the profile
     * showed as a sixth of the time in the tile merge. KC = 896 against the earlier 384, measured on a Zen 4 (AVX-512,
     * 1 thread, GFLOP per CPU-second, 3 alternating rounds, loaded machine): 1024 x 896 x 4864 bf16 weights 79-84
     * against 66-74, 1024 x 896 x 896 63-77 against 48-69; 2048^3 and K = 4864 level within noise (docs/performance.md).
     * The micro-kernel itself runs at the same rate with its B micro-panel in L2 as in L1 (kc 128 to 384 measured).
     * -Dkd4j.gemmKc / -Dkd4j.gemmMc / -Dkd4j.gemmNc set them for A/B runs.
     */
    static final int KC = blockSize("kd4j.gemmKc", 896, 8);
    static final int MC = blockSize("kd4j.gemmMc", 72, 24);
    static final int NC = blockSize("kd4j.gemmNc", 2048, 64);

    private GemmKernels() {}

    /** One operand in memory: element (row, col) of op(X) at base + batch * batchStride + row * rowStride + col * colStride. */
    public record Operand(MemorySegment segment, DType dtype, long base, long batchStride, long rowStride, long colStride) {}

    /**
     * Every KC x NC panel of one op(B) [k, n], packed as packB packs it (panel (jc, pc) at panels[jc / NC * kBlocks +
     * pc / kcFor(k)]), for a B whose contents cannot change: gemm then reads the panels instead of packing B again.
     */
    public static final class PackedB {
        final int k, n, kBlocks;
        final float[][] panels;

        private PackedB(int k, int n, int kBlocks, float[][] panels) {
            this.k = k; this.n = n; this.kBlocks = kBlocks; this.panels = panels;
        }

        float[] panel(int jc, int pc, int kcBlock) { return panels[jc / NC * kBlocks + pc / kcBlock]; }

        /** Heap bytes of the panels. */
        public long bytes() {
            long total = 0;
            for (float[] p : panels) total += 4L * p.length;
            return total;
        }
    }

    /** Heap bytes PackedB takes for an op(B) of [k, n]: each column padded to NR, every k kept. */
    public static long packedBytes(int k, int n) { return 4L * roundUp(n, NR) * k; }

    /** Packs all of op(b) [k, n] (one matrix: b.base, no batches) into panels, spread over par's threads. */
    public static PackedB pack(Parallel par, int k, int n, Operand b) {
        int kcBlock = kcFor(k), kBlocks = (k + kcBlock - 1) / kcBlock, nPanels = (n + NC - 1) / NC;
        float[][] panels = new float[nPanels * kBlocks][];
        par.forEach(panels.length, (p0, p1) -> {
            Scratch s = SCRATCH.get();
            for (int p = p0; p < p1; p++) {
                int jc = p / kBlocks * NC, pc = p % kBlocks * kcBlock;
                int nc = Math.min(NC, n - jc), kc = Math.min(kcBlock, k - pc);
                panels[p] = new float[roundUp(nc, NR) * kc];
                packB(b, b.base + pc * b.rowStride + jc * b.colStride, kc, nc, panels[p], 0, s);
            }
        });
        return new PackedB(k, n, kBlocks, panels);
    }

    private static final class Scratch {
        float[] a = new float[MC * KC];
        float[] b = new float[0];
        /**
         * The two shared B panels of a cooperative GEMM (packed by all threads, read by all): owned by the calling
         * thread, which only waits while the pool's workers use them. Two so that one phase can pack the next panel
         * while the current one is multiplied.
         */
        float[][] shared = {new float[0], new float[0]};
        final float[] tile = new float[MR * NR];
        /** MR rows of A copied in bulk before they are interleaved into the packed panel. */
        final float[] rows = new float[MR * KC];
        /** NR columns of B copied (and widened) in bulk before they are interleaved into a packed micro-panel. */
        final float[] cols = new float[NR * KC];
        /** The two L x L blocks transposeColumns zips between. */
        final float[] zip0 = new float[L * L], zip1 = new float[L * L];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** Below this many multiply-adds (m n k) a GEMM runs on the calling thread: forks would cost more than they save. */
    static final long PARALLEL_MIN_MNK = 1L << 20;

    /**
     * c[bt] = alpha * op(a)[bt] op(b)[bt] + beta * c[bt] for bt < batches; op(a) is [M, K], op(b) [K, N], c [M, N]
     * with unit column stride and row stride ldc. a and c F32; b F32/BF16/F16. beta == 0 ignores c's old contents.
     *
     * Parallel schedule: with at least two batches per thread (or batches too small to split), each task runs whole batches (sequential blocked GEMM,
     * its own packed panels). Otherwise each batch runs cooperatively (cooperative): every KC x NC panel of B is
     * packed once, a share of its micro-panels by each thread, into a buffer all threads read; then each thread
     * multiplies its own equal, static slice of C's rows (or of its columns when M is too small to split) by it,
     * packing its own blocks of A. Packing panel s + 1 and multiplying panel s share one fork, so a GEMM with S
     * panels costs S + 1 forks.
     *
     * Determinism: every element of C is the same chain of FMAs over k in each K block (kcFor(k) depends on k only)
     * and the blocks are merged into C in K order, whatever thread computes it; so results are bit-identical across
     * runs AND across thread counts (and across the MR/NR tile shape), not only across scheduling.
     */
    static void gemm(Parallel par, int batches, int m, int n, int k, float alpha, Operand a, Operand b, float beta,
                     MemorySegment c, long cBase, long cBatchStride, long ldc) {
        gemm(par, batches, m, n, k, alpha, a, b, null, beta, c, cBase, cBatchStride, ldc);
    }

    /** The same with op(b) already packed (packed, for one matrix: batches 1; null packs b as usual). */
    static void gemm(Parallel par, int batches, int m, int n, int k, float alpha, Operand a, Operand b, PackedB packed,
                     float beta, MemorySegment c, long cBase, long cBatchStride, long ldc) {
        if (batches == 0 || m == 0 || n == 0) return;
        if (packed != null && (batches != 1 || packed.k != k || packed.n != n))
            throw new IllegalArgumentException("packed B of [" + packed.k + ", " + packed.n + "] for a GEMM of k " + k + ", n " + n
                    + " and " + batches + " batches");
        if (m <= ROWS_TIMES_WEIGHT_MAX_M && k > 0 && a.colStride == 1 && b.rowStride == 1 && !Simd.SCALAR) {
            rowsTimesWeight(par, batches, m, n, k, alpha, a, b, beta, c, cBase, cBatchStride, ldc);
            return;
        }
        int threads = par.threads();
        long mnk = (long) m * n * k;
        if (threads == 1 || k == 0 || batches * mnk < PARALLEL_MIN_MNK) {
            Scratch s = SCRATCH.get();
            for (int bt = 0; bt < batches; bt++)
                block(s, m, n, k, alpha, a, a.base + bt * a.batchStride, b, b.base + bt * b.batchStride, packed, beta, c, cBase + bt * cBatchStride, ldc);
            return;
        }
        if (batches >= 2 * threads || mnk < PARALLEL_MIN_MNK) {
            par.forEach(batches, (b0, b1) -> {
                Scratch s = SCRATCH.get();
                for (int bt = b0; bt < b1; bt++)
                    block(s, m, n, k, alpha, a, a.base + bt * a.batchStride, b, b.base + bt * b.batchStride, packed, beta, c, cBase + bt * cBatchStride, ldc);
            });
            return;
        }
        for (int bt = 0; bt < batches; bt++)
            cooperative(par, m, n, k, alpha, a, a.base + bt * a.batchStride, b, b.base + bt * b.batchStride, packed, beta, c, cBase + bt * cBatchStride, ldc);
    }

    /** Up to this many rows of A (a decode step's batch) go through rowsTimesWeight instead of packing B. */
    static final int ROWS_TIMES_WEIGHT_MAX_M = 4;

    /**
     * A few rows of A times a transposed weight (op(B) column j = row j of a Linear weight [N, K], contiguous in k):
     * each output is one dot product over k, the weight row widened once into a heap copy and shared by the m rows.
     * Decoding with a 0.5B bf16 model is this GEMM: packing all of B for one row of A wrote 2 GB of packed panels a
     * token (1.5 tokens/s); this path reads each weight byte once. Parallel over columns; every element is the same
     * chain of FMAs whatever the thread count, so results are bit-identical across thread counts, as gemm's.
     */
    private static void rowsTimesWeight(Parallel par, int batches, int m, int n, int k, float alpha, Operand a, Operand b,
                                        float beta, MemorySegment c, long cBase, long cBatchStride, long ldc) {
        for (int bt = 0; bt < batches; bt++) {
            long aOff = a.base + bt * a.batchStride, bOff = b.base + bt * b.batchStride, cOff = cBase + bt * cBatchStride;
            Parallel.RangeBody columns = (j0, j1) -> {
                RowScratch s = ROW_SCRATCH.get().ensure(m, k);
                for (int i = 0; i < m; i++) Simd.copyWidened(a.segment, DType.F32, aOff + i * a.rowStride, s.rows, i * k, k);
                for (int j = j0; j < j1; j++) {
                    Simd.copyWidened(b.segment, b.dtype, bOff + j * b.colStride, s.weight, 0, k);
                    for (int i = 0; i < m; i++) {
                        float v = alpha * Simd.dot(s.rows, i * k, s.weight, 0, k);
                        long at = cOff + i * ldc + j;
                        c.setAtIndex(FLOAT, at, beta == 0 ? v : v + beta * c.getAtIndex(FLOAT, at));
                    }
                }
            };
            if ((long) m * n * k < PARALLEL_MIN_MNK) columns.run(0, n);
            else par.forRange(n, 16, columns);
        }
    }

    private static final class RowScratch {
        float[] rows = new float[0], weight = new float[0];

        RowScratch ensure(int m, int k) {
            if (rows.length < m * k) rows = new float[m * k];
            if (weight.length < k) weight = new float[k];
            return this;
        }
    }

    private static final ThreadLocal<RowScratch> ROW_SCRATCH = ThreadLocal.withInitial(RowScratch::new);

    /**
     * One GEMM by all threads over shared packed B panels. Step s is the panel (jc, pc) = (s / kBlocks * NC,
     * s % kBlocks * kc); phase p packs step p (each part packs its share of micro-panels into shared[p % 2]) and
     * multiplies step p - 1 (each part its rows, or columns, against shared[(p - 1) % 2]). The fork/join between
     * phases is the only synchronisation: no part ever waits on another inside a phase.
     */
    private static void cooperative(Parallel par, int m, int n, int k, float alpha, Operand a, long aOff, Operand b, long bOff,
                                    PackedB packed, float beta, MemorySegment c, long cOff, long ldc) {
        int threads = par.threads();
        int kcBlock = kcFor(k), kBlocks = (k + kcBlock - 1) / kcBlock, nPanels = (n + NC - 1) / NC, steps = kBlocks * nPanels;
        int ncMax = Math.min(NC, roundUp(n, NR));
        Scratch own = SCRATCH.get();
        for (int i = 0; packed == null && i < 2; i++) if (own.shared[i].length < ncMax * kcBlock) own.shared[i] = new float[ncMax * kcBlock];
        float[][] shared = own.shared;
        int mUnits = (m + MR - 1) / MR;
        boolean splitM = mUnits >= 2 * threads;   // else split the columns and let every part pack all of (the small) A
        int parts = splitM ? threads : Math.max(1, Math.min(threads, (ncMax + NR - 1) / NR));
        for (int phase = 0; phase <= steps; phase++) {
            final int p = phase;
            par.forEach(parts, (t0, t1) -> {
                Scratch s = SCRATCH.get();
                for (int t = t0; t < t1; t++) {
                    if (p < steps && packed == null) {
                        int jc = p / kBlocks * NC, pc = p % kBlocks * kcBlock;
                        int nc = Math.min(NC, n - jc), kc = Math.min(kcBlock, k - pc), q = (nc + NR - 1) / NR;
                        int q0 = (int) ((long) q * t / parts), q1 = (int) ((long) q * (t + 1) / parts);
                        if (q0 < q1)
                            packB(b, bOff + pc * b.rowStride + (jc + q0 * NR) * b.colStride, kc, Math.min(nc, q1 * NR) - q0 * NR,
                                    shared[p % 2], q0 * NR * kc, s);
                    }
                    if (p > 0) {
                        int st = p - 1, jc = st / kBlocks * NC, pc = st % kBlocks * kcBlock;
                        int nc = Math.min(NC, n - jc), kc = Math.min(kcBlock, k - pc);
                        float betaBlock = pc == 0 ? beta : 1f;
                        int i0 = 0, i1 = m, j0 = 0, j1 = nc;
                        if (splitM) {
                            i0 = (int) ((long) mUnits * t / parts) * MR;
                            i1 = Math.min(m, (int) ((long) mUnits * (t + 1) / parts) * MR);
                        } else {
                            int q = (nc + NR - 1) / NR;
                            j0 = (int) ((long) q * t / parts) * NR;
                            j1 = Math.min(nc, (int) ((long) q * (t + 1) / parts) * NR);
                        }
                        for (int ic = i0; ic < i1; ic += MC) {
                            int mc = Math.min(MC, i1 - ic);
                            packA(a, aOff + ic * a.rowStride + pc * a.colStride, mc, kc, s.a, s.rows);
                            macro(s, packed != null ? packed.panel(jc, pc, kcBlock) : shared[st % 2], mc, kc, j0, j1, alpha,
                                    betaBlock, c, cOff + ic * ldc + jc, ldc);
                        }
                    }
                }
            });
        }
    }

    /** One sequential blocked GEMM on a sub-problem (the five BLIS loops around the micro-kernel). */
    private static void block(Scratch s, int m, int n, int k, float alpha, Operand a, long aOff, Operand b, long bOff,
                              PackedB packed, float beta, MemorySegment c, long cOff, long ldc) {
        if (k == 0) { scaleC(m, n, beta, c, cOff, ldc); return; }
        int ncMax = Math.min(NC, roundUp(n, NR));
        int kcBlock = kcFor(k);
        if (packed == null && s.b.length < ncMax * kcBlock) s.b = new float[ncMax * kcBlock];
        for (int jc = 0; jc < n; jc += NC) {
            int nc = Math.min(NC, n - jc);
            for (int pc = 0; pc < k; pc += kcBlock) {
                int kc = Math.min(kcBlock, k - pc);
                float[] bp = packed != null ? packed.panel(jc, pc, kcBlock) : s.b;
                if (packed == null) packB(b, bOff + pc * b.rowStride + jc * b.colStride, kc, nc, s.b, 0, s);
                float betaBlock = pc == 0 ? beta : 1f;  // later K blocks accumulate onto the first
                for (int ic = 0; ic < m; ic += MC) {
                    int mc = Math.min(MC, m - ic);
                    packA(a, aOff + ic * a.rowStride + pc * a.colStride, mc, kc, s.a, s.rows);
                    macro(s, bp, mc, kc, 0, nc, alpha, betaBlock, c, cOff + ic * ldc + jc, ldc);
                }
            }
        }
    }

    /**
     * The macro-kernel: the packed A block s.a [mc, kc] times the packed B panel columns [j0, j1) (j0 a multiple of NR)
     * into C at cOff (C's element (0, 0) of this block). B micro-panels outer (one stays in L1), A micro-panels inner.
     */
    private static void macro(Scratch s, float[] bp, int mc, int kc, int j0, int j1, float alpha, float beta,
                              MemorySegment c, long cOff, long ldc) {
        float[] ap = s.a, tile = s.tile;
        for (int jr = j0; jr < j1; jr += NR) {
            int cols = Math.min(NR, j1 - jr);
            for (int ir = 0; ir < mc; ir += MR) {
                int rows = Math.min(MR, mc - ir);
                long cTile = cOff + ir * ldc + jr;
                if (Simd.SCALAR) scalarKernel(kc, ap, ir * kc, bp, jr * kc, tile);
                else if (MR == 12) vectorKernel12(kc, ap, ir * kc, bp, jr * kc, tile);
                else if (MR == 8) vectorKernel8(kc, ap, ir * kc, bp, jr * kc, tile);
                else vectorKernel(kc, ap, ir * kc, bp, jr * kc, tile);
                if (rows == MR && cols == NR && !Simd.SCALAR) mergeFullTile(tile, c, cTile, ldc, alpha, beta);
                else mergeTile(tile, rows, cols, c, cTile, ldc, alpha, beta);
            }
        }
    }

    private static int roundUp(int x, int m) { return (x + m - 1) / m * m; }

    /** The K block: k cut into ceil(k / KC) blocks of equal size (rounded up to a multiple of 8), none above KC. */
    static int kcFor(int k) {
        int blocks = (k + KC - 1) / KC;
        return Math.min(KC, roundUp((k + blocks - 1) / blocks, 8));
    }

    private static void scaleC(int m, int n, float beta, MemorySegment c, long cOff, long ldc) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                long idx = cOff + i * ldc + j;
                c.setAtIndex(FLOAT, idx, beta == 0 ? 0f : beta * c.getAtIndex(FLOAT, idx));
            }
    }

    /** A panel [mc, kc] as micro-panels of MR rows, k-major inside each (ap[p * kc * MR + kk * MR + r]), zero-padded. */
    private static void packA(Operand a, long off, int mc, int kc, float[] ap, float[] rowCopy) {
        MemorySegment seg = a.segment;
        long rs = a.rowStride, cs = a.colStride;
        int full = rs == 1 ? mc - mc % MR : 0;
        if (full > 0) {
            // op(A) is a transposed row-major matrix (dW = dYᵀ X): the values of one k are a contiguous run of A's row
            // k. Read each row's run once, front to back, handing MR values to every micro-panel (a walk down one
            // micro-panel at a time would touch a new row, often a new page, on every load). Plain scalar copies: the
            // four-lane vector copies they replace were sometimes compiled boxed (a 128-bit species at a call site the
            // kernels' full-width vectors share), 500 MiB of heap a training step of the benchmark Llama.
            for (int kk = 0; kk < kc; kk++) {
                long src = off + kk * cs;
                for (int ir = 0; ir < full; ir += MR) {
                    int dst = ir * kc + kk * MR;
                    for (int r = 0; r < MR; r++) ap[dst + r] = seg.getAtIndex(FLOAT, src + ir + r);
                }
            }
        }
        for (int ir = full; ir < mc; ir += MR) {
            int rows = Math.min(MR, mc - ir), base = ir * kc;
            if (cs == 1 && rows == MR) {
                // Row-major A: on AVX2 a 4 x 8 shuffle transpose straight from A; otherwise copy each row's k run in bulk,
                // then interleave the MR rows from the heap copy.
                if (TRANSPOSE_4X8) {
                    long r0 = off + ir * rs;
                    int kk = interleave4x8(seg, r0, rs, kc, ap, base);
                    for (; kk < kc; kk++)
                        for (int r = 0; r < MR; r++) ap[base + kk * MR + r] = seg.getAtIndex(FLOAT, r0 + r * rs + kk);
                    continue;
                }
                float[] row = rowCopy;
                for (int r = 0; r < MR; r++) MemorySegment.copy(seg, FLOAT, (off + (ir + r) * rs) * Float.BYTES, row, r * kc, kc);
                for (int kk = 0; kk < kc; kk++) {
                    int dst = base + kk * MR;
                    for (int r = 0; r < MR; r++) ap[dst + r] = row[r * kc + kk];
                }
                continue;
            }
            for (int r = 0; r < MR; r++) {
                if (r >= rows) { for (int kk = 0; kk < kc; kk++) ap[base + kk * MR + r] = 0f; continue; }
                long row = off + (ir + r) * rs;
                for (int kk = 0; kk < kc; kk++) ap[base + kk * MR + r] = seg.getAtIndex(FLOAT, row + kk * cs);
            }
        }
    }

    /** Whether packA interleaves 4 rows of A 8 values of k at a time with shuffles (MR = 4 on 8-lane vectors: AVX2). */
    private static final boolean TRANSPOSE_4X8 = !Simd.SCALAR && MR == 4 && L == 8;
    private static final VectorShuffle<Float> PAIR_LO = TRANSPOSE_4X8 ? VectorShuffle.fromValues(F, 0, 8, 1, 9, 2, 10, 3, 11) : null;
    private static final VectorShuffle<Float> PAIR_HI = TRANSPOSE_4X8 ? VectorShuffle.fromValues(F, 4, 12, 5, 13, 6, 14, 7, 15) : null;
    private static final VectorShuffle<Float> QUAD_LO = TRANSPOSE_4X8 ? VectorShuffle.fromValues(F, 0, 1, 8, 9, 2, 3, 10, 11) : null;
    private static final VectorShuffle<Float> QUAD_HI = TRANSPOSE_4X8 ? VectorShuffle.fromValues(F, 4, 5, 12, 13, 6, 7, 14, 15) : null;

    /**
     * ap[base + kk * 4 + r] = A[r0 + r * rs + kk] for r < 4 and kk below the last multiple of 8: a 4 x 8 transpose per step,
     * two rounds of two-vector shuffles (rows 0,1 and 2,3 zipped, then the zipped pairs zipped by pairs). Returns the
     * first kk left for the caller's scalar loop. Shuffles move values, so the packed panel is the same bits as the
     * scalar interleave.
     */
    private static int interleave4x8(MemorySegment a, long r0, long rs, int kc, float[] ap, int base) {
        int kk = 0;
        for (; kk + 8 <= kc; kk += 8) {
            FloatVector x0 = FloatVector.fromMemorySegment(F, a, 4L * (r0 + kk), LE), x1 = FloatVector.fromMemorySegment(F, a, 4L * (r0 + rs + kk), LE);
            FloatVector x2 = FloatVector.fromMemorySegment(F, a, 4L * (r0 + 2 * rs + kk), LE), x3 = FloatVector.fromMemorySegment(F, a, 4L * (r0 + 3 * rs + kk), LE);
            FloatVector lo01 = x0.rearrange(PAIR_LO, x1), hi01 = x0.rearrange(PAIR_HI, x1);
            FloatVector lo23 = x2.rearrange(PAIR_LO, x3), hi23 = x2.rearrange(PAIR_HI, x3);
            int dst = base + kk * 4;
            lo01.rearrange(QUAD_LO, lo23).intoArray(ap, dst);
            lo01.rearrange(QUAD_HI, lo23).intoArray(ap, dst + 8);
            hi01.rearrange(QUAD_LO, hi23).intoArray(ap, dst + 16);
            hi01.rearrange(QUAD_HI, hi23).intoArray(ap, dst + 24);
        }
        return kk;
    }

    /** Whether packB transposes a transposed B's column runs with vector zips (lanes a power of two, at least 4). */
    private static final boolean ZIP_TRANSPOSE = !Simd.SCALAR && L >= 4 && Integer.bitCount(L) == 1;
    /** Lane indexes for selectFrom(a, b): the low halves of a and b interleaved (a0 b0 a1 b1 ...), and the high halves. */
    private static final FloatVector ZIP_LO = ZIP_TRANSPOSE ? zipIndexes(0) : null, ZIP_HI = ZIP_TRANSPOSE ? zipIndexes(L / 2) : null;
    private static final int ZIP_ROUNDS = Integer.numberOfTrailingZeros(L);

    private static FloatVector zipIndexes(int first) {
        float[] idx = new float[L];
        for (int i = 0; i < L / 2; i++) {
            idx[2 * i] = first + i;
            idx[2 * i + 1] = L + first + i;
        }
        return FloatVector.fromArray(F, idx, 0);
    }

    /**
     * bp[base + kk * NR + j] = op(B)[kk, j] = seg[col0 + j * cs + kk] (widened) for j < NR and kk below the last
     * multiple of L; returns the first kk left for the caller. Each L x L block (L columns' runs of L values of k) is
     * transposed by log2(L) rounds of zips: row i of the block zipped with row i + L/2 gives rows 2i and 2i + 1 of the
     * next round, and after log2(L) rounds row r holds the block's values of k = r, one per column. Round one loads
     * from the weight, the middle rounds go through two L x L scratch blocks, the last stores into the panel. One
     * two-vector permute per output vector and round (vpermi2ps on AVX-512), where the interleave from a heap copy
     * moved every value on its own. Zips move values, so the panel is the same bits as the element-wise interleave.
     */
    private static int transposeColumns(MemorySegment seg, DType dt, long col0, long cs, int kc, float[] bp, int base,
                                        float[] zip0, float[] zip1) {
        int half = L / 2, kk = 0;
        for (; kk + L <= kc; kk += L)
            for (int h = 0; h < NR; h += L)
                for (int t = 0; t < ZIP_ROUNDS; t++) {
                    boolean first = t == 0, last = t == ZIP_ROUNDS - 1;
                    float[] in = t % 2 == 1 ? zip0 : zip1, out = t % 2 == 0 ? zip0 : zip1;
                    for (int i = 0; i < half; i++) {
                        FloatVector a, b;
                        if (first) {
                            long ia = col0 + (h + i) * cs + kk, ib = col0 + (h + i + half) * cs + kk;
                            a = dt == DType.F32 ? FloatVector.fromMemorySegment(F, seg, 4L * ia, LE) : Simd.loadBf16(seg, ia);
                            b = dt == DType.F32 ? FloatVector.fromMemorySegment(F, seg, 4L * ib, LE) : Simd.loadBf16(seg, ib);
                        } else {
                            a = FloatVector.fromArray(F, in, i * L);
                            b = FloatVector.fromArray(F, in, (i + half) * L);
                        }
                        FloatVector lo = ZIP_LO.selectFrom(a, b), hi = ZIP_HI.selectFrom(a, b);
                        if (last) {
                            lo.intoArray(bp, base + (kk + 2 * i) * NR + h);
                            hi.intoArray(bp, base + (kk + 2 * i + 1) * NR + h);
                        } else {
                            lo.intoArray(out, 2 * i * L);
                            hi.intoArray(out, (2 * i + 1) * L);
                        }
                    }
                }
        return kk;
    }

    /** B panel [kc, nc] as micro-panels of NR columns, k-major inside each (bp[bpOff + q * kc * NR + kk * NR + j]), zero-padded, widened. */
    private static void packB(Operand b, long off, int kc, int nc, float[] bp, int bpOff, Scratch s) {
        MemorySegment seg = b.segment;
        long rs = b.rowStride, cs = b.colStride;
        DType dt = b.dtype;
        boolean rowVector = cs == 1 && !Simd.SCALAR && Simd.vectorizable(dt);
        int full = rowVector ? nc - nc % NR : 0;
        // Row-major B: read each row's run once, front to back, handing NR values to every micro-panel (walking down
        // one micro-panel at a time would touch a new row, often a new page, on every load).
        // One loop per dtype, so the F32 copy is the JDK's load alone (see Simd on why kernels call it directly).
        if (full > 0 && dt == DType.F32)
            for (int kk = 0; kk < kc; kk++) {
                long src = off + kk * rs;
                for (int jr = 0; jr < full; jr += NR) {
                    int dst = bpOff + jr * kc + kk * NR;
                    for (int v = 0; v < NR; v += L)
                        FloatVector.fromMemorySegment(F, seg, 4L * (src + jr + v), LE).intoArray(bp, dst + v);
                }
            }
        else if (full > 0)
            for (int kk = 0; kk < kc; kk++) {
                long src = off + kk * rs;
                for (int jr = 0; jr < full; jr += NR) {
                    int dst = bpOff + jr * kc + kk * NR;
                    for (int v = 0; v < NR; v += L) Simd.loadBf16(seg, src + jr + v).intoArray(bp, dst + v);
                }
            }
        for (int jr = full; jr < nc; jr += NR) {
            int cols = Math.min(NR, nc - jr), base = bpOff + jr * kc;
            if (rs == 1 && cols == NR && ZIP_TRANSPOSE && Simd.vectorizable(dt)) {
                // op(B) is a transposed row-major matrix (a Linear weight [out, in]): each column's k run is contiguous.
                // Transpose L x L blocks of it in registers, straight from the weight (widening bf16 as it loads).
                int kk = transposeColumns(seg, dt, off + jr * cs, cs, kc, bp, base, s.zip0, s.zip1);
                for (; kk < kc; kk++)
                    for (int j = 0; j < NR; j++) bp[base + kk * NR + j] = Simd.read(seg, dt, off + (jr + j) * cs + kk);
                continue;
            }
            if (rs == 1 && cols == NR) {
                // The same for F16 (no vector widening) and scalar mode: copy the NR runs in bulk (widening), then
                // interleave them from the heap copy.
                float[] colCopy = s.cols;
                for (int j = 0; j < NR; j++) Simd.copyWidened(seg, dt, off + (jr + j) * cs, colCopy, j * kc, kc);
                for (int kk = 0; kk < kc; kk++) {
                    int dst = base + kk * NR;
                    for (int j = 0; j < NR; j++) bp[dst + j] = colCopy[j * kc + kk];
                }
                continue;
            }
            for (int kk = 0; kk < kc; kk++) {
                long src = off + kk * rs + jr * cs;
                int dst = base + kk * NR;
                if (dt == DType.F32) for (int j = 0; j < cols; j++) bp[dst + j] = seg.getAtIndex(FLOAT, src + j * cs);
                else for (int j = 0; j < cols; j++) bp[dst + j] = Simd.read(seg, dt, src + j * cs);
                for (int j = cols; j < NR; j++) bp[dst + j] = 0f;
            }
        }
    }

    /**
     * MR x 2L micro-kernel for 16-register machines (AVX2): 4 x 2 = 8 accumulators, two loads of B and four
     * broadcasts of A per k. Why not 6 x 2 (the BLIS Haswell shape): C2 issues all of one k's broadcasts before
     * the FMAs, so 6 x 2 needs 12 + 2 + 6 = 20 registers, spills an accumulator to the stack and every k then
     * waits on a store-to-load round trip through that spill (measured on Zen 3: 42 GFLOP/s for 6 x 2 and 5 x 2,
     * 93 for 4 x 2, which needs 8 + 2 + 4 = 14). Eight accumulators still cover the FMA latency (4 cycles x 2 FMA
     * ports). The accumulators always go to the tile array and a separate merge writes C: keeping C's alpha/beta
     * logic out of this method keeps it small enough for C2 to compile as one tight loop.
     */
    private static void vectorKernel(int kc, float[] ap, int ao, float[] bp, int bo, float[] tile) {
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F), c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F), c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
        for (int kk = 0; kk < kc; kk++) {
            int ai = ao + kk * MR, bi = bo + kk * 2 * L;
            FloatVector b0 = FloatVector.fromArray(F, bp, bi), b1 = FloatVector.fromArray(F, bp, bi + L);
            FloatVector a = FloatVector.broadcast(F, ap[ai]);
            c00 = a.fma(b0, c00); c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(F, ap[ai + 1]);
            c10 = a.fma(b0, c10); c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(F, ap[ai + 2]);
            c20 = a.fma(b0, c20); c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(F, ap[ai + 3]);
            c30 = a.fma(b0, c30); c31 = a.fma(b1, c31);
        }
        c00.intoArray(tile, 0); c01.intoArray(tile, L);
        c10.intoArray(tile, 2 * L); c11.intoArray(tile, 3 * L);
        c20.intoArray(tile, 4 * L); c21.intoArray(tile, 5 * L);
        c30.intoArray(tile, 6 * L); c31.intoArray(tile, 7 * L);
    }

    /** The earlier 512-bit micro-kernel (-Dkd4j.gemmTileRows=12): 12 x 2L, 24 accumulators, spills (see MR). */
    private static void vectorKernel12(int kc, float[] ap, int ao, float[] bp, int bo, float[] tile) {
        FloatVector c000 = FloatVector.zero(F), c001 = FloatVector.zero(F), c010 = FloatVector.zero(F), c011 = FloatVector.zero(F);
        FloatVector c020 = FloatVector.zero(F), c021 = FloatVector.zero(F), c030 = FloatVector.zero(F), c031 = FloatVector.zero(F);
        FloatVector c040 = FloatVector.zero(F), c041 = FloatVector.zero(F), c050 = FloatVector.zero(F), c051 = FloatVector.zero(F);
        FloatVector c060 = FloatVector.zero(F), c061 = FloatVector.zero(F), c070 = FloatVector.zero(F), c071 = FloatVector.zero(F);
        FloatVector c080 = FloatVector.zero(F), c081 = FloatVector.zero(F), c090 = FloatVector.zero(F), c091 = FloatVector.zero(F);
        FloatVector c100 = FloatVector.zero(F), c101 = FloatVector.zero(F), c110 = FloatVector.zero(F), c111 = FloatVector.zero(F);
        for (int kk = 0; kk < kc; kk++) {
            int ai = ao + kk * 12, bi = bo + kk * 2 * L;
            FloatVector b0 = FloatVector.fromArray(F, bp, bi), b1 = FloatVector.fromArray(F, bp, bi + L);
            FloatVector a;
            a = FloatVector.broadcast(F, ap[ai]);
            c000 = a.fma(b0, c000); c001 = a.fma(b1, c001);
            a = FloatVector.broadcast(F, ap[ai + 1]);
            c010 = a.fma(b0, c010); c011 = a.fma(b1, c011);
            a = FloatVector.broadcast(F, ap[ai + 2]);
            c020 = a.fma(b0, c020); c021 = a.fma(b1, c021);
            a = FloatVector.broadcast(F, ap[ai + 3]);
            c030 = a.fma(b0, c030); c031 = a.fma(b1, c031);
            a = FloatVector.broadcast(F, ap[ai + 4]);
            c040 = a.fma(b0, c040); c041 = a.fma(b1, c041);
            a = FloatVector.broadcast(F, ap[ai + 5]);
            c050 = a.fma(b0, c050); c051 = a.fma(b1, c051);
            a = FloatVector.broadcast(F, ap[ai + 6]);
            c060 = a.fma(b0, c060); c061 = a.fma(b1, c061);
            a = FloatVector.broadcast(F, ap[ai + 7]);
            c070 = a.fma(b0, c070); c071 = a.fma(b1, c071);
            a = FloatVector.broadcast(F, ap[ai + 8]);
            c080 = a.fma(b0, c080); c081 = a.fma(b1, c081);
            a = FloatVector.broadcast(F, ap[ai + 9]);
            c090 = a.fma(b0, c090); c091 = a.fma(b1, c091);
            a = FloatVector.broadcast(F, ap[ai + 10]);
            c100 = a.fma(b0, c100); c101 = a.fma(b1, c101);
            a = FloatVector.broadcast(F, ap[ai + 11]);
            c110 = a.fma(b0, c110); c111 = a.fma(b1, c111);
        }
        c000.intoArray(tile, 0 * L); c001.intoArray(tile, 1 * L);
        c010.intoArray(tile, 2 * L); c011.intoArray(tile, 3 * L);
        c020.intoArray(tile, 4 * L); c021.intoArray(tile, 5 * L);
        c030.intoArray(tile, 6 * L); c031.intoArray(tile, 7 * L);
        c040.intoArray(tile, 8 * L); c041.intoArray(tile, 9 * L);
        c050.intoArray(tile, 10 * L); c051.intoArray(tile, 11 * L);
        c060.intoArray(tile, 12 * L); c061.intoArray(tile, 13 * L);
        c070.intoArray(tile, 14 * L); c071.intoArray(tile, 15 * L);
        c080.intoArray(tile, 16 * L); c081.intoArray(tile, 17 * L);
        c090.intoArray(tile, 18 * L); c091.intoArray(tile, 19 * L);
        c100.intoArray(tile, 20 * L); c101.intoArray(tile, 21 * L);
        c110.intoArray(tile, 22 * L); c111.intoArray(tile, 23 * L);
    }

    /** The 512-bit 8 x 2L micro-kernel: 16 accumulators + 2 B vectors + 8 broadcasts = 26 of 32 registers (no spill). */
    private static void vectorKernel8(int kc, float[] ap, int ao, float[] bp, int bo, float[] tile) {
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F), c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F), c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
        FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F), c50 = FloatVector.zero(F), c51 = FloatVector.zero(F);
        FloatVector c60 = FloatVector.zero(F), c61 = FloatVector.zero(F), c70 = FloatVector.zero(F), c71 = FloatVector.zero(F);
        for (int kk = 0; kk < kc; kk++) {
            int ai = ao + kk * 8, bi = bo + kk * 2 * L;
            FloatVector b0 = FloatVector.fromArray(F, bp, bi), b1 = FloatVector.fromArray(F, bp, bi + L);
            FloatVector a;
            a = FloatVector.broadcast(F, ap[ai]);
            c00 = a.fma(b0, c00); c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(F, ap[ai + 1]);
            c10 = a.fma(b0, c10); c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(F, ap[ai + 2]);
            c20 = a.fma(b0, c20); c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(F, ap[ai + 3]);
            c30 = a.fma(b0, c30); c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(F, ap[ai + 4]);
            c40 = a.fma(b0, c40); c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(F, ap[ai + 5]);
            c50 = a.fma(b0, c50); c51 = a.fma(b1, c51);
            a = FloatVector.broadcast(F, ap[ai + 6]);
            c60 = a.fma(b0, c60); c61 = a.fma(b1, c61);
            a = FloatVector.broadcast(F, ap[ai + 7]);
            c70 = a.fma(b0, c70); c71 = a.fma(b1, c71);
        }
        c00.intoArray(tile, 0); c01.intoArray(tile, L);
        c10.intoArray(tile, 2 * L); c11.intoArray(tile, 3 * L);
        c20.intoArray(tile, 4 * L); c21.intoArray(tile, 5 * L);
        c30.intoArray(tile, 6 * L); c31.intoArray(tile, 7 * L);
        c40.intoArray(tile, 8 * L); c41.intoArray(tile, 9 * L);
        c50.intoArray(tile, 10 * L); c51.intoArray(tile, 11 * L);
        c60.intoArray(tile, 12 * L); c61.intoArray(tile, 13 * L);
        c70.intoArray(tile, 14 * L); c71.intoArray(tile, 15 * L);
    }

    /** C = alpha * tile + beta * C for a full MR x NR tile, a vector at a time (beta == 0 ignores old C). */
    private static void mergeFullTile(float[] tile, MemorySegment c, long cOff, long ldc, float alpha, float beta) {
        for (int r = 0; r < MR; r++)
            for (int v = 0; v < NR; v += L) {
                long bytes = 4L * (cOff + r * ldc + v);
                FloatVector x = FloatVector.fromArray(F, tile, r * NR + v).mul(alpha);
                if (beta != 0f) x = FloatVector.fromMemorySegment(F, c, bytes, LE).fma(FloatVector.broadcast(F, beta), x);
                x.intoMemorySegment(c, bytes, LE);
            }
    }


    /** The scalar-mode micro-kernel (kd4j.vectorBits=0): same packing, MR x NR accumulators in the tile array. */
    private static void scalarKernel(int kc, float[] ap, int ao, float[] bp, int bo, float[] tile) {
        java.util.Arrays.fill(tile, 0f);
        for (int kk = 0; kk < kc; kk++, ao += MR, bo += NR)
            for (int r = 0; r < MR; r++) {
                float a = ap[ao + r];
                for (int j = 0; j < NR; j++) tile[r * NR + j] += a * bp[bo + j];
            }
    }

    /** Merges the valid rows x cols of a tile into C: C = alpha * tile + beta * C (beta == 0 ignores old C). */
    private static void mergeTile(float[] tile, int rows, int cols, MemorySegment c, long cOff, long ldc, float alpha, float beta) {
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < cols; j++) {
                long idx = cOff + r * ldc + j;
                float v = alpha * tile[r * NR + j];
                c.setAtIndex(FLOAT, idx, beta == 0f ? v : v + beta * c.getAtIndex(FLOAT, idx));
            }
    }
}
