/*
 * The cache-logits job (Peng et al.'s offline KD input), a library class like the score job: open the train
 * split of a prepared data set (or Megatron corpus), load the teacher, and cache its truncated next-token
 * distributions for one slice (LogitsCacheRun: chunks with CRCs, resumable). `kd4j cache-logits` is its flags.
 */
package kd4j.distill.kd;

import java.io.IOException;
import java.nio.file.Path;
import kd4j.autograd.MatmulPrecision;
import kd4j.data.DatasetInstances;
import kd4j.data.Shard;
import kd4j.distill.score.ModelId;
import kd4j.models.CausalLM;
import kd4j.models.Models;
import kd4j.tensor.Backend;
import kd4j.tokenizers.Tokenizer;

public final class CacheLogitsJob {
    /**
     * teacher caches slice shard of data's train instances into out with truncation (top-p-k or sampled), probBits
     * bits per probability (16 or 32), seed for sampled draws, batch instances per forward pass and chunkBatches
     * batches per chunk, the teacher's linear layers at precision (bf16 GEMM inputs need an OpenCL backend).
     * corpusTokenizer: needed for a bare Megatron corpus only (null otherwise).
     */
    public record Config(Path teacher, Path data, Tokenizer corpusTokenizer, Path out, Shard shard,
                         TopPkLogits.Truncation truncation, int probBits, long seed, int batch, int chunkBatches,
                         MatmulPrecision precision) {
        public Config {
            java.util.Objects.requireNonNull(precision, "precision");
            if (probBits != 16 && probBits != 32) throw new IllegalArgumentException("--prob-bits must be 16 or 32, got " + probBits);
        }
    }

    /** Reports from the job: the instances once open (before the teacher is loaded), then the run about to start. */
    public interface Hooks {
        default void opened(DatasetInstances source) throws IOException {}

        default void started(DatasetInstances source, LogitsCacheRun run) throws IOException {}
    }

    private CacheLogitsJob() {}

    public static LogitsCacheManifest run(Config c, Backend be, Hooks hooks, LogitsCacheRun.Listener progress)
            throws IOException {
        try (DatasetInstances source = DatasetInstances.open(c.data(), c.corpusTokenizer())) {
            hooks.opened(source);
            CausalLM teacher = Models.load(c.teacher(), be, true);
            LogitsCacheRun run = new LogitsCacheRun(source, teacher, ModelId.of(c.teacher()), c.truncation(), c.probBits(),
                    c.seed(), c.shard(), c.out(), c.batch(), c.chunkBatches(), c.precision());
            hooks.started(source, run);
            return run.run(progress);
        }
    }
}
