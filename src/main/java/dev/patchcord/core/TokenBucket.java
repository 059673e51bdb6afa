package dev.patchcord.core;

/**
 * A token bucket: on average {@code perSecond} events a second, at most {@code burst} at once. It
 * starts full. The caller gives the time (System.nanoTime), so it is deterministic under test.
 * Not thread-safe: one thread owns it.
 */
public final class TokenBucket {
    private static final long SECOND = 1_000_000_000L;

    /** What one event costs, in nanoseconds of refill. */
    private final long cost;
    private final long capacity;
    private long tokens;
    private long last;
    private boolean started;

    public TokenBucket(int perSecond, int burst) {
        if (perSecond < 1 || burst < 1) {
            throw new IllegalArgumentException("rate and burst must be positive");
        }
        this.cost = SECOND / perSecond;
        this.capacity = cost * burst;
        this.tokens = capacity;
    }

    /** Takes one token if there is one at {@code now}; false if the event must be refused. */
    public boolean take(long now) {
        if (!started) {
            started = true;
            last = now;
        } else if (now - last > 0) {
            long elapsed = now - last;
            tokens = elapsed >= capacity ? capacity : Math.min(capacity, tokens + elapsed);
            last = now;
        }
        if (tokens < cost) {
            return false;
        }
        tokens -= cost;
        return true;
    }

    /** The time of the latest {@link #take}, for forgetting buckets that have gone quiet. */
    public long lastTake() {
        return last;
    }
}
