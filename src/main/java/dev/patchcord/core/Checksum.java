package dev.patchcord.core;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The Internet checksum (RFC 1071): the 16-bit one's complement of the one's complement sum of a
 * packet's 16-bit big-endian words. Segmentation computes one per segment and coalescing verifies
 * one per received segment, so this is on the hot path and reads eight bytes at a time.
 *
 * <p>Values named "sum" here are folded one's complement sums, not yet complemented: they can be
 * added together (with {@link #fold}) and are what a checksum field holds under
 * {@code CHECKSUM_PARTIAL} (the pseudo-header sum). {@link #finish} turns a sum into the value
 * stored in a header. A range that is summed separately and then added must start at an even
 * distance from the packet's start; only the last range may have an odd length.
 */
public final class Checksum {
    private Checksum() {}

    private static final long LOW32 = 0xffff_ffffL;

    /**
     * The one's complement sum of {@code initial} and the bytes {@code [off, off + len)} taken as
     * big-endian 16-bit words (an odd last byte is padded with a zero byte). The buffer may have
     * either byte order.
     *
     * @param initial a sum to continue from (0 to start); any non-negative int, it is folded in
     * @return the folded sum, 0 to 0xffff; 0 only if everything summed was zero
     */
    public static int sum(ByteBuffer b, int off, int len, int initial) {
        // Each 64-bit load is split into two 32-bit halves added into a 64-bit accumulator: a
        // 32-bit word sum folds to the same 16-bit one's complement sum as its two 16-bit words,
        // and no carry is lost for any length an int can describe. Two accumulators let the two
        // loads of an iteration add in parallel.
        long acc0 = 0;
        long acc1 = 0;
        int i = off;
        int end = off + len;
        for (; i <= end - 16; i += 16) {
            long v = b.getLong(i);
            long w = b.getLong(i + 8);
            acc0 += (v >>> 32) + (v & LOW32);
            acc1 += (w >>> 32) + (w & LOW32);
        }
        long acc = acc0 + acc1;
        if (i <= end - 8) {
            long v = b.getLong(i);
            acc += (v >>> 32) + (v & LOW32);
            i += 8;
        }
        if (i <= end - 4) {
            acc += b.getInt(i) & LOW32;
            i += 4;
        }
        if (i <= end - 2) {
            acc += b.getShort(i) & 0xffff;
            i += 2;
        }
        boolean big = b.order() == ByteOrder.BIG_ENDIAN;
        if (i < end) {
            int last = b.get(i) & 0xff;
            acc += big ? last << 8 : last;
        }
        int s = fold(acc);
        if (!big) {
            // A little-endian buffer gave every 16-bit word byte-swapped, and the one's complement
            // sum of swapped words is the swapped sum (swapping is multiplying by 2^8 mod 0xffff).
            s = Integer.reverseBytes(s) >>> 16;
        }
        return fold(s + (initial & LOW32));
    }

    /** Folds carries back in until the value fits 16 bits (end-around carry). */
    public static int fold(long acc) {
        acc = (acc & LOW32) + (acc >>> 32);
        acc = (acc & LOW32) + (acc >>> 32);
        while ((acc >>> 16) != 0) {
            acc = (acc & 0xffff) + (acc >>> 16);
        }
        return (int) acc;
    }

    /** The checksum to store for a sum: its one's complement. */
    public static int finish(int sum) {
        return ~sum & 0xffff;
    }

    /**
     * The checksum to store in a UDP header: as {@link #finish}, but 0 becomes 0xffff (the same
     * value in one's complement) because a UDP checksum of 0 means "none". Linux does the same
     * for any checksum it completes on behalf of a device.
     */
    public static int finishNonZero(int sum) {
        int c = finish(sum);
        return c == 0 ? 0xffff : c;
    }

    /**
     * The pseudo-header sum for a TCP or UDP segment in the IPv4 packet at {@code ip}: source and
     * destination addresses, the protocol and the transport length.
     */
    public static int pseudoHeaderV4(ByteBuffer b, int ip, int protocol, int l4Length) {
        return sum(b, ip + NetHeaders.V4_ADDRESSES, NetHeaders.V4_ADDRESSES_LENGTH, protocol + l4Length);
    }

    /**
     * The pseudo-header sum (RFC 8200 §8.1) for a TCP or UDP segment in the IPv6 packet at
     * {@code ip}: both addresses, the 32-bit upper-layer length and the next header value.
     */
    public static int pseudoHeaderV6(ByteBuffer b, int ip, int nextHeader, int l4Length) {
        return sum(b, ip + NetHeaders.V6_ADDRESSES, NetHeaders.V6_ADDRESSES_LENGTH,
                nextHeader + (l4Length >>> 16) + (l4Length & 0xffff));
    }

    /** The pseudo-header sum for IP version 4 or 6 (any other version is taken as 6). */
    public static int pseudoHeader(ByteBuffer b, int ip, int version, int protocol, int l4Length) {
        return version == 4 ? pseudoHeaderV4(b, ip, protocol, l4Length) : pseudoHeaderV6(b, ip, protocol, l4Length);
    }

    /** Recomputes and stores the IPv4 header checksum, over the header length its IHL gives. */
    public static void writeIpv4Header(ByteBuffer b, int ip) {
        NetHeaders.putBe16(b, ip + NetHeaders.V4_CHECKSUM, 0);
        int s = sum(b, ip, NetHeaders.ipv4HeaderLength(b, ip), 0);
        NetHeaders.putBe16(b, ip + NetHeaders.V4_CHECKSUM, finish(s));
    }

    /** Whether the IPv4 header at {@code ip} (IHL at least 5, inside the buffer) checks out. */
    public static boolean ipv4HeaderValid(ByteBuffer b, int ip) {
        return sum(b, ip, NetHeaders.ipv4HeaderLength(b, ip), 0) == 0xffff;
    }

    /**
     * Updates a stored checksum for one 16-bit word of the covered data changing from
     * {@code oldWord} to {@code newWord}, without summing the data again (RFC 1624, equation 3).
     */
    public static int update16(int checksum, int oldWord, int newWord) {
        long s = (~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
        return finish(fold(s));
    }
}
