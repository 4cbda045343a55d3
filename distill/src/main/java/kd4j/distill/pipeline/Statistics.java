/*
 * The statistics the report rests on: a method against its baseline over the same seeds, as a paired difference
 * (seed k of the method minus seed k of the baseline, so what a seed shares, its data order and initialisation,
 * cancels) with its 95% confidence interval from Student's t with n - 1 degrees of freedom. A difference is called
 * real only when the interval excludes 0. The t quantile comes from Commons Math's TDistribution.
 */
package kd4j.distill.pipeline;

import java.util.Locale;
import org.apache.commons.math3.distribution.TDistribution;

public final class Statistics {
    private Statistics() {}

    /**
     * A paired difference over n seeds: mean and sample sd of the per-seed differences, the two-sided t quantile
     * for the level, and the interval mean ± t · sd / sqrt(n). With one seed sd, t and the interval are NaN.
     */
    public record Paired(double mean, double sd, int n, double level, double t, double low, double high) {
        /** The interval excludes 0 (never with fewer than two seeds). */
        public boolean real() { return n >= 2 && (low > 0 || high < 0); }

        public String format(int digits) {
            String f = "%+." + digits + "f";
            if (n < 2) return String.format(Locale.ROOT, f + " (one seed, no interval)", mean);
            return String.format(Locale.ROOT, f + " [" + f + ", " + f + "]", mean, low, high);
        }
    }

    /** method[k] - baseline[k] for each k, summarised at the 95% level. Both arrays have one value per seed. */
    public static Paired paired(double[] method, double[] baseline) { return paired(method, baseline, 0.95); }

    public static Paired paired(double[] method, double[] baseline, double level) {
        if (method.length != baseline.length)
            throw new IllegalArgumentException("paired values need the same seeds: " + method.length + " vs " + baseline.length);
        if (method.length == 0) throw new IllegalArgumentException("no values to compare");
        if (!(level > 0 && level < 1)) throw new IllegalArgumentException("level must be in (0, 1), got " + level);
        int n = method.length;
        double[] d = new double[n];
        for (int k = 0; k < n; k++) {
            d[k] = method[k] - baseline[k];
            if (!Double.isFinite(d[k]))
                throw new IllegalArgumentException("seed " + k + ": a non-finite value (" + method[k] + " - " + baseline[k] + ")");
        }
        double mean = 0;
        for (double x : d) mean += x;
        mean /= n;
        if (n < 2) return new Paired(mean, Double.NaN, 1, level, Double.NaN, Double.NaN, Double.NaN);
        double ss = 0;
        for (double x : d) ss += (x - mean) * (x - mean);
        double sd = Math.sqrt(ss / (n - 1));
        double t = tQuantile(0.5 + level / 2, n - 1);
        double half = t * sd / Math.sqrt(n);
        return new Paired(mean, sd, n, level, t, mean - half, mean + half);
    }

    /** The p-quantile of Student's t with df degrees of freedom (p in (0, 1)), to about 1e-12 (Commons Math). */
    public static double tQuantile(double p, int df) {
        if (df < 1) throw new IllegalArgumentException("degrees of freedom must be >= 1, got " + df);
        if (!(p > 0 && p < 1)) throw new IllegalArgumentException("p must be in (0, 1), got " + p);
        // no random generator: the distribution is only evaluated, never sampled
        return new TDistribution(null, df, 1e-12).inverseCumulativeProbability(p);
    }
}
