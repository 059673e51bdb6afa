package dev.patchcord.core.wg;

import java.nio.ByteBuffer;

import static dev.patchcord.core.wg.Protocol.*;

/**
 * What sealing and opening transport messages does to one peer: the message's header and
 * padding on the way out; on both ways the timers, the transfer counters, and the rekeys that
 * the age or the count of a session call for; on the way in, the confirmation that promotes a
 * responder's session to current.
 *
 * <p>Concurrency: this is the data path, called by any number of threads at once without a lock.
 * It touches only what is safe so: the session's atomic counter (taken by the caller), the
 * volatile timers, the lock-free {@link PeerStats}. Whatever changes the peer's guarded state
 * (asking for an initiation, rotating the keypairs) briefly takes the owning {@link Peer}'s
 * monitor, after a check without it that is false in the common case.
 */
final class PeerTransport {
    private final Peer peer;

    PeerTransport(Peer peer) {
        this.peer = peer;
    }

    /** Plaintext is padded to a multiple of 16, but never past the MTU (whitepaper 5.4.6). */
    static int paddedLength(int len, int mtu) {
        int padded = (len + PADDING_MULTIPLE - 1) & -PADDING_MULTIPLE;
        return len <= mtu && padded > mtu ? mtu : padded;
    }

    /**
     * Frames the {@code len}-byte packet at {@code buf[base + 16]} as message {@code counter}
     * under {@code kp} and makes {@code job} ready to encrypt it.
     *
     * @return the message's length
     */
    int prepare(Keypair kp, long counter, ByteBuffer buf, int base, int len, long now, CryptoJob job) {
        Node node = peer.node;
        PeerTimers timers = peer.timers;
        int padded = paddedLength(len, node.mtu());
        int content = base + TRANSPORT_CONTENT;
        for (int i = len; i < padded; i++) {
            buf.put(content + i, (byte) 0);
        }
        Wire.u32(buf, base, MESSAGE_TRANSPORT);
        Wire.u32(buf, base + TRANSPORT_RECEIVER, kp.remoteIndex);
        Wire.u64(buf, base + TRANSPORT_COUNTER, counter);
        job.forSeal(buf, base, kp.sendKey, counter, padded);
        timers.authenticatedSent(now);
        if (len > 0) {
            timers.dataSent(now);
        }
        peer.stats.transportSent(TRANSPORT_CONTENT + padded + TAG_SIZE);
        // Rekey once REKEY_AFTER_MESSAGES counters have been used, as wireguard-go and the kernel do.
        boolean manyMessages = Long.compareUnsigned(counter, REKEY_AFTER_MESSAGES) >= 0;
        if (manyMessages || kp.initiator && now - kp.created >= REKEY_AFTER_TIME) {
            synchronized (peer) {
                // Every packet from here on asks again until the new session is in; told once.
                if (!kp.rekeyRequested) {
                    kp.rekeyRequested = true;
                    node.events.rekey(peer, manyMessages ? HandshakeEvents.Rekey.MESSAGES : HandshakeEvents.Rekey.AGE);
                }
                peer.requestInitiation(false);
            }
        }
        return TRANSPORT_CONTENT + padded + TAG_SIZE;
    }

    /** A transport message under {@code kp} authenticated: rotate on key confirmation, run timers. */
    void received(Keypair kp, int messageLength, boolean data, long now) {
        Node node = peer.node;
        PeerTimers timers = peer.timers;
        Keypairs keypairs = peer.keypairs;
        if (kp == keypairs.next) {
            boolean confirmed;
            synchronized (peer) {
                confirmed = keypairs.confirm(kp);
            }
            if (confirmed) {
                node.events.sessionEstablished(peer, false);
            }
        }
        peer.stats.transportReceived(messageLength);
        timers.authenticatedReceived(now);
        if (data) {
            timers.dataReceived(now);
        }
        Keypair cur = keypairs.current;
        if (cur != null && cur.initiator && !timers.lastMinuteHandshakeSent
                && now - cur.created >= REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT) {
            boolean first = false;
            synchronized (peer) {
                if (!timers.lastMinuteHandshakeSent) {
                    timers.lastMinuteHandshakeSent = true;
                    peer.requestInitiation(false);
                    first = true;
                }
            }
            if (first) {
                node.events.rekey(peer, HandshakeEvents.Rekey.EXPIRING);
            }
        }
    }
}
