/*
 * The instances a scoring run reads: fixed-length token windows of a prepared corpus, addressed by id 0..size-1,
 * with the identity that score files record (corpus checksum, tokenizer fingerprint, EOS and padding ids).
 * Adapters exist for kd4j's prepared data sets and for Megatron .bin/.idx corpora; tests use of(...).
 */
package kd4j.data;

import java.util.List;

public interface InstanceSource {
    /** Number of instances. */
    long size();

    /** Token ids of instance index (typically seq + 1 tokens: inputs are ids[0..L-2], targets ids[1..L-1]). */
    int[] instance(long index);

    /** End-of-sequence id, or -1. Positions whose input token is EOS are not scored. */
    int eosId();

    /** Padding id, or -1 (often equal to EOS). Positions whose input token is padding are not scored. */
    int padId();

    /** Identity of the corpus content (e.g. the SHA-256 from its manifest); score files record it. */
    String corpusChecksum();

    /** Identity of the tokenizer the corpus was made with. */
    String tokenizerFingerprint();

    /**
     * Refuses a source holding a token id outside [0, vocab) (whose: the model, for the message). Scoring and
     * caching jobs call it once before their first batch; file-backed sources name the file and scan it once.
     */
    default void requireIdsBelow(int vocab, String whose) throws java.io.IOException {
        for (long i = 0; i < size(); i++) {
            int[] ids = instance(i);
            for (int t = 0; t < ids.length; t++)
                if (ids[t] < 0 || ids[t] >= vocab)
                    throw kd4j.data.DataFormatException.of(null, "instance " + i + ", position " + t + ": token id "
                            + ids[t] + " is outside the vocabulary [0, " + vocab + ") of " + whose);
        }
    }

    /** An in-memory source (tests, small corpora). */
    static InstanceSource of(List<int[]> instances, int eosId, int padId, String corpusChecksum,
                             String tokenizerFingerprint) {
        List<int[]> copy = List.copyOf(instances);
        return new InstanceSource() {
            @Override public long size() { return copy.size(); }
            @Override public int[] instance(long index) { return copy.get(Math.toIntExact(index)).clone(); }
            @Override public int eosId() { return eosId; }
            @Override public int padId() { return padId; }
            @Override public String corpusChecksum() { return corpusChecksum; }
            @Override public String tokenizerFingerprint() { return tokenizerFingerprint; }
        };
    }
}
