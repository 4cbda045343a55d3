/*
 * `kd4j score`: MiniPLM's offline scoring. Runs a model forward-only over every instance of a prepared data set
 * (or a Megatron .bin/.idx corpus) and writes, per instance, the sum and mean of token log-probabilities and the
 * token count to a columnar score file. Resumable: run the same command again after a kill. --shard i/N scores one
 * slice so a scheduler job array can split a corpus; `kd4j score-merge` joins the slices. As N MPI ranks, rank r
 * scores slice r/N into OUT.rank-r-of-N and rank 0, once every slice file is there, merges them into OUT (the
 * slice files stay, so a rerun after a kill redoes only unfinished slices).
 */
package kd4j.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import kd4j.data.Shard;
import kd4j.distill.score.ModelId;
import kd4j.distill.score.ScoreFile;
import kd4j.distill.score.ScoreJob;
import kd4j.distill.score.ScoreRun;
import kd4j.models.ChunkedLogits;
import kd4j.mpi.Communicator;
import kd4j.mpi.Communicators;
import kd4j.tensor.Backend;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
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

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "score file to write")
    Path out;

    @Mixin CorpusPassOptions pass;

    @Override
    public Integer call() throws Exception {
        Shard slice = pass.slice(spec);
        Communicator comm = Communicators.world();
        Path whole = out;
        if (comm.isDistributed()) out = rankFile(whole, comm.rank(), comm.size());
        PrintWriter err = spec.commandLine().getErr();
        Path data = pass.data;
        pass.precision.value(spec.commandLine());
        try (Backend be = pass.openBackend()) {
            var config = new ScoreJob.Config(model, data, pass.corpusTokenizer(model), out, slice, pass.batch, pass.chunk,
                    pass.precision.checkedFor(be, spec.commandLine()));
            var progress = new CorpusPassOptions.ProgressPrinter(err, "scored");
            ScoreJob.Result result = ScoreJob.run(config, be, source -> {
                pass.planMemory("score", model, source, ChunkedLogits.DEFAULT_CHUNK_BYTES, be, err);
                err.printf(Locale.ROOT, "kd4j score: %s on %s (%,d instances, shard %s), %s, batch %d, %s%n", ModelId.of(model),
                        data, source.size(), slice, be.describe(), pass.batch, config.precision().label());
            }, p -> progress.update(p.instancesDone(), p.instancesTotal(), p.resumedFrom(), p::line));
            ScoreRun.Progress p = result.last();
            if (p == null) spec.commandLine().getOut().printf("%s already holds these scores (%,d instances)%n", out,
                    result.scores().size());
            else spec.commandLine().getOut().printf(Locale.ROOT,
                    "scored %,d instances (%,d tokens) in %.1f s: %,.0f tokens/s, %,.1f instances/s -> %s%n",
                    p.instancesThisRun(), p.tokensThisRun(), p.secondsThisRun(), p.tokensPerSecond(),
                    p.instancesPerSecond(), out);
            if (comm.isDistributed() && comm.isRoot()) mergeRanks(whole, comm.size(), err);
            return ExitCodes.OK;
        }
    }

    static Path rankFile(Path whole, int rank, int size) {
        return whole.resolveSibling(whole.getFileName() + ".rank-" + rank + "-of-" + size);
    }

    /**
     * Rank 0: waits for every rank's slice file (each is written atomically when its slice is done), then merges
     * them into whole. The slice files stay, so a rerun finds every slice done and only merges again. No
     * collective, so no timeout: a rank that fails makes the launcher end the job.
     */
    private static void mergeRanks(Path whole, int size, PrintWriter err) throws Exception {
        List<Path> parts = new ArrayList<>();
        for (int r = 0; r < size; r++) parts.add(rankFile(whole, r, size));
        boolean told = false;
        while (!parts.stream().allMatch(Files::exists)) {
            if (!told) {
                err.println("kd4j score: rank 0 waits for the other ranks' slices to merge them into " + whole);
                err.flush();
                told = true;
            }
            Thread.sleep(500);
        }
        ScoreFile merged = ScoreFile.merge(parts);
        merged.write(whole);
        err.printf("merged the %d ranks' slices: %,d instances -> %s%n", size, merged.size(), whole);
        err.flush();
    }
}
