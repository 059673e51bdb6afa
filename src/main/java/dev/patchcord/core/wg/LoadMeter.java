package dev.patchcord.core.wg;

/**
 * Decides whether the responder is "under load", the state in which handshakes must carry a valid
 * MAC2 (a cookie) and are rate limited per source. Counts handshake messages per second; above
 * the threshold, and for one second after, the node is under load.
 */
final class LoadMeter {
    private static final long SECOND = 1_000_000_000L;
    private final int threshold;
    private long windowStart = Long.MIN_VALUE;
    private int count;
    private long underLoadUntil = Long.MIN_VALUE;

    LoadMeter(int perSecond) {
        this.threshold = perSecond;
    }

    /** Counts one handshake message at {@code now}; returns whether the node is under load. */
    synchronized boolean hit(long now) {
        if (windowStart == Long.MIN_VALUE || now - windowStart >= SECOND) {
            windowStart = now;
            count = 0;
        }
        if (++count > threshold) {
            underLoadUntil = now + SECOND;
        }
        return underLoadUntil != Long.MIN_VALUE && now < underLoadUntil;
    }
}
