/*
 * `kd4j cache-logits`: offline logit KD's one teacher pass. Runs the teacher forward-only over the train split of a
 * prepared data set and stores, per token, its truncated distribution (top-p-k as in Peng et al. 2024, or
 * --sampled N random-sampling KD) with the left-out mass, ids packed in as few bytes as the vocabulary needs and
 * probabilities in 16 bits. Resumable (run the same command again) and shardable (--shard i/N into one folder),
 * like kd4j score. Prints the bytes per token; `kd4j pretrain --kd offline --logits DIR` trains against it.
 */
package kd4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import kd4j.data.DatasetInstances;
import kd4j.data.Shard;
import kd4j.distill.kd.CacheLogitsJob;
import kd4j.distill.kd.LogitsCacheManifest;
import kd4j.distill.kd.LogitsCacheRun;
import kd4j.distill.kd.TopPkLogits;
import kd4j.distill.score.ModelId;
import kd4j.tensor.Backend;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(name = "cache-logits", mixinStandardHelpOptions = true,
        description = {"Run a teacher once over a prepared data set and cache its truncated next-token distributions "
                + "for offline logit distillation (kd4j pretrain --kd offline --logits DIR).",
                "Resumable: after a kill, run the same command again. --shard i/N caches one slice into the same folder."})
public final class CacheLogitsCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "TEACHER", description = "teacher: HuggingFace model directory")
    Path model;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "cache folder")
    Path out;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "0.95",
            description = "keep the shortest top prefix with this much probability (default: ${DEFAULT-VALUE})")
    double topP;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "50", description = "and at most K ids (default: ${DEFAULT-VALUE})")
    int topK;

    @Option(names = "--sampled", paramLabel = "N",
            description = "instead of top-p-k: draw N ids from the teacher and keep them weighted count/N (an unbiased cache)")
    Integer sampled;

    @Option(names = "--prob-bits", paramLabel = "16|32", defaultValue = "16",
            description = "bits per stored probability: 16 (IEEE half) or 32 (default: ${DEFAULT-VALUE})")
    int probBits;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "seed of --sampled draws (default: ${DEFAULT-VALUE})")
    long seed;

    @Mixin CorpusPassOptions pass;

    @Override
    public Integer call() throws Exception {
        Shard slice = pass.slice(spec);
        CacheLogitsJob.Config config;
        try {
            TopPkLogits.Truncation truncation = sampled != null ? new TopPkLogits.Truncation.Sampled(sampled)
                    : new TopPkLogits.Truncation.TopPK(topP, topK);
            config = new CacheLogitsJob.Config(model, pass.data, pass.corpusTokenizer(model), out, slice, truncation,
                    probBits, seed, pass.batch, pass.chunk, pass.precision.value(spec.commandLine()));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        PrintWriter err = spec.commandLine().getErr();
        try (Backend be = pass.openBackend()) {
            pass.precision.checkedFor(be, spec.commandLine());
            var progress = new CorpusPassOptions.ProgressPrinter(err, "cached");
            LogitsCacheManifest done = CacheLogitsJob.run(config, be, new CacheLogitsJob.Hooks() {
                @Override
                public void opened(DatasetInstances source) {
                    pass.planMemory("cache-logits", model, source, LogitsCacheRun.LOGITS_BLOCK_BYTES, be, err);
                }

                @Override
                public void started(DatasetInstances source, LogitsCacheRun run) throws IOException {
                    err.printf(Locale.ROOT, "kd4j cache-logits: %s on %s (%,d instances, shard %s), %s, %s; %s%n", ModelId.of(model),
                            pass.data, source.size(), slice, be.describe(), config.precision().label(), run.manifest().describeStorage());
                }
            }, p -> progress.update(p.instancesDone(), p.instancesTotal(), p.resumedFrom(), p::line));
            double flops = 2.0 * done.teacherParameters() * done.tokens();
            spec.commandLine().getOut().printf(Locale.ROOT,
                    "cached %,d tokens of instances [%d, %d): %,d bytes, %.1f bytes/token (%s); teacher FLOPs %.3g -> %s%n",
                    done.tokens(), done.start(), done.end(), done.bytes(), done.bytesPerToken(), done.describeStorage(),
                    flops, out);
            return ExitCodes.OK;
        }
    }
}
