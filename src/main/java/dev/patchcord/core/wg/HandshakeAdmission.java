package dev.patchcord.core.wg;

import dev.patchcord.core.Drop;

import static dev.patchcord.core.wg.Protocol.*;

/**
 * The node's door for handshake messages (initiations, responses, cookie replies): the DoS
 * defences first (MAC1 always; under load MAC2, answered with a cookie when it is missing, and
 * the per-source rate limit), then the peer the message is for, whose {@link PeerHandshake} takes
 * it. Handshake messages are rare and dear (each costs Diffie-Hellman operations), so this path
 * copies them out of the buffer and may allocate.
 *
 * <p>Concurrency: any number of receiving threads at once. The cookie checker is volatile,
 * replaced under the node's monitor when the private key changes; the load meter and the rate
 * limiter are thread-safe; a peer's steps take that peer's monitor.
 */
final class HandshakeAdmission {
    private final Node node;
    private volatile CookieChecker cookies;
    private final LoadMeter load;
    private final RateLimiter limiter = new RateLimiter();

    HandshakeAdmission(Node node, Identity identity, int loadThreshold) {
        this.node = node;
        this.load = new LoadMeter(loadThreshold);
        privateKeyChanged(identity);
    }

    /** Cookies are made with our public key; none at all without a private key. */
    void privateKeyChanged(Identity identity) {
        cookies = identity == null ? null : new CookieChecker(identity, node.rng);
    }

    /**
     * MAC1 always; under load also MAC2 (else answer with a cookie) and the per-source rate limit.
     * Returns false when the message must not be processed further.
     */
    private boolean admit(byte[] msg, int mac1Offset, int senderIndex, Node.Source source, long now, Outcome out) {
        CookieChecker cookies = this.cookies;
        if (cookies == null) {
            // No private key: nobody can have MACed a message to us, and there is nothing to answer with.
            out.drop(Drop.NO_PRIVATE_KEY);
            return false;
        }
        if (!cookies.mac1Valid(msg, mac1Offset)) {
            out.drop(Drop.BAD_MAC);
            return false;
        }
        if (!load.hit(now)) {
            return true;
        }
        byte[] src = source.bytes();
        if (!cookies.mac2Valid(msg, mac1Offset, src, now)) {
            out.reply(cookies.reply(msg, mac1Offset, senderIndex, src, now));
            node.counters.drop(Drop.COOKIE_SENT);
            return false;
        }
        if (!limiter.allow(src, now)) {
            out.drop(Drop.RATE_LIMITED);
            return false;
        }
        return true;
    }

    void initiation(byte[] msg, Node.Source source, long now, long epochNanos, Outcome out) {
        if (!admit(msg, INIT_MAC1, Wire.u32(msg, INIT_SENDER), source, now, out)) {
            return;
        }
        Identity id = node.identity;
        if (id == null) {
            out.drop(Drop.NO_PRIVATE_KEY); // removed since admit()
            return;
        }
        Handshake.Initiation init = Handshake.openStatic(node.dh, id, msg);
        if (init == null) {
            out.drop(Drop.BAD_AUTH);
            return;
        }
        Peer peer = node.peer(init.peerPublicKey());
        if (peer == null) {
            out.drop(Drop.UNKNOWN_PEER);
            return;
        }
        Drop refused = peer.handshake.acceptInitiation(init, msg, now);
        if (refused != null) {
            out.drop(refused);
            return;
        }
        // Counted once authenticated and accepted, whether or not the answer can be made.
        peer.stats.handshakeReceived(INITIATION_SIZE);
        HandshakeEvents ev = node.events;
        ev.initiationReceived(peer);
        byte[] response = peer.handshake.createResponse(now, epochNanos);
        if (response == null) {
            out.drop(Drop.BAD_AUTH);
            return;
        }
        ev.responseSent(peer);
        out.reply(peer, response);
    }

    void response(byte[] msg, Node.Source source, long now, long epochNanos, Outcome out) {
        if (!admit(msg, RESP_MAC1, Wire.u32(msg, RESP_SENDER), source, now, out)) {
            return;
        }
        if (!(node.indices.get(Wire.u32(msg, RESP_RECEIVER)) instanceof Peer peer)) {
            out.drop(Drop.UNKNOWN_INDEX);
            return;
        }
        Drop refused = peer.handshake.acceptResponse(msg, now, epochNanos);
        if (refused != null) {
            out.drop(refused);
            return;
        }
        peer.stats.handshakeReceived(RESPONSE_SIZE);
        HandshakeEvents ev = node.events;
        ev.responseReceived(peer);
        ev.sessionEstablished(peer, true);
        out.consumed(peer, true);
    }

    void cookieReply(byte[] msg, long now, Outcome out) {
        if (!(node.indices.get(Wire.u32(msg, COOKIE_RECEIVER)) instanceof Peer peer)) {
            out.drop(Drop.UNKNOWN_INDEX);
            return;
        }
        if (!peer.handshake.consumeCookieReply(msg, now)) {
            out.drop(Drop.BAD_AUTH);
            return;
        }
        out.consumed(peer, false);
    }
}
