package org.streamfusion.gpu;

import java.util.concurrent.atomic.AtomicInteger;
import org.streamfusion.cuda.CudaEvent;
import org.streamfusion.cuda.CudaStream;

/**
 * A CUDA event that several ranks' streams wait for: destroyed by the last of its users, each of which
 * releases it once its wait is enqueued (CUDA keeps a destroyed event's pending work valid).
 */
final class SharedEvent {
    private final CudaEvent event;
    private final AtomicInteger users;

    private SharedEvent(CudaEvent event, int users) {
        this.event = event;
        this.users = new AtomicInteger(users);
    }

    /** An event recorded on {@code stream} now, for {@code users} releases. */
    static SharedEvent record(CudaStream stream, int users) {
        CudaEvent e = CudaEvent.create(false);
        try {
            e.record(stream);
        } catch (RuntimeException | Error x) {
            e.close();
            throw x;
        }
        return new SharedEvent(e, users);
    }

    CudaEvent event() {
        return event;
    }

    void release() {
        if (users.decrementAndGet() == 0) {
            event.close();
        }
    }
}
