package org.streamfusion.gpu;

import java.time.Duration;
import java.util.Optional;
import org.streamfusion.InterMachineLink;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.Timeouts;

/**
 * Settings of a CUDA rank.
 *
 * @param timeout  bound on the rendezvous and on every host wait for a stream, {@code 0 < timeout <= 7 days}
 * @param nvshmem  initialise NVSHMEM (needed by STREAMFUSION's one-sided primitives; the two-sided
 *                 methods need only NCCL)
 * @param poison   fill new allocations with NaN, so that a read of memory nothing wrote shows in results: a
 *                 debugging aid (one memset per allocation), off by default, on with {@link #withPoison} or
 *                 {@value #POISON_PROPERTY}{@code =true}; the same on every rank of a job (a rank that fills a
 *                 symmetric block waits at a store barrier for the others to fill theirs)
 * @param push     what moves ScatterPush's bytes to GPUs of this host
 * @param pull     what moves GatherPull's bytes from GPUs of this host
 * @param ringLane give two-sided transfers on the ring stream their own NCCL communicator (see
 *                 {@link org.streamfusion.spi.Communicator#RING_LANE}); {@code false} runs every
 *                 two-sided transfer over one communicator, in issue order
 * @param emulatedLink when present, every transfer between GPUs that the logical topology puts on different
 *                 machines still moves its bytes over NVLink but completes no earlier than it would over
 *                 this link (docs/native.md, "Emulated inter-machine links"); empty: no emulation
 */
public record GpuOptions(Duration timeout, boolean nvshmem, boolean poison, OneSidedMover push, OneSidedMover pull,
        boolean ringLane, Optional<InterMachineLink> emulatedLink) {
    /** The system property that turns the emulation on: a spec for {@link InterMachineLink#parse}. */
    public static final String EMULATED_LINK_PROPERTY = "streamfusion.emulatedLink";
    /** The system property that turns NaN-filled allocations on in {@link #defaults()}: {@code true}. */
    public static final String POISON_PROPERTY = "streamfusion.poison";

    /**
     * The mover of a put or get to a PE that NVSHMEM maps into this GPU's address space (NVLink).
     * PEs without a mapping (another machine) always go through {@code nvshmemx_putmem_on_stream}.
     */
    public enum OneSidedMover {
        /**
         * One {@code sf_copy_segments} kernel per primitive whose blocks store (or load) through the peers'
         * {@code nvshmem_ptr} mappings, every peer at once: full NVLink bandwidth, at the cost of SMs.
         */
        SM_KERNEL,
        /**
         * {@code nvshmemx_putmem_on_stream} / {@code getmem_on_stream}, which over NVLink are copy-engine
         * copies, fanned out over side streams: no SMs taken from a kernel that overlaps them, but
         * 64-72% of PyTorch's NCCL all-to-all bandwidth on 4 H200s at 256 MiB (docs/native.md).
         */
        COPY_ENGINE;

        /**
         * The mover named by {@code name} ("sm-kernel" or "copy-engine", any case, '-' or '_').
         *
         * @param name the mover's name
         * @return the mover
         * @throws InvalidConfigurationException if {@code name} names neither mover
         */
        public static OneSidedMover parse(String name) {
            for (OneSidedMover m : values()) {
                if (m.name().equalsIgnoreCase(name.replace('-', '_'))) {
                    return m;
                }
            }
            throw new InvalidConfigurationException("one-sided mover '" + name + "'", "sm-kernel or copy-engine");
        }
    }

    /**
     * Checks the values.
     *
     * @throws InvalidConfigurationException if {@code timeout} is null, not positive or past 7 days, a mover is null, or
     *         {@code emulatedLink} is null or proxy-driven
     */
    public GpuOptions {
        Timeouts.check("timeout", timeout);
        if (push == null || pull == null) {
            throw new InvalidConfigurationException("push=" + push + ", pull=" + pull, "both one-sided movers must be given");
        }
        if (emulatedLink == null) {
            throw new InvalidConfigurationException("emulatedLink=null", "Optional.empty() for no emulation");
        }
        if (emulatedLink.isPresent() && emulatedLink.get().proxyDriven()) {
            // The emulation delays bytes by a NIC's rate and latency; it has no host proxy to charge.
            throw new InvalidConfigurationException("emulatedLink=" + emulatedLink.get().name(),
                    "an emulated link is not proxy-driven (the simulator models proxy-driven links)");
        }
    }

    /**
     * Without an emulated link.
     *
     * @param timeout  bound on the rendezvous and on every host wait for a stream, positive
     * @param nvshmem  initialise NVSHMEM
     * @param poison   fill new allocations with NaN
     * @param push     what moves ScatterPush's bytes to GPUs of this host
     * @param pull     what moves GatherPull's bytes from GPUs of this host
     * @param ringLane give two-sided transfers on the ring stream their own NCCL communicator
     * @throws InvalidConfigurationException if {@code timeout} is null, not positive or past 7 days, or a mover is null
     */
    public GpuOptions(Duration timeout, boolean nvshmem, boolean poison, OneSidedMover push, OneSidedMover pull,
            boolean ringLane) {
        this(timeout, nvshmem, poison, push, pull, ringLane, Optional.empty());
    }

    /**
     * 120 s timeout, NVSHMEM on, allocations not NaN-filled (unless {@value #POISON_PROPERTY} is {@code true}),
     * the ring lane on; ScatterPush by the SM kernel and
     * GatherPull by the copy engines. The system properties {@code streamfusion.push} /
     * {@code streamfusion.pull} ({@code sm-kernel} or {@code copy-engine}) and
     * {@code streamfusion.ncclRingLane} ({@code false} to turn the lane off) override them. Why pulls stay
     * on the copy engines: the ring's KV pulls overlap the attention kernel, and the copy kernel's blocks
     * would take SMs from it while copy engines take none; at Flux size on 4 H200s, SM-kernel movers for
     * both primitives made the ring-heavy mesh about 6% slower than copy engines for both, though neither
     * primitive's share was resolved above the run-to-run noise (docs/results/layers.md). Pushes use the SM
     * kernel because it makes an exposed all-to-all about 1.5x faster (docs/native.md). No emulated link
     * unless the system property {@value #EMULATED_LINK_PROPERTY} names one ({@link #emulatedLinkFrom}).
     *
     * @return the defaults, with the system properties applied
     * @throws InvalidConfigurationException if one of those system properties names no mover or no link
     */
    public static GpuOptions defaults() {
        return new GpuOptions(Duration.ofSeconds(120), true, Boolean.parseBoolean(System.getProperty(POISON_PROPERTY)),
                OneSidedMover.parse(System.getProperty("streamfusion.push", "sm-kernel")),
                OneSidedMover.parse(System.getProperty("streamfusion.pull", "copy-engine")),
                !"false".equalsIgnoreCase(System.getProperty("streamfusion.ncclRingLane", "true")),
                emulatedLinkFrom(System.getProperty(EMULATED_LINK_PROPERTY)));
    }

    /**
     * The link a value of {@value #EMULATED_LINK_PROPERTY} names ({@link InterMachineLink#parse}, e.g.
     * {@code rail-400G}, {@code p4de-400G/gpu-of-8}, {@code 12.5,10,per-gpu}); {@code null} or blank: none.
     *
     * @param spec the property's value, or {@code null}
     * @return the link, or empty
     * @throws InvalidConfigurationException if {@code spec} is not blank and not a valid link spec
     */
    public static Optional<InterMachineLink> emulatedLinkFrom(String spec) {
        return spec == null || spec.isBlank() ? Optional.empty() : Optional.of(InterMachineLink.parse(spec));
    }

    /**
     * The same options with other one-sided movers.
     *
     * @param push what moves ScatterPush's bytes to GPUs of this host
     * @param pull what moves GatherPull's bytes from GPUs of this host
     * @return the new options
     * @throws InvalidConfigurationException if a mover is null
     */
    public GpuOptions withMovers(OneSidedMover push, OneSidedMover pull) {
        return new GpuOptions(timeout, nvshmem, poison, push, pull, ringLane, emulatedLink);
    }

    /**
     * The same options with new allocations NaN-filled or not: on, a layer output nothing wrote reads NaN (the GPU
     * checks turn it on); off, allocations cost no memset.
     *
     * @param on whether new allocations are filled with NaN
     * @return the new options
     */
    public GpuOptions withPoison(boolean on) {
        return new GpuOptions(timeout, nvshmem, on, push, pull, ringLane, emulatedLink);
    }

    /**
     * The same options with the ring lane on or off.
     *
     * @param on whether two-sided transfers on the ring stream get their own NCCL communicator
     * @return the new options
     */
    public GpuOptions withRingLane(boolean on) {
        return new GpuOptions(timeout, nvshmem, poison, push, pull, on, emulatedLink);
    }

    /**
     * The same options with inter-machine transfers emulated over {@code link}.
     *
     * @param link the emulated inter-machine link
     * @return the new options
     * @throws InvalidConfigurationException if {@code link} is null
     */
    public GpuOptions withEmulatedLink(InterMachineLink link) {
        if (link == null) {
            throw new InvalidConfigurationException("emulated link null", "a link; withoutEmulatedLink() for none");
        }
        return new GpuOptions(timeout, nvshmem, poison, push, pull, ringLane, Optional.of(link));
    }

    /** {@return the same options with no emulated link} */
    public GpuOptions withoutEmulatedLink() {
        return new GpuOptions(timeout, nvshmem, poison, push, pull, ringLane, Optional.empty());
    }
}
