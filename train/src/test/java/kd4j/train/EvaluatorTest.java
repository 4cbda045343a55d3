package kd4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.SplittableRandom;
import kd4j.tensor.Backend;
import kd4j.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class EvaluatorTest {
    private final Backend be = new CpuBackend(1);

    @AfterEach
    void close() { be.close(); }

    @Test
    void uniformModel_hasPerplexityEqualToTheVocabularySize() {
        int vocab = 37;
        TestModels.TableLM model = new TestModels.TableLM(be, new double[vocab][vocab], 0, 0);
        Evaluator ev = new Evaluator(model, 4, 3, 0);
        Evaluator.Report r = ev.evaluate(List.of(new Evaluator.Document("a", new int[] {5, 6, 7, 8, 9, 10, 11}),
                new Evaluator.Document("b", new int[] {1, 2})));
        // With the prefix token every document token is predicted once: 7 + 2.
        assertEquals(9, r.tokens());
        assertEquals(7, r.documents().get(0).tokens());
        assertEquals(Math.log(vocab), r.loss(), 1e-6);
        assertEquals(vocab, r.perplexity(), 1e-4);
        assertEquals(vocab, r.documents().get(1).perplexity(), 1e-4);
    }

    @Test
    void bigramModel_matchesHandComputedLossesPerDocumentAndOverall() {
        int vocab = 11;
        SplittableRandom rng = new SplittableRandom(3);
        double[][] table = new double[vocab][vocab];
        for (double[] row : table) for (int j = 0; j < vocab; j++) row[j] = rng.nextDouble(-3, 3);
        TestModels.TableLM model = new TestModels.TableLM(be, table, -1, 0);
        int[][] docs = {{3, 1, 4, 1, 5, 9, 2, 6, 5, 3}, {2, 7}, {10, 0, 10, 0, 10}};
        // seqLength 3 cuts the first document into 4 windows: each token must still be predicted exactly once.
        Evaluator ev = new Evaluator(model, 3, 2, Evaluator.defaultPrefix(model));
        Evaluator.Report r = ev.evaluate(List.of(new Evaluator.Document("d0", docs[0]),
                new Evaluator.Document("d1", docs[1]), new Evaluator.Document("d2", docs[2])));
        double total = 0;
        long tokens = 0;
        for (int d = 0; d < docs.length; d++) {
            double nll = 0;
            int prev = 0;                                   // the EOS prefix (bos is -1)
            for (int t : docs[d]) { nll -= model.logProb(prev, t); prev = t; }
            assertEquals(docs[d].length, r.documents().get(d).tokens());
            assertEquals(nll / docs[d].length, r.documents().get(d).loss(), 1e-5, "document " + d);
            total += nll;
            tokens += docs[d].length;
        }
        assertEquals(tokens, r.tokens());
        assertEquals(total / tokens, r.loss(), 1e-5);
        assertEquals(Math.exp(total / tokens), r.perplexity(), 1e-4 * Math.exp(total / tokens));
        assertEquals(Math.exp(r.loss()), r.perplexity(), 0.0);
    }

    @Test
    void meanLoss_overInstances_countsEveryPrediction() {
        int vocab = 5;
        double[][] table = new double[vocab][vocab];
        table[1][2] = 4;
        TestModels.TableLM model = new TestModels.TableLM(be, table, -1, -1);
        Evaluator ev = new Evaluator(model, 4, 8, -1);
        double got = ev.meanLoss(List.of(new int[] {1, 2, 1, 2, 1}, new int[] {3, 4}));
        double expected = -(2 * model.logProb(1, 2) + 2 * model.logProb(2, 1) + model.logProb(3, 4)) / 5;
        assertEquals(expected, got, 1e-6);
    }
}
