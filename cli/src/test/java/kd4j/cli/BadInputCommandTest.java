/*
 * The robustness probes of issue #18 as command tests (captured out/err, real exit codes): values that make no
 * sense are refused before any work, bad flags are bad usage naming the flag as typed, bad files are bad input
 * naming file and position, and an input with no text is refused rather than turned into an empty result.
 */
package kd4j.cli;

import static kd4j.cli.CliRunner.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import kd4j.cli.CliRunner.Run;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BadInputCommandTest {
    @TempDir static Path dir;
    static Path data, modelConfig, baseConfig;

    static final String MODEL = """
            {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 32,
             "intermediate_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 1,
             "vocab_size": 512, "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
             "tie_word_embeddings": true, "bos_token_id": 0, "eos_token_id": 0, "hidden_act": "silu"}
            """;

    @BeforeAll
    static void prepare() throws Exception {
        Path corpus = dir.resolve("c.jsonl");
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 30; i++)
            s.append("{\"id\": \"n").append(i).append("\", \"text\": \"Call me Ishmael. Some years ago, never mind how ")
                    .append("long precisely, I thought I would sail about. Day ").append(i).append(".\"}\n");
        Files.writeString(corpus, s);
        data = dir.resolve("data");
        Run r = run("prepare", "--input", corpus.toString(), "--tokenizer", PrepareCommandTest.TOKENIZER,
                "--out", data.toString(), "--seq", "16", "--val-fraction", "0.2");
        assertEquals(0, r.exit(), r.err());
        modelConfig = dir.resolve("model.json");
        Files.writeString(modelConfig, MODEL);
        baseConfig = dir.resolve("base.json");
        Files.writeString(baseConfig, """
                {"data": {"seqLength": 16, "batchSize": 2}, "run": {"maxSteps": 2, "evalInterval": 0}}
                """);
    }

    /** pretrain on the prepared data with a tiny budget (base.json), plus extra flags. */
    static Run pretrain(String out, String... extra) {
        List<String> a = new ArrayList<>(List.of("pretrain", "--config", baseConfig.toString(), "--train",
                data.toString(), "--model-config", modelConfig.toString(), "--out", dir.resolve(out).toString(),
                "--no-progress"));
        a.addAll(List.of(extra));
        return run(a.toArray(String[]::new));
    }

    @Test
    void kdValuesOutOfRange_areBadUsageWithTheAllowedValues() {
        Run tau = pretrain("kd-tau", "--kd", "online", "--teacher", dir.resolve("none").toString(), "--tau", "0");
        assertEquals(ExitCodes.USAGE, tau.exit(), tau.err());
        assertTrue(tau.err().contains("--tau must be a finite number > 0, got 0.0"), tau.err());
        Run alpha = pretrain("kd-alpha", "--alpha", "1.5");
        assertEquals(ExitCodes.USAGE, alpha.exit(), alpha.err());
        assertTrue(alpha.err().contains("--alpha: alpha must be in [0, 1], got 1.5"), alpha.err());
        Run div = pretrain("kd-div", "--divergence", "foo");
        assertEquals(ExitCodes.USAGE, div.exit(), div.err());
        assertTrue(div.err().contains("'foo' is not one of forward-kl, reverse-kl, skew-kl, skew-reverse-kl, soft-ce, mse"),
                div.err());
        Run skew = pretrain("kd-skew", "--kd", "online", "--teacher", "x", "--divergence", "skew-kl", "--skew", "1.5");
        assertEquals(ExitCodes.USAGE, skew.exit(), skew.err());
        assertTrue(skew.err().contains("--skew must be in [0, 1), got 1.5"), skew.err());
        // a valid KD value without --kd would silently train without distillation
        Run noKd = pretrain("kd-none", "--tau", "2");
        assertEquals(ExitCodes.USAGE, noKd.exit(), noKd.err());
        assertTrue(noKd.err().contains("--tau given without --kd online|offline"), noKd.err());
        for (String out : List.of("kd-tau", "kd-alpha", "kd-div", "kd-skew", "kd-none"))
            assertFalse(Files.exists(dir.resolve(out).resolve("checkpoints")), out + ": nothing may be trained");
    }

    @Test
    void badFlagValues_areBadUsageNamingTheFlagAndTheKey() {
        String[][] cases = {
                {"--batch-size", "-2", "--batch-size: must be >= 1, got -2 [data.batchSize]"},
                {"--grad-accum", "0", "--grad-accum: must be >= 1, got 0 [data.gradAccum]"},
                {"--lr", "-1", "--lr: must be a finite number > 0, got -1.0 [optimizer.lr]"},
                {"--lr", "NaN", "--lr: must be a finite number > 0, got NaN [optimizer.lr]"},
                {"--warmup", "-1", "--warmup: must be >= 0, got -1 [schedule.warmupSteps]"},
                {"--schedule", "foo", "--schedule: expected one of cosine, wsd, constant, found \"foo\" [schedule.kind]"},
                {"--checkpoint-interval", "-1", "--checkpoint-interval: must be >= 0, got -1 [run.checkpointInterval]"},
                {"--set", "optimizer.clip=-1", "--set optimizer.clip=-1: must be a finite number >= 0 (0 = no clipping), got -1.0 [optimizer.clip]"},
                {"--set", "optimizer.lrr=1", "--set optimizer.lrr=1: unknown key (did you mean \"optimizer.lr\"?) [optimizer.lrr]"},
        };
        for (String[] c : cases) {
            Run r = pretrain("flags", c[0], c[1]);
            assertEquals(ExitCodes.USAGE, r.exit(), c[0] + " " + c[1] + ": " + r.err());
            assertTrue(r.err().contains(c[2]), c[0] + " " + c[1] + ": " + r.err());
        }
        Run threads = pretrain("flags", "--threads", "-3");
        assertEquals(ExitCodes.USAGE, threads.exit(), threads.err());
        assertTrue(threads.err().contains("--threads: must be >= 0, got -3 [run.threads]"), threads.err());
    }

    @Test
    void badValueInTheConfigFile_staysBadInputNamingFileLineAndKey() throws Exception {
        Path cfg = dir.resolve("bad-batch.json");
        Files.writeString(cfg, "{\n  \"data\": {\"batchSize\": -2}\n}\n");
        Run r = run("pretrain", "--config", cfg.toString(), "--train", data.toString(), "--model-config",
                modelConfig.toString(), "--max-steps", "2", "--out", dir.resolve("cfg").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exit(), r.err());
        assertTrue(r.err().contains(cfg + ":2:12: \"data.batchSize\": must be >= 1, got -2"), r.err());
        // the same key set by a flag is the flag's fault, even though the file has the key too
        Run flag = run("pretrain", "--config", cfg.toString(), "--train", data.toString(), "--model-config",
                modelConfig.toString(), "--max-steps", "2", "--batch-size", "0", "--out", dir.resolve("cfg").toString());
        assertEquals(ExitCodes.USAGE, flag.exit(), flag.err());
        assertTrue(flag.err().contains("--batch-size: must be >= 1, got 0 [data.batchSize]"), flag.err());
    }

    @Test
    void badKdValueInTheConfigFile_isBadInputNamingFileLineAndKey_andFromAFlagNamesTheFlag() throws Exception {
        Path cfg = dir.resolve("bad-kd.json");
        Files.writeString(cfg, """
                {
                  "data": {"seqLength": 16, "batchSize": 2},
                  "run": {"maxSteps": 2, "evalInterval": 0},
                  "kd": {"mode": "x",
                         "alpha": "1.5"}
                }
                """);
        List<String> base = List.of("pretrain", "--config", cfg.toString(), "--train", data.toString(),
                "--model-config", modelConfig.toString(), "--no-progress");
        Run mode = run(args(base, "--out", dir.resolve("kd-file-mode").toString()));
        assertEquals(ExitCodes.BAD_INPUT, mode.exit(), mode.err());
        assertTrue(mode.err().contains(cfg + ":4:10: \"kd.mode\": 'x' is not one of none, online, offline"), mode.err());
        // the flag's value replaces the file's: a bad one is the flag's fault, named as typed
        Run modeFlag = run(args(base, "--kd", "y", "--out", dir.resolve("kd-flag-mode").toString()));
        assertEquals(ExitCodes.USAGE, modeFlag.exit(), modeFlag.err());
        assertTrue(modeFlag.err().contains("--kd: 'y' is not one of none, online, offline"), modeFlag.err());
        assertFalse(modeFlag.err().contains(cfg.toString()), modeFlag.err());
        // a good mode from the flag: the file's next bad value (alpha) is reported at its own line
        Run alpha = run(args(base, "--kd", "online", "--teacher", "t", "--out", dir.resolve("kd-file-alpha").toString()));
        assertEquals(ExitCodes.BAD_INPUT, alpha.exit(), alpha.err());
        assertTrue(alpha.err().contains(cfg + ":5:10: \"kd.alpha\": alpha must be in [0, 1], got 1.5"), alpha.err());
        Run alphaFlag = run(args(base, "--kd", "online", "--teacher", "t", "--alpha", "2",
                "--out", dir.resolve("kd-flag-alpha").toString()));
        assertEquals(ExitCodes.USAGE, alphaFlag.exit(), alphaFlag.err());
        assertTrue(alphaFlag.err().contains("--alpha: alpha must be in [0, 1], got 2"), alphaFlag.err());
        for (String out : List.of("kd-file-mode", "kd-flag-mode", "kd-file-alpha", "kd-flag-alpha"))
            assertFalse(Files.exists(dir.resolve(out).resolve("checkpoints")), out + ": nothing may be trained");
    }

    private static String[] args(List<String> base, String... extra) {
        List<String> a = new ArrayList<>(base);
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    /** A copy of the prepared data whose train instance file holds id 600 (>= vocab 512) at token 3, with the
     *  manifest's checksum updated to match: a consistent file that a smaller-vocabulary model must refuse. */
    static Path dataWithOutOfVocabularyId(String name) throws Exception {
        Path copy = dir.resolve(name);
        Files.createDirectories(copy.resolve("shards"));
        try (var files = Files.walk(data)) {
            for (Path f : files.filter(Files::isRegularFile).toList())
                Files.copy(f, copy.resolve(data.relativize(f).toString()));
        }
        Path inst = copy.resolve("instances-train.kd4j");
        byte[] b = Files.readAllBytes(inst);
        String oldSha = kd4j.data.AtomicFiles.sha256(inst);
        b[32 + 2 * 3] = (byte) (600 & 0xff);
        b[32 + 2 * 3 + 1] = (byte) (600 >> 8);
        Files.write(inst, b);
        Path manifest = copy.resolve("manifest.json");
        Files.writeString(manifest, Files.readString(manifest).replace(oldSha, kd4j.data.AtomicFiles.sha256(inst)));
        return copy;
    }

    /** A model folder (vocab 512) with one parameter changed by edit. */
    static Path model(String name, String parameter, java.util.function.Consumer<float[]> edit) throws Exception {
        Path d = dir.resolve(name);
        var m = kd4j.models.Models.randomInit(kd4j.models.Models.parseConfig(MODEL, Path.of("model.json")),
                kd4j.tensor.Backends.cpu(), 5);
        for (var p : m.parameters().all())
            if (p.name().equals(parameter)) {
                float[] w = p.data().toFloatArray();
                edit.accept(w);
                p.backend().copy(p.backend().fromFloats(w, p.data().shape()), p.data());
            }
        kd4j.models.Models.save(m, d);
        Files.copy(Path.of(PrepareCommandTest.TOKENIZER, "tokenizer.json"), d.resolve("tokenizer.json"));
        return d;
    }

    @Test
    void outOfVocabularyIdInAPreparedFile_isBadInputForPretrainAndScore() throws Exception {
        Path bad = dataWithOutOfVocabularyId("data-oov");
        Path inst = bad.resolve("instances-train.kd4j");
        Run t = run("pretrain", "--config", baseConfig.toString(), "--train", bad.toString(), "--model-config",
                modelConfig.toString(), "--out", dir.resolve("oov-run").toString(), "--no-progress");
        assertEquals(ExitCodes.BAD_INPUT, t.exit(), t.err());
        assertTrue(t.err().contains(inst + ": sequence 0, position 3: token id 600 is outside the vocabulary [0, 512)"),
                t.err());
        assertFalse(Files.exists(dir.resolve("oov-run").resolve("checkpoints")));
        Path good = model("model-ok", "", w -> {});
        Run s = run("score", "--model", good.toString(), "--data", bad.toString(), "--out", dir.resolve("oov.scores").toString());
        assertEquals(ExitCodes.BAD_INPUT, s.exit(), s.err());
        assertTrue(s.err().contains(inst + ": sequence 0, position 3: token id 600"), s.err());
    }

    @Test
    void aFlippedByteInAPreparedFile_isBadInputNamingTheFile() throws Exception {
        Path copy = dataWithOutOfVocabularyId("data-flip");
        Path inst = copy.resolve("instances-train.kd4j");
        byte[] b = Files.readAllBytes(inst);
        b[b.length / 2] ^= 0x04;                      // after the manifest was updated: the checksum no longer holds
        Files.write(inst, b);
        Run t = run("pretrain", "--config", baseConfig.toString(), "--train", copy.toString(), "--model-config",
                modelConfig.toString(), "--out", dir.resolve("flip-run").toString(), "--no-progress");
        assertEquals(ExitCodes.BAD_INPUT, t.exit(), t.err());
        assertTrue(t.err().contains(inst + ": SHA-256 ") && t.err().contains("does not match manifest.json"), t.err());
    }

    @Test
    void nonFiniteModels_areRefusedOrStopped_neverScored() throws Exception {
        // NaN in the weights: refused at load (bad input), naming the tensor
        Path nan = model("model-nan", "model.layers.0.mlp.down_proj.weight", w -> w[7] = Float.NaN);
        Run s = run("score", "--model", nan.toString(), "--data", data.toString(), "--out", dir.resolve("nan.scores").toString());
        assertEquals(ExitCodes.BAD_INPUT, s.exit(), s.err());
        assertTrue(s.err().contains("tensor 'model.layers.0.mlp.down_proj.weight' holds a non-finite value"), s.err());
        Run e = run("eval", "--model", nan.toString(), "--data", data.toString(), "--seq-length", "16");
        assertEquals(ExitCodes.BAD_INPUT, e.exit(), e.err());
        // finite weights whose logits overflow: the first non-finite log-probability stops the run (exit 1)
        Path huge = model("model-huge", "model.norm.weight", w -> java.util.Arrays.fill(w, 3e38f));
        Path scores = dir.resolve("huge.scores");
        Run h = run("score", "--model", huge.toString(), "--data", data.toString(), "--out", scores.toString());
        assertEquals(ExitCodes.FAILED, h.exit(), h.err());
        assertTrue(h.err().contains("instance 0, position 0: the model's log-probability is "), h.err());
        assertFalse(Files.exists(scores), "no score file");
        Run he = run("eval", "--model", huge.toString(), "--data", data.toString(), "--seq-length", "16");
        assertEquals(ExitCodes.FAILED, he.exit(), he.err());
        assertTrue(he.err().contains("position 0: the model's log-probability is "), he.err());
        Run c = run("cache-logits", "--model", huge.toString(), "--data", data.toString(), "--out",
                dir.resolve("huge-logits").toString());
        assertEquals(ExitCodes.FAILED, c.exit(), c.err());
        assertTrue(c.err().contains("instance 0, position 0: the teacher's logit of token"), c.err());
        // online KD with that teacher names the teacher, not the student's learning rate
        Run kd = pretrain("kd-huge", "--kd", "online", "--teacher", huge.toString());
        assertEquals(ExitCodes.FAILED, kd.exit(), kd.err());
        assertTrue(kd.err().contains("the teacher's logits (online KD, --teacher) hold NaN or Inf"), kd.err());
        assertFalse(kd.err().contains("lower optimizer.lr"), kd.err());
    }

    @Test
    void divergingTraining_exits1AtTheStep_andAnomalyCheckNamesTheLayer() {
        Run r = pretrain("lr-huge", "--lr", "1e6", "--schedule", "constant", "--set", "optimizer.clip=0",
                "--set", "run.maxSteps=40");
        assertEquals(ExitCodes.FAILED, r.exit(), r.err());
        assertTrue(r.err().contains("kd4j: training diverged at step "), r.err());
        assertTrue(r.err().contains("--detect-anomaly"), r.err());
        Run a = pretrain("lr-huge-anomaly", "--lr", "1e6", "--schedule", "constant", "--set", "optimizer.clip=0",
                "--set", "run.maxSteps=40", "--detect-anomaly");
        assertEquals(ExitCodes.FAILED, a.exit(), a.err());
        assertTrue(a.err().matches("(?s).*training diverged at step \\d+: (backward of )?op '[A-Za-z]+' \\((after )?model\\..*"),
                a.err());
    }

    @Test
    void tokenizerTrain_onAnEmptyFile_isBadInputSayingNoText() throws Exception {
        Path empty = dir.resolve("empty.txt");
        Files.writeString(empty, "");
        Path out = dir.resolve("tok-empty");
        Run r = run("tokenizer-train", "--input", empty.toString(), "--vocab-size", "300", "--out", out.toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exit(), r.err());
        assertTrue(r.err().contains(empty + ": no text to train on"), r.err());
        assertFalse(Files.exists(out.resolve("tokenizer.json")), "no bytes-only tokenizer may be written");
    }

    @Test
    void tokenizerTrain_onABrokenJsonlLine_isBadInputNamingTheLine() throws Exception {
        Path broken = dir.resolve("broken.jsonl");
        Files.writeString(broken, "{\"text\": \"fine\"}\n{\"text\": \"cut off\n{\"text\": \"fine\"}\n");
        Run r = run("tokenizer-train", "--input", broken.toString(), "--vocab-size", "300", "--out",
                dir.resolve("tok-broken").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exit(), r.err());
        assertTrue(r.err().contains(broken + ":2: not valid JSON"), r.err());
        assertFalse(r.err().contains("at kd4j."), "no stack trace: " + r.err());
    }
}
