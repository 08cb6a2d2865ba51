package org.streamfusion;

import java.util.Objects;

/**
 * The ranks of {@code N = M*G} GPUs arranged on three axes for one method: torus ({@code t}, index
 * {@code l}), Ulysses ({@code u}, index {@code a}) and ring ({@code r}, index {@code b}), {@code t*u*r = N}.
 *
 * <p>For every method but USP the ring is innermost: {@code g = l*(u*r) + a*r + b} (docs/algorithms.md, section 3), so
 * with {@code t = M} the Ulysses and ring groups stay inside a machine. USP puts Ulysses innermost,
 * {@code g = b*u + a}, so its Ulysses group is consecutive and its ring strided. The Ulysses degree
 * seen by the attention is {@code t*u}: the torus step is a Ulysses all-to-all across machines.
 */
public final class DeviceMesh {
    private final Topology topology;
    private final Method method;
    private final int t;
    private final int u;
    private final int r;
    private final int strideT;
    private final int strideU;
    private final int strideR;

    private DeviceMesh(Topology topology, Method method, int t, int u, int r) {
        this.topology = topology;
        this.method = method;
        this.t = t;
        this.u = u;
        this.r = r;
        if (method == Method.USP) {
            strideU = 1;
            strideR = u;
            strideT = u * r;
        } else {
            strideR = 1;
            strideU = r;
            strideT = u * r;
        }
    }

    /**
     * A mesh for {@code method} with torus degree {@code t}, (intra) Ulysses degree {@code u} and ring
     * degree {@code r}. Throws {@link InvalidConfigurationException} naming the rule the degrees break.
     *
     * @param topology the machines and GPUs the mesh covers
     * @param method   the method the mesh is laid out for
     * @param t        torus degree, at least 1; a divisor of {@code M} for the torus methods, else 1
     * @param u        Ulysses degree (intra-machine {@code u'} for the torus methods), at least 1
     * @param r        ring degree, at least 1
     * @return the mesh
     * @throws InvalidConfigurationException if a degree is not positive, {@code t*u*r != N}, or the degrees
     *         break {@code method}'s rule
     */
    public static DeviceMesh of(Topology topology, Method method, int t, int u, int r) {
        InvalidConfigurationException.positive("torus degree t", t);
        InvalidConfigurationException.positive("Ulysses degree u", u);
        InvalidConfigurationException.positive("ring degree r", r);
        int n = topology.worldSize();
        int m = topology.machines();
        int g = topology.gpusPerMachine();
        if ((long) t * u * r != n) {
            throw new InvalidConfigurationException("mesh t=" + t + " u=" + u + " r=" + r + " covers " + (long) t * u * r
                    + " GPUs but the topology " + topology + " has N=" + n, "t*u*r == N");
        }
        switch (method) {
            case ULYSSES -> require(t == 1 && r == 1, method + " mesh t=" + t + " u=" + u + " r=" + r, "ULYSSES is t=1, u=N, r=1");
            case RING -> require(t == 1 && u == 1, method + " mesh t=" + t + " u=" + u + " r=" + r, "RING is t=1, u=1, r=N");
            case USP -> {
                require(t == 1, "USP torus degree t=" + t, "USP has no torus axis: t == 1");
                require(g % u == 0, "USP Ulysses degree u=" + u + " does not divide G=" + g,
                        "the USP Ulysses group stays inside a machine: G % u == 0");
            }
            case TAS -> {
                require(t == 1, "TAS torus degree t=" + t, "TAS has no separate torus axis: t == 1");
                require(g % r == 0, "TAS ring degree r=" + r + " does not divide G=" + g,
                        "the TAS ring stays inside a machine: G % r == 0");
            }
            case TORUS_TWO_SIDED, STREAMFUSION -> require(m % t == 0, method + " torus degree t=" + t
                    + " does not divide M=" + m, "each torus member is a block of whole machines: M % t == 0");
        }
        return new DeviceMesh(topology, method, t, u, r);
    }

    private static void require(boolean ok, String what, String rule) {
        if (!ok) {
            throw new InvalidConfigurationException(what, rule);
        }
    }

    /** {@return the machines and GPUs this mesh covers} */
    public Topology topology() {
        return topology;
    }

    /** {@return the method this mesh is laid out for} */
    public Method method() {
        return method;
    }

    /** {@return the torus degree {@code t}} */
    public int torus() {
        return t;
    }

    /** {@return the Ulysses degree {@code u} (for the torus methods the intra-machine degree {@code u'})} */
    public int ulysses() {
        return u;
    }

    /** {@return the ring degree {@code r}} */
    public int ring() {
        return r;
    }

    /** {@return the Ulysses degree the heads are split by: {@code t*u}} */
    public int headSplit() {
        return t * u;
    }

    /** {@return the number of GPUs {@code N = t*u*r}} */
    public int worldSize() {
        return topology.worldSize();
    }

    /**
     * The global rank at mesh coordinates {@code (l, a, b)}; the coordinates are not checked.
     *
     * @param l torus index, {@code 0 <= l < t}
     * @param a Ulysses index, {@code 0 <= a < u}
     * @param b ring index, {@code 0 <= b < r}
     * @return the global rank, {@code 0 <= rank < N}
     */
    public int rankOf(int l, int a, int b) {
        return l * strideT + a * strideU + b * strideR;
    }

    /**
     * Torus index {@code l} of a rank.
     *
     * @param rank global rank, {@code 0 <= rank < N} (not checked)
     * @return {@code l}, {@code 0 <= l < t}
     */
    public int torusIndex(int rank) {
        return (rank / strideT) % t;
    }

    /**
     * Ulysses index {@code a} of a rank.
     *
     * @param rank global rank, {@code 0 <= rank < N} (not checked)
     * @return {@code a}, {@code 0 <= a < u}
     */
    public int ulyssesIndex(int rank) {
        return (rank / strideU) % u;
    }

    /**
     * Ring index {@code b} of a rank.
     *
     * @param rank global rank, {@code 0 <= rank < N} (not checked)
     * @return {@code b}, {@code 0 <= b < r}
     */
    public int ringIndex(int rank) {
        return (rank / strideR) % r;
    }

    /**
     * {@code {(*, a, b)}}.
     *
     * @param rank global rank, {@code 0 <= rank < N}
     * @return the {@code t} ranks with {@code rank}'s Ulysses and ring indices, {@code rank} included
     */
    public ProcessGroup torusGroup(int rank) {
        return new ProcessGroup("torus", rankOf(0, ulyssesIndex(rank), ringIndex(rank)), strideT, t);
    }

    /**
     * {@code {(l, *, b)}}.
     *
     * @param rank global rank, {@code 0 <= rank < N}
     * @return the {@code u} ranks with {@code rank}'s torus and ring indices, {@code rank} included
     */
    public ProcessGroup ulyssesGroup(int rank) {
        return new ProcessGroup("ulysses", rankOf(torusIndex(rank), 0, ringIndex(rank)), strideU, u);
    }

    /**
     * {@code {(l, a, *)}}.
     *
     * @param rank global rank, {@code 0 <= rank < N}
     * @return the {@code r} ranks with {@code rank}'s torus and Ulysses indices, {@code rank} included
     */
    public ProcessGroup ringGroup(int rank) {
        return new ProcessGroup("ring", rankOf(torusIndex(rank), ulyssesIndex(rank), 0), strideR, r);
    }

    /** {@return all {@code N} ranks, {@code 0} to {@code N-1}, as one group} */
    public ProcessGroup world() {
        return new ProcessGroup("world", 0, 1, worldSize());
    }

    @Override
    public String toString() {
        return switch (method) {
            case ULYSSES -> "ULYSSES(u=" + u + ") on " + topology;
            case RING -> "RING(r=" + r + ") on " + topology;
            case USP, TAS -> method + "(u=" + u + ", r=" + r + ") on " + topology;
            case TORUS_TWO_SIDED, STREAMFUSION -> method + "(t=" + t + ", u'=" + u + ", r=" + r + ") on " + topology;
        };
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DeviceMesh d && d.topology.equals(topology) && d.method == method && d.t == t && d.u == u
                && d.r == r;
    }

    @Override
    public int hashCode() {
        return Objects.hash(topology, method, t, u, r);
    }
}
