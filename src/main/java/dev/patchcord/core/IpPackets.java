package dev.patchcord.core;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/** Just enough of IPv4 and IPv6 to find where a packet ends. */
public final class IpPackets {
    private IpPackets() {}

    public static final int IPV4_HEADER = 20;
    public static final int IPV6_HEADER = 40;
    private static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    /** The IP version nibble of the packet at {@code off}. */
    public static int version(MemorySegment buf, long off) {
        return (buf.get(JAVA_BYTE, off) >> 4) & 0xf;
    }

    /**
     * The length the packet at {@code off} claims, from its own header, given that {@code available}
     * bytes follow. Returns a negative {@link Drop} ordinal if no packet can be read there:
     * {@code -(RUNT.ordinal()+1)} for too few bytes for a header, {@code MALFORMED} for a bad
     * version or contradictory lengths, {@code TRUNCATED} for a packet longer than what is there.
     */
    public static int length(MemorySegment buf, long off, int available) {
        if (available < 1) {
            return fail(Drop.RUNT);
        }
        int version = version(buf, off);
        int total;
        if (version == 4) {
            if (available < IPV4_HEADER) {
                return fail(Drop.RUNT);
            }
            int ihl = (buf.get(JAVA_BYTE, off) & 0xf) * 4;
            total = Short.toUnsignedInt(buf.get(BE16, off + 2));
            if (ihl < IPV4_HEADER || total < ihl) {
                return fail(Drop.MALFORMED);
            }
        } else if (version == 6) {
            if (available < IPV6_HEADER) {
                return fail(Drop.RUNT);
            }
            total = IPV6_HEADER + Short.toUnsignedInt(buf.get(BE16, off + 4));
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
