package io.peft4j.core.train;

import io.peft4j.core.io.AtomicFiles;
import io.peft4j.core.task.Metrics;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The loss curve of a {@link TrainingHistory} as a PNG: training loss per step, evaluation loss per epoch. */
public final class LossChart {
    public static final int WIDTH = 800;
    public static final int HEIGHT = 500;

    private LossChart() {}

    /** Draws the chart and writes it to {@code target} atomically. */
    public static void write(TrainingHistory history, Path target) throws IOException {
        // Drawing into an image needs no display; without this a server JVM may try to open one.
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
        XYChart chart = chart(history);
        AtomicFiles.write(target, out -> BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG));
    }

    static XYChart chart(TrainingHistory history) {
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title("Loss")
                .xAxisTitle("optimizer step").yAxisTitle("loss").build();
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNE);
        List<Long> x = new ArrayList<>();
        List<Double> y = new ArrayList<>();
        for (TrainingHistory.StepRecord r : history.steps()) {
            if (Double.isFinite(r.loss())) {
                x.add(r.step());
                y.add(r.loss());
            }
        }
        if (x.isEmpty()) {
            // XChart refuses an empty chart; one point at 0 keeps the file valid before the first step.
            x.add(0L);
            y.add(0d);
        }
        XYSeries train = chart.addSeries("training loss", x, y);
        train.setMarker(SeriesMarkers.NONE);
        List<Long> ex = new ArrayList<>();
        List<Double> ey = new ArrayList<>();
        for (TrainingHistory.EpochRecord r : history.epochs()) {
            if (r.eval() != null && r.eval().has(Metrics.LOSS) && Double.isFinite(r.eval().get(Metrics.LOSS))) {
                ex.add(r.step());
                ey.add(r.eval().get(Metrics.LOSS));
            }
        }
        if (!ex.isEmpty()) {
            chart.addSeries("evaluation loss", ex, ey).setMarker(SeriesMarkers.CIRCLE);
        }
        return chart;
    }
}
