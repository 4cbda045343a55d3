package kd4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TaskBuilderTest {
    @TempDir Path dir;

    @Test
    void sentences_splitAtSentenceEnds_notAtInitialsOrAbbreviations() {
        assertEquals(List.of("Call me Ishmael.", "Some years ago, never mind how long!", "\"Why?\" he asked.",
                        "Harry S. Truman met Mr. Smith at 3 p.m. today."),
                TaskBuilder.sentences("Call me Ishmael.  Some years ago,\nnever mind how long! \"Why?\" he asked. "
                        + "Harry S. Truman met Mr. Smith at 3 p.m. today."));
    }

    @Test
    void shippedTask_isWhatTheBuilderWritesFromTheBundledCorpus() throws Exception {
        String fixtures = System.getProperty("kd4j.fixtures", System.getenv("KD4J_FIXTURES"));
        Path corpora = fixtures == null ? null : Path.of(fixtures).resolveSibling("corpora");
        Assumptions.assumeTrue(corpora != null && Files.exists(corpora.resolve("sotu.jsonl.gz")),
                "bundled corpora not found at " + corpora + "; set KD4J_FIXTURES");
        Path shipped = Path.of(System.getProperty("user.dir")).resolveSibling("corpora").resolve("tasks/next-sentence.jsonl");
        Assumptions.assumeTrue(Files.exists(shipped), "shipped task not found at " + shipped);
        List<MultipleChoiceEval.Example> built = TaskBuilder.build(
                List.of(corpora.resolve("sotu.jsonl.gz"), corpora.resolve("moby-dick.jsonl.gz")), "text",
                TaskBuilder.Options.defaults());
        Path out = dir.resolve("task.jsonl");
        TaskBuilder.write(built, out);
        assertEquals(Files.readString(shipped), Files.readString(out));
        List<MultipleChoiceEval.Example> read = MultipleChoiceEval.read(shipped);
        assertEquals(500, read.size());
        int[] goldAt = new int[4];
        for (MultipleChoiceEval.Example e : read) {
            assertEquals(4, e.choices().size());
            assertEquals(4, new HashSet<>(e.choices()).size(), e.id());
            goldAt[e.gold()]++;
        }
        // The gold choice is spread over all positions (shuffled), roughly 125 each.
        for (int g : goldAt) assertTrue(g > 80 && g < 170, java.util.Arrays.toString(goldAt));
    }
}
