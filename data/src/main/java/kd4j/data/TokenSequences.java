/*
 * A read-only, random-access list of token sequences (documents or instances), addressed by index 0..size-1:
 * a kd4j token shard (ShardReader), a Megatron indexed dataset (MegatronIndexedDataset), the instances of a
 * prepared data set with the identity that score files and logits caches record (DatasetInstances), or a list
 * in memory (of). Thread-safe reads. Scoring, caching and training all read their instances through it.
 */
package kd4j.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

public interface TokenSequences extends AutoCloseable {
    /** Number of sequences. */
    long size();

    /** Number of tokens of sequence i. */
    int length(long i);

    /** Copies the tokens of sequence i into dst[dstOffset ..], returns its length. */
    int read(long i, int[] dst, int dstOffset);

    /**
     * The tokens of sequence i, a fresh array (allocates; use read on hot paths). An instance typically holds
     * seq + 1 tokens: inputs are ids[0..L-2], next-token targets ids[1..L-1].
     */
    default int[] get(long i) {
        int[] out = new int[length(i)];
        read(i, out, 0);
        return out;
    }

    /** Total tokens over all sequences. */
    long totalTokens();

    /** The file the tokens are read from, or null for sequences held in memory. */
    Path path();

    /** End-of-sequence id, or -1. Scoring skips positions whose input token is EOS. */
    default int eosId() { return -1; }

    /** Padding id, or -1 (often equal to EOS). Scoring skips positions whose input token is padding. */
    default int padId() { return -1; }

    /** Identity of the content (e.g. the SHA-256 from a manifest) that score files record; "" when unknown. */
    default String corpusChecksum() { return ""; }

    /** Identity of the tokenizer the sequences were made with; "" when unknown. */
    default String tokenizerFingerprint() { return ""; }

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
     * Refuses sequences holding an id outside [0, vocab): a corrupt file, or one made with another tokenizer, must
     * not be trained on or scored. The message names the file, the sequence, the position and whose vocabulary.
     * Scoring and caching jobs call it once before their first batch.
     */
    default void requireIdsBelow(int vocab, String whose) throws IOException {
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

    /** Releases the mapping of a file-backed list; a list in memory holds nothing to release. */
    @Override
    default void close() {}

    /** Sequences in memory (tests, small corpora) with the identity a score file records. */
    static TokenSequences of(List<int[]> sequences, int eosId, int padId, String corpusChecksum,
                             String tokenizerFingerprint) {
        List<int[]> copy = List.copyOf(sequences);
        long tokens = 0;
        for (int[] s : copy) tokens += s.length;
        long totalTokens = tokens;
        return new TokenSequences() {
            @Override public long size() { return copy.size(); }
            @Override public int length(long i) { return copy.get(Math.toIntExact(i)).length; }
            @Override public int read(long i, int[] dst, int dstOffset) {
                int[] s = copy.get(Math.toIntExact(i));
                System.arraycopy(s, 0, dst, dstOffset, s.length);
                return s.length;
            }
            @Override public long totalTokens() { return totalTokens; }
            @Override public Path path() { return null; }
            @Override public int eosId() { return eosId; }
            @Override public int padId() { return padId; }
            @Override public String corpusChecksum() { return corpusChecksum; }
            @Override public String tokenizerFingerprint() { return tokenizerFingerprint; }
        };
    }
}
