package dev.patchcord.core.udptun;

import dev.patchcord.core.Checksum;
import dev.patchcord.core.IcmpErrors;

import java.nio.ByteBuffer;

/**
 * The ICMP "destination host unreachable" (type 3, code 1) that udptun writes into its own TUN when
 * no table entry matches a packet's destination, so that local programs fail fast (ping prints
 * "Destination Host Unreachable") instead of waiting for a timeout. It never goes on the wire.
 * The shape copies udptun: source = the original destination, destination = the original source,
 * TTL 255, ID 0, no flags, and a body of 4 zero bytes plus the first min(28, length) bytes of the
 * original packet; udptun answers every packet so, whatever it is. ({@link IcmpErrors} builds it,
 * and builds WireGuard mode's answers, which follow the kernel instead.)
 */
public final class IcmpUnreachable {
    private IcmpUnreachable() {}

    /** The part of the original packet quoted: an IPv4 header and 8 bytes, as RFC 792 asks. */
    public static final int QUOTED = 28;
    private static final int IP_HEADER = 20, ICMP_HEADER = 8, TTL = 255;

    /**
     * Builds the reply to the IPv4 packet of {@code len} (at least 20) bytes at {@code off}.
     *
     * @return a complete IPv4 packet
     */
    public static byte[] build(ByteBuffer packet, int off, int len) {
        byte[] out = new byte[IP_HEADER + ICMP_HEADER + Math.min(QUOTED, len)];
        IcmpErrors.hostUnreachableV4(packet, off, len, ByteBuffer.wrap(out), 0, TTL, QUOTED);
        return out;
    }

    /** The Internet checksum (RFC 1071) of {@code len} bytes at {@code off}; 0 when a stored checksum is right. */
    public static int checksum(byte[] b, int off, int len) {
        return Checksum.finish(Checksum.sum(ByteBuffer.wrap(b), off, len, 0));
    }
}
