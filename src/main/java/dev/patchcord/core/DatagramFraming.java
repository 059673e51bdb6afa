package dev.patchcord.core;

import java.nio.ByteBuffer;

/**
 * A framing whose datagrams carry at most {@code maxDatagram} bytes and are never empty; the
 * subclass decides how a datagram within those bounds becomes frames.
 */
abstract class DatagramFraming implements Framing {
    private final int maxDatagram;

    DatagramFraming(int maxDatagram) {
        this.maxDatagram = maxDatagram;
    }

    @Override
    public final Drop checkOutgoing(int len) {
        if (len == 0) {
            return Drop.EMPTY;
        }
        return len > maxDatagram ? Drop.OVERSIZE : null;
    }

    @Override
    public final int maxFrame() {
        return maxDatagram;
    }

    @Override
    public final boolean splitIncoming(ByteBuffer buf, int off, int len, Sink sink, Counters counters) {
        Drop d = checkOutgoing(len);
        if (d != null) {
            // The peer cannot have sent this legitimately: it receives into maxDatagram bytes too.
            counters.drop(d);
            return false;
        }
        return deliver(buf, off, len, sink, counters);
    }

    /** Delivers the frames of a datagram of 1 to {@code maxDatagram} bytes at {@code buf[off, off + len)}. */
    abstract boolean deliver(ByteBuffer buf, int off, int len, Sink sink, Counters counters);
}
