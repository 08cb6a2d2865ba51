package org.streamfusion.cpu;

import java.util.concurrent.atomic.AtomicLong;
import org.streamfusion.InvalidConfigurationException;

/**
 * The bytes all arenas of one CPU world hold, against {@link CpuOptions#memoryLimit()}: an allocation that
 * would pass the limit fails before anything is allocated, naming the bytes needed and available, so that a
 * shape too large for the host is an error and not a host that runs out of memory.
 */
final class MemoryLimit {
    static final String RULE = "bytes held by one CPU world <= CpuOptions.memoryLimit";

    private final long limit;
    private final AtomicLong held = new AtomicLong();

    MemoryLimit(long limit) {
        this.limit = limit;
    }

    /** Counts {@code bytes} as held, or throws without counting. */
    void reserve(long bytes, String what) {
        while (true) {
            long now = held.get();
            check(bytes, now, what);
            if (held.compareAndSet(now, now + bytes)) {
                return;
            }
        }
    }

    /** Throws when {@code bytes} more would not fit now; counts nothing. */
    void check(long bytes, String what) {
        check(bytes, held.get(), what);
    }

    private void check(long bytes, long now, String what) {
        if (bytes > limit - now) {
            throw new InvalidConfigurationException(what + " needs " + bytes + " bytes but the world has " + (limit - now)
                    + " of its " + limit + " bytes available", RULE);
        }
    }

    void release(long bytes) {
        held.addAndGet(-bytes);
    }

    long held() {
        return held.get();
    }
}
