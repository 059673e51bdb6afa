package dev.patchcord.core;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TokenBucketTest {
    private static final long MS = 1_000_000L;

    private static int taken(TokenBucket b, long now, int tries) {
        int n = 0;
        for (int i = 0; i < tries; i++) {
            if (b.take(now)) {
                n++;
            }
        }
        return n;
    }

    @Test
    void aFullBurstThenTheRate() {
        TokenBucket b = new TokenBucket(1000, 50);
        long t = 123_456_789L;
        assertThat(taken(b, t, 1000)).as("the burst at once").isEqualTo(50);
        assertThat(taken(b, t + 10 * MS, 1000)).as("10 ms at 1000/s").isEqualTo(10);
        assertThat(taken(b, t + 10 * MS + MS / 2, 1000)).isZero();
        // A flood sampled every 100 µs for a second gets the rate, not more.
        int sum = 0;
        for (long now = t + 11 * MS; now < t + 1011 * MS; now += MS / 10) {
            sum += taken(b, now, 5);
        }
        assertThat(sum).isBetween(999, 1001);
    }

    @Test
    void idleTimeRefillsNoMoreThanTheBurst() {
        TokenBucket b = new TokenBucket(10, 3);
        assertThat(taken(b, 0, 10)).isEqualTo(3);
        assertThat(taken(b, 3600_000 * MS, 10)).isEqualTo(3);
        assertThat(taken(b, 3600_000 * MS + 99 * MS, 10)).isZero();
        assertThat(taken(b, 3600_000 * MS + 100 * MS, 10)).isEqualTo(1);
    }

    @Test
    void timeGoingBackNeitherRefillsNorThrows() {
        TokenBucket b = new TokenBucket(10, 1);
        assertThat(b.take(1000 * MS)).isTrue();
        assertThat(b.take(0)).isFalse();
        assertThat(b.take(50 * MS)).isFalse();
        assertThat(b.take(1100 * MS)).as("refilled from the latest time, not the earlier one").isTrue();
        assertThat(b.take(1150 * MS)).isFalse();
    }

    @Test
    void rejectsNonsense() {
        assertThatThrownBy(() -> new TokenBucket(0, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new TokenBucket(1, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
