package org.streamfusion;

/** Raised on every rank once any rank of the world has failed, so that no rank waits for a dead peer. */
public final class RankFailedException extends StreamFusionException {
    private final int failedRank;

    public RankFailedException(int failedRank, String message, Throwable cause) {
        super(message, cause);
        this.failedRank = failedRank;
    }

    public int failedRank() {
        return failedRank;
    }
}
