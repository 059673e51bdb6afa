package dev.patchcord.core.mesh;

import org.junit.jupiter.api.Test;

import static dev.patchcord.core.mesh.PathState.KICK_NANOS;
import static dev.patchcord.core.mesh.PathState.RELAY_AFTER_NANOS;
import static dev.patchcord.core.mesh.PathState.RETRY_DIRECT_NANOS;
import static org.assertj.core.api.Assertions.assertThat;

class PathStateTest {
    private static final long S = 1_000_000_000L;
    private final PathState p = new PathState();
    private long now = 1000 * S;

    private PathState.Step at(long t, boolean alive, boolean relayUp, int candidates) {
        now = t;
        return p.step(t, alive, relayUp, candidates);
    }

    @Test
    void aNewPeerIsKickedAtOnceAtItsFirstCandidateThenAtTheNextEveryKickPeriod() {
        assertThat(at(now, false, false, 2)).isEqualTo(new PathState.Step(true, true, 0));
        assertThat(at(now + S, false, false, 2)).isEqualTo(new PathState.Step(true, false, -1));
        assertThat(at(now + KICK_NANOS - S, false, false, 2)).isEqualTo(new PathState.Step(true, true, 1));
        assertThat(at(now + KICK_NANOS, false, false, 2)).isEqualTo(new PathState.Step(true, true, 0));
        assertThat(p.path()).isEqualTo(PathState.Path.TRYING);
    }

    @Test
    void withoutCandidatesNothingIsKickedButTheAllowedIpsStay() {
        assertThat(at(now, false, false, 0)).isEqualTo(new PathState.Step(true, false, -1));
        assertThat(at(now + KICK_NANOS, false, false, 0)).isEqualTo(new PathState.Step(true, false, -1));
    }

    @Test
    void aSessionMakesItDirectAndNothingMoreIsDone() {
        at(now, false, false, 1);
        assertThat(at(now + S, true, true, 1)).isEqualTo(new PathState.Step(true, false, -1));
        assertThat(p.path()).isEqualTo(PathState.Path.DIRECT);
        for (int i = 0; i < 100; i++) {
            assertThat(at(now + S, true, true, 1)).isEqualTo(new PathState.Step(true, false, -1));
        }
    }

    @Test
    void fallsBackToTheRelayAfterTheRelayDelayOnlyIfARelayIsUp() {
        long t0 = now;
        at(t0, false, false, 1);
        assertThat(at(t0 + RELAY_AFTER_NANOS, false, false, 1).direct()).isTrue();
        assertThat(p.path()).isEqualTo(PathState.Path.TRYING);
        PathState.Step s = at(t0 + RELAY_AFTER_NANOS + S, false, true, 1);
        assertThat(s).isEqualTo(new PathState.Step(false, false, -1));
        assertThat(p.path()).isEqualTo(PathState.Path.RELAYED);
    }

    @Test
    void whileRelayedADirectHandshakeIsRetriedEveryRetryPeriodAndASessionRestoresTheAllowedIps() {
        long t0 = now;
        at(t0, false, true, 2);
        at(t0 + RELAY_AFTER_NANOS, false, true, 2);
        long relayed = now;
        assertThat(at(relayed + RETRY_DIRECT_NANOS - S, false, true, 2)).isEqualTo(new PathState.Step(false, false, -1));
        PathState.Step retry = at(relayed + RETRY_DIRECT_NANOS, false, true, 2);
        assertThat(retry.direct()).isFalse();
        assertThat(retry.kick()).isTrue();
        assertThat(at(now + S, true, true, 2)).isEqualTo(new PathState.Step(true, false, -1));
        assertThat(p.path()).isEqualTo(PathState.Path.DIRECT);
    }

    @Test
    void whenTheRelayGoesDownARelayedPeerGetsItsAllowedIpsBackAndIsTriedAgain() {
        at(now, false, true, 1);
        at(now + RELAY_AFTER_NANOS, false, true, 1);
        assertThat(p.path()).isEqualTo(PathState.Path.RELAYED);
        PathState.Step s = at(now + S, false, false, 1);
        assertThat(s).isEqualTo(new PathState.Step(true, true, 0));
        assertThat(p.path()).isEqualTo(PathState.Path.TRYING);
    }

    @Test
    void aDirectSessionThatFailsIsTriedAgainAtTheEndpointRoamingFoundFirst() {
        at(now, true, false, 3);
        assertThat(p.path()).isEqualTo(PathState.Path.DIRECT);
        assertThat(at(now + S, false, false, 3)).isEqualTo(new PathState.Step(true, true, -1));
        assertThat(p.path()).isEqualTo(PathState.Path.TRYING);
    }

    @Test
    void withNoRelayAnUnreachablePeerIsTriedOnlyEveryRetryPeriodAfterTheFirstAttempts() {
        long t0 = now;
        at(t0, false, false, 1);
        int kicks = 0;
        for (long t = t0 + S; t <= t0 + 5 * 60 * S; t += S) {
            if (at(t, false, false, 1).kick()) {
                kicks++;
            }
        }
        // 3 in the first 15 s (at 5, 10, 15 s), then one per 30 s for the rest of the 5 minutes
        assertThat(kicks).isBetween(11, 13);
    }
}
