/*
 * `kd4j score`: MiniPLM's offline scoring. Runs a model forward-only over every instance of a prepared data set
 * (or a Megatron .bin/.idx corpus) and writes, per instance, the sum and mean of token log-probabilities and the
 * token count to a columnar score file. Resumable: run the same command again after a kill. --shard i/N scores one
 * slice so a scheduler job array can split a corpus; `kd4j score-merge` joins the slices.
 */
package kd4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import kd4j.distill.score.DatasetInstances;
import kd4j.distill.score.ModelId;
import kd4j.distill.score.ScoreFile;
import kd4j.distill.score.ScoreRun;
import kd4j.distill.score.Shard;
import kd4j.distill.score.TeacherScorer;
import kd4j.models.CausalLM;
import kd4j.models.Models;
import kd4j.tensor.Backend;
import kd4j.tensor.Backends;
import kd4j.tokenizers.Tokenizers;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(name = "score", mixinStandardHelpOptions = true,
        description = {"Score every instance of a corpus with a model (no gradients): sum and mean log-probability "
                + "and token count per instance, as MiniPLM's Difference Sampling needs.",
                "Resumable: after a kill, run the same command again. Positions whose input token is EOS or padding "
                + "are left out, as in MiniPLM."})
public final class ScoreCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "HuggingFace model directory (bf16 weights stay bf16)")
    Path model;

    @Option(names = "--data", required = true, paramLabel = "DIR|PREFIX",
            description = "prepared data set (kd4j prepare) or Megatron corpus (prefix, .bin or .idx); its train split is scored")
    Path data;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "score file to write")
    Path out;

    @Option(names = "--shard", paramLabel = "i/N", defaultValue = "0/1",
            description = "score only slice i of N (0-based), e.g. $SLURM_ARRAY_TASK_ID/16 (default: ${DEFAULT-VALUE})")
    String shard;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "8", description = "instances per forward pass (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--chunk", paramLabel = "BATCHES", defaultValue = "16",
            description = "batches per saved chunk: the most work a kill can lose (default: ${DEFAULT-VALUE})")
    int chunk;

    @Option(names = "--device", paramLabel = "SPEC", defaultValue = "cpu",
            description = "backend: " + Backends.VALID_SPECS + " (default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--tokenizer", paramLabel = "DIR",
            description = "the corpus's tokenizer; needed for a bare Megatron corpus (default: the model directory when it has tokenizer.json)")
    Path tokenizer;

    @Option(names = "--verbose", description = "print stack traces of unexpected errors")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        Shard slice;
        try {
            slice = Shard.parse(shard);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        if (batch < 1) throw new ParameterException(spec.commandLine(), "--batch must be at least 1, got " + batch);
        if (chunk < 1) throw new ParameterException(spec.commandLine(), "--chunk must be at least 1, got " + chunk);
        PrintWriter err = spec.commandLine().getErr();
        var tok = tokenizer != null ? Tokenizers.load(tokenizer)
                : java.nio.file.Files.isRegularFile(model.resolve("tokenizer.json")) && !java.nio.file.Files.isDirectory(data)
                ? Tokenizers.load(model) : null;
        try (DatasetInstances source = DatasetInstances.open(data, tok);
             Backend be = Backends.open(device)) {
            CausalLM lm = Models.load(model, be, true);
            String id = ModelId.of(model);
            err.printf(Locale.ROOT, "kd4j score: %s on %s (%,d instances, shard %s), %s, batch %d%n", id, data,
                    source.size(), slice, be.describe(), batch);
            ScoreRun run = new ScoreRun(source, new TeacherScorer(lm, batch, source.eosId(), source.padId()), id, slice,
                    out, chunk).recordDataPath(data.toAbsolutePath().normalize().toString());
            long[] lastPrint = {0};
            ScoreRun.Progress[] last = {null};
            ScoreFile result = run.run(p -> {
                last[0] = p;
                long now = System.nanoTime();
                if (now - lastPrint[0] > 2_000_000_000L || p.instancesDone() == p.instancesTotal()) {
                    if (p.resumedFrom() > 0 && lastPrint[0] == 0)
                        err.printf(Locale.ROOT, "resumed after %,d instances already scored%n", p.resumedFrom());
                    err.println(p.line());
                    err.flush();
                    lastPrint[0] = now;
                }
            });
            ScoreRun.Progress p = last[0];
            if (p == null) spec.commandLine().getOut().printf("%s already holds these scores (%,d instances)%n", out, result.size());
            else spec.commandLine().getOut().printf(Locale.ROOT,
                    "scored %,d instances (%,d tokens) in %.1f s: %,.0f tokens/s, %,.1f instances/s -> %s%n",
                    p.instancesThisRun(), p.tokensThisRun(), p.secondsThisRun(), p.tokensPerSecond(),
                    p.instancesPerSecond(), out);
            return ExitCodes.OK;
        }
    }
}
