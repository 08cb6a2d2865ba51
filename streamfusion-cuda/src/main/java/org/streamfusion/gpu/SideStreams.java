package org.streamfusion.gpu;

import java.util.ArrayList;
import java.util.List;
import org.streamfusion.cuda.CudaEvent;
import org.streamfusion.cuda.CudaStream;
import org.streamfusion.cuda.sf.SfKernels;
import org.streamfusion.cuda.sf.SfKernels.CopySegment;

/**
 * The fan-out of a one-sided primitive's NVSHMEM puts or gets over side streams, so that they overlap:
 * each put or get is ordered on its stream, so on one stream they would take one peer at a time. The
 * side streams and their events are made on first use and shared by all of the rank's streams, so they
 * are used under the rank device's lock (the one its close holds too).
 */
final class SideStreams {
    private static final int MAX_SIDE_STREAMS = 8;

    /** One put or get of a fanned-out primitive, issued on the stream it is given. */
    @FunctionalInterface
    interface CopyOp {
        void issue(int index, CudaStream on);
    }

    private final Object lock;
    private final List<CudaStream> streams = new ArrayList<>();
    /** One per side stream: recorded after its puts, waited for by the main stream. */
    private final List<CudaEvent> joinEvents = new ArrayList<>();
    private CudaEvent forkEvent;

    SideStreams(Object lock) {
        this.lock = lock;
    }

    /**
     * Runs {@code n} NVSHMEM puts or gets and the copy kernel over {@code direct} so that they overlap.
     * The puts go on side streams forked from {@code main}, the kernel on {@code main} between the fork
     * and the join, so everything after them on {@code main} (a barrier, a launch) sees all complete.
     */
    void fanOut(CudaStream main, int n, CopyOp op, List<CopySegment> direct) {
        if (n == 0) {
            if (!direct.isEmpty()) {
                SfKernels.copySegments(direct, 0, main);
            }
            return;
        }
        if (n == 1 && direct.isEmpty()) {
            op.issue(0, main);
            return;
        }
        synchronized (lock) {
            if (forkEvent == null) {
                forkEvent = CudaEvent.create(false);
            }
            int k = Math.min(n, MAX_SIDE_STREAMS);
            while (streams.size() < k) {
                streams.add(CudaStream.create(true));
                joinEvents.add(CudaEvent.create(false));
            }
            forkEvent.record(main);
            for (int i = 0; i < k; i++) {
                streams.get(i).waitFor(forkEvent);
            }
            for (int i = 0; i < n; i++) {
                op.issue(i, streams.get(i % k));
            }
            if (!direct.isEmpty()) {
                SfKernels.copySegments(direct, 0, main);
            }
            for (int i = 0; i < k; i++) {
                joinEvents.get(i).record(streams.get(i));
                main.waitFor(joinEvents.get(i));
            }
        }
    }

    /** Drains the side streams, then destroys their events, the streams and the fork event. */
    void close(Teardown teardown) {
        synchronized (lock) {
            streams.forEach(s -> teardown.attempt(s::synchronize));
            joinEvents.forEach(e -> teardown.attempt(e::close));
            streams.forEach(s -> teardown.attempt(s::close));
            if (forkEvent != null) {
                teardown.attempt(forkEvent::close);
            }
        }
    }
}
