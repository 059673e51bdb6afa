package dev.patchcord.core.wg;

import dev.patchcord.core.Drop;

/**
 * What {@link Node#receive} decided about one datagram. One instance per receiving thread, reused
 * for every datagram, so deciding allocates nothing.
 */
public final class Outcome {
    public enum Kind {
        /** Nothing to deliver or answer (a keepalive, a consumed response or cookie). */
        NONE,
        /** A packet to write to the interface: {@link #offset} and {@link #length} in the buffer. */
        DELIVER,
        /** A message to send back to the datagram's source: {@link #reply}. */
        REPLY,
        /**
         * A well-formed control message from {@link #peer} ({@link ControlMessages}; address
         * assignment, docs/protocol.md): its bytes are at {@link #offset}, {@link #length} (padding
         * included), for the shell to decode. Never an IP packet, so it passed no allowed-IPs
         * check: the shell decides.
         */
        CONTROL,
        /** Dropped for {@link #drop}. */
        DROP
    }

    public Kind kind;
    public Peer peer;
    public int offset;
    public int length;
    public Drop drop;
    public byte[] reply;
    /**
     * The datagram authenticated as coming from {@link #peer}: its source address is where the
     * peer is now (roaming).
     */
    public boolean authenticated;

    void reset() {
        kind = Kind.NONE;
        peer = null;
        offset = 0;
        length = 0;
        drop = null;
        reply = null;
        authenticated = false;
    }

    Outcome drop(Drop reason) {
        kind = Kind.DROP;
        drop = reason;
        return this;
    }
}
