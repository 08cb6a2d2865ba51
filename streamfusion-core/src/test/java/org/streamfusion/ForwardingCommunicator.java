package org.streamfusion;

import java.util.List;
import org.streamfusion.backend.Buffer;
import org.streamfusion.backend.DeviceArena;
import org.streamfusion.backend.Stream;
import org.streamfusion.spi.Communicator;
import org.streamfusion.spi.Kernels;
import org.streamfusion.spi.RankBackend;
import org.streamfusion.spi.Team;

/**
 * A communicator that passes every call to another: override one method to inject a fault (drop a
 * barrier, delay a transfer, corrupt a buffer), and {@link #on} puts it into a rank.
 */
class ForwardingCommunicator implements Communicator {
    protected final Communicator delegate;

    ForwardingCommunicator(Communicator delegate) {
        this.delegate = delegate;
    }

    /** {@code device} with this communicator in place of its own; everything else is the device's. */
    RankBackend on(RankBackend device) {
        Communicator self = this;
        return new RankBackend() {
            @Override
            public int rank() {
                return device.rank();
            }

            @Override
            public Topology topology() {
                return device.topology();
            }

            @Override
            public DeviceArena newArena() {
                return device.newArena();
            }

            @Override
            public DType storageType(DType requested) {
                return device.storageType(requested);
            }

            @Override
            public Communicator communicator() {
                return self;
            }

            @Override
            public Kernels kernels() {
                return device.kernels();
            }

            @Override
            public Class<? extends org.streamfusion.backend.Buffer> bufferType() {
                return device.bufferType();
            }
        };
    }

    @Override
    public int rank() {
        return delegate.rank();
    }

    @Override
    public int worldSize() {
        return delegate.worldSize();
    }

    @Override
    public Team team(ProcessGroup group) {
        return delegate.team(group);
    }

    @Override
    public void scatterPush(List<Buffer> srcs, Buffer dst, int[] pes, Stream stream, String step) {
        delegate.scatterPush(srcs, dst, pes, stream, step);
    }

    @Override
    public void gatherPull(List<Buffer> dsts, Buffer src, int[] pes, Stream stream, String step) {
        delegate.gatherPull(dsts, src, pes, stream, step);
    }

    @Override
    public void barrier(Team team, Stream stream, String step) {
        delegate.barrier(team, stream, step);
    }

    @Override
    public void barrierAll(Stream stream, String step) {
        delegate.barrierAll(stream, step);
    }

    @Override
    public void exchange(List<Transfer> sends, List<Transfer> recvs, Stream stream, String step) {
        delegate.exchange(sends, recvs, stream, step);
    }
}
