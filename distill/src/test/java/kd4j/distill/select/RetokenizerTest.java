package kd4j.distill.select;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import kd4j.tokenizers.Tokenizer;
import org.junit.jupiter.api.Test;

class RetokenizerTest {
    /** Corpus tokenizer: whole words. 0 = EOS, 1 = BOS (special), then words. */
    static final class Words implements Tokenizer {
        static final List<String> VOCAB = List.of("<eos>", "<bos>", "the", "cat", "sat", "dog", "ran");
        @Override public int[] encode(String text) {
            return java.util.Arrays.stream(text.split(" ")).mapToInt(VOCAB::indexOf).toArray();
        }
        @Override public int[] encodeWithSpecialTokens(String text) { return encode(text); }
        @Override public String decode(int[] ids, boolean skipSpecial) {
            List<String> w = new ArrayList<>();
            for (int id : ids) if (!(skipSpecial && id < 2)) w.add(VOCAB.get(id));
            return String.join(" ", w);
        }
        @Override public int vocabSize() { return VOCAB.size(); }
        @Override public String idToToken(int id) { return VOCAB.get(id); }
        @Override public int tokenToId(String token) { return VOCAB.indexOf(token); }
        @Override public int eosId() { return 0; }
        @Override public int bosId() { return 1; }
    }

    /** Student tokenizer: characters. 0 = BOS (or none), 1 = EOS, 2 = space, 'a'.. = 3.. */
    static class Chars implements Tokenizer {
        final boolean bos;
        Chars(boolean bos) { this.bos = bos; }
        @Override public int[] encode(String text) { return text.chars().map(c -> c == ' ' ? 2 : c - 'a' + 3).toArray(); }
        @Override public int[] encodeWithSpecialTokens(String text) { return encode(text); }
        @Override public String decode(int[] ids, boolean skipSpecial) {
            StringBuilder sb = new StringBuilder();
            for (int id : ids) if (id >= 2) sb.append(id == 2 ? ' ' : (char) ('a' + id - 3));
            return sb.toString();
        }
        @Override public int vocabSize() { return 29; }
        @Override public String idToToken(int id) { return decode(new int[] {id}, false); }
        @Override public int tokenToId(String token) { return -1; }
        @Override public int eosId() { return 1; }
        @Override public int bosId() { return bos ? 0 : -1; }
    }

    @Test
    void splitsAtEos_reencodes_joinsWithStudentEos_andCuts() {
        Retokenizer r = new Retokenizer(new Words(), new Chars(true));
        // <bos> the cat sat <eos> dog ran  ->  <s> "the cat sat" </s> "dog" (cut at 16)
        assertArrayEquals(new int[] {0, 22, 10, 7, 2, 5, 3, 22, 2, 21, 3, 22, 1, 6, 17, 9},
                r.map(new int[] {1, 2, 3, 4, 0, 5, 6}, 16));
        // shorter than the instance: stays shorter (never padded with EOS, which training would learn)
        assertArrayEquals(new int[] {0, 22, 10, 7, 1}, r.map(new int[] {2, 0}, 6));
    }

    @Test
    void studentWithoutBos() {
        Retokenizer r = new Retokenizer(new Words(), new Chars(false));
        assertArrayEquals(new int[] {6, 17, 9, 1, 20, 3, 16}, r.map(new int[] {5, 0, 6}, 8));
        assertArrayEquals(new int[] {1, 1, 6, 17, 9}, r.map(new int[] {0, 0, 5}, 5), "empty documents keep their EOS");
    }
}
