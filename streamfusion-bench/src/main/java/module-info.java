/**
 * The command-line runner (the README's main job, the planner's table, the GPU checks), the
 * multi-process launcher and the JMH benchmarks. JMH is needed only to run the benchmarks, which run
 * from {@code benchmarks.jar} on the class path.
 */
@SuppressWarnings("requires-automatic") // JMH ships no module descriptor
module org.streamfusion.bench {
    requires org.streamfusion;
    requires static jmh.core; // an automatic module (jmh-core has no descriptor)

    exports org.streamfusion.bench;
}
