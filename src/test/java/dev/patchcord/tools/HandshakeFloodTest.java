package dev.patchcord.tools;

import dev.patchcord.control.WgConfig;
import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;
import dev.patchcord.core.wg.JdkCurve25519;
import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Outcome;
import dev.patchcord.core.wg.Protocol;
import dev.patchcord.core.wg.X25519;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The handshake-rate flood's pieces against the real protocol core: its initiations are answered
 * by a responder that knows the keys, its cookies are taken and used, and its count of responses
 * holds only answers to what it sent.
 */
class HandshakeFloodTest {
    private static final long MS = 1_000_000L;
    private static final long EPOCH = 1_800_000_000L * 1_000_000_000L;

    /** A responder that knows {@code keys}, and the flood's initiators for them. */
    private static final class Setup {
        final List<byte[]> keys;
        final Node responder;
        final KnownPeers peers;
        final Outcome out = new Outcome();
        final ByteBuffer buf = ByteBuffer.allocate(256);
        final Counters counters = new Counters();
        long now = 1_000 * MS;

        Setup(int n, int loadThreshold) {
            SplittableRandom rng = new SplittableRandom(7);
            keys = PeerKeys.generate(n, rng);
            byte[] responderKey = X25519.generatePrivate(rng);
            responder = new Node(responderKey, rng.split(), counters, loadThreshold);
            for (byte[] k : keys) {
                responder.addPeer(X25519.publicKey(k), null);
            }
            peers = new KnownPeers(keys, X25519.publicKey(responderKey), JdkCurve25519.INSTANCE, rng.split());
        }

        /** Key {@code k}'s next initiation, 25 ms after the last one made here; whether it had MAC2. */
        boolean initiate(int k) {
            now += 25 * MS;
            return peers.initiation(k, buf.clear(), now, EPOCH + now);
        }

        /** The responder takes what {@link #initiate} wrote; returns its answer, or null. */
        byte[] respond() {
            responder.receive(buf, 0, Protocol.INITIATION_SIZE, () -> new byte[] {10, 0, 0, 1}, now, EPOCH + now,
                    new dev.patchcord.core.wg.DataCipher(), out);
            return out.kind() == Outcome.Kind.REPLY ? out.reply() : null;
        }

        KnownPeers.Reply back(byte[] reply) {
            KnownPeers.Answer a = peers.reply(ByteBuffer.wrap(reply), reply.length, now, EPOCH + now);
            if (a.key() >= 0) {
                assertThat(a.index()).as("the answered initiation is the key's newest").isEqualTo(peers.newest(a.key()));
            }
            return a.reply();
        }
    }

    @Test
    void everyKeysInitiationIsAnsweredAndEachResponseCountsOnce() {
        Setup s = new Setup(5, Node.DEFAULT_LOAD_THRESHOLD);
        for (int k = 0; k < 5; k++) {
            assertThat(s.initiate(k)).as("no cookie yet, no MAC2").isFalse();
            byte[] response = s.respond();
            assertThat(response).as("key %d: %s", k, s.out.drop()).hasSize(Protocol.RESPONSE_SIZE);
            assertThat(s.back(response)).isEqualTo(KnownPeers.Reply.RESPONSE);
            assertThat(s.back(response)).as("a duplicate").isEqualTo(KnownPeers.Reply.UNMATCHED);
        }
        assertThat(s.peers.outstanding()).isZero();
    }

    @Test
    void aKeysInitiationsAreAllAcceptedOneAfterAnother() {
        Setup s = new Setup(1, Node.DEFAULT_LOAD_THRESHOLD);
        for (int i = 0; i < 4; i++) {
            s.initiate(0);
            assertThat(s.respond()).as("round %d: %s", i, s.out.drop()).hasSize(Protocol.RESPONSE_SIZE);
        }
    }

    @Test
    void aResponseToAReplacedInitiationIsNotCounted() {
        Setup s = new Setup(1, Node.DEFAULT_LOAD_THRESHOLD);
        s.initiate(0);
        byte[] response = s.respond();
        s.initiate(0); // a newer initiation of the same key: the first is no longer outstanding
        assertThat(s.back(response)).isEqualTo(KnownPeers.Reply.UNMATCHED);
    }

    @Test
    void underLoadTheCookieIsTakenAndTheNextInitiationCarriesMac2() {
        Setup s = new Setup(2, 0); // every handshake message counts as load
        assertThat(s.initiate(0)).isFalse();
        byte[] cookieReply = s.respond();
        assertThat(cookieReply).hasSize(Protocol.COOKIE_REPLY_SIZE);
        assertThat(s.counters.dropped(Drop.COOKIE_SENT)).isEqualTo(1);
        assertThat(s.back(cookieReply)).isEqualTo(KnownPeers.Reply.COOKIE);

        assertThat(s.initiate(0)).as("MAC2 with the cookie").isTrue();
        byte[] response = s.respond();
        assertThat(response).as("%s", s.out.drop()).hasSize(Protocol.RESPONSE_SIZE);
        assertThat(s.back(response)).isEqualTo(KnownPeers.Reply.RESPONSE);
        // The cookie is the key's own: the other key still has none.
        assertThat(s.initiate(1)).isFalse();
    }

    @Test
    void aCookieReplyThatDoesNotAuthenticateOrAnswersNothingIsNotTaken() {
        Setup s = new Setup(1, 0);
        s.initiate(0);
        byte[] cookieReply = s.respond();
        byte[] tampered = cookieReply.clone();
        tampered[Protocol.COOKIE_REPLY_SIZE - 1] ^= 1;
        assertThat(s.back(tampered)).isEqualTo(KnownPeers.Reply.COOKIE_REFUSED);
        byte[] elsewhere = cookieReply.clone();
        elsewhere[Protocol.COOKIE_RECEIVER] ^= 1;
        assertThat(s.back(elsewhere)).isEqualTo(KnownPeers.Reply.UNMATCHED);
        assertThat(s.initiate(0)).as("still no cookie").isFalse();
    }

    @Test
    void otherDatagramsAreOther() {
        Setup s = new Setup(1, Node.DEFAULT_LOAD_THRESHOLD);
        assertThat(s.back(new byte[3])).isEqualTo(KnownPeers.Reply.OTHER);
        byte[] transport = new byte[32];
        transport[0] = Protocol.MESSAGE_TRANSPORT;
        assertThat(s.back(transport)).isEqualTo(KnownPeers.Reply.OTHER);
        byte[] shortResponse = new byte[Protocol.RESPONSE_SIZE - 1];
        shortResponse[0] = Protocol.MESSAGE_RESPONSE;
        assertThat(s.back(shortResponse)).isEqualTo(KnownPeers.Reply.OTHER);
    }

    /**
     * The whole flood on loopback against a core responder that is always under load: every key
     * gets its cookie once, then each initiation carries MAC2 and is answered.
     */
    @Test
    void aFloodOnLoopbackGetsItsCookiesAndThenResponses() throws Exception {
        SplittableRandom rng = new SplittableRandom(11);
        List<byte[]> keys = PeerKeys.generate(20, rng);
        byte[] responderKey = X25519.generatePrivate(rng);
        Node responder = new Node(responderKey, new java.security.SecureRandom(), new Counters(), 0);
        for (byte[] k : keys) {
            responder.addPeer(X25519.publicKey(k), null);
        }
        try (java.nio.channels.DatagramChannel ch = java.nio.channels.DatagramChannel.open(java.net.StandardProtocolFamily.INET)) {
            ch.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            Thread serving = Thread.ofPlatform().daemon().start(() -> serve(responder, ch));
            HandshakeFlood.Plan plan = new HandshakeFlood.Plan((InetSocketAddress) ch.getLocalAddress(),
                    X25519.publicKey(responderKey), keys, InetAddress.getByName("127.0.0.1"), 20, 0, 8,
                    Duration.ofMillis(800), Duration.ofMillis(1000), ProcessHandle.current().pid(), 100);
            HandshakeFlood.Report r = HandshakeFlood.run(plan);
            ch.close();
            serving.join(2000);

            HandshakeFlood.Window w = r.warmUp(), m = r.measured();
            assertThat(w.cookies() + m.cookies()).as("%s / %s", w, m).isEqualTo(20);
            // (The counters are read one after another while the flood goes on: one apart at most.)
            assertThat(m.sent()).isGreaterThan(0);
            assertThat(m.withCookie()).as("all with MAC2").isBetween(m.sent() - 1, m.sent() + 1);
            assertThat(m.responses()).isBetween(m.sent() - 9, m.sent() + 9);
            assertThat(w.timeouts() + m.timeouts() + w.cookiesRefused() + m.cookiesRefused() + m.unmatched() + m.other())
                    .isZero();
            // Each key at most every 100 ms: 20 keys, at most 200 a second.
            assertThat(m.sent() / m.seconds()).isLessThanOrEqualTo(210);
            assertThat(m.responderCpuSeconds()).isGreaterThanOrEqualTo(0);
            // Sampled by the sending thread as it wakes, so a little off at the window's ends.
            assertThat(m.meanOutstanding()).isBetween(0.0, 8.8);
            assertThat(responder.counters().dropped(Drop.RATE_LIMITED)).isZero();
        }
    }

    /** Answers every datagram on {@code ch} as the responder node would, until the channel closes. */
    private static void serve(Node responder, java.nio.channels.DatagramChannel ch) {
        ByteBuffer in = ByteBuffer.allocate(2048);
        Outcome out = new Outcome();
        dev.patchcord.core.wg.DataCipher cipher = new dev.patchcord.core.wg.DataCipher();
        try {
            while (true) {
                in.clear();
                InetSocketAddress from = (InetSocketAddress) ch.receive(in);
                byte[] source = from.getAddress().getAddress();
                responder.receive(in, 0, in.position(), () -> source, System.nanoTime(), System.currentTimeMillis() * MS,
                        cipher, out);
                if (out.kind() == Outcome.Kind.REPLY) {
                    ch.send(ByteBuffer.wrap(out.reply()), from);
                }
            }
        } catch (java.io.IOException e) {
            // closed
        }
    }

    @Test
    void thePeerSectionsAreAConfigurationWithEveryPublicKey() throws Exception {
        List<byte[]> keys = PeerKeys.generate(3, new SplittableRandom(1));
        String conf = "[Interface]\nPrivateKey = " + Keys.toBase64(X25519.generatePrivate(new SplittableRandom(2)))
                + "\n" + PeerKeys.peerSections(keys);
        WgConfig parsed = WgConfig.parse(conf, "test");
        assertThat(parsed.peers()).hasSize(3);
        for (int i = 0; i < 3; i++) {
            assertThat(parsed.peers().get(i).publicKey()).isEqualTo(X25519.publicKey(keys.get(i)));
        }
        assertThat(PeerKeys.privateLines(keys).lines().map(Keys::fromBase64).toList())
                .usingElementComparator(Arrays::compare).isEqualTo(keys);
    }

    @Test
    void theResponderCpuTimeIsReadPastANameWithSpacesAndParentheses() {
        String stat = "4242 (java (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 1234 567 0 0 20 0 30 0 100 0";
        assertThat(HandshakeFlood.cpuTicks(stat)).isEqualTo(1234 + 567);
    }

    @Test
    void sourceAddressesFollowTheFirst() throws Exception {
        assertThat(HandshakeFlood.nth(InetAddress.getByName("198.19.0.1"), 0).getHostAddress()).isEqualTo("198.19.0.1");
        assertThat(HandshakeFlood.nth(InetAddress.getByName("198.19.0.1"), 999).getHostAddress()).isEqualTo("198.19.3.232");
        assertThat(HandshakeFlood.nth(InetAddress.getByName("fd00::ff"), 1).getHostAddress()).isEqualTo("fd00:0:0:0:0:0:0:100");
        assertThatThrownBy(() -> HandshakeFlood.nth(InetAddress.getByName("255.255.255.255"), 1))
                .isInstanceOf(java.io.IOException.class);
    }

    @Test
    void aPlanSaysWhenTheRateLimiterOrTheKeysWouldSetTheFigure() throws Exception {
        InetSocketAddress target = new InetSocketAddress(InetAddress.getByName("198.18.3.1"), 51820);
        List<byte[]> keys = PeerKeys.generate(1000, new SplittableRandom(3));
        byte[] pub = new byte[32];
        InetAddress first = InetAddress.getByName("198.19.0.1");
        Duration d = Duration.ofSeconds(1);
        assertThat(new HandshakeFlood.Plan(target, pub, keys, first, 1000, 0, 128, d, d, 0, 100).limitation()).isNull();
        assertThat(new HandshakeFlood.Plan(target, pub, keys, first, 1000, 20_000, 128, d, d, 0, 100).limitation())
                .contains("at most 10000 a second");
        assertThat(new HandshakeFlood.Plan(target, pub, keys, null, 1, 0, 128, d, d, 0, 100).limitation())
                .contains("rate limiter");
        assertThat(new HandshakeFlood.Plan(target, pub, keys, null, 1, 10, 128, d, d, 0, 100).limitation())
                .as("10 a second from one address is within the limit").isNull();
        assertThatThrownBy(() -> new HandshakeFlood.Plan(target, pub, keys, null, 2, 0, 128, d, d, 0, 100))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new HandshakeFlood.Plan(target, pub, keys, first, 1000, 0, 1001, d, d, 0, 100))
                .as("a window larger than the keys").isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new HandshakeFlood.Plan(target, pub, keys, InetAddress.getByName("fd00::1"), 1, 0, 128, d, d, 0, 100))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
