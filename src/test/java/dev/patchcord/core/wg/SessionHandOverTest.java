package dev.patchcord.core.wg;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;

import static dev.patchcord.core.wg.Pair.SECOND;
import static dev.patchcord.core.wg.Pair.ipv4;
import static dev.patchcord.core.wg.Protocol.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A restarted A (A2: a new node with A's private key) takes over A's sessions with B from a
 * {@link SessionState}, and the two go on without a handshake. A2's clock has another base than
 * A's: {@link Pair#now} is A's and B's time, and A2 runs {@link #OFFSET} from it.
 */
class SessionHandOverTest {
    /** A2's monotonic clock minus A's: another process, another nanoTime base. */
    private static final long OFFSET = -987_654 * SECOND + 321;

    /** Runs {@code op} on A2's clock. */
    private static <T> T onA2(Pair p, Supplier<T> op) {
        p.now += OFFSET;
        try {
            return op.get();
        } finally {
            p.now -= OFFSET;
        }
    }

    /** Through the bytes, as over the hand-over socket; the exported state is wiped. */
    private static SessionState carried(SessionState s) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        s.write(new DataOutputStream(bytes));
        s.wipe();
        return SessionState.read(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())));
    }

    private static long counterOf(byte[] transport) {
        return ByteBuffer.wrap(transport).order(ByteOrder.LITTLE_ENDIAN).getLong(TRANSPORT_COUNTER);
    }

    private static Peer importInto(Pair p, SessionState s) {
        Peer a2 = p.restartedA();
        int applied = onA2(p, () -> a2.node.importSessions(List.of(s), p.now));
        assertThat(applied).isEqualTo(1);
        s.wipe();
        return a2;
    }

    @Test
    void theSuccessorCarriesOnBothWaysWithoutAHandshake() throws IOException {
        Pair p = new Pair();
        p.handshake();
        long derived = p.now;
        byte[] bToA = p.seal(p.aAtB, ipv4(2, 1, 20));
        assertThat(p.receive(p.a, bToA)).isNotNull();
        byte[] aToB = p.seal(p.bAtA, ipv4(1, 2, 20));
        assertThat(p.receive(p.b, aToB)).isNotNull();
        // Else A's "sent without an answer" timer would rightly ask for a handshake after 15 s.
        p.bAnswers();
        // Sealed by B while A hands over: it arrives at A2.
        byte[] inFlight = p.seal(p.aAtB, ipv4(2, 1, 24));

        p.now += 30 * SECOND;
        long sentCounter = p.bAtA.keypairs.current.sendCounter.get();
        long rx = p.bAtA.rxBytes(), tx = p.bAtA.txBytes(), rxPackets = p.bAtA.rxPackets(), txPackets = p.bAtA.txPackets();
        long ageAtExport = p.now - derived;
        SessionState s = carried(p.bAtA.exportSession(p.now));
        // The time in transit is not counted: ages are taken at the export and re-based at the import.
        long gap = SECOND / 2;
        p.now += gap;
        Peer a2 = importInto(p, s);

        assertThat(onA2(p, () -> a2.sessionAge(p.now))).as("re-based on A2's clock").isEqualTo(ageAtExport);
        assertThat(a2.rxBytes()).isEqualTo(rx);
        assertThat(a2.txBytes()).isEqualTo(tx);
        assertThat(a2.rxPackets()).isEqualTo(rxPackets);
        assertThat(a2.txPackets()).isEqualTo(txPackets);
        assertThat(a2.lastHandshakeEpochNanos()).isEqualTo(p.bAtA.lastHandshakeEpochNanos());
        onA2(p, () -> {
            a2.node.tick(p.now);
            return null;
        });
        assertThat(onA2(p, () -> p.poll(a2))).as("nothing to send, no handshake").isNull();
        p.a.tick(p.now);
        assertThat(p.poll(p.bAtA)).as("as A itself would have done").isNull();

        // A2 -> B: the counter goes on from A's, so B's replay window takes it.
        byte[] fromA2 = onA2(p, () -> p.seal(a2, ipv4(1, 2, 30)));
        assertThat(fromA2).isNotNull();
        assertThat(counterOf(fromA2)).isEqualTo(sentCounter);
        assertThat(p.receive(p.b, fromA2)).isNotNull();
        // B -> A2, in flight during the hand-over and after it.
        assertThat(onA2(p, () -> p.receive(a2.node, inFlight))).isNotNull();
        byte[] fromB = p.seal(p.aAtB, ipv4(2, 1, 30));
        assertThat(onA2(p, () -> p.receive(a2.node, fromB))).isNotNull();
        // What A took already is a replay at A2.
        assertThat(onA2(p, () -> p.receive(a2.node, bToA))).isNull();
        assertThat(p.drop()).isEqualTo(Drop.REPLAYED);
        assertThat(p.b.counters().dropped(Drop.REPLAYED)).isZero();

        // The rekey falls due at the same session age as it would have at A.
        derived += gap;
        p.now = derived + REKEY_AFTER_TIME - 1;
        assertThat(p.receive(p.b, onA2(p, () -> p.seal(a2, ipv4(1, 2, 8))))).isNotNull();
        assertThat(onA2(p, () -> p.poll(a2))).as("one nanosecond early: no handshake").isNull();
        p.now = derived + REKEY_AFTER_TIME;
        assertThat(p.receive(p.b, onA2(p, () -> p.seal(a2, ipv4(1, 2, 8))))).isNotNull();
        assertThat(onA2(p, () -> p.poll(a2))).hasSize(INITIATION_SIZE);
    }

    @Test
    void anInitiationRecordedBeforeTheHandOverIsRefusedAfterIt() {
        Pair p = new Pair();
        // B initiates this time, so A's guard holds B's timestamp.
        assertThat(p.seal(p.aAtB, ipv4(2, 1, 8))).isNull();
        byte[] initiation = p.poll(p.aAtB);
        p.offer(p.a, initiation);
        assertThat(p.kind()).isEqualTo(Outcome.Kind.REPLY);
        p.offer(p.b, p.reply());
        assertThat(p.authenticated()).isTrue();
        p.now += SECOND;

        Peer a2 = importInto(p, p.bAtA.exportSession(p.now));
        onA2(p, () -> {
            p.offer(a2.node, initiation);
            return null;
        });
        assertThat(p.drop()).isEqualTo(Drop.STALE_HANDSHAKE);

        // Without the guard the recording would be answered.
        Peer fresh = p.restartedA();
        p.offer(fresh.node, initiation);
        assertThat(p.kind()).isEqualTo(Outcome.Kind.REPLY);
    }

    @Test
    void aHandshakeInProgressIsStartedAgainAtOnceAndTheStagedPacketFollows() {
        Pair p = new Pair();
        byte[] packet = ipv4(1, 2, 40);
        assertThat(p.seal(p.bAtA, packet)).isNull();
        byte[] lost = p.poll(p.bAtA);
        assertThat(lost).hasSize(INITIATION_SIZE);
        p.now += SECOND;

        Peer a2 = importInto(p, p.bAtA.exportSession(p.now));
        assertThat(a2.stagedCount()).isEqualTo(1);
        byte[] again = onA2(p, () -> p.poll(a2));
        assertThat(again).as("not held back by REKEY_TIMEOUT").hasSize(INITIATION_SIZE);
        assertThat(a2.timers.attempts).isEqualTo(1);
        p.offer(p.b, again);
        assertThat(p.kind()).isEqualTo(Outcome.Kind.REPLY);
        byte[] response = p.reply();
        onA2(p, () -> {
            p.offer(a2.node, response);
            return null;
        });
        assertThat(p.authenticated()).isTrue();
        byte[] first = onA2(p, () -> p.poll(a2));
        assertThat(p.receive(p.b, first)).isEqualTo(packet);
    }

    @Test
    void aKeypairWhoseIndexIsTakenIsLeftOutAndCounted() {
        Pair p = new Pair();
        p.handshake();
        p.now += REKEY_AFTER_TIME;
        p.receive(p.b, p.seal(p.bAtA, ipv4(1, 2, 8)));
        p.offer(p.b, p.poll(p.bAtA));
        p.offer(p.a, p.reply());
        assertThat(p.receive(p.b, p.poll(p.bAtA))).as("keepalive").isNull();
        Keypair previous = p.bAtA.keypairs.previous();
        Keypair current = p.bAtA.keypairs.current;
        assertThat(previous).isNotNull();
        SessionState s = p.bAtA.exportSession(p.now);

        Peer a2 = p.restartedA();
        Object other = new Object();
        a2.node.indices.put(previous.localIndex, other);
        assertThat(a2.node.importSessions(List.of(s), p.now)).isEqualTo(1);
        s.wipe();
        assertThat(a2.node.sessionsNotImported()).isEqualTo(1);
        assertThat(a2.node.indices.get(previous.localIndex)).isSameAs(other);
        assertThat(a2.keypairs.previous()).isNull();
        assertThat(a2.keypairs.current.localIndex).isEqualTo(current.localIndex);
        assertThat(p.receive(p.b, p.seal(a2, ipv4(1, 2, 8)))).isNotNull();
    }

    private static Node successorWithoutPeers(Pair p) {
        return new Node(p.keyA, new SplittableRandom(7), new Counters(), Node.DEFAULT_LOAD_THRESHOLD);
    }

    private static Peer addB(Pair p, Node node) {
        Peer peer = node.addPeer(p.b.publicKey(), null);
        node.allowedIps().add(Cidr.parse("10.0.0.2/32"), peer);
        return peer;
    }

    @Test
    void aStateForAPeerNotYetThereIsAppliedWhenThePeerIsAdded() {
        Pair p = new Pair();
        p.handshake();
        long derived = p.now;
        SessionState s = p.bAtA.exportSession(p.now);
        Node a2 = successorWithoutPeers(p);
        assertThat(a2.importSessions(List.of(s), p.now)).isZero();
        s.wipe();
        assertThat(a2.pending.get(p.b.publicKey()).isWiped()).as("the node keeps its own copy").isFalse();

        p.now += 20 * SECOND;
        a2.tick(p.now);
        Peer peer = addB(p, a2);
        assertThat(a2.pending.get(p.b.publicKey())).isNull();
        assertThat(peer.sessionAge(p.now)).as("aged while it waited").isEqualTo(p.now - derived);
        assertThat(p.receive(p.b, p.seal(peer, ipv4(1, 2, 8)))).isNotNull();
        assertThat(p.receive(a2, p.seal(p.aAtB, ipv4(2, 1, 8)))).isNotNull();
        assertThat(p.poll(peer)).isNull();
    }

    @Test
    void aStateWaitingTooLongIsWipedAndDropped() {
        Pair p = new Pair();
        p.handshake();
        SessionState s = p.bAtA.exportSession(p.now);
        Node a2 = successorWithoutPeers(p);
        long importedAt = p.now;
        a2.importSessions(List.of(s), importedAt);
        s.wipe();
        SessionState kept = a2.pending.get(p.b.publicKey());

        a2.tick(importedAt + REJECT_AFTER_TIME - 1);
        assertThat(a2.exportSessions(importedAt + REJECT_AFTER_TIME - 1)).as("still waiting, passed on").hasSize(1);
        a2.tick(importedAt + REJECT_AFTER_TIME);
        assertThat(a2.pending.get(p.b.publicKey())).isNull();
        assertThat(kept.isWiped()).isTrue();
        p.now = importedAt + REJECT_AFTER_TIME;
        Peer peer = addB(p, a2);
        assertThat(peer.hasSession(p.now)).isFalse();
    }

    @Test
    void aWaitingStateIsHandedOnAgedToTheNextSuccessor() {
        Pair p = new Pair();
        p.handshake();
        long derived = p.now;
        SessionState s = p.bAtA.exportSession(p.now);
        Node a2 = successorWithoutPeers(p);
        a2.importSessions(List.of(s), p.now);
        s.wipe();
        p.now += 7 * SECOND;
        List<SessionState> again = a2.exportSessions(p.now);
        assertThat(again).hasSize(1);
        Node a3 = successorWithoutPeers(p);
        a3.importSessions(again, p.now + OFFSET);
        again.forEach(SessionState::wipe);
        Peer peer = addB(p, a3);
        assertThat(peer.sessionAge(p.now + OFFSET)).isEqualTo(p.now - derived);
    }

    @Test
    void theExportedStateAndTheNodeAfterTheHandOverAreWiped() throws Exception {
        byte[] psk = new byte[KEY_SIZE];
        new SplittableRandom(3).nextBytes(psk);
        Pair p = new Pair(psk, Node.DEFAULT_LOAD_THRESHOLD);
        p.handshake();
        Keypair kp = p.bAtA.keypairs.current;
        // A handshake in progress and a staged packet too, so that there is everything to wipe.
        p.now += REJECT_AFTER_TIME - 1;
        p.seal(p.bAtA, ipv4(1, 2, 8));
        assertThat(p.poll(p.bAtA)).hasSize(INITIATION_SIZE);
        p.now += 1;
        assertThat(p.seal(p.bAtA, ipv4(1, 2, 8))).as("expired: staged").isNull();
        p.now -= 1;
        byte[] chainingKey = p.bAtA.handshake.noise.chainingKey;
        byte[] staticStatic = (byte[]) field(p.bAtA.handshake, "staticStatic");
        byte[] presharedKey = (byte[]) field(p.bAtA.handshake, "presharedKey");
        byte[] privateKey = p.a.identity.privateKey;

        SessionState s = p.bAtA.exportSession(p.now);
        assertThat(s.sessions).hasSize(1);
        assertThat(s.staged).hasSize(1);
        assertThat(s.isWiped()).isFalse();
        s.wipe();
        assertThat(s.isWiped()).isTrue();
        assertThat(kp.keysAreZero()).as("the export shares no array with the peer").isFalse();

        p.a.wipeSecrets();
        assertThat(kp.keysAreZero()).isTrue();
        assertThat(Keys.isZero(chainingKey)).isTrue();
        assertThat(Keys.isZero(staticStatic)).isTrue();
        assertThat(Keys.isZero(presharedKey)).isTrue();
        assertThat(Keys.isZero(privateKey)).isTrue();
        assertThat(p.bAtA.stagedCount()).isZero();
        assertThat(p.bAtA.removed()).isFalse();

        // No handshake afterwards, either way.
        p.now += REKEY_TIMEOUT;
        assertThat(p.seal(p.bAtA, ipv4(1, 2, 8))).isNull();
        assertThat(p.poll(p.bAtA)).isNull();
        assertThat(p.seal(p.aAtB, ipv4(2, 1, 8))).as("B's session expired too").isNull();
        p.offer(p.a, p.poll(p.aAtB));
        assertThat(p.drop()).isEqualTo(Drop.NO_PRIVATE_KEY);
    }

    @Test
    void anotherPeersStateIsRefused() {
        Pair p = new Pair();
        p.handshake();
        SessionState s = p.aAtB.exportSession(p.now);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> p.bAtA.importSession(s, p.now))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static Object field(Object o, String name) throws ReflectiveOperationException {
        java.lang.reflect.Field f = o.getClass().getDeclaredField(name);
        f.setAccessible(true);
        return f.get(o);
    }
}
