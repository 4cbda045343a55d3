/*
 * The MiniPLM pipeline's settings, one JSON file: corpus and held-out split, tokenizers, teacher, reference,
 * selection ratio, students and evaluation. Unknown keys and bad values are refused with the file, line and key
 * (the same rules and exception as TrainConfig). Every record is also a stage's "config slice": Stage hashes
 * exactly the records a stage reads, so changing students.* reruns the students and the report, nothing else.
 * demo(scale) is the configuration `kd4j demo` runs; --scale multiplies steps and data, and widens the models.
 */
package kd4j.distill.pipeline;

import static kd4j.train.ConfigErrors.firstLine;
import static kd4j.train.ConfigErrors.locate;
import static kd4j.train.ConfigErrors.path;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import kd4j.train.ConfigFormatException;
import kd4j.train.ConfigErrors.Checker;

public record PipelineConfig(Data data, TokenizerSpec tokenizer, Training teacher, Training reference,
                             Selection selection, Students students, Evaluation evaluation, Run run) {

    /**
     * The corpus: JSONL/text files (paths relative to the config file's folder, then to the kd4j home), split by
     * document in reading order, as MiniPLM splits its data: every holdOutEvery-th document is held out for
     * in-domain evaluation; of the rest, every referenceEvery-th goes to the reference model's own data and never
     * into the selection pool (MiniPLM's reference trains on 5B tokens that are not among the 100B it selects
     * from); everything else is the pool that is scored, selected from and that the students train on. The teacher
     * trains on pool + reference data (a general model, at least as much text as the pool). outOfDomain files are a
     * domain no model trains on (the out-of-domain column). Training documents are cut to their first
     * charsPerDocument characters (0 = whole) and packed into instances of seq + 1 tokens.
     */
    public record Data(List<String> inputs, String field, Integer holdOutEvery, Integer referenceEvery,
                       List<String> outOfDomain, Integer charsPerDocument, Integer seq) {
        public Data {
            inputs = inputs == null ? List.of("corpora/sotu.jsonl.gz", "corpora/spam-assassin.jsonl.gz") : List.copyOf(inputs);
            field = field == null ? "text" : field;
            holdOutEvery = holdOutEvery == null ? 10 : holdOutEvery;
            referenceEvery = referenceEvery == null ? 5 : referenceEvery;
            outOfDomain = outOfDomain == null ? List.of("corpora/moby-dick.jsonl.gz") : List.copyOf(outOfDomain);
            charsPerDocument = charsPerDocument == null ? 0 : charsPerDocument;
            seq = seq == null ? 128 : seq;
        }
    }

    /**
     * The corpus tokenizer (teacher, reference and the same-family students) and the cross-tokenizer student's
     * tokenizer, both byte-level BPE trained on the training corpus. trainChars: characters of the corpus the
     * trainer reads (0 = all).
     */
    public record TokenizerSpec(Integer vocabSize, Integer studentVocabSize, Long trainChars) {
        public TokenizerSpec {
            vocabSize = vocabSize == null ? 2048 : vocabSize;
            studentVocabSize = studentVocabSize == null ? 3072 : studentVocabSize;
            trainChars = trainChars == null ? 0L : trainChars;
        }
    }

    /** A model shape. family: qwen2, llama or mamba (heads, kvHeads and intermediate are ignored for mamba). */
    public record ModelSpec(String family, Integer hidden, Integer layers, Integer heads, Integer kvHeads,
                            Integer intermediate) {
        public ModelSpec {
            family = family == null ? "qwen2" : family.toLowerCase(Locale.ROOT);
            hidden = hidden == null ? 128 : hidden;
            layers = layers == null ? 2 : layers;
            heads = heads == null ? 4 : heads;
            kvHeads = kvHeads == null ? 2 : kvHeads;
            intermediate = intermediate == null ? defaultIntermediate(hidden) : intermediate;
        }

        /** SwiGLU's usual 8/3 hidden, rounded up to a multiple of 16. */
        static int defaultIntermediate(int hidden) { return (hidden * 8 / 3 + 15) / 16 * 16; }
    }

    /**
     * A training run: model shape, optimizer steps of batchSize rows of data.seq tokens, peak lr with warm-up and
     * cosine decay. subset: share of the training corpus it sees (the reference model trains on a subset).
     */
    public record Training(ModelSpec model, Long steps, Integer batchSize, Double lr, Integer warmup, Double subset) {
        public Training {
            model = model == null ? new ModelSpec(null, null, null, null, null, null) : model;
            steps = steps == null ? 100L : steps;
            batchSize = batchSize == null ? 8 : batchSize;
            lr = lr == null ? 2e-3 : lr;
            warmup = warmup == null ? (int) Math.min(20, steps / 10) : warmup;
            subset = subset == null ? 1.0 : subset;
        }
    }

    /**
     * Difference Sampling: keep the top ratio of instances by mean log p(teacher) - mean log p(reference). curve:
     * more ratios (each in (0, 1]) for the selection-ratio curve (MiniPLM's Fig. 9): the MiniPLM student is trained
     * once per ratio and seed, the teacher, reference and scores shared; empty = no curve.
     */
    public record Selection(Double ratio, List<Double> curve) {
        public Selection {
            ratio = ratio == null ? 0.5 : ratio;
            curve = curve == null ? List.of() : List.copyOf(curve);
        }

        /** The ratios of the curve, the main ratio included, ascending, each once. */
        public List<Double> curveRatios() {
            java.util.TreeSet<Double> all = new java.util.TreeSet<>(curve);
            if (!curve.isEmpty()) all.add(ratio);
            return List.copyOf(all);
        }
    }

    /**
     * The students, all trained for the same steps of the same batch shape (equal compute): no KD on the
     * original corpus, MiniPLM on the refined one, Vanilla KD (online teacher logits, KdPreset.VANILLA: steps
     * cut so that student + teacher FLOPs match the others) when vanillaKd, and the cross model (another family,
     * with the student tokenizer) on the refined corpus re-tokenized, plus its no-KD baseline when crossBaseline.
     */
    public record Students(Training training, Boolean vanillaKd, ModelSpec crossModel, Boolean crossBaseline) {
        public Students {
            training = training == null ? new Training(null, null, null, null, null, null) : training;
            vanillaKd = vanillaKd == null ? Boolean.TRUE : vanillaKd;
            crossModel = crossModel == null ? new ModelSpec("llama", null, null, null, null, null) : crossModel;
            crossBaseline = crossBaseline == null ? Boolean.TRUE : crossBaseline;
        }
    }

    /**
     * What every model is evaluated on: the held-out documents (in-domain), the data.outOfDomain documents (a
     * bundled domain no model trains on; at most outOfDomainDocuments), the Brown corpus (an extra out-of-domain
     * column; "auto" = KD4J_FIXTURES/corpus/brown.jsonl or ../shared/fixtures/corpus/brown.jsonl when present,
     * "" = skip), the minimal-pair task (BLiMP; pairsPerParadigm of each paradigm, 0 = all; "" = skip) and the
     * multiple-choice task (the first taskExamples). Documents are cut to charsPerDocument characters.
     */
    public record Evaluation(Integer charsPerDocument, Integer outOfDomainDocuments, String brown, Integer brownDocuments,
                             String pairs, Integer pairsPerParadigm, String task, Integer taskExamples, Integer batchSize) {
        public Evaluation {
            charsPerDocument = charsPerDocument == null ? 2000 : charsPerDocument;
            outOfDomainDocuments = outOfDomainDocuments == null ? 50 : outOfDomainDocuments;
            brown = brown == null ? "auto" : brown;
            brownDocuments = brownDocuments == null ? 50 : brownDocuments;
            pairs = pairs == null ? "corpora/blimp/blimp-100.jsonl.gz" : pairs;
            pairsPerParadigm = pairsPerParadigm == null ? 0 : pairsPerParadigm;
            task = task == null ? "corpora/tasks/next-sentence.jsonl" : task;
            taskExamples = taskExamples == null ? 200 : taskExamples;
            batchSize = batchSize == null ? 8 : batchSize;
        }
    }

    /**
     * Where the run folder is, how many seeds the students are trained with (mean ± sd in the report), the seed
     * of the first, and the backend. Changing threads or device reruns nothing.
     */
    public record Run(String out, Integer seeds, Long seed, Integer threads, String device) {
        public Run {
            out = out == null ? "runs/pipeline" : out;
            seeds = seeds == null ? 1 : seeds;
            seed = seed == null ? 1234L : seed;
            threads = threads == null ? 0 : threads;
            device = device == null ? "cpu" : device;
        }
    }

    public PipelineConfig {
        data = data == null ? new Data(null, null, null, null, null, null, null) : data;
        tokenizer = tokenizer == null ? new TokenizerSpec(null, null, null) : tokenizer;
        teacher = teacher == null ? new Training(null, null, null, null, null, null) : teacher;
        reference = reference == null ? new Training(null, null, null, null, null, null) : reference;
        selection = selection == null ? new Selection(null, null) : selection;
        students = students == null ? new Students(null, null, null, null) : students;
        evaluation = evaluation == null ? new Evaluation(null, null, null, null, null, null, null, null, null) : evaluation;
        run = run == null ? new Run(null, null, null, null, null) : run;
    }

    // ==== the demo ====

    /**
     * `kd4j demo` at a scale. At 1, MiniPLM's proportions and data split: a multi-domain pool (State of the Union
     * addresses and raw e-mail, ham and spam), every tenth document held out, every fifth of the rest the reference
     * model's own data (not in the pool), Moby-Dick as a domain no model sees. A 4-layer Qwen2 teacher (hidden 256,
     * 3.4 M parameters) for 500 steps on pool + reference data; a 1-layer reference (hidden 64) for 100 steps on its
     * own data; 2-layer students of hidden 128 (0.6 M) and a Llama student with its own 3,072-token vocabulary, 120
     * steps each (under one pass over the refined half), 3 seeds; documents cut to their first 1,000 characters.
     * Evaluation: held-out and Moby-Dick loss, 30 BLiMP pairs of each of the 67 paradigms, 200 next-sentence
     * examples. scale multiplies steps and data and widens models by sqrt(scale).
     */
    public static PipelineConfig demo(double scale, String out, int seeds) {
        if (!(scale > 0)) throw new IllegalArgumentException("--scale must be positive, got " + scale);
        double widen = Math.sqrt(scale);
        int chars = (int) Math.min(Integer.MAX_VALUE, Math.round(1000 * scale));
        Data data = new Data(null, null, 10, 5, null, chars, 128);
        TokenizerSpec tok = new TokenizerSpec(2048, 3072, 0L);
        Training teacher = new Training(model("qwen2", 256, 4, widen), steps(500, scale), 8, 2e-3, null, 1.0);
        Training reference = new Training(model("qwen2", 64, 1, widen), steps(100, scale), 8, 3e-3, null, 1.0);
        Training student = new Training(model("qwen2", 128, 2, widen), steps(120, scale), 8, 2e-3, null, 1.0);
        Students students = new Students(student, true, model("llama", 128, 2, widen), true);
        int pairs = (int) Math.min(100, Math.round(30 * scale));
        Evaluation eval = new Evaluation(1000, 40, "auto", 40, "corpora/blimp/blimp-100.jsonl.gz", pairs,
                "corpora/tasks/next-sentence.jsonl", 200, 8);
        return new PipelineConfig(data, tok, teacher, reference, new Selection(0.5, null), students, eval,
                new Run(out, seeds, 1234L, 0, "cpu"));
    }

    /** A copy with another selection section (the CLI's --ratios). */
    public PipelineConfig withSelection(Selection s) {
        return new PipelineConfig(data, tokenizer, teacher, reference, s, students, evaluation, run);
    }

    private static long steps(long base, double scale) { return Math.max(1, Math.round(base * scale)); }

    private static ModelSpec model(String family, int hidden, int layers, double widen) {
        int h = Math.max(32, (int) Math.round(hidden * widen / 32) * 32);
        return new ModelSpec(family, h, layers, 4, 2, null);
    }

    /** A copy with another run section (the CLI's --out, --seeds, --threads, --device). */
    public PipelineConfig withRun(Run r) {
        return new PipelineConfig(data, tokenizer, teacher, reference, selection, students, evaluation, r);
    }

    public PipelineConfig withStudents(Students s) {
        return new PipelineConfig(data, tokenizer, teacher, reference, selection, s, evaluation, run);
    }

    // ==== reading and writing ====

    static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(MapperFeature.SORT_PROPERTIES_ALPHABETICALLY)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    /** Reads and validates a config file; errors name the file, line, column and key. */
    public static PipelineConfig load(Path file) throws IOException {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file + ": pipeline config not found");
        }
        return parse(file, text);
    }

    /** Parses config text; file names the source in messages. */
    public static PipelineConfig parse(Path file, String text) {
        PipelineConfig c;
        try {
            c = MAPPER.readValue(text, PipelineConfig.class);
        } catch (JsonProcessingException e) {
            throw translate(file, text, e);
        }
        if (c == null) throw new ConfigFormatException(file, 1, 1, "", "expected a JSON object, found null");
        c.validate(file, text);
        return c;
    }

    public String toJson() {
        try {
            return MAPPER.writeValueAsString(this) + "\n";
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A record as a JSON tree (a stage's config slice). */
    static com.fasterxml.jackson.databind.node.ObjectNode tree(Object value) { return MAPPER.valueToTree(value); }

    private static ConfigFormatException translate(Path file, String text, JsonProcessingException e) {
        JsonLocation l = e.getLocation();
        int line = l == null ? -1 : l.getLineNr(), column = l == null ? -1 : l.getColumnNr();
        if (e instanceof JsonMappingException m && !path(m).isEmpty()) {
            // Jackson points past the offending value; the key itself is where a reader looks.
            int[] at = locate(text, path(m));
            if (at[0] > 0) { line = at[0]; column = at[1]; }
        }
        if (e instanceof UnrecognizedPropertyException u) {
            List<String> known = new ArrayList<>();
            for (Object k : u.getKnownPropertyIds()) known.add(String.valueOf(k));
            known.sort(null);
            String key = path(u);
            return new ConfigFormatException(file, line, column, key, "unknown key \"" + u.getPropertyName()
                    + "\" (expected one of: " + String.join(", ", known) + ")");
        }
        if (e instanceof JsonMappingException m && !path(m).isEmpty())
            return new ConfigFormatException(file, line, column, path(m), firstLine(m.getOriginalMessage()));
        return new ConfigFormatException(file, line, column, "", "not valid JSON: " + firstLine(e.getOriginalMessage()));
    }

    // ==== validation ====

    private void validate(Path file, String text) {
        Checker c = new Checker(file, text);
        if (data.inputs().isEmpty()) c.fail("data.inputs", "needs at least one corpus file");
        c.atLeast("data.holdOutEvery", data.holdOutEvery(), 2);
        c.atLeast("data.charsPerDocument", data.charsPerDocument(), 0);
        c.atLeast("data.seq", data.seq(), 8);
        c.atLeast("tokenizer.vocabSize", tokenizer.vocabSize(), 258);
        c.atLeast("tokenizer.studentVocabSize", tokenizer.studentVocabSize(), 258);
        if (tokenizer.studentVocabSize().equals(tokenizer.vocabSize()))
            c.fail("tokenizer.studentVocabSize", "must differ from tokenizer.vocabSize (" + tokenizer.vocabSize()
                    + "): the cross-tokenizer student needs another vocabulary");
        training(c, "teacher", teacher);
        training(c, "reference", reference);
        training(c, "students.training", students.training());
        model(c, "students.crossModel", students.crossModel());
        if (!(reference.subset() > 0 && reference.subset() <= 1))
            c.fail("reference.subset", "must be in (0, 1], got " + reference.subset());
        if (!(selection.ratio() > 0 && selection.ratio() <= 1))
            c.fail("selection.ratio", "must be in (0, 1], got " + selection.ratio());
        for (int i = 0; i < selection.curve().size(); i++) {
            Double r = selection.curve().get(i);
            if (r == null || !(r > 0 && r <= 1))
                c.fail("selection.curve", "ratio " + (i + 1) + " of the list must be in (0, 1], got " + r);
        }
        c.atLeast("data.referenceEvery", data.referenceEvery(), 2);
        for (String o : data.outOfDomain())
            if (data.inputs().contains(o))
                c.fail("data.outOfDomain", "'" + o + "' is also in data.inputs; an out-of-domain corpus must be one "
                        + "that no model trains on");
        c.atLeast("evaluation.outOfDomainDocuments", evaluation.outOfDomainDocuments(), 0);
        c.atLeast("evaluation.pairsPerParadigm", evaluation.pairsPerParadigm(), 0);
        c.atLeast("evaluation.charsPerDocument", evaluation.charsPerDocument(), 0);
        c.atLeast("evaluation.brownDocuments", evaluation.brownDocuments(), 0);
        c.atLeast("evaluation.taskExamples", evaluation.taskExamples(), 0);
        c.atLeast("evaluation.batchSize", evaluation.batchSize(), 1);
        c.atLeast("run.seeds", run.seeds(), 1);
        c.atLeast("run.threads", run.threads(), 0);
    }

    private static void training(Checker c, String key, Training t) {
        model(c, key + ".model", t.model());
        c.atLeast(key + ".steps", t.steps(), 1);
        c.atLeast(key + ".batchSize", t.batchSize(), 1);
        c.atLeast(key + ".warmup", t.warmup(), 0);
        if (!(t.lr() > 0)) c.fail(key + ".lr", "must be > 0, got " + t.lr());
        if (!(t.subset() > 0 && t.subset() <= 1)) c.fail(key + ".subset", "must be in (0, 1], got " + t.subset());
    }

    private static void model(Checker c, String key, ModelSpec m) {
        if (!List.of("qwen2", "llama", "mamba").contains(m.family()))
            c.fail(key + ".family", "'" + m.family() + "' is not one of qwen2, llama, mamba");
        c.atLeast(key + ".hidden", m.hidden(), 8);
        c.atLeast(key + ".layers", m.layers(), 1);
        c.atLeast(key + ".intermediate", m.intermediate(), 1);
        if (!m.family().equals("mamba")) {
            c.atLeast(key + ".heads", m.heads(), 1);
            c.atLeast(key + ".kvHeads", m.kvHeads(), 1);
            if (m.hidden() % m.heads() != 0)
                c.fail(key + ".heads", m.heads() + " heads do not divide hidden " + m.hidden());
            else if (m.heads() % m.kvHeads() != 0)
                c.fail(key + ".kvHeads", m.kvHeads() + " key/value heads do not divide " + m.heads() + " heads");
            else if ((m.hidden() / m.heads()) % 2 != 0)
                c.fail(key + ".heads", "head size hidden/heads = " + m.hidden() / m.heads() + " must be even (RoPE)");
        }
    }
}
