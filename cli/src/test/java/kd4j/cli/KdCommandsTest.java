/*
 * Logit distillation through the CLI with captured out/err: `kd4j cache-logits` over a prepared data set, offline
 * and online `kd4j pretrain --kd ...` (the vanilla preset's compute-matched budget), `kd4j generate` (SeqKD), and
 * the refusals: a cache made for other data, a resume that changes KD settings, a teacher with another
 * vocabulary (pointing to Difference Sampling).
 */
package kd4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import kd4j.distill.kd.KdPreset;
import kd4j.models.CausalLM;
import kd4j.models.Models;
import kd4j.tensor.Backends;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KdCommandsTest {
    @TempDir Path dir;

    private static final String MODEL = """
            {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": %d,
             "intermediate_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 1,
             "vocab_size": %d, "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
             "tie_word_embeddings": true, "bos_token_id": 0, "eos_token_id": 0, "hidden_act": "silu"}
            """;

    private Path prepare(String name, String text) throws Exception {
        Path corpus = dir.resolve(name + ".jsonl");
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 24; i++)
            s.append("{\"id\": \"n").append(i).append("\", \"text\": \"").append(text).append(" Day ").append(i).append(".\"}\n");
        Files.writeString(corpus, s);
        Path data = dir.resolve(name);
        CliRunner.Run r = CliRunner.run("prepare", "--input", corpus.toString(), "--tokenizer",
                PrepareCommandTest.TOKENIZER, "--out", data.toString(), "--seq", "16", "--val-fraction", "0.2");
        assertEquals(0, r.exit(), r.err());
        return data;
    }

    private Path model(String name, int hidden, int vocab, long seed) throws Exception {
        Path d = dir.resolve(name);
        CausalLM m = Models.randomInit(Models.parseConfig(MODEL.formatted(hidden, vocab), Path.of(name)), Backends.cpu(), seed);
        Models.save(m, d);
        Files.copy(Path.of(PrepareCommandTest.TOKENIZER, "tokenizer.json"), d.resolve("tokenizer.json"));
        return d;
    }

    private Path config(Path data, String out, int steps) throws Exception {
        Path modelConfig = dir.resolve("student.json");
        Files.writeString(modelConfig, MODEL.formatted(32, 512));
        Path cfg = dir.resolve(out + ".json");
        Files.writeString(cfg, """
                {
                  "model": {"config": "%s"},
                  "data": {"train": "%s", "seqLength": 16, "batchSize": 2},
                  "optimizer": {"lr": 0.003},
                  "run": {"out": "%s", "maxSteps": %d, "evalInterval": 0, "evalBatches": 1, "checkpointInterval": 2}
                }
                """.formatted(modelConfig, data, dir.resolve(out), steps));
        return cfg;
    }

    @Test
    void cacheLogits_thenOfflineAndOnlinePretrain() throws Exception {
        Path data = prepare("data", "Call me Ishmael. Some years ago, never mind how long precisely, I thought I would sail.");
        Path teacher = model("teacher", 64, 512, 7);
        Path cache = dir.resolve("cache");
        CliRunner.Run c = CliRunner.run("cache-logits", "--model", teacher.toString(), "--data",
                data.toString(), "--top-p", "0.9", "--top-k", "8", "--out", cache.toString(), "--batch", "4", "--chunk", "1");
        assertEquals(0, c.exit(), c.err());
        assertTrue(c.out().contains("bytes/token (top-p-k (p 0.9, k 8), 16-bit probabilities, 2-byte ids)"), c.out());
        CliRunner.Run again = CliRunner.run("cache-logits", "--model", teacher.toString(), "--data",
                data.toString(), "--top-p", "0.9", "--top-k", "8", "--out", cache.toString(), "--batch", "4", "--chunk", "1");
        assertEquals(0, again.exit(), again.err());
        assertEquals(c.out(), again.out(), "a finished cache is reported, not recomputed");

        CliRunner.Run off = CliRunner.run("pretrain", "--config", config(data, "off", 4).toString(),
                "--kd", "offline", "--logits", cache.toString(), "--teacher", teacher.toString(), "--alpha", "wsd:0.9",
                "--no-progress", "--threads", "1");
        assertEquals(0, off.exit(), off.err());
        assertTrue(off.out().contains("kd: offline, forward-kl, tau 1.0, alpha wsd(peak 0.9"), off.out());
        assertTrue(off.out().contains("done after 4 steps") && off.out().contains("teacher FLOPs reused (cached)"), off.out());
        String metrics = Files.readString(dir.resolve("off/metrics.jsonl"));
        assertTrue(metrics.contains("kdLoss") && metrics.contains("teacherFlopsReused"), metrics);

        CliRunner.Run changed = CliRunner.run("pretrain", "--resume", "--out", dir.resolve("off").toString(),
                "--max-steps", "6", "--kd", "offline", "--logits", cache.toString(), "--alpha", "0.3", "--no-progress", "--threads", "1");
        assertEquals(ExitCodes.USAGE, changed.exit(), changed.out());
        assertTrue(changed.err().contains("--resume would change the KD settings"), changed.err());
        // a run folder from before the kd section joined train-config.json: its kd-config.json is still checked
        Path offRun = dir.resolve("off");
        String saved = Files.readString(offRun.resolve("train-config.json"));
        Files.writeString(offRun.resolve("train-config.json"), saved.replaceAll("(?s),\\s*\"kd\" : \\{.*?\\}", ""));
        Files.writeString(offRun.resolve("kd-config.json"), "offline; reverse-kl, tau 2.0, alpha constant(0.1); tail TAIL\n");
        CliRunner.Run legacy = CliRunner.run("pretrain", "--resume", "--out", offRun.toString(), "--max-steps", "6",
                "--kd", "offline", "--logits", cache.toString(), "--alpha", "wsd:0.9", "--no-progress", "--threads", "1");
        assertEquals(ExitCodes.USAGE, legacy.exit(), legacy.out());
        assertTrue(legacy.err().contains(offRun.resolve("kd-config.json") + ": --resume would change the KD settings from "
                + "'offline; reverse-kl, tau 2.0, alpha constant(0.1); tail TAIL' to 'offline; forward-kl"), legacy.err());

        long ns = parameters(Models.parseConfig(MODEL.formatted(32, 512), Path.of("s"))), nt = parameters(Models.readConfig(teacher));
        long matched = KdPreset.computeMatchedSteps(12, ns, nt);
        CliRunner.Run on = CliRunner.run("pretrain", "--config", config(data, "on", 12).toString(),
                "--kd-preset", "vanilla", "--kd", "online", "--teacher", teacher.toString(), "--no-progress", "--threads", "1");
        assertEquals(0, on.exit(), on.err());
        assertTrue(matched < 12 && on.out().contains("compute-matched: 12 steps -> " + matched), on.out());
        assertTrue(on.out().contains("done after " + matched + " steps") && on.out().contains("teacher FLOPs spent"), on.out());
        assertTrue(on.out().contains("soft-ce, tau 1.0, alpha constant(0.5)"), on.out());

        Path other = prepare("other", "It was the best of times, it was the worst of times, it was the age of wisdom.");
        CliRunner.Run foreign = CliRunner.run("pretrain", "--config", config(other, "foreign", 2).toString(),
                "--kd", "offline", "--logits", cache.toString(), "--no-progress", "--threads", "1");
        assertEquals(ExitCodes.BAD_INPUT, foreign.exit(), foreign.out());
        assertTrue(foreign.err().contains("does not belong to this run") && foreign.err().contains("corpus checksum"), foreign.err());

        Path small = model("small-vocab", 32, 256, 3);
        CliRunner.Run vocab = CliRunner.run("pretrain", "--config", config(data, "vocab", 2).toString(),
                "--kd", "online", "--teacher", small.toString(), "--no-progress", "--threads", "1");
        assertEquals(ExitCodes.USAGE, vocab.exit(), vocab.out());
        assertTrue(vocab.err().contains("Difference Sampling") && vocab.err().contains("256"), vocab.err());
    }

    private static long parameters(kd4j.models.ModelConfig cfg) {
        return kd4j.distill.kd.KdLoss.parameterCount(Models.randomInit(cfg, Backends.cpu(), 1));
    }

    @Test
    void generate_writesCorpusAndSamplingSettings() throws Exception {
        Path teacher = model("teacher", 32, 512, 7);
        Path prompts = dir.resolve("prompts.txt");
        Files.writeString(prompts, "Call me\n\nSome years ago\n");
        Path out = dir.resolve("seqkd");
        CliRunner.Run g = CliRunner.run("generate", "--model", teacher.toString(), "--prompts",
                prompts.toString(), "--tokens", "40", "--sequence-tokens", "12", "--batch", "2", "--top-k", "20",
                "--temperature", "0.8", "--seed", "5", "--out", out.toString());
        assertEquals(0, g.exit(), g.err());
        var timing = java.util.regex.Pattern.compile("generated (\\d+) tokens .*\nmodel load (\\d+\\.\\d) s; generation"
                + " (\\d+\\.\\d) s, (\\d+\\.\\d) tokens/s \\(KV-cache decoding, batch 2\\)").matcher(g.out());
        assertTrue(timing.find(), "load time and tokens/s reported apart: " + g.out());
        assertTrue(Integer.parseInt(timing.group(1)) >= 40 && Double.parseDouble(timing.group(4)) > 0, g.out());
        assertTrue(g.err().contains("tokens/s  ETA"), g.err());
        String corpus = Files.readString(out.resolve("generated.jsonl"));
        long lines = corpus.lines().count();
        assertTrue(lines >= 4 && corpus.lines().allMatch(l -> l.startsWith("{\"text\":\"")), corpus);
        assertTrue(corpus.lines().findFirst().orElseThrow().contains("\"prompt\":\"Call me\""), corpus);
        String settings = Files.readString(out.resolve("generation.json"));
        assertTrue(settings.contains("\"temperature\" : 0.8") && settings.contains("\"topK\" : 20")
                && settings.contains("\"seed\" : 5") && settings.contains("\"mode\" : \"prompts\""), settings);
        CliRunner.Run both = CliRunner.run("generate", "--model", teacher.toString(), "--prompts",
                prompts.toString(), "--unconditional", "--tokens", "4", "--out", out.toString());
        assertEquals(ExitCodes.USAGE, both.exit());
    }
}
