package dev.patchcord.core;

import java.lang.foreign.MemorySegment;

/**
 * tinyvpn's stdio mode: a datagram is whatever bytes the peer sent, delivered as they are. Empty
 * datagrams (which tinyvpn floods after its stdin closes) are dropped and counted.
 */
public final class RawFraming implements Framing {
    private final int maxDatagram;

    public RawFraming(int maxDatagram) {
        this.maxDatagram = maxDatagram;
    }

    @Override
    public Drop checkOutgoing(int len) {
        if (len == 0) {
            return Drop.EMPTY;
        }
        return len > maxDatagram ? Drop.OVERSIZE : null;
    }

    @Override
    public boolean splitIncoming(MemorySegment buf, int len, Sink sink, Counters counters) {
        if (len == 0) {
            counters.drop(Drop.EMPTY);
            return false;
        }
        if (len > maxDatagram) {
            counters.drop(Drop.OVERSIZE);
            return false;
        }
        sink.frame(buf, 0, len);
        return true;
    }
}
