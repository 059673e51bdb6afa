package dev.patchcord.core;

import java.nio.ByteBuffer;

/**
 * tap2tap's wire format: one raw Ethernet frame per datagram, no header. Frames are not padded
 * (an ARP reply is 42 bytes), so the only lower bound is the 14-byte Ethernet header. The upper
 * bound is the MTU plus the header plus one 802.1Q tag; longer frames are dropped whole, never cut.
 */
public final class EthernetFraming implements Framing {
    public static final int HEADER = 14;
    public static final int VLAN_TAG = 4;
    private final int maxFrame;

    public EthernetFraming(int mtu) {
        this.maxFrame = mtu + HEADER + VLAN_TAG;
    }

    @Override
    public int maxFrame() {
        return maxFrame;
    }

    private Drop check(int len) {
        if (len == 0) {
            return Drop.EMPTY;
        }
        if (len < HEADER) {
            return Drop.RUNT;
        }
        return len > maxFrame ? Drop.OVERSIZE : null;
    }

    @Override
    public Drop checkOutgoing(int len) {
        return check(len);
    }

    @Override
    public boolean splitIncoming(ByteBuffer buf, int off, int len, Sink sink, Counters counters) {
        Drop d = check(len);
        if (d != null) {
            counters.drop(d);
            return false;
        }
        sink.frame(buf, off, len);
        return true;
    }
}
