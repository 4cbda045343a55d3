/*
 * `kd4j pretrain` as 2 MPI ranks on localhost (mpirun --oversubscribe) against the same command in one process:
 * every step's loss and the final weights agree (the acceptance check: tiny Llama, 30 steps, global
 * batch 8); a 2-rank run whose rank is killed stops (mpirun ends the job) and --resume finishes it with the
 * uninterrupted run's weights (on 2 ranks bit for bit, on 1 process within the tolerance); KD online and offline
 * and score as ranks agree with one process; a global batch the ranks cannot share and ranks started differently
 * are refused with the numbers and what differs. Skipped, with the reason, when mpirun or libmpi is missing.
 */
package kd4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import kd4j.autograd.Parameter;
import kd4j.models.CausalLM;
import kd4j.models.Models;
import kd4j.mpi.MpiRun;
import kd4j.tensor.Backends;
import kd4j.train.Metrics;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DistributedPretrainTest {
    /** Per-step loss and final weights: 1 process with batch 8 vs 2 ranks of 4 rows (the bound). */
    private static final double TOLERANCE = 1e-3;
    private static final int STEPS = 30;

    @TempDir static Path dir;
    private Path config;
    private Path twoRankRun;          // the uninterrupted 2-rank run, made once for two tests

    private static final String LLAMA = """
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 32, "intermediate_size": 64,
             "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 512,
             "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": false,
             "bos_token_id": 0, "eos_token_id": 0, "hidden_act": "silu"}
            """;

    @BeforeAll
    void prepare() throws Exception {
        String why = MpiRun.unavailableReason();
        Assumptions.assumeTrue(why == null, () -> "MPI tests skipped: " + why);
        Path corpus = dir.resolve("c.jsonl");
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 60; i++)
            s.append("{\"id\": \"n").append(i).append("\", \"text\": \"Call me Ishmael. Some years ago, never mind how ")
                    .append("long precisely, having little money in my purse, I thought I would sail about. Day ")
                    .append(i).append(".\"}\n");
        Files.writeString(corpus, s);
        Path data = dir.resolve("data");
        CliRunner.Run r = CliRunner.run("prepare", "--input", corpus.toString(), "--tokenizer",
                PrepareCommandTest.TOKENIZER, "--out", data.toString(), "--seq", "16", "--val-fraction", "0.1");
        assertEquals(0, r.exit(), r.err());
        Path model = dir.resolve("llama.json");
        Files.writeString(model, LLAMA);
        config = dir.resolve("run.json");
        Files.writeString(config, """
                {
                  "model": {"config": "%s"},
                  "data": {"train": "%s", "seqLength": 16, "batchSize": 8},
                  "optimizer": {"lr": 0.003},
                  "run": {"maxSteps": %d, "evalInterval": 10, "evalBatches": 1, "checkpointInterval": 5, "threads": 1}
                }
                """.formatted(model, data, STEPS));
    }

    record Job(int exit, String output) {}

    private List<String> pretrain(Path out, String... more) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xss8m", "-Xmx512m",
                "-cp", System.getProperty("java.class.path"), Kd4j.class.getName(),
                "pretrain", "--config", config.toString(), "--out", out.toString(), "--no-progress"));
        cmd.addAll(List.of(more));
        return cmd;
    }

    /** Runs the job; killAt (may be null) is a file whose appearance makes the test kill -9 one rank. */
    private Job mpirun(List<List<String>> perRank, Path killAt) throws Exception {
        Path log = Files.createTempFile(dir, "mpirun", ".log");
        Process p = MpiRun.localJob(perRank, Map.of()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
        boolean killed = false;
        while (p.isAlive() && System.nanoTime() < deadline) {
            if (killAt != null && !killed && Files.exists(killAt)) {
                ProcessHandle rank = p.descendants().filter(h -> h.info().command().orElse("").endsWith("java"))
                        .reduce((a, b) -> b).orElseThrow(() -> new AssertionError("no rank process under mpirun"));
                rank.destroyForcibly();           // SIGKILL: the rank dies mid-run, no checkpoint, no goodbye
                killed = true;
            }
            Thread.sleep(10);
        }
        if (p.isAlive()) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            throw new AssertionError("mpirun still running after 240 s (a hang):\n" + Files.readString(log));
        }
        if (killAt != null) assertTrue(killed, "the run ended before " + killAt + " appeared:\n" + Files.readString(log));
        return new Job(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    }

    private Path twoRankRun() throws Exception {
        if (twoRankRun == null) {
            Path out = dir.resolve("two-ranks");
            Job j = mpirun(List.of(pretrain(out), pretrain(out)), null);
            assertEquals(0, j.exit(), j.output());
            assertTrue(j.output().contains("rank 1/2 (local 1/2) via Open MPI"), j.output());
            assertTrue(j.output().contains("[rank 1/2] step 30/30: "), "every rank logs its throughput: " + j.output());
            twoRankRun = out;
        }
        return twoRankRun;
    }

    @Test
    void twoRanks_followOneProcess_lossEveryStepAndFinalWeights() throws Exception {
        Path single = dir.resolve("one-process");
        CliRunner.Run one = CliRunner.run("pretrain", "--config", config.toString(), "--out", single.toString(), "--no-progress");
        assertEquals(0, one.exit(), one.err());
        Path two = twoRankRun();

        List<JsonNode> a = Metrics.read(single.resolve("metrics.jsonl")), b = Metrics.read(two.resolve("metrics.jsonl"));
        assertEquals(STEPS, a.size());
        assertEquals(STEPS, b.size(), "rank 0 alone writes metrics, one line per step");
        double worstLoss = 0;
        for (int i = 0; i < STEPS; i++) {
            assertEquals(a.get(i).get("tokens").asLong(), b.get(i).get("tokens").asLong(), "global tokens of step " + (i + 1));
            worstLoss = Math.max(worstLoss, Math.abs(a.get(i).get("loss").asDouble() - b.get(i).get("loss").asDouble()));
            assertTrue(b.get(i).has("commShare"), "the 2-rank metrics report the communication share");
        }
        assertTrue(worstLoss <= TOLERANCE, "largest per-step loss difference " + worstLoss);
        double worstWeight = maxWeightDifference(single.resolve("model"), two.resolve("model"));
        assertTrue(worstWeight <= TOLERANCE, "largest final weight difference " + worstWeight);
        assertTrue(a.get(STEPS - 1).get("loss").asDouble() < a.get(0).get("loss").asDouble() - 0.5, "the model learned");
        System.out.printf("1 vs 2 ranks over %d steps: max |loss diff| %.3g, max |weight diff| %.3g%n", STEPS, worstLoss, worstWeight);
    }

    @Test
    void killedRank_stopsTheJob_andResumeEndsWithTheUninterruptedWeights() throws Exception {
        Path out = dir.resolve("killed");
        Job killed = mpirun(List.of(pretrain(out), pretrain(out)), out.resolve("checkpoints/step-00000005/state.json"));
        assertNotEquals(0, killed.exit(), killed.output());
        assertFalse(Files.exists(out.resolve("model")), "the killed run did not finish");
        Path copy = dir.resolve("killed-resumed-on-one");
        try (var files = Files.walk(out)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Path to = copy.resolve(out.relativize(f).toString());
                if (Files.isDirectory(f)) Files.createDirectories(to);
                else Files.copy(f, to);
            }
        }
        Job resumed = mpirun(List.of(pretrain(out, "--resume"), pretrain(out, "--resume")), null);
        assertEquals(0, resumed.exit(), resumed.output());
        assertTrue(resumed.output().contains("done after 30 steps"), resumed.output());
        assertEquals(0.0, maxWeightDifference(twoRankRun().resolve("model"), out.resolve("model")),
                "same reduction order on resume: bit-identical weights");
        assertEquals(STEPS, Metrics.read(out.resolve("metrics.jsonl")).size());

        // the same checkpoint resumed by one process: another rank count, the same global batches
        CliRunner.Run one = CliRunner.run("pretrain", "--resume", "--config", config.toString(), "--out", copy.toString(), "--no-progress");
        assertEquals(0, one.exit(), one.err());
        double w = maxWeightDifference(twoRankRun().resolve("model"), copy.resolve("model"));
        assertTrue(w <= TOLERANCE, "2-rank checkpoint resumed on 1 process: largest weight difference " + w);
    }

    @Test
    void globalBatchTheRanksCannotShare_isRefusedWithTheNumbers() throws Exception {
        Path out = dir.resolve("odd");
        List<String> cmd = pretrain(out, "--batch-size", "7");
        Job j = mpirun(List.of(cmd, cmd), null);
        assertEquals(ExitCodes.USAGE, j.exit(), j.output());
        assertTrue(j.output().contains("data.batchSize 7 (the global batch) does not divide into 2 ranks; use a multiple of 2, e.g. 8"), j.output());
    }

    @Test
    void ranksStartedDifferently_stopNamingWhatDiffers() throws Exception {
        Path out = dir.resolve("disagree");
        Job j = mpirun(List.of(pretrain(out), pretrain(out, "--seed", "99")), null);
        assertEquals(ExitCodes.USAGE, j.exit(), j.output());
        assertTrue(j.output().contains("the 2 ranks disagree on the config's run section (ranks [0] have "), j.output());
        assertTrue(j.output().contains("the model's weights (ranks [0] have "), j.output());
        assertTrue(j.output().contains("the training data"), "the seed orders the data too: " + j.output());
    }

    @Test
    void kdOnlineAndOffline_twoRanksFollowOneProcess() throws Exception {
        Path teacher = twoRankRun().resolve("model"), data = dir.resolve("data"), cache = dir.resolve("logits");
        CliRunner.Run c = CliRunner.run("cache-logits", "--model", teacher.toString(), "--data", data.toString(),
                "--out", cache.toString(), "--device", "cpu:1", "--batch", "4");
        assertEquals(0, c.exit(), c.err());
        for (String[] kd : new String[][] {{"--kd", "online", "--teacher", teacher.toString()}, {"--kd", "offline", "--logits", cache.toString()}}) {
            Path single = dir.resolve("kd-one-" + kd[1]), two = dir.resolve("kd-two-" + kd[1]);
            List<String> args = new ArrayList<>(List.of("pretrain", "--config", config.toString(), "--out", single.toString(),
                    "--no-progress", "--max-steps", "8"));
            args.addAll(List.of(kd));
            CliRunner.Run one = CliRunner.run(args.toArray(String[]::new));
            assertEquals(0, one.exit(), one.err());
            List<String> more = new ArrayList<>(List.of("--max-steps", "8"));
            more.addAll(List.of(kd));
            List<String> cmd = pretrain(two, more.toArray(String[]::new));
            Job j = mpirun(List.of(cmd, cmd), null);
            assertEquals(0, j.exit(), j.output());
            List<JsonNode> a = Metrics.read(single.resolve("metrics.jsonl")), b = Metrics.read(two.resolve("metrics.jsonl"));
            assertEquals(8, b.size());
            for (int i = 0; i < 8; i++)
                assertEquals(a.get(i).get("loss").asDouble(), b.get(i).get("loss").asDouble(), TOLERANCE, kd[1] + " KD loss of step " + (i + 1));
            double w = maxWeightDifference(single.resolve("model"), two.resolve("model"));
            assertTrue(w <= TOLERANCE, kd[1] + " KD: largest final weight difference " + w);
        }
    }

    @Test
    void score_asTwoRanks_mergesTheSameScoresAsOneProcess() throws Exception {
        Path model = twoRankRun().resolve("model"), data = dir.resolve("data");
        Path one = dir.resolve("one.scores"), two = dir.resolve("two.scores");
        CliRunner.Run r = CliRunner.run("score", "--model", model.toString(), "--data", data.toString(), "--out", one.toString(),
                "--device", "cpu:1", "--batch", "4");
        assertEquals(0, r.exit(), r.err());
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xss8m", "-Xmx512m",
                "-cp", System.getProperty("java.class.path"), Kd4j.class.getName(),
                "score", "--model", model.toString(), "--data", data.toString(), "--out", two.toString(), "--device", "cpu:1", "--batch", "4");
        Job j = mpirun(List.of(cmd, cmd), null);
        assertEquals(0, j.exit(), j.output());
        assertTrue(j.output().contains("merged the 2 ranks' slices"), j.output());
        var a = kd4j.distill.score.ScoreFile.read(one);
        var b = kd4j.distill.score.ScoreFile.read(two);
        assertEquals(a.size(), b.size());
        assertTrue(b.isComplete());
        for (int i = 0; i < a.size(); i++)
            assertEquals(a.mean(i), b.mean(i), 1e-5, "mean log-probability of instance " + i);
    }

    private static double maxWeightDifference(Path a, Path b) {
        CausalLM x = Models.load(a, Backends.cpu()), y = Models.load(b, Backends.cpu());
        Map<String, float[]> ys = new LinkedHashMap<>();
        for (Parameter p : y.parameters().all()) ys.put(p.name(), p.data().toFloatArray());
        double worst = 0;
        for (Parameter p : x.parameters().all()) {
            float[] u = p.data().toFloatArray(), v = ys.get(p.name());
            assertEquals(u.length, v.length, p.name());
            for (int i = 0; i < u.length; i++) worst = Math.max(worst, Math.abs(u[i] - v[i]));
        }
        return worst;
    }
}
