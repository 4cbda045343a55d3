/*
 * The options kd4j score and kd4j cache-logits share: a resumable, shardable forward-only pass of one model over the
 * train split of a prepared data set (or a Megatron corpus), in batches saved a chunk at a time. Also prints such a
 * pass's progress lines, at most every two seconds. Started as MPI ranks (mpirun, srun), rank r of N takes slice r/N
 * and its share of the node's cores or GPUs, as a convenience beside job arrays.
 */
package kd4j.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Supplier;
import kd4j.data.Shard;
import kd4j.mpi.Communicator;
import kd4j.mpi.Communicators;
import kd4j.tensor.Backend;
import kd4j.tensor.Backends;
import kd4j.tokenizers.Tokenizer;
import kd4j.tokenizers.Tokenizers;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

public final class CorpusPassOptions {
    @Option(names = "--data", required = true, paramLabel = "DIR|PREFIX",
            description = "prepared data set (kd4j prepare) or Megatron corpus (prefix, .bin or .idx); its train split is read")
    Path data;

    @Option(names = "--shard", paramLabel = "i/N", defaultValue = "0/1",
            description = "only slice i of N (0-based), e.g. $SLURM_ARRAY_TASK_ID/16 (default: ${DEFAULT-VALUE})")
    String shard;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "8", description = "instances per forward pass (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--chunk", paramLabel = "BATCHES", defaultValue = "16",
            description = "batches per saved chunk: the most work a kill can lose (default: ${DEFAULT-VALUE})")
    int chunk;

    @Mixin DeviceOptions device = new DeviceOptions();

    @Mixin PrecisionOption precision = new PrecisionOption();

    @Option(names = "--tokenizer", paramLabel = "DIR",
            description = "the corpus's tokenizer; needed for a bare Megatron corpus (default: the model directory when it has tokenizer.json)")
    Path tokenizer;

    /** The --shard slice, after checking --shard, --batch and --chunk; a usage error names the bad option. */
    Shard slice(CommandSpec spec) {
        Shard slice;
        try {
            slice = Shard.parse(shard);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        Communicator comm = Communicators.world();
        if (comm.isDistributed()) {
            if (!slice.equals(Shard.WHOLE))
                throw new ParameterException(spec.commandLine(), "--shard " + shard + " under " + comm.size() + " MPI ranks: "
                        + "the ranks already split the corpus (rank r takes slice r/" + comm.size() + "); drop --shard or run without mpirun");
            slice = new Shard(comm.rank(), comm.size());
        }
        if (batch < 1) throw new ParameterException(spec.commandLine(), "--batch must be at least 1, got " + batch);
        if (chunk < 1) throw new ParameterException(spec.commandLine(), "--chunk must be at least 1, got " + chunk);
        return slice;
    }

    /**
     * The tokenizer of the corpus: --tokenizer, else the model's own when --data is a Megatron corpus (not a prepared
     * data set folder, which records its tokenizer) and the model directory has tokenizer.json, else null.
     */
    Tokenizer corpusTokenizer(Path model) {
        if (tokenizer != null) return Tokenizers.load(tokenizer);
        return Files.isRegularFile(model.resolve("tokenizer.json")) && !Files.isDirectory(data) ? Tokenizers.load(model) : null;
    }

    /**
     * Prints the memory plan of a forward-only pass of model over source (batch --batch, the longest of the
     * first instances as the length) to err, and refuses with it when it cannot fit the backend.
     */
    void planMemory(String job, Path model, kd4j.data.TokenSequences source, long logitsBlockBytes,
                    Backend be, java.io.PrintWriter err) {
        int seq = 1;
        for (long i = 0; i < Math.min(64, source.size()); i++) seq = Math.max(seq, source.length(i));
        var plan = kd4j.models.MemoryPlan.inference(job, model, batch, seq, logitsBlockBytes, precision.bf16(), be);
        err.println(plan.table());
        err.flush();
        plan.requireFits("lower --batch (activations scale with it), or give the JVM more native memory"
                + " (KD4J_JAVA_OPTS=-XX:MaxDirectMemorySize=...), or use a device with more memory");
    }

    /** A new backend for --device; the caller closes it. */
    Backend openBackend() {
        Communicator comm = Communicators.world();
        return Backends.open(Backends.forLocalRank(device.spec(), comm.localRank(), comm.localSize()));
    }

    /**
     * Prints a pass's progress lines to err: the first, then at most one every two seconds, and always the last;
     * before the first, a note when the run resumed after {@code resumedFrom} instances already done.
     */
    static final class ProgressPrinter {
        private final PrintWriter err;
        private final String done;
        private long lastPrint;

        /** {@code done} completes "resumed after N instances already ...", e.g. "scored". */
        ProgressPrinter(PrintWriter err, String done) {
            this.err = err;
            this.done = done;
        }

        void update(long instancesDone, long instancesTotal, long resumedFrom, Supplier<String> line) {
            long now = System.nanoTime();
            if (now - lastPrint > 2_000_000_000L || instancesDone == instancesTotal) {
                if (resumedFrom > 0 && lastPrint == 0)
                    err.printf(Locale.ROOT, "resumed after %,d instances already %s%n", resumedFrom, done);
                err.println(line.get());
                err.flush();
                lastPrint = now;
            }
        }
    }
}
