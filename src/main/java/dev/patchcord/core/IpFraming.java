package dev.patchcord.core;

import java.lang.foreign.MemorySegment;

/**
 * tinyvpn's wire format: each datagram carries raw IP packets. tinyvpn itself may glue several
 * packets into one datagram (it reads its TUN until empty), so a received datagram is split by the
 * packets' own length fields; anything after the last whole packet is dropped and counted. Sent
 * datagrams never exceed {@code maxDatagram} (1500 for tinyvpn, which receives into 1500 bytes).
 */
public final class IpFraming implements Framing {
    private final int maxDatagram;

    public IpFraming(int maxDatagram) {
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
            // tinyvpn receives into 1500 bytes: anything longer never came from a conforming peer.
            counters.drop(Drop.OVERSIZE);
            return false;
        }
        long off = 0;
        boolean delivered = false;
        while (off < len) {
            int remaining = (int) (len - off);
            int n = IpPackets.length(buf, off, remaining);
            if (n < 0) {
                counters.drop(IpPackets.reason(n));
                break;
            }
            sink.frame(buf, off, n);
            delivered = true;
            off += n;
        }
        return delivered;
    }
}
