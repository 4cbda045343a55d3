/*
 * `kd4j eval --model DIR --data DIR|FILE [--task FILE]`: held-out LM loss and perplexity, per document and
 * overall (lm-evaluation-harness rolling log-likelihood), and zero-shot multiple-choice accuracy (acc and
 * acc_norm) on a JSONL task such as corpora/tasks/next-sentence.jsonl, or minimal-pair accuracy (overall, per
 * field and per phenomenon) on a BLiMP-style task such as corpora/blimp/blimp-100.jsonl.gz.
 */
package kd4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import kd4j.data.CorpusReader;
import kd4j.data.Document;
import kd4j.data.TokenDataset;
import kd4j.models.CausalLM;
import kd4j.models.Models;
import kd4j.tensor.Backend;
import kd4j.tokenizers.Tokenizer;
import kd4j.tokenizers.Tokenizers;
import kd4j.train.Evaluator;
import kd4j.train.MinimalPairEval;
import kd4j.train.MultipleChoiceEval;
import kd4j.train.TaskFiles;
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
        ObjectNode json = JSON.createObjectNode().put("model", modelDir.toString());
        try (Backend be = device.open()) {
            CausalLM model = Models.load(modelDir, be);
            Tokenizer tokenizer = null;
            if (!tasks.isEmpty() || data.stream().anyMatch(p -> !isPrepared(p))) tokenizer = loadTokenizer(model);
            if (!data.isEmpty()) {
                List<Evaluator.Document> docs = documents(tokenizer, model.config().vocabSize());
                if (docs.isEmpty()) throw new IOException(data + ": no documents to evaluate (split " + split + ")");
                Evaluator.Report r = new Evaluator(model, seqLength, batchSize, Evaluator.defaultPrefix(model)).evaluate(docs);
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
            for (Path task : tasks) {
                if (TaskFiles.kind(task) == TaskFiles.Kind.MINIMAL_PAIRS) {
                    taskResults.add(minimalPairs(out, task, model, tokenizer));
                    continue;
                }
                List<MultipleChoiceEval.Example> examples = MultipleChoiceEval.read(task);
                MultipleChoiceEval.Result r = new MultipleChoiceEval(model, tokenizer, seqLength, batchSize).evaluate(examples);
                int n = r.size();
                out.printf(Locale.ROOT, "%s: %d examples: acc %.4f ± %.4f, acc_norm %.4f ± %.4f%n", task.getFileName(), n,
                        r.accuracy(), MultipleChoiceEval.Result.stderr(r.accuracy(), n),
                        r.accuracyNorm(), MultipleChoiceEval.Result.stderr(r.accuracyNorm(), n));
                ObjectNode t = taskResults.addObject().put("task", task.toString()).put("kind", "multiple-choice")
                        .put("examples", n).put("acc", r.accuracy()).put("accNorm", r.accuracyNorm());
                ArrayNode ex = t.putArray("perExample");
                for (MultipleChoiceEval.ExampleResult e : r.examples()) {
                    ObjectNode o = ex.addObject().put("id", e.example().id()).put("gold", e.example().gold())
                            .put("predicted", e.predicted()).put("predictedNorm", e.predictedNorm());
                    ArrayNode ll = o.putArray("logLikelihoods");
                    for (double v : e.logLikelihoods()) ll.add(v);
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
    private ObjectNode minimalPairs(PrintWriter out, Path task, CausalLM model, Tokenizer tokenizer) throws IOException {
        List<MinimalPairEval.Pair> pairs = MinimalPairEval.read(task);
        MinimalPairEval.Result r = new MinimalPairEval(model, tokenizer, seqLength, batchSize).evaluate(pairs);
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

    private static boolean isPrepared(Path p) {
        return Files.isDirectory(p) && Files.exists(p.resolve(TokenDataset.MANIFEST));
    }

    private Tokenizer loadTokenizer(CausalLM model) throws IOException {
        Path dir = tokenizerDir != null ? tokenizerDir : modelDir;
        if (!Files.exists(dir.resolve("tokenizer.json")))
            throw new IOException(dir + ": no tokenizer.json; text data and tasks need a tokenizer: pass --tokenizer DIR");
        Tokenizer t = Tokenizers.load(dir);
        if (t.vocabSize() > model.config().vocabSize())
            throw new IOException(dir.resolve("tokenizer.json") + ": vocabulary of " + t.vocabSize()
                    + " ids does not fit the model's vocab_size " + model.config().vocabSize() + " ("
                    + modelDir.resolve("config.json") + ")");
        return t;
    }

    private List<Evaluator.Document> documents(Tokenizer tokenizer, int vocabSize) throws IOException {
        int limit = maxDocuments == null ? Integer.MAX_VALUE : maxDocuments;
        List<Evaluator.Document> docs = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        for (Path p : data) {
            if (!isPrepared(p)) { files.add(p); continue; }
            try (TokenDataset set = TokenDataset.open(p)) {
                set.requireIdsBelow(vocabSize, "the model's vocab_size " + vocabSize + " (" + modelDir.resolve("config.json") + ")");
                List<TokenDataset.DocumentEntry> entries = split.equals("all") ? set.documents()
                        : set.documents(split.equals("train") ? TokenDataset.Split.TRAIN : TokenDataset.Split.VALID);
                for (TokenDataset.DocumentEntry d : entries) {
                    if (docs.size() >= limit) break;
                    docs.add(new Evaluator.Document(d.id(), set.documentTokens(d)));
                }
            }
        }
        if (!files.isEmpty()) {
            PrintWriter err = spec.commandLine().getErr();
            try (CorpusReader reader = new CorpusReader(files, field, w -> err.println("kd4j: warning: " + w))) {
                for (Document d = reader.read(); d != null && docs.size() < limit; d = reader.read()) {
                    int[] ids = tokenizer.encode(d.text());
                    int eos = tokenizer.eosId();
                    if (eos >= 0) {                        // as kd4j prepare does: EOS closes every document
                        ids = java.util.Arrays.copyOf(ids, ids.length + 1);
                        ids[ids.length - 1] = eos;
                    }
                    docs.add(new Evaluator.Document(d.id(), ids));
                }
            }
        }
        return docs;
    }
}
