package dev.patchcord.core.wg;

import static dev.patchcord.core.wg.Protocol.*;

/**
 * WireGuard's per-peer timers (whitepaper section 6), kept as time stamps rather than OS timers:
 * events record when things happened, and {@link Peer#tick} compares them with the current time.
 * Deterministic, and testable with any clock.
 */
final class PeerTimers {
    static final long NEVER = Long.MIN_VALUE;

    /** Any authenticated packet sent (transport or handshake): cancels the passive keepalive. */
    volatile long lastSent = NEVER;
    /** Any authenticated packet received: cancels the new-handshake timer. */
    volatile long lastReceived = NEVER;
    /** First data packet sent since we last heard from the peer (arms "new handshake"). */
    volatile long dataSentUnanswered = NEVER;
    /** First data packet received since we last sent anything (arms "send keepalive"). */
    volatile long dataReceivedUnanswered = NEVER;
    /** When the last session was derived (arms "zero key material"). */
    long sessionDerived = NEVER;
    /** When our last initiation went out, and how many retries this attempt has had. */
    long lastInitiation = NEVER;
    int attempts;
    boolean handshakeInProgress;
    /**
     * Initiations sent since a handshake last completed. Unlike {@link #attempts}, new traffic does
     * not reset it (a packet to send starts the attempt afresh, as in the kernel and wireguard-go),
     * so it says how long the path has gone unanswered even while packets keep coming.
     */
    int unanswered;
    /** Random extra wait before the next retransmission (0-334 ms), so peers do not march in step. */
    long jitter;
    /** Set once the initiator has asked for its last-minute rekey on receive, reset per session. */
    boolean lastMinuteHandshakeSent;

    void authenticatedSent(long now) {
        lastSent = now;
        if (dataReceivedUnanswered != NEVER) {
            dataReceivedUnanswered = NEVER;
        }
    }

    void dataSent(long now) {
        if (dataSentUnanswered == NEVER) {
            dataSentUnanswered = now;
        }
    }

    void authenticatedReceived(long now) {
        lastReceived = now;
        if (dataSentUnanswered != NEVER) {
            dataSentUnanswered = NEVER;
        }
    }

    void dataReceived(long now) {
        if (dataReceivedUnanswered == NEVER) {
            dataReceivedUnanswered = now;
        }
    }

    static boolean elapsed(long since, long now, long duration) {
        return since != NEVER && now - since >= duration;
    }

    /** Whether persistent keepalive is due: {@code interval} since the last packet either way. */
    boolean persistentKeepaliveDue(long now, long interval) {
        if (interval <= 0) {
            return false;
        }
        long last = Math.max(lastSent, lastReceived);
        return last == NEVER || now - last >= interval;
    }

    boolean retransmitDue(long now) {
        return handshakeInProgress && elapsed(lastInitiation, now, REKEY_TIMEOUT + jitter);
    }
}
