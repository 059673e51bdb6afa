package dev.patchcord.core.wg;

import dev.patchcord.core.TokenBucket;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Per-source token bucket for handshake messages under load: 20 per second with a burst of 5,
 * the numbers of the Linux kernel and wireguard-go. Sources idle for a second are forgotten, so
 * the table stays as small as the current flood; and it never holds more than
 * {@link #MAX_SOURCES}: a source new to a full table is refused (as the kernel's limiter does),
 * since a flood from that many addresses at once is no moment to let another one in.
 */
final class RateLimiter {
    private static final long SECOND = 1_000_000_000L;
    static final int PER_SECOND = 20;
    static final int BURST = 5;
    /**
     * Sources tracked at once. Only senders that proved they receive at their address (a valid
     * MAC2) get here, so this is the number of reachable addresses flooding within one second; a
     * bucket with its key costs about 150 bytes, so the table stays under 2 MiB. Legitimate
     * handshakes come from one address per peer, far fewer than this at any moment.
     */
    static final int MAX_SOURCES = 10_000;

    private final Map<String, TokenBucket> buckets = new HashMap<>();
    private long lastSweep = Long.MIN_VALUE;

    synchronized boolean allow(byte[] source, long now) {
        sweep(now);
        String key = java.util.HexFormat.of().formatHex(source);
        TokenBucket b = buckets.get(key);
        if (b == null) {
            if (buckets.size() >= MAX_SOURCES) {
                return false;
            }
            b = new TokenBucket(PER_SECOND, BURST);
            buckets.put(key, b);
        }
        return b.take(now);
    }

    private void sweep(long now) {
        if (lastSweep != Long.MIN_VALUE && now - lastSweep < SECOND) {
            return;
        }
        lastSweep = now;
        for (Iterator<TokenBucket> it = buckets.values().iterator(); it.hasNext(); ) {
            if (now - it.next().lastTake() >= SECOND) {
                it.remove();
            }
        }
    }

    synchronized int tracked() {
        return buckets.size();
    }
}
