package kd4j.distill.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReportTest {
    /** By hand: at 200 examples and chance 25%, 1.96 sqrt(0.25 * 0.75 / 200) = 0.0600; at 2,010 pairs and 50%, 0.0219. */
    @Test
    void atChance_isWithin196StandardErrorsOfChance() {
        assertTrue(Report.atChance(0.30, 0.25, 200));
        assertTrue(Report.atChance(0.19, 0.25, 200));
        assertFalse(Report.atChance(0.311, 0.25, 200));
        assertTrue(Report.atChance(0.521, 0.5, 2010));
        assertFalse(Report.atChance(0.523, 0.5, 2010));
        assertFalse(Report.atChance(0.5, 0.5, 0), "no examples: nothing measured");
    }

    private static Report.MethodResult run(String method, long seed, double inDomain) {
        ObjectNode eval = JsonNodeFactory.instance.objectNode();
        eval.putObject("inDomain").put("loss", inDomain);
        return new Report.MethodResult(method, method, seed, method + "-s" + seed, JsonNodeFactory.instance.objectNode(), eval);
    }

    /** The report pairs seed k of a method with seed k of its baseline, whatever the order of the runs. */
    @Test
    void paired_matchesSeeds() {
        List<Report.MethodResult> rs = new ArrayList<>(List.of(run("nokd", 2, 6.00), run("nokd", 1, 5.99), run("nokd", 3, 6.10),
                run("miniplm", 3, 6.00), run("miniplm", 1, 5.95), run("miniplm", 2, 5.90), run("miniplm", 4, 1.0)));
        // Seeds 1, 2, 3: differences -0.04, -0.10, -0.10, as in StatisticsTest (seed 4 has no baseline and is left out).
        Statistics.Paired p = Report.paired(rs, "miniplm", "nokd", Report.Metric.IN_DOMAIN);
        assertEquals(3, p.n());
        assertEquals(-0.08, p.mean(), 1e-12);
        assertEquals(-0.166053, p.low(), 1e-6);
        assertFalse(p.real());
        assertNull(Report.paired(rs, "vanillakd", "nokd", Report.Metric.IN_DOMAIN));
    }
}
