/*
 * The training objective of one micro-batch, as a scalar on the tape. The language-model loss (mean next-token
 * cross-entropy) is the default; knowledge distillation plugs in its own (KD + LM mix, cached teacher logits
 * looked up by batch.instances()) without touching the Trainer. A stateful loss (an alpha schedule, a cache
 * cursor) saves and restores its state with the checkpoint, so --resume stays exact.
 */
package kd4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import kd4j.autograd.Var;
import kd4j.autograd.ops.LossOps;
import kd4j.models.CausalLM;
import kd4j.models.NextTokenBatch;
import kd4j.tensor.Backend;

@FunctionalInterface
public interface LossFunction {
    /** The loss of one micro-batch (a scalar Var recorded on the tape); step counts optimizer steps from 1. */
    Var loss(CausalLM student, MicroBatch batch, long step);

    /** Extra figures of the last micro-batches to log beside the loss ("kdLoss", "lmLoss"...); empty by default. */
    default Map<String, Double> lastMetrics() { return Map.of(); }

    /** State to save in the checkpoint, or null when the loss has none. */
    default JsonNode state() { return null; }

    /** Restores state(); called on resume with what state() returned (null when it returned null). */
    default void restore(JsonNode state) {}

    /** Mean next-token cross-entropy over the batch's counted targets. */
    static LossFunction languageModel() {
        return (student, batch, step) -> {
            Backend be = student.backend();
            Var logits = student.forward(be.fromInts(batch.inputs(), batch.batchSize(), batch.seqLength()), null);
            return LossOps.crossEntropy(logits, be.fromInts(batch.targets(), batch.batchSize() * batch.seqLength()),
                    NextTokenBatch.IGNORE);
        };
    }
}
