/*
 * The pipeline's report: report.md with the results table in the MiniPLM paper's form (one row per method;
 * in-domain held-out loss, out-of-domain Brown loss, zero-shot accuracy; mean ± sd over seeds), the compute
 * each method spent (training tokens and FLOPs, the online teacher's FLOPs, the offline scoring cost MiniPLM
 * pays once), a reading of the numbers that says when differences are within seed noise, and stage timings;
 * results.json with every number; and plots (loss per method, training loss against compute) as PNG + SVG.
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
import java.util.function.ToDoubleFunction;
import kd4j.data.AtomicFiles;
import kd4j.train.Metrics;
import kd4j.train.Trainer;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.markers.SeriesMarkers;

public final class Report {
    public static final String MARKDOWN = "report.md";
    public static final String RESULTS = "results.json";

    /** One trained model: method key, table label, seed (0 for teacher/reference), its stage, train and eval results. */
    public record MethodResult(String method, String label, long seed, String stage, JsonNode train, JsonNode eval) {}

    /** The offline MiniPLM work: both scoring runs, the selection, and the selection report's path. */
    public record Offline(JsonNode teacherScores, JsonNode referenceScores, JsonNode selection, Path selectionReport) {}

    /** A method's figures over its seeds. */
    public record Aggregate(String method, String label, int seeds, Stat inDomain, Stat brown, Stat accuracy,
                            Stat inDomainBpb, Stat brownBpb, double tokens, double trainFlops, double teacherFlops,
                            long parameters, String architecture, int vocabSize, int taskExamples) {}

    /** Mean and sample standard deviation (NaN with one value). */
    public record Stat(double mean, double sd, int n) {
        static Stat of(List<Double> xs) {
            List<Double> v = xs.stream().filter(Double::isFinite).toList();
            if (v.isEmpty()) return new Stat(Double.NaN, Double.NaN, 0);
            double m = v.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
            double ss = 0;
            for (double x : v) ss += (x - m) * (x - m);
            return new Stat(m, v.size() > 1 ? Math.sqrt(ss / (v.size() - 1)) : Double.NaN, v.size());
        }

        String format(int digits) {
            if (n == 0) return "–";
            String f = "%." + digits + "f";
            return String.format(Locale.ROOT, f, mean) + (Double.isNaN(sd) ? "" : String.format(Locale.ROOT, " ± " + f, sd));
        }
    }

    private Report() {}

    /** Writes report.md, results.json and plots into runDir; returns a small summary for the stage cache. */
    static JsonNode write(Path runDir, PipelineConfig cfg, List<MethodResult> results, Offline offline, boolean vanillaRun,
                          boolean brownRun, List<Stage.Outcome> outcomes) throws IOException {
        List<Aggregate> rows = aggregate(results);
        Path plots = runDir.resolve("plots");
        Files.createDirectories(plots);
        System.setProperty("java.awt.headless", "true");
        lossBars(rows, brownRun, plots);
        lossCurves(runDir, results, plots);

        StringBuilder md = new StringBuilder();
        md.append("# kd4j MiniPLM pipeline report\n\n");
        md.append("Teacher and reference model score every training instance offline; Difference Sampling keeps the ")
          .append(pct(cfg.selection().ratio())).append(" of instances where mean log p(teacher) − mean log p(reference) ")
          .append("is highest; students pre-train on what is kept for the same number of steps as the baseline ")
          .append("(equal compute). Losses are nats per token of each model's own tokenizer (lower is better); ")
          .append("accuracy is zero-shot on the next-sentence task (higher is better, chance 25%). ")
          .append(cfg.run().seeds() > 1 ? "Students: mean ± sd over " + cfg.run().seeds() + " seeds.\n\n" : "Students: one seed.\n\n");

        md.append("## Results\n\n");
        md.append("| Method | Model | In-domain loss ↓ | Brown loss (out-of-domain) ↓ | Zero-shot acc ↑ | Training tokens | Training FLOPs | Teacher FLOPs (online) |\n");
        md.append("|---|---|---:|---:|---:|---:|---:|---:|\n");
        for (Aggregate a : rows) {
            if (a.method().equals("vanillakd")) continue;
            row(md, a, brownRun);
            if (a.method().equals("nokd")) {
                Aggregate v = rows.stream().filter(r -> r.method().equals("vanillakd")).findFirst().orElse(null);
                if (v != null) row(md, v, brownRun);
                else md.append("| Vanilla KD | – | not run: students.vanillaKd is false | | | | | |\n");
            }
        }
        md.append('\n');
        if (!brownRun)
            md.append("Brown column skipped: no Brown corpus found (set KD4J_FIXTURES to the fixtures folder, or "
                    + "evaluation.brown to a brown.jsonl).\n\n");

        md.append("Bits per byte of UTF-8 text (comparable across tokenizers):\n\n");
        md.append("| Method | Model | In-domain bits/byte ↓ | Brown bits/byte ↓ |\n|---|---|---:|---:|\n");
        for (Aggregate a : rows)
            md.append("| ").append(a.label()).append(" | ").append(model(a)).append(" | ").append(a.inDomainBpb().format(4))
              .append(" | ").append(brownRun ? a.brownBpb().format(4) : "–").append(" |\n");
        md.append("\n![held-out loss per method](plots/loss-by-method.png)\n\n");
        md.append("![training loss against compute](plots/training-loss.png)\n\n");

        md.append("## Reading\n\n");
        reading(md, rows, cfg.run().seeds());

        md.append("## Compute\n\n");
        double scoringFlops = offline.teacherScores().path("flops").asDouble() + offline.referenceScores().path("flops").asDouble();
        Aggregate reference = rows.stream().filter(r -> r.method().equals("reference")).findFirst().orElse(null);
        double referenceTrain = reference == null ? 0 : reference.trainFlops();
        md.append(String.format(Locale.ROOT, "Training FLOPs = 6 N per token (N = all parameters, embeddings included); a "
                + "teacher forward costs 2 N_teacher per token. Vanilla KD runs the teacher online on every batch, so its "
                + "steps are cut to match the others' compute (MiniPLM's setting). MiniPLM's cost is offline and paid once "
                + "for any number of students: scoring %s instances with teacher and reference took %s FLOPs (teacher "
                + "scoring at %,.0f tokens/s), and training the reference %s FLOPs.%n%n",
                fmt(offline.teacherScores().path("instances").asLong()), sci(scoringFlops),
                offline.teacherScores().path("tokensPerSecond").asDouble(), sci(referenceTrain)));
        md.append(String.format(Locale.ROOT, "Selection: kept %s of %s scored instances (cut-off difference %.4f); "
                + "details, histogram and the highest, lowest and borderline instances: [selection report](%s).%n%n",
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
        for (Aggregate a : rows) agg.add(PipelineConfig.MAPPER.valueToTree(a));
        ObjectNode off = json.putObject("offline");
        off.set("teacherScores", offline.teacherScores());
        off.set("referenceScores", offline.referenceScores());
        off.set("selection", offline.selection());
        json.set("config", PipelineConfig.tree(cfg));
        AtomicFiles.write(runDir.resolve(RESULTS), PipelineConfig.MAPPER.writeValueAsBytes(json));
        return JsonNodeFactory.instance.objectNode().put("methods", rows.size());
    }

    static List<Aggregate> aggregate(List<MethodResult> results) {
        Map<String, List<MethodResult>> byMethod = new LinkedHashMap<>();
        for (MethodResult r : results) byMethod.computeIfAbsent(r.method(), k -> new ArrayList<>()).add(r);
        List<Aggregate> out = new ArrayList<>();
        for (var e : byMethod.entrySet()) {
            List<MethodResult> rs = e.getValue();
            MethodResult first = rs.getFirst();
            out.add(new Aggregate(e.getKey(), first.label(), rs.size(),
                    stat(rs, r -> r.eval().path("inDomain").path("loss").asDouble(Double.NaN)),
                    stat(rs, r -> r.eval().path("brown").path("loss").asDouble(Double.NaN)),
                    stat(rs, r -> r.eval().path("task").path("accuracy").asDouble(Double.NaN)),
                    stat(rs, r -> r.eval().path("inDomain").path("bitsPerByte").asDouble(Double.NaN)),
                    stat(rs, r -> r.eval().path("brown").path("bitsPerByte").asDouble(Double.NaN)),
                    mean(rs, r -> r.train().path("tokens").asDouble()),
                    mean(rs, r -> r.train().path("trainFlops").asDouble()),
                    mean(rs, r -> r.train().path("teacherFlops").asDouble()),
                    first.train().path("parameters").asLong(), first.train().path("architecture").asText(),
                    first.train().path("vocabSize").asInt(),
                    first.eval().path("task").path("examples").asInt()));
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

    private static void row(StringBuilder md, Aggregate a, boolean brownRun) {
        md.append("| ").append(a.label()).append(" | ").append(model(a)).append(" | ").append(a.inDomain().format(4))
          .append(" | ").append(brownRun ? a.brown().format(4) : "–").append(" | ").append(a.accuracy().format(3))
          .append(" | ").append(fmt((long) a.tokens())).append(" | ").append(sci(a.trainFlops())).append(" | ")
          .append(a.teacherFlops() > 0 ? sci(a.teacherFlops()) : "0").append(" |\n");
    }

    private static String model(Aggregate a) {
        String arch = a.architecture().replace("ForCausalLM", "");
        return String.format(Locale.ROOT, "%s %.2fM, vocab %,d", arch, a.parameters() / 1e6, a.vocabSize());
    }

    /** Says, from the numbers, whether each method beats the no-KD baseline of its family beyond seed noise. */
    private static void reading(StringBuilder md, List<Aggregate> rows, int seeds) {
        Map<String, Aggregate> by = new LinkedHashMap<>();
        for (Aggregate a : rows) by.put(a.method(), a);
        List<String[]> pairs = List.of(new String[] {"miniplm", "nokd"}, new String[] {"vanillakd", "nokd"},
                new String[] {"cross-miniplm", "cross-nokd"});
        for (String[] p : pairs) {
            Aggregate m = by.get(p[0]), b = by.get(p[1]);
            if (m == null || b == null) continue;
            md.append("- ").append(m.label()).append(" vs ").append(b.label()).append(": ");
            md.append(compare("in-domain loss", m.inDomain(), b.inDomain(), true, seeds, 0)).append("; ");
            md.append(compare("Brown loss", m.brown(), b.brown(), true, seeds, 0)).append("; ");
            md.append(compare("zero-shot accuracy", m.accuracy(), b.accuracy(), false, seeds, taskError(b))).append(".\n");
        }
        if (seeds < 2)
            md.append("\nWith one seed there is no estimate of seed noise: treat loss differences of a few hundredths "
                    + "and accuracy differences within the task's standard error (about ±0.03 at 200 examples) as "
                    + "inconclusive, and rerun with --seeds 3.\n\n");
        else md.append('\n');
    }

    /** The standard error of an accuracy on the task: sqrt(p (1 - p) / (n - 1)). */
    private static double taskError(Aggregate a) {
        double p = a.accuracy().mean();
        return a.taskExamples() < 2 || !Double.isFinite(p) ? 0 : Math.sqrt(p * (1 - p) / (a.taskExamples() - 1));
    }

    /**
     * floor: the noise of the measurement itself (the task's sampling error for accuracy), used when it exceeds
     * the seed-to-seed spread: three seeds agreeing on one 200-example task does not make 0.007 real.
     */
    private static String compare(String what, Stat m, Stat b, boolean lowerIsBetter, int seeds, double floor) {
        if (m.n() == 0 || b.n() == 0) return what + " not measured";
        double d = m.mean() - b.mean();
        if (d == 0) return what + " equal";
        boolean better = lowerIsBetter ? d < 0 : d > 0;
        String s = String.format(Locale.ROOT, "%s %s by %.4f", what, better ? "better" : "worse", Math.abs(d));
        if (seeds >= 2 && Double.isFinite(m.sd()) && Double.isFinite(b.sd())) {
            double noise = Math.max(floor, Math.sqrt((m.sd() * m.sd() + b.sd() * b.sd()) / 2));
            s += Math.abs(d) > 2 * noise
                    ? String.format(Locale.ROOT, " (beyond noise: sd %.4f)", noise)
                    : String.format(Locale.ROOT, " (within noise: sd %.4f)", noise);
        }
        return s;
    }

    private static void lossBars(List<Aggregate> rows, boolean brownRun, Path dir) throws IOException {
        CategoryChart chart = new CategoryChartBuilder().width(900).height(540).title("Held-out loss by method")
                .xAxisTitle("method").yAxisTitle("loss (nats/token, own tokenizer)").build();
        List<String> names = new ArrayList<>();
        List<Double> in = new ArrayList<>(), out = new ArrayList<>();
        for (Aggregate a : rows) {
            names.add(a.label().length() > 28 ? a.label().substring(0, 28) + "…" : a.label());
            in.add(finite(a.inDomain().mean()));
            out.add(finite(a.brown().mean()));
        }
        chart.addSeries("in-domain", names, in);
        if (brownRun) chart.addSeries("Brown (out-of-domain)", names, out);
        chart.getStyler().setXAxisLabelRotation(20);
        save(chart, dir.resolve("loss-by-method"));
    }

    private static void lossCurves(Path runDir, List<MethodResult> results, Path dir) throws IOException {
        XYChart chart = new XYChartBuilder().width(900).height(540).title("Training LM loss against compute (first seed)")
                .xAxisTitle("training FLOPs (student + online teacher)").yAxisTitle("LM loss (nats/token)").build();
        chart.getStyler().setLegendVisible(true);
        java.util.Set<String> shown = new java.util.HashSet<>();
        for (MethodResult r : results) {
            if (r.method().equals("teacher") || r.method().equals("reference") || !shown.add(r.method())) continue;
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

    private static double finite(double v) { return Double.isFinite(v) ? v : 0; }

    private static String pct(double r) { return String.format(Locale.ROOT, "%.0f%%", 100 * r); }

    private static String fmt(long n) { return String.format(Locale.ROOT, "%,d", n); }

    private static String sci(double v) { return String.format(Locale.ROOT, "%.2e", v); }
}
