/*
 * Checks a model against a reference file in the fixture format (reference.safetensors: input_ids, logits,
 * optional loss, hidden.*, grad.*, rope-free): runs the forward pass (and the backward when gradients are
 * listed) and reports the max error of each quantity against its tolerance. Used by `kd4j verify-model`; the
 * conformance tests assert the same quantities.
 */
package kd4j.models;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import kd4j.autograd.Parameter;
import kd4j.autograd.Tape;
import kd4j.autograd.Var;
import kd4j.autograd.ops.LossOps;
import kd4j.models.io.CheckpointFormatException;
import kd4j.models.io.SafeTensors;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;

public final class Verification {
    /** Tolerances: |diff| <= atol + rtol |ref| element-wise. */
    public record Tolerances(double logits, double loss, double gradAtol, double gradRtol, double bf16Logits) {
        public static Tolerances defaults() { return new Tolerances(1e-4, 1e-5, 1e-5, 1e-3, 0.5); }
    }

    /** One compared quantity: its max abs diff, and whether every element was within tolerance. */
    public record Result(String name, long count, double maxAbsDiff, String tolerance, boolean ok) {}

    private Verification() {}

    public static List<Result> verify(Path modelDir, Path referenceFile, Backend be, Tolerances tol) {
        boolean half = modelHasHalfWeights(modelDir);   // the model first: it is the input a user names first
        CausalLM model = Models.load(modelDir, be, false);
        SafeTensors ref = SafeTensors.open(referenceFile);
        for (String required : List.of("input_ids", "logits"))
            if (!ref.contains(required))
                throw new CheckpointFormatException(referenceFile, "tensor '" + required + "'", "missing (a reference"
                        + " file needs input_ids [B, T] and logits [B, T, V])");
        Tensor ids = ref.load("input_ids", be, DType.I32);
        List<Var> hidden = new ArrayList<>();
        Var logits = model instanceof WithHiddenStates h ? h.forward(ids, null, hidden) : model.forward(ids, null);
        List<Result> results = new ArrayList<>();
        results.add(compare("logits", floats(ref, "logits", be), logits.data().toFloatArray(), tol.logits(), 0));
        if (ref.contains("logits_bf16"))
            results.add(compare("logits_bf16 (PyTorch bf16 compute)", floats(ref, "logits_bf16", be),
                    logits.data().toFloatArray(), tol.bf16Logits(), 0));
        if (!hidden.isEmpty()) {
            int layers = hidden.size() - 2;
            for (int i = 0; i < hidden.size(); i++) {
                String name = i == 0 ? "hidden.embeddings" : i <= layers ? "hidden.layer." + (i - 1) : "hidden.final_norm";
                if (ref.contains(name))
                    results.add(compare(name, floats(ref, name, be), hidden.get(i).data().toFloatArray(), tol.logits(), 0));
            }
        }
        Var loss = LossOps.crossEntropy(logits, NextTokenBatch.targetsOf(ids, null), NextTokenBatch.IGNORE);
        if (ref.contains("loss"))
            results.add(compare("loss", floats(ref, "loss", be), loss.data().toFloatArray(), tol.loss(), 0));
        boolean anyGrad = ref.names().stream().anyMatch(n -> n.startsWith("grad."));
        if (anyGrad && !half) {
            Tape.backward(loss);
            for (Parameter p : model.parameters().all()) {
                String name = "grad." + p.name();
                if (!ref.contains(name)) continue;
                float[] got = p.grad() == null ? new float[(int) p.data().numel()] : p.grad().toFloatArray();
                results.add(compare(name, floats(ref, name, be), got, tol.gradAtol(), tol.gradRtol()));
            }
        } else {
            Tape.current().clear();
        }
        return results;
    }

    private static boolean modelHasHalfWeights(Path dir) {
        Path single = dir.resolve("model.safetensors");
        if (!java.nio.file.Files.exists(single)) return false;
        SafeTensors st = SafeTensors.open(single);
        return st.names().stream().anyMatch(n -> st.entry(n).dtype() == DType.BF16 || st.entry(n).dtype() == DType.F16);
    }

    private static float[] floats(SafeTensors ref, String name, Backend be) {
        return ref.load(name, be, DType.F32).toFloatArray();
    }

    static Result compare(String name, float[] expected, float[] actual, double atol, double rtol) {
        if (expected.length != actual.length)
            return new Result(name + " (element count " + actual.length + " vs reference " + expected.length + ")",
                    expected.length, Double.POSITIVE_INFINITY, tolerance(atol, rtol), false);
        double max = 0;
        boolean ok = true;
        for (int i = 0; i < expected.length; i++) {
            double diff = Math.abs((double) expected[i] - actual[i]);
            if (!(diff <= max)) max = diff;
            if (!(diff <= atol + rtol * Math.abs(expected[i]))) ok = false;
        }
        return new Result(name, expected.length, max, tolerance(atol, rtol), ok);
    }

    private static String tolerance(double atol, double rtol) {
        return rtol == 0 ? String.format("%.0e", atol) : String.format("%.0e + %.0e|ref|", atol, rtol);
    }
}
