package kd4j.distill.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import kd4j.train.Evaluator;
import org.junit.jupiter.api.Test;

class EvaluationTest {
    /** By hand: speeches 10 + 20 nats over 4 + 6 tokens = 3.0; mail 3 nats over 2 tokens = 1.5; overall 33 / 12. */
    @Test
    void inDomainLossByDomain_sumsEachDomainsNatsOverItsTokens() {
        var docs = List.of(new Evaluator.DocumentLoss("s1", 4, 10), new Evaluator.DocumentLoss("m1", 2, 3),
                new Evaluator.DocumentLoss("s2", 6, 20));
        ObjectNode inDomain = JsonNodeFactory.instance.objectNode();
        Evaluation.byDomain(new Evaluator.Report(docs, 12, 33), Map.of("s1", "speeches", "s2", "speeches", "m1", "mail"), inDomain);
        var by = inDomain.get("byDomain");
        assertEquals(List.of("speeches", "mail"), List.copyOf(iterable(by.fieldNames())));
        assertEquals(3.0, by.get("speeches").get("loss").asDouble(), 1e-15);
        assertEquals(10, by.get("speeches").get("tokens").asLong());
        assertEquals(2, by.get("speeches").get("documents").asLong());
        assertEquals(1.5, by.get("mail").get("loss").asDouble(), 1e-15);
        assertEquals(1, by.get("mail").get("documents").asLong());
    }

    @Test
    void aDocumentWithoutDomain_leavesNoSplit() {
        ObjectNode inDomain = JsonNodeFactory.instance.objectNode();
        Evaluation.byDomain(new Evaluator.Report(List.of(new Evaluator.DocumentLoss("s1", 4, 10),
                new Evaluator.DocumentLoss("x", 1, 1)), 5, 11), Map.of("s1", "speeches"), inDomain);
        assertFalse(inDomain.has("byDomain"));
    }

    private static <T> List<T> iterable(java.util.Iterator<T> it) {
        List<T> out = new java.util.ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
