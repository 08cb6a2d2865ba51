package org.streamfusion.gpu;

import java.util.ArrayList;
import java.util.List;

/**
 * The steps of a close, which all run whatever fails: a step that throws marks the rank failed (so the
 * later steps skip what would wait for the peers), and the first error is thrown at the end with the
 * others suppressed.
 */
final class Teardown {
    private final List<RuntimeException> errors = new ArrayList<>();
    private final Runnable onFailure;

    Teardown(Runnable onFailure) {
        this.onFailure = onFailure;
    }

    void attempt(Runnable step) {
        try {
            step.run();
        } catch (RuntimeException e) {
            onFailure.run();
            errors.add(e);
        }
    }

    boolean hasErrors() {
        return !errors.isEmpty();
    }

    void throwFirstError() {
        if (!errors.isEmpty()) {
            RuntimeException first = errors.get(0);
            errors.subList(1, errors.size()).forEach(first::addSuppressed);
            throw first;
        }
    }
}
