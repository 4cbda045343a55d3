/*
 * Logit-distillation losses between student and teacher rows over the same vocabulary: dense forward/reverse KL,
 * soft cross-entropy and MSE, and the sparse (offline top-k cache) soft cross-entropy. Each row is streamed a few
 * times (max, sum of exp, then the divergence), with only per-row scalars kept: never a [N, V] softmax copy.
 * With x = s / tau, ls = x - lse(x), ps = exp(ls) (and likewise for the teacher):
 *   FORWARD_KL = sum pt (lt - ls), gradient (ps - pt) / tau;  SOFT_CE = -sum pt ls, gradient (ps - pt) / tau;
 *   REVERSE_KL = sum ps (ls - lt), gradient ps ((ls - lt) - KL) / tau;  MSE = mean (s - t)^2, gradient 2 (s - t) / V.
 */
package kd4j.tensor.cpu;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import kd4j.tensor.Backend.Divergence;
import kd4j.tensor.BackendChecks;

import static kd4j.tensor.cpu.Simd.LE;
import static kd4j.tensor.cpu.Simd.F;
import static kd4j.tensor.cpu.Simd.FLOAT;
import static kd4j.tensor.cpu.Simd.INT;
import static kd4j.tensor.cpu.Simd.L;

public final class DistillKernels {
    private DistillKernels() {}

    static void distillForward(Parallel par, Divergence div, float tau, MemorySegment student, MemorySegment teacher,
                               MemorySegment perToken, int n, int vocab) {
        float inv = 1f / tau;
        par.forRange(n, CrossEntropyKernels.rowGrain(vocab), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                long row = (long) r * vocab;
                float value;
                if (div == Divergence.MSE) value = squaredDistance(student, teacher, row, vocab) / vocab;
                else {
                    float lseS = Simd.logSumExp(student, row, vocab, inv), lseT = Simd.logSumExp(teacher, row, vocab, inv);
                    value = switch (div) {
                        case FORWARD_KL -> weightedLogRatio(teacher, lseT, student, lseS, row, vocab, inv);
                        case REVERSE_KL -> weightedLogRatio(student, lseS, teacher, lseT, row, vocab, inv);
                        case SOFT_CE -> -crossTerm(teacher, lseT, student, lseS, row, vocab, inv);
                        case MSE -> throw new AssertionError();
                    };
                }
                perToken.setAtIndex(FLOAT, r, value);
            }
        });
    }

    /** sum_v p_v (lp_v - lq_v) with lp = p * inv - lseP, lq = q * inv - lseQ: KL(P || Q). */
    private static float weightedLogRatio(MemorySegment p, float lseP, MemorySegment q, float lseQ, long row, int n, float inv) {
        int i = 0, ub = Simd.bound(n);
        float sum = 0, shift = lseQ - lseP;
        if (ub > 0) {
            FloatVector acc = FloatVector.zero(F), vi = FloatVector.broadcast(F, inv);
            FloatVector vlp = FloatVector.broadcast(F, -lseP), vsh = FloatVector.broadcast(F, shift);
            for (; i < ub; i += L) {
                FloatVector pv = FloatVector.fromMemorySegment(F, p, 4L * (row + i), LE), qv = FloatVector.fromMemorySegment(F, q, 4L * (row + i), LE);
                FloatVector prob = Simd.exp(pv.fma(vi, vlp));
                acc = prob.fma(pv.sub(qv).fma(vi, vsh), acc);
            }
            sum = Simd.sumLanes(acc);
        }
        for (; i < n; i++) {
            float pv = p.getAtIndex(FLOAT, row + i), qv = q.getAtIndex(FLOAT, row + i);
            sum += (float) Math.exp(pv * inv - lseP) * ((pv - qv) * inv + shift);
        }
        return sum;
    }

    /** sum_v p_v lq_v. */
    private static float crossTerm(MemorySegment p, float lseP, MemorySegment q, float lseQ, long row, int n, float inv) {
        int i = 0, ub = Simd.bound(n);
        float sum = 0;
        if (ub > 0) {
            FloatVector acc = FloatVector.zero(F), vi = FloatVector.broadcast(F, inv);
            FloatVector vlp = FloatVector.broadcast(F, -lseP), vlq = FloatVector.broadcast(F, -lseQ);
            for (; i < ub; i += L)
                acc = Simd.exp(FloatVector.fromMemorySegment(F, p, 4L * (row + i), LE).fma(vi, vlp)).fma(FloatVector.fromMemorySegment(F, q, 4L * (row + i), LE).fma(vi, vlq), acc);
            sum = Simd.sumLanes(acc);
        }
        for (; i < n; i++)
            sum += (float) Math.exp(p.getAtIndex(FLOAT, row + i) * inv - lseP) * (q.getAtIndex(FLOAT, row + i) * inv - lseQ);
        return sum;
    }

    private static float squaredDistance(MemorySegment a, MemorySegment b, long row, int n) {
        int i = 0, ub = Simd.bound(n);
        float sum = 0;
        if (ub > 0) {
            FloatVector acc = FloatVector.zero(F);
            for (; i < ub; i += L) { FloatVector d = FloatVector.fromMemorySegment(F, a, 4L * (row + i), LE).sub(FloatVector.fromMemorySegment(F, b, 4L * (row + i), LE)); acc = d.fma(d, acc); }
            sum = Simd.sumLanes(acc);
        }
        for (; i < n; i++) { float d = a.getAtIndex(FLOAT, row + i) - b.getAtIndex(FLOAT, row + i); sum += d * d; }
        return sum;
    }

    static void distillBackward(Parallel par, Divergence div, float tau, MemorySegment dPerToken, MemorySegment student,
                                MemorySegment teacher, MemorySegment dStudent, int n, int vocab) {
        float inv = 1f / tau;
        par.forRange(n, CrossEntropyKernels.rowGrain(vocab), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                long row = (long) r * vocab;
                float g = dPerToken.getAtIndex(FLOAT, r);
                int i = 0, ub = Simd.bound(vocab);
                if (div == Divergence.MSE) {
                    float k = 2f * g / vocab;
                    FloatVector vk = FloatVector.broadcast(F, k);
                    for (; i < ub; i += L) FloatVector.fromMemorySegment(F, student, 4L * (row + i), LE).sub(FloatVector.fromMemorySegment(F, teacher, 4L * (row + i), LE)).mul(vk).intoMemorySegment(dStudent, 4L * (row + i), LE);
                    for (; i < vocab; i++)
                        dStudent.setAtIndex(FLOAT, row + i, (student.getAtIndex(FLOAT, row + i) - teacher.getAtIndex(FLOAT, row + i)) * k);
                    continue;
                }
                float lseS = Simd.logSumExp(student, row, vocab, inv), lseT = Simd.logSumExp(teacher, row, vocab, inv);
                float k = g * inv;
                FloatVector vi = FloatVector.broadcast(F, inv), vk = FloatVector.broadcast(F, k);
                FloatVector vls = FloatVector.broadcast(F, -lseS), vlt = FloatVector.broadcast(F, -lseT);
                if (div == Divergence.REVERSE_KL) {
                    float kl = weightedLogRatio(student, lseS, teacher, lseT, row, vocab, inv);
                    FloatVector vsh = FloatVector.broadcast(F, lseT - lseS - kl);
                    for (; i < ub; i += L) {
                        FloatVector s = FloatVector.fromMemorySegment(F, student, 4L * (row + i), LE), t = FloatVector.fromMemorySegment(F, teacher, 4L * (row + i), LE);
                        FloatVector ps = Simd.exp(s.fma(vi, vls));
                        ps.mul(s.sub(t).fma(vi, vsh)).mul(vk).intoMemorySegment(dStudent, 4L * (row + i), LE);
                    }
                    for (; i < vocab; i++) {
                        float s = student.getAtIndex(FLOAT, row + i), t = teacher.getAtIndex(FLOAT, row + i);
                        float ps = (float) Math.exp(s * inv - lseS);
                        dStudent.setAtIndex(FLOAT, row + i, k * ps * ((s - t) * inv + lseT - lseS - kl));
                    }
                } else {
                    for (; i < ub; i += L) {
                        FloatVector ps = Simd.exp(FloatVector.fromMemorySegment(F, student, 4L * (row + i), LE).fma(vi, vls));
                        FloatVector pt = Simd.exp(FloatVector.fromMemorySegment(F, teacher, 4L * (row + i), LE).fma(vi, vlt));
                        ps.sub(pt).mul(vk).intoMemorySegment(dStudent, 4L * (row + i), LE);
                    }
                    for (; i < vocab; i++) {
                        float ps = (float) Math.exp(student.getAtIndex(FLOAT, row + i) * inv - lseS);
                        float pt = (float) Math.exp(teacher.getAtIndex(FLOAT, row + i) * inv - lseT);
                        dStudent.setAtIndex(FLOAT, row + i, k * (ps - pt));
                    }
                }
            }
        });
    }

    static void checkSparseIds(String op, MemorySegment ids, int n, int topK, int vocab) {
        for (int i = 0; i < n * topK; i++) {
            int id = ids.getAtIndex(INT, i);
            if (id >= vocab)
                throw BackendChecks.sparseIdOutsideVocabulary(op, i / topK, i % topK, id, vocab);
        }
    }

    /** perToken[n] = -sum_k probs[n, k] (student[n, ids[n, k]] / tau - lse[n]), skipping ids < 0. */
    static void sparseDistillForward(Parallel par, float tau, MemorySegment student, MemorySegment ids, MemorySegment probs,
                                     MemorySegment perToken, MemorySegment lse, int n, int vocab, int topK) {
        float inv = 1f / tau;
        par.forRange(n, CrossEntropyKernels.rowGrain(vocab), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                long row = (long) r * vocab;
                float l = Simd.logSumExp(student, row, vocab, inv);
                lse.setAtIndex(FLOAT, r, l);
                float sum = 0;
                for (int k = 0; k < topK; k++) {
                    int id = ids.getAtIndex(INT, (long) r * topK + k);
                    if (id < 0) continue;
                    sum += probs.getAtIndex(FLOAT, (long) r * topK + k) * (student.getAtIndex(FLOAT, row + id) * inv - l);
                }
                perToken.setAtIndex(FLOAT, r, -sum);
            }
        });
    }

    /** dStudent[n, v] = dPerToken[n] / tau (softmax(student[n] / tau)[v] sum_k probs[n, k] - sum of probs at v). */
    static void sparseDistillBackward(Parallel par, float tau, MemorySegment dPerToken, MemorySegment student,
                                      MemorySegment ids, MemorySegment probs, MemorySegment lse, MemorySegment dStudent,
                                      int n, int vocab, int topK) {
        float inv = 1f / tau;
        par.forRange(n, CrossEntropyKernels.rowGrain(vocab), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                long row = (long) r * vocab, kr = (long) r * topK;
                float k = dPerToken.getAtIndex(FLOAT, r) * inv, mass = 0;
                for (int j = 0; j < topK; j++) if (ids.getAtIndex(INT, kr + j) >= 0) mass += probs.getAtIndex(FLOAT, kr + j);
                float l = lse.getAtIndex(FLOAT, r);
                int i = 0, ub = Simd.bound(vocab);
                FloatVector vi = FloatVector.broadcast(F, inv), vl = FloatVector.broadcast(F, -l), vk = FloatVector.broadcast(F, k * mass);
                for (; i < ub; i += L) Simd.exp(FloatVector.fromMemorySegment(F, student, 4L * (row + i), LE).fma(vi, vl)).mul(vk).intoMemorySegment(dStudent, 4L * (row + i), LE);
                for (; i < vocab; i++)
                    dStudent.setAtIndex(FLOAT, row + i, (float) Math.exp(student.getAtIndex(FLOAT, row + i) * inv - l) * k * mass);
                for (int j = 0; j < topK; j++) {
                    int id = ids.getAtIndex(INT, kr + j);
                    if (id < 0) continue;
                    dStudent.setAtIndex(FLOAT, row + id, dStudent.getAtIndex(FLOAT, row + id) - k * probs.getAtIndex(FLOAT, kr + j));
                }
            }
        });
    }
}
