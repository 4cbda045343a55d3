/*
 * A model that computes NaN stops eval at the first non-finite log-probability, naming the document (or the
 * validation instance) and the position (issue #18). The NaN is planted in one token's embedding row of an untied
 * model, so only instances holding that token go bad. (Score, cache-logits and online KD: distill's
 * NonFiniteResultsTest.)
 */
package kd4j.train;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import kd4j.autograd.Parameter;
import kd4j.models.CausalLM;
import kd4j.models.Models;
import kd4j.tensor.Backend;
import kd4j.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class NonFiniteEvalTest {
    private static final int BAD_TOKEN = 7;
    private final Backend be = new CpuBackend(1);

    @AfterEach
    void close() { be.close(); }

    @Test
    void eval_stopsNamingTheDocument() {
        CausalLM m = Models.randomInit(Models.parseConfig(TestModels.TINY_QWEN2.replace("\"tie_word_embeddings\": true",
                "\"tie_word_embeddings\": false"), Path.of("untied.json")), be, 3);
        for (Parameter p : m.parameters().all())
            if (p.name().equals("model.embed_tokens.weight")) {
                float[] w = p.data().toFloatArray();
                int hidden = p.data().dim(1);
                for (int c = 0; c < hidden; c++) w[BAD_TOKEN * hidden + c] = Float.NaN;
                be.copy(be.fromFloats(w, p.data().shape()), p.data());
            }
        // six instances of 9 tokens avoiding BAD_TOKEN, except instance 3, which holds it at position 5
        List<int[]> inst = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            int[] s = new int[9];
            for (int t = 0; t < s.length; t++) s[t] = 10 + (i * 5 + t * 3) % 50;
            if (i == 3) s[5] = BAD_TOKEN;
            inst.add(s);
        }
        List<Evaluator.Document> docs = new ArrayList<>();
        for (int i = 0; i < inst.size(); i++) docs.add(new Evaluator.Document("doc-" + i, inst.get(i)));
        Evaluator ev = new Evaluator(m, 8, 2, -1);
        var e = assertThrows(NonFiniteResultException.class, () -> ev.evaluate(docs));
        assertTrue(e.getMessage().startsWith("document 'doc-3', position 5: the model's log-probability is NaN"), e.getMessage());
        var v = assertThrows(NonFiniteResultException.class, () -> ev.meanLoss(inst));
        assertTrue(v.getMessage().startsWith("validation instance 3, position 5"), v.getMessage());
    }
}
