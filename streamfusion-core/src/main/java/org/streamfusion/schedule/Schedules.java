package org.streamfusion.schedule;

import org.streamfusion.DistributedAttention;
import org.streamfusion.Plan;
import org.streamfusion.spi.RankBackend;

/**
 * The one way to build a schedule: {@link DistributedAttention#create} checks the plan against the
 * device and comes here. The package is not exported, and the schedules' constructors are not public.
 */
public final class Schedules {
    private Schedules() {
    }

    /** The schedule of {@code plan.method()} on {@code device}; collective. */
    public static DistributedAttention create(Plan plan, RankBackend device) {
        return switch (plan.method()) {
            case ULYSSES, RING, USP, TAS -> new UlyssesRingAttention(plan, device);
            case TORUS_TWO_SIDED -> new TorusAttention(plan, device,
                    c -> new TwoSidedTorus(c.at(), c.comm(), c.commStream()));
            case STREAMFUSION -> new TorusAttention(plan, device, OneSidedTorus::new);
        };
    }
}
