package dev.patchcord.core.wg;

import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The tables a node keeps stay bounded whatever arrives: peers, session indices, staged packets. */
class BoundsTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void peersBeyondTheLimitAreRefusedWithAClearError() {
        Node node = new Node(X25519.generatePrivate(new SplittableRandom(1)), new SplittableRandom(2), new Counters(),
                Node.DEFAULT_LOAD_THRESHOLD);
        node.limitPeers(50);
        SplittableRandom rng = new SplittableRandom(3);
        byte[] first = null;
        for (int i = 0; i < 50; i++) {
            byte[] key = new byte[32];
            rng.nextBytes(key);
            first = first == null ? key : first;
            node.addPeer(key, null);
        }
        byte[] one = new byte[32];
        rng.nextBytes(one);
        assertThatThrownBy(() -> node.addPeer(one, null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("this interface has 50 peers, the most it may have");
        assertThat(node.peers()).hasSize(50);
        assertThat(node.addPeer(first, null)).as("an existing peer is still found").isNotNull();
        node.removePeer(node.peer(first));
        assertThat(node.addPeer(one, null)).as("room again after a removal").isNotNull();
        assertThat(node.peers()).hasSize(50);
        assertThat(Node.MAX_PEERS).isGreaterThanOrEqualTo(100_000);
    }

    @Test
    void sessionIndicesStayAtFourPerPeerThroughRekeysReplaysAndUnknownInitiators() {
        Pair p = new Pair();
        p.handshake();
        byte[] lastInitiation = null;
        for (int round = 0; round < 30; round++) {
            p.now += Protocol.REKEY_AFTER_TIME + SECOND;
            // Data from A after REKEY_AFTER_TIME makes A start a new handshake.
            byte[] data = p.seal(p.bAtA, Pair.ipv4(1, 2, 10));
            assertThat(data).isNotNull();
            byte[] initiation = p.poll(p.bAtA);
            assertThat(initiation).as("round %d", round).hasSize(Protocol.INITIATION_SIZE);
            p.receive(p.b, initiation);
            assertThat(p.out.kind()).isEqualTo(Outcome.Kind.REPLY);
            p.receive(p.a, p.out.reply());
            assertThat(p.out.authenticated()).isTrue();
            // The keepalive that confirms the new session to B.
            for (byte[] m = p.poll(p.bAtA); m != null; m = p.poll(p.bAtA)) {
                p.receive(p.b, m);
            }
            assertThat(p.a.indicesInUse()).as("A after round %d", round).isLessThanOrEqualTo(4);
            assertThat(p.b.indicesInUse()).as("B after round %d", round).isLessThanOrEqualTo(4);
            lastInitiation = initiation;
        }
        int before = p.b.indicesInUse();
        for (int i = 0; i < 100; i++) {
            p.now += SECOND;
            p.receive(p.b, lastInitiation);
            assertThat(p.out.drop()).isEqualTo(Drop.STALE_HANDSHAKE);
        }
        Node stranger = new Node(X25519.generatePrivate(new SplittableRandom(9)), new SplittableRandom(10),
                new Counters(), Node.DEFAULT_LOAD_THRESHOLD);
        Peer bAtStranger = stranger.addPeer(p.b.publicKey(), null);
        for (int i = 0; i < 20; i++) {
            p.now += Protocol.REKEY_TIMEOUT;
            bAtStranger.initiateNow();
            byte[] initiation = p.poll(bAtStranger);
            assertThat(initiation).hasSize(Protocol.INITIATION_SIZE);
            p.receive(p.b, initiation);
            assertThat(p.out.drop()).isEqualTo(Drop.UNKNOWN_PEER);
        }
        assertThat(p.b.indicesInUse()).as("replays and strangers add no index").isEqualTo(before);
    }

    @Test
    void packetsWaitingForAHandshakeAreBoundedPerPeerAndTheOverflowCounted() {
        Pair p = new Pair();
        int sent = Protocol.MAX_STAGED_PACKETS * 4;
        for (int i = 0; i < sent; i++) {
            assertThat(p.seal(p.bAtA, Pair.ipv4(1, 2, 1000))).isNull();
        }
        assertThat(p.bAtA.stagedCount()).isEqualTo(Protocol.MAX_STAGED_PACKETS);
        assertThat(p.a.counters().dropped(Drop.STAGED_OVERFLOW)).isEqualTo(sent - Protocol.MAX_STAGED_PACKETS);
    }

    @Test
    void packetsWaitingForHandshakesAreBoundedForAllPeersTogether() {
        Pair p = new Pair();
        byte[] packet = Pair.ipv4(1, 2, 1000);
        int perPeer = Protocol.MAX_STAGED_PACKETS;
        p.a.limitStagedBytes(3L * perPeer * packet.length);
        SplittableRandom rng = new SplittableRandom(5);
        java.util.List<Peer> peers = new java.util.ArrayList<>();
        for (int i = 0; i < 10; i++) {
            byte[] key = new byte[32];
            rng.nextBytes(key);
            peers.add(p.a.addPeer(key, null));
        }
        for (Peer peer : peers) {
            for (int i = 0; i < perPeer; i++) {
                assertThat(p.seal(peer, packet)).isNull();
            }
        }
        assertThat(p.a.stagedBytes()).isEqualTo(3L * perPeer * packet.length);
        assertThat(p.a.counters().dropped(Drop.STAGED_OVERFLOW)).isEqualTo(7L * perPeer);
        assertThat(peers.get(9).stagedCount()).isZero();
        assertThat(p.poll(peers.get(9))).as("a peer past the bound still starts its handshake")
                .hasSize(Protocol.INITIATION_SIZE);
        p.a.removePeer(peers.get(0));
        assertThat(p.a.stagedBytes()).as("a removed peer's packets free their bytes").isEqualTo(2L * perPeer * packet.length);
        assertThat(p.a.counters().dropped(Drop.STAGED_OVERFLOW)).isEqualTo(8L * perPeer);
        // A packet sent once a session exists gives its bytes back too.
        p.a.limitStagedBytes(Node.MAX_STAGED_BYTES);
        p.handshake();
        assertThat(p.a.stagedBytes()).isEqualTo(2L * perPeer * packet.length);
    }
}
