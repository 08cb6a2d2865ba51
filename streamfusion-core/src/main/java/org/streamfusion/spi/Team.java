package org.streamfusion.spi;

import org.streamfusion.ProcessGroup;

/** A communicator's handle on a process group, for team barriers (an NVSHMEM team on the GPU). */
public interface Team {
    ProcessGroup group();
}
