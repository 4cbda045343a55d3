/*
 * The generate job (SeqKD's teacher-written corpus), a library class like the other jobs: check the memory plan
 * of KV-cache decoding, load the teacher and let SeqKd write generated.jsonl and generation.json. `kd4j generate`
 * is its flags.
 */
package kd4j.distill.kd;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import kd4j.distill.score.ModelId;
import kd4j.models.CausalLM;
import kd4j.models.MemoryPlan;
import kd4j.models.Models;
import kd4j.tensor.Backend;
import kd4j.tokenizers.Tokenizer;
import kd4j.tokenizers.Tokenizers;

public final class GenerateJob {
    /**
     * teacher continues each line of prompts (null: samples unconditionally) with settings into out; tokenizer is
     * the teacher's tokenizer folder (null: the teacher's own folder, which must then hold tokenizer.json).
     */
    public record Config(Path teacher, Path tokenizer, Path prompts, SeqKd.Settings settings, Path out) {
        public Config {
            Path dir = tokenizer != null ? tokenizer : teacher;
            if (!Files.isRegularFile(dir.resolve("tokenizer.json")))
                throw new IllegalArgumentException(dir + " has no tokenizer.json; give the teacher's tokenizer with --tokenizer DIR");
            tokenizer = dir;
        }
    }

    /** What was generated, and how long loading the teacher took (apart from generation). */
    public record Result(SeqKd.Result generated, double loadSeconds) {}

    private GenerateJob() {}

    /** log gets the memory plan, the load time and SeqKd's progress. */
    public static Result run(Config c, Backend be, PrintWriter log) throws IOException {
        Tokenizer tok = Tokenizers.load(c.tokenizer());
        List<String> prompts = c.prompts() == null ? null
                : Files.readAllLines(c.prompts(), StandardCharsets.UTF_8).stream().filter(s -> !s.isBlank()).toList();
        int promptTokens = 1;
        if (prompts != null) for (String p : prompts) promptTokens = Math.max(promptTokens, tok.encodeWithSpecialTokens(p).length);
        var plan = MemoryPlan.inference("generate", c.teacher(), c.settings().batch(),
                promptTokens + c.settings().sequenceTokens(), 0, be);
        log.println(plan.table());
        plan.requireFits("lower --batch or --sequence-tokens (the KV cache scales with both), or give the JVM more"
                + " native memory (KD4J_JAVA_OPTS=-XX:MaxDirectMemorySize=...)");
        long loadStart = System.nanoTime();
        CausalLM teacher = Models.load(c.teacher(), be, true);
        double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
        log.printf(Locale.ROOT, "loaded %s in %.1f s%n", c.teacher(), loadSeconds);
        return new Result(SeqKd.generate(teacher, ModelId.of(c.teacher()), tok, prompts, c.settings(), c.out(), log),
                loadSeconds);
    }
}
