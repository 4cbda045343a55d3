/*
 * Token embedding lookup and its scatter-add backward. table [V, C] F32/BF16/F16, widened while each row is
 * copied. The backward is parallel over column blocks (every thread sees every id), so repeated ids accumulate
 * into dTable without races or locks.
 */
package kd4j.tensor.cpu;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import kd4j.tensor.BackendChecks;
import kd4j.tensor.DType;

import static kd4j.tensor.cpu.Simd.F;
import static kd4j.tensor.cpu.Simd.LE;
import static kd4j.tensor.cpu.Simd.FLOAT;
import static kd4j.tensor.cpu.Simd.INT;
import static kd4j.tensor.cpu.Simd.L;

public final class EmbeddingKernels {
    private EmbeddingKernels() {}

    static void checkIds(String op, MemorySegment ids, int n, int vocab) {
        for (int i = 0; i < n; i++) {
            int id = ids.getAtIndex(INT, i);
            if (id < 0 || id >= vocab)
                throw BackendChecks.idOutsideTable(op, i, id, vocab);
        }
    }

    static void embeddingForward(Parallel par, MemorySegment ids, MemorySegment table, DType tt, MemorySegment out,
                                 int n, int cols) {
        par.forRange(n, Math.max(1, ElementwiseKernels.GRAIN / Math.max(1, cols)), (n0, n1) -> {
            for (int t = n0; t < n1; t++) {
                long src = (long) ids.getAtIndex(INT, t) * cols, dst = (long) t * cols;
                if (tt == DType.F32) { MemorySegment.copy(table, src * 4, out, dst * 4, cols * 4L); continue; }
                int i = 0, ub = Simd.vectorizable(tt) ? Simd.bound(cols) : 0;
                for (; i < ub; i += L) (tt == DType.BF16 ? Simd.loadBf16(table, src + i) : FloatVector.fromMemorySegment(F, table, 4L * (src + i), LE)).intoMemorySegment(out, 4L * (dst + i), LE);
                for (; i < cols; i++) out.setAtIndex(FLOAT, dst + i, Simd.read(table, tt, src + i));
            }
        });
    }

    static void embeddingBackward(Parallel par, MemorySegment dOut, MemorySegment ids, MemorySegment dTable, int n, int cols) {
        par.forRange(cols, Math.max(L, ElementwiseKernels.GRAIN / Math.max(1, n)), (c0, c1) -> {
            for (int t = 0; t < n; t++) {
                long dst = (long) ids.getAtIndex(INT, t) * cols;
                Simd.axpy(1f, dOut, (long) t * cols + c0, dTable, dst + c0, c1 - c0);
            }
        });
    }
}
