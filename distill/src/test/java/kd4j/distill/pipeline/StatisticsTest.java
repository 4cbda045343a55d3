package kd4j.distill.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class StatisticsTest {
    /** Two-sided 95% quantiles t(0.975, df) as printed in every t table (to the digits given there). */
    @Test
    void tQuantiles_matchTheTable() {
        assertEquals(12.7062047, Statistics.tQuantile(0.975, 1), 1e-6);
        assertEquals(4.30265273, Statistics.tQuantile(0.975, 2), 1e-7);
        assertEquals(3.18244631, Statistics.tQuantile(0.975, 3), 1e-7);
        assertEquals(2.77644511, Statistics.tQuantile(0.975, 4), 1e-7);
        assertEquals(2.26215716, Statistics.tQuantile(0.975, 9), 1e-7);
        assertEquals(2.04522964, Statistics.tQuantile(0.975, 29), 1e-7);
        assertEquals(6.96455673, Statistics.tQuantile(0.99, 2), 1e-7);
        assertEquals(-4.30265273, Statistics.tQuantile(0.025, 2), 1e-7);
        assertEquals(0, Statistics.tQuantile(0.5, 5), 1e-12);
        // df = 1 is the Cauchy distribution: P(T <= 1) = 1/2 + atan(1)/pi = 3/4.
        assertEquals(1, Statistics.tQuantile(0.75, 1), 1e-9);
    }

    /**
     * By hand: differences -0.10, -0.04, -0.10; mean -0.08; deviations -0.02, +0.04, -0.02, sum of squares 0.0024,
     * sd sqrt(0.0024 / 2) = 0.034641; standard error 0.034641 / sqrt(3) = 0.02; half-width 4.302653 * 0.02 = 0.086053;
     * interval [-0.166053, +0.006053], which contains 0: not real.
     */
    @Test
    void pairedDifference_byHand() {
        Statistics.Paired p = Statistics.paired(new double[] {5.90, 5.95, 6.00}, new double[] {6.00, 5.99, 6.10});
        assertEquals(-0.08, p.mean(), 1e-12);
        assertEquals(Math.sqrt(0.0012), p.sd(), 1e-12);
        assertEquals(3, p.n());
        assertEquals(4.30265273, p.t(), 1e-7);
        assertEquals(-0.166053, p.low(), 1e-6);
        assertEquals(0.006053, p.high(), 1e-6);
        assertFalse(p.real());
        assertEquals("-0.0800 [-0.1661, +0.0061]", p.format(4));

        // Differences -0.10, -0.08, -0.09: mean -0.09, sd 0.01, half-width 4.302653 * 0.01 / sqrt(3) = 0.024841.
        Statistics.Paired q = Statistics.paired(new double[] {0.90, 0.92, 0.91}, new double[] {1, 1, 1});
        assertEquals(-0.09, q.mean(), 1e-12);
        assertEquals(0.01, q.sd(), 1e-12);
        assertEquals(-0.09 - 0.0248414, q.low(), 1e-6);
        assertEquals(-0.09 + 0.0248414, q.high(), 1e-6);
        assertTrue(q.real());

        Statistics.Paired one = Statistics.paired(new double[] {1}, new double[] {2});
        assertEquals(-1, one.mean());
        assertTrue(Double.isNaN(one.low()));
        assertFalse(one.real());
        assertThrows(IllegalArgumentException.class, () -> Statistics.paired(new double[] {1, 2}, new double[] {1}));
        assertThrows(IllegalArgumentException.class, () -> Statistics.paired(new double[] {Double.NaN}, new double[] {1}));
    }
}
