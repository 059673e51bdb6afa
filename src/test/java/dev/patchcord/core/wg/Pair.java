package dev.patchcord.core.wg;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;
import dev.patchcord.testing.TestPackets;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Two WireGuard nodes wired back to back in memory, with a test clock: A (10.0.0.1) and B
 * (10.0.0.2), each the other's only peer. Everything is deterministic: the randomness is seeded
 * and time only moves when a test moves it. The one two-node harness of the tests: the core's
 * unit tests, the fuzz tests, the crypto pool's test and the benchmarks all start here.
 */
public final class Pair {
    public static final long SECOND = 1_000_000_000L;
    /** Wall-clock start (epoch nanoseconds), advanced with the monotonic clock. */
    public static final long EPOCH = 1_700_000_000L * SECOND;

    public final byte[] keyA;
    public final Node a;
    public final Node b;
    public final Peer bAtA;
    public final Peer aAtB;
    public final DataCipher cipher = new DataCipher();
    public final Outcome out = new Outcome();
    public final ByteBuffer buf;
    /** Where every datagram seems to come from. */
    public Node.Source source = () -> new byte[]{1, 2, 3, 4};
    public long now = 1_000 * SECOND;

    public Pair(byte[] psk, int loadThresholdB) {
        this(psk, loadThresholdB, 42);
    }

    /** Pairs made with different seeds have different keys. */
    public Pair(byte[] psk, int loadThresholdB, long seed) {
        this(new SplittableRandom(seed), psk, loadThresholdB);
    }

    private Pair(SplittableRandom rng, byte[] psk, int loadThresholdB) {
        this(rng, X25519.generatePrivate(rng.split()), X25519.generatePrivate(rng.split()), psk, loadThresholdB,
                ByteBuffer.allocateDirect(4096));
    }

    public Pair() {
        this(null, Node.DEFAULT_LOAD_THRESHOLD);
    }

    /**
     * A pair of the given keys whose nodes take their randomness from {@code rng} (A's first, then
     * B's), so a caller that draws more from {@code rng} afterwards stays deterministic.
     *
     * @param buf where messages are sealed and opened: 4 KiB, direct or heap
     */
    public Pair(SplittableRandom rng, byte[] keyA, byte[] keyB, byte[] psk, int loadThresholdB, ByteBuffer buf) {
        this(rng, keyA, keyB, psk, loadThresholdB, buf, JdkCurve25519.INSTANCE, JdkCurve25519.INSTANCE);
    }

    /** As above, with each node's X25519 done by the given engine. */
    public Pair(SplittableRandom rng, byte[] keyA, byte[] keyB, byte[] psk, int loadThresholdB, ByteBuffer buf,
            Curve25519 dhA, Curve25519 dhB) {
        this.keyA = keyA;
        this.buf = buf;
        a = new Node(keyA, rng.split(), new Counters(), Node.DEFAULT_LOAD_THRESHOLD, dhA);
        b = new Node(keyB, rng.split(), new Counters(), loadThresholdB, dhB);
        bAtA = a.addPeer(b.publicKey(), psk);
        aAtB = b.addPeer(a.publicKey(), psk);
        a.allowedIps().add(Cidr.parse("10.0.0.2/32"), bAtA);
        b.allowedIps().add(Cidr.parse("10.0.0.1/32"), aAtB);
    }

    /** A second node with A's private key, as after a restart of A: B cannot tell them apart. */
    public Peer restartedA() {
        Node again = new Node(keyA, new SplittableRandom(7), new Counters(), Node.DEFAULT_LOAD_THRESHOLD);
        Peer peer = again.addPeer(b.publicKey(), null);
        again.allowedIps().add(Cidr.parse("10.0.0.2/32"), peer);
        return peer;
    }

    public long epoch() {
        return EPOCH + now;
    }

    /** An IPv4 packet from {@code src} to {@code dst} (last octets in 10.0.0.0/24) with {@code payload} bytes. */
    public static byte[] ipv4(int src, int dst, int payload) {
        return TestPackets.ipv4(new byte[]{10, 0, 0, (byte) src}, new byte[]{10, 0, 0, (byte) dst}, TestPackets.UDP, payload);
    }

    /** Seals {@code packet} at {@code from} for {@code to}; returns the message, or null if it was staged. */
    public byte[] seal(Peer to, byte[] packet) {
        buf.clear();
        buf.put(16, packet);
        int n = to.seal(buf, 0, packet.length, now, cipher);
        return n == 0 ? null : bytes(n);
    }

    /** The next message {@code peer} wants to send, or null. */
    public byte[] poll(Peer peer) {
        buf.clear();
        int n = peer.poll(buf, now, epoch(), cipher);
        return n == 0 ? null : bytes(n);
    }

    private byte[] bytes(int n) {
        byte[] m = new byte[n];
        buf.get(0, m);
        return m;
    }

    /** Hands {@code msg} to {@code node}; the outcome is in {@link #out}, a delivered packet in {@link #buf}. */
    public void offer(Node node, byte[] msg) {
        buf.clear();
        buf.put(0, msg);
        node.receive(buf, 0, msg.length, source, now, epoch(), cipher, out);
    }

    /** Delivers {@code msg} to {@code node}; the outcome is in {@link #out}, a delivered packet returned. */
    public byte[] receive(Node node, byte[] msg) {
        offer(node, msg);
        if (kind() != Outcome.Kind.DELIVER) {
            return null;
        }
        byte[] p = new byte[length()];
        buf.get(offset(), p);
        return p;
    }

    /** B answers A with a keepalive, so A's "sent without answer" timer is satisfied. */
    public void bAnswers() {
        check(receive(a, seal(aAtB, new byte[0])) == null, "a keepalive delivers nothing");
        check(authenticated(), "B's keepalive authenticates");
    }

    /** Runs a full handshake started by A's first packet, and checks that packet arrives. */
    public void handshake() {
        handshake(false);
    }

    /**
     * The same where B may be under load: if B answers with a cookie reply, A takes the cookie
     * and initiates again, now with a valid mac2.
     */
    public void handshakeTakingCookie() {
        handshake(true);
    }

    private void handshake(boolean takeCookie) {
        byte[] packet = ipv4(1, 2, 40);
        check(seal(bAtA, packet) == null, "no session yet: A's first packet is staged");
        byte[] initiation = poll(bAtA);
        check(initiation != null && initiation.length == Protocol.INITIATION_SIZE, "A initiates");
        offer(b, initiation);
        if (takeCookie && kind() == Outcome.Kind.REPLY && reply().length == Protocol.COOKIE_REPLY_SIZE) {
            offer(a, reply());
            check(kind() == Outcome.Kind.NONE, "A takes B's cookie");
            bAtA.initiateNow();
            offer(b, poll(bAtA));
        }
        check(kind() == Outcome.Kind.REPLY && reply().length == Protocol.RESPONSE_SIZE, "B answers A's initiation");
        offer(a, reply());
        check(kind() == Outcome.Kind.NONE && authenticated(), "A takes B's response");
        check(Arrays.equals(receive(b, poll(bAtA)), packet), "A's first packet reaches B");
    }

    private void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError("failed: " + what + " (outcome " + kind() + ", " + drop() + ")");
        }
    }

    // The harness reads the last outcome only through these.

    public Outcome.Kind kind() {
        return out.kind();
    }

    public Drop drop() {
        return out.drop();
    }

    public byte[] reply() {
        return out.reply();
    }

    public boolean authenticated() {
        return out.authenticated();
    }

    public Peer peer() {
        return out.peer();
    }

    public int offset() {
        return out.offset();
    }

    public int length() {
        return out.length();
    }
}
