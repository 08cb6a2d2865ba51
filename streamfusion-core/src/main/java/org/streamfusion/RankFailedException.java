package org.streamfusion;

/** Raised on every rank once any rank of the world has failed, so that no rank waits for a dead peer. */
public final class RankFailedException extends StreamFusionException {
    /** The rank that failed. */
    private final int failedRank;

    /**
     * A failure seen on this rank.
     *
     * @param failedRank the rank that failed
     * @param message    what stopped this rank and where
     * @param cause      the failure itself, or {@code null}
     */
    public RankFailedException(int failedRank, String message, Throwable cause) {
        super(message, cause);
        this.failedRank = failedRank;
    }

    /** {@return the rank that failed} */
    public int failedRank() {
        return failedRank;
    }
}
