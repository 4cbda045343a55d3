/*
 * What Difference Sampling kept and dropped, for a person to check: report.md with the counts, a histogram of the
 * difference scores with the cut-off (histogram.png and histogram.svg, XChart), the kept share per source (file
 * or category), and the highest, borderline and lowest instances with both models' scores and a text snippet.
 * Follows the spirit of MiniPLM's compute_difference_scores.py (top/bottom dumps and a score distribution plot).
 */
package kd4j.distill.select;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntFunction;
import kd4j.data.AtomicFiles;
import kd4j.distill.select.DifferenceSampling.Selection;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.VectorGraphicsEncoder;

public final class SelectionReport {
    /** Instances shown in each of the highest / borderline / lowest tables. */
    public static final int SHOWN = 5;
    static final int BINS = 40;
    static final int SNIPPET_CHARS = 160;

    private SelectionReport() {}

    /**
     * Writes report.md, histogram.png and histogram.svg into dir. sourceOf gives an instance's source or category
     * (null: not shown); textOf its decoded text (null: no snippets). Returns the report path.
     */
    public static Path write(Path dir, Selection s, String teacherName, String referenceName,
                             IntFunction<String> sourceOf, IntFunction<String> textOf) throws IOException {
        Files.createDirectories(dir);
        System.setProperty("java.awt.headless", "true");
        CategoryChart chart = histogram(s);
        BitmapEncoder.saveBitmap(chart, dir.resolve("histogram").toString(), BitmapEncoder.BitmapFormat.PNG);
        VectorGraphicsEncoder.saveVectorGraphic(chart, dir.resolve("histogram").toString(),
                VectorGraphicsEncoder.VectorGraphicsFormat.SVG);

        StringBuilder md = new StringBuilder();
        md.append("# Difference Sampling: selection report\n\n");
        md.append("Score per instance = mean log p(teacher) - mean log p(reference), over positions whose input token ")
          .append("is not EOS or padding (MiniPLM). The top ratio of instances by this score are kept (ties: lower id ")
          .append("first), in corpus order.\n\n");
        md.append("| | |\n|---|---|\n");
        row(md, "teacher scores", "`" + teacherName + "`");
        row(md, "reference scores", "`" + referenceName + "`");
        row(md, "instances", fmt(s.total()));
        row(md, "scored", fmt(s.scoredCount()));
        row(md, "missing (no counted token; excluded, never kept)", fmt(s.missing().length));
        row(md, "ratio", String.valueOf(s.ratio()));
        row(md, "kept", fmt(s.keptCount()) + " (" + pct(s.keptCount(), s.scoredCount()) + " of scored)");
        row(md, "cut-off (difference of the last kept)", num(s.cutoff()));
        row(md, "mean difference, kept / dropped", num(meanOf(s, true)) + " / " + num(meanOf(s, false)));
        md.append("\n![histogram of difference scores](histogram.png)\n\n");
        md.append("Green: kept, grey: dropped. The cut-off falls between them.\n\n");

        if (sourceOf != null) domains(dir, md, s, sourceOf, textOf);

        int[] r = s.ranking();
        int k = s.keptCount();
        table(md, "Highest differences (kept first)", s, range(r, 0, Math.min(SHOWN, r.length)), sourceOf, textOf);
        table(md, "Borderline: last kept", s, range(r, Math.max(0, k - SHOWN), k), sourceOf, textOf);
        table(md, "Borderline: first dropped", s, range(r, k, Math.min(r.length, k + SHOWN)), sourceOf, textOf);
        table(md, "Lowest differences (dropped first)", s, range(r, Math.max(k, r.length - SHOWN), r.length), sourceOf, textOf);
        Path report = dir.resolve("report.md");
        AtomicFiles.write(report, md.toString());
        return report;
    }

    /**
     * The kept share per source. A source named "file / group" is a sub-domain of file: such a file gets a subtotal
     * row. Also written as domains.json (per source: instances, kept, share, mean difference, and the kept instance
     * with the highest difference and the dropped one with the lowest, with snippets) for the pipeline's report.
     */
    private static void domains(Path dir, StringBuilder md, Selection s, IntFunction<String> sourceOf,
                                IntFunction<String> textOf) throws IOException {
        Map<String, int[]> per = new TreeMap<>();                 // instances, kept, best kept id, worst dropped id
        Map<String, double[]> sums = new TreeMap<>();
        double[] diff = s.difference();
        for (int i = 0; i < s.total(); i++) {
            String src = String.valueOf(sourceOf.apply(i));
            List<String> keys = new ArrayList<>(List.of(src));
            int slash = src.indexOf(" / ");
            if (slash > 0) keys.add(src.substring(0, slash));
            for (String key : keys) {
                int[] c = per.computeIfAbsent(key, k -> new int[] {0, 0, -1, -1});
                c[0]++;
                if (s.isKept(i)) {
                    c[1]++;
                    if (c[2] < 0 || diff[i] > diff[c[2]]) c[2] = i;
                } else if (Double.isFinite(diff[i]) && (c[3] < 0 || diff[i] < diff[c[3]])) c[3] = i;
                if (Double.isFinite(diff[i])) {
                    double[] m = sums.computeIfAbsent(key, k -> new double[2]);
                    m[0] += diff[i];
                    m[1]++;
                }
            }
        }
        md.append("## Kept share per source\n\nA source's sub-domains (its records' `group` / `label`) follow its own row.\n\n")
          .append("| source | instances | kept | share kept | mean difference |\n|---|---:|---:|---:|---:|\n");
        var json = JSON.createObjectNode();
        for (var e : per.entrySet()) {
            int[] c = e.getValue();
            double[] m = sums.getOrDefault(e.getKey(), new double[] {Double.NaN, 1});
            boolean sub = e.getKey().contains(" / ");
            md.append("| ").append(sub ? "&nbsp;&nbsp;" : "**").append(escape(e.getKey())).append(sub ? "" : "**")
              .append(" | ").append(fmt(c[0])).append(" | ").append(fmt(c[1])).append(" | ").append(pct(c[1], c[0]))
              .append(" | ").append(num(m[0] / m[1])).append(" |\n");
            var o = json.putObject(e.getKey()).put("instances", c[0]).put("kept", c[1])
                    .put("share", c[0] == 0 ? 0 : c[1] / (double) c[0]).put("meanDifference", m[0] / m[1]).put("subDomain", sub);
            if (c[2] >= 0) o.putObject("topKept").put("id", c[2]).put("difference", diff[c[2]])
                    .put("text", textOf == null ? "" : snippet(textOf.apply(c[2])));
            if (c[3] >= 0) o.putObject("bottomDropped").put("id", c[3]).put("difference", diff[c[3]])
                    .put("text", textOf == null ? "" : snippet(textOf.apply(c[3])));
        }
        md.append('\n');
        AtomicFiles.write(dir.resolve("domains.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json));
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    static CategoryChart histogram(Selection s) {
        double min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
        for (int id : s.ranking()) { min = Math.min(min, s.difference()[id]); max = Math.max(max, s.difference()[id]); }
        if (!(max > min)) { min -= 0.5; max += 0.5; }
        double width = (max - min) / BINS;
        double[] kept = new double[BINS], dropped = new double[BINS];
        for (int id : s.ranking()) {
            int b = Math.min(BINS - 1, (int) ((s.difference()[id] - min) / width));
            if (s.isKept(id)) kept[b]++; else dropped[b]++;
        }
        List<String> labels = new ArrayList<>();
        for (int b = 0; b < BINS; b++) labels.add(String.format(Locale.ROOT, "%.2f", min + (b + 0.5) * width));
        CategoryChart chart = new CategoryChartBuilder().width(900).height(450)
                .title(String.format(Locale.ROOT, "Difference scores (cut-off %.4f, ratio %s)", s.cutoff(), s.ratio()))
                .xAxisTitle("mean log p(teacher) - mean log p(reference)").yAxisTitle("instances").build();
        chart.getStyler().setOverlapped(true);
        chart.getStyler().setXAxisLabelRotation(90);
        chart.getStyler().setLegendVisible(true);
        chart.getStyler().setSeriesColors(new Color[] {new Color(150, 150, 150), new Color(46, 139, 87)});
        chart.addSeries("dropped", labels, toList(dropped));
        chart.addSeries("kept", labels, toList(kept));
        return chart;
    }

    private static List<Double> toList(double[] a) {
        List<Double> l = new ArrayList<>(a.length);
        for (double v : a) l.add(v);
        return l;
    }

    private static int[] range(int[] a, int from, int to) {
        return from >= to ? new int[0] : java.util.Arrays.copyOfRange(a, from, to);
    }

    private static void table(StringBuilder md, String title, Selection s, int[] ids, IntFunction<String> sourceOf,
                              IntFunction<String> textOf) {
        md.append("## ").append(title).append("\n\n");
        if (ids.length == 0) { md.append("(none)\n\n"); return; }
        md.append("| id | difference | teacher | reference | kept |").append(sourceOf != null ? " source |" : "")
          .append(textOf != null ? " text |" : "").append("\n|---:|---:|---:|---:|:---:|")
          .append(sourceOf != null ? "---|" : "").append(textOf != null ? "---|" : "").append('\n');
        for (int id : ids) {
            md.append("| ").append(id).append(" | ").append(num(s.difference()[id])).append(" | ")
              .append(num(s.teacherMean()[id])).append(" | ").append(num(s.referenceMean()[id])).append(" | ")
              .append(s.isKept(id) ? "yes" : "no").append(" |");
            if (sourceOf != null) md.append(' ').append(escape(sourceOf.apply(id))).append(" |");
            if (textOf != null) md.append(' ').append(escape(snippet(textOf.apply(id)))).append(" |");
            md.append('\n');
        }
        md.append('\n');
    }

    static String snippet(String text) {
        if (text == null) return "";
        String t = text.replaceAll("\\s+", " ").strip();
        return t.length() <= SNIPPET_CHARS ? t : t.substring(0, SNIPPET_CHARS) + "…";
    }

    private static String escape(String s) { return s == null ? "" : s.replace("|", "\\|").replace("<", "&lt;"); }

    private static double meanOf(Selection s, boolean kept) {
        double sum = 0;
        int n = 0;
        for (int id : s.ranking()) if (s.isKept(id) == kept) { sum += s.difference()[id]; n++; }
        return n == 0 ? Double.NaN : sum / n;
    }

    private static void row(StringBuilder md, String k, String v) { md.append("| ").append(k).append(" | ").append(v).append(" |\n"); }
    private static String fmt(long v) { return String.format(Locale.ROOT, "%,d", v); }
    private static String num(double v) { return Double.isNaN(v) ? "—" : String.format(Locale.ROOT, "%.4f", v); }
    private static String pct(long a, long b) { return b == 0 ? "—" : String.format(Locale.ROOT, "%.1f%%", 100.0 * a / b); }
}
