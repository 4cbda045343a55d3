/*
 * Offline scoring of corpus instances by a causal LM (MiniPLM's teacher and reference scoring): per instance, the
 * sum and the mean of log p(ids[t+1] | ids[0..t]) over the positions t whose INPUT token ids[t] is neither EOS nor
 * padding, and how many positions that is. This is the rule of MiniPLM's released code (LMDataset.collate:
 * loss_mask = input_ids != pad_id, with pad = EOS), so difference scores match theirs.
 * Forward only, in GradMode.off(): no tape and no saved tensors; the logits are made and reduced one block of
 * positions at a time (ChunkedLogits), so a 151,936-token vocabulary never costs [B, T, V] floats. Instances are batched; a batch of unequal lengths
 * is padded on the right and masked (NextTokenBatch), which cannot change the scores of earlier positions (causal).
 * The linear layers run at one MatmulPrecision: fp32, or bf16 GEMM inputs with fp32 accumulation (PyTorch's bf16
 * autocast for matmuls) on a backend that has them (OpenCL; tensor cores on NVIDIA); the CPU refuses bf16.
 */
package kd4j.distill.score;

import kd4j.autograd.MatmulPrecision;
import kd4j.autograd.StepArena;
import kd4j.data.TokenSequences;
import kd4j.models.CausalLM;
import kd4j.models.ChunkedLogits;
import kd4j.models.NextTokenBatch;

public final class TeacherScorer {
    private final CausalLM model;
    private final int batchSize;
    private final int eosId;
    private final int padId;
    private final MatmulPrecision precision;

    /** eosId and padId: the corpus's ids (-1 for none); positions whose input token is either are not scored. */
    public TeacherScorer(CausalLM model, int batchSize, int eosId, int padId) {
        this(model, batchSize, eosId, padId, ChunkedLogits.DEFAULT_CHUNK_BYTES, MatmulPrecision.FP32);
    }

    /**
     * As above, with the bytes of one block of fp32 logits (the memory plan's "logits block") and the linear layers'
     * precision (BF16 only on a backend with supportsBf16Matmul).
     */
    public TeacherScorer(CausalLM model, int batchSize, int eosId, int padId, long logitsChunkBytes,
                         MatmulPrecision precision) {
        if (batchSize < 1) throw new IllegalArgumentException("--batch must be at least 1, got " + batchSize);
        java.util.Objects.requireNonNull(precision, "precision").requireSupportedBy(model.backend(), "--precision");
        this.precision = precision;
        this.model = model;
        this.batchSize = batchSize;
        this.eosId = eosId;
        this.padId = padId;
        this.logits = new ChunkedLogits(model, logitsChunkBytes);
    }

    private final StepArena arena = new StepArena();
    private final ChunkedLogits logits;

    public int batchSize() { return batchSize; }

    /** The precision of the linear layers' GEMM inputs while scoring. */
    public MatmulPrecision precision() { return precision; }

    /** The scoring model's vocabulary size (every scored id must be below it). */
    public int vocabSize() { return model.config().vocabSize(); }

    /** True when position t with input token id is scored. */
    public boolean counts(int inputId) { return inputId != eosId && inputId != padId; }

    /**
     * Scores instances [start, end) of source, batchSize at a time. Row r of the outputs (from offset on) is
     * instance start + r. Returns the number of tokens counted.
     */
    public long score(TokenSequences source, long start, long end, double[] sum, double[] mean, int[] count, int offset) {
        long tokens = 0;
        int[][] batch = new int[batchSize][];
        for (long i = start; i < end; i += batchSize) {
            int b = (int) Math.min(batchSize, end - i);
            for (int j = 0; j < b; j++) batch[j] = source.get(i + j);
            tokens += scoreBatch(batch, b, i, sum, mean, count, offset + (int) (i - start));
        }
        return tokens;
    }

    /**
     * Scores batch[0..b) (instance ids firstInstance.., used in messages) into sum/mean/count at rows
     * offset..offset+b-1. An instance with no counted position gets sum 0, count 0 and mean NaN (a "missing" score that selection handles explicitly).
     * Returns the number of tokens counted.
     */
    public long scoreBatch(int[][] batch, int b, long firstInstance, double[] sum, double[] mean, int[] count, int offset) {
        int maxLength = 0;
        for (int j = 0; j < b; j++) maxLength = Math.max(maxLength, batch[j].length);
        int tLen = maxLength - 1;                        // T predictions from T + 1 tokens
        for (int j = 0; j < b; j++) { sum[offset + j] = 0; count[offset + j] = 0; mean[offset + j] = Double.NaN; }
        if (tLen < 1) return 0;

        int vocab = model.config().vocabSize();
        for (int j = 0; j < b; j++) {
            int[] inst = batch[j];
            for (int t = 0; t < inst.length; t++)
                if (inst[t] < 0 || inst[t] >= vocab)
                    throw new IllegalArgumentException("instance " + (firstInstance + j) + ", position " + t + ": token id "
                            + inst[t] + " is outside the model's vocabulary [0, " + vocab + "); was the corpus made with "
                            + "another tokenizer?");
        }
        NextTokenBatch rows = NextTokenBatch.of(batch, b, tLen, padId >= 0 ? padId : Math.max(eosId, 0), this::counts, true);
        if (rows.countedTokens() == 0) return 0;
        int[] targets = rows.targets();
        float[] losses;
        try (var scope = arena.activate(); var p = MatmulPrecision.use(precision)) {
            losses = logits.negLogProbs(rows);     // -log p(target), 0 where ignored; never [B, T, V] whole
        } finally {
            arena.reset();   // activations of this batch are reused by the next one: no native-memory growth
        }
        long tokens = 0;
        for (int j = 0; j < b; j++) {
            double s = 0;
            int c = 0;
            for (int t = 0, row = j * tLen; t < tLen; t++) {
                if (targets[row + t] == NextTokenBatch.IGNORE) continue;
                if (!Float.isFinite(losses[row + t]))
                    throw kd4j.train.NonFiniteResultException.logProbability("instance " + (firstInstance + j), t,
                            -losses[row + t]);
                s -= losses[row + t];                         // summed in double: instances can be long
                c++;
            }
            sum[offset + j] = s;
            count[offset + j] = c;
            mean[offset + j] = c == 0 ? Double.NaN : s / c;
            tokens += c;
        }
        return tokens;
    }
}
