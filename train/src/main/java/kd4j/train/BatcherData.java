/*
 * TrainData over prepared instances: kd4j.data.Batcher (per-epoch shuffle from the seed, background prefetch)
 * turned into Trainer batches. The position is Batcher's (epoch, index); seek() restarts the Batcher there, so
 * a resumed run sees exactly the batches an uninterrupted one would.
 */
package kd4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.IOException;
import java.util.Arrays;
import kd4j.data.Batcher;
import kd4j.data.TokenSequences;
import kd4j.models.NextTokenBatch;

public final class BatcherData implements TrainData {
    private static final int PREFETCH = 4;
    private final TokenSequences instances;
    private final int batchSize, seqLength, padId;
    private final long seed;
    private Batcher batcher;

    /** Batches of batchSize rows of seqLength + 1 tokens (longer instances are cut, as MiniPLM's collate does). */
    @Override
    public void requireIdsBelow(int vocab, String whose) throws java.io.IOException {
        instances.requireIdsBelow(vocab, whose);
    }

    public BatcherData(TokenSequences instances, int batchSize, int seqLength, int padId, long seed) {
        this.instances = instances;
        this.batchSize = batchSize;
        this.seqLength = seqLength;
        this.padId = padId;
        this.seed = seed;
        this.batcher = new Batcher(instances, batchSize, seqLength + 1, padId, seed, Batcher.Position.START, PREFETCH);
    }

    @Override
    public MicroBatch next() {
        Batcher.PaddedRows b = batcher.next();
        int[][] rows = new int[b.batchSize()][];
        for (int r = 0; r < rows.length; r++)
            rows[r] = Arrays.copyOfRange(b.tokens(), r * b.width(), r * b.width() + b.lengths()[r]);
        return MicroBatch.of(NextTokenBatch.of(rows, rows.length, seqLength, padId, NextTokenBatch.ALL, false), b.instances());
    }

    @Override
    public JsonNode position() {
        Batcher.Position p = batcher.position();
        return JsonNodeFactory.instance.objectNode().put("epoch", p.epoch()).put("index", p.index());
    }

    @Override
    public void seek(JsonNode position) throws IOException {
        if (position == null || !position.has("epoch") || !position.has("index"))
            throw new IOException("checkpoint data position " + position + " has no \"epoch\" and \"index\" "
                    + "(it was not written by a run over prepared instances)");
        batcher.close();
        batcher = new Batcher(instances, batchSize, seqLength + 1, padId, seed,
                new Batcher.Position(position.get("epoch").asLong(), position.get("index").asLong()), PREFETCH);
    }

    /** The instance and token counts, batch shape and seed, and the first tokens of the first and last instances. */
    @Override
    public byte[] fingerprint() {
        long n = instances.size();
        int[] first = instances.get(0), last = instances.get(n - 1);
        int a = Math.min(first.length, 1024), z = Math.min(last.length, 1024);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(36 + 4 * (a + z));
        b.putLong(n).putLong(instances.totalTokens()).putLong(seed).putInt(batchSize).putInt(seqLength).putInt(padId);
        for (int i = 0; i < a; i++) b.putInt(first[i]);
        for (int i = 0; i < z; i++) b.putInt(last[i]);
        return b.array();
    }

    /** Seconds next() has spent blocked since the last seek. */
    public double waitSeconds() { return batcher.waitNanos() / 1e9; }

    @Override
    public void close() { batcher.close(); }
}
