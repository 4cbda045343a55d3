/*
 * Pipeline config parsing: defaults, unknown keys refused with file, line and the known keys, values out of
 * range refused with the key's line, and the demo config at several scales.
 */
package kd4j.distill.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import kd4j.train.ConfigFormatException;
import org.junit.jupiter.api.Test;

class PipelineConfigTest {
    static final Path FILE = Path.of("pipeline.json");

    @Test
    void emptyObject_takesEveryDefault() {
        PipelineConfig c = PipelineConfig.parse(FILE, "{}");
        assertEquals(0.5, c.selection().ratio());
        assertEquals(128, c.data().seq());
        assertEquals(10, c.data().holdOutEvery());
        assertEquals("llama", c.students().crossModel().family());
        assertEquals(352, c.students().crossModel().intermediate());      // 8/3 * 128 rounded up to 16
        assertEquals(c, PipelineConfig.parse(FILE, c.toJson()));        // toJson round-trips
    }

    @Test
    void unknownKey_isRefusedWithFileLineAndKnownKeys() {
        String text = "{\n  \"teacher\": {\n    \"steps\": 10,\n    \"stepz\": 20\n  }\n}\n";
        ConfigFormatException e = assertThrows(ConfigFormatException.class, () -> PipelineConfig.parse(FILE, text));
        assertEquals(4, e.line());
        assertEquals("teacher.stepz", e.key());
        assertTrue(e.getMessage().startsWith("pipeline.json:4:"), e.getMessage());
        assertTrue(e.getMessage().contains("unknown key \"stepz\"") && e.getMessage().contains("steps"), e.getMessage());
    }

    @Test
    void unknownTopLevelSection_isRefused() {
        ConfigFormatException e = assertThrows(ConfigFormatException.class,
                () -> PipelineConfig.parse(FILE, "{\"data\": {}, \"studnets\": {}}"));
        assertEquals(1, e.line());
        assertTrue(e.getMessage().contains("unknown key \"studnets\"") && e.getMessage().contains("students"), e.getMessage());
    }

    @Test
    void ratioOutsideUnitInterval_isRefusedAtItsLine() {
        String text = "{\n\"selection\": {\n  \"ratio\": 1.5\n}}";
        ConfigFormatException e = assertThrows(ConfigFormatException.class, () -> PipelineConfig.parse(FILE, text));
        assertEquals("selection.ratio", e.key());
        assertEquals(3, e.line());
        assertTrue(e.getMessage().contains("must be in (0, 1], got 1.5"), e.getMessage());
        assertThrows(ConfigFormatException.class, () -> PipelineConfig.parse(FILE, "{\"selection\": {\"ratio\": 0}}"));
    }

    @Test
    void curveRatioOutsideUnitInterval_isRefusedNamingFileLineAndPosition() {
        String text = "{\n\"selection\": {\n  \"ratio\": 0.5,\n  \"curve\": [0.3, 0.7, 1.2]\n}}";
        ConfigFormatException e = assertThrows(ConfigFormatException.class, () -> PipelineConfig.parse(FILE, text));
        assertEquals("selection.curve", e.key());
        assertEquals(4, e.line());
        assertTrue(e.getMessage().startsWith("pipeline.json:4:"), e.getMessage());
        assertTrue(e.getMessage().contains("ratio 3 of the list must be in (0, 1], got 1.2"), e.getMessage());
        PipelineConfig ok = PipelineConfig.parse(FILE, "{\"selection\": {\"ratio\": 0.5, \"curve\": [0.9, 0.3, 0.5]}}");
        assertEquals(java.util.List.of(0.3, 0.5, 0.9), ok.selection().curveRatios());
    }

    @Test
    void outOfDomainCorpusAlsoTrainedOn_isRefused() {
        ConfigFormatException e = assertThrows(ConfigFormatException.class, () -> PipelineConfig.parse(FILE,
                "{\"data\": {\"inputs\": [\"a.jsonl\"], \"outOfDomain\": [\"a.jsonl\"]}}"));
        assertEquals("data.outOfDomain", e.key());
        assertTrue(e.getMessage().contains("'a.jsonl' is also in data.inputs"), e.getMessage());
    }

    @Test
    void wrongTypeAndBadShapes_areRefused() {
        ConfigFormatException type = assertThrows(ConfigFormatException.class,
                () -> PipelineConfig.parse(FILE, "{\"teacher\": {\"steps\": \"many\"}}"));
        assertEquals("teacher.steps", type.key());
        ConfigFormatException heads = assertThrows(ConfigFormatException.class,
                () -> PipelineConfig.parse(FILE, "{\"teacher\": {\"model\": {\"hidden\": 100, \"heads\": 3}}}"));
        assertTrue(heads.getMessage().contains("3 heads do not divide hidden 100"), heads.getMessage());
        ConfigFormatException family = assertThrows(ConfigFormatException.class,
                () -> PipelineConfig.parse(FILE, "{\"students\": {\"crossModel\": {\"family\": \"gpt2\"}}}"));
        assertTrue(family.getMessage().contains("'gpt2' is not one of qwen2, llama, mamba"), family.getMessage());
        ConfigFormatException sameVocab = assertThrows(ConfigFormatException.class,
                () -> PipelineConfig.parse(FILE, "{\"tokenizer\": {\"vocabSize\": 3000, \"studentVocabSize\": 3000}}"));
        assertEquals("tokenizer.studentVocabSize", sameVocab.key());
    }

    @Test
    void demo_scalesStepsDataAndWidth() {
        PipelineConfig one = PipelineConfig.demo(1, "runs/demo", 1), four = PipelineConfig.demo(4, "runs/demo", 3);
        assertEquals(4 * one.teacher().steps(), four.teacher().steps());
        assertEquals(4 * one.data().charsPerDocument(), four.data().charsPerDocument());
        assertEquals(2 * one.teacher().model().hidden(), four.teacher().model().hidden());
        assertEquals(3, four.run().seeds());
        // The demo's config is a valid config file as it stands.
        assertEquals(one, PipelineConfig.parse(FILE, one.toJson()));
        assertThrows(IllegalArgumentException.class, () -> PipelineConfig.demo(0, "x", 1));
    }
}
