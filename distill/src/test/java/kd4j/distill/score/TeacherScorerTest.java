package kd4j.distill.score;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import kd4j.data.TokenSequences;
import kd4j.tensor.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

class TeacherScorerTest {
    static final int EOS = 0, PAD = 1;

    /** Direct computation: sum and count over positions whose input token is neither EOS nor PAD. */
    static double[] direct(PrefixSumLM lm, int[] ids) {
        double[] lp = lm.directLogProbs(ids);
        double s = 0;
        int c = 0;
        for (int t = 0; t < lp.length; t++) if (ids[t] != EOS && ids[t] != PAD) { s += lp[t]; c++; }
        return new double[] {s, c};
    }

    @Test
    void scores_equalDirectLogProbs_withEosAndPaddingInputsLeftOut() {
        PrefixSumLM lm = new PrefixSumLM(new ReferenceBackend(), 9, 7);
        List<int[]> inst = List.of(
                new int[] {2, 3, 4, 0, 5, 6, 7, 8},     // EOS as input at t=3: that position is left out
                new int[] {3, 3, 3, 3, 3, 3, 3, 3},
                new int[] {8, 7, 6, 5, 0, 1, 1, 1},     // EOS then padding: only t=0..3 count
                new int[] {4, 2, 8, 6, 4, 2, 8, 0},     // final EOS is a target only: counted
                new int[] {5, 6, 7});                   // shorter: batched with padding and a key mask
        TeacherScorer scorer = new TeacherScorer(lm, 2, EOS, PAD);
        int n = inst.size();
        double[] sum = new double[n], mean = new double[n];
        int[] count = new int[n];
        long tokens = scorer.score(TokenSequences.of(inst, EOS, PAD, "c", "t"), 0, n, sum, mean, count, 0);
        int[] expectedCounts = {6, 7, 4, 7, 2};
        long expectedTokens = 0;
        for (int i = 0; i < n; i++) {
            double[] d = direct(lm, inst.get(i));
            assertEquals(expectedCounts[i], (int) d[1], "hand count of instance " + i);
            assertEquals(expectedCounts[i], count[i], "count of instance " + i);
            assertEquals(d[0], sum[i], 1e-5 + 1e-6 * Math.abs(d[0]), "sum of instance " + i);
            assertEquals(d[0] / d[1], mean[i], 1e-6 + 1e-6 * Math.abs(d[0]), "mean of instance " + i);
            expectedTokens += expectedCounts[i];
        }
        assertEquals(expectedTokens, tokens);
        assertEquals(3, lm.forwardCalls, "5 instances in batches of 2");
    }

    /** Blocks of 3 positions cross the rows of a batch: the scores must not change (issue #19's chunking). */
    @Test
    void logitsInBlocksOfPositions_giveTheSameScores() {
        PrefixSumLM lm = new PrefixSumLM(new ReferenceBackend(), 9, 7);
        List<int[]> inst = List.of(new int[] {2, 3, 4, 0, 5, 6, 7, 8}, new int[] {8, 7, 6, 5, 0, 1, 1, 1},
                new int[] {5, 6, 7});
        TeacherScorer scorer = new TeacherScorer(lm, 3, EOS, PAD, 3L * 9 * Float.BYTES, kd4j.autograd.MatmulPrecision.FP32);
        double[] sum = new double[3], mean = new double[3];
        int[] count = new int[3];
        scorer.score(TokenSequences.of(inst, EOS, PAD, "c", "t"), 0, 3, sum, mean, count, 0);
        for (int i = 0; i < 3; i++) {
            double[] d = direct(lm, inst.get(i));
            assertEquals((int) d[1], count[i], "count of instance " + i);
            assertEquals(d[0], sum[i], 1e-5 + 1e-6 * Math.abs(d[0]), "sum of instance " + i);
        }
    }

    @Test
    void batchSize_doesNotChangeScores() {
        PrefixSumLM lm = new PrefixSumLM(new ReferenceBackend(), 6, 3);
        List<int[]> inst = List.of(new int[] {2, 3, 4, 5}, new int[] {5, 4}, new int[] {3, 0, 2, 3, 4, 5, 2},
                new int[] {4, 4, 4});
        double[][] means = new double[3][];
        int k = 0;
        for (int batch : new int[] {1, 3, 4}) {
            double[] sum = new double[4], mean = new double[4];
            int[] count = new int[4];
            new TeacherScorer(lm, batch, EOS, PAD).score(TokenSequences.of(inst, EOS, PAD, "c", "t"), 0, 4, sum, mean, count, 0);
            means[k++] = mean;
        }
        for (int i = 0; i < 4; i++) {
            assertEquals(means[0][i], means[1][i], 1e-6, "instance " + i + " batch 1 vs 3");
            assertEquals(means[0][i], means[2][i], 1e-6, "instance " + i + " batch 1 vs 4");
        }
    }

    @Test
    void instanceWithNothingToScore_isMissing() {
        PrefixSumLM lm = new PrefixSumLM(new ReferenceBackend(), 5, 1);
        List<int[]> inst = List.of(new int[] {0, 1, 1, 1}, new int[] {4});
        double[] sum = new double[2], mean = new double[2];
        int[] count = new int[2];
        long tokens = new TeacherScorer(lm, 2, EOS, PAD).score(TokenSequences.of(inst, EOS, PAD, "c", "t"), 0, 2, sum, mean, count, 0);
        assertEquals(0, tokens);
        assertArrayEquals(new int[] {0, 0}, count);
        assertTrue(Double.isNaN(mean[0]) && Double.isNaN(mean[1]));
        assertEquals(0, lm.forwardCalls, "no forward pass when nothing counts");
    }

    @Test
    void tokenOutsideVocabulary_isRefusedWithPosition() {
        PrefixSumLM lm = new PrefixSumLM(new ReferenceBackend(), 5, 1);
        var e = assertThrows(IllegalArgumentException.class, () -> new TeacherScorer(lm, 2, EOS, PAD)
                .score(TokenSequences.of(List.of(new int[] {2, 3}, new int[] {2, 9, 3}), EOS, PAD, "c", "t"),
                        0, 2, new double[2], new double[2], new int[2], 0));
        assertEquals("instance 1, position 1: token id 9 is outside the model's vocabulary [0, 5); was the corpus "
                + "made with another tokenizer?", e.getMessage());
    }
}
