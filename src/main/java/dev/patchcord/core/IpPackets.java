package dev.patchcord.core;

import java.nio.ByteBuffer;

/** Just enough of IPv4 and IPv6 to find where a packet ends. */
public final class IpPackets {
    private IpPackets() {}

    public static final int IPV4_HEADER = 20;
    public static final int IPV6_HEADER = 40;
    /** The IP version nibble of the packet at {@code off}. */
    public static int version(ByteBuffer buf, int off) {
        return (buf.get(off) >> 4) & 0xf;
    }

    /** Network byte order, whatever the buffer's own order is. */
    private static int be16(ByteBuffer buf, int off) {
        return (buf.get(off) & 0xff) << 8 | (buf.get(off + 1) & 0xff);
    }

    /**
     * The length the packet at {@code off} claims, from its own header, given that {@code available}
     * bytes follow. Returns a negative {@link Drop} ordinal if no packet can be read there:
     * {@code -(RUNT.ordinal()+1)} for too few bytes for a header, {@code MALFORMED} for a bad
     * version or contradictory lengths, {@code TRUNCATED} for a packet longer than what is there.
     */
    public static int length(ByteBuffer buf, int off, int available) {
        if (available < 1) {
            return fail(Drop.RUNT);
        }
        int version = version(buf, off);
        int total;
        if (version == 4) {
            if (available < IPV4_HEADER) {
                return fail(Drop.RUNT);
            }
            int ihl = (buf.get(off) & 0xf) * 4;
            total = be16(buf, off + 2);
            if (ihl < IPV4_HEADER || total < ihl) {
                return fail(Drop.MALFORMED);
            }
        } else if (version == 6) {
            if (available < IPV6_HEADER) {
                return fail(Drop.RUNT);
            }
            total = IPV6_HEADER + be16(buf, off + 4);
        } else {
            return fail(Drop.MALFORMED);
        }
        return total > available ? fail(Drop.TRUNCATED) : total;
    }

    private static int fail(Drop d) {
        return -(d.ordinal() + 1);
    }

    /** The {@link Drop} that a negative result of {@link #length} stands for. */
    public static Drop reason(int negative) {
        return Drop.values()[-negative - 1];
    }
}
