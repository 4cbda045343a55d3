/*
 * Minimal-pair evaluation, BLiMP's "simple LM method" (Warstadt et al. 2020): a pair is right when the whole good
 * sentence has a higher total log-probability than the bad one (summed over its tokens, the first token
 * conditioned on the tokenizer's BOS token, else its EOS token, as a document start is in training; no prompt).
 * Accuracy overall, per `field` and per `linguistics_term` (and per paradigm `UID`). Chance is 50%.
 * Task file: JSONL (.gz too), one {"sentence_good", "sentence_bad", "field"?, "linguistics_term"?, "UID"?,
 * "pairID"?} per line, the format of the BLiMP release; TaskFiles tells it apart from a multiple-choice task.
 */
package kd4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import kd4j.models.CausalLM;
import kd4j.tokenizers.Tokenizer;

public final class MinimalPairEval {
    /** One pair; field, term and paradigm are "" when the file has none. */
    public record Pair(String id, String good, String bad, String field, String term, String paradigm) {}

    /** A pair's two total log-probabilities (nats) and whether the good sentence won. */
    public record PairResult(Pair pair, double logProbGood, double logProbBad) {
        public boolean correct() { return logProbGood > logProbBad; }
    }

    /** Right and total pairs of one group. */
    public record Count(int right, int total) {
        public double accuracy() { return total == 0 ? Double.NaN : right / (double) total; }
    }

    public record Result(List<PairResult> pairs) {
        public int size() { return pairs.size(); }
        public double accuracy() { return pairs.stream().filter(PairResult::correct).count() / (double) size(); }
        /** Accuracy per field (morphology, syntax, semantics, syntax_semantics), sorted by name. */
        public Map<String, Count> byField() { return by(Pair::field); }
        /** Accuracy per linguistic phenomenon (BLiMP's 12 terms), sorted by name. */
        public Map<String, Count> byTerm() { return by(Pair::term); }
        /** Accuracy per paradigm (BLiMP's 67 UIDs), sorted by name. */
        public Map<String, Count> byParadigm() { return by(Pair::paradigm); }

        private Map<String, Count> by(Function<Pair, String> key) {
            Map<String, int[]> counts = new TreeMap<>();
            for (PairResult p : pairs) {
                int[] c = counts.computeIfAbsent(key.apply(p.pair()), k -> new int[2]);
                if (p.correct()) c[0]++;
                c[1]++;
            }
            Map<String, Count> out = new LinkedHashMap<>();
            counts.forEach((k, c) -> out.put(k, new Count(c[0], c[1])));
            return out;
        }
    }

    private final CausalLM model;
    private final Tokenizer tokenizer;
    private final SequenceScorer scorer;
    private final int maxLength;

    /** maxLength: the longest sequence the model reads; a longer sentence is an error, never cut. */
    public MinimalPairEval(CausalLM model, Tokenizer tokenizer, int maxLength, int batchSize) {
        if (maxLength < 1) throw new IllegalArgumentException("maxLength must be >= 1, got " + maxLength);
        this.model = model;
        this.tokenizer = tokenizer;
        this.scorer = new SequenceScorer(model, batchSize);
        this.maxLength = maxLength;
    }

    public Result evaluate(List<Pair> pairs) {
        List<int[]> seqs = new ArrayList<>(2 * pairs.size());
        for (Pair p : pairs) {
            seqs.add(sequence(p, p.good(), "sentence_good"));
            seqs.add(sequence(p, p.bad(), "sentence_bad"));
        }
        double[][] nll = scorer.score(seqs);
        List<PairResult> out = new ArrayList<>(pairs.size());
        for (int i = 0; i < pairs.size(); i++) out.add(new PairResult(pairs.get(i), -sum(nll[2 * i]), -sum(nll[2 * i + 1])));
        return new Result(out);
    }

    /** The conditioning token (BOS, else EOS, else the model's default prefix) followed by the sentence's tokens. */
    int[] sequence(Pair p, String sentence, String field) {
        int[] ids = tokenizer.encode(sentence);
        if (ids.length == 0)
            throw new IllegalArgumentException("pair " + p.id() + ": " + field + " \"" + sentence + "\" encodes to no tokens");
        int prefix = tokenizer.bosId() >= 0 ? tokenizer.bosId() : tokenizer.eosId() >= 0 ? tokenizer.eosId()
                : Evaluator.defaultPrefix(model);
        if (prefix < 0)
            throw new IllegalArgumentException("minimal pairs condition the first token on a BOS or EOS token; "
                    + "the tokenizer and model define neither");
        if (ids.length > maxLength)
            throw new IllegalArgumentException("pair " + p.id() + ": " + field + " has " + ids.length
                    + " tokens, more than the model's context of " + maxLength);
        int[] s = new int[ids.length + 1];
        s[0] = prefix;
        System.arraycopy(ids, 0, s, 1, ids.length);
        return s;
    }

    private static double sum(double[] xs) {
        double s = 0;
        for (double x : xs) s += x;
        return s;
    }

    // ==== task files ====

    /** Reads a minimal-pair task; a missing or empty sentence names the file, line and field. */
    public static List<Pair> read(Path file) throws IOException {
        List<Pair> out = new ArrayList<>();
        for (TaskFiles.Line l : TaskFiles.lines(file)) {
            JsonNode n = l.json();
            String where = file + ":" + l.number() + ": ";
            String good = sentence(n, "sentence_good", where), bad = sentence(n, "sentence_bad", where);
            String id = n.hasNonNull("pairID") ? n.path("UID").asText("") + "/" + n.get("pairID").asText()
                    : n.hasNonNull("id") ? n.get("id").asText() : file.getFileName() + ":" + l.number();
            // The BLiMP release spells one paradigm's field "syntax/semantics" (principle_A_case_2), the others "syntax_semantics".
            String field = text(n, "field", where).replace('/', '_');
            out.add(new Pair(id, good, bad, field, text(n, "linguistics_term", where), text(n, "UID", where)));
        }
        return out;
    }

    private static String sentence(JsonNode n, String key, String where) throws IOException {
        JsonNode v = n.get(key);
        if (v == null || !v.isTextual())
            throw new IOException(where + "expected a string field \"" + key + "\"" + TaskFiles.fields(n));
        if (v.asText().isBlank()) throw new IOException(where + "field \"" + key + "\" is empty; a pair needs two sentences");
        return v.asText();
    }

    private static String text(JsonNode n, String key, String where) throws IOException {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return "";
        if (!v.isTextual()) throw new IOException(where + "field \"" + key + "\" must be a string, found " + v);
        return v.asText();
    }
}
