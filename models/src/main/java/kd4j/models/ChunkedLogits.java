/*
 * Logits one block of positions at a time, for jobs that only reduce them (teacher scoring's log-softmax,
 * top-p-k caching): the model runs to the lm_head's input once, then the head turns rows [r0, r0 + n) of the
 * B*T positions into an [n, V] F32 block, hands it to the caller and reuses the buffer for the next block. A
 * 0.5B Qwen teacher at batch 8 x 1024 would otherwise hold 8 * 1024 * 151,936 * 4 B = 5 GB of fp32 logits.
 * Not for training: the loss's backward needs every position's softmax (the chunked cross-entropy handles that).
 */
package kd4j.models;

import kd4j.autograd.GradMode;
import kd4j.autograd.StepArena;
import kd4j.autograd.Var;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.ShapeException;
import kd4j.tensor.Tensor;

public final class ChunkedLogits {
    /**
     * Default bytes of one block of fp32 logits: 256 MiB, about 440 positions of a 151,936-token vocabulary. Each
     * block packs (and widens from bf16) the whole lm_head again, so small blocks cost: with 64 MiB blocks, packing
     * a Qwen2.5-0.5B head ten times per 1,024 positions was about a sixth of the scoring time.
     */
    public static final long DEFAULT_CHUNK_BYTES = 256L << 20;

    /** Receives the logits [n, V] F32 of positions firstRow .. firstRow + n - 1 (valid only during the call). */
    public interface Block {
        void accept(int firstRow, Tensor logits);
    }

    private final CausalLM model;
    private final long chunkBytes;
    private final StepArena blockArena = new StepArena();

    public ChunkedLogits(CausalLM model, long chunkBytes) {
        if (chunkBytes < 1) throw new IllegalArgumentException("chunk bytes must be positive, got " + chunkBytes);
        this.model = model;
        this.chunkBytes = chunkBytes;
    }

    /** Positions per block for a vocabulary of vocab tokens (at least 1). */
    public static int rowsPerBlock(int vocab, long chunkBytes) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, chunkBytes / ((long) vocab * Float.BYTES)));
    }

    /** The bytes one block takes for this model (what a memory plan counts). */
    public long blockBytes(int positions) {
        int vocab = model.config().vocabSize();
        return (long) Math.min(positions, rowsPerBlock(vocab, chunkBytes)) * vocab * Float.BYTES;
    }

    /**
     * -log p(target) of every position of batch, forward only (0 where the target is IGNORE), [B*T] row-major:
     * the one per-token log-probability routine of scoring and evaluation. The logits are reduced one block at a
     * time, never [B, T, V] whole.
     */
    public float[] negLogProbs(NextTokenBatch batch) {
        Backend be = model.backend();
        int vocab = model.config().vocabSize(), n = batch.batchSize() * batch.seqLength();
        Tensor ids = be.fromInts(batch.inputs(), batch.batchSize(), batch.seqLength());
        Tensor mask = batch.keyMask() == null ? null : be.fromInts(batch.keyMask(), batch.batchSize(), batch.seqLength());
        Tensor targets = be.fromInts(batch.targets(), n);
        Tensor losses = be.empty(DType.F32, n), lse = be.empty(DType.F32, n);
        forEach(ids, mask, (r0, block) -> {
            int rows = block.dim(0);
            if (block.rank() != 2 || block.dim(1) != vocab)
                throw ShapeException.of("ChunkedLogits", "model returned logits of the wrong shape",
                        "logits", block, "expected", new int[] {rows, vocab});
            be.crossEntropyForward(block, targets.narrow(0, r0, rows), NextTokenBatch.IGNORE, losses.narrow(0, r0, rows),
                    lse.narrow(0, r0, rows));
        });
        return losses.toFloatArray();
    }

    /**
     * Runs model on ids I32 [B, T] (keyMask as in CausalLM.forward) without a tape and hands out the logits of
     * the B*T positions, row b*T + t, in blocks of consecutive rows.
     */
    public void forEach(Tensor ids, Tensor keyMask, Block block) {
        try (var g = GradMode.off()) {
            CausalLM.HeadInput in = model.forwardToHead(ids, keyMask);
            Tensor hidden = in.hidden().data().contiguous();                   // [B*T, C]
            int rows = hidden.dim(0), step = rowsPerBlock(model.config().vocabSize(), chunkBytes);
            for (int r0 = 0; r0 < rows; r0 += step) {
                int n = Math.min(step, rows - r0);
                try (var scope = blockArena.activate()) {
                    Tensor logits = in.head().apply(Var.constant(hidden.narrow(0, r0, n))).data();   // [n, V]
                    block.accept(r0, logits.contiguous());
                } finally {
                    blockArena.reset();     // the next block reuses this one's buffer
                }
            }
        }
    }
}
