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
}
