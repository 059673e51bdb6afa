package dev.patchcord.tools;

import dev.patchcord.core.Counters;
import dev.patchcord.core.wg.Curve25519;
import dev.patchcord.core.wg.DataCipher;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Outcome;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.core.wg.Protocol;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.random.RandomGenerator;

/**
 * Many peers a responder knows, each a real initiator of the protocol core (a {@link Node} with
 * the responder as its one {@link Peer}), for the handshake-rate flood ({@link HandshakeFlood}).
 * Each initiation is a complete, valid one (a fresh ephemeral key, the static key and a TAI64N
 * timestamp encrypted to the responder, MAC1, and MAC2 once the responder gave a cookie), so the
 * responder pays a whole handshake for each it answers.
 *
 * <p>Replies are classified, not completed: a response is counted when it is addressed to the
 * sender index of an initiation still outstanding (checking it would cost this side two more
 * Diffie-Hellman operations, and the responder does not wait for it); a cookie reply is handed to
 * the initiator it answers, which keeps the cookie and signs its next initiation with MAC2, as a
 * real peer under a loaded responder does.
 *
 * <p>Concurrency: one thread makes initiations ({@link #initiation}) while another classifies
 * replies ({@link #reply}); each core peer takes its own monitor.
 */
final class KnownPeers {
    /** What a received datagram was. */
    enum Reply {
        /** A handshake response to an outstanding initiation. */
        RESPONSE,
        /** A cookie reply the initiator it answers took in (its next initiation carries MAC2). */
        COOKIE,
        /** A cookie reply for an outstanding initiation that did not authenticate. */
        COOKIE_REFUSED,
        /** A response or cookie reply for no outstanding initiation (a late one, or a duplicate). */
        UNMATCHED,
        /** Anything else. */
        OTHER
    }

    private final Node[] nodes;
    private final Peer[] responders;
    /** Sender index of each outstanding initiation, to the key that sent it. */
    private final Map<Integer, Integer> outstanding = new ConcurrentHashMap<>();
    /** Each key's newest sender index (written by the sending thread only). */
    private final int[] newest;
    private final boolean[] sentAny;
    /** The sending thread's (the core's poll wants one, for staged packets; there are none). */
    private final DataCipher sendCipher = new DataCipher();
    /** The receiving side's, guarded by {@link #replyCopy}. */
    private final DataCipher replyCipher = new DataCipher();
    private final Outcome out = new Outcome();
    private final ByteBuffer replyCopy = ByteBuffer.allocate(Protocol.COOKIE_REPLY_SIZE);

    /**
     * @param privateKeys one per peer the responder knows (32 bytes each)
     * @param dh          the X25519 engine the initiators use (the native one keeps this side
     *                    ahead of the responder)
     */
    KnownPeers(List<byte[]> privateKeys, byte[] responderPublicKey, Curve25519 dh, RandomGenerator rng) {
        int n = privateKeys.size();
        if (n == 0) {
            throw new IllegalArgumentException("no keys");
        }
        nodes = new Node[n];
        responders = new Peer[n];
        newest = new int[n];
        sentAny = new boolean[n];
        for (int k = 0; k < n; k++) {
            nodes[k] = new Node(privateKeys.get(k), rng, new Counters(), Node.DEFAULT_LOAD_THRESHOLD, dh);
            responders[k] = nodes[k].addPeer(responderPublicKey, null);
        }
    }

    int size() {
        return nodes.length;
    }

    /** What does the initiators' X25519. */
    String curveEngine() {
        return nodes[0].curveEngine();
    }

    /**
     * Writes key {@code k}'s next initiation to {@code buf[0, 148)} (the position is not moved);
     * the key's previous initiation is no longer outstanding. The responder accepts an initiation
     * only if its timestamp (from {@code epochNanos}, resolution about 17 ms) is newer than the
     * last it took from that key and at least 20 ms after it: the caller spaces each key's
     * initiations further apart than that.
     *
     * @return whether the initiation carries MAC2 (a cookie from the responder)
     */
    boolean initiation(int k, ByteBuffer buf, long now, long epochNanos) {
        Peer peer = responders[k];
        // Never a session (responses are not consumed), so the core always makes a new attempt.
        peer.initiateNow();
        int n = peer.poll(buf, now, epochNanos, sendCipher);
        if (n != Protocol.INITIATION_SIZE || buf.get(0) != Protocol.MESSAGE_INITIATION) {
            throw new IllegalStateException("the core made no initiation for key " + k + " (" + n + " bytes)");
        }
        int index = u32(buf, Protocol.INIT_SENDER);
        if (sentAny[k]) {
            outstanding.remove(newest[k], k);
        }
        newest[k] = index;
        sentAny[k] = true;
        outstanding.put(index, k);
        for (int i = Protocol.INIT_MAC2; i < Protocol.INIT_MAC2 + Protocol.MAC_SIZE; i++) {
            if (buf.get(i) != 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * What a datagram was, and for a response or cookie reply to an outstanding initiation, the
     * key that sent it and the initiation's sender index; else key -1.
     */
    record Answer(Reply reply, int key, int index) {
        static final Answer OTHER = new Answer(Reply.OTHER, -1, 0);
        static final Answer UNMATCHED = new Answer(Reply.UNMATCHED, -1, 0);
    }

    /** Classifies the {@code len}-byte datagram at {@code buf[0]}; a cookie reply is consumed. */
    Answer reply(ByteBuffer buf, int len, long now, long epochNanos) {
        if (len < 12) {
            return Answer.OTHER;
        }
        int type = u32(buf, 0);
        if (type == Protocol.MESSAGE_RESPONSE && len == Protocol.RESPONSE_SIZE) {
            // A response counts once: a duplicate (or one for an initiation since replaced) does not.
            int index = u32(buf, Protocol.RESP_RECEIVER);
            Integer k = outstanding.remove(index);
            return k == null ? Answer.UNMATCHED : new Answer(Reply.RESPONSE, k, index);
        }
        if (type == Protocol.MESSAGE_COOKIE_REPLY && len == Protocol.COOKIE_REPLY_SIZE) {
            int index = u32(buf, Protocol.COOKIE_RECEIVER);
            Integer k = outstanding.get(index);
            if (k == null) {
                return Answer.UNMATCHED;
            }
            synchronized (replyCopy) {
                replyCopy.clear().put(0, buf, 0, len);
                nodes[k].receive(replyCopy, 0, len, () -> new byte[0], now, epochNanos, replyCipher, out);
                return new Answer(out.kind() == Outcome.Kind.DROP ? Reply.COOKIE_REFUSED : Reply.COOKIE, k, index);
            }
        }
        return Answer.OTHER;
    }

    /** The sender index of key {@code k}'s newest initiation (for the sending thread). */
    int newest(int k) {
        return newest[k];
    }

    /** Initiations sent that neither a response nor a newer initiation of their key has closed. */
    int outstanding() {
        return outstanding.size();
    }

    private static int u32(ByteBuffer b, int off) {
        return (b.get(off) & 0xff) | (b.get(off + 1) & 0xff) << 8 | (b.get(off + 2) & 0xff) << 16
                | (b.get(off + 3) & 0xff) << 24;
    }
}
