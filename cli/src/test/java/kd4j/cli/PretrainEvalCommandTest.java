/*
 * `kd4j pretrain` and `kd4j eval` driven through picocli with captured out/err: a tiny run on real text with a
 * real tokenizer that writes the whole run folder and is evaluated, and the bad-input messages (unknown config
 * key, a tokenizer whose vocabulary does not fit the model).
 */
package kd4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PretrainEvalCommandTest {
    @TempDir Path dir;

    private static final String MODEL = """
            {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 32,
             "intermediate_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 1,
             "vocab_size": %d, "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
             "tie_word_embeddings": true, "bos_token_id": 0, "eos_token_id": 0, "hidden_act": "silu"}
            """;

    private Path prepare() throws Exception {
        Path corpus = dir.resolve("c.jsonl");
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 40; i++)
            s.append("{\"id\": \"n").append(i).append("\", \"text\": \"Call me Ishmael. Some years ago, never mind how ")
                    .append("long precisely, having little money in my purse, I thought I would sail about. Day ")
                    .append(i).append(".\"}\n");
        Files.writeString(corpus, s);
        Path data = dir.resolve("data");
        CliRunner.Run r = CliRunner.run("prepare", "--input", corpus.toString(), "--tokenizer",
                PrepareCommandTest.TOKENIZER, "--out", data.toString(), "--seq", "16", "--val-fraction", "0.2");
        assertEquals(0, r.exit(), r.err());
        return data;
    }

    private Path config(Path data, int vocab, String extra) throws Exception {
        Path modelConfig = dir.resolve("model.json");
        Files.writeString(modelConfig, MODEL.formatted(vocab));
        Path cfg = dir.resolve("run.json");
        Files.writeString(cfg, """
                {
                  "model": {"config": "%s", "tokenizer": "%s"},
                  "data": {"train": "%s", "seqLength": 16, "batchSize": 4},
                  "optimizer": {"lr": 0.003},
                  "run": {"out": "%s", "maxSteps": 6, "evalInterval": 3, "evalBatches": 1, "checkpointInterval": 3%s}
                }
                """.formatted(modelConfig, PrepareCommandTest.TOKENIZER, data, dir.resolve("run"), extra));
        return cfg;
    }

    /** The memory plan printed before training counts what run.activationCheckpointing keeps, not the plain run. */
    @Test
    void pretrain_withActivationCheckpointing_plansForIt() throws Exception {
        Path data = prepare();
        String cfg = config(data, 512, "").toString();
        CliRunner.Run plain = CliRunner.run("pretrain", "--config", cfg, "--no-progress", "--threads", "1", "--max-steps", "1");
        CliRunner.Run ckpt = CliRunner.run("pretrain", "--config", cfg, "--no-progress", "--threads", "1", "--max-steps", "1",
                "--activation-checkpointing", "--out", dir.resolve("run-ckpt").toString());
        assertEquals(0, plain.exit(), plain.err());
        assertEquals(0, ckpt.exit(), ckpt.err());
        assertTrue(ckpt.err().contains(", activation checkpointing"), ckpt.err());
        assertTrue(plain.err().contains("activations + their gradients") && !plain.err().contains("activation checkpointing"),
                plain.err());
    }

    @Test
    void pretrain_writesTheRunFolder_andEvalScoresTheModel() throws Exception {
        Path data = prepare();
        CliRunner.Run r = CliRunner.run("pretrain", "--config", config(data, 512, "").toString(),
                "--no-progress", "--threads", "1");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("done after 6 steps"), r.out());
        Path run = dir.resolve("run");
        for (String f : new String[] {"train-config.json", "metrics.jsonl", "loss.png", "loss.svg",
                "checkpoints/step-00000006/state.json", "model/model.safetensors", "model/tokenizer.json"})
            assertTrue(Files.exists(run.resolve(f)), f);

        Path task = dir.resolve("task.jsonl");
        Files.writeString(task, "{\"context\": \"Call me\", \"choices\": [\" Ishmael.\", \" purse.\"], \"gold\": 0}\n");
        CliRunner.Run e = CliRunner.run("eval", "--model", run.resolve("model").toString(),
                "--data", data.toString(), "--task", task.toString(), "--seq-length", "16", "--per-document",
                "--report", dir.resolve("report.json").toString());
        assertEquals(0, e.exit(), e.err());
        assertTrue(e.out().contains("held-out: "), e.out());
        assertTrue(e.out().contains("task.jsonl: 1 examples: acc "), e.out());
        assertTrue(Files.readString(dir.resolve("report.json")).contains("\"perDocument\""));

        // A minimal-pair task is recognised by its fields; the report holds each pair's two log-probabilities.
        Path pairs = dir.resolve("pairs.jsonl");
        Files.writeString(pairs, """
                {"field": "syntax", "linguistics_term": "order", "UID": "p", "pairID": "0", "sentence_good": "Call me Ishmael.", "sentence_bad": "Ishmael me call."}
                {"field": "morphology", "linguistics_term": "order", "UID": "q", "pairID": "1", "sentence_good": "Some years ago.", "sentence_bad": "Some year ago."}
                """);
        CliRunner.Run m = CliRunner.run("eval", "--model", run.resolve("model").toString(), "--task", pairs.toString(),
                "--seq-length", "16", "--report", dir.resolve("pairs.json").toString());
        assertEquals(0, m.exit(), m.err());
        assertTrue(m.out().contains("pairs.jsonl: 2 minimal pairs: acc "), m.out());
        assertTrue(m.out().contains("field      syntax"), m.out());
        assertTrue(m.out().contains("phenomenon order"), m.out());
        var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(dir.resolve("pairs.json").toFile());
        var t = json.get("tasks").get(0);
        assertEquals("minimal-pairs", t.get("kind").asText());
        assertEquals(2, t.get("perPair").size());
        int right = 0;
        for (var p : t.get("perPair")) {
            double good = p.get("logProbGood").asDouble(), bad = p.get("logProbBad").asDouble();
            assertTrue(good < 0 && bad < 0, p.toString());
            assertEquals(good > bad, p.get("correct").asBoolean());
            if (good > bad) right++;
        }
        assertEquals(List.of("p/0", "q/1"), List.of(t.get("perPair").get(0).get("id").asText(), t.get("perPair").get(1).get("id").asText()));
        assertEquals(right / 2.0, t.get("acc").asDouble(), 1e-12);
        assertEquals(1, t.get("byField").get("syntax").get("pairs").asInt());

        Files.writeString(pairs, "{\"prompt\": \"Call me\"}\n");
        CliRunner.Run bad = CliRunner.run("eval", "--model", run.resolve("model").toString(), "--task", pairs.toString());
        assertEquals(ExitCodes.BAD_INPUT, bad.exit(), bad.err());
        assertTrue(bad.err().contains(pairs + ":1: unknown task shape (fields: prompt)"), bad.err());
    }

    @Test
    void unknownConfigKey_isBadInputNamingFileLineAndKey() throws Exception {
        Path data = prepare();
        Path cfg = config(data, 512, ", \"maxStep\": 3");
        CliRunner.Run r = CliRunner.run("pretrain", "--config", cfg.toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exit(), r.err());
        assertTrue(r.err().contains(cfg + ":5:"), r.err());
        assertTrue(r.err().contains("\"run.maxStep\": unknown key (did you mean \"maxSteps\"?)"), r.err());
        assertTrue(!r.err().contains("at kd4j."), "no stack trace: " + r.err());
    }

    @Test
    void tokenizerLargerThanTheModelVocabulary_isRefused() throws Exception {
        Path data = prepare();
        CliRunner.Run r = CliRunner.run("pretrain", "--config", config(data, 256, "").toString(),
                "--no-progress");
        assertEquals(ExitCodes.BAD_INPUT, r.exit(), r.err());
        assertTrue(r.err().contains("tokenizer vocabulary of 512 ids does not fit the model's vocab_size 256"), r.err());
        assertTrue(r.err().contains("manifest.json"), r.err());
    }
}
