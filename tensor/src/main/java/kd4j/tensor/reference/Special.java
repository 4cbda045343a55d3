/*
 * Special functions in double for the reference backend (the JDK has no erf). Accurate to ~1e-15, which is what
 * an oracle needs; not tuned for speed.
 */
package kd4j.tensor.reference;

final class Special {
    private Special() {}

    /**
     * erf(x). |x| < 3: the series 2/sqrt(pi) e^{-x^2} sum_n 2^n x^{2n+1} / (1*3*...*(2n+1)), whose terms are all
     * positive (no cancellation, unlike the Taylor series); beyond: 1 - erfc(x) by its continued fraction.
     */
    static double erf(double x) {
        if (Double.isNaN(x)) return x;
        double ax = Math.abs(x);
        double r;
        if (ax < 3) {
            double term = ax, sum = ax, x2 = 2 * ax * ax;
            for (int n = 1; n < 200 && term > 1e-18 * sum; n++) {
                term *= x2 / (2 * n + 1);
                sum += term;
            }
            r = 2 / Math.sqrt(Math.PI) * Math.exp(-ax * ax) * sum;
        } else {
            r = 1 - erfcLarge(ax);
        }
        return x < 0 ? -r : r;
    }

    /** erfc(x) for x >= 3: e^{-x^2}/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), evaluated bottom-up. */
    private static double erfcLarge(double x) {
        double f = x;
        for (int n = 60; n >= 1; n--) f = x + (n / 2.0) / f;
        return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
    }
}
