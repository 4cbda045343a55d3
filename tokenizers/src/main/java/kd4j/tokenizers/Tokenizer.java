/*
 * A text ↔ token-id mapping that matches HuggingFace tokenizers to the id. Thread-safe: one instance may encode
 * on all cores at once.
 */
package kd4j.tokenizers;

import java.util.List;

public interface Tokenizer {
    /** Ids of text without special tokens (HF encode(text, add_special_tokens=False)). */
    int[] encode(String text);

    /** Ids with the post-processor's special tokens (HF add_special_tokens=True). */
    int[] encodeWithSpecialTokens(String text);

    /** Text of ids (HF decode(ids, skip_special_tokens=skipSpecial)). */
    String decode(int[] ids, boolean skipSpecialTokens);

    /** Vocabulary size including added tokens (one more than the largest id). */
    int vocabSize();

    /** The token string of id, or null. */
    String idToToken(int id);

    /** The id of a token string (vocabulary or added token), or -1. */
    int tokenToId(String token);

    /** End-of-sequence id (from tokenizer_config.json / added tokens), or -1. */
    int eosId();

    /** Beginning-of-sequence id, or -1 when the tokenizer adds none. */
    int bosId();

    /**
     * encode(text) of every text, on up to threads threads (texts are handed out one at a time, so long and
     * short documents balance). result[i] belongs to texts.get(i).
     */
    default int[][] encodeBatch(List<String> texts, int threads) {
        return ParallelJobs.run(texts.size(), threads, i -> encode(texts.get(i)));
    }
}
