/**
 * The command-line runner (the README's main job, the planner's table, the GPU checks, the layerwise
 * sweep and its report), the multi-process launcher and the JMH benchmarks. JMH is needed only to run
 * the benchmarks, which run from {@code benchmarks.jar} on the class path.
 */
@SuppressWarnings("requires-automatic") // JMH and JFreeChart ship no module descriptor
module org.streamfusion.bench {
    requires org.streamfusion;
    requires org.streamfusion.cuda; // the GPU checks and the launcher's CUDA ranks
    requires static jmh.core; // an automatic module (jmh-core has no descriptor)
    requires info.picocli;
    requires org.apache.commons.csv; // the sweep CSV and its rank files
    requires org.apache.commons.statistics.descriptive; // LayerTiming's median and percentiles
    requires org.jfree.jfreechart; // an automatic module
    requires java.desktop; // the report draws PNGs with AWT, headless
    requires java.management; // GraphCheck reads the JVM's native memory and thread count
    requires jdk.jfr; // CallerTensorsCheck reads the layer events

    exports org.streamfusion.bench;
    opens org.streamfusion.bench to info.picocli; // picocli fills annotated fields reflectively
}
