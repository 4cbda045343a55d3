/*
 * `kd4j pipeline` and `kd4j demo` through picocli: bad config keys and values are refused with the file, line
 * and key (exit 3), bad flags with usage errors (exit 2), and --print-config writes the demo's config as a
 * valid pipeline config file. The pipeline itself runs end to end in kd4j.distill.pipeline.PipelineTest.
 */
package kd4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import kd4j.distill.pipeline.PipelineConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PipelineCommandTest {
    @TempDir Path tmp;

    @Test
    void unknownConfigKey_isBadInputNamingFileLineAndKey() throws Exception {
        Path bad = tmp.resolve("bad.json");
        Files.writeString(bad, "{\n  \"students\": {\n    \"training\": {\"steps\": 10, \"learningRate\": 0.1}\n  }\n}\n");
        var run = CliRunner.run("pipeline", "--config", bad.toString());
        assertEquals(ExitCodes.BAD_INPUT, run.exit(), run.out() + run.err());
        assertTrue(run.err().contains("bad.json:3:"), run.err());
        assertTrue(run.err().contains("\"students.training.learningRate\": unknown key \"learningRate\""), run.err());
        assertTrue(run.err().contains("lr"), run.err());
        assertTrue(!run.err().contains("at kd4j."), "no stack trace: " + run.err());
    }

    @Test
    void ratioOutOfRange_isRefused() throws Exception {
        Path bad = tmp.resolve("ratio.json");
        Files.writeString(bad, "{\"selection\": {\"ratio\": 2}}");
        var run = CliRunner.run("pipeline", "--config", bad.toString());
        assertEquals(ExitCodes.BAD_INPUT, run.exit(), run.out() + run.err());
        assertTrue(run.err().contains("\"selection.ratio\": must be in (0, 1], got 2.0"), run.err());
    }

    @Test
    void missingConfigFile_isBadInput() {
        var run = CliRunner.run("pipeline", "--config", tmp.resolve("nope.json").toString());
        assertEquals(ExitCodes.BAD_INPUT, run.exit(), run.out() + run.err());
        assertTrue(run.err().contains("nope.json: pipeline config not found"), run.err());
    }

    @Test
    void demoFlags_areValidated() {
        var scale = CliRunner.run("demo", "--scale", "0");
        assertEquals(ExitCodes.USAGE, scale.exit(), scale.out() + scale.err());
        assertTrue(scale.err().contains("--scale must be positive, got 0.0"), scale.err());
        var seeds = CliRunner.run("demo", "--seeds", "0");
        assertEquals(ExitCodes.USAGE, seeds.exit(), seeds.out() + seeds.err());
        assertTrue(seeds.err().contains("--seeds must be at least 1"), seeds.err());
        var ratios = CliRunner.run("demo", "--ratios", "0.3,0.5,1.5", "--print-config");
        assertEquals(ExitCodes.USAGE, ratios.exit(), ratios.out() + ratios.err());
        assertTrue(ratios.err().contains("--ratios: value 3 (1.5) must be in (0, 1]"), ratios.err());
        var word = CliRunner.run("demo", "--ratios", "half", "--print-config");
        assertEquals(ExitCodes.USAGE, word.exit(), word.out() + word.err());
        assertTrue(word.err().contains("--ratios: value 1 'half' is not a number"), word.err());
    }

    @Test
    void ratios_becomeTheSelectionCurve_andADemoDefaultsToThreeSeeds() {
        var run = CliRunner.run("demo", "--print-config", "--ratios", "0.3,0.7,0.9");
        assertEquals(0, run.exit(), run.out() + run.err());
        PipelineConfig parsed = PipelineConfig.parse(Path.of("printed.json"), run.out());
        assertEquals(java.util.List.of(0.3, 0.5, 0.7, 0.9), parsed.selection().curveRatios());
        assertEquals(3, parsed.run().seeds());
    }

    @Test
    void printConfig_writesTheDemoConfigAsAValidFile() {
        var run = CliRunner.run("demo", "--print-config", "--scale", "2", "--seeds", "3", "--out", "x/run");
        assertEquals(0, run.exit(), run.out() + run.err());
        PipelineConfig parsed = PipelineConfig.parse(Path.of("printed.json"), run.out());
        PipelineConfig expected = PipelineConfig.demo(2, "x/run", 3);
        assertEquals(expected.withRun(new PipelineConfig.Run("x/run", 3, expected.run().seed(), 0, "cpu")), parsed);
        assertEquals(3, parsed.run().seeds());
        assertEquals(Math.round(2 * PipelineConfig.demo(1, "x", 1).teacher().steps()), parsed.teacher().steps());
    }
}
