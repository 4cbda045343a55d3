/*
 * MiniPLM end to end (Gu et al. 2024): corpus split → tokenizers → prepare → teacher → reference (on a subset)
 * → score with both → Difference Sampling → students under equal compute → evaluation → report. Each step is
 * a cached Stage, so a rerun skips what is done, a killed run continues, and a changed setting reruns exactly
 * the stages that read it and those downstream. The pieces are the project's own: kd4j.data.Prepare,
 * kd4j.train.Trainer, kd4j.distill.score.ScoreRun, kd4j.distill.select.*, kd4j.distill.kd.KdLoss and
 * kd4j.train.Evaluator / MultipleChoiceEval; this class only wires them and keeps the books (tokens and FLOPs
 * each method spent).
 *
 * Students: (1) no KD on the original corpus, (2) MiniPLM on the refined corpus, (3) Vanilla KD (online teacher
 * logits, MiniPLM's compute-matched setting), (4) a student of another family with its own tokenizer on the
 * refined corpus re-tokenized (cross-tokenizer Difference Sampling), and (5) that family's no-KD baseline.
 */
package kd4j.distill.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import kd4j.autograd.MatmulPrecision;
import kd4j.data.AtomicFiles;
import kd4j.data.CorpusReader;
import kd4j.data.Document;
import kd4j.data.Prepare;
import kd4j.data.Shard;
import kd4j.data.TokenDataset;
import kd4j.data.TokenSequences;
import kd4j.distill.kd.KdLoss;
import kd4j.distill.kd.PretrainJob;
import kd4j.distill.score.ScoreFile;
import kd4j.distill.score.ScoreJob;
import kd4j.distill.score.ScoreRun;
import kd4j.distill.select.DifferenceSampling;
import kd4j.distill.select.SelectJob;
import kd4j.tensor.Backend;
import kd4j.tensor.Backends;
import kd4j.tokenizers.BpeTrainer;
import kd4j.tokenizers.Tokenizer;
import kd4j.tokenizers.Tokenizers;
import kd4j.train.EvalJob;
import kd4j.train.TrainConfig;
import kd4j.train.Trainer;

public final class Pipeline {
    static final String EOS = "<|endoftext|>";

    /** What a pipeline run produced: the report, every stage decision, and the rows of the results table. */
    public record Result(Path runDir, Path report, List<Stage.Outcome> outcomes, List<Report.MethodResult> methods) {}

    private final PipelineConfig cfg;
    private final Path base;
    private final Path runDir;
    private final PrintStream log;
    private final Stage.Runner runner;

    /**
     * base: the folder relative paths of the config are resolved against first (the config file's folder);
     * the kd4j home (-Dkd4j.home) and the working directory are tried next.
     */
    public Pipeline(PipelineConfig cfg, Path base, PrintStream log) {
        this.cfg = cfg;
        this.base = base;
        this.runDir = Path.of(cfg.run().out());
        this.log = log;
        this.runner = new Stage.Runner(runDir, log);
    }

    public Result run() throws IOException {
        Files.createDirectories(runDir);
        AtomicFiles.write(runDir.resolve("pipeline-config.json"), cfg.toJson());
        String device = cfg.run().device();
        if (device.equals("cpu") && cfg.run().threads() > 0) device = "cpu:" + cfg.run().threads();
        try (Backend be = Backends.open(device)) {
            return run(be);
        }
    }

    private Result run(Backend be) throws IOException {
        var data = cfg.data();
        List<Path> inputs = new ArrayList<>();
        for (String s : data.inputs()) inputs.add(resolve(s, "data.inputs"));

        // ---- corpus split, tokenizers, prepared data ----
        List<Path> outOfDomain = new ArrayList<>();
        for (String s : data.outOfDomain()) outOfDomain.add(resolve(s, "data.outOfDomain"));
        ObjectNode corpusSlice = PipelineConfig.tree(data).deepCopy();
        var sums = corpusSlice.putArray("inputSha256");
        for (Path p : inputs) sums.add(AtomicFiles.sha256(p));
        var oodSums = corpusSlice.putArray("outOfDomainSha256");
        for (Path p : outOfDomain) oodSums.add(AtomicFiles.sha256(p));
        Stage corpus = Stage.of("corpus", corpusSlice);
        JsonNode split = runner.run(corpus, dir -> splitCorpus(inputs, outOfDomain, dir));
        Path corpusDir = corpus.dir(runDir);
        Path trainText = corpusDir.resolve("train.jsonl"), referenceText = corpusDir.resolve("reference.jsonl");
        Path heldOutText = corpusDir.resolve("heldout.jsonl"), oodText = corpusDir.resolve("ood.jsonl");
        List<Path> allTraining = List.of(trainText, referenceText);

        var ts = cfg.tokenizer();
        Stage tokenizer = Stage.of("tokenizer", slice("vocabSize", ts.vocabSize(), "trainChars", ts.trainChars()), corpus);
        runner.run(tokenizer, dir -> trainTokenizer(allTraining, ts.vocabSize(), ts.trainChars(), dir));
        Stage studentTokenizer = Stage.of("tokenizer-student", slice("vocabSize", ts.studentVocabSize(),
                "trainChars", ts.trainChars()), corpus);
        runner.run(studentTokenizer, dir -> trainTokenizer(allTraining, ts.studentVocabSize(), ts.trainChars(), dir));

        // The pool (scored, selected from, the students' data), the reference model's own data, and the teacher's
        // (both): MiniPLM's reference never sees the pool it helps select from.
        Stage prepare = Stage.of("prepare", slice("seq", data.seq()), corpus, tokenizer);
        runner.run(prepare, dir -> prepare(List.of(trainText), tokenizer.dir(runDir), dir));
        Stage prepareReference = Stage.of("prepare-reference", slice("seq", data.seq()), corpus, tokenizer);
        runner.run(prepareReference, dir -> prepare(List.of(referenceText), tokenizer.dir(runDir), dir));
        Stage prepareTeacher = Stage.of("prepare-teacher", slice("seq", data.seq()), corpus, tokenizer);
        runner.run(prepareTeacher, dir -> prepare(allTraining, tokenizer.dir(runDir), dir));
        Stage prepareStudent = Stage.of("prepare-student", slice("seq", data.seq()), corpus, studentTokenizer);
        if (cfg.students().crossBaseline())
            runner.run(prepareStudent, dir -> prepare(List.of(trainText), studentTokenizer.dir(runDir), dir));
        Path prepared = prepare.dir(runDir).resolve("data");

        // ---- teacher and reference ----
        Stage teacher = Stage.of("teacher", PipelineConfig.tree(cfg.teacher()).deepCopy().put("seed", cfg.run().seed()), prepareTeacher);
        runner.run(teacher, dir -> train(be, "teacher", dir, cfg.teacher(), prepareTeacher.dir(runDir).resolve("data"),
                tokenizer.dir(runDir), cfg.run().seed(), null));
        Stage reference = Stage.of("reference", PipelineConfig.tree(cfg.reference()).deepCopy().put("seed", cfg.run().seed()), prepareReference);
        runner.run(reference, dir -> train(be, "reference", dir, cfg.reference(), prepareReference.dir(runDir).resolve("data"),
                tokenizer.dir(runDir), cfg.run().seed(), null));

        // ---- offline scoring and Difference Sampling ----
        Stage scoreTeacher = Stage.of("score-teacher", slice(), teacher, prepare);
        runner.run(scoreTeacher, dir -> score(be, "teacher", model(teacher), prepared, dir));
        Stage scoreReference = Stage.of("score-reference", slice(), reference, prepare);
        runner.run(scoreReference, dir -> score(be, "reference", model(reference), prepared, dir));
        Path teacherScores = scoreTeacher.dir(runDir).resolve("scores.bin");
        Path referenceScores = scoreReference.dir(runDir).resolve("scores.bin");

        double mainRatio = cfg.selection().ratio();
        Stage select = Stage.of("select", slice("ratio", mainRatio), scoreTeacher, scoreReference, prepare, tokenizer, corpus);
        JsonNode selected = runner.run(select, dir -> select(prepared, teacherScores, referenceScores, tokenizer.dir(runDir),
                null, mainRatio, trainText, dir));
        Stage selectStudent = Stage.of("select-student", slice("ratio", mainRatio, "packed", true), scoreTeacher,
                scoreReference, prepare, tokenizer, studentTokenizer);
        runner.run(selectStudent, dir -> select(prepared, teacherScores, referenceScores, tokenizer.dir(runDir),
                studentTokenizer.dir(runDir), mainRatio, null, dir));
        // The selection-ratio curve: one refined corpus per further ratio (the main ratio's is select).
        Map<Double, Stage> curveSelections = new LinkedHashMap<>();
        for (double r : cfg.selection().curveRatios()) {
            if (r == mainRatio) { curveSelections.put(r, select); continue; }
            Stage sr = Stage.of("select-r" + ratioName(r), slice("ratio", r), scoreTeacher, scoreReference, prepare, tokenizer, corpus);
            runner.run(sr, dir -> select(prepared, teacherScores, referenceScores, tokenizer.dir(runDir), null, r, trainText, dir));
            curveSelections.put(r, sr);
        }

        // ---- students under equal compute, every seed ----
        var st = cfg.students();
        List<Trained> models = new ArrayList<>();
        models.add(new Trained("teacher", "Teacher", teacher, tokenizer, 0));
        models.add(new Trained("reference", "Reference model", reference, tokenizer, 0));
        for (int k = 0; k < cfg.run().seeds(); k++) {
            long seed = cfg.run().seed() + k;
            ObjectNode sameFamily = PipelineConfig.tree(st.training()).deepCopy().put("seed", seed);
            ObjectNode cross = PipelineConfig.tree(st.training()).deepCopy().put("seed", seed);
            cross.set("model", PipelineConfig.tree(st.crossModel()));

            Stage noKd = Stage.of("student-nokd-s" + seed, sameFamily, prepare);
            runner.run(noKd, dir -> train(be, noKd.name(), dir, st.training(), prepared, tokenizer.dir(runDir), seed, null));
            models.add(new Trained("nokd", "Pre-Train w/o KD", noKd, tokenizer, seed));

            Stage miniPlm = Stage.of("student-miniplm-s" + seed, sameFamily, select);
            runner.run(miniPlm, dir -> train(be, miniPlm.name(), dir, st.training(), select.dir(runDir).resolve("data"),
                    tokenizer.dir(runDir), seed, null));
            models.add(new Trained("miniplm", "MiniPLM", miniPlm, tokenizer, seed));
            for (var c : curveSelections.entrySet()) {
                if (c.getKey() == mainRatio) continue;
                Stage sr = c.getValue();
                Stage curveStudent = Stage.of("student-miniplm-r" + ratioName(c.getKey()) + "-s" + seed, sameFamily, sr);
                runner.run(curveStudent, dir -> train(be, curveStudent.name(), dir, st.training(),
                        sr.dir(runDir).resolve("data"), tokenizer.dir(runDir), seed, null));
                models.add(new Trained(curveMethod(c.getKey()), "MiniPLM, ratio " + ratioName(c.getKey()), curveStudent,
                        tokenizer, seed));
            }

            if (st.vanillaKd()) {
                Stage vanilla = Stage.of("student-vanillakd-s" + seed, sameFamily, prepare, teacher);
                runner.run(vanilla, dir -> train(be, vanilla.name(), dir, st.training(), prepared, tokenizer.dir(runDir),
                        seed, model(teacher)));
                models.add(new Trained("vanillakd", "Vanilla KD", vanilla, tokenizer, seed));
            }

            Stage crossMiniPlm = Stage.of("student-cross-miniplm-s" + seed, cross, selectStudent);
            PipelineConfig.Training crossTraining = withModel(st.training(), st.crossModel());
            runner.run(crossMiniPlm, dir -> train(be, crossMiniPlm.name(), dir, crossTraining,
                    selectStudent.dir(runDir).resolve("data"), studentTokenizer.dir(runDir), seed, null));
            models.add(new Trained("cross-miniplm", "MiniPLM (" + st.crossModel().family() + ", own tokenizer)",
                    crossMiniPlm, studentTokenizer, seed));

            if (st.crossBaseline()) {
                Stage crossNoKd = Stage.of("student-cross-nokd-s" + seed, cross, prepareStudent);
                runner.run(crossNoKd, dir -> train(be, crossNoKd.name(), dir, crossTraining,
                        prepareStudent.dir(runDir).resolve("data"), studentTokenizer.dir(runDir), seed, null));
                models.add(new Trained("cross-nokd", "Pre-Train w/o KD (" + st.crossModel().family() + ", own tokenizer)",
                        crossNoKd, studentTokenizer, seed));
            }
        }

        // ---- evaluation of every model ----
        var ev = cfg.evaluation();
        Path brown = brownCorpus();
        Path pairs = ev.pairs().isEmpty() ? null : resolve(ev.pairs(), "evaluation.pairs");
        Path task = ev.task().isEmpty() ? null : resolve(ev.task(), "evaluation.task");
        ObjectNode evalSlice = PipelineConfig.tree(ev).deepCopy();
        evalSlice.put("brownPath", brown == null ? "" : brown.toString()).put("brownSha256", brown == null ? "" : AtomicFiles.sha256(brown));
        evalSlice.put("pairsSha256", pairs == null ? "" : AtomicFiles.sha256(pairs));
        evalSlice.put("taskSha256", task == null ? "" : AtomicFiles.sha256(task));
        Evaluation.Sets sets = new Evaluation.Sets(heldOutText, outOfDomain.isEmpty() ? null : oodText, brown, pairs, task);
        List<Stage> evalStages = new ArrayList<>();
        Map<Trained, JsonNode> evaluations = new LinkedHashMap<>();
        for (Trained t : models) {
            Stage e = Stage.of("eval-" + t.stage().name(), evalSlice, t.stage(), t.tokenizer(), corpus);
            evalStages.add(e);
            evaluations.put(t, runner.run(e, dir -> Evaluation.run(be, model(t.stage()), t.tokenizer().dir(runDir),
                    sets, ev, data.seq(), dir, log)));
        }

        // ---- report ----
        List<Stage> reportInputs = new ArrayList<>(evalStages);
        for (Trained t : models) reportInputs.add(t.stage());
        reportInputs.add(select);
        reportInputs.add(scoreTeacher);
        reportInputs.add(scoreReference);
        reportInputs.add(corpus);
        reportInputs.addAll(curveSelections.values());
        Stage report = Stage.of("report", slice("seeds", cfg.run().seeds(), "curve", cfg.selection().curveRatios()),
                reportInputs.toArray(Stage[]::new));
        List<Report.MethodResult> methods = new ArrayList<>();
        for (Trained t : models)
            methods.add(new Report.MethodResult(t.method(), t.label(), t.seed(), t.stage().name(),
                    read(t.stage().dir(runDir).resolve("done.json")).get("result"), evaluations.get(t)));
        Map<Double, JsonNode> curve = new LinkedHashMap<>();
        for (var c : curveSelections.entrySet()) curve.put(c.getKey(), read(c.getValue().dir(runDir).resolve("done.json")).get("result"));
        Report.Offline offline = new Report.Offline(read(scoreTeacher.dir(runDir).resolve("done.json")).get("result"),
                read(scoreReference.dir(runDir).resolve("done.json")).get("result"), selected,
                select.dir(runDir).resolve("report").resolve("report.md"), select.dir(runDir).resolve("report").resolve("domains.json"),
                split, read(prepare.dir(runDir).resolve("done.json")).get("result"),
                read(prepareReference.dir(runDir).resolve("done.json")).get("result"),
                read(prepareTeacher.dir(runDir).resolve("done.json")).get("result"),
                read(selectStudent.dir(runDir).resolve("done.json")).get("result"), curve);
        runner.run(report, dir -> Report.write(runDir, cfg, methods, offline, st.vanillaKd(), brown != null,
                runner.outcomes()));
        return new Result(runDir, runDir.resolve(Report.MARKDOWN), runner.outcomes(), methods);
    }

    /** "0.3" for 0.3, "0.25" for 0.25: a ratio as stage names and labels show it. */
    static String ratioName(double r) { return java.math.BigDecimal.valueOf(r).stripTrailingZeros().toPlainString(); }

    static String curveMethod(double r) { return "miniplm-r" + ratioName(r); }

    /** A trained model of the run: method key, label for the table, its stage, its tokenizer stage, seed. */
    private record Trained(String method, String label, Stage stage, Stage tokenizer, long seed) {}

    private Path model(Stage trained) { return trained.dir(runDir).resolve(Trainer.MODEL_DIR); }

    // ==== stage bodies ====

    /**
     * The split, by document in reading order: heldout.jsonl every holdOutEvery-th document, whole; of the rest,
     * reference.jsonl every referenceEvery-th and train.jsonl (the pool) the others, both cut to charsPerDocument at
     * a word boundary; ood.jsonl every document of the outOfDomain files, whole. Each line records the document's
     * domain (its file, and its group/label when the record has them). Documents whose text appears in more than
     * one role are counted (the report shows the count: 0 means the sets are disjoint, as they must be).
     */
    private JsonNode splitCorpus(List<Path> inputs, List<Path> outOfDomain, Path dir) throws IOException {
        var d = cfg.data();
        String[] roles = {"pool", "reference", "heldOut", "outOfDomain"};
        String[] files = {"train.jsonl", "reference.jsonl", "heldout.jsonl", "ood.jsonl"};
        long[] docs = new long[4], chars = new long[4];
        List<java.util.Set<String>> texts = new ArrayList<>();
        for (int r = 0; r < 4; r++) texts.add(new java.util.HashSet<>());
        Map<String, long[]> domains = new java.util.TreeMap<>();
        BufferedWriter[] out = new BufferedWriter[4];
        try {
            for (int r = 0; r < 4; r++) out[r] = Files.newBufferedWriter(AtomicFiles.tmpOf(dir.resolve(files[r])), StandardCharsets.UTF_8);
            long index = 0, kept = 0;
            try (CorpusReader reader = new CorpusReader(inputs, d.field(), w -> log.println("  warning: " + w))) {
                for (Document doc = reader.read(); doc != null; doc = reader.read(), index++) {
                    int role = index % d.holdOutEvery() == 0 ? 2 : kept++ % d.referenceEvery() == 0 ? 1 : 0;
                    write(out, role, doc, role == 2 ? doc.text() : cut(doc.text(), d.charsPerDocument()), docs, chars, texts, domains);
                }
            }
            if (!outOfDomain.isEmpty())
                try (CorpusReader reader = new CorpusReader(outOfDomain, d.field(), w -> log.println("  warning: " + w))) {
                    for (Document doc = reader.read(); doc != null; doc = reader.read())
                        write(out, 3, doc, doc.text(), docs, chars, texts, domains);
                }
        } finally {
            for (BufferedWriter w : out) if (w != null) w.close();
        }
        for (int r = 0; r < 4; r++)
            AtomicFiles.commit(dir.resolve(files[r]));
        log.printf(Locale.ROOT, "  pool %,d documents (%,d characters), reference data %,d (%,d), held out %,d (every %d-th), "
                        + "out-of-domain %,d%n", docs[0], chars[0], docs[1], chars[1], docs[2], d.holdOutEvery(), docs[3]);
        if (docs[0] == 0) throw new IllegalArgumentException("data.inputs: no pool documents left after holding out every "
                + d.holdOutEvery() + "-th of " + docs[2] + " documents");
        if (docs[1] == 0) throw new IllegalArgumentException("data.inputs: no documents for the reference model "
                + "(every data.referenceEvery = " + d.referenceEvery() + "-th training document)");
        ObjectNode result = JsonNodeFactory.instance.objectNode();
        for (int r = 0; r < 4; r++) result.putObject(roles[r]).put("documents", docs[r]).put("chars", chars[r]);
        // Exact duplicates across roles (the same text in two sets).
        result.put("sharedPoolReference", shared(texts.get(0), texts.get(1)))
                .put("sharedPoolHeldOut", shared(texts.get(0), texts.get(2)))
                .put("sharedReferenceHeldOut", shared(texts.get(1), texts.get(2)))
                .put("sharedTrainingOutOfDomain", shared(texts.get(0), texts.get(3)) + shared(texts.get(1), texts.get(3)));
        ObjectNode dn = result.putObject("domains");
        for (var e : domains.entrySet()) {
            ObjectNode o = dn.putObject(e.getKey());
            for (int r = 0; r < 4; r++) o.put(roles[r], e.getValue()[r]);
        }
        // Kept for the report under their old names too.
        result.put("trainDocuments", docs[0]).put("trainChars", chars[0]).put("heldOutDocuments", docs[2]);
        return result;
    }

    private static void write(BufferedWriter[] out, int role, Document doc, String text, long[] docs, long[] chars,
                              List<java.util.Set<String>> texts, Map<String, long[]> domains) throws IOException {
        String domain = domain(doc);
        ObjectNode line = JsonNodeFactory.instance.objectNode().put("id", doc.id())
                .put("source", Path.of(doc.source()).getFileName().toString()).put("domain", domain).put("text", text);
        out[role].write(line.toString());
        out[role].write('\n');
        docs[role]++;
        chars[role] += text.length();
        texts.get(role).add(doc.text());
        domains.computeIfAbsent(domain, k -> new long[4])[role]++;
    }

    /** A document's domain: its file name, and " / group (label)" when the record has a group or label. */
    static String domain(Document doc) {
        String file = Path.of(doc.source()).getFileName().toString();
        return doc.group().isEmpty() ? file : file + " / " + doc.group();
    }

    private static long shared(java.util.Set<String> a, java.util.Set<String> b) {
        long n = 0;
        for (String t : a) if (b.contains(t)) n++;
        return n;
    }

    /** The first max characters of text, ending at whitespace when there is some in the last fifth (0 = all). */
    static String cut(String text, int max) {
        return EvalJob.cut(text, max);
    }

    private JsonNode trainTokenizer(List<Path> trainText, int vocabSize, long maxChars, Path dir) throws IOException {
        BpeTrainer trainer = new BpeTrainer(vocabSize, 2, List.of(EOS));
        long chars = 0;
        try (CorpusReader reader = new CorpusReader(trainText, "text", w -> {})) {
            for (Document doc = reader.read(); doc != null && (maxChars == 0 || chars < maxChars); doc = reader.read()) {
                trainer.add(doc.text());
                chars += doc.text().length();
            }
        }
        BpeTrainer.Result r = trainer.train();
        r.save(dir);
        log.printf(Locale.ROOT, "  byte-level BPE: %,d tokens from %,d characters%n", r.vocab().size(), chars);
        return JsonNodeFactory.instance.objectNode().put("vocabSize", r.vocab().size()).put("chars", chars);
    }

    private JsonNode prepare(List<Path> text, Path tokenizerDir, Path dir) throws IOException {
        Tokenizer tok = Tokenizers.load(tokenizerDir);
        var o = Prepare.Options.defaults(text, dir.resolve("data")).withSeq(cfg.data().seq())
                .withValidation(0).withThreads(cfg.run().threads());
        var result = Prepare.run(o, tok, line -> {});
        var c = result.manifest().train();
        log.printf(Locale.ROOT, "  %,d instances of %d tokens (%,d tokens)%n", c.instances(), cfg.data().seq() + 1,
                c.instanceTokens());
        return JsonNodeFactory.instance.objectNode().put("instances", c.instances()).put("tokens", c.instanceTokens());
    }

    /** Trains one model; teacher != null makes it Vanilla KD against that (online) teacher. */
    private JsonNode train(Backend be, String what, Path dir, PipelineConfig.Training t, Path data, Path tokenizerDir,
                           long seed, Path teacher) throws IOException {
        Tokenizer tok = Tokenizers.load(tokenizerDir);
        int seq = cfg.data().seq();
        Files.createDirectories(dir);
        AtomicFiles.write(dir.resolve("config.json"), ModelJson.of(t.model(), tok.vocabSize(), tok.eosId(), seq));
        long[] lastPrint = {System.nanoTime()};
        long t0 = System.nanoTime();
        PretrainJob.Result done = new PretrainJob(trainConfig(dir, t, data, seq, t.steps(), seed, teacher))
                .resume(true).matchBudget(true).out(new java.io.PrintWriter(log, true))
                // a compute-matched budget (Vanilla KD) also sets the warm-up and the intervals that follow from it
                .budget(steps -> trainConfig(dir, t, data, seq, steps, seed, teacher))
                .trainInstances(all -> subset(all, t.subset()))
                .started(s -> log.printf(Locale.ROOT, "  %s: %s, %,d parameters; %,d steps of %,d tokens on %,d instances%n",
                        what, s.model().config().architecture(), s.model().parameters().numel(), s.config().totalSteps(),
                        s.config().tokensPerStep(), s.instances()))
                .listener(s -> {
                    long now = System.nanoTime();
                    if (now - lastPrint[0] > 15_000_000_000L || s.step() == s.totalSteps()) {
                        double elapsed = (now - t0) / 1e9;
                        log.printf(Locale.ROOT, "  %s: step %d/%d  loss %.3f  %,.0f tok/s%s%n", what, s.step(),
                                s.totalSteps(), s.loss(), s.tokensPerSecond(), s.step() == s.totalSteps() ? ""
                                : "  ETA " + Stage.duration(elapsed / Math.max(1, s.step()) * (s.totalSteps() - s.step())));
                        lastPrint[0] = now;
                    }
                })
                .run(be);
        Trainer.Result r = done.run();
        KdLoss kd = done.kd().kd();
        long parameters = done.model().parameters().numel();
        long tokens = r.steps() * done.config().tokensPerStep();
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        out.put("architecture", done.model().config().architecture()).put("parameters", parameters)
                .put("vocabSize", tok.vocabSize()).put("steps", r.steps()).put("tokens", tokens)
                .put("finalLoss", r.loss())
                // The usual 6 N per training token (forward 2 N + backward 4 N), N with embeddings as MiniPLM counts.
                .put("trainFlops", 6.0 * parameters * tokens)
                .put("teacherFlops", kd == null ? 0 : kd.teacherFlops())
                .put("teacherParameters", done.kd().teacherParameters())
                .put("instances", done.instances());
        return out;
    }

    /**
     * The Trainer's config for one pipeline training run, built as JSON so that keys the pipeline does not set
     * keep TrainConfig's defaults: AdamW (weight decay 0.1, clip 1.0), cosine to 10% after warm-up, a checkpoint
     * every quarter of the run (so a kill loses at most that), no periodic validation (evaluation is its own stage).
     */
    private TrainConfig trainConfig(Path dir, PipelineConfig.Training t, Path data, int seq, long steps, long seed,
                                    Path teacher) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.putObject("model").put("config", dir.resolve("config.json").toString());
        n.putObject("data").put("train", data.toString()).put("seqLength", seq).put("batchSize", t.batchSize());
        n.putObject("optimizer").put("lr", t.lr());
        n.putObject("schedule").put("kind", "cosine").put("warmupSteps", (int) Math.min(t.warmup(), steps));
        n.putObject("run").put("out", dir.toString()).put("maxSteps", steps).put("evalInterval", 0)
                .put("checkpointInterval", (int) Math.max(10, steps / 4)).put("keepCheckpoints", 1)
                .put("logInterval", (int) Math.max(1, steps / 100)).put("seed", seed).put("threads", cfg.run().threads())
                .put("device", cfg.run().device());
        if (teacher != null) n.putObject("kd").put("mode", "online").put("teacher", teacher.toString()).put("preset", "vanilla");
        return TrainConfig.parse(null, n.toString());
    }

    /** Every k-th instance so that a share `fraction` of them is seen (spread over the whole corpus). */
    static TokenSequences subset(TokenSequences all, double fraction) {
        if (fraction >= 1) return all;
        long n = Math.max(1, (long) Math.floor(all.size() * fraction));
        return new TokenSequences() {
            private long map(long i) { return (long) Math.floor(i * (double) all.size() / n); }
            @Override public long size() { return n; }
            @Override public int length(long i) { return all.length(map(i)); }
            @Override public int read(long i, int[] dst, int off) { return all.read(map(i), dst, off); }
            @Override public long totalTokens() {
                long s = 0;
                for (long i = 0; i < n; i++) s += length(i);
                return s;
            }
            @Override public Path path() { return all.path(); }
            @Override public void close() {}
        };
    }

    private JsonNode score(Backend be, String what, Path modelDir, Path data, Path dir) throws IOException {
        long[] lastPrint = {System.nanoTime()};
        ScoreJob.Result r = ScoreJob.run(new ScoreJob.Config(modelDir, data, null, dir.resolve("scores.bin"), Shard.WHOLE,
                cfg.evaluation().batchSize(), 8, MatmulPrecision.FP32), be, null, p -> {
            long now = System.nanoTime();
            if (now - lastPrint[0] > 15_000_000_000L || p.instancesDone() == p.instancesTotal()) {
                log.println("  " + what + ": " + p.line());
                lastPrint[0] = now;
            }
        });
        ScoreFile f = r.scores();
        long tokens = 0;
        for (int i = 0; i < f.size(); i++) tokens += f.count(i);
        long parameters = r.parameters();
        return JsonNodeFactory.instance.objectNode().put("instances", f.size()).put("scoredTokens", tokens)
                .put("parameters", parameters)
                // A forward pass costs 2 N per token; every input position is computed, counted or not.
                .put("flops", 2.0 * parameters * (long) f.size() * (cfg.data().seq()))
                .put("tokensPerSecond", r.last() == null ? 0 : r.last().tokensPerSecond());
    }

    /**
     * Difference Sampling at ratio. With studentTokenizerDir the kept instances are re-tokenized for the student and
     * packed into full rows (so the cross-tokenizer student reads as many tokens per step as its baseline); without
     * it, the selection report is written, with the kept share per domain (read from trainText's "domain" field).
     */
    private JsonNode select(Path data, Path teacherScores, Path referenceScores, Path tokenizerDir, Path studentTokenizerDir,
                            double ratio, Path trainText, Path dir) throws IOException {
        SelectJob.InstanceLabels domains = source -> {
            List<String> domainOfDocument = domains(trainText);
            List<String> labels = new ArrayList<>();
            for (TokenDataset.DocumentEntry e : source.instanceDocuments())
                labels.add(e == null || e.ordinal() >= domainOfDocument.size() ? "unknown" : domainOfDocument.get((int) e.ordinal()));
            return labels;
        };
        boolean retokenize = studentTokenizerDir != null;
        SelectJob.Result result = SelectJob.run(new SelectJob.Config(teacherScores, referenceScores, ratio, data,
                tokenizerDir, studentTokenizerDir, retokenize, DifferenceSampling.MissingPolicy.EXCLUDE, dir.resolve("data"),
                retokenize ? null : dir.resolve("report"), "teacher", "reference", domains));
        var s = result.selection();
        TokenDataset.Manifest written = result.written();
        var train = written.train();
        log.printf(Locale.ROOT, "  kept %,d of %,d instances (ratio %s, cut-off difference %.4f)%s%n", s.keptCount(),
                s.scoredCount(), ratio, s.cutoff(), !retokenize ? ""
                        : String.format(Locale.ROOT, ", re-tokenized for the student and packed into %,d rows (%,d tokens)",
                                train.instances(), train.instanceTokens()));
        return JsonNodeFactory.instance.objectNode().put("ratio", ratio).put("kept", s.keptCount()).put("scored", s.scoredCount())
                .put("missing", s.missing().length).put("cutoff", s.cutoff())
                .put("rows", train.instances()).put("tokens", train.instanceTokens());
    }

    /** The "domain" field of every line of a split file, in order. */
    private static List<String> domains(Path splitFile) throws IOException {
        List<String> out = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(splitFile, StandardCharsets.UTF_8)) {
            for (String line = r.readLine(); line != null; line = r.readLine())
                if (!line.isBlank()) out.add(PipelineConfig.MAPPER.readTree(line).path("domain").asText("unknown"));
        }
        return out;
    }

    // ==== helpers ====

    private static PipelineConfig.Training withModel(PipelineConfig.Training t, PipelineConfig.ModelSpec m) {
        return new PipelineConfig.Training(m, t.steps(), t.batchSize(), t.lr(), t.warmup(), t.subset());
    }

    private static ObjectNode slice(Object... kv) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        for (int i = 0; i < kv.length; i += 2) n.set((String) kv[i], PipelineConfig.MAPPER.valueToTree(kv[i + 1]));
        return n;
    }

    private static JsonNode read(Path p) throws IOException { return PipelineConfig.MAPPER.readTree(p.toFile()); }

    /** A config path: relative to the config's folder, else the kd4j home, else the working directory. */
    Path resolve(String path, String key) throws IOException {
        Path p = Path.of(path);
        if (p.isAbsolute()) {
            if (Files.exists(p)) return p;
        } else {
            List<Path> tried = new ArrayList<>();
            if (base != null) tried.add(base.resolve(p));
            String home = System.getProperty("kd4j.home");
            if (home != null) tried.add(Path.of(home).resolve(p));
            tried.add(p.toAbsolutePath());
            for (Path c : tried) if (Files.exists(c)) return c.normalize();
        }
        throw new java.nio.file.NoSuchFileException(key + ": '" + path + "' not found (relative paths are resolved against "
                + "the config file's folder, then -Dkd4j.home, then the working directory)");
    }

    /**
     * The Brown corpus for out-of-domain evaluation, or null (the column is skipped with a note): "" = none,
     * "auto" = KD4J_FIXTURES / -Dkd4j.fixtures / ../shared/fixtures, each + corpus/brown.jsonl, when present.
     */
    Path brownCorpus() throws IOException {
        String b = cfg.evaluation().brown();
        if (b.isEmpty()) return null;
        if (!b.equals("auto")) return resolve(b, "evaluation.brown");
        List<Path> roots = new ArrayList<>();
        if (System.getenv("KD4J_FIXTURES") != null) roots.add(Path.of(System.getenv("KD4J_FIXTURES")));
        if (System.getProperty("kd4j.fixtures") != null) roots.add(Path.of(System.getProperty("kd4j.fixtures")));
        if (System.getProperty("kd4j.home") != null) roots.add(Path.of(System.getProperty("kd4j.home"), "..", "shared", "fixtures"));
        if (base != null) roots.add(base.resolve("../shared/fixtures"));
        roots.add(Path.of("../shared/fixtures"));
        for (Path r : roots) {
            Path p = r.resolve("corpus").resolve("brown.jsonl");
            if (Files.isRegularFile(p)) return p.toAbsolutePath().normalize();
        }
        return null;
    }
}
