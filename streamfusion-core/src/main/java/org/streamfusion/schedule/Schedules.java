package org.streamfusion.schedule;

import org.streamfusion.DistributedAttention;
import org.streamfusion.Plan;
import org.streamfusion.backend.RankDevice;
import org.streamfusion.spi.RankBackend;

/**
 * The one way to build a schedule: {@link DistributedAttention#create} comes here, and the plan is
 * checked against the device ({@link CallChecks}). The package is not exported, and the schedules' constructors are not public.
 */
public final class Schedules {
    private Schedules() {
    }

    /** The schedule of {@code plan.method()} on {@code device}, once the plan fits the device; collective. */
    public static DistributedAttention create(Plan plan, RankDevice rank) {
        RankBackend device = CallChecks.layer(plan, rank);
        return switch (plan.method()) {
            case ULYSSES, RING, USP, TAS -> new UlyssesRingAttention(plan, device);
            case TORUS_TWO_SIDED -> new TorusAttention(plan, device,
                    c -> new TwoSidedTorus(c.at(), c.comm(), c.commStream()));
            case STREAMFUSION -> new TorusAttention(plan, device, OneSidedTorus::new);
        };
    }
}
