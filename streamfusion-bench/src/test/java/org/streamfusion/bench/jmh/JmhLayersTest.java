package org.streamfusion.bench.jmh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.streamfusion.AttentionShape;
import org.streamfusion.DType;
import org.streamfusion.Method;
import org.streamfusion.Plan;

/** The GPU benchmarks' mesh parameter survives JMH, which splits a parameter's values at commas. */
class JmhLayersTest {
    private static final AttentionShape SHAPE = AttentionShape.of(1, 4096, 24, 128, DType.BF16);

    @Test
    void aMeshWrittenWithSlashesOrArrivingWholeWithCommasNamesTheSamePlan() {
        Plan slashes = JmhLayers.plan("2x1", Method.STREAMFUSION, "2/1/1", SHAPE);
        assertEquals(2, slashes.mesh().torus());
        assertEquals(slashes, JmhLayers.plan("2x1", Method.STREAMFUSION, "2,1,1", SHAPE));
    }

    @Test
    void aMeshThatJmhSplitAtItsCommasIsRefusedNamingTheForm() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> JmhLayers.plan("2x1", Method.STREAMFUSION, "2", SHAPE));
        assertTrue(e.getMessage().contains("mesh '2'") && e.getMessage().contains("t/u/r"), e.getMessage());
    }
}
