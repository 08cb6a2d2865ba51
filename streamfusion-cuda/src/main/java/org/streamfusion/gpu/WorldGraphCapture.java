package org.streamfusion.gpu;

import java.util.List;
import java.util.Locale;
import org.streamfusion.WrongBackendException;
import org.streamfusion.backend.Stream;
import org.streamfusion.cuda.CudaEvent;
import org.streamfusion.cuda.CudaException;
import org.streamfusion.cuda.CudaGraph;
import org.streamfusion.cuda.CudaRuntime;
import org.streamfusion.cuda.CudaStream;
import org.streamfusion.spi.StreamCapture;
import org.streamfusion.InvalidConfigurationException;

/**
 * CUDA graphs on the ranks of an in-process world ({@link CudaWorld}): one capture, and one graph, for the whole
 * world. A rank's own capture cannot work there, since its layer waits for events its peers record, and CUDA refuses
 * a wait on an event of another capture; but a stream that waits for an event recorded on a capturing stream joins
 * that capture, from any thread. So rank {@link WorldCapture#LEADER} begins a capture on an origin stream of the
 * world's, every rank's layer stream joins it through a fork event and rejoins it through a join event, and the
 * leader ends it on the thread that began it. The host side is {@link WorldCapture}.
 *
 * <p>The capture begins in {@link CudaGraph.CaptureMode#THREAD_LOCAL} (the leader's thread is held to capture-safe
 * calls, the other ranks' threads and a service's are not), or in the mode the system property
 * {@code streamfusion.worldCaptureMode} names ({@code thread-local}, {@code relaxed}, {@code global}).
 *
 * <p>A replay is collective: every rank's stream records an event, the leader's origin waits for all of them, launches
 * the graph once and records a done event, and every rank's stream waits for that. The last rank to close its
 * replay destroys the graph, the origin and the done event.
 */
final class WorldGraphCapture implements StreamCapture {
    private static final String MODE_PROPERTY = "streamfusion.worldCaptureMode";

    private final LocalFabric fabric;
    private final LocalTransport transport;
    /** Captures so far: every rank captures its layers in the same order, so the count names the capture. */
    private long captures;

    WorldGraphCapture(LocalFabric fabric, LocalTransport transport) {
        mode(); // a bad streamfusion.worldCaptureMode fails when the world is made, not in its first capture
        this.fabric = fabric;
        this.transport = transport;
    }

    static CudaGraph.CaptureMode mode() {
        String m = System.getProperty(MODE_PROPERTY, "thread-local").toLowerCase(Locale.ROOT);
        return switch (m) {
            case "thread-local" -> CudaGraph.CaptureMode.THREAD_LOCAL;
            case "relaxed" -> CudaGraph.CaptureMode.RELAXED;
            case "global" -> CudaGraph.CaptureMode.GLOBAL;
            default -> throw new InvalidConfigurationException(MODE_PROPERTY + "=" + m,
                    "thread-local, relaxed or global");
        };
    }

    @Override
    public synchronized Replay capture(Stream origin, Runnable body) {
        GpuStream s = WrongBackendException.require(GpuStream.class, origin, "capture's origin stream");
        CudaRuntime.setDevice(transport.device());
        int rank = transport.rank();
        long n = ++captures;
        CudaEvent[] joined = {null};
        WorldCapture.Member member = new WorldCapture.Member() {
            @Override
            public void join(Object fork) {
                s.cuda().waitFor((CudaEvent) fork);
                s.enqueued("world capture " + n + ": joined");
            }

            @Override
            public Object joined() {
                joined[0] = CudaEvent.create(false);
                joined[0].record(s.cuda());
                return joined[0];
            }
        };
        // Puts of the eager layer before are complete (the layer synchronised), those of the captured one are ordered
        // by the graph's end: no barrier may wait across the capture's edges.
        transport.forgetIssuedPuts();
        WorldGraph graph;
        try {
            graph = WorldCapture.capture(fabric, rank, n, rank == WorldCapture.LEADER ? new Leader(n) : null, member,
                    () -> {
                        body.run();
                        transport.forgetIssuedPuts();
                    });
        } catch (Refused refused) {
            closeQuietly(joined[0]);
            throw refused;
        }
        closeQuietly(joined[0]); // the origin's wait for it is enqueued: the leader ended the capture
        return new RankReplay(graph, n, rank);
    }

    private static void closeQuietly(CudaEvent e) {
        if (e != null) {
            e.close();
        }
    }

    /** The leader's part: the origin stream and the fork event, made for this capture. */
    private final class Leader implements WorldCapture.Origin<WorldGraph> {
        private final long n;
        private CudaStream origin;
        private CudaEvent fork;

        Leader(long n) {
            this.n = n;
        }

        @Override
        public WorldGraph capture(Runnable inside) {
            CudaGraph.CaptureMode mode = mode();
            CudaEvent done = null;
            // Where the leader's capture stopped: a refusal frees the fork and the origin only where no peer can
            // still be about to wait for the fork (the begin refused before it was posted, or every rank rejoined).
            boolean[] started = {false};
            boolean[] rejoined = {false};
            try {
                origin = CudaStream.create(); // non-blocking: the legacy stream cannot touch the capture
                fork = CudaEvent.create(false);
                done = CudaEvent.create(false);
                CudaGraph graph;
                try {
                    graph = CudaGraph.capture(origin, mode, st -> {
                        started[0] = true;
                        inside.run();
                        rejoined[0] = true;
                    });
                } catch (CudaException e) {
                    // Refused at the begin (a capture error), or at the end or the instantiation after every rank
                    // rejoined (any CUDA error): agreed, every rank replays eagerly.
                    boolean refused = started[0] ? rejoined[0] : CudaGraphCapture.isCaptureError(e);
                    if (!refused) {
                        throw e;
                    }
                    throw new Refused("rank " + transport.rank() + " (the world's capture " + n + ", " + mode + "): "
                            + e.getMessage(), e);
                }
                closeQuietly(fork);
                return new WorldGraph(graph, origin, done);
            } catch (Refused e) {
                closeQuietly(fork);
                closeQuietly(done);
                origin.close();
                throw e;
            } catch (RuntimeException | Error e) {
                closeQuietly(done);
                if (!started[0]) { // no peer was told of the fork
                    closeQuietly(fork);
                    if (origin != null) {
                        origin.close();
                    }
                }
                // otherwise a failed world: a peer may still be about to wait for the fork, left to the process
                throw e;
            }
        }

        @Override
        public Object fork() {
            fork.record(origin);
            return fork;
        }

        @Override
        public void rejoin(List<Object> joins) {
            for (Object j : joins) {
                origin.waitFor((CudaEvent) j);
            }
        }
    }

    /** The world's graph: one per capture, shared by every rank's replay, destroyed by the last to close. */
    static final class WorldGraph implements AutoCloseable {
        private final CudaGraph graph;
        private final CudaStream origin;
        private final CudaEvent done;

        WorldGraph(CudaGraph graph, CudaStream origin, CudaEvent done) {
            this.graph = graph;
            this.origin = origin;
            this.done = done;
        }

        /** The leader: after every rank's stream reached the replay, one launch on the origin. */
        Object launch(List<Object> readies) {
            for (Object r : readies) {
                origin.waitFor((CudaEvent) r);
            }
            graph.launch(origin);
            done.record(origin);
            return done;
        }

        long nodes() {
            return graph.nodes();
        }

        @Override
        public void close() {
            try {
                graph.close();
            } finally {
                done.close();
                origin.close(); // CUDA destroys it once the replays on it completed
            }
        }
    }

    /** One rank's view of the world's graph. */
    private final class RankReplay implements Replay {
        private final WorldGraph graph;
        private final long n;
        private final int rank;
        private final CudaEvent ready = CudaEvent.create(false);
        private long replays;
        private boolean closed;

        RankReplay(WorldGraph graph, long n, int rank) {
            this.graph = graph;
            this.n = n;
            this.rank = rank;
        }

        @Override
        public void launch(Stream stream) {
            GpuStream on = WrongBackendException.require(GpuStream.class, stream, "replay stream");
            ready.record(on.cuda());
            WorldCapture.replay(fabric, rank, n, ++replays, ready, graph::launch,
                    done -> on.cuda().waitFor((CudaEvent) done));
            on.enqueued("world graph " + n + " replay " + replays);
        }

        @Override
        public long operations() {
            return graph.nodes();
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            ready.close();
            WorldCapture.release(fabric, rank, n, WorldGraph.class, WorldGraph::close);
        }
    }
}
