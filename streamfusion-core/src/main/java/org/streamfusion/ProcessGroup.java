package org.streamfusion;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * A process group whose members are an arithmetic progression of global ranks
 * ({@code start, start+stride, ...}): every group of every method is one, which is also what
 * NVSHMEM's {@code nvshmem_team_split_strided} can build.
 *
 * @param axis   the axis name that {@link #toString()} prints, e.g. {@code ring}
 * @param start  global rank of member 0
 * @param stride rank distance between consecutive members, at least 1
 * @param size   members, at least 1
 */
public record ProcessGroup(String axis, int start, int stride, int size) {
    /**
     * Checks the progression.
     *
     * @throws InvalidConfigurationException if {@code size} or {@code stride} is not positive
     */
    public ProcessGroup {
        InvalidConfigurationException.positive("group size", size);
        InvalidConfigurationException.positive("group stride", stride);
    }

    /**
     * Global rank of member {@code i}.
     *
     * @param i member index, {@code 0 <= i < size}
     * @return {@code start + i*stride}
     * @throws InvalidArgumentException if {@code i} is outside {@code [0, size)}
     */
    public int member(int i) {
        if (i < 0 || i >= size) {
            throw new InvalidArgumentException("member " + i + " of " + this);
        }
        return start + i * stride;
    }

    /**
     * Index of {@code rank} inside this group.
     *
     * @param rank a global rank in this group
     * @return its member index, {@code 0 <= index < size}
     * @throws InvalidArgumentException if {@code rank} is not a member
     */
    public int indexOf(int rank) {
        int d = rank - start;
        if (d < 0 || d % stride != 0 || d / stride >= size) {
            throw new InvalidArgumentException("rank " + rank + " is not in " + this);
        }
        return d / stride;
    }

    /** {@return the members' global ranks in member order, in a new array} */
    public int[] ranks() {
        return IntStream.range(0, size).map(this::member).toArray();
    }

    @Override
    public String toString() {
        return axis + Arrays.toString(ranks());
    }
}
