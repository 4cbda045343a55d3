/*
 * One fused multi-tensor AdamW launch (PackedParameters + Backend.adamwSteps on OpenCL: adamw_step_multi over a
 * table of offsets) is bit-identical to one adamw_step launch per tensor: three steps with fresh gradients each,
 * tensors of sizes that miss the work-group and the 16-element packing alignment, decayed and undecayed groups;
 * parameters and both moments compared bit for bit. Also: packing keeps the values, puts parameters, gradients
 * and moments in one storage each, and changes nothing on the CPU backend. OpenCL part runs on opencl:0 (PoCL in
 * CI) and is skipped with the install line when there is none.
 */
package kd4j.autograd.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import kd4j.autograd.PackedParameters;
import kd4j.autograd.Parameter;
import kd4j.tensor.Backend;
import kd4j.tensor.Backends;
import kd4j.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class FusedAdamWTest {
    private static final int[][] SHAPES = {{1}, {7}, {3, 11}, {1000}, {17, 241}, {5}};

    private static List<Parameter> parameters(Backend be, long seed) {
        Random r = new Random(seed);
        List<Parameter> out = new ArrayList<>();
        for (int i = 0; i < SHAPES.length; i++) {
            float[] v = new float[Math.toIntExact(Tensor.numel(SHAPES[i]))];
            for (int j = 0; j < v.length; j++) v[j] = (float) r.nextGaussian();
            out.add(new Parameter("p" + i, be.fromFloats(v, SHAPES[i]), i % 2 == 0 ? Parameter.Group.DECAY : Parameter.Group.NO_DECAY));
        }
        return out;
    }

    /** Three AdamW steps with the same fresh gradients on both parameter sets. */
    private static void train(List<Parameter> a, AdamW oa, List<Parameter> b, AdamW ob) {
        Random r = new Random(9);
        for (int step = 1; step <= 3; step++) {
            for (int i = 0; i < a.size(); i++) {
                float[] g = new float[Math.toIntExact(a.get(i).data().numel())];
                for (int j = 0; j < g.length; j++) g[j] = (float) (r.nextGaussian() * (step == 2 ? 1e-3 : 1));
                a.get(i).backend().copyIn(a.get(i).gradOrZeros(), MemorySegment.ofArray(g));
                b.get(i).backend().copyIn(b.get(i).gradOrZeros(), MemorySegment.ofArray(g));
            }
            oa.step();
            ob.step();
        }
    }

    private static void assertBitIdentical(String what, List<Parameter> a, AdamW oa, List<Parameter> b, AdamW ob) {
        for (int i = 0; i < a.size(); i++)
            assertArrayEquals(bits(a.get(i).data()), bits(b.get(i).data()), what + ": parameter " + a.get(i).name());
        Map<String, Tensor> sa = oa.state(), sb = ob.state();
        for (String k : sa.keySet())
            if (!k.equals("step")) assertArrayEquals(bits(sa.get(k)), bits(sb.get(k)), what + ": " + k);
    }

    private static int[] bits(Tensor t) {
        float[] f = t.toFloatArray();
        int[] out = new int[f.length];
        for (int i = 0; i < f.length; i++) out[i] = Float.floatToRawIntBits(f[i]);
        return out;
    }

    @Test
    void oneLaunchForAllTensors_isBitIdenticalToOneLaunchPerTensor() {
        Backend cl;
        try {
            cl = Backends.open("opencl");
        } catch (RuntimeException e) {
            Assumptions.abort("OpenCL unavailable (" + e.getMessage() + "); install one with: "
                    + "sudo apt-get install pocl-opencl-icd ocl-icd-libopencl1");
            return;
        }
        try (cl) {
            List<Parameter> fused = parameters(cl, 4), perTensor = parameters(cl, 4);
            float[][] before = new float[fused.size()][];
            for (int i = 0; i < fused.size(); i++) before[i] = fused.get(i).data().toFloatArray();
            assertEquals(fused.size(), PackedParameters.pack(fused));
            for (int i = 0; i < fused.size(); i++) {
                assertArrayEquals(before[i], fused.get(i).data().toFloatArray(), "packing keeps " + fused.get(i).name());
                assertEquals(0, fused.get(i).data().offset() % PackedParameters.ALIGN, "aligned offset");
            }
            List<Tensor> data = new ArrayList<>(), grads = new ArrayList<>();
            for (Parameter p : fused) { data.add(p.data()); grads.add(p.gradOrZeros()); }
            assertTrue(PackedParameters.shareStorage(data) && PackedParameters.shareStorage(grads), "one storage each");
            AdamW fa = new AdamW(fused, 1e-2, 0.9, 0.999, 1e-8, 0.1), pa = new AdamW(perTensor, 1e-2, 0.9, 0.999, 1e-8, 0.1);
            List<Tensor> moments = new ArrayList<>(), separate = new ArrayList<>();
            fa.state().forEach((k, t) -> { if (k.endsWith(".exp_avg")) moments.add(t); });
            pa.state().forEach((k, t) -> { if (k.endsWith(".exp_avg")) separate.add(t); });
            assertTrue(PackedParameters.shareStorage(moments), "packed parameters get packed moments");
            assertFalse(PackedParameters.shareStorage(separate), "unpacked parameters keep one buffer per moment");
            train(fused, fa, perTensor, pa);
            assertBitIdentical("opencl fused vs per tensor", fused, fa, perTensor, pa);
        }
    }

    @Test
    void packingChangesNothingOnTheCpuBackend() {
        Backend cpu = Backends.cpu();
        List<Parameter> packed = parameters(cpu, 6), plain = parameters(cpu, 6);
        PackedParameters.pack(packed);
        AdamW a = new AdamW(packed, 1e-2, 0.05), b = new AdamW(plain, 1e-2, 0.05);
        train(packed, a, plain, b);
        assertBitIdentical("cpu packed vs plain", packed, a, plain, b);
    }
}
