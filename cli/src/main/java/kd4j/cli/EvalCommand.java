/*
 * `kd4j eval --model DIR --data DIR|FILE [--task FILE]`: held-out LM loss and perplexity, per document and
 * overall (lm-evaluation-harness rolling log-likelihood), and zero-shot multiple-choice accuracy (acc and
 * acc_norm) on a JSONL task such as corpora/tasks/next-sentence.jsonl, or minimal-pair accuracy (overall, per
 * field and per phenomenon) on a BLiMP-style task such as corpora/blimp/blimp-100.jsonl.gz. The flags make a
 * kd4j.train.EvalJob.Config; the job (also the pipeline's) reads the data and runs the evaluators; this prints them.
 */
package kd4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import kd4j.tensor.Backend;
import kd4j.train.EvalJob;
import kd4j.train.Evaluator;
import kd4j.train.MinimalPairEval;
import kd4j.train.MultipleChoiceEval;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Evaluate a model: held-out loss and perplexity per document and overall, and zero-shot "
                + "multiple-choice accuracy (lm-evaluation-harness style).",
                "--data takes a folder written by kd4j prepare (its validation documents) or text/JSONL files (.gz too)."})
public final class EvalCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "HF model folder (config.json + model.safetensors)")
    Path modelDir;

    @Option(names = "--data", paramLabel = "DIR|FILE", arity = "1..*",
            description = "held-out data: a prepared folder, or text / JSONL files and folders")
    List<Path> data = new ArrayList<>();

    @Option(names = "--task", paramLabel = "FILE", arity = "1..*",
            description = "zero-shot task(s), JSONL (.gz too): multiple choice {context, choices, gold}, or minimal pairs "
                    + "{sentence_good, sentence_bad, field?, linguistics_term?} such as corpora/blimp/blimp-100.jsonl.gz "
                    + "(right when the good sentence is more likely)")
    List<Path> tasks = new ArrayList<>();

    @Option(names = "--tokenizer", paramLabel = "DIR",
            description = "tokenizer folder for text data and tasks (default: the model folder)")
    Path tokenizerDir;

    @Option(names = "--split", defaultValue = "valid", paramLabel = "SPLIT",
            description = "documents of a prepared folder to score: valid, train or all (default: ${DEFAULT-VALUE})")
    String split;

    @Option(names = "--field", defaultValue = "text", paramLabel = "NAME", description = "JSONL text field (default: ${DEFAULT-VALUE})")
    String field;

    @Option(names = "--seq-length", defaultValue = "256", paramLabel = "N",
            description = "predictions per window; use the model's training length (default: ${DEFAULT-VALUE})")
    int seqLength;

    @Option(names = "--batch-size", defaultValue = "8", paramLabel = "N", description = "windows per forward pass (default: ${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = "--max-documents", paramLabel = "N", description = "score at most N documents")
    Integer maxDocuments;

    @Option(names = "--per-document", description = "print every document's loss and perplexity")
    boolean perDocument;

    @Option(names = "--report", paramLabel = "FILE", description = "write everything (per document and per example) as JSON")
    Path report;

    @Mixin DeviceOptions device;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (data.isEmpty() && tasks.isEmpty())
            throw new ParameterException(spec.commandLine(), "nothing to evaluate: give --data and/or --task");
        if (seqLength < 1) throw new ParameterException(spec.commandLine(), "--seq-length must be >= 1, got " + seqLength);
        if (batchSize < 1) throw new ParameterException(spec.commandLine(), "--batch-size must be >= 1, got " + batchSize);
        if (!List.of("valid", "train", "all").contains(split))
            throw new ParameterException(spec.commandLine(), "--split must be valid, train or all, got '" + split + "'");
        EvalJob.Split which = EvalJob.Split.valueOf(split.toUpperCase(Locale.ROOT));
        List<EvalJob.HeldOut> heldOut = data.isEmpty() ? List.of() : List.of(new EvalJob.HeldOut("heldOut", data, which,
                field, maxDocuments == null ? Integer.MAX_VALUE : maxDocuments, 0, true));
        List<EvalJob.Task> jobTasks = tasks.stream().map(t -> new EvalJob.Task(t, 0, 0)).toList();
        PrintWriter err = spec.commandLine().getErr();
        EvalJob.Result result;
        try (Backend be = device.open()) {
            result = EvalJob.run(be, new EvalJob.Config(modelDir, tokenizerDir, heldOut, jobTasks, seqLength, seqLength,
                    batchSize), w -> err.println("kd4j: warning: " + w));
        }
        ObjectNode json = JSON.createObjectNode().put("model", modelDir.toString());
        for (EvalJob.HeldOutResult h : result.heldOut()) {
            Evaluator.Report r = h.report();
            if (perDocument)
                for (Evaluator.DocumentLoss d : r.documents())
                    out.printf(Locale.ROOT, "  %-40s %,9d tokens  loss %.4f  ppl %.2f%n", d.id(), d.tokens(), d.loss(), d.perplexity());
            out.printf(Locale.ROOT, "held-out: %,d documents, %,d tokens: loss %.4f nats/token, perplexity %.3f%n",
                    r.documents().size(), r.tokens(), r.loss(), r.perplexity());
            ObjectNode lm = json.putObject("heldOut");
            lm.put("documents", r.documents().size()).put("tokens", r.tokens()).put("loss", r.loss())
                    .put("perplexity", r.perplexity());
            ArrayNode perDoc = lm.putArray("perDocument");
            for (Evaluator.DocumentLoss d : r.documents())
                perDoc.addObject().put("id", d.id()).put("tokens", d.tokens()).put("loss", d.loss())
                        .put("perplexity", d.perplexity());
        }
        ArrayNode taskResults = json.putArray("tasks");
        for (EvalJob.TaskResult t : result.tasks()) {
            Path task = t.task().file();
            switch (t) {
                case EvalJob.MinimalPairs(var unused, var r) -> taskResults.add(minimalPairs(out, task, r));
                case EvalJob.MultipleChoice(var unused, var r) -> {
                    int n = r.size();
                    out.printf(Locale.ROOT, "%s: %d examples: acc %.4f ± %.4f, acc_norm %.4f ± %.4f%n", task.getFileName(), n,
                            r.accuracy(), MultipleChoiceEval.Result.stderr(r.accuracy(), n),
                            r.accuracyNorm(), MultipleChoiceEval.Result.stderr(r.accuracyNorm(), n));
                    ObjectNode o = taskResults.addObject().put("task", task.toString()).put("kind", "multiple-choice")
                            .put("examples", n).put("acc", r.accuracy()).put("accNorm", r.accuracyNorm());
                    ArrayNode ex = o.putArray("perExample");
                    for (MultipleChoiceEval.ExampleResult e : r.examples()) {
                        ObjectNode x = ex.addObject().put("id", e.example().id()).put("gold", e.example().gold())
                                .put("predicted", e.predicted()).put("predictedNorm", e.predictedNorm());
                        ArrayNode ll = x.putArray("logLikelihoods");
                        for (double v : e.logLikelihoods()) ll.add(v);
                    }
                }
            }
        }
        if (report != null) {
            if (report.toAbsolutePath().getParent() != null) Files.createDirectories(report.toAbsolutePath().getParent());
            JSON.writerWithDefaultPrettyPrinter().writeValue(report.toFile(), json);
            out.println("report: " + report);
        }
        return ExitCodes.OK;
    }

    /** A minimal-pair task (BLiMP): accuracy overall, per field and per phenomenon, printed; everything in the JSON. */
    private static ObjectNode minimalPairs(PrintWriter out, Path task, MinimalPairEval.Result r) {
        out.printf(Locale.ROOT, "%s: %d minimal pairs: acc %.4f ± %.4f (chance 0.5)%n", task.getFileName(), r.size(),
                r.accuracy(), MultipleChoiceEval.Result.stderr(r.accuracy(), r.size()));
        ObjectNode t = JSON.createObjectNode().put("task", task.toString()).put("kind", "minimal-pairs")
                .put("examples", r.size()).put("acc", r.accuracy());
        printGroups(out, "field", r.byField(), t.putObject("byField"));
        printGroups(out, "phenomenon", r.byTerm(), t.putObject("byLinguisticsTerm"));
        groups(r.byParadigm(), t.putObject("byParadigm"));
        ArrayNode per = t.putArray("perPair");
        for (MinimalPairEval.PairResult p : r.pairs())
            per.addObject().put("id", p.pair().id()).put("logProbGood", p.logProbGood()).put("logProbBad", p.logProbBad())
                    .put("correct", p.correct());
        return t;
    }

    private static void printGroups(PrintWriter out, String what, Map<String, MinimalPairEval.Count> groups, ObjectNode json) {
        groups.forEach((name, c) -> out.printf(Locale.ROOT, "  %-10s %-28s %5d pairs  acc %.4f%n", what,
                name.isEmpty() ? "(none)" : name, c.total(), c.accuracy()));
        groups(groups, json);
    }

    private static void groups(Map<String, MinimalPairEval.Count> groups, ObjectNode json) {
        groups.forEach((name, c) -> json.putObject(name).put("pairs", c.total()).put("right", c.right()).put("acc", c.accuracy()));
    }
}
