/*
 * MiniPLM's Difference Sampling (Gu et al. 2024), as its released code does it: each instance's score is
 * mean log p_teacher - mean log p_reference over the instance (positions whose input token is EOS or padding left
 * out, see TeacherScorer), and the top `ratio` of instances by that score are kept. It is a deterministic top-k,
 * not random sampling: ties are broken by instance id (lower id first), and the kept instances are returned in
 * their original corpus order. (The paper's README prints a ratio of logs; the released code subtracts, as here.)
 *
 * Missing scores: an instance with no counted token in either file (every input token EOS or padding) has no
 * mean. With MissingPolicy.EXCLUDE (the default) such instances are never kept and are counted in the result;
 * with REFUSE selection stops with a message naming them. k = floor(ratio * scored instances).
 */
package kd4j.distill.select;

import it.unimi.dsi.fastutil.ints.IntArrays;
import java.nio.file.Path;
import java.util.Arrays;
import kd4j.distill.score.ScoreFile;
import kd4j.distill.score.ScoreFileException;

public final class DifferenceSampling {
    /** What to do with instances that have no score. */
    public enum MissingPolicy { EXCLUDE, REFUSE }

    /**
     * The outcome. difference[i] is NaN for a missing instance. ranking holds the scored instance ids best first
     * (difference descending, id ascending); kept = the first keptCount of them, sorted by id. cutoff is the
     * difference of the last kept instance.
     */
    public record Selection(double ratio, double[] teacherMean, double[] referenceMean, double[] difference,
                            int[] ranking, int[] kept, int[] missing, double cutoff) {
        public int total() { return difference.length; }
        public int keptCount() { return kept.length; }
        public int scoredCount() { return ranking.length; }

        /** True when instance id is kept (binary search in kept). */
        public boolean isKept(int id) { return Arrays.binarySearch(kept, id) >= 0; }
    }

    private DifferenceSampling() {}

    /** Checks 0 < ratio <= 1 (the CLI reports it as a usage error). */
    public static void checkRatio(double ratio) {
        if (!(ratio > 0 && ratio <= 1))
            throw new IllegalArgumentException("--ratio must be in (0, 1], got " + ratio);
    }

    /**
     * Selects from two complete score files of the same corpus and tokenizer (refused otherwise, naming what
     * differs). Shards must be merged first.
     */
    public static Selection select(ScoreFile teacher, Path teacherPath, ScoreFile reference, Path referencePath,
                                   double ratio, MissingPolicy policy) throws ScoreFileException {
        checkRatio(ratio);
        teacher.manifest().requireSameCorpus(teacherPath, reference.manifest(), referencePath);
        requireComplete(teacher, teacherPath);
        requireComplete(reference, referencePath);
        int n = teacher.size();
        double[] t = new double[n], r = new double[n];
        for (int i = 0; i < n; i++) {
            t[i] = teacher.count(i) > 0 ? teacher.mean(i) : Double.NaN;
            r[i] = reference.count(i) > 0 ? reference.mean(i) : Double.NaN;
        }
        try {
            return select(t, r, ratio, policy);
        } catch (MissingScoresException e) {
            throw new ScoreFileException(teacherPath + " / " + referencePath + ": " + e.getMessage());
        }
    }

    private static void requireComplete(ScoreFile f, Path p) throws ScoreFileException {
        if (!f.isComplete())
            throw new ScoreFileException(p + " covers instances [" + f.start() + ", " + f.end() + ") of "
                    + f.manifest().corpusInstances() + " (shard " + f.manifest().shardIndex() + "/"
                    + f.manifest().shardCount() + "); join the shards first with `kd4j score-merge`");
    }

    /** Thrown by the array form under MissingPolicy.REFUSE. */
    public static final class MissingScoresException extends IllegalArgumentException {
        MissingScoresException(String message) { super(message); }
    }

    /**
     * The core on per-instance means (NaN or infinite = missing). Returns the selection; throws
     * MissingScoresException under REFUSE when any instance is missing, and IllegalArgumentException when the
     * ratio keeps no instance.
     */
    public static Selection select(double[] teacherMean, double[] referenceMean, double ratio, MissingPolicy policy) {
        checkRatio(ratio);
        if (teacherMean.length != referenceMean.length)
            throw new IllegalArgumentException("teacher scores " + teacherMean.length + " instances, reference "
                    + referenceMean.length);
        int n = teacherMean.length;
        double[] diff = new double[n];
        int[] scored = new int[n], missing = new int[n];
        int s = 0, m = 0;
        for (int i = 0; i < n; i++) {
            diff[i] = teacherMean[i] - referenceMean[i];
            if (Double.isFinite(diff[i])) scored[s++] = i;
            else { diff[i] = Double.NaN; missing[m++] = i; }
        }
        missing = Arrays.copyOf(missing, m);
        if (m > 0 && policy == MissingPolicy.REFUSE) {
            StringBuilder ids = new StringBuilder();
            for (int i = 0; i < Math.min(m, 10); i++) ids.append(i == 0 ? "" : ", ").append(missing[i]);
            throw new MissingScoresException(m + " of " + n + " instances have no score (no position counted: "
                    + "every input token is EOS or padding, or a model gave a non-finite log-probability): ids "
                    + ids + (m > 10 ? ", ..." : "") + ". Use --missing exclude to drop them from selection.");
        }
        int[] ranking = Arrays.copyOf(scored, s);
        // difference descending, then id ascending: a total order, so the top k never depends on sort stability
        IntArrays.quickSort(ranking, (a, b) -> {
            int c = Double.compare(diff[b], diff[a]);
            return c != 0 ? c : Integer.compare(a, b);
        });
        int k = (int) Math.floor(ratio * s + 1e-9);    // the tolerance keeps 0.29 * 100 at 29, not 28.999...
        if (k == 0)
            throw new IllegalArgumentException("--ratio " + ratio + " keeps no instance of the " + s
                    + " scored; choose a larger ratio");
        int[] kept = Arrays.copyOf(ranking, k);
        Arrays.sort(kept);                            // original corpus order
        return new Selection(ratio, teacherMean.clone(), referenceMean.clone(), diff, ranking, kept, missing,
                diff[ranking[k - 1]]);
    }
}
