package org.streamfusion.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.util.List;
import java.util.Locale;
import java.util.SequencedMap;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * Every plot the reports draw, headless, with JFreeChart: the one class of the command line that names it. The command
 * line reads every declared method of every command class, which resolves the types their signatures (lambdas'
 * included) name, so a command class that built a chart itself could not even be listed without JFreeChart on the
 * class path; the reports hand this class plain series instead, and where JFreeChart is absent
 * ({@code java -cp benchmarks.jar}: the jar leaves it out) they are refused by {@link Main#requireJFreeChart}, which
 * names no JFreeChart class. A series is a name and its (x, y) points, drawn in the map's order.
 */
final class Charts {
    static {
        System.setProperty("java.awt.headless", "true"); // before any AWT class asks: no display is needed
    }

    /** One bar: its series (the legend), its category (the axis) and its value. */
    record Bar(String series, String category, double value) {
    }

    private Charts() {
    }

    /**
     * A log-log scatter of each series with the diagonal {@code y = x} through the points' range, named
     * {@code diagonal}; axes labelled in plain numbers (0.25, 1, 20).
     */
    static void scatter(Path png, int size, String title, String xLabel, String yLabel,
            SequencedMap<String, List<double[]>> series, String diagonal) throws IOException {
        XYSeriesCollection data = collection(series, false);
        double lo = Double.MAX_VALUE;
        double hi = 0;
        for (List<double[]> points : series.values()) {
            for (double[] p : points) {
                lo = Math.min(lo, Math.min(p[0], p[1]));
                hi = Math.max(hi, Math.max(p[0], p[1]));
            }
        }
        XYSeries line = new XYSeries(diagonal);
        if (hi > 0) {
            line.add(lo, lo);
            line.add(hi, hi);
        }
        data.addSeries(line);
        JFreeChart chart = ChartFactory.createScatterPlot(title, xLabel, yLabel, data, PlotOrientation.VERTICAL, true,
                false, false);
        XYPlot plot = chart.getXYPlot();
        if (hi > 0) { // a log axis needs a positive range
            plot.setDomainAxis(logAxis(xLabel, 10, "0.##"));
            plot.setRangeAxis(logAxis(yLabel, 10, "0.##"));
        }
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(false, true);
        int last = data.getSeriesCount() - 1;
        renderer.setSeriesLinesVisible(last, true);
        renderer.setSeriesShapesVisible(last, false);
        plot.setRenderer(renderer);
        ChartUtils.saveChartAsPNG(png.toFile(), chart, size, size);
    }

    /** Lines through each series' points, each point drawn (a series of one point is a point). */
    static void lines(Path png, int width, int height, String title, String xLabel, String yLabel,
            SequencedMap<String, List<double[]>> series, boolean logLog) throws IOException {
        ChartUtils.saveChartAsPNG(png.toFile(), lineChart(title, xLabel, yLabel, series, logLog), width, height);
    }

    /** The chart {@link #lines} draws; log-log: machines (x) in powers of 2, milliseconds (y) in powers of 10. */
    static JFreeChart lineChart(String title, String xLabel, String yLabel, SequencedMap<String, List<double[]>> series,
            boolean logLog) {
        JFreeChart chart = ChartFactory.createXYLineChart(title, xLabel, yLabel, collection(series, true),
                PlotOrientation.VERTICAL, true, false, false);
        XYPlot plot = chart.getXYPlot();
        plot.setRenderer(new XYLineAndShapeRenderer(true, true));
        if (logLog) {
            plot.setRangeAxis(logAxis(yLabel, 10, "0.##"));
            plot.setDomainAxis(logAxis(xLabel, 2, "0"));
        }
        return chart;
    }

    /** Grouped bars, category labels at 45 degrees. */
    static void bars(Path png, int width, int height, String title, String categoryLabel, String valueLabel,
            List<Bar> bars) throws IOException {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        bars.forEach(b -> data.addValue(b.value(), b.series(), b.category()));
        JFreeChart chart = ChartFactory.createBarChart(title, categoryLabel, valueLabel, data, PlotOrientation.VERTICAL,
                true, false, false);
        chart.getCategoryPlot().getDomainAxis().setCategoryLabelPositions(CategoryLabelPositions.UP_45);
        ChartUtils.saveChartAsPNG(png.toFile(), chart, width, height);
    }

    /** {@code sortedByX}: a line's points joined in x order, not in the order added. */
    private static XYSeriesCollection collection(SequencedMap<String, List<double[]>> series, boolean sortedByX) {
        XYSeriesCollection data = new XYSeriesCollection();
        series.forEach((name, points) -> {
            XYSeries s = new XYSeries(name, sortedByX, true);
            points.forEach(p -> s.add(p[0], p[1]));
            data.addSeries(s);
        });
        return data;
    }

    private static LogAxis logAxis(String label, int base, String format) {
        LogAxis axis = new LogAxis(label);
        axis.setBase(base);
        axis.setNumberFormatOverride(new DecimalFormat(format, DecimalFormatSymbols.getInstance(Locale.ROOT)));
        return axis;
    }
}
