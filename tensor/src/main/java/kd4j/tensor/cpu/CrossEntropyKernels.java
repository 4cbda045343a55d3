/*
 * Cross-entropy with the log-softmax fused in: per row a max pass and a sum-of-exp pass over the logits, saving
 * only lse[n]; the backward writes softmax - onehot straight into dLogits from lse. No [N, V] probability copy is
 * ever made (llm.c's fused classifier). Rows are parallel; each row is a contiguous stretch of V logits.
 */
package kd4j.tensor.cpu;

import java.lang.foreign.MemorySegment;
import kd4j.tensor.BackendChecks;

import static kd4j.tensor.cpu.Simd.FLOAT;
import static kd4j.tensor.cpu.Simd.INT;

public final class CrossEntropyKernels {
    private CrossEntropyKernels() {}

    static void checkTargets(String op, MemorySegment targets, int n, int vocab, int ignoreIndex) {
        for (int i = 0; i < n; i++) {
            int t = targets.getAtIndex(INT, i);
            if (t != ignoreIndex && (t < 0 || t >= vocab))
                throw BackendChecks.targetOutsideVocabulary(op, i, t, vocab, ignoreIndex);
        }
    }

    static int rowGrain(int vocab) { return Math.max(1, ElementwiseKernels.GRAIN / Math.max(1, vocab)); }

    static void crossEntropyForward(Parallel par, MemorySegment logits, MemorySegment targets, int ignoreIndex,
                                    MemorySegment losses, MemorySegment lse, int n, int vocab) {
        par.forRange(n, rowGrain(vocab), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                long row = (long) r * vocab;
                float l = Simd.logSumExp(logits, row, vocab, 1f);
                lse.setAtIndex(FLOAT, r, l);
                int t = targets.getAtIndex(INT, r);
                losses.setAtIndex(FLOAT, r, t == ignoreIndex ? 0f : l - logits.getAtIndex(FLOAT, row + t));
            }
        });
    }

    static void crossEntropyBackward(Parallel par, MemorySegment dLosses, MemorySegment logits, MemorySegment targets,
                                     MemorySegment lse, int ignoreIndex, MemorySegment dLogits, int n, int vocab) {
        par.forRange(n, rowGrain(vocab), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                long row = (long) r * vocab;
                int t = targets.getAtIndex(INT, r);
                if (t == ignoreIndex) { dLogits.asSlice(row * 4, vocab * 4L).fill((byte) 0); continue; }
                float g = dLosses.getAtIndex(FLOAT, r);
                ReduceKernels.expShifted(logits, row, dLogits, row, vocab, lse.getAtIndex(FLOAT, r), g);
                dLogits.setAtIndex(FLOAT, row + t, dLogits.getAtIndex(FLOAT, row + t) - g);
            }
        });
    }
}
