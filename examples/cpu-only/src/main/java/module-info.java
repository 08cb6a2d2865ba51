/** A CPU-only user of StreamFusion-J: it reads the core, and the core alone is on its module path. */
module com.example.cpu {
    requires org.streamfusion;
}
