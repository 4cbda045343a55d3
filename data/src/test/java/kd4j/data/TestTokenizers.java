/*
 * Small, exact tokenizers for the data tests: a vocabulary list with greedy longest-match encoding (so a test
 * can write token sequences by their text), and a byte tokenizer (ids 0..255 are bytes) for real text.
 */
package kd4j.data;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import kd4j.tokenizers.Tokenizer;

final class TestTokenizers {
    private TestTokenizers() {}

    /** Tokens are the strings of vocab; ids are their positions. eos/bos are ids into vocab (bos -1: none). */
    static final class ListTokenizer implements Tokenizer {
        final List<String> vocab;
        final int eos, bos;

        ListTokenizer(List<String> vocab, int eos, int bos) {
            this.vocab = vocab;
            this.eos = eos;
            this.bos = bos;
        }

        int id(String token) {
            int i = vocab.indexOf(token);
            if (i < 0) throw new IllegalArgumentException("no token " + token);
            return i;
        }

        int[] ids(String... tokens) {
            int[] out = new int[tokens.length];
            for (int i = 0; i < tokens.length; i++) out[i] = id(tokens[i]);
            return out;
        }

        @Override
        public int[] encode(String text) {
            var out = new it.unimi.dsi.fastutil.ints.IntArrayList();
            int p = 0;
            while (p < text.length()) {
                int best = -1, bestLen = 0;
                for (int i = 0; i < vocab.size(); i++) {
                    if (i == eos || i == bos) continue;
                    String t = vocab.get(i);
                    if (t.length() > bestLen && text.startsWith(t, p)) {
                        best = i;
                        bestLen = t.length();
                    }
                }
                if (best < 0) throw new IllegalArgumentException("cannot encode at " + p + ": " + text);
                out.add(best);
                p += bestLen;
            }
            return out.toIntArray();
        }

        @Override
        public int[] encodeWithSpecialTokens(String text) {
            return encode(text);
        }

        @Override
        public String decode(int[] ids, boolean skipSpecialTokens) {
            StringBuilder s = new StringBuilder();
            for (int id : ids) if (!(skipSpecialTokens && (id == eos || id == bos))) s.append(vocab.get(id));
            return s.toString();
        }

        @Override public int vocabSize() { return vocab.size(); }
        @Override public String idToToken(int id) { return id >= 0 && id < vocab.size() ? vocab.get(id) : null; }
        @Override public int tokenToId(String token) { return vocab.indexOf(token); }
        @Override public int eosId() { return eos; }
        @Override public int bosId() { return bos; }
    }

    /** Ids 0..255 are UTF-8 bytes, 256 is "<eos>", 257 is "<bos>" (used only when withBos). Counts encode calls. */
    static final class ByteTokenizer implements Tokenizer {
        final boolean withBos;
        final AtomicInteger encodeCalls = new AtomicInteger();
        volatile int failAfter = Integer.MAX_VALUE;

        ByteTokenizer(boolean withBos) {
            this.withBos = withBos;
        }

        @Override
        public int[] encode(String text) {
            if (encodeCalls.incrementAndGet() > failAfter) throw new IllegalStateException("simulated kill");
            byte[] b = text.getBytes(StandardCharsets.UTF_8);
            int[] out = new int[b.length];
            for (int i = 0; i < b.length; i++) out[i] = b[i] & 0xFF;
            return out;
        }

        @Override
        public int[] encodeWithSpecialTokens(String text) {
            return encode(text);
        }

        @Override
        public String decode(int[] ids, boolean skipSpecialTokens) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            StringBuilder s = new StringBuilder();
            for (int id : ids) {
                if (id < 256) {
                    bytes.write(id);
                } else {
                    s.append(bytes.toString(StandardCharsets.UTF_8));
                    bytes.reset();
                    if (!skipSpecialTokens) s.append(id == 256 ? "<eos>" : "<bos>");
                }
            }
            return s.append(bytes.toString(StandardCharsets.UTF_8)).toString();
        }

        @Override public int vocabSize() { return 258; }
        @Override public String idToToken(int id) { return id < 256 ? String.valueOf((char) id) : id == 256 ? "<eos>" : "<bos>"; }
        @Override public int tokenToId(String token) { return token.equals("<eos>") ? 256 : token.equals("<bos>") ? 257 : -1; }
        @Override public int eosId() { return 256; }
        @Override public int bosId() { return withBos ? 257 : -1; }
    }
}
