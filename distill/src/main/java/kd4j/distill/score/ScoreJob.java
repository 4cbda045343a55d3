/*
 * The score job, written once for `kd4j score` and the pipeline's score stages: open the train split of a
 * prepared data set (or Megatron corpus), load the model, and score every instance of one slice into a score file
 * (sum and mean log-probability and token count per instance, MiniPLM's Difference Sampling input). Resumable:
 * ScoreRun keeps finished chunks, and a rerun of a finished job returns the file as it is.
 */
package kd4j.distill.score;

import java.io.IOException;
import java.nio.file.Path;
import kd4j.autograd.MatmulPrecision;
import kd4j.data.DatasetInstances;
import kd4j.data.Shard;
import kd4j.models.CausalLM;
import kd4j.models.Models;
import kd4j.tensor.Backend;
import kd4j.tokenizers.Tokenizer;

public final class ScoreJob {
    /**
     * model scores slice shard of data's train instances into out, batch instances per forward pass, chunkBatches
     * batches per saved chunk, the linear layers at precision (bf16 GEMM inputs need an OpenCL backend).
     * corpusTokenizer: needed for a bare Megatron corpus only (null otherwise).
     */
    public record Config(Path model, Path data, Tokenizer corpusTokenizer, Path out, Shard shard, int batch,
                         int chunkBatches, MatmulPrecision precision) {
        public Config {
            java.util.Objects.requireNonNull(precision, "precision");
            if (batch < 1) throw new IllegalArgumentException("--batch must be at least 1, got " + batch);
            if (chunkBatches < 1) throw new IllegalArgumentException("--chunk must be at least 1, got " + chunkBatches);
        }
    }

    /** Called once the instances are open, before the model is loaded (a memory plan, a banner). */
    @FunctionalInterface
    public interface Opened {
        void accept(DatasetInstances source) throws IOException;
    }

    /** The scores; last is the final progress report of this run, or null when out already held them. */
    public record Result(ScoreFile scores, ScoreRun.Progress last, long parameters) {}

    private ScoreJob() {}

    public static Result run(Config c, Backend be, Opened opened, ScoreRun.Listener progress) throws IOException {
        try (DatasetInstances source = DatasetInstances.open(c.data(), c.corpusTokenizer())) {
            if (opened != null) opened.accept(source);
            CausalLM model = Models.load(c.model(), be, true);
            ScoreRun.Progress[] last = {null};
            ScoreFile scores = new ScoreRun(source, new TeacherScorer(model, c.batch(), source.eosId(), source.padId(),
                            kd4j.models.ChunkedLogits.DEFAULT_CHUNK_BYTES, c.precision()),
                    ModelId.of(c.model()), c.shard(), c.out(), c.chunkBatches())
                    .recordDataPath(c.data().toAbsolutePath().normalize().toString())
                    .run(p -> {
                        last[0] = p;
                        if (progress != null) progress.chunkDone(p);
                    });
            return new Result(scores, last[0], model.parameters().numel());
        }
    }
}
