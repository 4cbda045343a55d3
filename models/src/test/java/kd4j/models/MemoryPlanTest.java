/*
 * MemoryPlan: exact parameter counts (the recorded shapes vs a real model's registry, every family), weight bytes
 * of an inference load from the safetensors headers (bf16 kept, 1-D tensors widened), a logits line of one block,
 * never [B, T, V], and a refusal that carries the plan's numbers.
 */
package kd4j.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import kd4j.autograd.Parameter;
import kd4j.models.io.SafeTensors;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MemoryPlanTest {
    final Backend be = new ReferenceBackend();

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "qwen3", "mamba"})
    void parameterCount_equalsTheBuiltModel(String family) {
        ModelConfig cfg = TinyConfigs.parse(TinyConfigs.ALL.get(family));
        CausalLM model = Models.randomInit(cfg, be, 1);
        assertEquals(model.parameters().numel(), MemoryPlan.parameterCount(cfg), family);
        assertEquals(model.parameters().all().stream().map(Parameter::name).toList(), MemoryPlan.parameterNames(cfg));
    }

    @Test
    void inferencePlan_countsBf16WeightsAsStoredAndOneBlockOfLogits() throws Exception {
        Path dir = Fixtures.bundledModelDirs().stream()
                .filter(d -> d.getFileName().toString().equals("qwen3-attention-bias-bf16-sharded")).findFirst().orElseThrow();
        long half = 0, widened = 0;
        try (var files = Files.list(dir)) {
            for (Path f : files.filter(f -> f.getFileName().toString().startsWith("model-")).toList()) {
                SafeTensors st = SafeTensors.open(f);
                for (String n : st.names()) {
                    SafeTensors.Entry e = st.entry(n);
                    assertEquals(DType.BF16, e.dtype(), n);
                    if (e.shape().length >= 2) half += e.end() - e.begin(); else widened += e.numel() * 4;
                }
            }
        }
        int batch = 4, seq = 1000, vocab = 256;
        long block = 10L * vocab * 4;                                   // 10 positions a block
        MemoryPlan plan = MemoryPlan.inference("score", dir, batch, seq, block, be);
        List<MemoryPlan.Line> lines = plan.lines();
        assertEquals(half, lines.get(0).bytes(), "bf16 matrices and embeddings stay bf16");
        assertTrue(lines.get(0).mapped(), "host backends map them from the file");
        assertEquals(widened, lines.get(1).bytes(), "norms and biases widened to fp32");
        MemoryPlan.Line logits = lines.stream().filter(l -> l.what().startsWith("logits")).findFirst().orElseThrow();
        assertEquals(block + (long) batch * seq * 8, logits.bytes(), "one block plus per-position loss and lse");
        assertTrue(logits.bytes() < (long) batch * seq * vocab * 4 / 10, "never [B, T, V] whole");
        assertEquals(plan.tensorBytes(), plan.totalBytes() - half);
    }

    @Test
    void planThatDoesNotFit_isRefusedWithItsNumbers() {
        Path dir = Fixtures.bundledQwen2();
        MemoryPlan plan = MemoryPlan.inference("score", dir, 64, 2048, 1 << 20, be);
        MemoryPlan small = new MemoryPlan(plan.job(), plan.device(), plan.lines(), plan.tensorBytes() - 1);
        var e = assertThrows(MemoryPlan.DoesNotFit.class, () -> small.requireFits("lower --batch"));
        String m = e.getMessage();
        assertTrue(m.startsWith("memory plan for score on reference:"), m);
        assertTrue(m.contains("tensor memory needed") && m.contains("DOES NOT FIT") && m.contains("---> hint: lower --batch"), m);
        assertTrue(m.contains(MemoryPlan.human(plan.tensorBytes()) + " of " + MemoryPlan.human(plan.tensorBytes() - 1)), m);
        new MemoryPlan(plan.job(), plan.device(), plan.lines(), plan.tensorBytes()).requireFits("fits exactly");
    }

    @Test
    void activationCheckpointing_shrinksTheTrainingEstimate() {
        ModelConfig cfg = TinyConfigs.parse(TinyConfigs.ALL.get("llama"));
        long plain = MemoryPlan.training(cfg, 8, 512, false, null, be).tensorBytes();
        long checkpointed = MemoryPlan.training(cfg, 8, 512, true, null, be).tensorBytes();
        assertTrue(checkpointed < plain, checkpointed + " vs " + plain);
        long params = MemoryPlan.parameterCount(cfg);
        assertEquals(16 * params, MemoryPlan.training(cfg, 1, 1, false, null, be).lines().stream().limit(3)
                .mapToLong(MemoryPlan.Line::bytes).sum(), "fp32 weights, gradients and two AdamW moments");
    }
}
