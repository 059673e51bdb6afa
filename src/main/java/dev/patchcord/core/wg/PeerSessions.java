package dev.patchcord.core.wg;

import java.util.Arrays;

import static dev.patchcord.core.wg.Protocol.REJECT_AFTER_TIME;

/**
 * Takes a {@link Peer}'s sessions out into a {@link SessionState}, and puts one back into the
 * same peer of another process: each part of the peer in turn (keypairs, timers, handshake
 * guard, counters, staged packets). Both run under the peer's monitor, which the caller holds.
 */
final class PeerSessions {
    private PeerSessions() {}

    /** What {@link Peer#exportSession} returns; the peer itself is left as it was. */
    static SessionState export(Peer peer, long now) {
        SessionState s = new SessionState();
        s.publicKey = peer.publicKey.clone();
        Keypairs keypairs = peer.keypairs;
        exportKeypair(s, SessionState.CURRENT, keypairs.current, now);
        exportKeypair(s, SessionState.NEXT, keypairs.next, now);
        exportKeypair(s, SessionState.PREVIOUS, keypairs.previous(), now);

        PeerTimers t = peer.timers;
        s.lastSent = SessionState.age(t.lastSent, now);
        s.lastReceived = SessionState.age(t.lastReceived, now);
        s.dataSentUnanswered = SessionState.age(t.dataSentUnanswered, now);
        s.dataReceivedUnanswered = SessionState.age(t.dataReceivedUnanswered, now);
        s.sessionDerived = SessionState.age(t.sessionDerived, now);
        s.lastInitiation = SessionState.age(t.lastInitiation, now);
        s.attempts = t.attempts;
        s.unanswered = t.unanswered;
        s.jitter = t.jitter;
        s.handshakeInProgress = t.handshakeInProgress;
        s.lastMinuteHandshakeSent = t.lastMinuteHandshakeSent;
        s.wantInitiation = peer.wantInitiation;
        s.initiationRetry = peer.initiationRetry;
        s.wantKeepalive = peer.wantKeepalive;

        s.lastTimestamp = peer.handshake.lastTimestamp();
        s.lastInitiationConsumed = SessionState.age(peer.handshake.lastInitiationConsumed(), now);

        PeerStats stats = peer.stats;
        s.rxBytes = stats.rxBytes();
        s.txBytes = stats.txBytes();
        s.rxPackets = stats.rxPackets();
        s.txPackets = stats.txPackets();
        s.lastHandshakeEpochNanos = stats.lastHandshakeEpochNanos();

        s.staged.addAll(peer.staged().copies());
        return s;
    }

    /** A keypair that can still seal or open, in its slot; a wiped or expired one stays behind. */
    private static void exportKeypair(SessionState s, int slot, Keypair kp, long now) {
        if (kp == null || kp.destroyed() || kp.expired(now)) {
            return;
        }
        byte[] send = kp.sendKey.getEncoded();
        byte[] receive = kp.receiveKey.getEncoded();
        if (send == null || receive == null) {
            // Wiped between the check and the copy: as good as expired.
            Handshake.wipe(send, receive);
            return;
        }
        SessionState.Session x = new SessionState.Session();
        x.slot = slot;
        x.sendKey = send;
        x.receiveKey = receive;
        x.sendCounter = kp.sendCounter.get();
        x.replayLast = kp.replay.last();
        x.replayRing = kp.replay.ring();
        x.localIndex = kp.localIndex;
        x.remoteIndex = kp.remoteIndex;
        x.age = now - kp.created;
        x.initiator = kp.initiator;
        x.rekeyRequested = kp.rekeyRequested;
        s.sessions.add(x);
    }

    /**
     * Replaces the peer's sessions with those of {@code s}, re-based on {@code now}. A keypair
     * whose local index this node already uses elsewhere is left out and counted
     * ({@link Node#sessionsNotImported()}): the other one's messages must keep finding theirs.
     * {@code s} is left as it was; its keys are copied.
     */
    static void restore(Peer peer, SessionState s, long now) {
        if (!Arrays.equals(s.publicKey, peer.publicKey)) {
            throw new IllegalArgumentException("the session state is another peer's");
        }
        Node node = peer.node;
        peer.zeroKeys();
        Keypair[] slots = new Keypair[SessionState.SLOTS];
        for (SessionState.Session x : s.sessions) {
            if (x.age >= REJECT_AFTER_TIME) {
                continue; // expired while it was on its way: it could neither seal nor open
            }
            Keypair kp = new Keypair(peer, x.sendKey.clone(), x.receiveKey.clone(), x.localIndex, x.remoteIndex,
                    now - x.age, x.initiator);
            kp.sendCounter.set(x.sendCounter);
            kp.replay.restore(x.replayRing, x.replayLast);
            kp.rekeyRequested = x.rekeyRequested;
            if (!node.indices.claim(x.localIndex, kp)) {
                kp.destroy();
                node.sessionNotImported();
                continue;
            }
            slots[x.slot] = kp;
        }
        peer.keypairs.restore(slots[SessionState.CURRENT], slots[SessionState.NEXT], slots[SessionState.PREVIOUS]);

        PeerTimers t = peer.timers;
        t.lastSent = SessionState.at(s.lastSent, now);
        t.lastReceived = SessionState.at(s.lastReceived, now);
        t.dataSentUnanswered = SessionState.at(s.dataSentUnanswered, now);
        t.dataReceivedUnanswered = SessionState.at(s.dataReceivedUnanswered, now);
        t.sessionDerived = SessionState.at(s.sessionDerived, now);
        t.lastInitiation = SessionState.at(s.lastInitiation, now);
        t.attempts = s.attempts;
        t.unanswered = s.unanswered;
        t.jitter = s.jitter;
        t.handshakeInProgress = s.handshakeInProgress;
        t.lastMinuteHandshakeSent = s.lastMinuteHandshakeSent;
        peer.wantInitiation = s.wantInitiation;
        peer.initiationRetry = s.initiationRetry;
        peer.wantKeepalive = s.wantKeepalive;
        if (s.handshakeInProgress) {
            // Its Noise state stayed behind, so its response cannot be taken here: start again at
            // once rather than wait out the retransmission timer.
            peer.requestInitiation(true);
        }

        peer.handshake.restoreGuard(s.lastTimestamp, SessionState.at(s.lastInitiationConsumed, now));
        peer.stats.restore(s.rxBytes, s.txBytes, s.rxPackets, s.txPackets, s.lastHandshakeEpochNanos);
        Staging staged = peer.staged();
        for (byte[] p : s.staged) {
            staged.restore(p.clone());
        }
    }
}
