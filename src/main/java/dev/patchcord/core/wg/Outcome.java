package dev.patchcord.core.wg;

import dev.patchcord.core.Drop;

/**
 * What {@link Node#receive} (or {@link Node#prepareOpen} and {@link Node#completeOpen}) decided
 * about one datagram. One instance per receiving thread, reused for every datagram, so deciding
 * allocates nothing.
 *
 * <p>Only the node writes it, and each of its writers sets a whole valid combination at once, so
 * a reader never sees a {@link Kind#DELIVER} without its bytes or a reply without its kind. The
 * combinations:
 * <ul>
 * <li>{@link Kind#NONE}: nothing to do; {@link #peer} is set if the datagram was a keepalive, a
 *     consumed response (both {@link #authenticated}) or a consumed cookie reply (not).
 * <li>{@link Kind#DELIVER}, {@link Kind#CONTROL}: {@link #peer}, {@link #offset},
 *     {@link #length}, always {@link #authenticated}.
 * <li>{@link Kind#REPLY}: {@link #reply}; with {@link #peer} and {@link #authenticated} when it
 *     answers an initiation, without when it is a cookie reply to an unverified source.
 * <li>{@link Kind#DROP}: {@link #drop}; with {@link #peer} and {@link #authenticated} when the
 *     datagram was authenticated before it was refused (the shell still roams the peer).
 * </ul>
 */
public final class Outcome {
    public enum Kind {
        /** Nothing to deliver or answer (a keepalive, a consumed response or cookie). */
        NONE,
        /** A packet to write to the interface: {@link #offset()} and {@link #length()} in the buffer. */
        DELIVER,
        /** A message to send back to the datagram's source: {@link #reply()}. */
        REPLY,
        /**
         * A well-formed control message from {@link #peer()} ({@link ControlMessages}; address
         * assignment, docs/protocol.md): its bytes are at {@link #offset()}, {@link #length()}
         * (padding included), for the shell to decode. Never an IP packet, so it passed no
         * allowed-IPs check: the shell decides.
         */
        CONTROL,
        /** Dropped for {@link #drop()}. */
        DROP
    }

    private Kind kind = Kind.NONE;
    private Peer peer;
    private int offset;
    private int length;
    private Drop drop;
    private byte[] reply;
    private boolean authenticated;

    public Kind kind() {
        return kind;
    }

    /** The peer the datagram came from, where the node knows it (see the class comment); else null. */
    public Peer peer() {
        return peer;
    }

    /** Where the packet or control message starts in the buffer: {@link Kind#DELIVER} and {@link Kind#CONTROL} only. */
    public int offset() {
        assert kind == Kind.DELIVER || kind == Kind.CONTROL : kind;
        return offset;
    }

    /** The packet's or control message's length: {@link Kind#DELIVER} and {@link Kind#CONTROL} only. */
    public int length() {
        assert kind == Kind.DELIVER || kind == Kind.CONTROL : kind;
        return length;
    }

    /** Why the datagram was dropped: set for {@link Kind#DROP}, null for every other kind. */
    public Drop drop() {
        return drop;
    }

    /** The message to send back: set for {@link Kind#REPLY}, null for every other kind. */
    public byte[] reply() {
        return reply;
    }

    /**
     * The datagram authenticated as coming from {@link #peer()}: its source address is where the
     * peer is now (roaming). Meaningful for every kind.
     */
    public boolean authenticated() {
        return authenticated;
    }

    private void set(Kind kind, Peer peer, int offset, int length, Drop drop, byte[] reply, boolean authenticated) {
        this.kind = kind;
        this.peer = peer;
        this.offset = offset;
        this.length = length;
        this.drop = drop;
        this.reply = reply;
        this.authenticated = authenticated;
    }

    /** Nothing decided yet, or nothing to do for an unknown source. */
    void none() {
        set(Kind.NONE, null, 0, 0, null, null, false);
    }

    /** Nothing to do, but the message was {@code peer}'s: a keepalive, a response, a cookie reply. */
    void consumed(Peer peer, boolean authenticated) {
        set(Kind.NONE, peer, 0, 0, null, null, authenticated);
    }

    /** An authenticated packet from {@code peer} to write to the interface. */
    void deliver(Peer peer, int offset, int length) {
        set(Kind.DELIVER, peer, offset, length, null, null, true);
    }

    /** An authenticated, well-formed control message from {@code peer}. */
    void control(Peer peer, int offset, int length) {
        set(Kind.CONTROL, peer, offset, length, null, null, true);
    }

    /** A message for a source not (yet) authenticated: a cookie reply. */
    void reply(byte[] message) {
        set(Kind.REPLY, null, 0, 0, null, message, false);
    }

    /** The response to {@code peer}'s authenticated initiation. */
    void reply(Peer peer, byte[] message) {
        set(Kind.REPLY, peer, 0, 0, null, message, true);
    }

    /** Dropped before it could be authenticated. */
    void drop(Drop reason) {
        set(Kind.DROP, null, 0, 0, reason, null, false);
    }

    /** Dropped although it authenticated as {@code peer}'s (a packet its allowed IPs refuse, a bad control message). */
    void drop(Peer peer, Drop reason) {
        set(Kind.DROP, peer, 0, 0, reason, null, true);
    }
}
