package org.streamfusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.streamfusion.cpu.CpuWorld;
import org.streamfusion.cpu.ShardedAttention;
import org.streamfusion.planning.CommunicationVolume;
import org.streamfusion.planning.Planner;

/**
 * A JDK Flight Recorder recording sees one {@code org.streamfusion.Layer} event per rank and forward, with the
 * layer's method, mesh, shape and per-rank bytes by link class (issue 11, item 4).
 */
class LayerEventTest {
    @Test
    void aRecordingSeesOneLayerEventPerRankAndForwardWithItsPlan() throws Exception {
        Topology topology = Topology.of(2, 2);
        AttentionShape shape = AttentionShape.of(1, 16, 8, 16);
        Plan plan = Planner.withDefaults().best(shape, topology, Method.STREAMFUSION);
        Inputs in = Inputs.fresh(shape);
        Path file = Files.createTempFile("layers", ".jfr");
        try (CpuWorld world = CpuWorld.create(topology); Recording recording = new Recording()) {
            recording.enable("org.streamfusion.Layer").withoutThreshold();
            recording.start();
            ShardedAttention.forward(world, plan, in.q, in.k, in.v, 3);
            recording.stop();
            recording.dump(file);
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(file).stream()
                .filter(e -> e.getEventType().getName().equals("org.streamfusion.Layer")).toList();
        Files.delete(file);
        assertEquals(3 * topology.worldSize(), events.size(), "3 forwards on 4 ranks");
        CommunicationVolume volume = CommunicationVolume.of(plan);
        for (RecordedEvent e : events) {
            int rank = e.getInt("rank");
            assertEquals("STREAMFUSION", e.getString("method"));
            assertEquals(plan.mesh().toString(), e.getString("mesh"));
            assertEquals(shape.toString(), e.getString("shape"));
            assertEquals("none", e.getString("qkvExchange"), "one-sided: nothing to group");
            assertEquals(volume.rank(rank).elements(LinkClass.INTER_MACHINE) * Float.BYTES, e.getLong("interMachineBytes"),
                    "rank " + rank);
            assertTrue(!e.getDuration().isNegative(), "host time of rank " + rank);
        }
    }

    @Test
    void thePlannersSimulatedLayersAreNotRecorded() throws Exception {
        Path file = Files.createTempFile("layers", ".jfr");
        try (Recording recording = new Recording()) {
            recording.enable("org.streamfusion.Layer").withoutThreshold();
            recording.start();
            Plan plan = Planner.withDefaults().best(AttentionShape.of(1, 256, 8, 64), Topology.of(2, 2));
            recording.stop();
            recording.dump(file);
            assertTrue(plan.mesh().topology().worldSize() == 4, "a plan for 2x2");
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(file).stream()
                .filter(e -> e.getEventType().getName().equals("org.streamfusion.Layer")).toList();
        Files.delete(file);
        assertEquals(List.of(), events.stream().map(e -> e.getString("mesh")).toList(),
                "planning simulates layers on no hardware: none of them is a layer event");
    }

    @Test
    void theEventSaysWhetherQkvWentInOneExchangeOrThree() throws Exception {
        Topology topology = Topology.of(1, 2);
        AttentionShape shape = AttentionShape.of(1, 16, 8, 16);
        Plan usp = Plan.of(shape, DeviceMesh.of(topology, Method.USP, 1, 2, 1));
        Inputs in = Inputs.fresh(shape);
        for (QkvExchange exchange : new QkvExchange[] {QkvExchange.GROUPED, QkvExchange.SEPARATE}) {
            Path file = Files.createTempFile("layers", ".jfr");
            try (CpuWorld world = CpuWorld.create(topology); Recording recording = new Recording()) {
                recording.enable("org.streamfusion.Layer").withoutThreshold();
                recording.start();
                ShardedAttention.forward(world, usp.withQkvExchange(exchange), in.q, in.k, in.v);
                recording.stop();
                recording.dump(file);
            }
            List<RecordedEvent> events = RecordingFile.readAllEvents(file).stream()
                    .filter(e -> e.getEventType().getName().equals("org.streamfusion.Layer")).toList();
            Files.delete(file);
            assertEquals(2, events.size(), exchange + ": one layer on 2 ranks");
            for (RecordedEvent e : events) {
                assertEquals(exchange.name().toLowerCase(java.util.Locale.ROOT), e.getString("qkvExchange"),
                        exchange + ", rank " + e.getInt("rank"));
            }
        }
    }
}
