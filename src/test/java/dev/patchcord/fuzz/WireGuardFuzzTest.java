package dev.patchcord.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.patchcord.core.Cidr;
import dev.patchcord.core.Counters;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Outcome;
import dev.patchcord.core.wg.Pair;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.core.wg.Protocol;
import dev.patchcord.core.wg.X25519;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static dev.patchcord.core.wg.Pair.ipv4;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Datagrams from the network into the sans-IO WireGuard core. The node under test, B, holds a real
 * identity and is in every state a datagram can meet: an established session with A (so a
 * transport message can decrypt), a handshake it started itself towards C and still waits to have
 * answered (so a response or a cookie reply can match), and A and C configured as peers (so an
 * initiation from either passes mac1 and the static key check). Every key and every random number
 * is seeded, so the seed corpus (WireGuardFuzzTestInputs/receive: a real initiation, response,
 * cookie reply and transport message) stays valid from run to run and the fuzzer starts from
 * inputs that pass the MACs.
 *
 * <p>Contract: {@link Node#receive} never throws; a drop is counted exactly once; a delivered
 * packet lies inside the datagram and came from an authenticated peer; a reply is a response or a
 * cookie reply of the right size.
 */
class WireGuardFuzzTest {
    /** When the fuzzed datagram arrives: after the world's set-up, before any session expires. */
    static final long ARRIVAL = 1_010 * Pair.SECOND;

    /**
     * The seeded nodes and B's state, rebuilt identically for every input: the two-node
     * {@link Pair} of A and B, and C, which B has initiated to.
     */
    static final class World {
        final Pair pair;
        final byte[] keyC;
        final Node b;
        final Node c;
        final Peer aAtB;
        final Peer cAtB;
        final Peer bAtC;
        final Outcome out;
        /** The initiation B sent to C, for making C's answers. */
        final byte[] initiationToC;

        World() {
            this(Node.DEFAULT_LOAD_THRESHOLD);
        }

        /** @param loadThresholdB handshake messages a second above which B is under load (0: always) */
        World(int loadThresholdB) {
            SplittableRandom rng = new SplittableRandom(20261122);
            byte[] keyA = X25519.generatePrivate(rng.split());
            byte[] keyB = X25519.generatePrivate(rng.split());
            keyC = X25519.generatePrivate(rng.split());
            pair = new Pair(rng, keyA, keyB, null, loadThresholdB, ByteBuffer.allocate(4096));
            pair.source = () -> new byte[]{(byte) 198, 18, 0, 1};
            c = new Node(keyC, rng.split(), new Counters(), Node.DEFAULT_LOAD_THRESHOLD);
            b = pair.b;
            aAtB = pair.aAtB;
            out = pair.out;
            cAtB = b.addPeer(c.publicKey(), null);
            bAtC = c.addPeer(b.publicKey(), null);
            b.allowedIps().add(Cidr.parse("10.0.0.3/32"), cAtB);
            c.allowedIps().add(Cidr.parse("10.0.0.2/32"), bAtC);

            // A and B: a full handshake, confirmed by A's first data packet.
            pair.handshakeTakingCookie();

            // B starts a handshake with C that stays unanswered.
            check(pair.seal(cAtB, ipv4(2, 3, 20)) == null, "B's packet to C waits for the handshake");
            initiationToC = pair.poll(cAtB);
            check(initiationToC != null && initiationToC.length == Protocol.INITIATION_SIZE, "B initiates to C");
            pair.now = ARRIVAL;
        }

        /** Delivers a datagram to B at the arrival time; the outcome is in {@link #out}. */
        void deliver(byte[] datagram) {
            pair.offer(b, datagram);
        }

        private static void check(boolean ok, String what) {
            if (!ok) {
                throw new IllegalStateException("the seeded set-up no longer works: " + what);
            }
        }
    }

    @FuzzTest
    void receive(byte[] datagram) {
        verify(new World(), datagram);
    }

    /**
     * The same with B under load, where a handshake message needs a valid mac2 (else B answers
     * with a cookie reply) and passes a per-source rate limit.
     */
    @FuzzTest
    void receiveUnderLoad(byte[] datagram) {
        verify(new World(0), datagram);
    }

    private static void verify(World w, byte[] datagram) {
        if (datagram.length > 4000) {
            return; // larger than any buffer the device reads into
        }
        Counters counters = w.b.counters();
        long dropsBefore = counters.droppedTotal();
        w.deliver(datagram);
        Outcome out = w.out;
        assertThat(out.kind()).isNotNull();
        long drops = counters.droppedTotal() - dropsBefore;
        switch (out.kind()) {
            case DROP -> {
                assertThat(out.drop()).isNotNull();
                assertThat(drops).as("a drop is counted once").isEqualTo(1);
            }
            case DELIVER, CONTROL -> {
                assertThat(drops).isZero();
                assertThat(out.authenticated()).isTrue();
                assertThat(out.peer()).isIn(w.aAtB, w.cAtB);
                assertThat(out.offset()).isGreaterThanOrEqualTo(Protocol.TRANSPORT_CONTENT);
                assertThat(out.length()).isNotNegative();
                assertThat(out.offset() + out.length()).isLessThanOrEqualTo(datagram.length - Protocol.TAG_SIZE);
            }
            case REPLY -> {
                assertThat(out.reply().length).isIn(Protocol.RESPONSE_SIZE, Protocol.COOKIE_REPLY_SIZE);
                // A cookie reply stands in for the handshake it refuses, which counts as one drop.
                assertThat(drops).isEqualTo(out.reply().length == Protocol.COOKIE_REPLY_SIZE ? 1 : 0);
                if (out.reply().length == Protocol.RESPONSE_SIZE) {
                    assertThat(out.reply()[0]).isEqualTo((byte) Protocol.MESSAGE_RESPONSE);
                }
            }
            case NONE -> assertThat(drops).isZero();
        }
    }

    /**
     * The seed messages still take the paths they are there for; if the set-up above changes, they
     * must be written again ({@link #realMessages()} makes them).
     */
    @Test
    void seedsReachTheirPaths() throws IOException {
        expect("initiation", Outcome.Kind.REPLY);
        expect("response", Outcome.Kind.NONE);
        expect("cookie-reply", Outcome.Kind.NONE);
        expect("transport", Outcome.Kind.DELIVER);
    }

    private static void expect(String seed, Outcome.Kind kind) throws IOException {
        byte[] msg;
        try (InputStream in = WireGuardFuzzTest.class.getResourceAsStream("WireGuardFuzzTestInputs/receive/" + seed)) {
            assertThat(in).as("seed %s", seed).isNotNull();
            msg = in.readAllBytes();
        }
        World w = new World();
        w.deliver(msg);
        assertThat(w.out.kind()).as("seed %s: %s", seed, w.out.drop()).isEqualTo(kind);
        if (seed.equals("response")) {
            assertThat(w.cAtB.hasSession(w.pair.now)).isTrue();
        }
    }

    /** The real messages of the seed corpus, made in a world identical to the one each input meets. */
    static Map<String, byte[]> realMessages() {
        Map<String, byte[]> m = new LinkedHashMap<>();
        World w = new World();
        // A, restarted, initiates again: a later timestamp than B has seen.
        Peer bAtRestarted = w.pair.restartedA();
        assertThat(w.pair.seal(bAtRestarted, ipv4(1, 2, 10))).isNull();
        m.put("initiation", w.pair.poll(bAtRestarted));
        // C answers B's pending initiation...
        w.pair.offer(w.c, w.initiationToC);
        m.put("response", w.pair.reply());
        // ...or, under load, C asks for a cookie first (a C with no load threshold left).
        World loaded = new World();
        Node busy = new Node(loaded.keyC, new SplittableRandom(5), new Counters(), 0);
        Peer bAtBusy = busy.addPeer(loaded.b.publicKey(), null);
        assertThat(bAtBusy).isNotNull();
        loaded.pair.offer(busy, loaded.initiationToC);
        m.put("cookie-reply", loaded.pair.reply());
        // A data packet in A's established session.
        m.put("transport", w.pair.seal(w.pair.bAtA, ipv4(1, 2, 33)));
        return m;
    }

    /** Writes the seed corpus: {@code java ... WireGuardFuzzTest DIR}. */
    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        Files.createDirectories(dir);
        for (var e : realMessages().entrySet()) {
            if (e.getValue() == null) {
                throw new IllegalStateException("no " + e.getKey());
            }
            Files.write(dir.resolve(e.getKey()), e.getValue());
        }
    }
}
