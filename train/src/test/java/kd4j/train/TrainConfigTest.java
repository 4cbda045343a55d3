package kd4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainConfigTest {
    @TempDir Path dir;

    private Path write(String json) throws Exception {
        Path f = dir.resolve("run.json");
        Files.writeString(f, json);
        return f;
    }

    @Test
    void file_fillsRecords_andMissingKeysTakeDefaults() throws Exception {
        Path f = write("""
                {
                  "model": {"config": "models/tiny"},
                  "data": {"train": "data/sotu", "seqLength": 128, "batchSize": 4, "gradAccum": 2},
                  "optimizer": {"lr": 0.001},
                  "schedule": {"kind": "wsd", "warmupSteps": 10},
                  "run": {"maxSteps": 200, "seed": 7}
                }
                """);
        TrainConfig c = TrainConfig.load(f, Map.of());
        assertEquals("models/tiny", c.model().config());
        assertEquals(128, c.data().seqLength());
        assertEquals(2, c.data().gradAccum());
        assertEquals(0.001, c.optimizer().lr());
        assertEquals(0.1, c.optimizer().weightDecay());          // default
        assertEquals(TrainConfig.ScheduleKind.WSD, c.schedule().kind());
        assertEquals(200L, c.totalSteps());
        assertEquals(128L * 4 * 2, c.tokensPerStep());
        assertEquals(7L, c.run().seed());
        // The written form parses back to the same records.
        assertEquals(c, TrainConfig.parse(f, c.toJson()));
    }

    @Test
    void overrides_replaceFileValues_andCoerceStrings() throws Exception {
        Path f = write("{\"model\": {\"config\": \"m\"}, \"run\": {\"maxSteps\": 10}}");
        TrainConfig c = TrainConfig.load(f, Map.of("data.batchSize", "16", "schedule.kind", "constant",
                "run.maxSteps", "0", "run.maxTokens", "100000"));
        assertEquals(16, c.data().batchSize());
        assertEquals(TrainConfig.ScheduleKind.CONSTANT, c.schedule().kind());
        // maxTokens 100000 at 16 x 256 tokens per step: ceil(100000 / 4096) = 25 steps.
        assertEquals(25L, c.totalSteps());
    }

    @Test
    void unknownKey_namesFileLineKey_andSuggests() throws Exception {
        Path f = write("""
                {
                  "model": {"config": "m"},
                  "optimizer": {
                    "lr": 0.001,
                    "wieghtDecay": 0.1
                  },
                  "run": {"maxSteps": 10}
                }
                """);
        ConfigFormatException e = assertThrows(ConfigFormatException.class, () -> TrainConfig.load(f, Map.of()));
        assertEquals(5, e.line());
        assertEquals("optimizer.wieghtDecay", e.key());
        assertTrue(e.getMessage().startsWith(f + ":5:"), e.getMessage());
        assertTrue(e.getMessage().contains("did you mean \"weightDecay\"?"), e.getMessage());
    }

    @Test
    void unknownSection_andUnknownOverride_areErrors() throws Exception {
        Path f = write("{\n \"model\": {\"config\": \"m\"},\n \"trainer\": {}\n}\n");
        ConfigFormatException e = assertThrows(ConfigFormatException.class, () -> TrainConfig.load(f, Map.of()));
        assertEquals(3, e.line());
        assertEquals("trainer", e.key());
        Path g = write("{\"model\": {\"config\": \"m\"}, \"run\": {\"maxSteps\": 1}}");
        ConfigFormatException o = assertThrows(ConfigFormatException.class,
                () -> TrainConfig.load(g, Map.of("data.batchsize", "4")));
        assertEquals("command line: \"data.batchsize\": unknown key (did you mean \"data.batchSize\"?)", o.getMessage());
    }

    @Test
    void wrongType_andOutOfRange_nameLineAndKey() throws Exception {
        Path f = write("{\n \"model\": {\"config\": \"m\"},\n \"data\": {\"batchSize\": \"four\"},\n \"run\": {\"maxSteps\": 1}\n}\n");
        ConfigFormatException e = assertThrows(ConfigFormatException.class, () -> TrainConfig.load(f, Map.of()));
        assertEquals(3, e.line());
        assertEquals("data.batchSize", e.key());
        assertTrue(e.getMessage().contains("expected an integer, found \"four\""), e.getMessage());

        Path g = write("{\n \"model\": {\"config\": \"m\"},\n \"run\": {\"maxSteps\": 1},\n \"schedule\": {\n  \"kind\": \"linear\"\n }\n}\n");
        ConfigFormatException k = assertThrows(ConfigFormatException.class, () -> TrainConfig.load(g, Map.of()));
        assertEquals(5, k.line());
        assertTrue(k.getMessage().contains("one of cosine, wsd, constant"), k.getMessage());

        Path h = write("{\n \"model\": {\"config\": \"m\"},\n \"run\": {\"maxSteps\": 1},\n \"optimizer\": {\"beta2\": 1.5}\n}\n");
        ConfigFormatException r = assertThrows(ConfigFormatException.class, () -> TrainConfig.load(h, Map.of()));
        assertEquals(h + ":4:16: \"optimizer.beta2\": must be in [0, 1), got 1.5", r.getMessage());
    }

    @Test
    void missingModelOrBudget_isExplained() throws Exception {
        Path f = write("{\"run\": {\"maxSteps\": 5}}");
        ConfigFormatException e = assertThrows(ConfigFormatException.class, () -> TrainConfig.load(f, Map.of()));
        assertEquals("model", e.key());
        Path g = write("{\"model\": {\"init\": \"x\"}}");
        ConfigFormatException b = assertThrows(ConfigFormatException.class, () -> TrainConfig.load(g, Map.of()));
        assertTrue(b.getMessage().contains("set a budget"), b.getMessage());
    }

    @Test
    void notJson_reportsPosition() throws Exception {
        Path f = write("{\n \"model\": {\"config\": \"m\",}\n}\n");
        ConfigFormatException e = assertThrows(ConfigFormatException.class, () -> TrainConfig.load(f, Map.of()));
        assertEquals(2, e.line());
        assertTrue(e.getMessage().contains("not valid JSON"), e.getMessage());
    }

    @Test
    void editDistance_isLevenshtein() {
        assertEquals(3, TrainConfig.editDistance("kitten", "sitting"));
        assertEquals(0, TrainConfig.editDistance("lr", "lr"));
        assertEquals("", TrainConfig.didYouMean("completelyDifferent", java.util.List.of("lr", "eps")));
    }
}
