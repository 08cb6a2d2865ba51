package org.streamfusion.bench;

import java.util.concurrent.Callable;
import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.InvalidConfigurationException;
import org.streamfusion.planning.Planner;
import org.streamfusion.Topology;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code streamfusion plan --topology MxG [--batch B] [--seq S] [--heads H] [--dim D]}: the planner's table, every
 * mesh of every method ranked by the cost model, and its choice (CPU). {@code simulate} takes the same options.
 */
@Command(name = "plan", description = "The planner's ranking of every mesh by its cost model, and its choice.")
class PlanCommand implements Callable<Integer> {
    @Option(names = {"-t", "--topology"}, required = true, paramLabel = "MxG", converter = TopologyConverter.class,
            description = "the cluster, M machines x G GPUs, e.g. 4x8")
    Topology topology;

    @Option(names = {"-B", "--batch"}, paramLabel = "B", description = "batch size B (default: ${DEFAULT-VALUE})")
    int batch = 1;

    @Mixin
    ShapeOptions size = new ShapeOptions(4608, 24, 128);

    /** {@code MxG} as a {@link Topology}; a bad one is a usage error naming it and the rule. */
    static final class TopologyConverter implements ITypeConverter<Topology> {
        @Override
        public Topology convert(String value) {
            try {
                return Topology.parse(value);
            } catch (InvalidConfigurationException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    /** {@return the bf16 layer the options describe} */
    AttentionShape shape() {
        return size.shape(batch, DType.BF16);
    }

    /**
     * Prints the table.
     *
     * @return 0
     */
    @Override
    public Integer call() {
        System.out.print(Planner.withDefaults().explain(shape(), topology));
        return 0;
    }
}
