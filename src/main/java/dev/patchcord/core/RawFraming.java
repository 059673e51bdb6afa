package dev.patchcord.core;

import java.nio.ByteBuffer;

/**
 * tinyvpn's stdio mode: a datagram is whatever bytes the peer sent, delivered as they are. Empty
 * datagrams (which tinyvpn floods after its stdin closes) are dropped and counted.
 */
public final class RawFraming extends DatagramFraming {

    public RawFraming(int maxDatagram) {
        super(maxDatagram);
    }

    @Override
    boolean deliver(ByteBuffer buf, int off, int len, Sink sink, Counters counters) {
        sink.frame(buf, off, len);
        return true;
    }
}
