/*
 * Optimizer updates in place over flat fp32 parameter, gradient and state buffers: AdamW (decoupled weight decay,
 * bias-corrected moments) and SGD with momentum. One pass per element block; bias corrections computed once.
 */
package kd4j.tensor.cpu;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import static kd4j.tensor.cpu.Simd.LE;
import static kd4j.tensor.cpu.Simd.F;
import static kd4j.tensor.cpu.Simd.FLOAT;
import static kd4j.tensor.cpu.Simd.L;

public final class OptimKernels {
    private OptimKernels() {}

    static void adamwStep(Parallel par, MemorySegment p, MemorySegment g, MemorySegment m, MemorySegment v, int n,
                          float lr, float beta1, float beta2, float eps, float weightDecay, int step) {
        float c1 = (float) (1 / (1 - Math.pow(beta1, step)));
        float c2 = (float) (1 / (1 - Math.pow(beta2, step)));
        par.forRange(n, ElementwiseKernels.GRAIN, (e0, e1) -> {
            int i = e0, ub = e0 + Simd.bound(e1 - e0);
            FloatVector vb1 = FloatVector.broadcast(F, beta1), vb1c = FloatVector.broadcast(F, 1 - beta1);
            FloatVector vb2 = FloatVector.broadcast(F, beta2), vb2c = FloatVector.broadcast(F, 1 - beta2);
            FloatVector vc1 = FloatVector.broadcast(F, c1), vc2 = FloatVector.broadcast(F, c2);
            FloatVector veps = FloatVector.broadcast(F, eps), vwd = FloatVector.broadcast(F, weightDecay);
            FloatVector vlr = FloatVector.broadcast(F, lr);
            for (; i < ub; i += L) {
                FloatVector gi = FloatVector.fromMemorySegment(F, g, 4L * i, LE), pi = FloatVector.fromMemorySegment(F, p, 4L * i, LE);
                FloatVector mi = FloatVector.fromMemorySegment(F, m, 4L * i, LE).mul(vb1).add(gi.mul(vb1c));
                FloatVector vi = FloatVector.fromMemorySegment(F, v, 4L * i, LE).mul(vb2).add(gi.mul(gi).mul(vb2c));
                FloatVector update = mi.mul(vc1).div(vi.mul(vc2).lanewise(VectorOperators.SQRT).add(veps)).add(pi.mul(vwd));
                mi.intoMemorySegment(m, 4L * i, LE);
                vi.intoMemorySegment(v, 4L * i, LE);
                pi.sub(update.mul(vlr)).intoMemorySegment(p, 4L * i, LE);
            }
            for (; i < e1; i++) {
                float gi = g.getAtIndex(FLOAT, i), pi = p.getAtIndex(FLOAT, i);
                float mi = beta1 * m.getAtIndex(FLOAT, i) + (1 - beta1) * gi;
                float vi = beta2 * v.getAtIndex(FLOAT, i) + (1 - beta2) * gi * gi;
                m.setAtIndex(FLOAT, i, mi);
                v.setAtIndex(FLOAT, i, vi);
                p.setAtIndex(FLOAT, i, pi - lr * (mi * c1 / ((float) Math.sqrt(vi * c2) + eps) + weightDecay * pi));
            }
        });
    }

    static void sgdStep(Parallel par, MemorySegment p, MemorySegment g, MemorySegment buf, int n, float lr,
                        float momentum, float weightDecay) {
        par.forRange(n, ElementwiseKernels.GRAIN, (e0, e1) -> {
            int i = e0, ub = e0 + Simd.bound(e1 - e0);
            FloatVector vm = FloatVector.broadcast(F, momentum), vwd = FloatVector.broadcast(F, weightDecay);
            FloatVector vlr = FloatVector.broadcast(F, lr);
            for (; i < ub; i += L) {
                FloatVector b = FloatVector.fromMemorySegment(F, buf, 4L * i, LE).mul(vm).add(FloatVector.fromMemorySegment(F, g, 4L * i, LE)), pi = FloatVector.fromMemorySegment(F, p, 4L * i, LE);
                b.intoMemorySegment(buf, 4L * i, LE);
                pi.sub(b.add(pi.mul(vwd)).mul(vlr)).intoMemorySegment(p, 4L * i, LE);
            }
            for (; i < e1; i++) {
                float b = momentum * buf.getAtIndex(FLOAT, i) + g.getAtIndex(FLOAT, i), pi = p.getAtIndex(FLOAT, i);
                buf.setAtIndex(FLOAT, i, b);
                p.setAtIndex(FLOAT, i, pi - lr * (b + weightDecay * pi));
            }
        });
    }
}
