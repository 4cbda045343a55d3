/*
 * `kd4j bench train` and `kd4j bench score` on a tiny random Llama and Mamba: the report's lines (per-step times, the
 * heap garbage of the timed steps, peak memory, the final "tokens/s: N" that scripts read) and the training loss
 * falling on the fixed batch; and bad options answered with a message instead of a run.
 */
package kd4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class BenchModelCommandsTest {
    /** A clean step allocates under a MiB; a run whose every timed step allocated more is flagged as not representative. */
    @Test
    void heap_flagsARunWhoseEveryStepAllocatedMegabytes() {
        long mib = 1L << 20;
        java.io.StringWriter boxed = new java.io.StringWriter(), clean = new java.io.StringWriter(), warming = new java.io.StringWriter();
        BenchModels.heap(new java.io.PrintWriter(boxed, true), new long[] {310 * mib, 305 * mib, 320 * mib});
        BenchModels.heap(new java.io.PrintWriter(clean, true), new long[] {mib / 3, mib / 3});
        BenchModels.heap(new java.io.PrintWriter(warming, true), new long[] {200 * mib, mib / 3});   // warmed up by the last step
        assertTrue(boxed.toString().contains("JVM heap allocated per timed step: min 305.00 MiB, last 320.00 MiB"), boxed.toString());
        assertTrue(boxed.toString().contains("note: every timed step allocated 305.0 MiB or more of heap"), boxed.toString());
        assertTrue(boxed.toString().contains("not representative"), boxed.toString());
        assertTrue(clean.toString().contains("min 0.33 MiB, last 0.33 MiB") && !clean.toString().contains("note:"), clean.toString());
        assertTrue(!warming.toString().contains("note:"), warming.toString());
    }

    @TempDir Path dir;

    private static final String LLAMA = """
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 32, "intermediate_size": 64,
             "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 96,
             "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": false}
            """;
    private static final String MAMBA = """
            {"architectures": ["MambaForCausalLM"], "model_type": "mamba", "hidden_size": 32, "intermediate_size": 64,
             "expand": 2, "state_size": 8, "conv_kernel": 4, "num_hidden_layers": 2, "vocab_size": 96, "layer_norm_epsilon": 1e-5,
             "tie_word_embeddings": true, "use_bias": false, "use_conv_bias": true, "time_step_rank": 2}
            """;

    private Path config(String json) throws Exception {
        Path p = dir.resolve("config.json");
        Files.writeString(p, json);
        return p;
    }

    private static double number(String out, String regex) {
        Matcher m = Pattern.compile(regex).matcher(out);
        assertTrue(m.find(), "no match for " + regex + " in:\n" + out);
        return Double.parseDouble(m.group(1));
    }

    @ParameterizedTest(name = "{0}") @ValueSource(strings = {"llama", "mamba"})
    void trainAndScore_reportTimesHeapMemoryAndTokensPerSecond(String family) throws Exception {
        Path cfg = config(family.equals("llama") ? LLAMA : MAMBA);
        CliRunner.Run train = CliRunner.run("bench", "train", "--config", cfg.toString(), "--batch", "2", "--seq", "16",
                "--threads", "2", "--steps", "3", "--warmup", "1");
        assertEquals(0, train.exit(), train.err());
        double firstLoss = number(train.out(), "warm-up 1: loss ([0-9.]+)"), lastLoss = number(train.out(), "last loss ([0-9.]+)");
        assertTrue(lastLoss < firstLoss, "AdamW on one fixed batch must lower its loss: " + firstLoss + " -> " + lastLoss);
        // loss of a random init over 96 tokens starts near ln 96
        assertEquals(Math.log(96), firstLoss, 0.5);
        for (String out : new String[] {train.out(), CliRunner.run("bench", "score", "--config", cfg.toString(), "--batch", "2",
                "--seq", "16", "--steps", "2", "--warmup", "1").out()}) {
            assertTrue(out.contains("step 1: ") && out.contains("step 2: "), out);
            double minHeap = number(out, "JVM heap allocated per timed step: min ([0-9.]+) MiB"),
                    lastHeap = number(out, "JVM heap allocated per timed step: min [0-9.]+ MiB, last ([0-9.]+) MiB");
            assertTrue(minHeap <= lastHeap, "the minimum over the timed steps includes the last one: " + out);
            assertTrue(number(out, "peak memory: backend tensors ([0-9.]+) MiB") > 0, out);
            String[] lines = out.strip().split("\n");
            assertTrue(lines[lines.length - 1].matches("tokens/s: [0-9]+\\.[0-9]"), "last line: " + lines[lines.length - 1]);
            assertTrue(number(out, "tokens/s: ([0-9.]+)\\s*$") > 0, out);
        }
    }

    /**
     * --weight-dtype bf16 scores a random model whose matrices and embeddings are bf16 (as a bf16 checkpoint loads):
     * the loss moves by bf16 rounding only and the weights take about half the tensor memory; it is refused with
     * --model (the checkpoint decides) and for a dtype that does not exist.
     */
    @ParameterizedTest(name = "{0}") @ValueSource(strings = {"llama", "mamba"})
    void score_withBf16RandomWeights_halvesTheWeightsAndKeepsTheLoss(String family) throws Exception {
        Path cfg = Path.of("..", "bench", "configs", family + "-bench.json");   // big enough for MiB figures to differ
        String[] args = {"bench", "score", "--config", cfg.toString(), "--batch", "2", "--seq", "16", "--steps", "1", "--warmup", "1"};
        CliRunner.Run fp32 = CliRunner.run(args);
        String[] withFlag = java.util.Arrays.copyOf(args, args.length + 2);
        withFlag[args.length] = "--weight-dtype";
        withFlag[args.length + 1] = "bf16";
        CliRunner.Run bf16 = CliRunner.run(withFlag);
        assertEquals(0, fp32.exit(), fp32.err());
        assertEquals(0, bf16.exit(), bf16.err());
        assertTrue(bf16.out().contains("weights: random matrices and embeddings in bf16 (frozen), the rest fp32"), bf16.out());
        double l32 = number(fp32.out(), "warm-up 1: mean loss ([0-9.]+)"), l16 = number(bf16.out(), "warm-up 1: mean loss ([0-9.]+)");
        assertEquals(l32, l16, 0.01 * l32, "bf16 rounding of the weights moves the loss by well under 1 %");
        double m32 = number(fp32.out(), "backend tensors ([0-9.]+) MiB"), m16 = number(bf16.out(), "backend tensors ([0-9.]+) MiB");
        assertTrue(m16 < 0.7 * m32, "bf16 weights take about half: " + m16 + " vs " + m32 + " MiB");
        CliRunner.Run bad = CliRunner.run("bench", "score", "--config", cfg.toString(), "--weight-dtype", "fp8");
        assertEquals(2, bad.exit());
        assertTrue(bad.err().contains("--weight-dtype: expected fp32 or bf16, got 'fp8'"), bad.err());
        Path saved = dir.resolve("saved-" + family);
        kd4j.models.Models.save(kd4j.models.Models.randomInit(kd4j.models.Models.readConfig(cfg), kd4j.tensor.Backends.cpu(), 1), saved);
        CliRunner.Run model = CliRunner.run("bench", "score", "--model", saved.toString(), "--weight-dtype", "bf16");
        assertEquals(2, model.exit());
        assertTrue(model.err().contains("--weight-dtype applies to --config's random weights"), model.err());
    }

    @ParameterizedTest(name = "{0}") @ValueSource(strings = {"llama", "mamba"})
    void train_withActivationCheckpointing_sameLossesInASmallerStepArena(String family) throws Exception {
        Path cfg = config(family.equals("llama") ? LLAMA : MAMBA);
        String[] args = {"bench", "train", "--config", cfg.toString(), "--batch", "2", "--seq", "16", "--threads", "2",
                "--steps", "2", "--warmup", "1"};
        CliRunner.Run plain = CliRunner.run(args);
        String[] withFlag = java.util.Arrays.copyOf(args, args.length + 1);
        withFlag[args.length] = "--activation-checkpointing";
        CliRunner.Run checkpointed = CliRunner.run(withFlag);
        assertEquals(0, checkpointed.exit(), checkpointed.err());
        for (String regex : new String[] {"(warm-up 1: loss [0-9.]+)", "(last loss [0-9.]+)"})
            assertEquals(Pattern.compile(regex).matcher(plain.out()).results().map(m -> m.group(1)).toList(),
                    Pattern.compile(regex).matcher(checkpointed.out()).results().map(m -> m.group(1)).toList());
        double plainArena = number(plain.out(), "activation checkpointing off: step arena .* ([0-9.]+) MiB"),
                checkpointedArena = number(checkpointed.out(), "activation checkpointing on: step arena .* ([0-9.]+) MiB");
        assertTrue(checkpointedArena < plainArena, plain.out() + "\n" + checkpointed.out());
    }

    @Test
    void score_ofASavedModelDirectory_sameLossAsTheSeededConfig() throws Exception {
        Path cfg = config(LLAMA), modelDir = dir.resolve("model");
        try (kd4j.tensor.Backend be = kd4j.tensor.Backends.open("cpu:1")) {
            kd4j.models.Models.save(kd4j.models.Models.randomInit(kd4j.models.Models.readConfig(cfg), be, 1), modelDir);
        }
        String[] common = {"--batch", "2", "--seq", "16", "--steps", "1", "--warmup", "1"};
        CliRunner.Run fromConfig = CliRunner.run(concat(new String[] {"bench", "score", "--config", cfg.toString()}, common));
        CliRunner.Run fromModel = CliRunner.run(concat(new String[] {"bench", "score", "--model", modelDir.toString()}, common));
        assertEquals(0, fromModel.exit(), fromModel.err());
        assertTrue(fromModel.out().contains(modelDir.toString()), fromModel.out());
        double loss = number(fromModel.out(), "warm-up 1: mean loss ([0-9.]+)");
        assertEquals(number(fromConfig.out(), "warm-up 1: mean loss ([0-9.]+)"), loss, 1e-4);
        assertEquals(Math.log(96), loss, 0.5);
    }

    private static String[] concat(String[] a, String[] b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    @Test
    void badOptions_getAMessageNotARun() throws Exception {
        CliRunner.Run r = CliRunner.run("bench", "train", "--config", dir.resolve("missing.json").toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("missing.json: no such file"), r.err());
        r = CliRunner.run("bench", "score", "--config", config(LLAMA).toString(), "--seq", "1");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("need --batch >= 1, --seq >= 2"), r.err());
        // mixed precision needs bf16 GEMM inputs, which the cpu backend does not take
        r = CliRunner.run("bench", "train", "--config", config(LLAMA).toString(), "--precision", "bf16");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("--precision bf16: the cpu backend computes every GEMM in fp32"), r.err());
        r = CliRunner.run("bench", "gemm", "--m", "8", "--n", "8", "--k", "8", "--precision", "bf16");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("--precision bf16: the cpu backend computes every GEMM in fp32"), r.err());
        r = CliRunner.run("bench", "score", "--config", config(LLAMA).toString(), "--precision", "bf16");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("--precision bf16: the cpu backend computes every GEMM in fp32"), r.err());
        r = CliRunner.run("bench", "train", "--config", config(LLAMA).toString(), "--precision", "fp8");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("expected fp32 or bf16"), r.err());
        r = CliRunner.run("bench", "score", "--config", config(LLAMA).toString(), "--model", dir.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("give exactly one of --config"), r.err());
        r = CliRunner.run("bench", "score", "--model", dir.resolve("nowhere").toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("nowhere: no config.json there"), r.err());
    }
}
