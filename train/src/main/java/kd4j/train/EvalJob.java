/*
 * The eval job, one class that `kd4j eval` and the pipeline's evaluation stage both call: loads a model (and its
 * tokenizer where text or tasks need one), reads each held-out set (a folder written by kd4j prepare, or text/JSONL
 * files), and runs the evaluators: held-out loss with bits per byte (Evaluator: rolling windows, every token
 * predicted once), minimal-pair accuracy (MinimalPairEval) and zero-shot multiple choice (MultipleChoiceEval), the
 * task's kind found from its file (TaskFiles). It returns typed results; how they are printed and stored is the
 * caller's (the CLI's report and the pipeline's eval.json differ on purpose and stay as they were).
 */
package kd4j.train;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import kd4j.data.CorpusReader;
import kd4j.data.Document;
import kd4j.data.TokenDataset;
import kd4j.models.CausalLM;
import kd4j.models.Models;
import kd4j.tensor.Backend;
import kd4j.tokenizers.Tokenizer;
import kd4j.tokenizers.Tokenizers;

public final class EvalJob {
    private EvalJob() {}

    /** Which documents of a prepared folder a held-out set reads. */
    public enum Split { VALID, TRAIN, ALL }

    /**
     * One held-out set: prepared folders and/or text/JSONL files and folders, read in order. Text is cut to
     * charsPerDocument characters (0: whole documents; cut at white space as the pipeline does), a document left
     * blank is passed over, and with eosClosesDocuments the tokenizer's EOS closes each (as kd4j prepare does).
     */
    public record HeldOut(String name, List<Path> sources, Split split, String field, int maxDocuments,
                          int charsPerDocument, boolean eosClosesDocuments) {
        public HeldOut {
            sources = List.copyOf(sources);
            if (maxDocuments < 1) throw new IllegalArgumentException("maxDocuments must be >= 1, got " + maxDocuments);
        }
    }

    /** One zero-shot task file; maxExamples and pairsPerParadigm 0 mean all. */
    public record Task(Path file, int maxExamples, int pairsPerParadigm) {}

    /**
     * The whole job. tokenizerDir null: the model folder. seqLength is the held-out window, taskLength the longest
     * context + continuation a task example may have.
     */
    public record Config(Path modelDir, Path tokenizerDir, List<HeldOut> heldOut, List<Task> tasks, int seqLength,
                         int taskLength, int batchSize) {
        public Config {
            heldOut = List.copyOf(heldOut);
            tasks = List.copyOf(tasks);
            if (heldOut.isEmpty() && tasks.isEmpty()) throw new IllegalArgumentException("nothing to evaluate");
            if (seqLength < 1) throw new IllegalArgumentException("seqLength must be >= 1, got " + seqLength);
            if (taskLength < 1) throw new IllegalArgumentException("taskLength must be >= 1, got " + taskLength);
            if (batchSize < 1) throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize);
        }

        public Path tokenizerFolder() { return tokenizerDir != null ? tokenizerDir : modelDir; }
    }

    /** A held-out set's loss; bytes counts the UTF-8 bytes of the text documents (0 for prepared token folders). */
    public record HeldOutResult(HeldOut set, Evaluator.Report report, long bytes) {
        public int documents() { return report.documents().size(); }
        /** Bits per UTF-8 byte of text (NaN where the set had no text bytes). */
        public double bitsPerByte() { return bytes == 0 ? Double.NaN : report.nll() / bytes / Math.log(2); }
    }

    /** One task's result, by kind. */
    public sealed interface TaskResult permits MinimalPairs, MultipleChoice {
        Task task();
    }

    public record MinimalPairs(Task task, MinimalPairEval.Result result) implements TaskResult {}

    public record MultipleChoice(Task task, MultipleChoiceEval.Result result) implements TaskResult {}

    public record Result(List<HeldOutResult> heldOut, List<TaskResult> tasks) {}

    /** Runs the job on be; warnings (such as invalid UTF-8 in a text file) go to warn. */
    public static Result run(Backend be, Config c, Consumer<String> warn) throws IOException {
        CausalLM model = Models.load(c.modelDir(), be);
        boolean needsTokenizer = !c.tasks().isEmpty()
                || c.heldOut().stream().flatMap(h -> h.sources().stream()).anyMatch(p -> !isPrepared(p));
        Tokenizer tokenizer = needsTokenizer ? loadTokenizer(c, model) : null;
        List<HeldOutResult> heldOut = new ArrayList<>();
        if (!c.heldOut().isEmpty()) {
            Evaluator evaluator = new Evaluator(model, c.seqLength(), c.batchSize(), Evaluator.defaultPrefix(model));
            for (HeldOut h : c.heldOut()) heldOut.add(heldOut(evaluator, model.config().vocabSize(), h, tokenizer, c, warn));
        }
        List<TaskResult> tasks = new ArrayList<>();
        for (Task t : c.tasks()) {
            if (TaskFiles.kind(t.file()) == TaskFiles.Kind.MINIMAL_PAIRS) {
                List<MinimalPairEval.Pair> pairs = perParadigm(MinimalPairEval.read(t.file()), t.pairsPerParadigm());
                tasks.add(new MinimalPairs(t, new MinimalPairEval(model, tokenizer, c.taskLength(), c.batchSize()).evaluate(pairs)));
            } else {
                List<MultipleChoiceEval.Example> all = MultipleChoiceEval.read(t.file());
                List<MultipleChoiceEval.Example> examples =
                        t.maxExamples() <= 0 ? all : all.subList(0, Math.min(all.size(), t.maxExamples()));
                tasks.add(new MultipleChoice(t, new MultipleChoiceEval(model, tokenizer, c.taskLength(), c.batchSize()).evaluate(examples)));
            }
        }
        return new Result(heldOut, tasks);
    }

    /** The first k pairs of each paradigm, in file order (k = 0: all). */
    public static List<MinimalPairEval.Pair> perParadigm(List<MinimalPairEval.Pair> pairs, int k) {
        if (k <= 0) return pairs;
        Map<String, Integer> seen = new HashMap<>();
        List<MinimalPairEval.Pair> out = new ArrayList<>();
        for (MinimalPairEval.Pair p : pairs) if (seen.merge(p.paradigm(), 1, Integer::sum) <= k) out.add(p);
        return out;
    }

    /** text cut to at most max characters, at white space in its last fifth where there is some (max <= 0: whole). */
    public static String cut(String text, int max) {
        if (max <= 0 || text.length() <= max) return text;
        int end = max;
        while (end > max * 4 / 5 && !Character.isWhitespace(text.charAt(end))) end--;
        if (!Character.isWhitespace(text.charAt(end))) end = max;
        return text.substring(0, end);
    }

    public static boolean isPrepared(Path p) {
        return Files.isDirectory(p) && Files.exists(p.resolve(TokenDataset.MANIFEST));
    }

    private static Tokenizer loadTokenizer(Config c, CausalLM model) throws IOException {
        Path dir = c.tokenizerFolder();
        if (!Files.exists(dir.resolve("tokenizer.json")))
            throw new IOException(dir + ": no tokenizer.json; text data and tasks need a tokenizer: pass --tokenizer DIR");
        Tokenizer t = Tokenizers.load(dir);
        if (t.vocabSize() > model.config().vocabSize())
            throw new IOException(dir.resolve("tokenizer.json") + ": vocabulary of " + t.vocabSize()
                    + " ids does not fit the model's vocab_size " + model.config().vocabSize() + " ("
                    + c.modelDir().resolve("config.json") + ")");
        return t;
    }

    private static HeldOutResult heldOut(Evaluator evaluator, int vocabSize, HeldOut h, Tokenizer tokenizer, Config c,
                                         Consumer<String> warn) throws IOException {
        List<Evaluator.Document> docs = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        long bytes = 0;
        for (Path p : h.sources()) {
            if (!isPrepared(p)) { files.add(p); continue; }
            try (TokenDataset set = TokenDataset.open(p)) {
                set.requireIdsBelow(vocabSize, "the model's vocab_size " + vocabSize + " (" + c.modelDir().resolve("config.json") + ")");
                List<TokenDataset.DocumentEntry> entries = switch (h.split()) {
                    case ALL -> set.documents();
                    case TRAIN -> set.documents(TokenDataset.Split.TRAIN);
                    case VALID -> set.documents(TokenDataset.Split.VALID);
                };
                for (TokenDataset.DocumentEntry d : entries) {
                    if (docs.size() >= h.maxDocuments()) break;
                    docs.add(new Evaluator.Document(d.id(), set.documentTokens(d)));
                }
            }
        }
        if (!files.isEmpty()) {
            try (CorpusReader reader = new CorpusReader(files, h.field(), warn)) {
                for (Document d = reader.read(); d != null && docs.size() < h.maxDocuments(); d = reader.read()) {
                    String text = cut(d.text(), h.charsPerDocument());
                    if (text.isBlank()) continue;
                    bytes += text.getBytes(StandardCharsets.UTF_8).length;
                    int[] ids = tokenizer.encode(text);
                    int eos = tokenizer.eosId();
                    if (h.eosClosesDocuments() && eos >= 0) {
                        ids = Arrays.copyOf(ids, ids.length + 1);
                        ids[ids.length - 1] = eos;
                    }
                    docs.add(new Evaluator.Document(d.id(), ids));
                }
            }
        }
        if (docs.isEmpty())
            throw new IOException(h.sources() + ": no documents to evaluate (split "
                    + h.split().name().toLowerCase(java.util.Locale.ROOT) + ")");
        return new HeldOutResult(h, evaluator.evaluate(docs), bytes);
    }
}
