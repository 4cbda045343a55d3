/*
 * Sequence-level KD (Kim & Rush 2016), MiniPLM's SeqKD baseline: the teacher writes a corpus (continuations of
 * prompts, or unconditional samples from BOS) that the student then pre-trains on. Output folder: generated.jsonl
 * (one {"text", "prompt", "tokens"} document per sequence, for `kd4j prepare --input`) and generation.json (the
 * teacher, sampling settings, seed, counts), both written atomically. Generation runs in GradMode.off with the
 * models' KV cache / recurrent decode.
 */
package kd4j.distill.kd;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import kd4j.autograd.GradMode;
import kd4j.data.AtomicFiles;
import kd4j.models.CausalLM;
import kd4j.models.Generation;
import kd4j.tokenizers.Tokenizer;

public final class SeqKd {
    private SeqKd() {}

    public static final String CORPUS = "generated.jsonl";
    public static final String SETTINGS = "generation.json";

    /** sequenceTokens: new tokens per sequence at most; totalTokens: stop once this many were generated. */
    public record Settings(Generation.Sampling sampling, int sequenceTokens, long totalTokens, int batch, long seed) {
        public Settings {
            if (sequenceTokens < 1 || totalTokens < 1 || batch < 1)
                throw new IllegalArgumentException("--tokens, --sequence-tokens and --batch must be at least 1, got "
                        + totalTokens + ", " + sequenceTokens + ", " + batch);
        }
    }

    /** seconds: wall time of the generation itself (not the model load); tokensPerSecond = tokens / seconds. */
    public record Result(long sequences, long tokens, Path corpus, double seconds) {
        public double tokensPerSecond() { return seconds > 0 ? tokens / seconds : 0; }
    }

    /**
     * Generates at least settings.totalTokens() new tokens into outDir. prompts == null means unconditional (each
     * sequence starts from BOS, or EOS when the tokenizer has no BOS); prompts are cycled in order.
     */
    public static Result generate(CausalLM teacher, String teacherId, Tokenizer tokenizer, List<String> prompts,
                                  Settings settings, Path outDir, PrintWriter log) throws IOException {
        int vocab = teacher.config().vocabSize();
        if (tokenizer.vocabSize() > vocab)
            throw new IllegalArgumentException("the tokenizer has " + tokenizer.vocabSize() + " ids, the teacher only "
                    + vocab + ": give the teacher's own tokenizer (--tokenizer)");
        if (prompts != null && prompts.isEmpty()) throw new IllegalArgumentException("the prompts file holds no prompts");
        int start = tokenizer.bosId() >= 0 ? tokenizer.bosId() : tokenizer.eosId();
        if (prompts == null && start < 0)
            throw new IllegalArgumentException("unconditional generation needs a BOS or EOS token; the tokenizer has neither: give --prompts FILE");
        StringBuilder corpus = new StringBuilder();
        long tokens = 0, sequences = 0;
        int next = 0, round = 0;
        var json = LogitsCache.JSON;
        long startNanos = System.nanoTime();
        try (var off = GradMode.off()) {
            while (tokens < settings.totalTokens()) {
                int b = settings.batch();
                int[][] batch = new int[b][];
                String[] texts = new String[b];
                for (int i = 0; i < b; i++) {
                    if (prompts == null) { batch[i] = new int[] {start}; texts[i] = ""; }
                    else {
                        texts[i] = prompts.get(next++ % prompts.size());
                        batch[i] = tokenizer.encodeWithSpecialTokens(texts[i]);
                        if (batch[i].length == 0) batch[i] = new int[] {start < 0 ? 0 : start};
                    }
                }
                int[][] made = Generation.generate(teacher, batch, settings.sequenceTokens(), settings.sampling(),
                        tokenizer.eosId(), settings.seed() + round++);
                for (int i = 0; i < b && tokens < settings.totalTokens(); i++) {
                    ObjectNode doc = json.createObjectNode();
                    doc.put("text", texts[i] + tokenizer.decode(made[i], true));
                    doc.put("prompt", texts[i]);
                    doc.put("tokens", made[i].length);
                    corpus.append(json.writer().without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT)
                            .writeValueAsString(doc)).append('\n');
                    tokens += made[i].length;
                    sequences++;
                }
                if (log != null) {
                    double sec = (System.nanoTime() - startNanos) / 1e9, rate = sec > 0 ? tokens / sec : 0;
                    long left = Math.max(0, settings.totalTokens() - tokens);
                    log.printf(java.util.Locale.ROOT, "generated %,d/%,d tokens (%,d sequences)  %.1f tokens/s  ETA %s%n",
                            tokens, settings.totalTokens(), sequences, rate, rate > 0 ? Math.round(left / rate) + "s" : "?");
                    log.flush();
                }
            }
        }
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        Files.createDirectories(outDir);
        Path file = outDir.resolve(CORPUS);
        AtomicFiles.write(file, corpus.toString().getBytes(StandardCharsets.UTF_8));
        ObjectNode meta = json.createObjectNode();
        meta.put("teacher", teacherId);
        meta.put("mode", prompts == null ? "unconditional" : "prompts");
        meta.put("prompts", prompts == null ? 0 : prompts.size());
        meta.put("temperature", settings.sampling().temperature());
        meta.put("topK", settings.sampling().topK());
        meta.put("topP", settings.sampling().topP());
        meta.put("sequenceTokens", settings.sequenceTokens());
        meta.put("seed", settings.seed());
        meta.put("batch", settings.batch());
        meta.put("sequences", sequences);
        meta.put("tokens", tokens);
        meta.put("teacherFlops", 2.0 * KdLoss.parameterCount(teacher) * tokens);
        AtomicFiles.write(outDir.resolve(SETTINGS), json.writeValueAsBytes(meta));
        return new Result(sequences, tokens, file, seconds);
    }
}
