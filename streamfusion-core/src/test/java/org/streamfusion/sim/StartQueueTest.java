package org.streamfusion.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Comparator;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The engine's start queue removes starts in the order a {@link PriorityQueue} on (time, issue order) would. */
class StartQueueTest {
    private record Start(double time, long order, SimStream stream) {
    }

    @Test
    void removesInTimeThenIssueOrderAsAPriorityQueue() {
        SplittableRandom random = new SplittableRandom(7);
        SimStream[] streams = new SimStream[50];
        for (int i = 0; i < streams.length; i++) {
            streams[i] = new SimStream(i, "s" + i, false);
        }
        StartQueue queue = new StartQueue();
        PriorityQueue<Start> reference = new PriorityQueue<>(
                Comparator.comparingDouble(Start::time).thenComparingLong(Start::order));
        long order = 0;
        for (int round = 0; round < 20_000; round++) {
            if (reference.isEmpty() || random.nextInt(3) > 0) {
                // Few distinct times, so that ties in time are common and the issue order must break them.
                double time = random.nextInt(40) * 0.25;
                SimStream s = streams[random.nextInt(streams.length)];
                queue.add(time, order, s);
                reference.add(new Start(time, order++, s));
            } else {
                Start expected = reference.poll();
                assertEquals(expected.time(), queue.peekTime(), 0.0);
                assertSame(expected.stream(), queue.poll());
            }
        }
        while (!reference.isEmpty()) {
            assertSame(reference.poll().stream(), queue.poll());
        }
        assertTrue(queue.isEmpty());
    }
}
