package kd4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import kd4j.tensor.Backend;
import kd4j.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MinimalPairEvalTest {
    private final Backend be = new CpuBackend(1);
    @TempDir Path dir;

    @AfterEach
    void close() { be.close(); }

    private static int id(char c) { return TestModels.CharTokenizer.id(c); }

    /**
     * A bigram table where "ab" is likely (a→b logit 4) and "ba" less so (b→a logit 1); the first character is
     * conditioned on EOS (the CharTokenizer has no BOS), where 'b' is favoured (logit 2). Pair 1 (good "ab", bad "ba"):
     * log p(a|eos) + log p(b|a) vs log p(b|eos) + log p(a|b), computed by hand; pair 2 is the same pair reversed.
     */
    @Test
    void handMadePairs_giveKnownLogProbabilitiesAndAccuracies() throws IOException {
        var tok = new TestModels.CharTokenizer();
        int v = tok.vocabSize();
        double[][] table = new double[v][v];
        table[id('a')][id('b')] = 4;
        table[id('b')][id('a')] = 1;
        table[0][id('b')] = 2;
        TestModels.TableLM model = new TestModels.TableLM(be, table, -1, 0);
        Path task = dir.resolve("pairs.jsonl.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(task))) {
            out.write(("""
                    {"UID": "p1", "field": "syntax", "linguistics_term": "order", "pairID": "0", "sentence_good": "ab", "sentence_bad": "ba"}

                    {"UID": "p2", "field": "morphology", "linguistics_term": "order", "pairID": "7", "sentence_good": "ba", "sentence_bad": "ab"}
                    {"sentence_good": "ab", "sentence_bad": "ba"}
                    """).getBytes(StandardCharsets.UTF_8));
        }
        assertEquals(TaskFiles.Kind.MINIMAL_PAIRS, TaskFiles.kind(task));
        List<MinimalPairEval.Pair> pairs = MinimalPairEval.read(task);
        assertEquals(List.of("p1/0", "p2/7", "pairs.jsonl.gz:4"), pairs.stream().map(MinimalPairEval.Pair::id).toList());
        MinimalPairEval.Result r = new MinimalPairEval(model, tok, 16, 2).evaluate(pairs);

        double ab = model.logProb(0, id('a')) + model.logProb(id('a'), id('b'));
        double ba = model.logProb(0, id('b')) + model.logProb(id('b'), id('a'));
        assertTrue(ab > ba, "the table is built so that 'ab' wins: " + ab + " vs " + ba);
        assertEquals(ab, r.pairs().get(0).logProbGood(), 1e-5);
        assertEquals(ba, r.pairs().get(0).logProbBad(), 1e-5);
        assertEquals(ba, r.pairs().get(1).logProbGood(), 1e-5);
        assertEquals(ab, r.pairs().get(1).logProbBad(), 1e-5);
        assertTrue(r.pairs().get(0).correct());
        assertFalse(r.pairs().get(1).correct());
        assertEquals(2.0 / 3, r.accuracy(), 1e-12);
        assertEquals(new MinimalPairEval.Count(0, 1), r.byField().get("morphology"));
        assertEquals(new MinimalPairEval.Count(1, 1), r.byField().get("syntax"));
        assertEquals(new MinimalPairEval.Count(1, 1), r.byField().get(""));
        assertEquals(new MinimalPairEval.Count(1, 2), r.byTerm().get("order"));
        assertEquals(List.of("", "p1", "p2"), List.copyOf(r.byParadigm().keySet()));
    }

    @Test
    void badTaskFiles_nameFileLineAndField() throws IOException {
        Path task = dir.resolve("bad.jsonl");
        Files.writeString(task, "{\"sentence_good\": \"ab\", \"sentence_bad\": \"ba\"}\n{\"sentence_good\": \"ab\", \"sentence_bad\": \" \"}\n");
        IOException e = assertThrows(IOException.class, () -> MinimalPairEval.read(task));
        assertEquals(task + ":2: field \"sentence_bad\" is empty; a pair needs two sentences", e.getMessage());

        Files.writeString(task, "{\"sentence_good\": \"ab\", \"bad\": \"ba\"}\n");
        e = assertThrows(IOException.class, () -> MinimalPairEval.read(task));
        assertEquals(task + ":1: expected a string field \"sentence_bad\" (fields: sentence_good, bad)", e.getMessage());

        Files.writeString(task, "\n{\"question\": \"q\", \"answer\": \"a\"}\n");
        e = assertThrows(IOException.class, () -> TaskFiles.kind(task));
        assertEquals(task + ":2: unknown task shape (fields: question, answer); expected multiple choice (context, "
                + "choices, gold) or minimal pairs (sentence_good, sentence_bad)", e.getMessage());

        Files.writeString(task, "{\"context\": \"a\", \"choices\": [\"x\", \"y\"], \"gold\": 0}\n");
        assertEquals(TaskFiles.Kind.MULTIPLE_CHOICE, TaskFiles.kind(task));
    }

    /** The bundled BLiMP subset: 6,700 pairs, 100 for each of 67 paradigms, 4 fields, 13 phenomena (the README's 12 plus s-selection). */
    @Test
    void bundledBlimp_readsWhole() throws IOException {
        Path blimp = Path.of(System.getProperty("user.dir")).resolveSibling("corpora").resolve("blimp/blimp-100.jsonl.gz");
        assertEquals(TaskFiles.Kind.MINIMAL_PAIRS, TaskFiles.kind(blimp));
        List<MinimalPairEval.Pair> pairs = MinimalPairEval.read(blimp);
        assertEquals(6700, pairs.size());
        MinimalPairEval.Result none = new MinimalPairEval.Result(pairs.stream()
                .map(p -> new MinimalPairEval.PairResult(p, 0, 0)).toList());
        assertEquals(67, none.byParadigm().size());
        assertEquals(List.of("morphology", "semantics", "syntax", "syntax_semantics"), List.copyOf(none.byField().keySet()));
        assertEquals(13, none.byTerm().size());
        assertEquals(List.of(1800, 900, 2600, 1400), none.byField().values().stream().map(MinimalPairEval.Count::total).toList());
        assertTrue(none.byParadigm().values().stream().allMatch(c -> c.total() == 100));
        assertEquals("adjunct_island/0", pairs.getFirst().id());
    }
}
