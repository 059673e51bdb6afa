package dev.patchcord.core.udptun;

import java.nio.ByteBuffer;

/**
 * The ICMP "destination host unreachable" (type 3, code 1) that udptun writes into its own TUN when
 * no table entry matches a packet's destination, so that local programs fail fast (ping prints
 * "Destination Host Unreachable") instead of waiting for a timeout. It never goes on the wire.
 * The shape copies udptun: source = the original destination, destination = the original source,
 * TTL 255, ID 0, no flags, and a body of 4 zero bytes plus the first min(28, length) bytes of the
 * original packet.
 */
public final class IcmpUnreachable {
    private IcmpUnreachable() {}

    /** The part of the original packet quoted: an IPv4 header and 8 bytes, as RFC 792 asks. */
    public static final int QUOTED = 28;
    private static final int IP_HEADER = 20, ICMP_HEADER = 8;

    /**
     * Builds the reply to the IPv4 packet of {@code len} (at least 20) bytes at {@code off}.
     *
     * @return a complete IPv4 packet
     */
    public static byte[] build(ByteBuffer packet, int off, int len) {
        int quoted = Math.min(QUOTED, len);
        int total = IP_HEADER + ICMP_HEADER + quoted;
        byte[] out = new byte[total];
        out[0] = 0x45;
        out[2] = (byte) (total >> 8);
        out[3] = (byte) total;
        out[8] = (byte) 255; // TTL
        out[9] = 1; // ICMP
        for (int i = 0; i < 4; i++) {
            out[12 + i] = packet.get(off + 16 + i); // from the address that could not be reached
            out[16 + i] = packet.get(off + 12 + i); // back to the sender
        }
        putChecksum(out, 10, 0, IP_HEADER);
        out[IP_HEADER] = 3; // destination unreachable
        out[IP_HEADER + 1] = 1; // host unreachable; bytes 4-7 (unused) stay zero
        for (int i = 0; i < quoted; i++) {
            out[IP_HEADER + ICMP_HEADER + i] = packet.get(off + i);
        }
        putChecksum(out, IP_HEADER + 2, IP_HEADER, total - IP_HEADER);
        return out;
    }

    /** The Internet checksum (RFC 1071) of {@code len} bytes at {@code off}; 0 when a stored checksum is right. */
    public static int checksum(byte[] b, int off, int len) {
        long sum = 0;
        for (int i = 0; i + 1 < len; i += 2) {
            sum += (b[off + i] & 0xff) << 8 | (b[off + i + 1] & 0xff);
        }
        if ((len & 1) != 0) {
            sum += (b[off + len - 1] & 0xff) << 8;
        }
        while ((sum >> 16) != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (int) (~sum & 0xffff);
    }

    private static void putChecksum(byte[] b, int at, int off, int len) {
        int c = checksum(b, off, len);
        b[at] = (byte) (c >> 8);
        b[at + 1] = (byte) c;
    }
}
