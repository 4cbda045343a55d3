package kd4j.distill.select;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import kd4j.data.Shard;
import kd4j.distill.score.ScoreFile;
import kd4j.distill.score.ScoreFileException;
import kd4j.distill.score.ScoreManifest;
import kd4j.distill.select.DifferenceSampling.MissingPolicy;
import kd4j.distill.select.DifferenceSampling.Selection;
import org.junit.jupiter.api.Test;

class DifferenceSamplingTest {
    static final double NaN = Double.NaN;
    // differences (teacher - reference): 1.0, 0.5, missing, 0.5, 0.0, 2.0, 0.5, -1.0, missing, 0.25 (exact in binary)
    static final double[] TEACHER = {-2.0, -1.0, NaN, -3.0, -1.0, -2.5, -2.0, -4.0, -1.0, -0.5};
    static final double[] REFERENCE = {-3.0, -1.5, -2.0, -3.5, -1.0, -4.5, -2.5, -3.0, NaN, -0.75};

    @Test
    void keepsTopRatio_tiesByLowerId_inCorpusOrder_missingExcluded() {
        Selection s = DifferenceSampling.select(TEACHER, REFERENCE, 0.5, MissingPolicy.EXCLUDE);
        assertArrayEquals(new int[] {5, 0, 1, 3, 6, 9, 4, 7}, s.ranking());
        assertArrayEquals(new int[] {0, 1, 3, 5}, s.kept(), "4 of 8 scored; instance 6 ties at 0.5 and loses to 1, 3");
        assertArrayEquals(new int[] {2, 8}, s.missing());
        assertEquals(0.5, s.cutoff());
        assertEquals(1.0, s.difference()[0]);
        assertTrue(Double.isNaN(s.difference()[2]));
        assertTrue(s.isKept(3) && !s.isKept(6) && !s.isKept(2));

        assertArrayEquals(new int[] {0, 5}, DifferenceSampling.select(TEACHER, REFERENCE, 0.25, MissingPolicy.EXCLUDE).kept());
        assertArrayEquals(new int[] {0, 1, 3, 4, 5, 6, 7, 9},
                DifferenceSampling.select(TEACHER, REFERENCE, 1.0, MissingPolicy.EXCLUDE).kept());
        // 0.625 * 8 = 5 exactly: the first tie-group member dropped at 0.5 is now kept
        assertArrayEquals(new int[] {0, 1, 3, 5, 6},
                DifferenceSampling.select(TEACHER, REFERENCE, 0.625, MissingPolicy.EXCLUDE).kept());
    }

    @Test
    void missingScores_refusedWhenAsked() {
        var e = assertThrows(DifferenceSampling.MissingScoresException.class,
                () -> DifferenceSampling.select(TEACHER, REFERENCE, 0.5, MissingPolicy.REFUSE));
        assertTrue(e.getMessage().startsWith("2 of 10 instances have no score"), e.getMessage());
        assertTrue(e.getMessage().contains("ids 2, 8. Use --missing exclude"), e.getMessage());
    }

    @Test
    void ratioOutsideUnitInterval_orKeepingNothing_isRefused() {
        assertEquals("--ratio must be in (0, 1], got 1.5", assertThrows(IllegalArgumentException.class,
                () -> DifferenceSampling.select(TEACHER, REFERENCE, 1.5, MissingPolicy.EXCLUDE)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> DifferenceSampling.select(TEACHER, REFERENCE, 0, MissingPolicy.EXCLUDE));
        assertThrows(IllegalArgumentException.class, () -> DifferenceSampling.select(TEACHER, REFERENCE, NaN, MissingPolicy.EXCLUDE));
        assertEquals("--ratio 0.1 keeps no instance of the 8 scored; choose a larger ratio",
                assertThrows(IllegalArgumentException.class,
                        () -> DifferenceSampling.select(TEACHER, REFERENCE, 0.1, MissingPolicy.EXCLUDE)).getMessage());
    }

    @Test
    void floorOfRatio_isNotFooledByRounding() {
        double[] t = new double[100], r = new double[100];
        for (int i = 0; i < 100; i++) t[i] = -i;
        assertEquals(29, DifferenceSampling.select(t, r, 0.29, MissingPolicy.EXCLUDE).keptCount(), "0.29 * 100 = 28.999...");
    }

    static ScoreFile file(String corpus, String tokenizer, Shard shard, double[] means) {
        ScoreManifest m = ScoreManifest.of(corpus, 10, tokenizer, "model", 0, 0, shard);
        int n = (int) m.instances();
        double[] sum = new double[n], mean = new double[n];
        int[] count = new int[n];
        for (int i = 0; i < n; i++) {
            mean[i] = means[(int) m.start() + i];
            count[i] = Double.isNaN(mean[i]) ? 0 : 4;
            sum[i] = count[i] * (Double.isNaN(mean[i]) ? 0 : mean[i]);
        }
        return new ScoreFile(m, sum, mean, count);
    }

    @Test
    void scoreFiles_ofOtherTokenizerOrIncomplete_areRefused() throws ScoreFileException {
        Path a = Path.of("teacher.scores"), b = Path.of("reference.scores");
        ScoreFile t = file("corpus", "tok-A", Shard.WHOLE, TEACHER);
        Selection s = DifferenceSampling.select(t, a, file("corpus", "tok-A", Shard.WHOLE, REFERENCE), b, 0.5,
                MissingPolicy.EXCLUDE);
        assertArrayEquals(new int[] {0, 1, 3, 5}, s.kept());

        var e = assertThrows(ScoreFileException.class, () -> DifferenceSampling.select(t, a,
                file("corpus", "tok-B", Shard.WHOLE, REFERENCE), b, 0.5, MissingPolicy.EXCLUDE));
        assertEquals("teacher.scores and reference.scores score different corpora or tokenizers (tokenizer: tok-A vs "
                + "tok-B). Score both with the same prepared data set.", e.getMessage());
        var f = assertThrows(ScoreFileException.class, () -> DifferenceSampling.select(t, a,
                file("corpus", "tok-A", new Shard(1, 2), REFERENCE), b, 0.5, MissingPolicy.EXCLUDE));
        assertEquals("reference.scores covers instances [5, 10) of 10 (shard 1/2); join the shards first with "
                + "`kd4j score-merge`", f.getMessage());
    }
}
