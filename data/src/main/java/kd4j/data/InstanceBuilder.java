/*
 * Packs tokenized documents into fixed-length training instances exactly as MiniPLM builds them
 * (thu-coai/MiniPLM tools/process_data/tokenize_pile.py, Writer.add_tokens):
 *   - each document arrives tokenized without special tokens and with EOS appended;
 *   - documents are appended to one running buffer; whenever it holds a full chunk of L = seq+1 tokens
 *     (counting a leading BOS for tokenizers that add one), the chunk is cut back to its last sentence end and
 *     the cut-off tail is carried to the front of the buffer, to start the next chunk;
 *   - a chunk with no sentence end is kept whole; a chunk of one token (or just BOS) is dropped;
 *   - more than 2,000 chunks from one document empties the buffer (MiniPLM's guard against runaway inputs);
 *   - tokens left in the buffer at the end (fewer than L) are not written, as in MiniPLM.
 * A sentence end is EOS, a sentence-end token whose text holds a line break, or another sentence-end token
 * whose text together with the next token's text contains a space ("D.A." is not an end, ". I" is).
 */
package kd4j.data;

import java.io.IOException;
import java.util.Arrays;
import kd4j.tokenizers.Tokenizer;

public final class InstanceBuilder {
    /** MiniPLM's limit on chunks cut from one document before its buffer is discarded. */
    public static final int MAX_CHUNKS_PER_DOCUMENT = 2000;

    /** Receives each finished instance: ids[from .. from+length), length in [2, L]. */
    @FunctionalInterface
    public interface Sink {
        void accept(int[] ids, int from, int length) throws IOException;
    }

    private final SentenceEnds ends;
    private final int chunkLength;
    private final int bos;
    private final int streamPerChunk;   // stream tokens in a full chunk (L, or L-1 after BOS)
    private final Sink sink;
    private final int[] chunk;          // scratch for the emitted instance, BOS first when used
    private int[] buffer = new int[1 << 12];
    private int head, tail;             // the running buffer is buffer[head .. tail)
    private long instances, tokensWritten, tokensDropped;

    /**
     * @param chunkLength L = seq + 1 tokens per instance
     * @param bosId       the BOS id to put first in every instance, or -1 for tokenizers without one
     */
    public InstanceBuilder(SentenceEnds ends, int chunkLength, int bosId, Sink sink) {
        if (chunkLength < 2) throw new IllegalArgumentException("instance length must be at least 2 tokens, got " + chunkLength);
        this.ends = ends;
        this.chunkLength = chunkLength;
        this.bos = bosId;
        this.streamPerChunk = bosId >= 0 ? chunkLength - 1 : chunkLength;
        this.sink = sink;
        this.chunk = new int[chunkLength];
    }

    /** Adds one document's tokens (EOS already appended) and writes every chunk that becomes full. */
    public void addDocument(int[] tokens, int from, int length) throws IOException {
        append(tokens, from, length);
        int produced = 0;
        while (tail - head >= streamPerChunk) {
            int cut = lastSentenceEnd();
            int length0 = cut >= 0 ? cut + 1 : chunkLength;
            int offset = 0;
            if (bos >= 0) chunk[offset++] = bos;
            int taken = length0 - offset;
            System.arraycopy(buffer, head, chunk, offset, taken);
            head += taken;
            if (length0 <= 1) {
                tokensDropped += taken;
                continue;
            }
            if (++produced > MAX_CHUNKS_PER_DOCUMENT) {
                tokensDropped += taken + (tail - head);
                head = tail;
                break;
            }
            sink.accept(chunk, 0, length0);
            instances++;
            tokensWritten += length0;
        }
    }

    public void addDocument(int[] tokens) throws IOException {
        addDocument(tokens, 0, tokens.length);
    }

    /** Logical index (in the chunk, BOS at 0) of the last sentence end in the next full chunk, or -1. */
    private int lastSentenceEnd() {
        int first = bos >= 0 ? 1 : 0;   // never cut at the BOS itself: that would carry the whole chunk back
        for (int i = chunkLength - 1; i >= first; i--) {
            int p = head + i - first;
            int id = buffer[p];
            int next = p + 1 < tail ? buffer[p + 1] : -1;
            if (ends.endsSentence(id, next)) return i;
        }
        return -1;
    }

    private void append(int[] tokens, int from, int length) {
        if (head > 0 && tail + length > buffer.length) {
            System.arraycopy(buffer, head, buffer, 0, tail - head);
            tail -= head;
            head = 0;
        }
        if (tail + length > buffer.length) buffer = Arrays.copyOf(buffer, Math.max(buffer.length * 2, tail + length));
        System.arraycopy(tokens, from, buffer, tail, length);
        tail += length;
    }

    public long instances() {
        return instances;
    }

    /** Tokens written, BOS included. */
    public long tokensWritten() {
        return tokensWritten;
    }

    /** Tokens still in the buffer (MiniPLM leaves them unwritten at the end). */
    public int pending() {
        return tail - head;
    }

    /** Tokens discarded by the one-token-chunk and 2,000-chunk rules. */
    public long tokensDropped() {
        return tokensDropped;
    }

    /**
     * The sentence-end token tables of a tokenizer, made as MiniPLM's get_end_sent_tokens.py makes them: a token
     * ends a sentence when its text holds one of . ! ? ; or a line break and no unbalanced bracket, and EOS
     * always does. Tokens whose text holds a line break end a sentence wherever they stand.
     */
    public static final class SentenceEnds {
        private static final String END_CHARS = ".!?;\n";
        /*
         * MiniPLM lists the pairs "[]", "()", "\{\}", "<>"; in Python "\{\}" is the 4-character string \{\} so
         * its pair is (backslash, '{'): a token with a backslash and no '{' is excluded, and '{' is never checked.
         * Kept as written, so kd4j's instances match MiniPLM's.
         */
        private static final char[][] BRACKETS = {{'[', ']'}, {'(', ')'}, {'\\', '{'}, {'<', '>'}};

        private final Tokenizer tokenizer;
        private final boolean[] endSentence;
        private final boolean[] lineBreak;
        private final int eos;

        private SentenceEnds(Tokenizer tokenizer, boolean[] endSentence, boolean[] lineBreak, int eos) {
            this.tokenizer = tokenizer;
            this.endSentence = endSentence;
            this.lineBreak = lineBreak;
            this.eos = eos;
        }

        public static SentenceEnds of(Tokenizer tokenizer) {
            int v = tokenizer.vocabSize();
            boolean[] end = new boolean[v], line = new boolean[v];
            int[] one = new int[1];
            for (int id = 0; id < v; id++) {
                one[0] = id;
                String s;
                try {
                    s = tokenizer.decode(one, false);
                } catch (RuntimeException e) {
                    continue;   // an id with no token (a gap in the added tokens) ends nothing
                }
                if (s == null || !containsAny(s, END_CHARS) || hasUnbalancedBracket(s)) continue;
                end[id] = true;
                line[id] = s.indexOf('\n') >= 0;
            }
            int eos = tokenizer.eosId();
            if (eos >= 0 && eos < v) end[eos] = true;
            return new SentenceEnds(tokenizer, end, line, eos);
        }

        private static boolean containsAny(String s, String chars) {
            for (int k = 0; k < chars.length(); k++) if (s.indexOf(chars.charAt(k)) >= 0) return true;
            return false;
        }

        private static boolean hasUnbalancedBracket(String s) {
            for (char[] pair : BRACKETS) if (s.indexOf(pair[0]) >= 0 && s.indexOf(pair[1]) < 0) return true;
            return false;
        }

        public boolean isSentenceEndToken(int id) {
            return id >= 0 && id < endSentence.length && endSentence[id];
        }

        /** Whether a chunk may end after token id, given the token that follows it (-1: none follows). */
        public boolean endsSentence(int id, int next) {
            if (id == eos) return true;
            if (id < 0 || id >= endSentence.length || !endSentence[id]) return false;
            if (lineBreak[id] || next < 0) return true;
            return tokenizer.decode(new int[] {id, next}, false).indexOf(' ') >= 0;
        }
    }
}
