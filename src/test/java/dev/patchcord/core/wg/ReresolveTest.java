package dev.patchcord.core.wg;

import org.junit.jupiter.api.Test;

import static dev.patchcord.core.wg.Reresolve.*;
import static org.assertj.core.api.Assertions.assertThat;

class ReresolveTest {
    private static final long S = 1_000_000_000L;

    @Test
    void aPeerThatAnswersIsNeverLookedUpAgain() {
        assertThat(due(0, 10 * S, -1)).isFalse();
        assertThat(due(0, STALE_HANDSHAKE - 1, 10 * STALE_INTERVAL)).isFalse();
    }

    @Test
    void failingHandshakesLookUpAtOnceThenEveryFiveSeconds() {
        assertThat(due(1, 10 * S, -1)).as("the first try still pending").isFalse();
        assertThat(due(2, 10 * S, -1)).isTrue();
        assertThat(due(2, 10 * S, FAILING_INTERVAL - 1)).isFalse();
        assertThat(due(4, 10 * S, FAILING_INTERVAL)).isTrue();
    }

    @Test
    void aQuietPeerIsLookedUpEveryMinuteOnceTheHandshakeIsStale() {
        assertThat(due(0, STALE_HANDSHAKE, -1)).isTrue();
        assertThat(due(0, -1, STALE_INTERVAL - 1)).isFalse();
        assertThat(due(0, -1, STALE_INTERVAL)).isTrue();
    }
}
