package dev.patchcord.core.wg;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.patchcord.core.wg.Pair.SECOND;
import static dev.patchcord.core.wg.Pair.ipv4;
import static dev.patchcord.core.wg.Protocol.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The handshake events both nodes of a {@link Pair} tell, in one list in the order they happened:
 * each entry is the node ("A" or "B"), then the event. A's only peer is B and B's only peer is A,
 * so the peer is checked once per event and left out of the entry.
 */
class HandshakeEventsTest {
    private final Pair p = new Pair();
    private final List<String> events = new ArrayList<>();

    HandshakeEventsTest() {
        p.a.setHandshakeEvents(new Recorder("A", p.bAtA));
        p.b.setHandshakeEvents(new Recorder("B", p.aAtB));
    }

    /** Writes down every event, after checking it names the node's only peer. */
    private final class Recorder implements HandshakeEvents {
        private final String node;
        private final Peer peer;

        Recorder(String node, Peer peer) {
            this.node = node;
            this.peer = peer;
        }

        private void add(Peer about, String what) {
            assertThat(about).as(node + ": " + what).isSameAs(peer);
            events.add(node + " " + what);
        }

        @Override
        public void initiationSent(Peer about, Initiation why, int retries) {
            add(about, "initiation sent " + why + (why == Initiation.RETRY ? " " + retries : ""));
        }

        @Override
        public void initiationReceived(Peer about) {
            add(about, "initiation received");
        }

        @Override
        public void responseSent(Peer about) {
            add(about, "response sent");
        }

        @Override
        public void responseReceived(Peer about) {
            add(about, "response received");
        }

        @Override
        public void sessionEstablished(Peer about, boolean initiator) {
            add(about, "established " + (initiator ? "initiator" : "responder"));
        }

        @Override
        public void rekey(Peer about, Rekey why) {
            add(about, "rekey " + why);
        }
    }

    /** The messages of one handshake A starts, up to B's key confirmation by A's first message. */
    private static final List<String> HANDSHAKE_BY_A = List.of(
            "A initiation sent NEW",
            "B initiation received",
            "B response sent",
            "A response received",
            "A established initiator",
            "B established responder");

    @Test
    void aHandshakeTellsEveryStepInOrderAtBothEnds() {
        p.handshake();
        assertThat(events).containsExactlyElementsOf(HANDSHAKE_BY_A);
        // Data and keepalives in an established session tell nothing.
        events.clear();
        for (int i = 0; i < 10; i++) {
            assertThat(p.receive(p.b, p.seal(p.bAtA, ipv4(1, 2, 8)))).isNotNull();
            assertThat(p.receive(p.a, p.seal(p.aAtB, ipv4(2, 1, 8)))).isNotNull();
        }
        p.now += KEEPALIVE_TIMEOUT;
        p.a.tick(p.now);
        p.b.tick(p.now);
        byte[] keepalive = p.poll(p.bAtA);
        if (keepalive != null) {
            p.receive(p.b, keepalive);
        }
        assertThat(events).isEmpty();
    }

    @Test
    void theResponderIsEstablishedOnlyWhenTheInitiatorsFirstMessageConfirmsTheKeys() {
        assertThat(p.seal(p.bAtA, ipv4(1, 2, 40))).isNull();
        p.receive(p.b, p.poll(p.bAtA));
        p.receive(p.a, p.out.reply());
        assertThat(events).containsExactlyElementsOf(HANDSHAKE_BY_A.subList(0, 5));
        p.receive(p.b, p.poll(p.bAtA));
        assertThat(events).containsExactlyElementsOf(HANDSHAKE_BY_A);
    }

    @Test
    void aRekeyAfterRekeyAfterTimeIsToldOnceThenTheNewHandshake() {
        p.handshake();
        long start = p.now;
        events.clear();
        p.now = start + REKEY_AFTER_TIME - 1;
        assertThat(p.receive(p.b, p.seal(p.bAtA, ipv4(1, 2, 8)))).isNotNull();
        assertThat(events).as("one nanosecond early").isEmpty();
        p.now = start + REKEY_AFTER_TIME;
        for (int i = 0; i < 3; i++) {
            assertThat(p.receive(p.b, p.seal(p.bAtA, ipv4(1, 2, 8)))).as("still sent with the old key").isNotNull();
        }
        assertThat(events).as("told once, however many packets ask").containsExactly("A rekey AGE");
        byte[] initiation = p.poll(p.bAtA);
        assertThat(initiation).hasSize(INITIATION_SIZE);
        p.receive(p.b, initiation);
        p.receive(p.a, p.out.reply());
        assertThat(p.receive(p.b, p.seal(p.bAtA, ipv4(1, 2, 8)))).as("under the new session").isNotNull();
        assertThat(events).containsExactly(
                "A rekey AGE",
                "A initiation sent REKEY",
                "B initiation received",
                "B response sent",
                "A response received",
                "A established initiator",
                "B established responder");
        // The new session is young: no further rekey.
        events.clear();
        p.now += REKEY_TIMEOUT;
        assertThat(p.receive(p.b, p.seal(p.bAtA, ipv4(1, 2, 8)))).isNotNull();
        for (byte[] m = p.poll(p.bAtA); m != null; m = p.poll(p.bAtA)) {
            assertThat(m).as("the confirming keepalive, no initiation").hasSize(MIN_TRANSPORT_SIZE);
        }
        assertThat(events).isEmpty();
    }

    @Test
    void aRekeyAfterRekeyAfterMessagesSaysSo() {
        p.handshake();
        events.clear();
        p.now += REKEY_TIMEOUT;
        p.bAtA.keypairs.current.sendCounter.set(REKEY_AFTER_MESSAGES);
        assertThat(p.seal(p.bAtA, ipv4(1, 2, 8))).isNotNull();
        assertThat(p.poll(p.bAtA)).hasSize(INITIATION_SIZE);
        assertThat(events).containsExactly("A rekey MESSAGES", "A initiation sent REKEY");
    }

    @Test
    void dataArrivingCloseToExpiryAsksTheInitiatorForARekey() {
        p.handshake();
        long start = p.now;
        events.clear();
        // Only B (the responder, which never rekeys on age) sends.
        p.now = start + REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT;
        assertThat(p.receive(p.a, p.seal(p.aAtB, ipv4(2, 1, 8)))).isNotNull();
        assertThat(p.receive(p.a, p.seal(p.aAtB, ipv4(2, 1, 8)))).isNotNull();
        assertThat(events).containsExactly("A rekey EXPIRING");
    }

    @Test
    void anUnansweredInitiationIsRetriedAndNumbered() {
        assertThat(p.seal(p.bAtA, ipv4(1, 2, 8))).isNull();
        assertThat(p.poll(p.bAtA)).hasSize(INITIATION_SIZE);
        for (int i = 0; i < 2; i++) {
            p.now += REKEY_TIMEOUT + REKEY_TIMEOUT_JITTER_MAX;
            p.a.tick(p.now);
            assertThat(p.poll(p.bAtA)).hasSize(INITIATION_SIZE);
        }
        assertThat(events).containsExactly("A initiation sent NEW", "A initiation sent RETRY 1", "A initiation sent RETRY 2");
    }

    @Test
    void aRefusedInitiationTellsNothing() {
        assertThat(p.seal(p.bAtA, ipv4(1, 2, 8))).isNull();
        byte[] initiation = p.poll(p.bAtA);
        p.receive(p.b, initiation);
        events.clear();
        p.now += SECOND;
        p.receive(p.b, initiation);
        assertThat(p.out.kind()).isEqualTo(Outcome.Kind.DROP);
        assertThat(events).as("a replay is a drop, not a handshake step").isEmpty();
    }
}
