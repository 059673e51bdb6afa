package dev.patchcord.core.wg;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The transport keys one handshake produced: a sending key with its counter, a receiving key with
 * its replay window, and the two indices that name this session on the wire.
 *
 * <p>The two keys are wiped ({@link #destroy()}) when the session is retired or expires; a packet
 * still in flight under a wiped key fails to seal or open and is dropped, never sent under a
 * zero key.
 */
public final class Keypair {
    final SessionKey sendKey;
    final SessionKey receiveKey;
    final AtomicLong sendCounter = new AtomicLong();
    final ReplayWindow replay = new ReplayWindow();
    /** The index the peer puts in messages to us (we chose it). */
    final int localIndex;
    /** The index we put in messages to the peer (it chose it). */
    final int remoteIndex;
    /** Monotonic time of derivation, for REKEY_AFTER_TIME and REJECT_AFTER_TIME. */
    final long created;
    /** Whether we initiated the handshake; only the initiator rekeys on age. */
    final boolean initiator;
    final Peer peer;
    /** Whether a rekey was asked for while sealing under this session; guarded by the peer's lock. */
    boolean rekeyRequested;

    Keypair(Peer peer, byte[] send, byte[] receive, int localIndex, int remoteIndex, long created, boolean initiator) {
        this.peer = peer;
        this.sendKey = new SessionKey(send);
        this.receiveKey = new SessionKey(receive);
        // SessionKey keeps its own copy; the derived arrays are not needed any more.
        java.util.Arrays.fill(send, (byte) 0);
        java.util.Arrays.fill(receive, (byte) 0);
        this.localIndex = localIndex;
        this.remoteIndex = remoteIndex;
        this.created = created;
        this.initiator = initiator;
    }

    boolean expired(long now) {
        return now - created >= Protocol.REJECT_AFTER_TIME;
    }

    /** Wipes both keys; the session can neither send nor receive any more. Idempotent. */
    void destroy() {
        sendKey.destroy();
        receiveKey.destroy();
    }

    boolean destroyed() {
        return sendKey.isDestroyed();
    }

    /** Whether both keys are all zeros now (tests of the wipe). */
    boolean keysAreZero() {
        return sendKey.isZero() && receiveKey.isZero();
    }

    public int localIndex() {
        return localIndex;
    }

    public Peer peer() {
        return peer;
    }
}
