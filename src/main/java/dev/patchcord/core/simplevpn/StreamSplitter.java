package dev.patchcord.core.simplevpn;

import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;

import java.nio.ByteBuffer;

/**
 * Cuts simplevpn's TCP stream back into what was written: raw IP packets and 20-byte control
 * messages, back to back, with no framing of their own. Each one says its own length: an IPv4
 * packet in its total-length field, an IPv6 packet in its payload length plus the 40-byte header,
 * and a control message is an IPv4-shaped header whose total length is 0 (see
 * {@link ControlMessage}).
 *
 * <p>The original reads "whatever is available" and treats it as one packet, which breaks as soon
 * as TCP splits or merges writes; patchcord keeps the partial tail of each read and continues it
 * with the next. Sans-IO: the caller reads from its socket straight into {@link #inbound()} and
 * then calls {@link #split}; nothing is copied and nothing is allocated per packet.
 *
 * <p>Because there is no framing, there is no way back into step once the stream stops making sense
 * (a version nibble that is neither 4 nor 6, an IPv4 total length below 20 or a wrong IPv4 header
 * checksum, a packet longer than the limit): the rest of the stream is garbage. That is counted
 * once, {@code malformed} or {@code oversize}, and {@link #split} returns false so that the caller
 * closes the connection.
 */
public final class StreamSplitter {
    /** The largest IP packet an IPv4 header can describe; also the cap on IPv6 packets here. */
    public static final int MAX_PACKET = 65535;

    /** Where decoded items go. The buffer is the splitter's: read it absolutely and do not keep it. */
    public interface Sink {
        /** One whole IPv4 or IPv6 packet of {@code len} bytes at {@code off}. */
        void packet(ByteBuffer buf, int off, int len);

        /** One {@link ControlMessage#SIZE}-byte control message at {@code off}. */
        void control(ByteBuffer buf, int off);
    }

    private final ByteBuffer storage;
    private final int maxPacket;
    /** Bytes {@code [start, end)} of {@link #storage} have been received but not yet delivered. */
    private int start;
    private int end;
    private boolean desynchronised;

    /**
     * @param storage the receive buffer, used whole (position and limit are ignored); a direct buffer
     *                lets packets go from the socket to a device without a copy. It must hold at
     *                least one packet of {@code maxPacket} bytes.
     * @param maxPacket the longest packet accepted (at most {@link #MAX_PACKET})
     */
    public StreamSplitter(ByteBuffer storage, int maxPacket) {
        if (maxPacket < ControlMessage.SIZE || maxPacket > MAX_PACKET) {
            throw new IllegalArgumentException("maxPacket " + maxPacket + " is out of range (20-65535)");
        }
        if (storage.capacity() < maxPacket) {
            throw new IllegalArgumentException("a buffer of " + storage.capacity()
                    + " bytes cannot hold a packet of " + maxPacket);
        }
        this.storage = storage;
        this.maxPacket = maxPacket;
    }

    public StreamSplitter(ByteBuffer storage) {
        this(storage, MAX_PACKET);
    }

    /** Forgets everything received, for a new connection. */
    public void reset() {
        start = 0;
        end = 0;
        desynchronised = false;
    }

    /** Bytes received and kept because the item they start is not complete yet. */
    public int pending() {
        return end - start;
    }

    /**
     * A copy of the {@link #pending} bytes: the start of an item whose rest has not arrived, for a
     * reader that hands the stream to another process, which {@link #feed feeds} them first.
     */
    public byte[] pendingBytes() {
        byte[] copy = new byte[end - start];
        storage.get(start, copy);
        return copy;
    }

    /** True once garbage was seen; every later {@link #split} returns false until {@link #reset}. */
    public boolean desynchronised() {
        return desynchronised;
    }

    /** The whole buffer, for making a device-side view of it once. */
    public ByteBuffer storage() {
        return storage;
    }

    /**
     * The buffer to read into, positioned after the pending bytes with the limit at its end. Pass the
     * number of bytes read to {@link #split}. Pending bytes are moved to the front only when the room
     * left behind them is too small for a whole packet, so that costs little.
     */
    public ByteBuffer inbound() {
        if (start == end) {
            start = end = 0;
        } else if (storage.capacity() - end < maxPacket && start > 0) {
            int n = end - start;
            storage.limit(end).position(start);
            storage.compact(); // moves the overlapping range safely, as a memmove
            start = 0;
            end = n;
        }
        return storage.limit(storage.capacity()).position(end);
    }

    /**
     * Accounts for {@code bytesRead} new bytes written at {@link #inbound()}'s position and hands
     * every complete item to {@code sink}, in stream order.
     *
     * @return false if the stream is desynchronised (counted here): close the connection
     */
    public boolean split(int bytesRead, Sink sink, Counters counters) {
        if (bytesRead < 0 || bytesRead > storage.capacity() - end) {
            throw new IllegalArgumentException("read of " + bytesRead + " bytes does not fit after " + end);
        }
        end += bytesRead;
        if (desynchronised) {
            return false;
        }
        while (true) {
            int available = end - start;
            if (available < 1) {
                return true;
            }
            int first = storage.get(start) & 0xff;
            int version = first >> 4;
            int length;
            if (version == 4) {
                if (available < 4) {
                    return true;
                }
                length = be16(start + 2);
                if (length == 0) {
                    if (available < ControlMessage.SIZE) {
                        return true;
                    }
                    sink.control(storage, start);
                    start += ControlMessage.SIZE;
                    continue;
                }
                int headerLength = (first & 0xf) * 4;
                if (length < 20 || headerLength < 20 || headerLength > length) {
                    return lose(counters, Drop.MALFORMED);
                }
                if (available < headerLength) {
                    return true;
                }
                if (!checksumValid(start, headerLength)) {
                    return lose(counters, Drop.MALFORMED);
                }
            } else if (version == 6) {
                if (available < 6) {
                    return true;
                }
                length = 40 + be16(start + 4);
            } else {
                return lose(counters, Drop.MALFORMED);
            }
            if (length > maxPacket) {
                return lose(counters, Drop.OVERSIZE);
            }
            if (available < length) {
                return true;
            }
            sink.packet(storage, start, length);
            start += length;
        }
    }

    /**
     * Copies bytes in and splits them, in as many rounds as the buffer needs; for tests and for
     * data that arrived elsewhere (as a reply read with a time-out).
     *
     * @return false if the stream is desynchronised
     */
    public boolean feed(byte[] bytes, int off, int len, Sink sink, Counters counters) {
        while (len > 0) {
            ByteBuffer in = inbound();
            int n = Math.min(len, in.remaining());
            in.put(in.position(), bytes, off, n);
            if (!split(n, sink, counters)) {
                return false;
            }
            off += n;
            len -= n;
        }
        return !desynchronised;
    }

    private boolean lose(Counters counters, Drop reason) {
        desynchronised = true;
        counters.drop(reason);
        start = end;
        return false;
    }

    /**
     * The IPv4 header checksum. Every packet a TUN interface hands out carries a correct one (the
     * kernel computes it in software, even for raw sockets that write their own header), so a wrong
     * one means these bytes are not the start of a packet. Without it, text that happens to start
     * with a byte from 0x45 to 0x4f (an HTTP "GET" does) would pass for a packet of whatever length
     * its third and fourth bytes spell, and swallow the stream.
     */
    private boolean checksumValid(int off, int headerLength) {
        int sum = 0;
        for (int i = 0; i < headerLength; i += 2) {
            sum += be16(off + i);
        }
        while (sum > 0xffff) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return sum == 0xffff;
    }

    private int be16(int off) {
        return (storage.get(off) & 0xff) << 8 | (storage.get(off + 1) & 0xff);
    }
}
