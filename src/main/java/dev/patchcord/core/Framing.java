package dev.patchcord.core;

import java.nio.ByteBuffer;

/**
 * How a plain (unencrypted) mode maps local frames to datagrams and back. Pure logic: it looks at
 * bytes and lengths, never at sockets or devices, and reports drops to the caller's counters.
 */
public interface Framing {

    /** Receives each frame that a datagram yields. */
    interface Sink {
        void frame(ByteBuffer buf, int off, int len);
    }

    /** Returns null if a frame of {@code len} bytes read locally may be sent, or why not. */
    Drop checkOutgoing(int len);

    /** The longest frame this framing sends or accepts, so a reader can size its buffers. */
    int maxFrame();

    /**
     * Splits a received datagram of {@code len} bytes into the frames to deliver locally, passing
     * each to {@code sink} and counting whatever is dropped.
     *
     * @return true if at least one frame was delivered (the datagram was well-formed enough to
     *         count as coming from a peer)
     */
    default boolean splitIncoming(ByteBuffer buf, int len, Sink sink, Counters counters) {
        return splitIncoming(buf, 0, len, sink, counters);
    }

    /**
     * As {@link #splitIncoming(ByteBuffer, int, Sink, Counters)} for a datagram at
     * {@code buf[off, off + len)}, one of several that UDP GRO put in one buffer.
     */
    boolean splitIncoming(ByteBuffer buf, int off, int len, Sink sink, Counters counters);
}
