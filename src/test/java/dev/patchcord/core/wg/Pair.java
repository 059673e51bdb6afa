package dev.patchcord.core.wg;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.Counters;

import java.nio.ByteBuffer;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two WireGuard nodes wired back to back in memory, with a test clock: A (10.0.0.1) and B
 * (10.0.0.2), each the other's only peer. Everything is deterministic: the randomness is seeded
 * and time only moves when a test moves it.
 */
final class Pair {
    static final long SECOND = 1_000_000_000L;
    /** Wall-clock start (epoch nanoseconds), advanced with the monotonic clock. */
    static final long EPOCH = 1_700_000_000L * SECOND;

    final byte[] keyA;
    final Node a;
    final Node b;
    final Peer bAtA;
    final Peer aAtB;
    final DataCipher cipher = new DataCipher();
    final Outcome out = new Outcome();
    final ByteBuffer buf = ByteBuffer.allocateDirect(4096);
    final Node.Source source = () -> new byte[]{1, 2, 3, 4};
    long now = 1_000 * SECOND;

    Pair(byte[] psk, int loadThresholdB) {
        this(psk, loadThresholdB, 42);
    }

    /** Pairs made with different seeds have different keys. */
    Pair(byte[] psk, int loadThresholdB, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        keyA = X25519.generatePrivate(rng.split());
        byte[] keyB = X25519.generatePrivate(rng.split());
        a = new Node(keyA, rng.split(), new Counters(), Node.DEFAULT_LOAD_THRESHOLD);
        b = new Node(keyB, rng.split(), new Counters(), loadThresholdB);
        bAtA = a.addPeer(b.publicKey(), psk);
        aAtB = b.addPeer(a.publicKey(), psk);
        a.allowedIps().add(Cidr.parse("10.0.0.2/32"), bAtA);
        b.allowedIps().add(Cidr.parse("10.0.0.1/32"), aAtB);
    }

    Pair() {
        this(null, Node.DEFAULT_LOAD_THRESHOLD);
    }

    /** A second node with A's private key, as after a restart of A: B cannot tell them apart. */
    Peer restartedA() {
        Node again = new Node(keyA, new SplittableRandom(7), new Counters(), Node.DEFAULT_LOAD_THRESHOLD);
        Peer peer = again.addPeer(b.publicKey(), null);
        again.allowedIps().add(Cidr.parse("10.0.0.2/32"), peer);
        return peer;
    }

    long epoch() {
        return EPOCH + now;
    }

    /** An IPv4 packet from {@code src} to {@code dst} (last octets in 10.0.0.0/24) with {@code payload} bytes. */
    static byte[] ipv4(int src, int dst, int payload) {
        byte[] p = new byte[20 + payload];
        p[0] = 0x45;
        p[2] = (byte) (p.length >> 8);
        p[3] = (byte) p.length;
        p[8] = 64;
        p[9] = 17;
        p[12] = 10; p[15] = (byte) src;
        p[16] = 10; p[19] = (byte) dst;
        for (int i = 0; i < payload; i++) {
            p[20 + i] = (byte) (i * 7);
        }
        return p;
    }

    /** Seals {@code packet} at {@code from} for {@code to}; returns the message, or null if it was staged. */
    byte[] seal(Peer to, byte[] packet) {
        buf.clear();
        buf.put(16, packet);
        int n = to.seal(buf, 0, packet.length, now, cipher);
        return n == 0 ? null : bytes(n);
    }

    /** The next message {@code peer} wants to send, or null. */
    byte[] poll(Peer peer) {
        buf.clear();
        int n = peer.poll(buf, now, epoch(), cipher);
        return n == 0 ? null : bytes(n);
    }

    private byte[] bytes(int n) {
        byte[] m = new byte[n];
        buf.get(0, m);
        return m;
    }

    /** Delivers {@code msg} to {@code node}; the outcome is in {@link #out}, a delivered packet returned. */
    byte[] receive(Node node, byte[] msg) {
        buf.clear();
        buf.put(0, msg);
        node.receive(buf, 0, msg.length, source, now, epoch(), cipher, out);
        if (out.kind() != Outcome.Kind.DELIVER) {
            return null;
        }
        byte[] p = new byte[out.length()];
        buf.get(out.offset(), p);
        return p;
    }

    /** B answers A with a keepalive, so A's "sent without answer" timer is satisfied. */
    void bAnswers() {
        assertThat(receive(a, seal(aAtB, new byte[0]))).isNull();
        assertThat(out.authenticated()).isTrue();
    }

    /** Runs a full handshake started by A's first packet, and checks that packet arrives. */
    void handshake() {
        byte[] packet = ipv4(1, 2, 40);
        assertThat(seal(bAtA, packet)).as("no session yet: staged").isNull();
        byte[] initiation = poll(bAtA);
        assertThat(initiation).hasSize(Protocol.INITIATION_SIZE);
        receive(b, initiation);
        assertThat(out.kind()).isEqualTo(Outcome.Kind.REPLY);
        assertThat(out.reply()).hasSize(Protocol.RESPONSE_SIZE);
        byte[] response = out.reply();
        receive(a, response);
        assertThat(out.kind()).as("response consumed: %s", out.drop()).isEqualTo(Outcome.Kind.NONE);
        assertThat(out.authenticated()).isTrue();
        byte[] data = poll(bAtA);
        assertThat(receive(b, data)).isEqualTo(packet);
    }
}
