package dev.patchcord.core.wg;

import dev.patchcord.core.Drop;
import org.junit.jupiter.api.Test;

import static dev.patchcord.core.wg.Pair.SECOND;
import static dev.patchcord.core.wg.Pair.ipv4;
import static dev.patchcord.core.wg.Protocol.*;
import static org.assertj.core.api.Assertions.assertThat;

/** Every timer at its edge, driven by the test clock. */
class TimersTest {

    private static void at(Pair p, long time) {
        p.now = time;
        p.a.tick(time);
        p.b.tick(time);
    }

    @Test
    void initiatorRekeysExactlyAtRekeyAfterTime() {
        Pair p = new Pair();
        p.handshake();
        long start = p.now;
        p.now = start + REKEY_AFTER_TIME - 1;
        assertThat(p.receive(p.b, p.seal(p.bAtA, ipv4(1, 2, 8)))).isNotNull();
        assertThat(p.poll(p.bAtA)).as("one nanosecond early: no handshake").isNull();
        p.now = start + REKEY_AFTER_TIME;
        assertThat(p.receive(p.b, p.seal(p.bAtA, ipv4(1, 2, 8)))).as("still sent with the old key").isNotNull();
        assertThat(p.poll(p.bAtA)).hasSize(INITIATION_SIZE);
    }

    @Test
    void rekeyAfterMessagesExactly() {
        Pair p = new Pair();
        p.handshake();
        Keypair kp = p.bAtA.keypairs.current;
        p.now += REKEY_TIMEOUT; // at most one initiation per REKEY_TIMEOUT: leave that limit behind
        // One counter short of REKEY_AFTER_MESSAGES used: sent, no handshake yet.
        kp.sendCounter.set(REKEY_AFTER_MESSAGES - 1);
        assertThat(p.seal(p.bAtA, ipv4(1, 2, 8))).isNotNull();
        assertThat(p.poll(p.bAtA)).isNull();
        // The message that uses counter REKEY_AFTER_MESSAGES: still sent, and a handshake is wanted.
        assertThat(p.seal(p.bAtA, ipv4(1, 2, 8))).isNotNull();
        assertThat(p.poll(p.bAtA)).hasSize(INITIATION_SIZE);
    }

    @Test
    void nothingIsSentAtRejectAfterMessages() {
        Pair p = new Pair();
        p.handshake();
        Keypair kp = p.bAtA.keypairs.current;
        kp.sendCounter.set(REJECT_AFTER_MESSAGES - 1);
        byte[] last = p.seal(p.bAtA, ipv4(1, 2, 8));
        assertThat(last).as("the last permitted counter").isNotNull();
        assertThat(p.seal(p.bAtA, ipv4(1, 2, 8))).as("REJECT_AFTER_MESSAGES: staged").isNull();
        assertThat(p.bAtA.stagedCount()).isEqualTo(1);
    }

    @Test
    void responderDoesNotRekeyOnAge() {
        Pair p = new Pair();
        p.handshake();
        p.now += REKEY_AFTER_TIME + SECOND;
        assertThat(p.receive(p.a, p.seal(p.aAtB, ipv4(2, 1, 8)))).isNotNull();
        assertThat(p.poll(p.aAtB)).isNull();
    }

    @Test
    void nothingIsSentOrAcceptedAfterRejectAfterTime() {
        Pair p = new Pair();
        p.handshake();
        long start = p.now;
        byte[] early = p.seal(p.bAtA, ipv4(1, 2, 8));
        p.now = start + REJECT_AFTER_TIME - 1;
        assertThat(p.seal(p.bAtA, ipv4(1, 2, 8))).isNotNull();
        p.now = start + REJECT_AFTER_TIME;
        assertThat(p.seal(p.bAtA, ipv4(1, 2, 8))).as("expired: staged for a new handshake").isNull();
        assertThat(p.bAtA.stagedCount()).isEqualTo(1);
        assertThat(p.receive(p.b, early)).isNull();
        assertThat(p.out.drop()).isEqualTo(Drop.EXPIRED_KEY);
    }

    @Test
    void retransmitsAfterRekeyTimeoutWithJitterAndGivesUpAfterRekeyAttemptTime() {
        Pair p = new Pair();
        p.seal(p.bAtA, ipv4(1, 2, 8));
        long sent = p.now;
        assertThat(p.poll(p.bAtA)).hasSize(INITIATION_SIZE);
        long jitter = p.bAtA.timers.jitter;
        assertThat(jitter).isBetween(0L, REKEY_TIMEOUT_JITTER_MAX);
        at(p, sent + REKEY_TIMEOUT + jitter - 1);
        assertThat(p.poll(p.bAtA)).isNull();
        at(p, sent + REKEY_TIMEOUT + jitter);
        assertThat(p.poll(p.bAtA)).hasSize(INITIATION_SIZE);

        int initiations = 2;
        for (int i = 0; i < 100 && p.bAtA.timers.handshakeInProgress; i++) {
            at(p, p.now + REKEY_TIMEOUT + REKEY_TIMEOUT_JITTER_MAX);
            if (p.poll(p.bAtA) != null) {
                initiations++;
            }
        }
        assertThat(initiations).as("the first try and MAX_TIMER_HANDSHAKES retries").isEqualTo(1 + MAX_TIMER_HANDSHAKES);
        assertThat(p.bAtA.unansweredInitiations()).as("given up: no attempt in progress").isZero();
        assertThat(p.now - sent).isBetween(REKEY_ATTEMPT_TIME, REKEY_ATTEMPT_TIME + 20 * SECOND);
        assertThat(p.bAtA.stagedCount()).as("given up: staged packets dropped").isZero();
    }

    @Test
    void trafficStartsTheAttemptAfreshButUnansweredInitiationsAddUp() {
        Pair p = new Pair();
        p.seal(p.bAtA, ipv4(1, 2, 8));
        assertThat(p.poll(p.bAtA)).hasSize(INITIATION_SIZE);
        assertThat(p.bAtA.unansweredInitiations()).isEqualTo(1);
        // A packet to send the moment REKEY_TIMEOUT is up, before the jittered retry: a new attempt
        // (retry count 0), as in the kernel and wireguard-go; the path is still unanswered.
        byte[] last = null;
        for (int i = 2; i <= 4; i++) {
            p.now += REKEY_TIMEOUT;
            p.seal(p.bAtA, ipv4(1, 2, 8));
            last = p.poll(p.bAtA);
            assertThat(last).hasSize(INITIATION_SIZE);
            assertThat(p.bAtA.timers.attempts).isZero();
            assertThat(p.bAtA.unansweredInitiations()).isEqualTo(i);
        }
        p.offer(p.b, last);
        p.offer(p.a, p.reply());
        assertThat(p.bAtA.hasSession(p.now)).isTrue();
        assertThat(p.bAtA.unansweredInitiations()).as("answered").isZero();
    }

    @Test
    void passiveKeepaliveAfterKeepaliveTimeout() {
        Pair p = new Pair();
        p.handshake();
        long received = p.now;
        at(p, received + KEEPALIVE_TIMEOUT - 1);
        assertThat(p.poll(p.aAtB)).isNull();
        at(p, received + KEEPALIVE_TIMEOUT);
        byte[] keepalive = p.poll(p.aAtB);
        assertThat(keepalive).hasSize(MIN_TRANSPORT_SIZE);
        p.receive(p.a, keepalive);
        assertThat(p.out.authenticated()).isTrue();
        at(p, received + 3 * KEEPALIVE_TIMEOUT);
        assertThat(p.poll(p.aAtB)).as("one keepalive per received data").isNull();
    }

    @Test
    void sendingWithoutAnAnswerStartsANewHandshake() {
        Pair p = new Pair();
        p.handshake();
        p.bAnswers();
        // Now A talks and B stays silent.
        p.now += SECOND;
        long sent = p.now;
        p.seal(p.bAtA, ipv4(1, 2, 8));
        at(p, sent + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT - 1);
        assertThat(p.poll(p.bAtA)).isNull();
        at(p, sent + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT);
        assertThat(p.poll(p.bAtA)).hasSize(INITIATION_SIZE);
    }

    @Test
    void persistentKeepaliveStartsASessionOnItsOwn() {
        Pair p = new Pair();
        p.bAtA.setPersistentKeepalive(25);
        at(p, p.now);
        byte[] initiation = p.poll(p.bAtA);
        assertThat(initiation).as("a keepalive needs a session first").hasSize(INITIATION_SIZE);
        p.receive(p.b, initiation);
        p.receive(p.a, p.out.reply());
        byte[] keepalive = p.poll(p.bAtA);
        assertThat(keepalive).hasSize(MIN_TRANSPORT_SIZE);
        assertThat(p.receive(p.b, keepalive)).isNull();
        assertThat(p.out.authenticated()).isTrue();
    }

    @Test
    void persistentKeepaliveIntervalIsMeasuredFromTheLastPacketEitherWay() {
        Pair p = new Pair();
        p.handshake();
        p.bAnswers();
        p.bAtA.setPersistentKeepalive(25);
        long last = p.now;
        at(p, last + 25 * SECOND - 1);
        assertThat(p.poll(p.bAtA)).isNull();
        at(p, last + 25 * SECOND);
        byte[] keepalive = p.poll(p.bAtA);
        assertThat(keepalive).hasSize(MIN_TRANSPORT_SIZE);
        assertThat(p.receive(p.b, keepalive)).isNull();
        assertThat(p.out.authenticated()).isTrue();
    }

    @Test
    void keyMaterialIsZeroedAfterThreeTimesRejectAfterTime() {
        Pair p = new Pair();
        p.handshake();
        byte[] old = p.seal(p.bAtA, ipv4(1, 2, 8));
        long derived = p.bAtA.timers.sessionDerived;
        at(p, derived + 3 * REJECT_AFTER_TIME - 1);
        assertThat(p.bAtA.keypairs.current).isNotNull();
        at(p, derived + 3 * REJECT_AFTER_TIME);
        assertThat(p.bAtA.keypairs.current).isNull();
        assertThat(p.a.indices.size()).isZero();
        assertThat(p.b.indices.size()).isZero();
        assertThat(p.receive(p.b, old)).isNull();
        assertThat(p.out.drop()).isEqualTo(Drop.UNKNOWN_INDEX);
    }
}
