/*
 * Every model fixture (qwen2, qwen2-bf16, llama, mamba, ... discovered under fixtures/models) against its
 * references: logits, hidden states, the causal-LM loss, RoPE inv_freq and every weight gradient, with both
 * config layouts (config.json, config.legacy.json), on every test backend. The bundled fixtures always run (the
 * copy of qwen2, and the Qwen3 attention_bias pair from an independent PyTorch forward: see their README); the
 * shared set runs when -Dkd4j.fixtures / KD4J_FIXTURES points at it.
 */
package kd4j.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import kd4j.autograd.Parameter;
import kd4j.autograd.Tape;
import kd4j.autograd.Var;
import kd4j.autograd.ops.LossOps;
import kd4j.models.io.SafeTensors;
import kd4j.models.llama.LlamaModel;
import kd4j.models.mamba.MambaModel;
import kd4j.models.nn.Attention;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

class ModelConformanceTest {
    static final double LOGITS_TOL = 1e-4, LOSS_TOL = 1e-5, GRAD_ATOL = 1e-5, GRAD_RTOL = 1e-3;
    /** bf16 compute in PyTorch vs our fp32 compute on the same bf16 weights (README: max 0.115 here). */
    static final double BF16_TOL = 0.5;

    @TempDir Path tmp;

    @TestFactory
    Stream<DynamicTest> bundledFixtures() throws IOException {
        return cases(Fixtures.bundledModelDirs());
    }

    @TestFactory
    Stream<DynamicTest> sharedFixtures() throws IOException {
        Path root = Fixtures.sharedRoot();
        Assumptions.assumeTrue(root != null, Fixtures.describeShared());
        List<Path> dirs = Fixtures.modelDirs(root);
        assertFalse(dirs.isEmpty(), "no model fixtures under " + root.resolve("models"));
        return cases(dirs);
    }

    private Stream<DynamicTest> cases(List<Path> dirs) throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (Path dir : dirs)
            for (String config : List.of("config.json", "config.legacy.json")) {
                if (!Files.exists(dir.resolve(config))) continue;
                boolean half = isHalf(dir);
                for (Backend be : TestBackends.all()) {
                    String name = dir.getFileName() + " " + config + " on " + be.name();
                    tests.add(DynamicTest.dynamicTest(name, () -> check(Fixtures.withConfig(dir, config, tmp), dir, be, false)));
                    if (half)
                        tests.add(DynamicTest.dynamicTest(name + " (weights kept half)",
                                () -> check(Fixtures.withConfig(dir, config, tmp), dir, be, true)));
                }
            }
        return tests.stream();
    }

    private static boolean isHalf(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(f -> f.getFileName().toString().matches("model.*\\.safetensors")).toList()) {
                SafeTensors w = SafeTensors.open(f);
                if (w.names().stream().anyMatch(n -> w.entry(n).dtype() == DType.BF16 || w.entry(n).dtype() == DType.F16))
                    return true;
            }
        }
        return false;
    }

    /** Loads modelDir, runs forward + backward on the reference input ids, compares with reference.safetensors. */
    static void check(Path modelDir, Path fixtureDir, Backend be, boolean keepHalf) {
        SafeTensors ref = SafeTensors.open(fixtureDir.resolve("reference.safetensors"));
        CausalLM model = Models.load(modelDir, be, keepHalf);
        Tensor ids = ref.load("input_ids", be, DType.I32);
        int batch = ids.dim(0), time = ids.dim(1);

        List<Var> hidden = new ArrayList<>();
        Var logits = switch (model) {
            case LlamaModel m -> m.forward(ids, null, hidden);
            case MambaModel m -> m.forward(ids, null, hidden);
            default -> throw new AssertionError("unexpected model " + model);
        };
        String where = fixtureDir.getFileName() + (keepHalf ? " (half weights)" : "") + " on " + be.name();
        assertClose(where + " logits", ref.load("logits", be, DType.F32).toFloatArray(), logits.data().toFloatArray(),
                LOGITS_TOL, 0);
        if (ref.contains("logits_bf16"))
            assertClose(where + " logits vs PyTorch bf16 compute", ref.load("logits_bf16", be, DType.F32).toFloatArray(),
                    logits.data().toFloatArray(), BF16_TOL, 0);
        if (ref.contains("hidden.embeddings")) {
            assertClose(where + " hidden.embeddings", floats(ref, "hidden.embeddings", be), hidden.get(0).data().toFloatArray(), LOGITS_TOL, 0);
            for (int i = 0; ref.contains("hidden.layer." + i); i++)
                assertClose(where + " hidden.layer." + i, floats(ref, "hidden.layer." + i, be),
                        hidden.get(i + 1).data().toFloatArray(), LOGITS_TOL, 0);
            assertClose(where + " hidden.final_norm", floats(ref, "hidden.final_norm", be),
                    hidden.get(hidden.size() - 1).data().toFloatArray(), LOGITS_TOL, 0);
        }
        if (ref.contains("rope.inv_freq") && model instanceof LlamaModel m) {
            Attention attn = m.layer(0).attention();
            assertClose(where + " rope.inv_freq", floats(ref, "rope.inv_freq", be), attn.invFreq().toFloatArray(), 0, 1e-6);
        }

        Var loss = LossOps.crossEntropy(logits, NextTokenBatch.targetsOf(ids, null), NextTokenBatch.IGNORE);
        if (ref.contains("loss"))
            assertEquals(ref.load("loss", be, DType.F32).item(), loss.data().item(), LOSS_TOL, where + " loss");
        if (keepHalf) { Tape.current().clear(); return; }
        Tape.backward(loss);
        int grads = 0;
        for (Parameter p : model.parameters().all()) {
            String name = "grad." + p.name();
            if (!ref.contains(name)) continue;
            assertNotNull(p.grad(), where + ": no gradient reached " + p.name());
            assertClose(where + " " + name, floats(ref, name, be), p.grad().toFloatArray(), GRAD_ATOL, GRAD_RTOL);
            grads++;
        }
        long expected = ref.names().stream().filter(n -> n.startsWith("grad.")).count();
        assertEquals(expected, grads, where + ": every grad.* reference must match a parameter");
    }

    static float[] floats(SafeTensors ref, String name, Backend be) { return ref.load(name, be, DType.F32).toFloatArray(); }

    /** |actual - expected| <= atol + rtol |expected| everywhere; the message names the first bad index and the max diff. */
    static void assertClose(String what, float[] expected, float[] actual, double atol, double rtol) {
        assertEquals(expected.length, actual.length, what + ": element count");
        double maxDiff = 0;
        int firstBad = -1;
        for (int i = 0; i < expected.length; i++) {
            double diff = Math.abs((double) expected[i] - actual[i]);
            if (!(diff <= atol + rtol * Math.abs(expected[i])) && firstBad < 0) firstBad = i;
            if (!(diff <= maxDiff)) maxDiff = diff;
        }
        if (firstBad >= 0)
            throw new AssertionError(what + ": index " + firstBad + " expected " + expected[firstBad] + " got "
                    + actual[firstBad] + "; max abs diff " + maxDiff + " (atol " + atol + ", rtol " + rtol + ")");
    }

    @Test
    void bundledCopyMatchesSharedFixture() throws IOException {
        Path root = Fixtures.sharedRoot();
        Assumptions.assumeTrue(root != null, Fixtures.describeShared());
        Path shared = root.resolve("models/qwen2/model.safetensors");
        Assumptions.assumeTrue(Files.exists(shared), "no models/qwen2 in " + root);
        assertEquals(Files.size(shared), Files.size(Fixtures.bundledQwen2().resolve("model.safetensors")));
    }
}
