package dev.patchcord.core.wg;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Per-source token bucket for handshake messages under load: 20 per second with a burst of 5,
 * the numbers of the Linux kernel and wireguard-go. Sources idle for a second are forgotten, so
 * the table stays as small as the current flood.
 */
final class RateLimiter {
    private static final long SECOND = 1_000_000_000L;
    static final int PER_SECOND = 20;
    static final int BURST = 5;
    private static final long COST = SECOND / PER_SECOND;
    private static final long MAX_TOKENS = COST * BURST;

    private static final class Bucket {
        long tokens = MAX_TOKENS;
        long last;
    }

    private final Map<String, Bucket> buckets = new HashMap<>();
    private long lastSweep = Long.MIN_VALUE;

    synchronized boolean allow(byte[] source, long now) {
        sweep(now);
        Bucket b = buckets.computeIfAbsent(java.util.HexFormat.of().formatHex(source), k -> {
            Bucket n = new Bucket();
            n.last = now;
            return n;
        });
        b.tokens = Math.min(MAX_TOKENS, b.tokens + (now - b.last));
        b.last = now;
        if (b.tokens < COST) {
            return false;
        }
        b.tokens -= COST;
        return true;
    }

    private void sweep(long now) {
        if (lastSweep != Long.MIN_VALUE && now - lastSweep < SECOND) {
            return;
        }
        lastSweep = now;
        for (Iterator<Bucket> it = buckets.values().iterator(); it.hasNext(); ) {
            if (now - it.next().last >= SECOND) {
                it.remove();
            }
        }
    }

    synchronized int tracked() {
        return buckets.size();
    }
}
