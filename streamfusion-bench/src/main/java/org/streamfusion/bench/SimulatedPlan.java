package org.streamfusion.bench;

import picocli.CommandLine.Command;

/**
 * {@code streamfusion simulate}: {@code plan} under the name the simulator's ranking had before the planner ranked by
 * simulation; the same options, the same table, the same choice.
 */
@Command(name = "simulate", description = "The same as plan: every mesh ranked by its simulated layer, and the choice.")
final class SimulatedPlan extends PlanCommand {
}
