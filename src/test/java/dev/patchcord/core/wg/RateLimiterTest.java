package dev.patchcord.core.wg;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class RateLimiterTest {
    private static final long MS = 1_000_000L;
    private final byte[] one = {1}, two = {2};

    @Test
    void burstOfFiveThenTwentyPerSecondPerSource() {
        RateLimiter r = new RateLimiter();
        long t = 1_000 * MS;
        for (int i = 0; i < RateLimiter.BURST; i++) {
            assertThat(r.allow(one, t)).as("burst %d", i).isTrue();
        }
        assertThat(r.allow(one, t)).isFalse();
        assertThat(r.allow(two, t)).as("other sources unaffected").isTrue();
        assertThat(r.allow(one, t + 49 * MS)).isFalse();
        assertThat(r.allow(one, t + 50 * MS)).as("one token per 50 ms").isTrue();
        assertThat(r.allow(one, t + 51 * MS)).isFalse();
    }

    @Test
    void idleSourcesAreForgotten() {
        RateLimiter r = new RateLimiter();
        r.allow(one, 0);
        r.allow(two, 0);
        assertThat(r.tracked()).isEqualTo(2);
        r.allow(one, 1_500 * MS);
        assertThat(r.tracked()).isEqualTo(1);
    }

    @Test
    void aFullTableRefusesNewSourcesButServesKnownOnesAndEmptiesWhenTheyGoIdle() {
        RateLimiter r = new RateLimiter();
        long t = 1_000 * MS;
        for (int i = 0; i < RateLimiter.MAX_SOURCES + 500; i++) {
            r.allow(source(i), t);
        }
        assertThat(r.tracked()).isEqualTo(RateLimiter.MAX_SOURCES);
        assertThat(r.allow(source(RateLimiter.MAX_SOURCES + 1000), t)).as("a new source is refused").isFalse();
        assertThat(r.tracked()).isEqualTo(RateLimiter.MAX_SOURCES);
        assertThat(r.allow(source(7), t + 50 * MS)).as("a tracked source keeps its bucket").isTrue();
        assertThat(r.allow(source(RateLimiter.MAX_SOURCES + 1000), t + 1_100 * MS))
                .as("room again once the flood's sources went idle").isTrue();
        assertThat(r.tracked()).isEqualTo(1);
    }

    private static byte[] source(int i) {
        return new byte[] {(byte) (i >> 24), (byte) (i >> 16), (byte) (i >> 8), (byte) i, 0, 51};
    }
}
