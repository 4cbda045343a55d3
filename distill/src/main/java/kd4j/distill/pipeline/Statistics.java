/*
 * The statistics the report rests on: a method against its baseline over the same seeds, as a paired difference
 * (seed k of the method minus seed k of the baseline, so what a seed shares, its data order and initialisation,
 * cancels) with its 95% confidence interval from Student's t with n - 1 degrees of freedom. A difference is called
 * real only when the interval excludes 0. The t quantile comes from the t distribution's CDF, written with the
 * regularized incomplete beta function (continued fraction, evaluated in double), inverted by bisection.
 */
package kd4j.distill.pipeline;

import java.util.Locale;

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

    /** The p-quantile of Student's t with df degrees of freedom (p in (0, 1)), to about 1e-12. */
    public static double tQuantile(double p, int df) {
        if (df < 1) throw new IllegalArgumentException("degrees of freedom must be >= 1, got " + df);
        if (!(p > 0 && p < 1)) throw new IllegalArgumentException("p must be in (0, 1), got " + p);
        if (p == 0.5) return 0;
        if (p < 0.5) return -tQuantile(1 - p, df);
        double lo = 0, hi = 1;
        while (tCdf(hi, df) < p) hi *= 2;
        for (int i = 0; i < 200 && hi - lo > 1e-13 * Math.max(1, hi); i++) {
            double mid = (lo + hi) / 2;
            if (tCdf(mid, df) < p) lo = mid; else hi = mid;
        }
        return (lo + hi) / 2;
    }

    /** P(T <= x) for Student's t with df degrees of freedom: 1 - I_{df/(df+x²)}(df/2, 1/2) / 2 for x >= 0. */
    public static double tCdf(double x, int df) {
        double tail = 0.5 * regularizedBeta(df / (df + x * x), df / 2.0, 0.5);
        return x >= 0 ? 1 - tail : tail;
    }

    /** I_x(a, b), the regularized incomplete beta function, by its continued fraction (Lentz's method). */
    static double regularizedBeta(double x, double a, double b) {
        if (x <= 0) return 0;
        if (x >= 1) return 1;
        // The fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) otherwise.
        if (x > (a + 1) / (a + b + 2)) return 1 - regularizedBeta(1 - x, b, a);
        double lnFront = lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
        double tiny = 1e-300, c = 1, dd = 1 - (a + b) * x / (a + 1);
        if (Math.abs(dd) < tiny) dd = tiny;
        dd = 1 / dd;
        double f = dd;
        for (int m = 1; m <= 500; m++) {
            double num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));          // even step
            dd = 1 + num * dd; if (Math.abs(dd) < tiny) dd = tiny; dd = 1 / dd;
            c = 1 + num / c; if (Math.abs(c) < tiny) c = tiny;
            f *= dd * c;
            num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));      // odd step
            dd = 1 + num * dd; if (Math.abs(dd) < tiny) dd = tiny; dd = 1 / dd;
            c = 1 + num / c; if (Math.abs(c) < tiny) c = tiny;
            double delta = dd * c;
            f *= delta;
            if (Math.abs(delta - 1) < 1e-15) break;
        }
        return Math.exp(lnFront) * f / a;
    }

    /** ln Γ(z) for z > 0 (Lanczos, g = 7, nine coefficients; relative error below 1e-14). */
    static double lnGamma(double z) {
        if (z < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * z))) - lnGamma(1 - z);
        double[] c = {0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
                -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
                1.5056327351493116e-7};
        z -= 1;
        double x = c[0];
        for (int i = 1; i < 9; i++) x += c[i] / (z + i);
        double t = z + 7.5;
        return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(x);
    }
}
