package dev.patchcord.core.l2;

import dev.patchcord.core.Drop;

import java.nio.ByteBuffer;

/**
 * How an Ethernet frame travels inside a WireGuard transport message in patchcord's TAP mode:
 * a 2-byte big-endian length, then the frame. WireGuard pads plaintext to 16 bytes, and in TUN mode
 * the receiver trims the padding by the IP header's own length; an Ethernet frame carries no
 * length that covers every EtherType, so it carries one here. Both ends must be in TAP mode; a
 * stock WireGuard peer would see garbage and drop it.
 */
public final class TapFrames {
    private TapFrames() {}

    /** Bytes in front of the frame. */
    public static final int PREFIX = 2;
    /** Destination and source MAC addresses and the EtherType. */
    public static final int ETHERNET_HEADER = 14;
    /** An 802.1Q tag, which a frame of a VLAN on the TAP carries beyond the MTU. */
    public static final int VLAN_TAG = 4;

    /** Writes the length of the frame that follows {@code buf[off + PREFIX]}. */
    public static void writePrefix(ByteBuffer buf, int off, int frameLength) {
        buf.put(off, (byte) (frameLength >>> 8)).put(off + 1, (byte) frameLength);
    }

    /**
     * The length of the frame in a decrypted plaintext of {@code plain} bytes at {@code off}, or a
     * negative value (minus the ordinal of the {@link Drop} reason, minus one) if it is malformed.
     */
    public static int frameLength(ByteBuffer buf, int off, int plain) {
        if (plain < PREFIX + ETHERNET_HEADER) {
            return -(Drop.RUNT.ordinal() + 1);
        }
        int len = (buf.get(off) & 0xff) << 8 | (buf.get(off + 1) & 0xff);
        if (len < ETHERNET_HEADER || len > plain - PREFIX) {
            return -(Drop.MALFORMED.ordinal() + 1);
        }
        return len;
    }
}
