/*
 * Alpha schedules and presets by hand: constant, linear end points, the WSD shape (warm-up, plateau, decay, floor),
 * parsing and its errors, and MiniPLM's compute-matched step count.
 */
package kd4j.distill.kd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class AlphaScheduleTest {
    @Test
    void schedules_followTheirShapes() {
        assertEquals(0.5, AlphaSchedule.parse("0.5", 100).alpha(77));
        AlphaSchedule lin = AlphaSchedule.parse("linear:0.9:0.1", 5);
        assertEquals(0.9, lin.alpha(0), 1e-12);
        assertEquals(0.5, lin.alpha(2), 1e-12);
        assertEquals(0.1, lin.alpha(4), 1e-12);
        AlphaSchedule wsd = AlphaSchedule.parse("wsd:0.9", 100);      // 10 warm-up, 80 stable, 10 decay to 0
        assertEquals(0.09, wsd.alpha(0), 1e-12);
        assertEquals(0.9, wsd.alpha(9), 1e-12);
        assertEquals(0.9, wsd.alpha(50), 1e-12);
        assertEquals(0.9, wsd.alpha(89), 1e-12);
        assertEquals(0.81, wsd.alpha(90), 1e-12);
        assertEquals(0.0, wsd.alpha(99), 1e-12);
        assertEquals(0.0, wsd.alpha(500), 1e-12);
        assertEquals(0.3, AlphaSchedule.parse("wsd:0.9:0.3", 100).alpha(99), 1e-12);
        var e = assertThrows(IllegalArgumentException.class, () -> AlphaSchedule.parse("wsd", 10));
        assertTrue(e.getMessage().contains("wsd:PEAK[:END]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> AlphaSchedule.parse("1.5", 10));
    }

    @Test
    void presets_andComputeMatchedSteps() {
        // 3 N_s / (3 N_s + N_t) with N_s = 100, N_t = 300: half the steps
        assertEquals(500, KdPreset.computeMatchedSteps(1000, 100, 300));
        // MiniPLM: 200M student, 1.8B teacher -> 1000 * 600 / 2400 = 250
        assertEquals(250, KdPreset.computeMatchedSteps(1000, 200_000_000L, 1_800_000_000L));
        assertEquals(1, KdPreset.computeMatchedSteps(1, 1, 1_000_000));
        KdLoss.Settings v = KdPreset.parse("vanilla").settings(100);
        assertEquals(KdObjective.Divergence.SOFT_CE, v.divergence());
        assertEquals(0.5, v.alpha().alpha(42));
        assertEquals(1f, v.tau());
        KdPreset peng = KdPreset.parse("peng-best");
        assertEquals(new TopPkLogits.Truncation.TopPK(0.95, 50), peng.truncation());
        assertTrue(peng.wsdLearningRate() && peng.offline());
        assertEquals(0.9, peng.settings(100).alpha().alpha(50), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> KdPreset.parse("best"));
    }
}
