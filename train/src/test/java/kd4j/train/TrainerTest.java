package kd4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
import kd4j.models.CausalLM;
import kd4j.models.Models;
import kd4j.tensor.Backend;
import kd4j.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerTest {
    private static final int SEQ = 16, BATCH = 4, VOCAB = 64;
    private static final int THREADS = Integer.getInteger("kd4j.test.threads", 1);
    @TempDir Path dir;
    private final Backend be = new CpuBackend(THREADS);

    @AfterEach
    void close() { be.close(); }

    private static TrainConfig config(long steps, Map<String, String> more) throws IOException {
        Map<String, String> o = new HashMap<>(Map.of(
                "model.config", "tiny-qwen2.json",
                "data.seqLength", "" + SEQ, "data.batchSize", "" + BATCH, "data.gradAccum", "2",
                "optimizer.lr", "0.01", "schedule.warmupSteps", "2",
                "run.maxSteps", "" + steps, "run.evalInterval", "4", "run.checkpointInterval", "4",
                "run.seed", "42"));
        o.putAll(more);
        return TrainConfig.load(null, o);
    }

    private static List<int[]> train() { return TestModels.affineInstances(64, SEQ, VOCAB, 1); }

    private static List<int[]> validation() { return TestModels.affineInstances(8, SEQ, VOCAB, 2); }

    private record Run(List<StepResult> steps, Trainer.Result result, Map<String, float[]> params) {}

    private Run run(Path runDir, TrainConfig config, long modelSeed, boolean resume, long crashAtStep) throws IOException {
        CausalLM model = TestModels.tinyQwen2(be, modelSeed);
        List<StepResult> steps = new ArrayList<>();
        Trainer t = Trainer.builder(model, config, new TestModels.ListData(train(), BATCH, SEQ, 5))
                .validation(validation()).runDir(runDir).resume(resume)
                .listener(steps::add)
                .listener(r -> { if (r.step() == crashAtStep) throw new IllegalStateException("simulated crash"); })
                .build();
        Trainer.Result result = null;
        try {
            result = t.run();
        } catch (IllegalStateException e) {
            assertEquals("simulated crash", e.getMessage());
        }
        Map<String, float[]> params = new LinkedHashMap<>();
        for (Parameter p : model.parameters().all()) params.put(p.name(), p.data().toFloatArray());
        return new Run(steps, result, params);
    }

    @Test
    void tinyModel_learnsTheTinyCorpus_andWritesTheRunFolder() throws IOException {
        Path runDir = dir.resolve("run");
        Run r = run(runDir, config(40, Map.of()), 7, false, -1);
        assertEquals(40, r.steps().size());
        double first = r.steps().get(0).loss();
        // A random 64-token model starts near ln 64 = 4.16; the affine sequences are learnable.
        assertEquals(Math.log(VOCAB), first, 0.7);
        assertTrue(r.result().loss() < 1.5, "final loss " + r.result().loss() + " (first " + first + ")");
        assertTrue(r.result().evalLoss() < 1.5, "final eval loss " + r.result().evalLoss());
        for (String f : List.of(Trainer.CONFIG_FILE, Trainer.METRICS_FILE, "loss.png", "loss.svg",
                "checkpoints/latest", "model/config.json", "model/model.safetensors"))
            assertTrue(Files.exists(runDir.resolve(f)), f);
        List<JsonNode> metrics = Metrics.read(runDir.resolve(Trainer.METRICS_FILE));
        assertEquals(40, metrics.size());
        assertEquals(10, metrics.stream().filter(n -> n.has("evalLoss")).count());
        assertEquals(r.steps().get(39).loss(), metrics.get(39).get("loss").asDouble());
        assertEquals(40L * 2 * BATCH * SEQ, metrics.get(39).get("tokens").asLong());
        // The exported HF model reloads to the trained weights.
        CausalLM reloaded = Models.load(runDir.resolve("model"), be);
        for (Parameter p : reloaded.parameters().all())
            assertArrayEquals(r.params().get(p.name()), p.data().toFloatArray(), p.name());
        // Warm-up then cosine decay: lr at step 1 is lr/2, peaks at step 2, ends at lr * minLrRatio.
        assertEquals(0.005, r.steps().get(0).lr(), 1e-12);
        assertEquals(0.01, r.steps().get(2).lr(), 1e-12);
        assertTrue(r.steps().get(39).lr() < 0.0012);
    }

    @Test
    void killedAndResumed_endsBitIdenticalToUninterrupted_andSameSeedRepeats() throws IOException {
        TrainConfig cfg = config(12, Map.of());
        Run whole = run(dir.resolve("whole"), cfg, 7, false, -1);
        Run again = run(dir.resolve("again"), cfg, 7, false, -1);
        // Same seed, same threads: the same losses, bit for bit.
        assertEquals(losses(whole.steps()), losses(again.steps()));

        Path runDir = dir.resolve("killed");
        Run part = run(runDir, cfg, 7, false, 6);                 // crashes after step 6; last checkpoint: 4
        assertEquals(6, part.steps().size());
        assertEquals(List.of(runDir.resolve("checkpoints/step-00000004")),
                Checkpoint.complete(runDir.resolve("checkpoints")));
        Run rest = run(runDir, cfg, 999, true, -1);               // other init seed: the checkpoint must win
        assertEquals(8, rest.steps().size());
        assertEquals(5, rest.steps().get(0).step());
        List<Double> stitched = new ArrayList<>(losses(part.steps()).subList(0, 4));
        stitched.addAll(losses(rest.steps()));
        assertEquals(losses(whole.steps()), stitched);
        for (String name : whole.params().keySet())
            assertArrayEquals(whole.params().get(name), rest.params().get(name), name);
        assertEquals(whole.result().evalLoss(), rest.result().evalLoss());
        // metrics.jsonl lost the crashed steps 5 and 6 and holds each step once, with the uninterrupted losses.
        List<JsonNode> metrics = Metrics.read(runDir.resolve(Trainer.METRICS_FILE));
        assertEquals(12, metrics.size());
        for (int i = 0; i < 12; i++) {
            assertEquals(i + 1, metrics.get(i).get("step").asLong());
            assertEquals(whole.steps().get(i).loss(), metrics.get(i).get("loss").asDouble());
        }
    }

    @Test
    void activationCheckpointing_trainsBitIdenticallyToThePlainRun() throws IOException {
        TrainConfig on = config(6, Map.of("run.activationCheckpointing", "true"));
        assertTrue(on.run().activationCheckpointing());
        assertFalse(config(6, Map.of()).run().activationCheckpointing(), "off by default");
        Run plain = run(dir.resolve("plain"), config(6, Map.of()), 7, false, -1);
        Run checkpointed = run(dir.resolve("checkpointed"), on, 7, false, -1);
        assertEquals(losses(plain.steps()), losses(checkpointed.steps()));
        for (String name : plain.params().keySet())
            assertArrayEquals(plain.params().get(name), checkpointed.params().get(name), name);
    }

    @Test
    void bf16Precision_isRefusedOnTheCpuBackend_withTheReason() throws IOException {
        TrainConfig bf16 = config(2, Map.of("run.precision", "bf16"));
        assertEquals(kd4j.autograd.MatmulPrecision.BF16, bf16.run().precision());
        assertEquals(kd4j.autograd.MatmulPrecision.FP32, config(2, Map.of()).run().precision(), "fp32 by default");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> run(dir.resolve("bf16"), bf16, 7, false, -1));
        assertTrue(e.getMessage().contains("run.precision bf16") && e.getMessage().contains("computes every GEMM in fp32"),
                e.getMessage());
    }

    /** run.precision bf16 reaches the linear layers: on OpenCL the losses track the fp32 run's without equalling them. */
    @Test
    void bf16Precision_onOpenCl_tracksTheFp32Run() throws IOException {
        Backend cl;
        try {
            cl = kd4j.tensor.Backends.open("opencl");
        } catch (RuntimeException e) {
            org.junit.jupiter.api.Assumptions.abort("OpenCL unavailable (" + e.getMessage() + "); install one with: "
                    + "sudo apt-get install pocl-opencl-icd ocl-icd-libopencl1");
            return;
        }
        try (cl) {
            List<Double> fp32 = new ArrayList<>(), bf16 = new ArrayList<>();
            for (String precision : new String[] {"fp32", "bf16"}) {
                List<StepResult> steps = new ArrayList<>();
                Trainer.builder(TestModels.tinyQwen2(cl, 7), config(4, Map.of("run.precision", precision, "run.evalInterval", "0")),
                                new TestModels.ListData(train(), BATCH, SEQ, 5))
                        .runDir(dir.resolve(precision)).listener(steps::add).build().run();
                (precision.equals("fp32") ? fp32 : bf16).addAll(losses(steps));
            }
            assertEquals(4, bf16.size());
            for (int i = 0; i < fp32.size(); i++)
                assertEquals(fp32.get(i), bf16.get(i), 1e-2 * fp32.get(i), "loss of step " + (i + 1) + ": " + fp32 + " vs " + bf16);
            assertFalse(fp32.equals(bf16), "bf16 GEMM inputs change the last digits of the losses: " + fp32);
        }
    }

    @Test
    void resumeWithADifferentBatchSize_isRefused() throws IOException {
        Path runDir = dir.resolve("run");
        run(runDir, config(8, Map.of()), 7, false, 5);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> run(runDir, config(8, Map.of("data.batchSize", "2")), 7, true, -1));
        assertTrue(e.getMessage().contains("data.batchSize was 4, now 2"), e.getMessage());
    }

    @Test
    void resumeWithOtherKdSettings_isRefused_andARunFolderWithoutAKdSection_isNotComparedOnThem() throws IOException {
        Path runDir = dir.resolve("run");
        Map<String, String> kd = Map.of("kd.mode", "online", "kd.teacher", "t", "kd.alpha", "wsd:0.9");
        run(runDir, config(8, kd), 7, false, 5);
        assertTrue(Files.readString(runDir.resolve(Trainer.CONFIG_FILE)).contains("\"alpha\" : \"wsd:0.9\""));
        Map<String, String> other = new HashMap<>(kd);
        other.put("kd.alpha", "0.3");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> run(runDir, config(8, other), 7, true, -1));
        assertTrue(e.getMessage().contains("--resume would change the KD settings (kd.alpha was \"wsd:0.9\", now \"0.3\")"),
                e.getMessage());
        // a run folder from before the kd section (its KD settings live in kd-config.json, which distill checks)
        String saved = Files.readString(runDir.resolve(Trainer.CONFIG_FILE));
        Files.writeString(runDir.resolve(Trainer.CONFIG_FILE), saved.replaceAll("(?s),\\s*\"kd\" : \\{.*?\\}", ""));
        assertFalse(Files.readString(runDir.resolve(Trainer.CONFIG_FILE)).contains("\"kd\""));
        Run resumed = run(runDir, config(8, other), 7, true, -1);
        assertEquals(8, resumed.result().steps());
    }

    @Test
    void schedules_haveTheirShapes() throws IOException {
        var wsd = Trainer.schedule(config(100, Map.of("schedule.kind", "wsd", "schedule.warmupSteps", "10",
                "schedule.decayFraction", "0.2", "schedule.minLrRatio", "0")), 100);
        assertEquals(0.001, wsd.lr(0), 1e-12);
        assertEquals(0.01, wsd.lr(50), 1e-12);
        assertEquals(0.01, wsd.lr(81), 1e-12);          // 90 steps after warm-up: 72 stable, 18 decaying
        assertEquals(0.005, wsd.lr(91), 1e-12);
        var constant = Trainer.schedule(config(100, Map.of("schedule.kind", "constant", "schedule.warmupSteps", "0")), 100);
        assertEquals(0.01, constant.lr(99), 0);
        assertFalse(Double.isNaN(Trainer.schedule(config(3, Map.of()), 3).lr(2)));
    }

    private static List<Double> losses(List<StepResult> steps) {
        return steps.stream().map(StepResult::loss).toList();
    }
}
