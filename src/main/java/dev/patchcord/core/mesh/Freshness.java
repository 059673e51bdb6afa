package dev.patchcord.core.mesh;

import java.util.HashMap;
import java.util.Map;

/**
 * The directory's replay rule for signed messages: a message's timestamp must lie within
 * {@link #WINDOW_MILLIS} of the directory's clock and be later than the last one accepted from the
 * same key on the same channel. A captured request can then be neither replayed nor reordered
 * before a newer one; clocks only need to agree to within the window.
 */
public final class Freshness {
    public static final long WINDOW_MILLIS = 120_000;
    /** A bound on the keys remembered; the directory only asks about its members, so it is never reached in use. */
    private static final int MAX_KEYS = 1 << 20;

    private final Map<String, Long> last = new HashMap<>();

    public enum Verdict {
        FRESH, TOO_OLD, TOO_NEW, REPLAYED;

        public String describe() {
            return switch (this) {
                case FRESH -> "fresh";
                case TOO_OLD -> "timestamp more than " + WINDOW_MILLIS / 1000 + " s in the past (check the node's clock)";
                case TOO_NEW -> "timestamp more than " + WINDOW_MILLIS / 1000 + " s in the future (check the node's clock)";
                case REPLAYED -> "timestamp not later than one already accepted (a replay)";
            };
        }
    }

    /** Judges and, if fresh, records {@code timeMillis} for {@code key}. */
    public synchronized Verdict accept(String key, long timeMillis, long nowMillis) {
        if (timeMillis < nowMillis - WINDOW_MILLIS) {
            return Verdict.TOO_OLD;
        }
        if (timeMillis > nowMillis + WINDOW_MILLIS) {
            return Verdict.TOO_NEW;
        }
        Long previous = last.get(key);
        if (previous != null && timeMillis <= previous) {
            return Verdict.REPLAYED;
        }
        if (previous == null && last.size() >= MAX_KEYS) {
            // Entries older than the window can go: their timestamps would be refused anyway.
            last.values().removeIf(t -> t < nowMillis - WINDOW_MILLIS);
        }
        last.put(key, timeMillis);
        return Verdict.FRESH;
    }
}
