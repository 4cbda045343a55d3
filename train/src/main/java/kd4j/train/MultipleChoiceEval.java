/*
 * Zero-shot multiple-choice evaluation in the style of lm-evaluation-harness: each choice is scored by the
 * log-likelihood of its tokens as a continuation of the context; the prediction is the most likely choice
 * (accuracy "acc") or the most likely per character of the choice ("acc_norm", the harness's length
 * normalisation). Task file: JSONL, one {"context": str, "choices": [str, ...], "gold": index, "id"?: str} per
 * line. Continuation tokens are taken as the harness does: encode(context + choice) minus encode(context), with
 * trailing spaces of the context moved to the choice.
 */
package kd4j.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import kd4j.models.CausalLM;
import kd4j.tokenizers.Tokenizer;

public final class MultipleChoiceEval {
    private static final ObjectMapper JSON = new ObjectMapper();

    public record Example(String id, String context, List<String> choices, int gold) {}

    /** Per example: the log-likelihood of each choice and the two predictions. */
    public record ExampleResult(Example example, double[] logLikelihoods, int predicted, int predictedNorm) {
        public boolean correct() { return predicted == example.gold(); }
        public boolean correctNorm() { return predictedNorm == example.gold(); }
    }

    public record Result(List<ExampleResult> examples) {
        public int size() { return examples.size(); }
        /** acc: share of examples whose most likely choice is the gold one. */
        public double accuracy() { return examples.stream().filter(ExampleResult::correct).count() / (double) size(); }
        /** acc_norm: the same with each log-likelihood divided by the choice's length in characters. */
        public double accuracyNorm() {
            return examples.stream().filter(ExampleResult::correctNorm).count() / (double) size();
        }
        /** Standard error of a proportion, sqrt(p(1-p)/(n-1)), as the harness reports it. */
        public static double stderr(double p, int n) { return n < 2 ? Double.NaN : Math.sqrt(p * (1 - p) / (n - 1)); }
    }

    private final CausalLM model;
    private final Tokenizer tokenizer;
    private final SequenceScorer scorer;
    private final int maxLength;

    /** maxLength: longest sequence fed to the model (longer contexts are cut from the left). */
    public MultipleChoiceEval(CausalLM model, Tokenizer tokenizer, int maxLength, int batchSize) {
        if (maxLength < 2) throw new IllegalArgumentException("maxLength must be >= 2, got " + maxLength);
        this.model = model;
        this.tokenizer = tokenizer;
        this.scorer = new SequenceScorer(model, batchSize);
        this.maxLength = maxLength;
    }

    public Result evaluate(List<Example> examples) {
        List<ExampleResult> out = new ArrayList<>();
        for (Example e : examples) {
            List<int[]> seqs = new ArrayList<>();
            int[] continuationLengths = new int[e.choices().size()];
            for (int c = 0; c < e.choices().size(); c++) {
                int[][] parts = split(e.context(), e.choices().get(c));
                int[] ctx = parts[0], cont = parts[1];
                if (cont.length == 0)
                    throw new IllegalArgumentException("example " + e.id() + ", choice " + c + ": \""
                            + e.choices().get(c) + "\" encodes to no tokens");
                int[] whole = new int[ctx.length + cont.length];
                System.arraycopy(ctx, 0, whole, 0, ctx.length);
                System.arraycopy(cont, 0, whole, ctx.length, cont.length);
                // Keep the last maxLength + 1 tokens: the model sees maxLength inputs.
                if (whole.length > maxLength + 1) whole = Arrays.copyOfRange(whole, whole.length - maxLength - 1, whole.length);
                if (cont.length > whole.length - 1)
                    throw new IllegalArgumentException("example " + e.id() + ", choice " + c + " has " + cont.length
                            + " tokens, more than the model's context of " + maxLength);
                seqs.add(whole);
                continuationLengths[c] = cont.length;
            }
            double[][] nll = scorer.score(seqs);
            double[] ll = new double[seqs.size()];
            int best = 0, bestNorm = 0;
            double bestNormValue = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < seqs.size(); c++) {
                double sum = 0;
                for (int k = nll[c].length - continuationLengths[c]; k < nll[c].length; k++) sum -= nll[c][k];
                ll[c] = sum;
                if (sum > ll[best]) best = c;
                String choice = e.choices().get(c);
                double norm = sum / Math.max(1, choice.codePointCount(0, choice.length()));
                if (norm > bestNormValue) { bestNormValue = norm; bestNorm = c; }
            }
            out.add(new ExampleResult(e, ll, best, bestNorm));
        }
        return new Result(out);
    }

    /** Context ids (with a leading BOS/EOS when the context is empty or the tokenizer uses BOS) and choice ids. */
    int[][] split(String context, String choice) {
        int spaces = context.length() - context.stripTrailing().length();
        if (spaces > 0) {
            choice = context.substring(context.length() - spaces) + choice;
            context = context.substring(0, context.length() - spaces);
        }
        int[] ctx = tokenizer.encode(context);
        int[] whole = tokenizer.encode(context + choice);
        int[] cont = Arrays.copyOfRange(whole, Math.min(ctx.length, whole.length), whole.length);
        int prefix = tokenizer.bosId() >= 0 ? tokenizer.bosId() : (ctx.length == 0 ? tokenizer.eosId() : -1);
        if (prefix < 0 && ctx.length == 0) prefix = Evaluator.defaultPrefix(model);
        if (prefix >= 0) {
            int[] p = new int[ctx.length + 1];
            p[0] = prefix;
            System.arraycopy(ctx, 0, p, 1, ctx.length);
            ctx = p;
        }
        if (ctx.length == 0)
            throw new IllegalArgumentException("an empty context needs a BOS or EOS token to condition on; "
                    + "the tokenizer and model define neither");
        return new int[][] {ctx, cont};
    }

    // ==== task files ====

    /** Reads a JSONL task (.gz too); every problem names the file and line. */
    public static List<Example> read(Path file) throws IOException {
        List<Example> out = new ArrayList<>();
        for (TaskFiles.Line l : TaskFiles.lines(file)) {
            JsonNode n = l.json();
            String where = file + ":" + l.number() + ": ";
            JsonNode context = n.get("context"), choices = n.get("choices"), gold = n.get("gold");
            if (context == null || !context.isTextual())
                throw new IOException(where + "expected a string field \"context\"" + TaskFiles.fields(n));
            if (choices == null || !choices.isArray() || choices.size() < 2)
                throw new IOException(where + "expected \"choices\": an array of at least 2 strings" + TaskFiles.fields(n));
            List<String> cs = new ArrayList<>();
            for (int c = 0; c < choices.size(); c++) {
                if (!choices.get(c).isTextual())
                    throw new IOException(where + "choices[" + c + "] is not a string: " + choices.get(c));
                cs.add(choices.get(c).asText());
            }
            if (gold == null || !gold.isInt() || gold.asInt() < 0 || gold.asInt() >= cs.size())
                throw new IOException(where + "expected \"gold\": an index in [0, " + cs.size() + "), found "
                        + (gold == null ? "none" : gold.toString()));
            String id = n.hasNonNull("id") ? n.get("id").asText() : file.getFileName() + ":" + l.number();
            out.add(new Example(id, context.asText(), List.copyOf(cs), gold.asInt()));
        }
        return out;
    }

    static String toJsonLine(Example e) {
        ObjectNode n = JSON.createObjectNode();
        n.put("id", e.id()).put("context", e.context());
        var arr = n.putArray("choices");
        for (String c : e.choices()) arr.add(c);
        n.put("gold", e.gold());
        try {
            return JSON.writeValueAsString(n);
        } catch (JsonProcessingException ex) {
            throw new IllegalStateException(ex);
        }
    }
}
