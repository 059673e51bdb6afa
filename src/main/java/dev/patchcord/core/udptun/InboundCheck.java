package dev.patchcord.core.udptun;

import dev.patchcord.core.Drop;

import java.nio.ByteBuffer;

/**
 * Which datagrams from the network udptun would write to its TUN: exactly one IPv4 packet whose
 * total-length field equals the datagram length. udptun does not look at the version nibble; this
 * does, so that an IPv6 packet whose bytes happen to line up cannot slip through as IPv4.
 */
public final class InboundCheck {
    private InboundCheck() {}

    /** Returns null if the datagram of {@code len} bytes may be delivered, or why not. */
    public static Drop check(ByteBuffer buf, int len) {
        if (len == 0) {
            return Drop.EMPTY;
        }
        if (len < 20) {
            return Drop.RUNT;
        }
        if (((buf.get(0) >> 4) & 0xf) != 4) {
            return Drop.MALFORMED;
        }
        int total = (buf.get(2) & 0xff) << 8 | (buf.get(3) & 0xff);
        if (total < len) {
            return Drop.MALFORMED; // trailing bytes: not one packet
        }
        return total > len ? Drop.TRUNCATED : null;
    }
}
