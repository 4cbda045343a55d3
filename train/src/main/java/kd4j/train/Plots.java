/*
 * loss.png and loss.svg beside a run: training loss (per logged step) and validation loss (per evaluation)
 * against the step, drawn with XChart from metrics.jsonl. Each file is written to a temporary name and renamed,
 * so a reader never sees half a plot.
 */
package kd4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import kd4j.data.AtomicFiles;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

public final class Plots {
    private Plots() {}

    /** Writes dir/loss.png and dir/loss.svg from a metrics file; returns the two paths. */
    public static List<Path> lossCurve(Path metricsFile, Path dir, String title) throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<Double> steps = new ArrayList<>(), losses = new ArrayList<>(), evalSteps = new ArrayList<>(),
                evalLosses = new ArrayList<>();
        for (JsonNode n : Metrics.read(metricsFile)) {
            double step = n.path("step").asDouble();
            if (n.has("loss") && Double.isFinite(n.get("loss").asDouble())) {
                steps.add(step);
                losses.add(n.get("loss").asDouble());
            }
            if (n.has("evalLoss")) {
                evalSteps.add(step);
                evalLosses.add(n.get("evalLoss").asDouble());
            }
        }
        if (steps.isEmpty()) throw new IOException(metricsFile + ": no steps with a loss to plot");
        XYChart chart = new XYChartBuilder().width(900).height(540).title(title).xAxisTitle("step")
                .yAxisTitle("loss (nats/token)").build();
        chart.getStyler().setLegendVisible(true);
        chart.addSeries("train", steps, losses).setMarker(SeriesMarkers.NONE);
        if (!evalSteps.isEmpty()) chart.addSeries("validation", evalSteps, evalLosses).setMarker(SeriesMarkers.CIRCLE);
        Files.createDirectories(dir);
        Path png = dir.resolve("loss.png"), svg = dir.resolve("loss.svg");
        AtomicFiles.write(png, out -> BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG));
        AtomicFiles.write(svg, out -> VectorGraphicsEncoder.saveVectorGraphic(chart, out,
                VectorGraphicsEncoder.VectorGraphicsFormat.SVG));
        return List.of(png, svg);
    }
}
