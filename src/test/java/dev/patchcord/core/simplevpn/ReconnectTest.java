package dev.patchcord.core.simplevpn;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.patchcord.core.simplevpn.KeepaliveTimer.SECOND;
import static org.assertj.core.api.Assertions.assertThat;

class ReconnectTest {
    @Test
    void backOffDoublesFromOneSecondToThirtyAndRestartsAfterAnAssignment() {
        Reconnect r = new Reconnect();
        List<Long> delays = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            delays.add(r.nextDelay() / SECOND);
        }
        assertThat(delays).containsExactly(1L, 2L, 4L, 8L, 16L, 30L, 30L, 30L);
        r.assigned();
        assertThat(r.nextDelay()).isEqualTo(SECOND);
        assertThat(r.nextDelay()).isEqualTo(2 * SECOND);
    }

    @Test
    void aStaticRefusalOnTheFirstConnectionIsFinal() {
        assertThat(new Reconnect().giveUpAfterRefusal(0)).isTrue();
    }

    @Test
    void afterAReconnectionRefusalsAreRetriedWhileTheServerMayHoldOurOldConnection() {
        Reconnect r = new Reconnect();
        r.assigned();
        long t0 = 500 * SECOND;
        assertThat(r.giveUpAfterRefusal(t0)).isFalse();
        assertThat(r.giveUpAfterRefusal(t0 + Reconnect.STATIC_GRACE - 1)).isFalse();
        assertThat(r.giveUpAfterRefusal(t0 + Reconnect.STATIC_GRACE)).isTrue();
        assertThat(Reconnect.STATIC_GRACE).isGreaterThan(KeepaliveTimer.EXPIRY);
        // A grant in between starts the grace period again.
        r.assigned();
        assertThat(r.giveUpAfterRefusal(t0 + 1000 * SECOND)).isFalse();
    }
}
