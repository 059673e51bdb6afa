package dev.patchcord.core.wg;

import dev.patchcord.core.Drop;
import org.junit.jupiter.api.Test;

import java.security.SecureRandom;

import static dev.patchcord.core.wg.Pair.ipv4;
import static org.assertj.core.api.Assertions.assertThat;

class HandshakeTest {

    @Test
    void fullHandshakeThenDataBothWays() {
        Pair p = new Pair();
        p.handshake();
        byte[] back = ipv4(2, 1, 1000);
        byte[] msg = p.seal(p.aAtB, back);
        assertThat(msg).hasSize(16 + 1024 + 16); // padded to a multiple of 16
        assertThat(p.receive(p.a, msg)).isEqualTo(back);
        assertThat(p.out.peer()).isSameAs(p.bAtA);
        assertThat(p.bAtA.hasSession(p.now)).isTrue();
        assertThat(p.aAtB.hasSession(p.now)).as("responder rotated after key confirmation").isTrue();
    }

    @Test
    void worksWithAPresharedKeyAndFailsWhenTheyDiffer() {
        byte[] psk = new byte[32];
        new SecureRandom().nextBytes(psk);
        new Pair(psk, Node.DEFAULT_LOAD_THRESHOLD).handshake();

        Pair p = new Pair(psk, Node.DEFAULT_LOAD_THRESHOLD);
        p.aAtB.setPresharedKey(new byte[32]);
        p.seal(p.bAtA, ipv4(1, 2, 10));
        p.receive(p.b, p.poll(p.bAtA));
        p.receive(p.a, p.out.reply());
        assertThat(p.out.kind()).isEqualTo(Outcome.Kind.DROP);
        assertThat(p.out.drop()).isEqualTo(Drop.BAD_AUTH);
        assertThat(p.bAtA.hasSession(p.now)).isFalse();
    }

    @Test
    void paddingNeverGoesPastTheMtu() {
        assertThat(PeerTransport.paddedLength(0, 1420)).isZero();
        assertThat(PeerTransport.paddedLength(1, 1420)).isEqualTo(16);
        assertThat(PeerTransport.paddedLength(1419, 1420)).isEqualTo(1420);
        assertThat(PeerTransport.paddedLength(1420, 1420)).isEqualTo(1420);
        assertThat(PeerTransport.paddedLength(1500, 1420)).isEqualTo(1504);
    }

    @Test
    void replayedInitiationIsRefused() {
        Pair p = new Pair();
        p.seal(p.bAtA, ipv4(1, 2, 10));
        byte[] initiation = p.poll(p.bAtA);
        p.receive(p.b, initiation);
        assertThat(p.out.kind()).isEqualTo(Outcome.Kind.REPLY);
        p.now += Pair.SECOND;
        p.receive(p.b, initiation);
        assertThat(p.out.drop()).isEqualTo(Drop.STALE_HANDSHAKE);
    }

    @Test
    void initiationsFasterThanFiftyPerSecondAreAFlood() {
        Pair p = new Pair();
        p.seal(p.bAtA, ipv4(1, 2, 10));
        p.receive(p.b, p.poll(p.bAtA));
        assertThat(p.out.kind()).isEqualTo(Outcome.Kind.REPLY);
        // A restarted A: a newer timestamp (one 2^24 ns tick of TAI64N granularity) but only 17 ms later.
        p.now += 1L << 24;
        Peer again = p.restartedA();
        p.seal(again, ipv4(1, 2, 10));
        p.receive(p.b, p.poll(again));
        assertThat(p.out.drop()).isEqualTo(Drop.HANDSHAKE_FLOOD);
        // 20 ms after the first it is welcome.
        p.now += 4_000_000;
        Peer third = p.restartedA();
        p.seal(third, ipv4(1, 2, 10));
        p.receive(p.b, p.poll(third));
        assertThat(p.out.kind()).isEqualTo(Outcome.Kind.REPLY);
    }

    @Test
    void unknownPeersWrongMacAndForgedResponsesAreRefused() {
        Pair p = new Pair();
        Pair stranger = new Pair(null, Node.DEFAULT_LOAD_THRESHOLD, 99);
        // A node B does not know, MACed correctly for B: it authenticates its static key but is not a peer.
        Peer bAtStranger = stranger.a.addPeer(p.b.publicKey(), null);
        stranger.a.allowedIps().add(dev.patchcord.core.Cidr.parse("10.0.0.99/32"), bAtStranger);
        stranger.seal(bAtStranger, ipv4(1, 99, 1));
        p.receive(p.b, stranger.poll(bAtStranger));
        assertThat(p.out.drop()).isEqualTo(Drop.UNKNOWN_PEER);

        p.seal(p.bAtA, ipv4(1, 2, 10));
        byte[] initiation = p.poll(p.bAtA);
        initiation[Protocol.INIT_MAC1] ^= 1;
        p.receive(p.b, initiation);
        assertThat(p.out.drop()).isEqualTo(Drop.BAD_MAC);

        assertThat(p.b.counters().dropped(Drop.UNKNOWN_PEER)).isEqualTo(1);
        assertThat(p.b.counters().dropped(Drop.BAD_MAC)).isEqualTo(1);
    }

    @Test
    void transportBadInputIsDroppedAndCountedNeverDelivered() {
        Pair p = new Pair();
        p.handshake();
        byte[] msg = p.seal(p.bAtA, ipv4(1, 2, 64));
        assertThat(p.receive(p.b, msg)).isNotNull();

        assertThat(p.receive(p.b, msg)).isNull();
        assertThat(p.out.drop()).isEqualTo(Drop.REPLAYED);

        byte[] tampered = p.seal(p.bAtA, ipv4(1, 2, 64));
        tampered[40] ^= 0x20;
        assertThat(p.receive(p.b, tampered)).isNull();
        assertThat(p.out.drop()).isEqualTo(Drop.BAD_AUTH);

        byte[] unknownIndex = p.seal(p.bAtA, ipv4(1, 2, 64));
        unknownIndex[4] ^= 0x55;
        assertThat(p.receive(p.b, unknownIndex)).isNull();
        assertThat(p.out.drop()).isEqualTo(Drop.UNKNOWN_INDEX);

        byte[] spoofed = p.seal(p.bAtA, ipv4(77, 2, 64));
        assertThat(p.receive(p.b, spoofed)).isNull();
        assertThat(p.out.drop()).isEqualTo(Drop.NOT_ALLOWED);

        for (byte[] bad : new byte[][]{new byte[0], new byte[3], new byte[31], new byte[147], new byte[149],
                {1, 0, 0, 1}, {9, 0, 0, 0, 0}, java.util.Arrays.copyOf(msg, 20)}) {
            if (bad.length >= 4 && bad[0] == 0) {
                continue;
            }
            assertThat(p.receive(p.b, bad)).isNull();
            assertThat(p.out.kind()).isEqualTo(Outcome.Kind.DROP);
        }
        assertThat(p.b.counters().dropped(Drop.REPLAYED)).isEqualTo(1);
        assertThat(p.b.counters().dropped(Drop.NOT_ALLOWED)).isEqualTo(1);
    }

    @Test
    void keepaliveIsAuthenticatedButDeliversNothing() {
        Pair p = new Pair();
        p.handshake();
        byte[] keepalive = p.seal(p.bAtA, new byte[0]);
        assertThat(keepalive).hasSize(32);
        assertThat(p.receive(p.b, keepalive)).isNull();
        assertThat(p.out.kind()).isEqualTo(Outcome.Kind.NONE);
        assertThat(p.out.authenticated()).isTrue();
    }
}
