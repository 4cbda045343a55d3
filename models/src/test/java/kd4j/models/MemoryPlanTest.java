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

    /**
     * --precision bf16 scoring counts the bf16 copies of the linear inputs (two layers live and the head's input)
     * and, for weights stored in fp32, of two layers' linear weights and the head. By hand for the Qwen3 fixtures
     * (hidden 64, 4 heads of 24, 2 KV heads, intermediate 128, 2 layers, vocab 256, untied), 4 x 1000 tokens: inputs
     * per token and layer 3 * 64 (q, k, v) + 96 (o) + 2 * 64 (gate, up) + 128 (down) = 544, so 2 * 544 * 4000 +
     * 64 * 4000 = 4,608,000 bf16 = 9,216,000 bytes; weights per layer 96*64 + 2 * 48*64 + 64*96 + 2 * 128*64 +
     * 64*128 = 43,008 and the head 256 * 64 = 16,384, so 2 * (2 * 43,008 + 16,384) = 204,800 bytes more in fp32.
     */
    @Test
    void bf16InferencePlan_countsTheBf16CopiesOfInputsAndOfWiderWeights() {
        Path bf16 = null, fp32 = null;
        for (Path d : Fixtures.bundledModelDirs()) {
            if (d.getFileName().toString().equals("qwen3-attention-bias-bf16-sharded")) bf16 = d;
            if (d.getFileName().toString().equals("qwen3-attention-bias")) fp32 = d;
        }
        MemoryPlan kept = MemoryPlan.inference("score", bf16, 4, 1000, 1 << 20, true, be);
        MemoryPlan wide = MemoryPlan.inference("score", fp32, 4, 1000, 1 << 20, true, be);
        MemoryPlan plain = MemoryPlan.inference("score", bf16, 4, 1000, 1 << 20, false, be);
        assertEquals(9_216_000L, line(kept, "bf16 copies of linear inputs").bytes());
        assertEquals(9_216_000L + 204_800L, line(wide, "bf16 copies of linear inputs and weights").bytes());
        assertEquals(kept.totalBytes() - 9_216_000L, plain.totalBytes(), "fp32 scoring makes no copies");
    }

    private static MemoryPlan.Line line(MemoryPlan plan, String what) {
        return plan.lines().stream().filter(l -> l.what().equals(what)).findFirst()
                .orElseThrow(() -> new AssertionError("no line '" + what + "' in\n" + plan.table()));
    }

    /** On the CPU backend the frozen weights' GEMM panels (fp32, one per linear weight element) are a heap line. */
    @Test
    void cpuInferencePlan_countsTheGemmPanelsOnTheHeap_notAsTensorMemory() {
        Path dir = Fixtures.bundledQwen2();
        ModelConfig cfg = kd4j.models.io.HfCheckpoint.readConfig(dir);
        try (var cpu = new kd4j.tensor.cpu.CpuBackend(1)) {
            MemoryPlan plan = MemoryPlan.inference("score", dir, 2, 16, 1 << 20, cpu);
            MemoryPlan.Line panels = plan.lines().stream().filter(MemoryPlan.Line::heap).findFirst().orElseThrow();
            assertEquals(Math.min(kd4j.tensor.cpu.CpuBackend.frozenWeightPanelBudget(), 4 * MemoryPlan.linearWeightNumel(cfg)),
                    panels.bytes());
            assertEquals(plan.lines().stream().filter(l -> !l.mapped() && !l.heap()).mapToLong(MemoryPlan.Line::bytes).sum(),
                    plan.tensorBytes());
            assertTrue(plan.table().contains("(Java heap, not tensor memory)"), plan.table());
        }
        assertTrue(MemoryPlan.inference("score", dir, 2, 16, 1 << 20, be).lines().stream().noneMatch(MemoryPlan.Line::heap),
                "the reference backend packs nothing");
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
        long plain = MemoryPlan.training(cfg, 8, 512, false, false, null, be).tensorBytes();
        long checkpointed = MemoryPlan.training(cfg, 8, 512, true, false, null, be).tensorBytes();
        assertTrue(checkpointed < plain, checkpointed + " vs " + plain);
        long params = MemoryPlan.parameterCount(cfg);
        assertEquals(16 * params, MemoryPlan.training(cfg, 1, 1, false, false, null, be).lines().stream().limit(3)
                .mapToLong(MemoryPlan.Line::bytes).sum(), "fp32 weights, gradients and two AdamW moments");
    }

    /**
     * By hand for the tiny Qwen2 (vocab 61, hidden 32, 4 heads of 8, 1 kv head, intermediate 40, 2 layers, tied):
     * linear weights per layer q 1,024 + k 256 + v 256 + o 1,024 + gate, up, down 3 x 1,280 = 6,400, two layers and the
     * tied head 1,952: 14,752 bf16 = 29,504 bytes. Linear inputs per token and layer: q, k, v 3 x 32, o 32, gate and
     * up 2 x 32, down 40 = 232; with the head's 32 and the dlogits' 61, 2 x 232 + 93 = 557 per token, 6 tokens in
     * bf16: 6,684 bytes; checkpointed (one layer live) 232 + 93 = 325: 3,900 bytes.
     */
    @Test
    void bf16MatmulInputs_addTheirCopiesToTheTrainingPlan() {
        ModelConfig cfg = TinyConfigs.parse(TinyConfigs.QWEN2);
        for (boolean checkpoint : new boolean[] {false, true}) {
            long fp32 = MemoryPlan.training(cfg, 2, 3, checkpoint, false, null, be).tensorBytes();
            long bf16 = MemoryPlan.training(cfg, 2, 3, checkpoint, true, null, be).tensorBytes();
            assertEquals(29_504 + (checkpoint ? 3_900 : 6_684), bf16 - fp32, "checkpoint " + checkpoint);
        }
    }
}
