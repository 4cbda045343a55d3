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

    @Override
    void close();
}
