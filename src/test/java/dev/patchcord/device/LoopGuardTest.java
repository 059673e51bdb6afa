package dev.patchcord.device;

import dev.patchcord.core.Counters;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.core.wg.X25519;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

class LoopGuardTest {
    private static final int PORT = 51820;
    private static final byte[] V4 = {(byte) 192, 0, 2, 7};
    private static final byte[] V6 = {0x20, 0x01, 0x0d, (byte) 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};

    private final SplittableRandom rng = new SplittableRandom(3);
    private final Node node = new Node(X25519.generatePrivate(rng), rng.split(), new Counters(), Node.DEFAULT_LOAD_THRESHOLD);
    private final PeerEndpoints endpoints = new PeerEndpoints();
    private final Peer p4 = peer(new InetSocketAddress(address(V4), 40000));
    private final Peer p6 = peer(new InetSocketAddress(address(V6), 1));
    private final Peer none = node.addPeer(X25519.publicKey(X25519.generatePrivate(rng)), null);
    private int port = PORT;
    private final LoopGuard guard = new LoopGuard(node, endpoints, () -> port);

    private static InetAddress address(byte[] raw) {
        try {
            return InetAddress.getByAddress(raw);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private Peer peer(InetSocketAddress endpoint) {
        Peer p = node.addPeer(X25519.publicKey(X25519.generatePrivate(rng)), null);
        endpoints.put(p, new PeerAddress(endpoint, true));
        return p;
    }

    /** A transport message's first 32 bytes (enough for the shape test) in UDP from sport to dst:dport. */
    private static byte[] datagram(int sport, byte[] dst, int dport) {
        boolean v4 = dst.length == 4;
        int ip = v4 ? 20 : 40;
        byte[] p = new byte[ip + 8 + 32];
        if (v4) {
            p[0] = 0x45;
            p[9] = 17;
            p[12] = 10; p[15] = 1;
            System.arraycopy(dst, 0, p, 16, 4);
        } else {
            p[0] = 0x60;
            p[6] = 17;
            p[8] = (byte) 0xfd; p[23] = 1;
            System.arraycopy(dst, 0, p, 24, 16);
        }
        p[ip] = (byte) (sport >> 8);
        p[ip + 1] = (byte) sport;
        p[ip + 2] = (byte) (dport >> 8);
        p[ip + 3] = (byte) dport;
        p[ip + 5] = 40;
        p[ip + 8] = 4; // transport data
        return p;
    }

    private boolean looped(byte[] packet, Peer routed) {
        // At an offset, as the packet path holds it.
        ByteBuffer view = ByteBuffer.allocate(16 + packet.length).put(16, packet);
        return guard.looped(view, 16, packet.length, routed);
    }

    @Test
    void aDatagramFromOurPortToAPeersEndpointIsOurs() {
        assertThat(looped(datagram(PORT, V4, 40000), p4)).isTrue();
        assertThat(looped(datagram(PORT, V6, 1), p6)).isTrue();
    }

    @Test
    void itIsFoundWhicheverPeerRoutingChose() {
        // Another peer's allowed IPs cover the endpoint (or none do): still one of ours.
        assertThat(looped(datagram(PORT, V4, 40000), p6)).isTrue();
        assertThat(looped(datagram(PORT, V4, 40000), none)).isTrue();
        assertThat(looped(datagram(PORT, V4, 40000), null)).isTrue();
        assertThat(looped(datagram(PORT, V6, 1), null)).isTrue();
    }

    @Test
    void anythingElseIsNot() {
        assertThat(looped(datagram(PORT, V4, 40001), p4)).as("another port there").isFalse();
        assertThat(looped(datagram(PORT, new byte[]{(byte) 192, 0, 2, 8}, 40000), p4)).as("another address").isFalse();
        assertThat(looped(datagram(PORT + 1, V4, 40000), p4)).as("from another port").isFalse();
        byte[] v6 = V6.clone();
        v6[15] = 8;
        assertThat(looped(datagram(PORT, v6, 1), p6)).isFalse();
    }

    @Test
    void followsTheEndpointAndThePort() {
        endpoints.find(p4).set(new InetSocketAddress(address(V4), 40002));
        assertThat(looped(datagram(PORT, V4, 40000), p4)).as("the old endpoint").isFalse();
        assertThat(looped(datagram(PORT, V4, 40002), p4)).isTrue();
        port = 7000; // the listen port was changed
        assertThat(looped(datagram(PORT, V4, 40002), p4)).isFalse();
        assertThat(looped(datagram(7000, V4, 40002), p4)).isTrue();
    }

    @Test
    void aPeerWithoutAnEndpointIsLeftAlone() {
        assertThat(looped(datagram(PORT, V4, 40000), none)).isTrue();
        assertThat(endpoints.find(none)).as("no endpoint made up for it").isNull();
    }
}
