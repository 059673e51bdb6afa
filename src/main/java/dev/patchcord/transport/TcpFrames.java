package dev.patchcord.transport;

import dev.patchcord.core.wg.Protocol;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Finds the whole messages in bytes read from a WireGuard-over-TCP connection ({@link TcpLink}'s
 * framing: a 2-byte big-endian length, then the message). A read may end anywhere, inside the
 * length or the message; what follows the last whole frame stays where it is for the reader to
 * keep and complete with the next read.
 *
 * <p>The stream is checked as it is cut: a frame too short or too long for a WireGuard message,
 * or one that does not start with a WireGuard message type (1 to 4, as a little-endian u32 whose
 * reserved bytes are zero), means the stream is not WireGuard framing or has lost its place in
 * it; nothing after that can be trusted, so the connection is to be closed.
 *
 * <p>One per reader; nothing is allocated per scan.
 */
public final class TcpFrames {
    /** {@link #scan}: the bytes are not WireGuard framing. */
    public static final int BAD = -1;
    /** Frames found per scan at most (the rest are found by the next scan, without a read). */
    public static final int MAX_FRAMES = 256;
    /** The length prefix. */
    public static final int HEADER = 2;
    /** The smallest WireGuard message: a transport message with an empty payload (a keepalive). */
    public static final int MIN_MESSAGE = Protocol.MIN_TRANSPORT_SIZE;

    private static final ValueLayout.OfShort LENGTH =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt TYPE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final int maxMessage;
    private final int[] offsets = new int[MAX_FRAMES];
    private final int[] lengths = new int[MAX_FRAMES];
    private int count;

    /** @param maxMessage the longest message accepted (at most {@link TcpLink#MAX_MESSAGE}) */
    public TcpFrames(int maxMessage) {
        if (maxMessage < MIN_MESSAGE || maxMessage > TcpLink.MAX_MESSAGE) {
            throw new IllegalArgumentException("maxMessage " + maxMessage);
        }
        this.maxMessage = maxMessage;
    }

    /**
     * Finds the whole frames in {@code buf[from, to)}, up to {@link #MAX_FRAMES}: afterwards
     * {@link #count()} messages, message i at {@code buf[offset(i), offset(i) + length(i))}.
     *
     * @return where the first frame not taken starts (a partial frame, or more than
     *         {@link #MAX_FRAMES}; {@code to} if every byte was taken), or {@link #BAD}
     */
    public int scan(MemorySegment buf, int from, int to) {
        count = 0;
        int at = from;
        while (count < MAX_FRAMES && to - at >= HEADER) {
            int len = Short.toUnsignedInt(buf.get(LENGTH, at));
            if (len < MIN_MESSAGE || len > maxMessage) {
                count = 0;
                return BAD;
            }
            int body = at + HEADER;
            if (to - body >= Integer.BYTES) {
                int type = buf.get(TYPE, body);
                if (type < Protocol.MESSAGE_INITIATION || type > Protocol.MESSAGE_TRANSPORT) {
                    count = 0;
                    return BAD;
                }
            }
            if (to - body < len) {
                break; // the rest of this frame comes with a later read
            }
            offsets[count] = body;
            lengths[count] = len;
            count++;
            at = body + len;
        }
        return at;
    }

    /** Messages the last {@link #scan} found. */
    public int count() {
        return count;
    }

    /** Where message i starts. */
    public int offset(int i) {
        return offsets[i];
    }

    /** Message i's length. */
    public int length(int i) {
        return lengths[i];
    }
}
