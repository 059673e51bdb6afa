package dev.patchcord.core.wg;

import dev.patchcord.core.Drop;

import java.nio.ByteBuffer;
import java.util.Arrays;

import static dev.patchcord.core.wg.Protocol.*;

/**
 * One peer's side of the handshake: the secrets it is made with (the preshared key and the
 * static-static Diffie-Hellman result), the Noise state of the attempt in progress
 * ({@link #noise}), the guard against replayed and flooding initiations, and the four steps that
 * make or take a message (initiation and response, each way) plus the cookie reply.
 * A completed step installs its keypair in the peer's {@link Keypairs}.
 *
 * <p>Concurrency: everything here runs under the owning {@link Peer}'s monitor. The steps the
 * node calls for a received message ({@link #acceptInitiation}, {@link #createResponse},
 * {@link #acceptResponse}, {@link #consumeCookieReply}) take it themselves; the others expect the
 * caller to hold it. The two secrets are volatile: replaced under the monitor, read without it
 * by {@link Peer#presharedKey()}.
 */
final class PeerHandshake {
    private final Peer peer;
    private final Node node;
    /** The Noise state of the handshake in progress, if any. */
    final Handshake noise = new Handshake();
    volatile byte[] presharedKey;
    /** DH(our static, their static), computed once per static key; null if their key is invalid. */
    private volatile byte[] staticStatic;
    /** Newest accepted initiation timestamp (TAI64N) and when it was accepted, against replays and floods. */
    private byte[] lastTimestamp = new byte[Tai64n.SIZE];
    private long lastInitiationConsumed = PeerTimers.NEVER;

    PeerHandshake(Peer peer, byte[] presharedKey) {
        this.peer = peer;
        this.node = peer.node;
        this.presharedKey = presharedKey == null ? new byte[KEY_SIZE] : presharedKey.clone();
        this.staticStatic = computeStaticStatic(node.dh, node.identity, peer.publicKey);
    }

    /** DH(our static, their static), or null without a private key or for an invalid public key. */
    private static byte[] computeStaticStatic(Curve25519 dh, Identity local, byte[] remote) {
        return local == null ? null : dh.sharedSecret(local.privateKey, remote);
    }

    /** Replaces the preshared key and wipes the old one: handshakes read it under the lock, so none is using it. */
    void setPresharedKey(byte[] key) {
        byte[] old = presharedKey;
        presharedKey = key == null ? new byte[KEY_SIZE] : key.clone();
        Arrays.fill(old, (byte) 0);
    }

    /** Our static key changed (or went): the shared secret is computed again, the old one wiped. */
    void staticKeyChanged() {
        byte[] old = staticStatic;
        staticStatic = computeStaticStatic(node.dh, node.identity, peer.publicKey);
        wipe(old);
    }

    /** The peer is gone: wipes the secrets kept for its whole life, so a late handshake finds none and fails. */
    void forget() {
        byte[] ss = staticStatic;
        staticStatic = null;
        wipe(ss);
        Arrays.fill(presharedKey, (byte) 0);
    }

    private static void wipe(byte[] secret) {
        if (secret != null) {
            Arrays.fill(secret, (byte) 0);
        }
    }

    /** The newest accepted initiation timestamp (a copy), for a hand-over snapshot; caller holds the peer's lock. */
    byte[] lastTimestamp() {
        return lastTimestamp.clone();
    }

    /** When the newest initiation was accepted, or {@link PeerTimers#NEVER}; caller holds the peer's lock. */
    long lastInitiationConsumed() {
        return lastInitiationConsumed;
    }

    /**
     * Takes over the replay and flood guard of the same peer in another process: without it an
     * initiation recorded before the hand-over would be answered again after it.
     */
    void restoreGuard(byte[] timestamp, long consumed) {
        lastTimestamp = timestamp.clone();
        lastInitiationConsumed = consumed;
    }

    /** Forgets the attempt in progress and its index. */
    void abandon() {
        if (noise.state != Handshake.State.NONE) {
            node.indices.remove(noise.localIndex);
        }
        noise.clear();
    }

    /** Writes a new initiation to {@code buf[0..)}; 0 if none can be made (no private key, a bad peer key). */
    int createInitiation(ByteBuffer buf, long now, long epochNanos, boolean retry) {
        Identity local = node.identity;
        if (local == null) {
            return 0; // no private key: packets wait, staged, until one is set
        }
        PeerTimers timers = peer.timers;
        HandshakeEvents.Initiation why = retry ? HandshakeEvents.Initiation.RETRY
                : peer.hasSession(now) ? HandshakeEvents.Initiation.REKEY : HandshakeEvents.Initiation.NEW;
        if (noise.state != Handshake.State.NONE) {
            node.indices.remove(noise.localIndex);
        }
        int index = node.indices.add(peer);
        byte[] msg = new byte[INITIATION_SIZE];
        byte[] timestamp = Tai64n.of(Math.floorDiv(epochNanos, 1_000_000_000L), (int) Math.floorMod(epochNanos, 1_000_000_000L));
        if (!noise.createInitiation(node.dh, local, peer.publicKey, staticStatic, index, timestamp, node.rng, msg)) {
            node.indices.remove(index);
            noise.clear();
            return 0;
        }
        peer.macs.sign(msg, INIT_MAC1, now);
        timers.attempts = retry ? timers.attempts + 1 : 0;
        if (timers.unanswered < Integer.MAX_VALUE) {
            timers.unanswered++;
        }
        timers.lastInitiation = now;
        timers.handshakeInProgress = true;
        timers.jitter = node.rng.nextLong(REKEY_TIMEOUT_JITTER_MAX + 1);
        timers.authenticatedSent(now);
        peer.stats.handshakeSent(INITIATION_SIZE);
        buf.put(0, msg);
        node.events.initiationSent(peer, why, timers.attempts);
        return INITIATION_SIZE;
    }

    /** An initiation from this peer authenticated; decides whether to answer it (null: answer). */
    Drop acceptInitiation(Handshake.Initiation init, byte[] msg, long now) {
        synchronized (peer) {
            Handshake candidate = new Handshake();
            byte[] timestamp = candidate.openTimestamp(init, staticStatic, msg);
            if (timestamp == null) {
                return Drop.BAD_AUTH;
            }
            if (Tai64n.compare(timestamp, lastTimestamp) <= 0) {
                candidate.clear();
                return Drop.STALE_HANDSHAKE;
            }
            if (lastInitiationConsumed != PeerTimers.NEVER && now - lastInitiationConsumed < HANDSHAKE_INITIATION_RATE) {
                candidate.clear();
                return Drop.HANDSHAKE_FLOOD;
            }
            lastTimestamp = timestamp;
            lastInitiationConsumed = now;
            abandon();
            noise.state = candidate.state;
            noise.hash = candidate.hash;
            noise.chainingKey = candidate.chainingKey;
            noise.remoteEphemeral = candidate.remoteEphemeral;
            noise.remoteIndex = candidate.remoteIndex;
            peer.timers.authenticatedReceived(now);
            return null;
        }
    }

    /** Answers the consumed initiation: returns the response (MACs included), or null. */
    byte[] createResponse(long now, long epochNanos) {
        synchronized (peer) {
            int index = node.indices.add(peer);
            byte[] msg = new byte[RESPONSE_SIZE];
            if (!noise.createResponse(node.dh, peer.publicKey, presharedKey, index, node.rng, msg)) {
                node.indices.remove(index);
                noise.clear();
                return null;
            }
            peer.macs.sign(msg, RESP_MAC1, now);
            int remote = noise.remoteIndex;
            byte[][] keys = noise.deriveTransportKeys(false);
            peer.keypairs.responded(new Keypair(peer, keys[0], keys[1], index, remote, now, false));
            sessionDerived(now, epochNanos);
            peer.timers.authenticatedSent(now);
            peer.stats.handshakeSent(RESPONSE_SIZE);
            return msg;
        }
    }

    /** The response to our initiation arrived; returns null if it was consumed. */
    Drop acceptResponse(byte[] msg, long now, long epochNanos) {
        synchronized (peer) {
            int index = noise.localIndex;
            Identity local = node.identity;
            if (local == null) {
                return Drop.NO_PRIVATE_KEY;
            }
            if (!noise.consumeResponse(node.dh, local, presharedKey, msg)) {
                return Drop.BAD_AUTH;
            }
            int remote = noise.remoteIndex;
            byte[][] keys = noise.deriveTransportKeys(true);
            peer.keypairs.initiated(new Keypair(peer, keys[0], keys[1], index, remote, now, true));
            sessionDerived(now, epochNanos);
            PeerTimers timers = peer.timers;
            timers.handshakeInProgress = false;
            timers.attempts = 0;
            timers.authenticatedReceived(now);
            // Key confirmation for the responder, and the first data if any is waiting.
            peer.wantKeepalive = true;
            return null;
        }
    }

    private void sessionDerived(long now, long epochNanos) {
        peer.timers.sessionDerived = now;
        peer.timers.unanswered = 0;
        peer.timers.lastMinuteHandshakeSent = false;
        peer.stats.handshakeCompleted(epochNanos);
    }

    boolean consumeCookieReply(byte[] msg, long now) {
        synchronized (peer) {
            return noise.state == Handshake.State.INITIATION_CREATED && peer.macs.consumeCookieReply(msg, now);
        }
    }
}
