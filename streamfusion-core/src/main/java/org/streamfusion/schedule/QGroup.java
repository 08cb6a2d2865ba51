package org.streamfusion.schedule;

import java.util.ArrayList;
import java.util.List;
import org.streamfusion.InvalidArgumentException;
import org.streamfusion.backend.TensorView;
import org.streamfusion.spi.AttentionState;
import org.streamfusion.spi.QChunk;

/** Q chunks that are folded and finalised together, with their states and output views. */
record QGroup(String name, List<TensorView> q, List<AttentionState> states, List<TensorView> out) {
    QGroup {
        if (q.size() != states.size() || q.size() != out.size()) {
            throw new InvalidArgumentException("group " + name + ": " + q.size() + " q, " + states.size() + " states, "
                    + out.size() + " outputs");
        }
    }

    List<QChunk> chunks(boolean withOut) {
        List<QChunk> c = new ArrayList<>(q.size());
        for (int i = 0; i < q.size(); i++) {
            c.add(new QChunk(q.get(i), states.get(i), withOut ? out.get(i) : null));
        }
        return c;
    }
}
