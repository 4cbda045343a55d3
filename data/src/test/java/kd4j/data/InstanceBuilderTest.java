package kd4j.data;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class InstanceBuilderTest {
    // ids:                                 0        1       2         3    4     5      6     7    8     9        10     11     12      13     14     15
    static final List<String> VOCAB = List.of("<eos>", "Hello", " world", ".", " I", " am", " D", "A", "\n", " fine", "<s>", "(a.", "(a).", "\\.", "{.", "?");

    static List<int[]> pack(TestTokenizers.ListTokenizer tok, int length, InstanceBuilder[] holder, int[]... docs) throws Exception {
        List<int[]> out = new ArrayList<>();
        InstanceBuilder b = new InstanceBuilder(InstanceBuilder.SentenceEnds.of(tok), length, tok.bosId(),
                (ids, from, n) -> out.add(Arrays.copyOfRange(ids, from, from + n)));
        for (int[] d : docs) b.addDocument(d);
        holder[0] = b;
        return out;
    }

    static void assertInstances(List<int[]> actual, int[]... expected) {
        List<String> a = actual.stream().map(Arrays::toString).toList();
        List<String> e = Arrays.stream(expected).map(Arrays::toString).toList();
        assertEquals(e, a);
    }

    // "Hello world. I am D.A. I am fine." + EOS
    static final int[] DOC = {1, 2, 3, 4, 5, 6, 3, 7, 3, 4, 5, 9, 3, 0};

    @Test
    void packsWithoutBos_cutsAtSentenceEnds_carriesTheRest() throws Exception {
        var tok = new TestTokenizers.ListTokenizer(VOCAB, 0, -1);
        InstanceBuilder[] b = new InstanceBuilder[1];
        List<int[]> got = pack(tok, 5, b, DOC);
        assertInstances(got,
                new int[] {1, 2, 3},            // "Hello world." cut before " I": ". I" holds a space
                new int[] {4, 5, 6, 3, 7},      // " I am D.A": ".A" is no sentence end, nothing to cut at: kept whole
                // ". I am fine." had its only end at position 0 -> a one-token chunk, dropped as MiniPLM does
                new int[] {4, 5, 9, 3, 0});     // " I am fine.<eos>": EOS ends it
        assertEquals(1, b[0].tokensDropped());
        assertEquals(0, b[0].pending());
        assertEquals(13, b[0].tokensWritten());
    }

    @Test
    void remainderIsCarriedIntoTheNextDocumentsChunk_andTheTailIsNotWritten() throws Exception {
        var tok = new TestTokenizers.ListTokenizer(VOCAB, 0, -1);
        InstanceBuilder[] b = new InstanceBuilder[1];
        List<int[]> got = pack(tok, 5, b, new int[] {1, 8, 0}, new int[] {1, 2, 0});
        assertInstances(got, new int[] {1, 8, 0});   // "Hello\n<eos>" then "Hello world<eos>" waits for more
        assertEquals(3, b[0].pending());
    }

    @Test
    void packsWithBos_bosFirstInEveryInstance() throws Exception {
        var tok = new TestTokenizers.ListTokenizer(VOCAB, 0, 10);
        InstanceBuilder[] b = new InstanceBuilder[1];
        List<int[]> got = pack(tok, 5, b, DOC);
        assertInstances(got,
                new int[] {10, 1, 2, 3},
                new int[] {10, 4, 5, 6, 3},     // ends in "." but ".A" follows: no end, kept whole
                new int[] {10, 7, 3},
                new int[] {10, 4, 5, 9, 3});    // ".<eos>" has no space: not an end
        assertEquals(1, b[0].pending());        // the EOS waits for the next document
    }

    @Test
    void lineBreakTokensEndSentencesWhateverFollows() throws Exception {
        var tok = new TestTokenizers.ListTokenizer(VOCAB, 0, -1);
        InstanceBuilder[] b = new InstanceBuilder[1];
        List<int[]> got = pack(tok, 4, b, new int[] {1, 8, 7, 7, 7, 0});
        assertInstances(got, new int[] {1, 8}, new int[] {7, 7, 7, 0});
    }

    @Test
    void sentenceEndTable_followsMiniPlmRule_includingItsBracketQuirk() {
        var tok = new TestTokenizers.ListTokenizer(VOCAB, 0, -1);
        var ends = InstanceBuilder.SentenceEnds.of(tok);
        List<Integer> endIds = new ArrayList<>();
        for (int i = 0; i < VOCAB.size(); i++) if (ends.isSentenceEndToken(i)) endIds.add(i);
        // eos, ".", "\n", "(a)." , "{." , "?"; not "(a." (open bracket), not "\\." (backslash without '{')
        assertEquals(List.of(0, 3, 8, 12, 14, 15), endIds);
    }

    @Test
    void moreThan2000ChunksFromOneDocumentEmptiesTheBuffer() throws Exception {
        var tok = new TestTokenizers.ListTokenizer(VOCAB, 0, -1);
        int[] doc = new int[4101];
        Arrays.fill(doc, 1);
        doc[4100] = 0;
        InstanceBuilder[] b = new InstanceBuilder[1];
        List<int[]> got = pack(tok, 2, b, doc);
        assertEquals(InstanceBuilder.MAX_CHUNKS_PER_DOCUMENT, got.size());
        assertEquals(0, b[0].pending());
        assertEquals(4101 - 2 * 2000, b[0].tokensDropped());
    }

    @Test
    void rejectsInstancesShorterThanTwoTokens() {
        var tok = new TestTokenizers.ListTokenizer(VOCAB, 0, -1);
        var e = assertThrows(IllegalArgumentException.class,
                () -> new InstanceBuilder(InstanceBuilder.SentenceEnds.of(tok), 1, -1, (ids, f, n) -> {}));
        assertTrue(e.getMessage().contains("at least 2"), e.getMessage());
    }
}
