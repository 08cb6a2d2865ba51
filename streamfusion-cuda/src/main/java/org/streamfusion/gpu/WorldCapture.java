package org.streamfusion.gpu;

import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.IntStream;
import org.streamfusion.spi.StreamCapture;

/**
 * The host side of capturing one layer of every rank of an in-process world as ONE graph, and of replaying and
 * freeing it (docs/one-gpu-world.md, "Graphs on a world"). Pure Java: the device work is behind {@link Origin}
 * and {@link Member}, so the meetings, the leader's part and the failure rules are tested on the CPU.
 *
 * <p>Rank {@link #LEADER} begins a capture on the world's origin stream and records a fork event there; every rank's
 * stream waits for the fork (it joins the capture), enqueues its layer as eagerly, and records a join event that the
 * origin waits for; the leader ends the capture on the thread that began it. Every wait is bounded by the fabric's
 * timeout and names the rank and the step. A refusal by CUDA when the capture begins or ends (every rank's layer
 * enqueued, the fabric consistent) is agreed: every rank gets the same {@link StreamCapture.Refused} and replays
 * eagerly. Any failure between the join and the join event (a call refused in the middle of a layer, a rank's
 * exception) fails the world: the ranks' host matching is then mid-layer and cannot be replayed eagerly.
 */
final class WorldCapture {
    /** The rank whose thread begins and ends every capture and launches every replay. */
    static final int LEADER = 0;

    /** A refusal as it is posted on a board. */
    private record Refusal(String message) {
    }

    /** The leader's device side: the origin stream and the graph. */
    interface Origin<G> {
        /**
         * Begins a capture on the origin, runs {@code inside}, ends the capture on this thread and instantiates it.
         *
         * @throws StreamCapture.Refused when CUDA refuses the capture's beginning or its end
         */
        G capture(Runnable inside);

        /** Inside the capture: records the fork event on the origin and returns it. */
        Object fork();

        /** Inside the capture: the origin waits for every rank's join event. */
        void rejoin(List<Object> joins);
    }

    /** One rank's device side: its layer's stream. */
    interface Member {
        /** The rank's stream waits for the fork event: it joins the capture. */
        void join(Object fork);

        /** Records the join event on the rank's stream (after its layer) and returns it. */
        Object joined();
    }

    private WorldCapture() {
    }

    /**
     * Capture number {@code n} on {@code rank}: collective, every rank in the same order.
     *
     * @param origin the leader's origin ({@code null} on the other ranks)
     * @param body   the rank's layer, enqueued as eagerly
     * @return the graph the leader made, the same object on every rank
     * @throws StreamCapture.Refused on every rank when CUDA refused the capture's beginning or end
     */
    static <G> G capture(LocalFabric fabric, int rank, long n, Origin<G> origin, Member member, Runnable body) {
        String key = "world-capture/" + n;
        String step = "world capture " + n;
        if (rank != LEADER) {
            Object fork = guarded(fabric, rank, () -> fabric.get(key + "/fork", LEADER, rank, step, Object.class));
            if (fork instanceof Refusal r) {
                fabric.release(key + "/fork", rank, fabric.worldSize());
                throw new StreamCapture.Refused(r.message(), null);
            }
            guarded(fabric, rank, () -> {
                member.join(fork);
                body.run();
                fabric.put(key + "/joined", rank, member.joined());
                return null;
            });
            Object outcome = guarded(fabric, rank, () -> fabric.get(key + "/outcome", LEADER, rank, step, Object.class));
            releaseAll(fabric, key, rank);
            if (outcome instanceof Refusal r) {
                throw new StreamCapture.Refused(r.message(), null);
            }
            @SuppressWarnings("unchecked")
            G graph = (G) outcome;
            return graph;
        }
        boolean[] forked = {false};
        RuntimeException[] inside = {null};
        G graph;
        try {
            graph = origin.capture(() -> {
                try {
                    Object fork = origin.fork();
                    fabric.put(key + "/fork", LEADER, fork);
                    forked[0] = true;
                    member.join(fork);
                    body.run();
                    List<Object> joins = fabric.meet(key + "/joined", everyRank(fabric), rank, step, member.joined(),
                            Object.class);
                    origin.rejoin(joins);
                } catch (RuntimeException e) {
                    inside[0] = e;
                    fabric.fail(rank, e); // peers' waits end now; the capture is abandoned on the way out
                    throw e;
                } catch (Error e) {
                    fabric.fail(rank, e);
                    throw e;
                }
            });
        } catch (StreamCapture.Refused refused) {
            if (inside[0] != null) {
                throw inside[0]; // the layer's own failure, not the end's refusal that followed it
            }
            fabric.put(key + (forked[0] ? "/outcome" : "/fork"), LEADER, new Refusal(refused.getMessage()));
            if (forked[0]) {
                releaseAll(fabric, key, rank);
            } else {
                fabric.release(key + "/fork", rank, fabric.worldSize());
            }
            throw refused;
        } catch (RuntimeException | Error e) {
            fabric.fail(rank, e);
            throw e;
        }
        fabric.put("world-graph/" + n, LEADER, graph); // owned by the last rank to release it
        fabric.put(key + "/outcome", LEADER, graph);
        releaseAll(fabric, key, rank);
        return graph;
    }

    /**
     * Replay number {@code replay} of graph {@code n} on {@code rank}: every rank posts {@code ready} (its stream
     * reached the replay); the leader runs {@code launch} on all of them, in rank order, and posts what it returns;
     * every rank then runs {@code after} on that.
     */
    static void replay(LocalFabric fabric, int rank, long n, long replay, Object ready,
            Function<List<Object>, Object> launch, Consumer<Object> after) {
        String key = "world-graph/" + n + "/replay/" + replay;
        String step = "world graph " + n + " replay " + replay;
        guarded(fabric, rank, () -> {
            Object done;
            if (rank == LEADER) {
                done = launch.apply(fabric.meet(key + "/ready", everyRank(fabric), rank, step, ready, Object.class));
                fabric.put(key + "/done", LEADER, done);
            } else {
                fabric.put(key + "/ready", rank, ready);
                done = fabric.get(key + "/done", LEADER, rank, step, Object.class);
            }
            after.accept(done);
            fabric.release(key + "/ready", rank, fabric.worldSize());
            fabric.release(key + "/done", rank, fabric.worldSize());
            return null;
        });
    }

    /** Rank {@code rank} is done with graph {@code n}; the last rank to release it runs {@code free} on it. */
    static <G> void release(LocalFabric fabric, int rank, long n, Class<G> type, Consumer<G> free) {
        Object[] parts = fabric.release("world-graph/" + n, rank, fabric.worldSize());
        if (parts != null && parts[LEADER] != null) {
            free.accept(type.cast(parts[LEADER]));
        }
    }

    private static void releaseAll(LocalFabric fabric, String key, int rank) {
        for (String board : List.of("/fork", "/joined", "/outcome")) {
            fabric.release(key + board, rank, fabric.worldSize());
        }
    }

    private static int[] everyRank(LocalFabric fabric) {
        return IntStream.range(0, fabric.worldSize()).toArray();
    }

    /** A wait or device call that fails fails the world, so that its peers' waits end at once. */
    private static <T> T guarded(LocalFabric fabric, int rank, Supplier<T> work) {
        try {
            return work.get();
        } catch (RuntimeException | Error e) {
            fabric.fail(rank, e);
            throw e;
        }
    }
}
