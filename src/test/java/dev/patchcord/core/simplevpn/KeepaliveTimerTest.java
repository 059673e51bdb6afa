package dev.patchcord.core.simplevpn;

import org.junit.jupiter.api.Test;

import static dev.patchcord.core.simplevpn.KeepaliveTimer.SECOND;
import static org.assertj.core.api.Assertions.assertThat;

/** Every timer at its edge, on a fake clock (nanoseconds from an arbitrary origin). */
class KeepaliveTimerTest {
    private static final long T0 = 1_000 * SECOND;
    private static final long MS = 1_000_000;

    @Test
    void anIdleClientSendsItsFirstKeepaliveAtExactly15Seconds() {
        KeepaliveTimer t = new KeepaliveTimer(T0);
        assertThat(t.due(T0 + 15 * SECOND - 1)).isFalse();
        assertThat(t.due(T0 + 15 * SECOND)).isTrue();
        assertThat(t.untilNextCheck(T0)).isEqualTo(15 * SECOND);
    }

    @Test
    void unansweredKeepalivesAreRetriedEverySecondUntilSomethingArrives() {
        KeepaliveTimer t = new KeepaliveTimer(T0);
        long k = T0 + 15 * SECOND;
        t.onKeepaliveSent(k);
        assertThat(t.awaitingEcho()).isTrue();
        assertThat(t.due(k + SECOND - 1)).isFalse();
        assertThat(t.due(k + SECOND)).isTrue();
        assertThat(t.untilNextCheck(k)).isEqualTo(SECOND);
        // Sending data does not count as an answer: retries go on.
        t.onSent(k + 500 * MS);
        assertThat(t.due(k + SECOND)).isTrue();
        t.onKeepaliveSent(k + SECOND);
        assertThat(t.due(k + 2 * SECOND - 1)).isFalse();
        assertThat(t.due(k + 2 * SECOND)).isTrue();
        // The echo (or anything) arrives: back to the 15 s rhythm, counted from the last send.
        t.onReceived(k + 1500 * MS);
        assertThat(t.awaitingEcho()).isFalse();
        assertThat(t.due(k + 2 * SECOND)).isFalse();
        assertThat(t.due(k + SECOND + 15 * SECOND - 1)).isFalse();
        assertThat(t.due(k + SECOND + 15 * SECOND)).isTrue();
    }

    @Test
    void sendingKeepsKeepalivesAway() {
        KeepaliveTimer t = new KeepaliveTimer(T0);
        for (long s = 1; s <= 100; s++) {
            t.onSent(T0 + s * SECOND);
            assertThat(t.due(T0 + s * SECOND + 999 * MS)).isFalse();
        }
    }

    /**
     * The original's bug: received traffic reset its 15 s timer, so a client that only received
     * never sent anything and the server dropped it after 60 s. Here a client receiving a packet
     * every second still sends a keepalive 15 s after it last sent anything, so the server, which
     * drops after 60 s of silence, hears from it at least every 15 s.
     */
    @Test
    void aReceiveOnlyClientStillSendsEvery15SecondsAndTheServerNeverDropsIt() {
        KeepaliveTimer client = new KeepaliveTimer(T0);
        KeepaliveTimer serverView = new KeepaliveTimer(T0);
        long lastKeepalive = T0;
        int keepalives = 0;
        for (long ms = 0; ms <= 300_000; ms += 100) {
            long now = T0 + ms * MS;
            if (ms % 1000 == 0) {
                client.onReceived(now); // a peer pings it every second; it never answers
            }
            if (client.due(now)) {
                client.onKeepaliveSent(now);
                serverView.onReceived(now);
                assertThat(now - lastKeepalive).isEqualTo(15 * SECOND);
                lastKeepalive = now;
                keepalives++;
            }
            assertThat(serverView.expired(now)).as("dropped at %d ms", ms).isFalse();
        }
        assertThat(keepalives).isEqualTo(20);
    }

    @Test
    void theServerDropsAClientSilentForExactly60Seconds() {
        KeepaliveTimer t = new KeepaliveTimer(T0);
        assertThat(t.expired(T0 + 60 * SECOND - 1)).isFalse();
        assertThat(t.expired(T0 + 60 * SECOND)).isTrue();
        t.onReceived(T0 + 59 * SECOND);
        assertThat(t.expired(T0 + 60 * SECOND)).isFalse();
        assertThat(t.expired(T0 + 119 * SECOND - 1)).isFalse();
        assertThat(t.expired(T0 + 119 * SECOND)).isTrue();
        // What the server sends does not keep a client alive.
        t.onSent(T0 + 118 * SECOND);
        assertThat(t.expired(T0 + 119 * SECOND)).isTrue();
    }

    @Test
    void aClientGivesUpOnAServerThatAnswersNothingFor60Seconds() {
        KeepaliveTimer t = new KeepaliveTimer(T0);
        long now = T0;
        while (!t.expired(now)) {
            if (t.due(now)) {
                t.onKeepaliveSent(now);
            }
            now += 100 * MS;
        }
        assertThat(now).isEqualTo(T0 + 60 * SECOND);
        assertThat(t.untilNextCheck(now)).isZero();
    }

    @Test
    void nextCheckIsTheEarlierOfKeepaliveAndExpiry() {
        KeepaliveTimer t = new KeepaliveTimer(T0);
        t.onSent(T0 + 50 * SECOND);
        // Keepalive due at 65 s, expiry at 60 s.
        assertThat(t.untilNextCheck(T0 + 50 * SECOND)).isEqualTo(10 * SECOND);
    }
}
