/*
 * Divergence in the training loop (issue #18): a non-finite loss or gradient norm stops the run at that step,
 * before the optimizer touches the weights, so every checkpoint holds finite state; the anomaly check names the
 * op and the layer that made the first NaN; an exploding but finite loss is warned about with its numbers.
 */
package kd4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import kd4j.autograd.Parameter;
import kd4j.autograd.Tape;
import kd4j.models.CausalLM;
import kd4j.models.io.SafeTensors;
import kd4j.tensor.Backend;
import kd4j.tensor.Tensor;
import kd4j.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerDivergenceTest {
    private static final int SEQ = 16, BATCH = 4, VOCAB = 64;
    @TempDir Path dir;
    private final Backend be = new CpuBackend(1);

    @AfterEach
    void close() { be.close(); }

    private static TrainConfig config(long steps, Map<String, String> more) throws IOException {
        Map<String, String> o = new HashMap<>(Map.of(
                "model.config", "tiny-qwen2.json", "data.seqLength", "" + SEQ, "data.batchSize", "" + BATCH,
                "optimizer.lr", "0.01", "run.maxSteps", "" + steps, "run.evalInterval", "0",
                "run.checkpointInterval", "1", "run.keepCheckpoints", "100", "run.seed", "42"));
        o.putAll(more);
        return TrainConfig.load(null, o);
    }

    private Trainer trainer(CausalLM model, TrainConfig cfg, Path runDir, List<StepResult> steps, List<String> warnings,
                            boolean anomaly) {
        return Trainer.builder(model, cfg, new TestModels.ListData(TestModels.affineInstances(64, SEQ, VOCAB, 1), BATCH, SEQ, 5))
                .runDir(runDir).listener(steps::add).warnings(warnings::add).detectAnomaly(anomaly).exportModel(false)
                .build();
    }

    @Test
    void hugeLearningRate_stopsAtTheFirstNonFiniteStep_withEveryCheckpointFinite() throws IOException {
        Path runDir = dir.resolve("lr1e6");
        List<StepResult> steps = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        Trainer t = trainer(TestModels.tinyQwen2(be, 7), config(50,
                Map.of("optimizer.lr", "1e6", "schedule.kind", "constant", "optimizer.clip", "0")), runDir, steps, warnings, false);
        DivergenceException e = assertThrows(DivergenceException.class, t::run);
        // The failing step is the one after the last reported step; nothing of it was logged or checkpointed.
        assertEquals(steps.size() + 1, e.step(), e.getMessage());
        assertTrue(e.step() < 50, "must stop early: " + e.getMessage());
        assertTrue(e.getMessage().contains("training diverged at step " + e.step() + ": "), e.getMessage());
        assertTrue(e.getMessage().contains("lower optimizer.lr") && e.getMessage().contains("--detect-anomaly"), e.getMessage());
        for (StepResult r : steps) assertTrue(Double.isFinite(r.loss()) && Double.isFinite(r.gradNorm()), "step " + r.step());
        List<JsonNode> metrics = Metrics.read(runDir.resolve(Trainer.METRICS_FILE));
        assertEquals(steps.size(), metrics.size());
        for (JsonNode m : metrics) assertTrue(Double.isFinite(m.get("loss").asDouble()), m.toString());
        List<Path> checkpoints = Checkpoint.complete(runDir.resolve(Trainer.CHECKPOINTS));
        assertEquals(steps.size(), checkpoints.size());
        for (Path c : checkpoints)
            try (var files = Files.list(c)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".safetensors")).toList()) {
                    SafeTensors st = SafeTensors.open(f);
                    for (String n : st.names()) assertEquals(-1, st.firstNonFinite(n), c + ": " + n);
                }
            }
        if (!steps.isEmpty() && steps.getLast().loss() > 10 * steps.getFirst().loss())
            assertFalse(warnings.isEmpty(), "an exploding loss before the NaN is warned about");
    }

    @Test
    void anomalyCheck_namesTheOpAndTheLayerOfTheFirstNaN() throws IOException {
        CausalLM model = TestModels.tinyQwen2(be, 7);
        Parameter up = null;
        for (Parameter p : model.parameters().all()) if (p.name().equals("model.layers.1.mlp.up_proj.weight")) up = p;
        float[] w = up.data().toFloatArray();
        w[3] = Float.NaN;
        be.copy(be.fromFloats(w, up.data().shape()), up.data());
        List<StepResult> steps = new ArrayList<>();
        boolean before = Tape.checksFinite();
        DivergenceException e = assertThrows(DivergenceException.class,
                () -> trainer(model, config(4, Map.of()), dir.resolve("nan"), steps, new ArrayList<>(), true).run());
        assertEquals(before, Tape.checksFinite(), "the check is switched back after the run");
        assertEquals(1, e.step());
        assertTrue(steps.isEmpty());
        assertTrue(e.getMessage().contains("(model.layers.1.mlp.up_proj.weight) produced NaN or Inf"), e.getMessage());
        assertTrue(e.getMessage().startsWith("training diverged at step 1: op '"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("nan").resolve(Trainer.CHECKPOINTS).resolve("latest")));
        // without the check, the same run stops at step 1 on its NaN loss and points to the check
        DivergenceException plain = assertThrows(DivergenceException.class,
                () -> trainer(model, config(4, Map.of()), dir.resolve("nan2"), steps, new ArrayList<>(), false).run());
        assertEquals(1, plain.step());
        assertTrue(plain.getMessage().contains("loss is NaN"), plain.getMessage());
    }

    @Test
    void explodingFiniteLoss_isWarnedAboutWithTheNumbers() throws IOException {
        List<StepResult> steps = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        Trainer t = trainer(TestModels.tinyQwen2(be, 7), config(6, Map.of("optimizer.lr", "30",
                "schedule.kind", "constant")), dir.resolve("lr30"), steps, warnings, false);
        try {
            t.run();
        } catch (DivergenceException stoppedLater) {
            // may also go non-finite later; the warning must have come first
        }
        double first = steps.getFirst().loss();
        StepResult over = steps.stream().filter(r -> r.loss() > 10 * first).findFirst().orElseThrow(
                () -> new AssertionError("lr 30 did not explode the loss: " + steps.stream().map(StepResult::loss).toList()));
        assertFalse(warnings.isEmpty());
        String w = warnings.getFirst();
        assertTrue(w.startsWith("step " + over.step() + ": loss "), w);
        assertTrue(w.contains("x the first step's") && w.contains("lower optimizer.lr"), w);
    }
}
