/*
 * Activation checkpointing changes memory, never numbers: for every family, two training steps (forward with a
 * padding mask, mean cross-entropy, backward, AdamW) with run.activationCheckpointing on give bit-identical
 * losses and parameter gradients to the same steps without it, on the multi-threaded CPU backend and the
 * reference backend; and the step arena of the checkpointed run holds fewer bytes (its layers' intermediates are
 * handed back and reused instead of kept until the step ends).
 */
package kd4j.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.List;
import java.util.Random;
import kd4j.autograd.ActivationCheckpoint;
import kd4j.autograd.Parameter;
import kd4j.autograd.StepArena;
import kd4j.autograd.Tape;
import kd4j.autograd.Var;
import kd4j.autograd.ops.LossOps;
import kd4j.autograd.optim.AdamW;
import kd4j.tensor.Backend;
import kd4j.tensor.Backends;
import kd4j.tensor.Tensor;
import kd4j.tensor.reference.ReferenceBackend;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ActivationCheckpointTest {
    private static final int BATCH = 2, SEQ = 11;

    @ParameterizedTest(name = "{0} on {1}")
    @CsvSource({"llama, cpu:2", "qwen2, cpu:2", "qwen3, cpu:2", "mamba, cpu:2", "llama, reference", "mamba, reference"})
    void gradientsAreBitIdenticalToThePlainRun(String family, String device) {
        ModelConfig cfg = TinyConfigs.parse(TinyConfigs.ALL.get(family).replace("\"num_hidden_layers\": 2",
                "\"num_hidden_layers\": 3"));
        try (Backend be = device.equals("reference") ? new ReferenceBackend() : Backends.open(device)) {
            Run plain = new Run(Models.randomInit(cfg, be, 5), false), checkpointed = new Run(Models.randomInit(cfg, be, 5), true);
            for (int step = 1; step <= 2; step++) {
                double a = plain.step(), b = checkpointed.step();
                assertEquals(Double.doubleToRawLongBits(a), Double.doubleToRawLongBits(b),
                        family + ": loss of step " + step + ": plain " + a + ", checkpointed " + b);
                List<Parameter> pa = plain.model.parameters().all(), pb = checkpointed.model.parameters().all();
                for (int i = 0; i < pa.size(); i++)
                    assertBitIdentical(family + " step " + step + ": gradient of " + pa.get(i).name(),
                            pa.get(i).grad().toFloatArray(), pb.get(i).grad().toFloatArray());
                plain.update();
                checkpointed.update();
            }
            long plainBytes = plain.arena.bytesAllocated(), checkpointedBytes = checkpointed.arena.bytesAllocated();
            assertTrue(checkpointedBytes < plainBytes, family + ": the checkpointed step arena holds "
                    + checkpointedBytes + " bytes, the plain one " + plainBytes);
        }
    }

    private static void assertBitIdentical(String what, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++)
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i]))
                fail(what + ": first difference at [" + i + "]: plain " + expected[i] + ", checkpointed " + actual[i]);
    }

    /** One model's training state, as the Trainer runs it: a step arena, AdamW, checkpointing on or off. */
    private static final class Run {
        final CausalLM model;
        final boolean checkpoint;
        final Tensor ids, mask, targets;
        final AdamW optimizer;
        final StepArena arena = new StepArena();

        Run(CausalLM model, boolean checkpoint) {
            this.model = model;
            this.checkpoint = checkpoint;
            Backend be = model.backend();
            Random r = new Random(3);
            int[] id = new int[BATCH * SEQ], m = new int[BATCH * SEQ];
            for (int i = 0; i < id.length; i++) {
                id[i] = r.nextInt(model.config().vocabSize());
                m[i] = i >= SEQ && i % SEQ >= SEQ - 3 ? 0 : 1;      // row 1 ends in 3 padding tokens
            }
            ids = be.fromInts(id, BATCH, SEQ);
            mask = be.fromInts(m, BATCH, SEQ);
            targets = NextTokenBatch.targetsOf(ids, mask);
            optimizer = new AdamW(model.parameters().all(), 1e-2, 0.1);
        }

        double step() {
            model.parameters().zeroGrad();
            try (var scope = arena.activate(); var c = ActivationCheckpoint.enable(checkpoint)) {
                Var loss = LossOps.crossEntropy(model.forward(ids, mask), targets, NextTokenBatch.IGNORE);
                Tape.backward(loss);
                return loss.data().item(new long[loss.data().rank()]);
            }
        }

        void update() {
            arena.reset();
            optimizer.step();
        }
    }
}
