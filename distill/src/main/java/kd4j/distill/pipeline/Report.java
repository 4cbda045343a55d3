/*
 * The pipeline's report: report.md with the data split (sizes of teacher data, reference data, pool and held-out
 * sets, and that they are disjoint), the results table in the MiniPLM paper's form (one row per method; in-domain
 * held-out loss, the bundled out-of-domain corpus, Brown when present, BLiMP and next-sentence accuracy; mean ± sd
 * over seeds), which columns sit at chance for every model, the teacher's margin, each method against its
 * baseline as a paired difference over seeds with its 95% t interval (Statistics; real only when the interval
 * excludes 0), what Difference Sampling kept per domain with examples, the selection-ratio curve, the compute each
 * method spent, and stage timings; results.json with every number; and plots as PNG + SVG: dots with seed
 * intervals on zoomed axes (held-out losses, BLiMP per field, the ratio curve) and training loss against compute.
 */
package kd4j.distill.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;
import kd4j.data.AtomicFiles;
import kd4j.train.Metrics;
import kd4j.train.Trainer;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.markers.SeriesMarkers;

public final class Report {
    public static final String MARKDOWN = "report.md";
    public static final String RESULTS = "results.json";

    /** One trained model: method key, table label, seed (0 for teacher/reference), its stage, train and eval results. */
    public record MethodResult(String method, String label, long seed, String stage, JsonNode train, JsonNode eval) {}

    /**
     * The offline MiniPLM work and the data it ran on: both scoring runs, the selection and its report (markdown,
     * domains.json), the corpus split, the prepared pool / reference / teacher data, the cross student's packed
     * refined data, and the selection of each ratio of the curve (empty: no curve).
     */
    public record Offline(JsonNode teacherScores, JsonNode referenceScores, JsonNode selection, Path selectionReport,
                          Path domains, JsonNode split, JsonNode pool, JsonNode referenceData, JsonNode teacherData,
                          JsonNode crossRefined, Map<Double, JsonNode> curve) {}

    /** What the report measures for every model: where it is in the eval JSON, its name, which way is better. */
    enum Metric {
        IN_DOMAIN("inDomain", "loss", "in-domain loss", true, 4),
        OUT_OF_DOMAIN("outOfDomain", "loss", "out-of-domain loss", true, 4),
        BROWN("brown", "loss", "Brown loss", true, 4),
        PAIRS("pairs", "accuracy", "BLiMP accuracy", false, 3),
        TASK("task", "accuracy", "next-sentence accuracy", false, 3),
        IN_DOMAIN_BPB("inDomain", "bitsPerByte", "in-domain bits/byte", true, 4),
        OUT_OF_DOMAIN_BPB("outOfDomain", "bitsPerByte", "out-of-domain bits/byte", true, 4),
        BROWN_BPB("brown", "bitsPerByte", "Brown bits/byte", true, 4);

        final String set, field, title;
        final boolean lowerIsBetter;
        final int digits;

        Metric(String set, String field, String title, boolean lowerIsBetter, int digits) {
            this.set = set; this.field = field; this.title = title; this.lowerIsBetter = lowerIsBetter; this.digits = digits;
        }

        double of(JsonNode eval) { return eval.path(set).path(field).asDouble(Double.NaN); }
    }

    /** A method's figures over its seeds: one Stat per Metric, and its compute. */
    public record Aggregate(String method, String label, int seeds, Map<Metric, Stat> stats, double tokens,
                            double trainFlops, double teacherFlops, long parameters, String architecture, int vocabSize,
                            int taskExamples, int pairExamples) {
        Stat stat(Metric m) { return stats.get(m); }
    }

    /** Mean, sample standard deviation (NaN with one value) and the 95% t half-width of the mean. */
    public record Stat(double mean, double sd, int n) {
        static Stat of(List<Double> xs) {
            List<Double> v = xs.stream().filter(Double::isFinite).toList();
            if (v.isEmpty()) return new Stat(Double.NaN, Double.NaN, 0);
            double m = v.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
            double ss = 0;
            for (double x : v) ss += (x - m) * (x - m);
            return new Stat(m, v.size() > 1 ? Math.sqrt(ss / (v.size() - 1)) : Double.NaN, v.size());
        }

        /** t(0.975, n-1) sd / sqrt(n); 0 with one value. */
        double halfWidth() { return n < 2 ? 0 : Statistics.tQuantile(0.975, n - 1) * sd / Math.sqrt(n); }

        String format(int digits) {
            if (n == 0) return "–";
            String f = "%." + digits + "f";
            return String.format(Locale.ROOT, f, mean) + (Double.isNaN(sd) ? "" : String.format(Locale.ROOT, " ± " + f, sd));
        }
    }

    /** Method and baseline pairs the report compares (curve methods are added against "nokd"). */
    static final List<String[]> PAIRS = List.of(new String[] {"miniplm", "nokd"}, new String[] {"vanillakd", "nokd"},
            new String[] {"cross-miniplm", "cross-nokd"});

    private Report() {}

    /** Writes report.md, results.json and plots into runDir; returns a small summary for the stage cache. */
    static JsonNode write(Path runDir, PipelineConfig cfg, List<MethodResult> results, Offline offline, boolean vanillaRun,
                          boolean brownRun, List<Stage.Outcome> outcomes) throws IOException {
        List<Aggregate> rows = aggregate(results);
        Map<String, Aggregate> by = new LinkedHashMap<>();
        for (Aggregate a : rows) by.put(a.method(), a);
        boolean oodRun = rows.stream().anyMatch(a -> a.stat(Metric.OUT_OF_DOMAIN).n() > 0);
        boolean pairsRun = rows.stream().anyMatch(a -> a.stat(Metric.PAIRS).n() > 0);
        String oodName = String.join(", ", cfg.data().outOfDomain().stream().map(s -> Path.of(s).getFileName().toString()).toList());
        Path plots = runDir.resolve("plots");
        Files.createDirectories(plots);
        System.setProperty("java.awt.headless", "true");
        List<Aggregate> students = rows.stream().filter(a -> !a.method().equals("teacher") && !a.method().equals("reference")).toList();
        dots(students, List.of(Metric.IN_DOMAIN), "Held-out in-domain loss of the students (mean, 95% seed interval)",
                "loss (nats/token, own tokenizer)", plots.resolve("loss-by-method"));
        List<Metric> ood = new ArrayList<>();
        if (oodRun) ood.add(Metric.OUT_OF_DOMAIN);
        if (brownRun) ood.add(Metric.BROWN);
        if (!ood.isEmpty()) dots(students, ood, "Out-of-domain loss of the students (mean, 95% seed interval)",
                "loss (nats/token, own tokenizer)", plots.resolve("loss-out-of-domain-by-method"));
        if (pairsRun) blimpByField(rows, results, plots.resolve("blimp-by-field"));
        lossCurves(runDir, results, plots);
        List<Double> ratios = new ArrayList<>(offline.curve().keySet());
        if (!ratios.isEmpty()) curvePlots(cfg, by, ratios, plots);

        StringBuilder md = new StringBuilder();
        md.append("# kd4j MiniPLM pipeline report\n\n");
        md.append("Teacher and reference model score every instance of the pool offline; Difference Sampling keeps the ")
          .append(pct(cfg.selection().ratio())).append(" of instances where mean log p(teacher) − mean log p(reference) ")
          .append("is highest; students pre-train on what is kept for the same number of steps as the baseline ")
          .append("(equal compute). Losses are nats per token of each model's own tokenizer (lower is better); BLiMP ")
          .append("accuracy is the share of minimal pairs whose good sentence is more likely (chance 50%); next-sentence ")
          .append("accuracy is zero-shot on a four-way task (chance 25%). ")
          .append(cfg.run().seeds() > 1 ? "Students: mean ± sd over " + cfg.run().seeds() + " seeds (teacher, reference "
                  + "and selection shared).\n\n" : "Students: one seed.\n\n");

        dataSplit(md, offline, cfg.data());

        md.append("## Results\n\n");
        md.append("| Method | Model | In-domain loss ↓ | ").append(oodRun ? "Out-of-domain loss (" + oodName + ") ↓ | " : "")
          .append(brownRun ? "Brown loss ↓ | " : "").append(pairsRun ? "BLiMP acc ↑ | " : "")
          .append("Next-sentence acc ↑ | Training tokens | Training FLOPs | Teacher FLOPs (online) |\n");
        int cols = 7 + (oodRun ? 1 : 0) + (brownRun ? 1 : 0) + (pairsRun ? 1 : 0);
        md.append("|---|---|").append("---:|".repeat(cols - 2)).append('\n');
        for (Aggregate a : rows) {
            if (a.method().equals("vanillakd") || a.method().startsWith("miniplm-r")) continue;
            row(md, a, oodRun, brownRun, pairsRun);
            if (a.method().equals("nokd")) {
                Aggregate v = by.get("vanillakd");
                if (v != null) row(md, v, oodRun, brownRun, pairsRun);
                else md.append("| Vanilla KD | – | not run: students.vanillaKd is false |").append(" |".repeat(cols - 3)).append('\n');
            }
        }
        for (Aggregate a : rows) if (a.method().startsWith("miniplm-r")) row(md, a, oodRun, brownRun, pairsRun);
        md.append('\n');
        if (!brownRun)
            md.append("Brown column skipped: no Brown corpus found (set KD4J_FIXTURES to the fixtures folder, or "
                    + "evaluation.brown to a brown.jsonl); the out-of-domain column uses the bundled corpus.\n\n");
        java.util.Set<Metric> atChance = java.util.EnumSet.noneOf(Metric.class);
        if (chance(md, rows, Metric.TASK, 0.25, "next-sentence")) atChance.add(Metric.TASK);
        if (pairsRun && chance(md, rows, Metric.PAIRS, 0.5, "BLiMP")) atChance.add(Metric.PAIRS);

        md.append("Bits per byte of UTF-8 text (comparable across tokenizers):\n\n");
        md.append("| Method | Model | In-domain bits/byte ↓ |").append(oodRun ? " Out-of-domain bits/byte ↓ |" : "")
          .append(brownRun ? " Brown bits/byte ↓ |" : "").append("\n|---|---|---:|").append(oodRun ? "---:|" : "")
          .append(brownRun ? "---:|" : "").append('\n');
        for (Aggregate a : rows) {
            md.append("| ").append(a.label()).append(" | ").append(model(a)).append(" | ").append(a.stat(Metric.IN_DOMAIN_BPB).format(4)).append(" |");
            if (oodRun) md.append(' ').append(a.stat(Metric.OUT_OF_DOMAIN_BPB).format(4)).append(" |");
            if (brownRun) md.append(' ').append(a.stat(Metric.BROWN_BPB).format(4)).append(" |");
            md.append('\n');
        }
        md.append("\n![held-out loss per method](plots/loss-by-method.png)\n\n");
        if (!ood.isEmpty()) md.append("![out-of-domain loss per method](plots/loss-out-of-domain-by-method.png)\n\n");
        if (pairsRun) md.append("![BLiMP accuracy per field](plots/blimp-by-field.png)\n\n");
        md.append("![training loss against compute](plots/training-loss.png)\n\n");

        List<Metric> compared = new ArrayList<>(List.of(Metric.IN_DOMAIN));
        if (oodRun) compared.add(Metric.OUT_OF_DOMAIN);
        if (brownRun) compared.add(Metric.BROWN);
        if (pairsRun) compared.add(Metric.PAIRS);
        compared.add(Metric.TASK);
        ArrayNode comparisons = JsonNodeFactory.instance.arrayNode();
        md.append("## Is the difference real?\n\n");
        teacherMargin(md, by, students, offline);
        comparisons(md, results, by, compared, atChance, cfg.run().seeds(), comparisons);
        inDomainByDomain(md, results, by, comparisons);
        domainsRead(md, offline);
        if (!ratios.isEmpty()) curve(md, results, by, ratios, offline, pairsRun, comparisons);

        md.append("## Compute\n\n");
        double scoringFlops = offline.teacherScores().path("flops").asDouble() + offline.referenceScores().path("flops").asDouble();
        Aggregate reference = by.get("reference");
        double referenceTrain = reference == null ? 0 : reference.trainFlops();
        md.append(String.format(Locale.ROOT, "Training FLOPs = 6 N per token (N = all parameters, embeddings included); a "
                + "teacher forward costs 2 N_teacher per token. Vanilla KD runs the teacher online on every batch, so its "
                + "steps are cut to match the others' compute (MiniPLM's setting). MiniPLM's cost is offline and paid once "
                + "for any number of students: scoring %s instances with teacher and reference took %s FLOPs (teacher "
                + "scoring at %,.0f tokens/s), and training the reference %s FLOPs.%n%n",
                fmt(offline.teacherScores().path("instances").asLong()), sci(scoringFlops),
                offline.teacherScores().path("tokensPerSecond").asDouble(), sci(referenceTrain)));
        equalTokens(md, offline);
        md.append(String.format(Locale.ROOT, "Selection: kept %s of %s scored instances (cut-off difference %.4f); "
                + "details, histogram, kept share per domain and the highest, lowest and borderline instances: "
                + "[selection report](%s).%n%n",
                fmt(offline.selection().path("kept").asLong()), fmt(offline.selection().path("scored").asLong()),
                offline.selection().path("cutoff").asDouble(), runDir.relativize(offline.selectionReport())));

        md.append("## Stages\n\n| Stage | This run | Seconds when it ran |\n|---|---|---:|\n");
        Map<String, Stage.Outcome> last = new LinkedHashMap<>();
        for (Stage.Outcome o : outcomes) last.put(o.stage(), o);
        for (Stage.Outcome o : last.values()) {
            double seconds = o.seconds();
            Path done = runDir.resolve("stages").resolve(o.stage()).resolve("done.json");
            if (o.action() == Stage.Action.SKIPPED && Files.isRegularFile(done))
                seconds = PipelineConfig.MAPPER.readTree(done.toFile()).path("seconds").asDouble();
            md.append("| ").append(o.stage()).append(" | ").append(o.action().name().toLowerCase(Locale.ROOT))
              .append(" | ").append(String.format(Locale.ROOT, "%.1f", seconds)).append(" |\n");
        }
        md.append("\nConfig: [pipeline-config.json](pipeline-config.json). Every stage's folder is under `stages/`; "
                + "the log of what ran or was skipped is `stages.jsonl`.\n");
        AtomicFiles.write(runDir.resolve(MARKDOWN), md.toString());

        ObjectNode json = JsonNodeFactory.instance.objectNode();
        ArrayNode per = json.putArray("runs");
        for (MethodResult r : results) {
            ObjectNode n = per.addObject().put("method", r.method()).put("label", r.label()).put("seed", r.seed())
                    .put("stage", r.stage());
            n.set("train", r.train());
            n.set("eval", r.eval());
        }
        ArrayNode agg = json.putArray("methods");
        for (Aggregate a : rows) agg.add(aggregateJson(a));
        json.set("comparisons", comparisons);
        ObjectNode off = json.putObject("offline");
        off.set("teacherScores", offline.teacherScores());
        off.set("referenceScores", offline.referenceScores());
        off.set("selection", offline.selection());
        off.set("split", offline.split());
        off.set("pool", offline.pool());
        off.set("referenceData", offline.referenceData());
        off.set("teacherData", offline.teacherData());
        off.set("crossRefined", offline.crossRefined());
        ObjectNode cj = off.putObject("curve");
        offline.curve().forEach((r, n) -> cj.set(Pipeline.ratioName(r), n));
        json.set("config", PipelineConfig.tree(cfg));
        AtomicFiles.write(runDir.resolve(RESULTS), PipelineConfig.MAPPER.writeValueAsBytes(json));
        return JsonNodeFactory.instance.objectNode().put("methods", rows.size());
    }

    private static ObjectNode aggregateJson(Aggregate a) {
        ObjectNode n = JsonNodeFactory.instance.objectNode().put("method", a.method()).put("label", a.label())
                .put("seeds", a.seeds());
        String[] keys = {"inDomain", "outOfDomain", "brown", "pairs", "accuracy", "inDomainBpb", "outOfDomainBpb", "brownBpb"};
        for (Metric m : Metric.values()) {
            Stat s = a.stat(m);
            ObjectNode o = n.putObject(keys[m.ordinal()]);
            put(o, "mean", s.mean());
            put(o, "sd", s.sd());
            o.put("n", s.n());
        }
        n.put("tokens", a.tokens()).put("trainFlops", a.trainFlops()).put("teacherFlops", a.teacherFlops())
                .put("parameters", a.parameters()).put("architecture", a.architecture()).put("vocabSize", a.vocabSize())
                .put("taskExamples", a.taskExamples()).put("pairExamples", a.pairExamples());
        return n;
    }

    private static void put(ObjectNode o, String key, double v) {
        if (Double.isFinite(v)) o.put(key, v); else o.putNull(key);
    }

    static List<Aggregate> aggregate(List<MethodResult> results) {
        Map<String, List<MethodResult>> byMethod = new LinkedHashMap<>();
        for (MethodResult r : results) byMethod.computeIfAbsent(r.method(), k -> new ArrayList<>()).add(r);
        List<Aggregate> out = new ArrayList<>();
        for (var e : byMethod.entrySet()) {
            List<MethodResult> rs = e.getValue();
            MethodResult first = rs.getFirst();
            Map<Metric, Stat> stats = new java.util.EnumMap<>(Metric.class);
            for (Metric m : Metric.values()) stats.put(m, stat(rs, r -> m.of(r.eval())));
            out.add(new Aggregate(e.getKey(), first.label(), rs.size(), stats,
                    mean(rs, r -> r.train().path("tokens").asDouble()),
                    mean(rs, r -> r.train().path("trainFlops").asDouble()),
                    mean(rs, r -> r.train().path("teacherFlops").asDouble()),
                    first.train().path("parameters").asLong(), first.train().path("architecture").asText(),
                    first.train().path("vocabSize").asInt(),
                    first.eval().path("task").path("examples").asInt(), first.eval().path("pairs").path("examples").asInt()));
        }
        return out;
    }

    private static Stat stat(List<MethodResult> rs, ToDoubleFunction<MethodResult> f) {
        List<Double> xs = new ArrayList<>();
        for (MethodResult r : rs) xs.add(f.applyAsDouble(r));
        return Stat.of(xs);
    }

    private static double mean(List<MethodResult> rs, ToDoubleFunction<MethodResult> f) {
        return rs.stream().mapToDouble(f).average().orElse(Double.NaN);
    }

    private static void row(StringBuilder md, Aggregate a, boolean oodRun, boolean brownRun, boolean pairsRun) {
        md.append("| ").append(a.label()).append(" | ").append(model(a)).append(" | ").append(a.stat(Metric.IN_DOMAIN).format(4)).append(" | ");
        if (oodRun) md.append(a.stat(Metric.OUT_OF_DOMAIN).format(4)).append(" | ");
        if (brownRun) md.append(a.stat(Metric.BROWN).format(4)).append(" | ");
        if (pairsRun) md.append(a.stat(Metric.PAIRS).format(3)).append(" | ");
        md.append(a.stat(Metric.TASK).format(3)).append(" | ").append(fmt((long) a.tokens())).append(" | ")
          .append(sci(a.trainFlops())).append(" | ").append(a.teacherFlops() > 0 ? sci(a.teacherFlops()) : "0").append(" |\n");
    }

    private static String model(Aggregate a) {
        String arch = a.architecture().replace("ForCausalLM", "");
        return String.format(Locale.ROOT, "%s %.2fM, vocab %,d", arch, a.parameters() / 1e6, a.vocabSize());
    }

    // ==== the data ====

    private static void dataSplit(StringBuilder md, Offline o, PipelineConfig.Data data) {
        JsonNode s = o.split();
        md.append("## Data\n\nThe corpus is split by document, as MiniPLM splits its data: the reference model trains on ")
          .append("data of its own that is not in the pool it helps select from; the teacher, a general model, trains on ")
          .append("pool and reference data together; held-out documents and the out-of-domain corpus are seen by no ")
          .append("model during training.\n\n");
        md.append("| Set | Documents | Characters | Instances | Tokens |\n|---|---:|---:|---:|---:|\n");
        splitRow(md, "Pool (scored, selected from; the students' data)", s.path("pool"), o.pool());
        splitRow(md, "Reference model's data (every " + data.referenceEvery() + "th of the rest; not in the pool)",
                s.path("reference"), o.referenceData());
        splitRow(md, "Teacher's data (pool + reference data)", null, o.teacherData());
        splitRow(md, "Held out, in-domain (every " + data.holdOutEvery() + "th document, whole)", s.path("heldOut"), null);
        splitRow(md, "Out-of-domain corpus (no model trains on it)", s.path("outOfDomain"), null);
        md.append('\n');
        long pr = s.path("sharedPoolReference").asLong(), ph = s.path("sharedPoolHeldOut").asLong(),
                rh = s.path("sharedReferenceHeldOut").asLong(), to = s.path("sharedTrainingOutOfDomain").asLong();
        md.append(pr + ph + rh + to == 0
                ? "Disjoint: no document text occurs in two of pool, reference data, held-out set and out-of-domain corpus (checked text by text).\n\n"
                : String.format(Locale.ROOT, "**Not fully disjoint**: identical document texts shared by pool and reference data %d, "
                        + "pool and held-out %d, reference and held-out %d, training and out-of-domain %d (duplicates in the "
                        + "source corpora).%n%n", pr, ph, rh, to));
        JsonNode domains = s.path("domains");
        if (domains.size() > 0) {
            md.append("| Domain | Pool | Reference data | Held out | Out-of-domain |\n|---|---:|---:|---:|---:|\n");
            domains.fields().forEachRemaining(e -> md.append("| ").append(e.getKey()).append(" | ")
                    .append(fmt(e.getValue().path("pool").asLong())).append(" | ").append(fmt(e.getValue().path("reference").asLong()))
                    .append(" | ").append(fmt(e.getValue().path("heldOut").asLong())).append(" | ")
                    .append(fmt(e.getValue().path("outOfDomain").asLong())).append(" |\n"));
            md.append("\nDocuments per domain and set.\n\n");
        }
    }

    private static void splitRow(StringBuilder md, String name, JsonNode docs, JsonNode prepared) {
        md.append("| ").append(name).append(" | ").append(docs == null ? "–" : fmt(docs.path("documents").asLong()))
          .append(" | ").append(docs == null ? "–" : fmt(docs.path("chars").asLong())).append(" | ")
          .append(prepared == null ? "–" : fmt(prepared.path("instances").asLong())).append(" | ")
          .append(prepared == null ? "–" : fmt(prepared.path("tokens").asLong())).append(" |\n");
    }

    // ==== reading the numbers ====

    /**
     * A column is "at chance" for a model when its accuracy is within 1.96 binomial standard errors of chance at the
     * task's size; when that holds for every model, the column cannot rank them, and the report says so.
     */
    static boolean atChance(double accuracy, double chance, int examples) {
        return examples > 0 && Math.abs(accuracy - chance) <= 1.96 * Math.sqrt(chance * (1 - chance) / examples);
    }

    /** Writes whether the column is at chance for every model, and returns that. */
    private static boolean chance(StringBuilder md, List<Aggregate> rows, Metric m, double chance, String name) {
        List<String> above = new ArrayList<>();
        int measured = 0;
        for (Aggregate a : rows) {
            Stat s = a.stat(m);
            if (s.n() == 0) continue;
            measured++;
            int n = m == Metric.PAIRS ? a.pairExamples() : a.taskExamples();
            if (!atChance(s.mean(), chance, n)) above.add(a.label() + String.format(Locale.ROOT, " (%.3f)", s.mean()));
        }
        if (measured == 0) return false;
        if (above.isEmpty())
            md.append(String.format(Locale.ROOT, "**The %s column is at chance for every model, the teacher included** (all "
                    + "within 1.96 standard errors of %.0f%%): it cannot rank these models.%n%n", name, 100 * chance));
        else md.append(String.format(Locale.ROOT, "%s: off chance (%.0f%%, beyond 1.96 standard errors): %s.%n%n", name,
                100 * chance, String.join(", ", above)));
        return above.isEmpty();
    }

    private static void teacherMargin(StringBuilder md, Map<String, Aggregate> by, List<Aggregate> students, Offline o) {
        Aggregate t = by.get("teacher");
        if (t == null || students.isEmpty()) return;
        Aggregate closest = null;
        for (Aggregate s : students)
            if (s.vocabSize() == t.vocabSize() && (closest == null || s.stat(Metric.IN_DOMAIN).mean() < closest.stat(Metric.IN_DOMAIN).mean()))
                closest = s;
        double bpbMargin = Double.POSITIVE_INFINITY;
        for (Aggregate s : students) bpbMargin = Math.min(bpbMargin, s.stat(Metric.IN_DOMAIN_BPB).mean() - t.stat(Metric.IN_DOMAIN_BPB).mean());
        long teacherTokens = o.teacherData().path("tokens").asLong(), poolTokens = o.pool().path("tokens").asLong();
        md.append("**Teacher.** ");
        if (closest != null) {
            double margin = closest.stat(Metric.IN_DOMAIN).mean() - t.stat(Metric.IN_DOMAIN).mean();
            md.append(String.format(Locale.ROOT, "In-domain loss %.4f, %.4f nats below the best same-tokenizer student (%s); ",
                    t.stat(Metric.IN_DOMAIN).mean(), margin, closest.label()));
        }
        md.append(String.format(Locale.ROOT, "in bits per byte, %.4f below the best student of any tokenizer: the teacher is %s. "
                + "It trained on %s tokens of data against the pool's %s (%s).%n%n", bpbMargin,
                bpbMargin > 0 ? "stronger than every student" : "**not** stronger than every student", fmt(teacherTokens),
                fmt(poolTokens), teacherTokens >= poolTokens ? "at least as much text as the pool" : "**less** text than the pool"));
    }

    /** Per seed: a method's values for one metric, keyed by seed. */
    private static Map<Long, Double> bySeed(List<MethodResult> results, String method, Metric m) {
        return bySeed(results, method, m::of);
    }

    private static Map<Long, Double> bySeed(List<MethodResult> results, String method, ToDoubleFunction<JsonNode> value) {
        Map<Long, Double> out = new TreeMap<>();
        for (MethodResult r : results) if (r.method().equals(method)) out.put(r.seed(), value.applyAsDouble(r.eval()));
        return out;
    }

    /** The paired difference method - baseline over their common seeds, or null when none is finite. */
    static Statistics.Paired paired(List<MethodResult> results, String method, String baseline, Metric m) {
        return paired(results, method, baseline, m::of);
    }

    /** The same for any value of a model's eval JSON. */
    static Statistics.Paired paired(List<MethodResult> results, String method, String baseline, ToDoubleFunction<JsonNode> value) {
        Map<Long, Double> a = bySeed(results, method, value), b = bySeed(results, baseline, value);
        List<double[]> pairs = new ArrayList<>();
        for (var e : a.entrySet()) {
            Double y = b.get(e.getKey());
            if (y != null && Double.isFinite(e.getValue()) && Double.isFinite(y)) pairs.add(new double[] {e.getValue(), y});
        }
        if (pairs.isEmpty()) return null;
        double[] x = new double[pairs.size()], y = new double[pairs.size()];
        for (int i = 0; i < x.length; i++) { x[i] = pairs.get(i)[0]; y[i] = pairs.get(i)[1]; }
        return Statistics.paired(x, y);
    }

    private static void comparisons(StringBuilder md, List<MethodResult> results, Map<String, Aggregate> by,
                                    List<Metric> metrics, java.util.Set<Metric> atChance, int seeds, ArrayNode json) {
        md.append("Each method against its baseline, seed by seed (method − baseline: negative is better for a loss, ")
          .append("positive for an accuracy), mean paired difference and its 95% confidence interval (t, n − 1 degrees ")
          .append("of freedom). A difference is called real only when the interval excludes 0.\n\n");
        md.append("| Method vs baseline | Metric | Per seed | Mean [95% CI] | Verdict |\n|---|---|---|---:|---|\n");
        for (String[] p : PAIRS) {
            if (!by.containsKey(p[0]) || !by.containsKey(p[1])) continue;
            for (Metric m : metrics) comparisonRow(md, results, by, p[0], p[1], m, atChance.contains(m), json);
        }
        md.append('\n');
        if (seeds < 2)
            md.append("With one seed there is no interval: rerun with --seeds 3 or more before calling any difference real.\n\n");
    }

    /** atChance: the column is at chance for every model, so no difference in it is called real. */
    private static void comparisonRow(StringBuilder md, List<MethodResult> results, Map<String, Aggregate> by, String method,
                                      String baseline, Metric m, boolean atChance, ArrayNode json) {
        Statistics.Paired d = paired(results, method, baseline, m);
        if (d == null) return;
        Map<Long, Double> a = bySeed(results, method, m), b = bySeed(results, baseline, m);
        List<String> perSeed = new ArrayList<>();
        ArrayNode seedsJson = JsonNodeFactory.instance.arrayNode();
        for (var e : a.entrySet()) {
            Double y = b.get(e.getKey());
            if (y == null) continue;
            perSeed.add(String.format(Locale.ROOT, "%+." + m.digits + "f", e.getValue() - y));
            seedsJson.add(e.getValue() - y);
        }
        boolean better = m.lowerIsBetter ? d.mean() < 0 : d.mean() > 0;
        boolean real = d.real() && !atChance;
        String verdict = d.n() < 2 ? "one seed: no verdict"
                : atChance ? "column at chance for every model: no verdict"
                : real ? (better ? "**real: better**" : "**real: worse**") : "not distinguishable from 0";
        md.append("| ").append(by.get(method).label()).append(" vs ").append(by.get(baseline).label()).append(" | ")
          .append(m.title).append(" | ").append(String.join(", ", perSeed)).append(" | ").append(d.format(m.digits))
          .append(" | ").append(verdict).append(" |\n");
        ObjectNode o = json.addObject().put("method", method).put("baseline", baseline).put("metric", m.title)
                .put("mean", d.mean()).put("n", d.n()).put("real", real).put("atChance", atChance);
        put(o, "low", d.low());
        put(o, "high", d.high());
        o.set("perSeed", seedsJson);
    }

    /**
     * The in-domain held-out loss split by the documents' domain (eval's inDomain.byDomain), for each method and its
     * baseline, with the paired difference per domain: the one in-domain number averages domains the selection
     * treats very differently. Nothing when the evaluations hold no split (a run evaluated before it existed).
     */
    private static void inDomainByDomain(StringBuilder md, List<MethodResult> results, Map<String, Aggregate> by, ArrayNode json) {
        List<String> domains = new ArrayList<>();
        for (MethodResult r : results)
            r.eval().path("inDomain").path("byDomain").fieldNames().forEachRemaining(d -> { if (!domains.contains(d)) domains.add(d); });
        if (domains.isEmpty()) return;
        md.append("### In-domain loss per domain\n\n")
          .append("The held-out in-domain loss above, split by each held-out document's domain (nats per token of the ")
          .append("model's own tokenizer; tokens counted with the baseline's): mean ± sd over seeds, and each method ")
          .append("against its baseline as above.\n\n");
        for (String[] p : PAIRS) {
            if (!by.containsKey(p[0]) || !by.containsKey(p[1])) continue;
            String method = by.get(p[0]).label(), baseline = by.get(p[1]).label();
            md.append("| Domain | Documents | Tokens | ").append(baseline).append(" ↓ | ").append(method)
              .append(" ↓ | Per seed | Mean [95% CI] | Verdict |\n|---|---:|---:|---:|---:|---|---:|---|\n");
            for (String d : domains) {
                ToDoubleFunction<JsonNode> loss = e -> e.path("inDomain").path("byDomain").path(d).path("loss").asDouble(Double.NaN);
                Statistics.Paired diff = paired(results, p[0], p[1], loss);
                if (diff == null) continue;
                Map<Long, Double> a = bySeed(results, p[0], loss), b = bySeed(results, p[1], loss);
                List<String> perSeed = new ArrayList<>();
                for (var e : a.entrySet()) {
                    Double y = b.get(e.getKey());
                    if (y != null && Double.isFinite(e.getValue()) && Double.isFinite(y))
                        perSeed.add(String.format(Locale.ROOT, "%+.4f", e.getValue() - y));
                }
                JsonNode counts = results.stream().filter(r -> r.method().equals(p[1])).findFirst().orElseThrow()
                        .eval().path("inDomain").path("byDomain").path(d);
                String verdict = diff.n() < 2 ? "one seed: no verdict" : diff.real()
                        ? (diff.mean() < 0 ? "**real: better**" : "**real: worse**") : "not distinguishable from 0";
                md.append("| ").append(quote(d)).append(" | ").append(fmt(counts.path("documents").asLong())).append(" | ")
                  .append(fmt(counts.path("tokens").asLong())).append(" | ")
                  .append(stat(results.stream().filter(r -> r.method().equals(p[1])).toList(), r -> loss.applyAsDouble(r.eval())).format(4))
                  .append(" | ")
                  .append(stat(results.stream().filter(r -> r.method().equals(p[0])).toList(), r -> loss.applyAsDouble(r.eval())).format(4))
                  .append(" | ").append(String.join(", ", perSeed)).append(" | ").append(diff.format(4)).append(" | ")
                  .append(verdict).append(" |\n");
                ObjectNode o = json.addObject().put("method", p[0]).put("baseline", p[1]).put("metric", "in-domain loss")
                        .put("domain", d).put("mean", diff.mean()).put("n", diff.n()).put("real", diff.real());
                put(o, "low", diff.low());
                put(o, "high", diff.high());
            }
            md.append('\n');
        }
    }

    /** Which domains Difference Sampling favoured, from the selection report's domains.json, with examples. */
    private static void domainsRead(StringBuilder md, Offline o) throws IOException {
        if (o.domains() == null || !Files.isRegularFile(o.domains())) return;
        JsonNode d = PipelineConfig.MAPPER.readTree(o.domains().toFile());
        // The finest domains: a file's sub-domains when it has them, else the file.
        List<Map.Entry<String, JsonNode>> leaves = new ArrayList<>();
        java.util.Set<String> parents = new java.util.HashSet<>();
        d.fields().forEachRemaining(e -> { if (e.getKey().contains(" / ")) parents.add(e.getKey().substring(0, e.getKey().indexOf(" / "))); });
        d.fields().forEachRemaining(e -> { if (!parents.contains(e.getKey())) leaves.add(e); });
        if (leaves.size() < 2) return;
        leaves.sort((x, y) -> Double.compare(y.getValue().path("share").asDouble(), x.getValue().path("share").asDouble()));
        md.append("**Which domains Difference Sampling favoured.** Kept share per domain (ratio ")
          .append(pct(o.selection().path("ratio").asDouble(0.5))).append(" overall): ");
        List<String> parts = new ArrayList<>();
        for (var e : leaves)
            parts.add(String.format(Locale.ROOT, "%s %.0f%% of %,d", e.getKey(), 100 * e.getValue().path("share").asDouble(),
                    e.getValue().path("instances").asLong()));
        md.append(String.join("; ", parts)).append(". ");
        var top = leaves.getFirst(); var bottom = leaves.getLast();
        md.append(String.format(Locale.ROOT, "Favoured most: **%s**; least: **%s**.%n%n", top.getKey(), bottom.getKey()));
        JsonNode ex = top.getValue().path("topKept");
        if (!ex.isMissingNode())
            md.append(String.format(Locale.ROOT, "- Kept, highest difference in %s (instance %d, %.3f): \"%s\"%n", top.getKey(),
                    ex.path("id").asInt(), ex.path("difference").asDouble(), quote(ex.path("text").asText())));
        ex = bottom.getValue().path("bottomDropped");
        if (!ex.isMissingNode())
            md.append(String.format(Locale.ROOT, "- Dropped, lowest difference in %s (instance %d, %.3f): \"%s\"%n", bottom.getKey(),
                    ex.path("id").asInt(), ex.path("difference").asDouble(), quote(ex.path("text").asText())));
        md.append('\n');
    }

    private static String quote(String s) { return s.replace("|", "\\|").replace("<", "&lt;").replace("\"", "'"); }

    private static void curve(StringBuilder md, List<MethodResult> results, Map<String, Aggregate> by, List<Double> ratios,
                              Offline o, boolean pairsRun, ArrayNode json) {
        md.append("**The selection ratio as a curve** (MiniPLM's Fig. 9; the MiniPLM student trained once per ratio and ")
          .append("seed, the teacher, reference and scores shared; the difference is against Pre-Train w/o KD, seed by seed):\n\n");
        md.append("| Ratio | Kept instances | In-domain loss (mean ± 95% CI) | vs no KD [95% CI] | Out-of-domain loss (mean ± 95% CI) | vs no KD [95% CI] |")
          .append(pairsRun ? " BLiMP acc (mean ± 95% CI) | vs no KD [95% CI] |" : "").append("\n|---:|---:|---:|---:|---:|---:|")
          .append(pairsRun ? "---:|---:|" : "").append('\n');
        for (double r : ratios) {
            String method = methodAt(by, r);
            Aggregate a = by.get(method);
            if (a == null) continue;
            md.append("| ").append(Pipeline.ratioName(r)).append(" | ").append(fmt(o.curve().get(r).path("kept").asLong())).append(" | ")
              .append(ci(a.stat(Metric.IN_DOMAIN), 4)).append(" | ").append(diff(paired(results, method, "nokd", Metric.IN_DOMAIN), 4)).append(" | ")
              .append(ci(a.stat(Metric.OUT_OF_DOMAIN), 4)).append(" | ").append(diff(paired(results, method, "nokd", Metric.OUT_OF_DOMAIN), 4)).append(" |");
            if (pairsRun) md.append(' ').append(ci(a.stat(Metric.PAIRS), 3)).append(" | ")
                    .append(diff(paired(results, method, "nokd", Metric.PAIRS), 3)).append(" |");
            md.append('\n');
            if (!method.equals("miniplm")) {
                comparisonJson(results, method, Metric.IN_DOMAIN, json);
                comparisonJson(results, method, Metric.OUT_OF_DOMAIN, json);
                if (pairsRun) comparisonJson(results, method, Metric.PAIRS, json);
            }
        }
        md.append("\n![held-out loss against the selection ratio](plots/ratio-curve-loss.png)\n\n");
        md.append("![out-of-domain loss against the selection ratio](plots/ratio-curve-loss-out-of-domain.png)\n\n");
        if (pairsRun) md.append("![BLiMP accuracy against the selection ratio](plots/ratio-curve-blimp.png)\n\n");
    }

    private static void comparisonJson(List<MethodResult> results, String method, Metric m, ArrayNode json) {
        Statistics.Paired d = paired(results, method, "nokd", m);
        if (d == null) return;
        ObjectNode o = json.addObject().put("method", method).put("baseline", "nokd").put("metric", m.title)
                .put("mean", d.mean()).put("n", d.n()).put("real", d.real());
        put(o, "low", d.low());
        put(o, "high", d.high());
    }

    /** The method trained at ratio r: "miniplm" at the main ratio, else its curve method. */
    private static String methodAt(Map<String, Aggregate> by, double r) {
        String m = Pipeline.curveMethod(r);
        return by.containsKey(m) ? m : "miniplm";
    }

    private static String ci(Stat s, int digits) {
        if (s.n() == 0) return "–";
        String f = "%." + digits + "f";
        return s.n() < 2 ? String.format(Locale.ROOT, f, s.mean())
                : String.format(Locale.ROOT, f + " ± " + f, s.mean(), s.halfWidth());
    }

    private static String diff(Statistics.Paired d, int digits) {
        if (d == null) return "–";
        return d.format(digits) + (d.real() ? " (real)" : "");
    }

    private static void equalTokens(StringBuilder md, Offline o) {
        JsonNode c = o.crossRefined();
        if (c == null || c.path("rows").asLong() == 0) return;
        long rows = c.path("rows").asLong(), tokens = c.path("tokens").asLong();
        md.append(String.format(Locale.ROOT, "Equal compute across tokenizers: the cross-tokenizer student's refined corpus is "
                + "re-tokenized and **packed** into full rows (%,d rows, %.1f tokens per row on average), as full as its "
                + "baseline's rows, so at equal steps both read the same number of tokens (the Training tokens column).%n%n",
                rows, tokens / (double) rows));
    }

    // ==== plots ====

    /** Dots with 95% seed intervals on an axis zoomed to the data, one series per metric, one category per method. */
    private static void dots(List<Aggregate> rows, List<Metric> metrics, String title, String yTitle, Path path) throws IOException {
        if (rows.isEmpty()) return;
        CategoryChart chart = new CategoryChartBuilder().width(900).height(540).title(title).xAxisTitle("method")
                .yAxisTitle(yTitle).build();
        chart.getStyler().setDefaultSeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Scatter);
        chart.getStyler().setXAxisLabelRotation(20);
        chart.getStyler().setErrorBarsColorSeriesColor(true);
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        List<String> names = new ArrayList<>();
        for (Aggregate a : rows) names.add(a.label().length() > 28 ? a.label().substring(0, 28) + "…" : a.label());
        for (Metric m : metrics) {
            List<Double> y = new ArrayList<>(), e = new ArrayList<>();
            for (Aggregate a : rows) {
                Stat s = a.stat(m);
                y.add(Double.isFinite(s.mean()) ? s.mean() : Double.NaN);
                e.add(s.halfWidth());
                if (Double.isFinite(s.mean())) { lo = Math.min(lo, s.mean() - s.halfWidth()); hi = Math.max(hi, s.mean() + s.halfWidth()); }
            }
            chart.addSeries(m.title, names, y, e);
        }
        zoom(chart, lo, hi);
        save(chart, path);
    }

    private static void zoom(org.knowm.xchart.internal.chartpart.Chart<? extends org.knowm.xchart.style.AxesChartStyler, ?> chart,
                             double lo, double hi) {
        zoom(chart, lo, hi, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY);
    }

    /** The y axis fitted to [lo, hi] with a margin, never beyond [min, max] (an accuracy stays within [0, 1]). */
    private static void zoom(org.knowm.xchart.internal.chartpart.Chart<? extends org.knowm.xchart.style.AxesChartStyler, ?> chart,
                             double lo, double hi, double min, double max) {
        if (!(hi >= lo)) return;
        double pad = Math.max(1e-3, (hi - lo) * 0.15);
        chart.getStyler().setYAxisMin(Math.max(min, lo - pad));
        chart.getStyler().setYAxisMax(Math.min(max, hi + pad));
    }

    /** BLiMP accuracy per field (and overall) for every method, mean with 95% seed interval. */
    private static void blimpByField(List<Aggregate> rows, List<MethodResult> results, Path path) throws IOException {
        java.util.TreeSet<String> fields = new java.util.TreeSet<>();
        for (MethodResult r : results) r.eval().path("pairs").path("byField").fieldNames().forEachRemaining(fields::add);
        if (fields.isEmpty()) return;
        List<String> cats = new ArrayList<>(fields);
        cats.add("overall");
        CategoryChart chart = new CategoryChartBuilder().width(1000).height(560)
                .title("BLiMP accuracy per field (mean, 95% seed interval; chance 0.5)").xAxisTitle("field")
                .yAxisTitle("accuracy").build();
        chart.getStyler().setDefaultSeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Scatter);
        chart.getStyler().setErrorBarsColorSeriesColor(true);
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (Aggregate a : rows) {
            if (a.method().startsWith("miniplm-r")) continue;
            List<Double> y = new ArrayList<>(), e = new ArrayList<>();
            for (String f : cats) {
                List<Double> xs = new ArrayList<>();
                for (MethodResult r : results)
                    if (r.method().equals(a.method()))
                        xs.add(f.equals("overall") ? r.eval().path("pairs").path("accuracy").asDouble(Double.NaN)
                                : r.eval().path("pairs").path("byField").path(f).path("accuracy").asDouble(Double.NaN));
                Stat s = Stat.of(xs);
                y.add(s.mean());
                e.add(s.halfWidth());
                if (Double.isFinite(s.mean())) { lo = Math.min(lo, s.mean() - s.halfWidth()); hi = Math.max(hi, s.mean() + s.halfWidth()); }
            }
            chart.addSeries(a.label(), cats, y, e);
        }
        zoom(chart, lo, hi, 0, 1);
        save(chart, path);
    }

    private static void curvePlots(PipelineConfig cfg, Map<String, Aggregate> by, List<Double> ratios, Path dir) throws IOException {
        curvePlot(by, ratios, Metric.IN_DOMAIN, "Held-out in-domain loss against the selection ratio (mean, 95% seed interval)",
                "loss (nats/token)", dir.resolve("ratio-curve-loss"));
        curvePlot(by, ratios, Metric.OUT_OF_DOMAIN, "Out-of-domain loss against the selection ratio (mean, 95% seed interval)",
                "loss (nats/token)", dir.resolve("ratio-curve-loss-out-of-domain"));
        if (by.values().stream().anyMatch(a -> a.stat(Metric.PAIRS).n() > 0))
            curvePlot(by, ratios, Metric.PAIRS, "BLiMP accuracy against the selection ratio (mean, 95% seed interval)",
                    "accuracy", dir.resolve("ratio-curve-blimp"));
    }

    private static void curvePlot(Map<String, Aggregate> by, List<Double> ratios, Metric m, String title, String yTitle, Path path)
            throws IOException {
        XYChart chart = new XYChartBuilder().width(900).height(540).title(title).xAxisTitle("selection ratio α (share kept)")
                .yAxisTitle(yTitle).build();
        chart.getStyler().setErrorBarsColorSeriesColor(true);
        List<Double> x = new ArrayList<>(), y = new ArrayList<>(), e = new ArrayList<>();
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (double r : ratios) {
            Aggregate a = by.get(methodAt(by, r));
            if (a == null || a.stat(m).n() == 0) continue;
            x.add(r);
            y.add(a.stat(m).mean());
            e.add(a.stat(m).halfWidth());
            lo = Math.min(lo, a.stat(m).mean() - a.stat(m).halfWidth());
            hi = Math.max(hi, a.stat(m).mean() + a.stat(m).halfWidth());
        }
        if (x.isEmpty()) return;
        chart.addSeries("MiniPLM student", x, y, e).setMarker(SeriesMarkers.CIRCLE);
        Aggregate base = by.get("nokd");
        if (base != null && base.stat(m).n() > 0) {
            double b = base.stat(m).mean(), h = base.stat(m).halfWidth();
            XYSeries s = chart.addSeries("Pre-Train w/o KD (no selection)", List.of(1.0), List.of(b), List.of(h));
            s.setMarker(SeriesMarkers.DIAMOND);
            lo = Math.min(lo, b - h);
            hi = Math.max(hi, b + h);
        }
        if (m.lowerIsBetter) zoom(chart, lo, hi); else zoom(chart, lo, hi, 0, 1);
        save(chart, path);
    }

    private static void lossCurves(Path runDir, List<MethodResult> results, Path dir) throws IOException {
        XYChart chart = new XYChartBuilder().width(900).height(540).title("Training LM loss against compute (first seed)")
                .xAxisTitle("training FLOPs (student + online teacher)").yAxisTitle("LM loss (nats/token)").build();
        chart.getStyler().setLegendVisible(true);
        java.util.Set<String> shown = new java.util.HashSet<>();
        for (MethodResult r : results) {
            if (r.method().equals("teacher") || r.method().equals("reference") || r.method().startsWith("miniplm-r")
                    || !shown.add(r.method())) continue;
            Path metrics = runDir.resolve("stages").resolve(r.stage()).resolve(Trainer.METRICS_FILE);
            if (!Files.isRegularFile(metrics)) continue;
            double perToken = 6.0 * r.train().path("parameters").asDouble();
            List<Double> x = new ArrayList<>(), y = new ArrayList<>();
            for (JsonNode n : Metrics.read(metrics)) {
                double loss = n.has("lmLoss") ? n.get("lmLoss").asDouble() : n.path("loss").asDouble(Double.NaN);
                if (!Double.isFinite(loss)) continue;
                x.add(n.path("tokens").asDouble() * perToken + n.path("teacherFlopsSpent").asDouble(0));
                y.add(loss);
            }
            if (!x.isEmpty()) chart.addSeries(r.label(), x, y).setMarker(SeriesMarkers.NONE);
        }
        if (chart.getSeriesMap().isEmpty()) return;
        save(chart, dir.resolve("training-loss"));
    }

    private static void save(Chart<?, ?> chart, Path pathWithoutExtension) throws IOException {
        BitmapEncoder.saveBitmap(chart, pathWithoutExtension.toString(), BitmapEncoder.BitmapFormat.PNG);
        VectorGraphicsEncoder.saveVectorGraphic(chart, pathWithoutExtension.toString(),
                VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
    }

    private static String pct(double r) { return String.format(Locale.ROOT, "%.0f%%", 100 * r); }

    private static String fmt(long n) { return String.format(Locale.ROOT, "%,d", n); }

    private static String sci(double v) { return String.format(Locale.ROOT, "%.2e", v); }
}
