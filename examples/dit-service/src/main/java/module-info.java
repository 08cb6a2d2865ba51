/** A DiT service's use of StreamFusion-J as a named module: the CUDA backend, and through it the core. */
module com.example.dit {
    requires org.streamfusion.cuda;
}
