/*
 * How the pipeline evaluates a model (with kd4j.train.EvalJob, the job kd4j eval runs too), the same way for every method: held-out language-model loss on the
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
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import kd4j.tensor.Backend;
import kd4j.train.EvalJob;
import kd4j.train.Evaluator;
import kd4j.train.MinimalPairEval;
import kd4j.train.MultipleChoiceEval;

final class Evaluation {
    private Evaluation() {}

    /** The evaluation sets; any but heldOut may be null (skipped). */
    record Sets(Path heldOut, Path outOfDomain, Path brown, Path pairs, Path task) {}

    /**
     * Evaluates modelDir with kd4j.train.EvalJob; the result holds inDomain / outOfDomain / brown {loss, bitsPerByte,
     * tokens, documents} (inDomain also byDomain {domain: {loss, tokens, documents}} when the held-out
     * documents carry a "domain" field), pairs {accuracy, byField, byTerm, examples} and task {accuracy, ...}.
     */
    static JsonNode run(Backend be, Path modelDir, Path tokenizerDir, Sets sets, PipelineConfig.Evaluation e, int seq,
                        Path dir, PrintStream log) throws IOException {
        List<EvalJob.HeldOut> heldOut = new ArrayList<>();
        heldOut.add(heldOut("inDomain", sets.heldOut(), Integer.MAX_VALUE, e));
        if (sets.outOfDomain() != null && e.outOfDomainDocuments() > 0) {
            heldOut.add(heldOut("outOfDomain", sets.outOfDomain(), e.outOfDomainDocuments(), e));
        }
        if (sets.brown() != null && e.brownDocuments() > 0) {
            heldOut.add(heldOut("brown", sets.brown(), e.brownDocuments(), e));
        }
        List<EvalJob.Task> tasks = new ArrayList<>();
        if (sets.pairs() != null) tasks.add(new EvalJob.Task(sets.pairs(), 0, e.pairsPerParadigm()));
        if (sets.task() != null && e.taskExamples() > 0) tasks.add(new EvalJob.Task(sets.task(), e.taskExamples(), 0));
        EvalJob.Result result = EvalJob.run(be, new EvalJob.Config(modelDir, tokenizerDir, heldOut, tasks, seq,
                ModelJson.maxPositions(seq), e.batchSize()), w -> {});

        ObjectNode out = JsonNodeFactory.instance.objectNode();
        for (EvalJob.HeldOutResult h : result.heldOut()) {
            Evaluator.Report r = h.report();
            ObjectNode o = out.putObject(h.set().name());
            o.put("loss", r.loss()).put("perplexity", r.perplexity()).put("bitsPerByte", h.bitsPerByte())
                    .put("tokens", r.tokens()).put("documents", h.documents()).put("bytes", h.bytes());
            String what = switch (h.set().name()) {
                case "inDomain" -> "in-domain held-out loss";
                case "outOfDomain" -> "out-of-domain loss";
                default -> "Brown (out-of-domain) loss";
            };
            log.printf(Locale.ROOT, "  %s %.4f (%.3f bits/byte)%n", what, r.loss(), h.bitsPerByte());
            if (h.set().name().equals("inDomain")) byDomain(r, domainsById(sets.heldOut()), o);
        }
        for (EvalJob.TaskResult t : result.tasks()) {
            String name = t.task().file().getFileName().toString();
            switch (t) {
                case EvalJob.MinimalPairs(var task, var r) -> {
                    ObjectNode p = out.putObject("pairs");
                    p.put("name", name).put("examples", r.size()).put("accuracy", r.accuracy())
                            .put("stderr", MultipleChoiceEval.Result.stderr(r.accuracy(), r.size()));
                    groups(r.byField(), p.putObject("byField"));
                    groups(r.byTerm(), p.putObject("byTerm"));
                    log.printf(Locale.ROOT, "  minimal pairs %s: accuracy %.3f ± %.3f (%d pairs)%n", name,
                            r.accuracy(), p.get("stderr").asDouble(), r.size());
                }
                case EvalJob.MultipleChoice(var task, var r) -> {
                    ObjectNode o = out.putObject("task");
                    o.put("name", name).put("examples", r.size()).put("accuracy", r.accuracy())
                            .put("accuracyNorm", r.accuracyNorm())
                            .put("stderr", MultipleChoiceEval.Result.stderr(r.accuracy(), r.size()));
                    log.printf(Locale.ROOT, "  zero-shot %s: accuracy %.3f ± %.3f (%d examples)%n", name,
                            r.accuracy(), o.get("stderr").asDouble(), r.size());
                }
            }
        }
        return out;
    }

    /** A corpus file's first maxDocuments documents, each cut to the configured characters, no EOS added. */
    private static EvalJob.HeldOut heldOut(String name, Path corpus, int maxDocuments, PipelineConfig.Evaluation e) {
        return new EvalJob.HeldOut(name, List.of(corpus), EvalJob.Split.VALID, "text", maxDocuments,
                e.charsPerDocument(), false);
    }

    /**
     * The in-domain loss of each domain of the held-out documents (their "domain" field; nothing when a document
     * has none): {domain: {loss, tokens, documents}}, in the order the domains first appear.
     */
    static void byDomain(Evaluator.Report r, Map<String, String> domainOfId, ObjectNode inDomain) {
        Map<String, double[]> sums = new LinkedHashMap<>();     // domain -> {nll, tokens, documents}
        for (Evaluator.DocumentLoss d : r.documents()) {
            String domain = domainOfId.get(d.id());
            if (domain == null) return;
            double[] s = sums.computeIfAbsent(domain, k -> new double[3]);
            s[0] += d.nll();
            s[1] += d.tokens();
            s[2]++;
        }
        if (sums.isEmpty()) return;
        ObjectNode out = inDomain.putObject("byDomain");
        sums.forEach((domain, s) -> out.putObject(domain).put("loss", s[0] / s[1]).put("tokens", (long) s[1])
                .put("documents", (long) s[2]));
    }

    /** id -> "domain" of every line of a JSONL split file that has both (a repeated id keeps its first). */
    private static Map<String, String> domainsById(Path splitFile) throws IOException {
        Map<String, String> out = new HashMap<>();
        try (BufferedReader in = Files.newBufferedReader(splitFile, StandardCharsets.UTF_8)) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (line.isBlank()) continue;
                JsonNode n = PipelineConfig.MAPPER.readTree(line);
                if (n.hasNonNull("id") && n.hasNonNull("domain")) out.putIfAbsent(n.get("id").asText(), n.get("domain").asText());
            }
        }
        return out;
    }

    private static void groups(Map<String, MinimalPairEval.Count> groups, ObjectNode json) {
        groups.forEach((name, c) -> json.putObject(name).put("pairs", c.total()).put("right", c.right()).put("accuracy", c.accuracy()));
    }
}
