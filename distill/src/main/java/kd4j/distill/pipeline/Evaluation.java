/*
 * How the pipeline evaluates a model, the same way for every method: held-out language-model loss on the
 * in-domain documents the corpus split kept back, on the bundled out-of-domain corpus no model trains on and on the
 * Brown corpus when present (kd4j.train.Evaluator: rolling windows of the training context, every token predicted
 * once), BLiMP minimal-pair accuracy (kd4j.train.MinimalPairEval: overall, per field, per phenomenon) and zero-shot
 * accuracy on the bundled next-sentence task (kd4j.train.MultipleChoiceEval). Loss is in nats per token of the model's own tokenizer;
 * bits per byte of UTF-8 text are reported too, so models with different tokenizers can be compared.
 */
package kd4j.distill.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import kd4j.data.CorpusReader;
import kd4j.data.Document;
import kd4j.models.CausalLM;
import kd4j.models.Models;
import kd4j.tensor.Backend;
import kd4j.tokenizers.Tokenizer;
import kd4j.tokenizers.Tokenizers;
import kd4j.train.Evaluator;
import kd4j.train.MinimalPairEval;
import kd4j.train.MultipleChoiceEval;

final class Evaluation {
    private Evaluation() {}

    /** The evaluation sets; any but heldOut may be null (skipped). */
    record Sets(Path heldOut, Path outOfDomain, Path brown, Path pairs, Path task) {}

    /**
     * Evaluates modelDir; the result holds inDomain / outOfDomain / brown {loss, bitsPerByte, tokens, documents},
     * pairs {accuracy, byField, byTerm, examples} and task {accuracy, ...}.
     */
    static JsonNode run(Backend be, Path modelDir, Path tokenizerDir, Sets sets, PipelineConfig.Evaluation e, int seq,
                        Path dir, PrintStream log) throws IOException {
        CausalLM model = Models.load(modelDir, be);
        Tokenizer tok = Tokenizers.load(tokenizerDir);
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        Evaluator evaluator = new Evaluator(model, seq, e.batchSize(), Evaluator.defaultPrefix(model));
        out.set("inDomain", loss(evaluator, tok, sets.heldOut(), Integer.MAX_VALUE, e.charsPerDocument()));
        log.printf(Locale.ROOT, "  in-domain held-out loss %.4f (%.3f bits/byte)%n", out.get("inDomain").get("loss").asDouble(),
                out.get("inDomain").get("bitsPerByte").asDouble());
        if (sets.outOfDomain() != null && e.outOfDomainDocuments() > 0) {
            out.set("outOfDomain", loss(evaluator, tok, sets.outOfDomain(), e.outOfDomainDocuments(), e.charsPerDocument()));
            log.printf(Locale.ROOT, "  out-of-domain loss %.4f (%.3f bits/byte)%n", out.get("outOfDomain").get("loss").asDouble(),
                    out.get("outOfDomain").get("bitsPerByte").asDouble());
        }
        if (sets.brown() != null && e.brownDocuments() > 0) {
            out.set("brown", loss(evaluator, tok, sets.brown(), e.brownDocuments(), e.charsPerDocument()));
            log.printf(Locale.ROOT, "  Brown (out-of-domain) loss %.4f (%.3f bits/byte)%n", out.get("brown").get("loss").asDouble(),
                    out.get("brown").get("bitsPerByte").asDouble());
        }
        if (sets.pairs() != null) {
            List<MinimalPairEval.Pair> pairs = perParadigm(MinimalPairEval.read(sets.pairs()), e.pairsPerParadigm());
            MinimalPairEval.Result r = new MinimalPairEval(model, tok, ModelJson.maxPositions(seq), e.batchSize()).evaluate(pairs);
            ObjectNode p = out.putObject("pairs");
            p.put("name", sets.pairs().getFileName().toString()).put("examples", r.size()).put("accuracy", r.accuracy())
                    .put("stderr", MultipleChoiceEval.Result.stderr(r.accuracy(), r.size()));
            groups(r.byField(), p.putObject("byField"));
            groups(r.byTerm(), p.putObject("byTerm"));
            log.printf(Locale.ROOT, "  minimal pairs %s: accuracy %.3f ± %.3f (%d pairs)%n", p.get("name").asText(),
                    r.accuracy(), p.get("stderr").asDouble(), r.size());
        }
        if (sets.task() != null && e.taskExamples() > 0) {
            List<MultipleChoiceEval.Example> all = MultipleChoiceEval.read(sets.task());
            List<MultipleChoiceEval.Example> examples = all.subList(0, Math.min(all.size(), e.taskExamples()));
            MultipleChoiceEval.Result r = new MultipleChoiceEval(model, tok, ModelJson.maxPositions(seq), e.batchSize()).evaluate(examples);
            ObjectNode t = out.putObject("task");
            t.put("name", sets.task().getFileName().toString()).put("examples", r.size()).put("accuracy", r.accuracy())
                    .put("accuracyNorm", r.accuracyNorm())
                    .put("stderr", MultipleChoiceEval.Result.stderr(r.accuracy(), r.size()));
            log.printf(Locale.ROOT, "  zero-shot %s: accuracy %.3f ± %.3f (%d examples)%n", t.get("name").asText(),
                    r.accuracy(), t.get("stderr").asDouble(), r.size());
        }
        return out;
    }

    /** The first k pairs of each paradigm, in file order (k = 0: all). */
    static List<MinimalPairEval.Pair> perParadigm(List<MinimalPairEval.Pair> pairs, int k) {
        if (k <= 0) return pairs;
        Map<String, Integer> seen = new HashMap<>();
        List<MinimalPairEval.Pair> out = new ArrayList<>();
        for (MinimalPairEval.Pair p : pairs) if (seen.merge(p.paradigm(), 1, Integer::sum) <= k) out.add(p);
        return out;
    }

    private static void groups(Map<String, MinimalPairEval.Count> groups, ObjectNode json) {
        groups.forEach((name, c) -> json.putObject(name).put("pairs", c.total()).put("right", c.right()).put("accuracy", c.accuracy()));
    }

    /** Loss over the first maxDocuments documents of a corpus file, each cut to maxChars characters. */
    private static ObjectNode loss(Evaluator evaluator, Tokenizer tok, Path corpus, int maxDocuments, int maxChars)
            throws IOException {
        List<Evaluator.Document> docs = new ArrayList<>();
        long bytes = 0;
        try (CorpusReader reader = new CorpusReader(List.of(corpus), "text", w -> {})) {
            for (Document d = reader.read(); d != null && docs.size() < maxDocuments; d = reader.read()) {
                String text = Pipeline.cut(d.text(), maxChars);
                if (text.isBlank()) continue;
                bytes += text.getBytes(StandardCharsets.UTF_8).length;
                docs.add(new Evaluator.Document(d.id(), tok.encode(text)));
            }
        }
        Evaluator.Report r = evaluator.evaluate(docs);
        return JsonNodeFactory.instance.objectNode().put("loss", r.loss()).put("perplexity", r.perplexity())
                .put("bitsPerByte", bytes == 0 ? Double.NaN : r.nll() / bytes / Math.log(2))
                .put("tokens", r.tokens()).put("documents", docs.size()).put("bytes", bytes);
    }
}
