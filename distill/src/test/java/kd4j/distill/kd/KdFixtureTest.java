/*
 * Every KD loss case of the kd/ fixtures (PyTorch, float64): the loss, its per-token values and the gradient
 * w.r.t. the student logits, plus the top-k / top-p-k truncation ids and counts. Cases are read from
 * reference.json, never named here. Uses the fixture root (-Dkd4j.fixtures / KD4J_FIXTURES) when it has kd/,
 * else the copy bundled in src/test/resources, so it always runs.
 */
package kd4j.distill.kd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import kd4j.autograd.StepArena;
import kd4j.autograd.Tape;
import kd4j.autograd.Var;
import kd4j.autograd.ops.LossOps;
import kd4j.models.io.SafeTensors;
import kd4j.tensor.Backend;
import kd4j.tensor.Backends;
import kd4j.tensor.Tensor;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

class KdFixtureTest {
    static final double RTOL = 1e-5, ATOL = 1e-6;

    @TempDir
    static Path tmp;

    /** The kd/ fixture folder: the shared root when it has one, else the bundled copy. */
    static Path kdDir() throws IOException {
        String root = System.getProperty("kd4j.fixtures", System.getenv("KD4J_FIXTURES"));
        if (root != null && !root.isBlank() && Files.isRegularFile(Path.of(root, "kd", "reference.json")))
            return Path.of(root, "kd");
        Path dir = Files.createDirectories(tmp.resolve("kd"));
        for (String f : List.of("reference.json", "reference.safetensors"))
            try (InputStream in = KdFixtureTest.class.getResourceAsStream("/kd4j/kd/" + f)) {
                if (in == null) fail("bundled fixture /kd4j/kd/" + f + " is missing from src/test/resources");
                Files.copy(in, dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
        return dir;
    }

    record Fixture(JsonNode json, SafeTensors tensors, int batch, int seq, int vocab) {
        float[] floats(String name) {
            return tensors.bytes(name).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED);
        }

        long[] longs(String name) {
            return tensors.bytes(name).toArray(ValueLayout.JAVA_LONG_UNALIGNED);
        }

        int tokens() { return batch * seq; }
    }

    static Fixture load() throws IOException {
        Path dir = kdDir();
        JsonNode json = new ObjectMapper().readTree(dir.resolve("reference.json").toFile());
        JsonNode in = json.get("inputs");
        return new Fixture(json, SafeTensors.open(dir.resolve("reference.safetensors")), in.get("batch").asInt(),
                in.get("seq").asInt(), in.get("vocab").asInt());
    }

    /** Cached targets for a truncation: the fixture's kept ids with tau = 1 teacher probabilities. */
    static SparseTargets targets(Fixture f, String truncation, int topK) {
        long[] ids = f.longs(truncation + "_ids");
        float[] teacher = f.floats("teacher_logits");
        int n = f.tokens(), v = f.vocab();
        int[] id = new int[n * topK];
        float[] probs = new float[n * topK], left = new float[n];
        for (int r = 0; r < n; r++) {
            double max = Double.NEGATIVE_INFINITY, z = 0;
            for (int j = 0; j < v; j++) max = Math.max(max, teacher[r * v + j]);
            for (int j = 0; j < v; j++) z += Math.exp(teacher[r * v + j] - max);
            double kept = 0;
            for (int j = 0; j < topK; j++) {
                id[r * topK + j] = (int) ids[r * topK + j];
                if (id[r * topK + j] < 0) continue;
                double p = Math.exp(teacher[r * v + id[r * topK + j]] - max) / z;
                probs[r * topK + j] = (float) p;
                kept += p;
            }
            left[r] = (float) Math.max(0, 1 - kept);
        }
        return new SparseTargets(n, topK, id, probs, left, false);
    }

    @TestFactory
    Stream<DynamicTest> everyCase() throws IOException {
        Fixture f = load();
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : f.json().get("cases"))
            tests.add(DynamicTest.dynamicTest(c.get("name").asText(), () -> check(f, c)));
        assertFalse(tests.isEmpty(), "reference.json lists no cases");
        return tests.stream();
    }

    private static void check(Fixture f, JsonNode c) {
        Backend be = Backends.cpu();
        int b = f.batch(), t = f.seq(), v = f.vocab(), n = f.tokens();
        float tau = (float) c.path("tau").asDouble(1.0);
        boolean tau2 = c.path("tau2_scaled").asBoolean(false);
        Tensor teacher = be.fromFloats(f.floats("teacher_logits"), b, t, v);
        Var student = new Var(be.fromFloats(f.floats("student_logits"), b, t, v), true);
        int[] labels = new int[n];
        long[] l = f.longs("labels");
        for (int i = 0; i < n; i++) labels[i] = (int) l[i];
        try (var scope = new StepArena().activate()) {
            Var perToken = switch (c.get("kind").asText()) {
                case "forward_kl" -> KdObjective.dense(KdObjective.Divergence.FORWARD_KL, tau, tau2, 0, student, teacher);
                case "reverse_kl" -> KdObjective.dense(KdObjective.Divergence.REVERSE_KL, tau, tau2, 0, student, teacher);
                case "mse_logits" -> KdObjective.dense(KdObjective.Divergence.MSE, tau, tau2, 0, student, teacher);
                case "cross_entropy" -> LossOps.crossEntropyPerToken(student, be.fromInts(labels, n), -100);
                case "mix_ce_forward_kl" -> KdLoss.mix(LossOps.crossEntropyPerToken(student, be.fromInts(labels, n), -100),
                        KdObjective.dense(KdObjective.Divergence.FORWARD_KL, tau, tau2, 0, student, teacher),
                        c.get("alpha").asDouble());
                case "truncated_forward_kl" -> KdObjective.sparse(
                        "renorm".equals(c.get("student_side").asText()) ? KdObjective.TailMode.RENORMALIZE_BOTH
                                : KdObjective.TailMode.RENORMALIZE,
                        tau, tau2, student, targets(f, c.get("truncation").asText(), c.get("top_k").asInt()));
                default -> throw new AssertionError("unknown case kind " + c.get("kind") + " in reference.json");
            };
            String name = c.get("name").asText();
            assertClose(name + " per-token", f.floats(c.get("per_token").asText()), perToken.data().toFloatArray());
            Var loss = LossOps.mean(perToken);
            double value = c.get("value").asDouble();
            assertEquals(value, loss.data().item(), ATOL + RTOL * Math.abs(value), name + " loss");
            Tape.backward(loss);
            assertClose(name + " grad_student", f.floats(c.get("grad_student").asText()), student.grad().toFloatArray());
        }
    }

    static void assertClose(String what, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, what + ": length");
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs(expected[i] - actual[i]) - (ATOL + RTOL * Math.abs(expected[i]));
            if (d > worst || Double.isNaN(actual[i])) { worst = d; at = i; }
        }
        if (at >= 0) fail(what + ": first worst index " + at + ": expected " + expected[at] + ", got " + actual[at]);
    }

    @Test
    void truncation_reproducesFixtureIdsAndCounts() throws IOException {
        Fixture f = load();
        JsonNode params = f.json().get("params");
        int k = params.get("top_k").asInt(), v = f.vocab(), n = f.tokens();
        double p = params.get("top_p").asDouble();
        float[] teacher = f.floats("teacher_logits");
        long[] topk = f.longs("topk_ids"), toppk = f.longs("toppk_ids"), count = f.longs("toppk_count");
        TopPkLogits byK = new TopPkLogits(new TopPkLogits.Truncation.TopK(k), v);
        TopPkLogits byPk = new TopPkLogits(new TopPkLogits.Truncation.TopPK(p, k), v);
        int[] ids = new int[k];
        float[] probs = new float[k];
        JsonNode keptPerToken = f.json().get("kept_ids_per_token_toppk");
        for (int r = 0; r < n; r++) {
            assertEquals(k, byK.truncate(teacher, r * v, ids, probs, null));
            for (int j = 0; j < k; j++) assertEquals(topk[r * k + j], ids[j], "top-k token " + r + " rank " + j);
            int kept = byPk.truncate(teacher, r * v, ids, probs, null);
            assertEquals(count[r], kept, "top-p-k count of token " + r);
            assertEquals(keptPerToken.get(r).asInt(), kept, "kept_ids_per_token_toppk[" + r + "]");
            for (int j = 0; j < k; j++)
                assertEquals(toppk[r * k + j], j < kept ? ids[j] : -1, "top-p-k token " + r + " rank " + j);
            double sum = 0;
            for (int j = 0; j < kept; j++) sum += probs[j];
            assertTrue(sum <= 1 + 1e-6 && (kept == k || sum >= p), "kept mass " + sum + " of token " + r);
        }
    }
}
