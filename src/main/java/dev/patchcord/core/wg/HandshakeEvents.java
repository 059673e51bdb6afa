package dev.patchcord.core.wg;

/**
 * What the handshakes of a {@link Node} do, told to whoever wants to know (the shell prints it
 * for {@code -d}). The core does no output of its own, so it calls these at each step and the
 * shell decides what to make of them; every method does nothing unless overridden, and
 * {@link #NONE} is the default, so an interface without {@code -d} pays one call to an empty
 * method per handshake message and nothing per packet.
 *
 * <p>The calls come from whichever thread moved the handshake on (the timer, a receiver, a
 * cipher thread), sometimes while the peer's lock is held: an implementation must be safe from
 * several threads, must not block for long, and must not call back into the node. Events of one
 * handshake arrive in the order they happened.
 */
public interface HandshakeEvents {
    /** Tells nobody. */
    HandshakeEvents NONE = new HandshakeEvents() {};

    /** Why an initiation goes out. */
    enum Initiation {
        /** There is no usable session: the first handshake, or one after a session expired. */
        NEW,
        /** A session exists and is being replaced (its age, its message count, a silent peer). */
        REKEY,
        /** The previous initiation of this attempt got no response within REKEY_TIMEOUT. */
        RETRY
    }

    /** Why a session is due for replacement. */
    enum Rekey {
        /** The initiator's session reached REKEY_AFTER_TIME. */
        AGE,
        /** The session used REKEY_AFTER_MESSAGES counters. */
        MESSAGES,
        /** Data still arrives on the initiator's session close to REJECT_AFTER_TIME. */
        EXPIRING
    }

    /**
     * An initiation to {@code peer} was made and handed to the shell to send.
     *
     * @param retries how many times this attempt has been retried, counting this one (0 unless
     *                {@code why} is {@link Initiation#RETRY})
     */
    default void initiationSent(Peer peer, Initiation why, int retries) {}

    /** An initiation from {@code peer} was authenticated and accepted. */
    default void initiationReceived(Peer peer) {}

    /** The response to {@code peer}'s initiation was made and handed to the shell to send. */
    default void responseSent(Peer peer) {}

    /** {@code peer}'s response to our initiation was authenticated and accepted. */
    default void responseReceived(Peer peer) {}

    /**
     * A new session with {@code peer} is in use: for the initiator when the response arrives, for
     * the responder when the first message under the new keys confirms them.
     */
    default void sessionEstablished(Peer peer, boolean initiator) {}

    /**
     * The current session with {@code peer} is due for replacement; an initiation follows (at most
     * one per REKEY_TIMEOUT). Told once per session for {@link Rekey#AGE} or {@link Rekey#MESSAGES},
     * whichever comes first, and once for {@link Rekey#EXPIRING}.
     */
    default void rekey(Peer peer, Rekey why) {}

    /** Tells {@code first}, then {@code second}, of every event. */
    static HandshakeEvents both(HandshakeEvents first, HandshakeEvents second) {
        return new HandshakeEvents() {
            @Override
            public void initiationSent(Peer peer, Initiation why, int retries) {
                first.initiationSent(peer, why, retries);
                second.initiationSent(peer, why, retries);
            }

            @Override
            public void initiationReceived(Peer peer) {
                first.initiationReceived(peer);
                second.initiationReceived(peer);
            }

            @Override
            public void responseSent(Peer peer) {
                first.responseSent(peer);
                second.responseSent(peer);
            }

            @Override
            public void responseReceived(Peer peer) {
                first.responseReceived(peer);
                second.responseReceived(peer);
            }

            @Override
            public void sessionEstablished(Peer peer, boolean initiator) {
                first.sessionEstablished(peer, initiator);
                second.sessionEstablished(peer, initiator);
            }

            @Override
            public void rekey(Peer peer, Rekey why) {
                first.rekey(peer, why);
                second.rekey(peer, why);
            }
        };
    }
}
