package org.streamfusion;

import java.util.stream.IntStream;

/**
 * A process group whose members are an arithmetic progression of global ranks
 * ({@code start, start+stride, ...}): every group of every method is one, which is also what
 * NVSHMEM's {@code nvshmem_team_split_strided} can build.
 */
public record ProcessGroup(String axis, int start, int stride, int size) {
    public ProcessGroup {
        InvalidConfigurationException.positive("group size", size);
        InvalidConfigurationException.positive("group stride", stride);
    }

    /** Global rank of member {@code i}. */
    public int member(int i) {
        if (i < 0 || i >= size) {
            throw new IndexOutOfBoundsException("member " + i + " of " + this);
        }
        return start + i * stride;
    }

    /** Index of {@code rank} inside this group. */
    public int indexOf(int rank) {
        int d = rank - start;
        if (d < 0 || d % stride != 0 || d / stride >= size) {
            throw new IllegalArgumentException("rank " + rank + " is not in " + this);
        }
        return d / stride;
    }

    public int[] ranks() {
        return IntStream.range(0, size).map(this::member).toArray();
    }

    @Override
    public String toString() {
        return axis + java.util.Arrays.toString(ranks());
    }
}
