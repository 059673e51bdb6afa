package dev.patchcord.core;

import java.nio.ByteBuffer;

/**
 * tinyvpn's wire format: each datagram carries raw IP packets. tinyvpn itself may glue several
 * packets into one datagram (it reads its TUN until empty), so a received datagram is split by the
 * packets' own length fields; anything after the last whole packet is dropped and counted. Sent
 * datagrams never exceed {@code maxDatagram} (1500 for tinyvpn, which receives into 1500 bytes).
 */
public final class IpFraming extends DatagramFraming {

    public IpFraming(int maxDatagram) {
        super(maxDatagram);
    }

    @Override
    boolean deliver(ByteBuffer buf, int start, int len, Sink sink, Counters counters) {
        int off = start;
        int end = start + len;
        boolean delivered = false;
        while (off < end) {
            int n = IpPackets.length(buf, off, end - off);
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
