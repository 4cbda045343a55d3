/*
 * Where the trainer's micro-batches come from. The data position is what makes --resume exact: position()
 * is taken after a step's micro-batches were consumed and saved in the checkpoint; seek(position) makes
 * next() continue with the batch that would have come next. Implementations own shuffling and prefetching.
 */
package kd4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;

public interface TrainData extends AutoCloseable {
    /** The next micro-batch (the data repeats, reshuffled, when an epoch ends). */
    MicroBatch next() throws IOException;

    /** The position after the last batch returned by next(), as JSON for the checkpoint. */
    JsonNode position();

    /** Continues from a position() saved earlier by the same kind of data over the same instances. */
    void seek(JsonNode position) throws IOException;

    /** Bytes that differ when the data differs (data-parallel ranks compare them at start); empty when unknown. */
    default byte[] fingerprint() throws IOException { return new byte[0]; }

    /**
     * Refuses data holding a token id outside [0, vocab) (whose: the model, for the message), naming the file and
     * position; the trainer calls it once before the first step. In-memory data (tests) checks nothing.
     */
    default void requireIdsBelow(int vocab, String whose) throws IOException {}

    @Override
    default void close() throws IOException {}
}
