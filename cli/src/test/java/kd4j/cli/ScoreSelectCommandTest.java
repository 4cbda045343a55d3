/*
 * kd4j score / score-merge / select end to end through picocli with captured out/err: a prepared two-source corpus,
 * a tiny random Qwen2 teacher and reference (saved as HF directories), sharded scoring merged, selection with a
 * report, and the bad-input messages and exit codes.
 */
package kd4j.cli;

import static kd4j.cli.CliRunner.run;
import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import kd4j.cli.CliRunner.Run;
import kd4j.data.Prepare;
import kd4j.data.TokenDataset;
import kd4j.distill.score.ScoreFile;
import kd4j.models.Models;
import kd4j.tensor.Backends;
import kd4j.tokenizers.Tokenizers;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScoreSelectCommandTest {
    static String config(int hidden) {
        return """
            {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 512, "hidden_size": %d,
             "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2,
             "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": true,
             "bos_token_id": 0, "eos_token_id": 0, "hidden_act": "silu"}""".formatted(hidden);
    }

    @TempDir static Path dir;
    static Path tokenizer, data, otherData, teacher, reference;

    @BeforeAll
    static void setUp() throws Exception {
        tokenizer = Path.of(ScoreSelectCommandTest.class.getResource("/kd4j/cli/score/brown-bpe-512/tokenizer.json").toURI()).getParent();
        var tok = Tokenizers.load(tokenizer);
        Path a = dir.resolve("whales.jsonl"), b = dir.resolve("speeches.jsonl");
        StringBuilder wa = new StringBuilder(), wb = new StringBuilder();
        for (int i = 0; i < 10; i++) {
            wa.append("{\"id\":\"w").append(i).append("\",\"text\":\"The whale swam far out to sea on day ").append(i)
              .append(". The crew watched it go.\"}\n");
            wb.append("{\"id\":\"s").append(i).append("\",\"text\":\"The state of the union is strong in year ")
              .append(i).append(". We shall build roads.\"}\n");
        }
        Files.writeString(a, wa);
        Files.writeString(b, wb);
        data = dir.resolve("data");
        Prepare.run(Prepare.Options.defaults(List.of(a, b), data).withSeq(16).withValidation(0.1).withThreads(1), tok, l -> {});
        otherData = dir.resolve("data-other");
        Prepare.run(Prepare.Options.defaults(List.of(a), otherData).withSeq(16).withValidation(0.1).withThreads(1), tok, l -> {});
        teacher = dir.resolve("teacher");
        reference = dir.resolve("reference");
        Models.save(Models.randomInit(Models.parseConfig(config(32), Path.of("teacher.json")), Backends.cpu(), 1), teacher);
        Models.save(Models.randomInit(Models.parseConfig(config(16), Path.of("reference.json")), Backends.cpu(), 2), reference);
    }

    @Test
    void scoreShardsMergeAndSelect() throws Exception {
        Path t0 = dir.resolve("t0.scores"), t1 = dir.resolve("t1.scores"), t = dir.resolve("t.scores"), r = dir.resolve("r.scores");
        Run s0 = run("score", "--model", teacher.toString(), "--data", data.toString(), "--out", t0.toString(), "--shard", "0/2", "--batch", "3");
        assertEquals(0, s0.exit(), s0.err());
        assertTrue(s0.out().contains("tokens/s"), s0.out());
        assertTrue(s0.err().contains("scored ") && s0.err().contains("ETA"), s0.err());
        assertEquals(0, run("score", "--model", teacher.toString(), "--data", data.toString(), "--out", t1.toString(), "--shard", "1/2").exit());
        Run again = run("score", "--model", teacher.toString(), "--data", data.toString(), "--out", t1.toString(), "--shard", "1/2");
        assertTrue(again.out().contains("already holds these scores"), again.out());

        Run gap = run("score-merge", "--out", t.toString(), t1.toString());
        assertEquals(ExitCodes.BAD_INPUT, gap.exit());
        assertTrue(gap.err().startsWith("kd4j: score-merge: gap: no scores for instances [0, "), gap.err());
        Run merged = run("score-merge", "--out", t.toString(), t1.toString(), t0.toString());
        assertEquals(0, merged.exit(), merged.err());
        assertEquals(0, run("score", "--model", reference.toString(), "--data", data.toString(), "--out", r.toString()).exit());

        ScoreFile tf = ScoreFile.read(t);
        assertTrue(tf.isComplete());
        Path out = dir.resolve("refined");
        Run sel = run("select", "--teacher-scores", t.toString(), "--reference-scores", r.toString(), "--ratio", "0.5",
                "--out", out.toString(), "--tokenizer", tokenizer.toString());
        assertEquals(0, sel.exit(), sel.err());
        int scored = 0;
        for (int i = 0; i < tf.size(); i++) if (tf.count(i) > 0) scored++;
        try (TokenDataset refined = TokenDataset.open(out)) {
            assertEquals(scored / 2, refined.instances(TokenDataset.Split.TRAIN).size());
        }
        String report = Files.readString(out.resolve("report/report.md"));
        assertTrue(report.contains("whales.jsonl") && report.contains("speeches.jsonl"), report);
        assertTrue(Files.exists(out.resolve("report/histogram.png")));
    }

    @Test
    void badInput_getsMessagesAndExitCodes() throws Exception {
        Path r = dir.resolve("bad-r.scores"), o = dir.resolve("bad-o.scores");
        assertEquals(0, run("score", "--model", reference.toString(), "--data", data.toString(), "--out", r.toString()).exit());
        assertEquals(0, run("score", "--model", reference.toString(), "--data", otherData.toString(), "--out", o.toString()).exit());

        Run ratio = run("select", "--teacher-scores", r.toString(), "--reference-scores", r.toString(), "--ratio", "1.5",
                "--out", dir.resolve("x").toString());
        assertEquals(ExitCodes.USAGE, ratio.exit());
        assertTrue(ratio.err().contains("--ratio must be in (0, 1], got 1.5"), ratio.err());

        Run corpora = run("select", "--teacher-scores", o.toString(), "--reference-scores", r.toString(), "--ratio", "0.5",
                "--out", dir.resolve("y").toString());
        assertEquals(ExitCodes.BAD_INPUT, corpora.exit());
        assertTrue(corpora.err().contains("score different corpora or tokenizers (corpus checksum: "), corpora.err());

        Run shard = run("score", "--model", reference.toString(), "--data", data.toString(), "--out", dir.resolve("z").toString(), "--shard", "2/2");
        assertEquals(ExitCodes.USAGE, shard.exit());
        assertTrue(shard.err().contains("shard 2/2 is not valid: expected i/N with 0 <= i < N"), shard.err());

        Run batch = run("score", "--model", reference.toString(), "--data", data.toString(), "--out", dir.resolve("z").toString(), "--batch", "0");
        assertEquals(ExitCodes.USAGE, batch.exit());
        assertTrue(batch.err().contains("--batch must be at least 1, got 0"), batch.err());
        Run chunk = run("cache-logits", "--model", reference.toString(), "--data", data.toString(), "--out", dir.resolve("c").toString(), "--chunk", "-1");
        assertEquals(ExitCodes.USAGE, chunk.exit());
        assertTrue(chunk.err().contains("--chunk must be at least 1, got -1"), chunk.err());
        assertFalse(Files.exists(dir.resolve("z")) || Files.exists(dir.resolve("c")), "a refused run writes nothing");
    }

    /** #17/#19: a job that cannot fit is refused before it starts, with the plan's numbers, not an OutOfMemoryError. */
    @Test
    void scoreThatCannotFit_isRefusedWithTheMemoryPlan() {
        Path o = dir.resolve("huge.scores");
        Run huge = run("score", "--model", teacher.toString(), "--data", data.toString(), "--out", o.toString(),
                "--batch", "1000000000");
        assertEquals(ExitCodes.FAILED, huge.exit(), huge.err());
        assertTrue(huge.err().contains("memory plan for score on cpu:") && huge.err().contains("DOES NOT FIT")
                && huge.err().contains("activations, 2 layers live") && huge.err().contains("---> hint: lower --batch"),
                huge.err());
        assertFalse(huge.err().contains("at kd4j."), "no stack trace: " + huge.err());
        assertFalse(Files.exists(o), "a refused run writes nothing");
        Run ok = run("score", "--model", teacher.toString(), "--data", data.toString(), "--out", o.toString());
        assertEquals(0, ok.exit(), ok.err());
        assertTrue(ok.err().contains("memory plan for score on cpu:") && ok.err().contains("logits: one block of positions"),
                ok.err());
    }

    /**
     * #17: --precision bf16 scores through bf16 GEMM inputs on an OpenCL device (PoCL in CI): the scores move by
     * bf16 rounding only, the manifest says bf16, and a run resumes and shards merge at one precision only. The CPU
     * refuses bf16 as a usage error that says why; a precision that does not exist is a usage error too.
     */
    @Test
    void precisionBf16_scoresOnOpenClAndIsRefusedOnTheCpu() throws Exception {
        Run cpu = run("score", "--model", teacher.toString(), "--data", data.toString(), "--out",
                dir.resolve("cpu-bf16.scores").toString(), "--precision", "bf16");
        assertEquals(ExitCodes.USAGE, cpu.exit(), cpu.err());
        assertTrue(cpu.err().contains("--precision bf16: the cpu backend computes every GEMM in fp32 (bf16 matrix inputs "
                + "need an OpenCL device: --device opencl); use --precision fp32"), cpu.err());
        Run fp16 = run("cache-logits", "--model", teacher.toString(), "--data", data.toString(), "--out",
                dir.resolve("cache-fp16").toString(), "--precision", "fp16");
        assertEquals(ExitCodes.USAGE, fp16.exit(), fp16.err());
        assertTrue(fp16.err().contains("--precision: precision 'fp16': expected fp32 or bf16"), fp16.err());
        assertFalse(Files.exists(dir.resolve("cpu-bf16.scores")) || Files.exists(dir.resolve("cache-fp16")), "a refused run writes nothing");

        String why = null;
        try (var cl = Backends.open("opencl")) {
            if (!cl.supportsBf16Matmul()) why = cl.describe() + " has no bf16 GEMM inputs";
        } catch (RuntimeException e) {
            why = e.getMessage();
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(why == null, "OpenCL unavailable (" + why + "); install one with: "
                + "sudo apt-get install pocl-opencl-icd ocl-icd-libopencl1");
        Path f32 = dir.resolve("cl-fp32.scores"), b16 = dir.resolve("cl-bf16.scores");
        Run a = run("score", "--model", teacher.toString(), "--data", data.toString(), "--out", f32.toString(), "--device", "opencl");
        assertEquals(0, a.exit(), a.err());
        Run b = run("score", "--model", teacher.toString(), "--data", data.toString(), "--out", b16.toString(), "--device", "opencl",
                "--precision", "bf16");
        assertEquals(0, b.exit(), b.err());
        assertTrue(b.err().contains(", batch 8, bf16"), b.err());
        ScoreFile sa = ScoreFile.read(f32), sb = ScoreFile.read(b16);
        assertEquals("fp32", sa.manifest().precision());
        assertEquals("bf16", sb.manifest().precision());
        assertEquals(sa.size(), sb.size());
        double largest = 0;
        for (int i = 0; i < sa.size(); i++) {
            assertEquals(sa.count(i), sb.count(i), "instance " + i);
            largest = Math.max(largest, Math.abs(sa.mean(i) - sb.mean(i)));
        }
        // mean log-probabilities near -ln 512 = -6.2: bf16 inputs (2^-9 relative rounding) move them by far less than 0.02
        assertTrue(largest > 0 && largest < 0.02, "largest |mean fp32 - mean bf16| " + largest);

        Run resume = run("score", "--model", teacher.toString(), "--data", data.toString(), "--out", f32.toString(), "--device", "opencl",
                "--precision", "bf16");
        assertEquals(ExitCodes.BAD_INPUT, resume.exit(), resume.err());
        assertTrue(resume.err().contains("already holds other scores (precision: bf16 vs fp32)"), resume.err());

        Path s0 = dir.resolve("cl-s0.scores"), s1 = dir.resolve("cl-s1.scores");
        assertEquals(0, run("score", "--model", teacher.toString(), "--data", data.toString(), "--out", s0.toString(), "--device",
                "opencl", "--shard", "0/2").exit());
        assertEquals(0, run("score", "--model", teacher.toString(), "--data", data.toString(), "--out", s1.toString(), "--device",
                "opencl", "--shard", "1/2", "--precision", "bf16").exit());
        Run merge = run("score-merge", "--out", dir.resolve("cl-mixed.scores").toString(), s0.toString(), s1.toString());
        assertEquals(ExitCodes.BAD_INPUT, merge.exit(), merge.err());
        assertTrue(merge.err().contains("were scored at different precisions (fp32 vs bf16); merge shards of one precision only"),
                merge.err());

        Path cache = dir.resolve("cl-bf16-cache");
        Run c = run("cache-logits", "--model", teacher.toString(), "--data", data.toString(), "--out", cache.toString(),
                "--device", "opencl", "--precision", "bf16", "--top-k", "8");
        assertEquals(0, c.exit(), c.err());
        assertEquals("bf16", kd4j.distill.kd.LogitsCache.open(cache).manifest().precision());
    }

    /** kd4j inspect: architecture, parameters, dtypes, shards, padded vocabulary vs tokenizer, memory plans. */
    @Test
    void inspect_describesTheFolderAndAPaddedVocabulary() throws Exception {
        Path padded = dir.resolve("padded");
        Models.save(Models.randomInit(Models.parseConfig(config(32).replace("\"vocab_size\": 512", "\"vocab_size\": 640"),
                Path.of("padded.json")), Backends.cpu(), 3), padded);
        Run r = run("inspect", padded.toString(), "--tokenizer", tokenizer.toString(), "--batch", "2", "--seq", "16");
        assertEquals(0, r.exit(), r.err());
        String o = r.out();
        assertTrue(o.contains("Qwen2ForCausalLM") && o.contains("bias q/k/v yes, o_proj no"), o);
        long params = Models.load(padded, Backends.cpu()).parameters().numel();
        assertTrue(o.contains(String.format(java.util.Locale.ROOT, "parameters: %,d (lm_head tied", params)), o);
        assertTrue(o.contains("weights: 1 file:") && o.contains("dtypes: F32 "), o);
        assertTrue(o.contains("vocabulary: 640 rows in the model, 512 ids in the tokenizer: 128 padding rows"), o);
        assertTrue(o.contains("memory plan for score (batch 2 x seq 16)") && o.contains("memory plan for pretrain on cpu")
                && o.contains("with activation checkpointing"), o);
        Run small = run("inspect", padded.toString(), "--tokenizer", tokenizer.toString(), "--seq", "0");
        assertEquals(ExitCodes.USAGE, small.exit());
    }
}
