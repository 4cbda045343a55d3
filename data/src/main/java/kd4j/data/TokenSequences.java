/*
 * A read-only, random-access list of token sequences (documents or instances) backed by a memory-mapped file:
 * a kd4j token shard (ShardReader) or a Megatron indexed dataset (MegatronIndexedDataset). Thread-safe reads.
 */
package kd4j.data;

import java.nio.file.Path;

public interface TokenSequences extends AutoCloseable {
    /** Number of sequences. */
    long size();

    /** Number of tokens of sequence i. */
    int length(long i);

    /** Copies the tokens of sequence i into dst[dstOffset ..], returns its length. */
    int read(long i, int[] dst, int dstOffset);

    /** The tokens of sequence i (allocates; use read on hot paths). */
    default int[] get(long i) {
        int[] out = new int[length(i)];
        read(i, out, 0);
        return out;
    }

    /** Total tokens over all sequences. */
    long totalTokens();

    /** The file the tokens are read from. */
    Path path();

    /**
     * The largest token id, comparing ids as unsigned (so a negative id counts as huge). One pass over the
     * tokens; implementations cache it, so a file is scanned once however often it is checked.
     */
    default int maxTokenIdUnsigned() {
        int max = 0;
        int[] buf = new int[0];
        for (long i = 0; i < size(); i++) {
            int n = length(i);
            if (buf.length < n) buf = new int[n];
            read(i, buf, 0);
            for (int k = 0; k < n; k++) if (Integer.compareUnsigned(buf[k], max) > 0) max = buf[k];
        }
        return max;
    }

    /**
     * Refuses a file holding an id outside [0, vocab): a corrupt file, or one made with another tokenizer, must
     * not be trained on or scored. The message names the file, the sequence, the position and whose vocabulary.
     */
    default void requireIdsBelow(int vocab, String whose) throws DataFormatException {
        if (size() == 0 || Integer.compareUnsigned(maxTokenIdUnsigned(), vocab) < 0) return;
        int[] buf = new int[0];
        for (long i = 0; i < size(); i++) {
            int n = length(i);
            if (buf.length < n) buf = new int[n];
            read(i, buf, 0);
            for (int k = 0; k < n; k++)
                if (buf[k] < 0 || buf[k] >= vocab)
                    throw DataFormatException.of(path(), "sequence " + i + ", position " + k + ": token id " + buf[k]
                            + " is outside the vocabulary [0, " + vocab + ") of " + whose + " (a corrupt file, or "
                            + "data prepared with another tokenizer)");
        }
    }

    @Override
    void close();
}
