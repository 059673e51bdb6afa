package dev.patchcord.tools;

import dev.patchcord.core.Counters;
import dev.patchcord.core.wg.DataCipher;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Outcome;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.core.wg.Protocol;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Hostile WireGuard traffic for the denial-of-service tests, at a bounded rate and for a bounded
 * count and time, built with patchcord's own protocol code so that it is exactly what a
 * responder must withstand:
 *
 * <ul>
 *   <li><b>initiations</b>: well-formed handshake initiations with a valid MAC1 for the
 *       responder's public key, each from a different random (so unknown) static key. A responder
 *       not under load pays a Diffie-Hellman for each; under load it must answer with cookie
 *       replies, and this side (which never uses the cookies) never gets past them.</li>
 *   <li><b>transports</b>: transport messages with a random receiver index, counter and
 *       content, as an off-path attacker can send.</li>
 *   <li><b>forged</b>: transport messages that name a real session of the responder (this side
 *       first completes one handshake with a key the responder knows) but whose content and tag
 *       are random, as an on-path attacker who saw the index can send.</li>
 * </ul>
 *
 * Replies are counted by message type; nothing received is acted on.
 */
public final class Flood {
    /** Distinct initiations prepared in advance (each costs four X25519 operations to make). */
    private static final int INITIATION_POOL = 256;
    private static final int MAX_TRANSPORT = 1420;

    private Flood() {}

    /** What to send. Counts are upper bounds; {@code limit} ends the flood earlier if reached first. */
    public record Plan(InetSocketAddress target, byte[] responderPublicKey, long initiations, long transports,
                       long forged, byte[] knownPrivateKey, int perSecond, Duration limit) {
        public Plan {
            if (perSecond <= 0 || perSecond > 100_000) {
                throw new IllegalArgumentException("the rate must be between 1 and 100000 messages a second");
            }
            if (limit.isNegative() || limit.compareTo(Duration.ofMinutes(10)) > 0) {
                throw new IllegalArgumentException("a flood lasts at most 10 minutes");
            }
            if (forged > 0 && knownPrivateKey == null) {
                throw new IllegalArgumentException("forged messages need the private key of a peer the responder knows");
            }
        }
    }

    /** What was sent, and what came back (by WireGuard message type). */
    public record Report(long initiations, long transports, long forged, long cookieReplies, long responses,
                         long otherReplies, double seconds) {
        @Override
        public String toString() {
            return String.format("initiations=%d transports=%d forged=%d cookie-replies=%d responses=%d other=%d seconds=%.3f",
                    initiations, transports, forged, cookieReplies, responses, otherReplies, seconds);
        }
    }

    public static Report run(Plan plan) throws IOException {
        SecureRandom secure = new SecureRandom();
        SplittableRandom fast = new SplittableRandom(secure.nextLong());
        StandardProtocolFamily family = plan.target().getAddress() instanceof java.net.Inet6Address
                ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET;
        try (DatagramChannel ch = DatagramChannel.open(family)) {
            ch.connect(plan.target());
            Session session = plan.forged() > 0 ? handshake(ch, plan, secure) : null;
            byte[][] initiations = plan.initiations() > 0 ? initiations(plan.responderPublicKey(), secure) : new byte[0][];

            AtomicLong cookies = new AtomicLong(), responses = new AtomicLong(), other = new AtomicLong();
            Thread reader = Thread.ofVirtual().start(() -> countReplies(ch, cookies, responses, other));

            ByteBuffer buf = ByteBuffer.allocate(MAX_TRANSPORT + 64);
            byte[] scratch = new byte[MAX_TRANSPORT];
            long sentInit = 0, sentTransport = 0, sentForged = 0;
            long total = plan.initiations() + plan.transports() + plan.forged();
            long start = System.nanoTime();
            long deadline = start + plan.limit().toNanos();
            long interval = 1_000_000_000L / plan.perSecond();
            for (long i = 0; i < total; i++) {
                long due = start + i * interval;
                long now = System.nanoTime();
                if (now - deadline >= 0 || due - deadline >= 0) {
                    break;
                }
                if (due - now > 0) {
                    LockSupport.parkNanos(due - now);
                }
                // Round-robin over the kinds that still have messages left, so a flood of
                // several kinds mixes them from the start.
                int kind = (int) (i % 3);
                for (int k = 0; k < 3; k++, kind = (kind + 1) % 3) {
                    if (kind == 0 && sentInit < plan.initiations()
                            || kind == 1 && sentTransport < plan.transports()
                            || kind == 2 && sentForged < plan.forged()) {
                        break;
                    }
                }
                buf.clear();
                switch (kind) {
                    case 0 -> buf.put(initiations[(int) (sentInit++ % initiations.length)]);
                    case 1 -> {
                        randomTransport(buf, fast, scratch);
                        sentTransport++;
                    }
                    default -> {
                        session.forge(buf, fast);
                        sentForged++;
                    }
                }
                buf.flip();
                try {
                    ch.write(buf);
                } catch (PortUnreachableException e) {
                    // Nothing listens there for the moment (an ICMP error came back): keep going.
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            // Replies to the last messages are still on their way: give them a moment.
            LockSupport.parkNanos(Duration.ofMillis(300).toNanos());
            reader.interrupt();
            ch.close();
            try {
                reader.join(Duration.ofSeconds(2));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return new Report(sentInit, sentTransport, sentForged, cookies.get(), responses.get(), other.get(), seconds);
        }
    }

    /** Initiations from {@link #INITIATION_POOL} random static keys, each MAC'd for the responder. */
    private static byte[][] initiations(byte[] responderPublicKey, SecureRandom rng) {
        byte[][] pool = new byte[INITIATION_POOL][];
        ByteBuffer buf = ByteBuffer.allocate(Protocol.INITIATION_SIZE + 64);
        DataCipher cipher = new DataCipher();
        for (int i = 0; i < pool.length; i++) {
            Node sender = new Node(randomKey(rng), rng, new Counters(), Node.DEFAULT_LOAD_THRESHOLD);
            Peer responder = sender.addPeer(responderPublicKey, null);
            responder.initiateNow();
            int n = responder.poll(buf.clear(), System.nanoTime(), System.currentTimeMillis() * 1_000_000L, cipher);
            if (n != Protocol.INITIATION_SIZE) {
                throw new IllegalArgumentException("cannot make an initiation for this public key (an invalid key?)");
            }
            pool[i] = new byte[n];
            buf.get(0, pool[i]);
        }
        return pool;
    }

    /** A transport message of random size, index, counter and content (written over {@code scratch}). */
    private static void randomTransport(ByteBuffer buf, SplittableRandom rng, byte[] scratch) {
        int len = Protocol.MIN_TRANSPORT_SIZE + 16 * rng.nextInt((MAX_TRANSPORT - Protocol.MIN_TRANSPORT_SIZE) / 16 + 1);
        rng.nextBytes(scratch);
        scratch[0] = Protocol.MESSAGE_TRANSPORT;
        scratch[1] = scratch[2] = scratch[3] = 0;
        buf.put(scratch, 0, len);
    }

    /** A real session with the responder, used only to learn a receiver index it will look up. */
    private record Session(Peer peer, DataCipher cipher) {
        /** A transport message for the session's index with a fresh counter and random content and tag. */
        void forge(ByteBuffer buf, SplittableRandom rng) {
            int plain = 16 * (1 + rng.nextInt(64));
            int len = peer.seal(buf.clear(), 0, plain, System.nanoTime(), cipher);
            if (len <= 0) {
                throw new IllegalStateException("the session with the responder ended; cannot forge more");
            }
            for (int i = Protocol.TRANSPORT_CONTENT; i < len; i++) {
                buf.put(i, (byte) rng.nextInt(256));
            }
            buf.position(len);
        }
    }

    /** Completes one handshake as the peer whose private key is given (bounded: 5 tries, 1 s apart). */
    private static Session handshake(DatagramChannel ch, Plan plan, SecureRandom rng) throws IOException {
        Node self = new Node(plan.knownPrivateKey(), rng, new Counters(), Node.DEFAULT_LOAD_THRESHOLD);
        Peer responder = self.addPeer(plan.responderPublicKey(), null);
        DataCipher cipher = new DataCipher();
        Outcome out = new Outcome();
        ByteBuffer buf = ByteBuffer.allocate(2048);
        for (int attempt = 0; attempt < 5; attempt++) {
            responder.initiateNow();
            int n = responder.poll(buf.clear(), System.nanoTime(), System.currentTimeMillis() * 1_000_000L, cipher);
            ch.write(buf.limit(n));
            long until = System.nanoTime() + 1_000_000_000L;
            int len;
            while ((len = receive(ch, buf.clear(), until)) > 0) {
                // A response makes the session; a cookie reply (a responder under load) is taken
                // in and makes the next attempt carry MAC2.
                self.receive(buf, 0, len, () -> new byte[0], System.nanoTime(), System.currentTimeMillis() * 1_000_000L,
                        cipher, out);
                if (responder.hasSession(System.nanoTime())) {
                    return new Session(responder, cipher);
                }
            }
        }
        throw new IOException("no handshake with the responder within 5 attempts");
    }

    /** Reads one datagram before {@code until} (non-blocking polls), or returns -1. */
    private static int receive(DatagramChannel ch, ByteBuffer in, long until) throws IOException {
        ch.configureBlocking(false);
        try {
            while (System.nanoTime() < until) {
                if (ch.read(in) > 0) {
                    return in.position();
                }
                LockSupport.parkNanos(1_000_000);
            }
            return -1;
        } finally {
            ch.configureBlocking(true);
        }
    }

    private static void countReplies(DatagramChannel ch, AtomicLong cookies, AtomicLong responses, AtomicLong other) {
        ByteBuffer in = ByteBuffer.allocate(2048);
        try {
            while (!Thread.currentThread().isInterrupted()) {
                in.clear();
                try {
                    ch.read(in);
                } catch (PortUnreachableException e) {
                    continue;
                }
                switch (in.position() >= 4 ? in.get(0) : -1) {
                    case Protocol.MESSAGE_COOKIE_REPLY -> cookies.incrementAndGet();
                    case Protocol.MESSAGE_RESPONSE -> responses.incrementAndGet();
                    default -> other.incrementAndGet();
                }
            }
        } catch (IOException e) {
            // The channel was closed at the end of the flood.
        }
    }

    private static byte[] randomKey(SecureRandom rng) {
        byte[] k = new byte[Protocol.KEY_SIZE];
        rng.nextBytes(k);
        return k;
    }
}
