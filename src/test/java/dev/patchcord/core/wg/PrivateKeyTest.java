package dev.patchcord.core.wg;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static dev.patchcord.core.wg.Pair.SECOND;
import static dev.patchcord.core.wg.Pair.ipv4;
import static dev.patchcord.core.wg.Protocol.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The interface's own private key as the kernel and wireguard-go treat it: a change lets the
 * next packet hand-shake at once, the key may be absent (no handshakes either way), it is kept
 * clamped, and a peer with our own public key cannot exist.
 */
class PrivateKeyTest {

    /** B forgets A's old key and learns its new one, as `wg set` on B would after A's change. */
    private static Peer bLearnsNewKeyOfA(Pair p) {
        p.b.removePeer(p.aAtB);
        Peer peer = p.b.addPeer(p.a.publicKey(), null);
        p.b.allowedIps().add(Cidr.parse("10.0.0.1/32"), peer);
        return peer;
    }

    @Test
    void aKeyChangeLetsTheNextPacketHandshakeAtOnce() {
        Pair p = new Pair();
        p.handshake(); // A's initiation went out at p.now
        p.now += SECOND;
        assertThat(p.a.setPrivateKey(X25519.generatePrivate(new SplittableRandom(5)))).isTrue();
        assertThat(p.bAtA.hasSession(p.now)).as("sessions made with the old key end").isFalse();
        Peer aAtB = bLearnsNewKeyOfA(p);

        byte[] packet = ipv4(1, 2, 64);
        assertThat(p.seal(p.bAtA, packet)).as("no session: staged").isNull();
        byte[] initiation = p.poll(p.bAtA);
        assertThat(initiation).as("one second after the last initiation, not five").hasSize(INITIATION_SIZE);
        p.receive(p.b, initiation);
        assertThat(p.out.reply()).as("B answers the new key: %s", p.out.drop()).hasSize(RESPONSE_SIZE);
        p.receive(p.a, p.out.reply());
        assertThat(p.receive(p.b, p.poll(p.bAtA))).isEqualTo(packet);
        assertThat(aAtB.hasSession(p.now)).isTrue();
    }

    @Test
    void withoutAKeyChangeTheInitiationLimitStillHolds() {
        Pair p = new Pair();
        p.handshake();
        p.now += SECOND;
        p.bAtA.zeroKeys(); // the session is gone for another reason: the limit is not lifted
        p.seal(p.bAtA, ipv4(1, 2, 64));
        assertThat(p.poll(p.bAtA)).isNull();
        p.now += REKEY_TIMEOUT;
        assertThat(p.poll(p.bAtA)).hasSize(INITIATION_SIZE);
    }

    @Test
    void settingTheSameKeyAgainKeepsTheSessions() {
        Pair p = new Pair();
        p.handshake();
        assertThat(p.a.setPrivateKey(p.keyA)).isFalse();
        assertThat(p.bAtA.hasSession(p.now)).isTrue();
    }

    @Test
    void aNodeMayStartWithoutAKey() {
        Node n = new Node(null, new SplittableRandom(1), new Counters(), Node.DEFAULT_LOAD_THRESHOLD);
        assertThat(n.hasPrivateKey()).isFalse();
        assertThat(n.privateKey()).isNull();
        assertThat(n.publicKey()).isNull();
        Node zero = new Node(new byte[KEY_SIZE], new SplittableRandom(1), new Counters(), Node.DEFAULT_LOAD_THRESHOLD);
        assertThat(zero.hasPrivateKey()).as("32 zero bytes are no key").isFalse();
    }

    @Test
    void aZeroKeyRemovesTheKeyAndNothingIsSentOrAnswered() {
        Pair p = new Pair();
        p.handshake();
        p.now += SECOND;
        assertThat(p.a.setPrivateKey(new byte[KEY_SIZE])).isTrue();
        assertThat(p.a.privateKey()).isNull();
        assertThat(p.a.publicKey()).isNull();
        assertThat(p.a.peers()).as("the peers stay").containsExactly(p.bAtA);
        assertThat(p.bAtA.hasSession(p.now)).isFalse();
        assertThat(p.a.setPrivateKey(null)).as("no key again: no change").isFalse();

        // Sending: packets wait, and no initiation is made, however long.
        assertThat(p.seal(p.bAtA, ipv4(1, 2, 64))).isNull();
        for (int i = 0; i < 30; i++) {
            p.now += SECOND;
            p.a.tick(p.now);
            assertThat(p.poll(p.bAtA)).isNull();
        }
        assertThat(p.bAtA.stagedCount()).isEqualTo(1);

        // Receiving: B's initiation is dropped under its own reason.
        p.b.removePeer(p.aAtB);
        Peer aAtB = p.b.addPeer(X25519.publicKey(p.keyA), null);
        p.b.allowedIps().add(Cidr.parse("10.0.0.1/32"), aAtB);
        p.seal(aAtB, ipv4(2, 1, 8));
        byte[] initiation = p.poll(aAtB);
        assertThat(initiation).hasSize(INITIATION_SIZE);
        p.receive(p.a, initiation);
        assertThat(p.out.kind()).isEqualTo(Outcome.Kind.DROP);
        assertThat(p.out.drop()).isEqualTo(Drop.NO_PRIVATE_KEY);
        assertThat(p.a.counters().dropped(Drop.NO_PRIVATE_KEY)).isEqualTo(1);

        // A key set again: the waiting packet hand-shakes at once and arrives.
        assertThat(p.a.setPrivateKey(p.keyA)).isTrue();
        byte[] again = p.poll(p.bAtA);
        assertThat(again).hasSize(INITIATION_SIZE);
        p.receive(p.b, again);
        assertThat(p.out.reply()).as("%s", p.out.drop()).hasSize(RESPONSE_SIZE);
        p.receive(p.a, p.out.reply());
        assertThat(p.receive(p.b, p.poll(p.bAtA))).isEqualTo(ipv4(1, 2, 64));
    }

    @Test
    void aResponseArrivingAfterTheKeyWentIsDropped() {
        Pair p = new Pair();
        p.seal(p.bAtA, ipv4(1, 2, 8));
        p.receive(p.b, p.poll(p.bAtA));
        byte[] response = p.out.reply();
        p.a.setPrivateKey(null);
        p.receive(p.a, response);
        assertThat(p.out.drop()).isEqualTo(Drop.NO_PRIVATE_KEY);
        assertThat(p.a.counters().dropped(Drop.NO_PRIVATE_KEY)).isEqualTo(1);
    }

    @Test
    void aPeerMayHaveAnyKeyWhileThereIsNoneAndGoesWhenItBecomesOurs() {
        SplittableRandom rng = new SplittableRandom(3);
        byte[] key = X25519.generatePrivate(rng);
        Node n = new Node(null, rng, new Counters(), Node.DEFAULT_LOAD_THRESHOLD);
        byte[] own = X25519.publicKey(key);
        assertThat(n.isOwnKey(own)).isFalse();
        Peer peer = n.addPeer(own, null);
        Peer other = n.addPeer(X25519.publicKey(X25519.generatePrivate(rng)), null);
        assertThat(n.setPrivateKey(key)).isTrue();
        assertThat(n.peers()).as("our own key is no peer").containsExactly(other);
        assertThat(n.peer(own)).isNull();
        assertThat(peer.publicKey()).isEqualTo(own);
        assertThat(n.isOwnKey(own)).isTrue();
        assertThatThrownBy(() -> n.addPeer(own, null)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theKeyIsKeptClampedAsTheKernelKeepsIt() {
        byte[] raw = new byte[KEY_SIZE];
        Arrays.fill(raw, (byte) 0xff);
        byte[] clamped = raw.clone();
        clamped[0] = (byte) 0xf8;
        clamped[31] = (byte) 0x7f;
        Node n = new Node(raw, new SplittableRandom(1), new Counters(), Node.DEFAULT_LOAD_THRESHOLD);
        assertThat(n.privateKey()).isEqualTo(clamped);
        assertThat(n.publicKey()).as("the same scalar either way").isEqualTo(X25519.publicKey(raw));

        byte[] other = new byte[KEY_SIZE];
        Arrays.fill(other, (byte) 0x07);
        assertThat(n.setPrivateKey(other)).isTrue();
        byte[] expected = other.clone();
        expected[0] = 0;
        expected[31] = 0x47;
        assertThat(n.privateKey()).isEqualTo(expected);
        assertThat(other[0]).as("the caller's array is left alone").isEqualTo((byte) 0x07);
        assertThat(n.setPrivateKey(expected)).as("clamped or not, the same key").isFalse();
    }
}
