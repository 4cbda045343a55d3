package kd4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import kd4j.tensor.Backend;
import kd4j.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MultipleChoiceEvalTest {
    private final Backend be = new CpuBackend(1);
    @TempDir Path dir;

    @AfterEach
    void close() { be.close(); }

    private static int id(char c) { return TestModels.CharTokenizer.id(c); }

    /**
     * A bigram table where, after ' ', 'x' is likely (logit 5) and 'y' less so (3), and 'y' repeats (5).
     * Example 1 (gold " yyyy"): acc picks the short " x" (sum log p higher), acc_norm the long gold (per char).
     * Example 2 (gold " x"): both pick " x" over " z".
     */
    @Test
    void handMadeTask_givesKnownAccuracies() throws IOException {
        var tok = new TestModels.CharTokenizer();
        int v = tok.vocabSize();
        double[][] table = new double[v][v];
        table[id(' ')][id('x')] = 5;
        table[id(' ')][id('y')] = 3;
        table[id('y')][id('y')] = 5;
        TestModels.TableLM model = new TestModels.TableLM(be, table, -1, 0);
        Path task = dir.resolve("task.jsonl");
        Files.writeString(task, """
                {"id": "long-gold", "context": "a", "choices": [" x", " yyyy"], "gold": 1}

                {"context": "b ", "choices": ["x", "z"], "gold": 0}
                """);
        List<MultipleChoiceEval.Example> examples = MultipleChoiceEval.read(task);
        assertEquals("task.jsonl:3", examples.get(1).id());
        MultipleChoiceEval.Result r = new MultipleChoiceEval(model, tok, 16, 4).evaluate(examples);

        double c = model.logProb(id('a'), id(' '));
        double[] expected1 = {c + model.logProb(id(' '), id('x')),
                c + model.logProb(id(' '), id('y')) + 3 * model.logProb(id('y'), id('y'))};
        assertArrayEquals(expected1, r.examples().get(0).logLikelihoods(), 1e-5);
        assertEquals(0, r.examples().get(0).predicted());
        assertEquals(1, r.examples().get(0).predictedNorm());
        // The context's trailing space moves into the continuation, as lm-evaluation-harness does.
        double c2 = model.logProb(id('b'), id(' '));
        assertArrayEquals(new double[] {c2 + model.logProb(id(' '), id('x')), c2 + model.logProb(id(' '), id('z'))},
                r.examples().get(1).logLikelihoods(), 1e-5);
        assertEquals(0.5, r.accuracy());
        assertEquals(1.0, r.accuracyNorm());
    }

    @Test
    void badTaskLines_nameFileAndLine() throws IOException {
        Path task = dir.resolve("bad.jsonl");
        Files.writeString(task, "{\"context\": \"a\", \"choices\": [\"x\", \"y\"], \"gold\": 0}\n"
                + "{\"ctx\": \"a\", \"choices\": [\"x\", \"y\"], \"gold\": 0}\n");
        IOException e = assertThrows(IOException.class, () -> MultipleChoiceEval.read(task));
        assertEquals(task + ":2: expected a string field \"context\" (fields: ctx, choices, gold)", e.getMessage());
        Files.writeString(task, "{\"context\": \"a\", \"choices\": [\"x\", \"y\"], \"gold\": 2}\n");
        e = assertThrows(IOException.class, () -> MultipleChoiceEval.read(task));
        assertTrue(e.getMessage().startsWith(task + ":1: expected \"gold\": an index in [0, 2), found 2"), e.getMessage());
    }
}
