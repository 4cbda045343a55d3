/*
 * ActivationCheckpoint on small segments: the parameters inside a segment get their gradients even when the
 * segment's input is a constant; gradients of the input and parameters equal the plain tape's bit for bit; a
 * segment that nothing differentiable passes through records nothing that fails; and StepArena.releaseSince
 * hands back exactly the buffers taken after the mark, except the one kept.
 */
package kd4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.Random;
import java.util.function.UnaryOperator;
import kd4j.autograd.ops.ElementwiseOps;
import kd4j.autograd.ops.LinearOps;
import kd4j.autograd.ops.LossOps;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;
import kd4j.tensor.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

class ActivationCheckpointTest {
    private static final Backend BE = new ReferenceBackend();

    private static Tensor random(long seed, int... shape) {
        Random r = new Random(seed);
        float[] v = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return BE.fromFloats(v, shape);
    }

    /** loss = sum(silu(x W^T) + x) through one segment (checkpointed or not); returns x's and W's gradients. */
    private static float[][] gradients(boolean checkpoint, boolean inputWantsGrad) {
        Parameter w = new Parameter("w", random(1, 6, 6), Parameter.Group.DECAY);
        Var x = new Var(random(2, 4, 6), inputWantsGrad);
        UnaryOperator<Var> segment = in -> ElementwiseOps.add(ElementwiseOps.silu(LinearOps.linear(in, w, null)), in);
        StepArena arena = new StepArena();
        try (var scope = arena.activate(); var c = ActivationCheckpoint.enable(checkpoint)) {
            Var y = ActivationCheckpoint.apply("segment", x, segment);
            Tape.backward(LossOps.sum(ElementwiseOps.mul(y, y)));
        }
        return new float[][] {x.grad() == null ? null : x.grad().toFloatArray(), w.grad().toFloatArray()};
    }

    @Test
    void gradientsEqualThePlainTapeBitForBit() {
        float[][] plain = gradients(false, true), checkpointed = gradients(true, true);
        assertArrayEquals(plain[0], checkpointed[0], 0f, "dX");
        assertArrayEquals(plain[1], checkpointed[1], 0f, "dW");
    }

    @Test
    void parametersInsideGetGradientsWhenTheInputIsAConstant() {
        float[][] plain = gradients(false, false), checkpointed = gradients(true, false);
        assertNull(checkpointed[0], "a constant input gets no gradient");
        assertArrayEquals(plain[1], checkpointed[1], 0f, "dW");
    }

    @Test
    void aSegmentWithNothingToDifferentiateIsHarmless() {
        Var x = Var.constant(random(3, 2, 3)), scale = new Var(random(4, 2, 3), true);
        try (var c = ActivationCheckpoint.enable(true)) {
            Var y = ActivationCheckpoint.apply("constant", x, in -> ElementwiseOps.scale(in, 2f));
            Tape.backward(LossOps.sum(ElementwiseOps.mul(y, scale)));
        }
        assertArrayEquals(x.data().toFloatArray(), scaleBy(scale.grad().toFloatArray(), 0.5f), 0f);
    }

    private static float[] scaleBy(float[] v, float s) {
        float[] out = v.clone();
        for (int i = 0; i < out.length; i++) out[i] *= s;
        return out;
    }

    @Test
    void releaseSinceHandsBackAllButTheKeptBuffer() {
        StepArena arena = new StepArena();
        Tensor before = arena.take(BE, DType.F32, 8);
        int mark = arena.mark();
        Tensor a = arena.take(BE, DType.F32, 8), kept = arena.take(BE, DType.F32, 8), b = arena.take(BE, DType.F32, 4);
        long bytes = arena.bytesAllocated();
        arena.releaseSince(mark, kept);
        assertEquals(2, arena.buffersInUse(), "the buffer before the mark and the kept one stay");
        Tensor again = arena.take(BE, DType.F32, 8), again4 = arena.take(BE, DType.F32, 4);
        assertEquals(bytes, arena.bytesAllocated(), "released buffers are reused, not allocated again");
        assertSame(a.storage(), again.storage());
        assertSame(b.storage(), again4.storage());
        arena.reset();
        assertEquals(0, arena.buffersInUse());
    }
}
