/*
 * A whole training step on OpenCL equals the same step on the CPU backend: forward (with a padding mask), mean
 * cross-entropy, backward, AdamW, three steps in a row, for a Llama, a Qwen2 (q/k/v bias, tied embeddings) and a
 * Mamba model. Both sides start from the same weights (the CPU model's, uploaded), so every difference is
 * float rounding in the kernels. Tolerances: losses within 2e-5 relative; after step 1 every gradient within
 * 1e-4 absolute + 1e-3 relative of its largest element; after 3 steps every parameter within 5e-5 absolute
 * (AdamW at lr 1e-3 moves a weight by at most ~1e-3 per step, so a wrong kernel shows as ~1e-3).
 * Runs on opencl:0, PoCL in CI; skipped with the install line when no OpenCL platform is present.
 */
package kd4j.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Random;
import kd4j.autograd.Parameter;
import kd4j.autograd.StepArena;
import kd4j.autograd.Tape;
import kd4j.autograd.Var;
import kd4j.autograd.ops.LossOps;
import kd4j.autograd.optim.AdamW;
import kd4j.tensor.Backend;
import kd4j.tensor.Backends;
import kd4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class OpenClTrainingStepTest {
    private static final int BATCH = 2, SEQ = 13, STEPS = 3;
    private static Backend cl;

    @BeforeAll
    static void open() {
        String why = null;
        try {
            cl = Backends.open("opencl");
        } catch (RuntimeException e) {
            why = e.getMessage();
        }
        Assumptions.assumeTrue(why == null, "OpenCL unavailable (" + why + "); install one with: "
                + "sudo apt-get install pocl-opencl-icd ocl-icd-libopencl1");
    }

    @AfterAll
    static void close() { if (cl != null) cl.close(); }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "mamba"})
    void threeAdamWStepsMatchTheCpuBackend(String family) {
        ModelConfig cfg = TinyConfigs.parse(TinyConfigs.ALL.get(family));
        Backend cpu = Backends.cpu();
        CausalLM onCpu = Models.randomInit(cfg, cpu, 11), onCl = Models.randomInit(cfg, cl, 11);
        List<Parameter> pc = onCpu.parameters().all(), pg = onCl.parameters().all();
        assertEquals(pc.size(), pg.size(), family + ": parameter count");
        for (int i = 0; i < pc.size(); i++) {
            assertEquals(pc.get(i).name(), pg.get(i).name(), family + ": parameter order");
            cl.copyIn(pg.get(i).data(), MemorySegment.ofArray(pc.get(i).data().toFloatArray()));
        }

        Random r = new Random(3);
        int[] ids = new int[BATCH * SEQ], mask = new int[BATCH * SEQ];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt(cfg.vocabSize());
            mask[i] = i >= SEQ && i % SEQ >= SEQ - 4 ? 0 : 1;   // row 1 ends in 4 padding tokens
        }
        Step a = new Step(onCpu, ids, mask), b = new Step(onCl, ids, mask);
        for (int s = 1; s <= STEPS; s++) {
            double la = a.run(), lb = b.run();
            assertEquals(la, lb, 2e-5 * Math.abs(la), family + ": loss of step " + s);
            if (s == 1) {
                for (int i = 0; i < pc.size(); i++) {
                    float[] ga = pc.get(i).grad().toFloatArray(), gb = pg.get(i).grad().toFloatArray();
                    double scale = 0;
                    for (float g : ga) scale = Math.max(scale, Math.abs(g));
                    double err = maxAbsDiff(ga, gb);
                    assertTrue(err <= 1e-4 + 1e-3 * scale, family + ": gradient of " + pc.get(i).name()
                            + " differs by " + err + " (largest element " + scale + ")");
                }
            }
            a.update();
            b.update();
        }
        double worst = 0;
        String where = "";
        for (int i = 0; i < pc.size(); i++) {
            double err = maxAbsDiff(pc.get(i).data().toFloatArray(), pg.get(i).data().toFloatArray());
            if (err > worst) { worst = err; where = pc.get(i).name(); }
        }
        assertTrue(worst <= 5e-5, family + ": after " + STEPS + " steps " + where + " differs by " + worst);
    }

    /** One model's training loop state: the batch on its backend, its optimizer and step arena. */
    private static final class Step {
        final CausalLM model;
        final Tensor ids, mask, targets;
        final AdamW optimizer;
        final StepArena arena = new StepArena();

        Step(CausalLM model, int[] ids, int[] mask) {
            this.model = model;
            Backend be = model.backend();
            this.ids = be.fromInts(ids, BATCH, SEQ);
            this.mask = be.fromInts(mask, BATCH, SEQ);
            this.targets = NextTokenBatch.targetsOf(this.ids, this.mask);
            this.optimizer = new AdamW(model.parameters().all(), 1e-3, 0.1);
        }

        /** Forward + backward; leaves the gradients in place and returns the loss. */
        double run() {
            model.parameters().zeroGrad();
            try (var scope = arena.activate()) {
                Var loss = LossOps.crossEntropy(model.forward(ids, mask), targets, NextTokenBatch.IGNORE);
                Tape.backward(loss);
                return loss.data().item(new long[loss.data().rank()]);
            }
        }

        void update() {
            arena.reset();
            optimizer.step();
        }
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs((double) a[i] - b[i]));
        return m;
    }
}
