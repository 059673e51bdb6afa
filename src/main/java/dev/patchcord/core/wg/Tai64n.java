package dev.patchcord.core.wg;

import java.util.Arrays;

/**
 * The TAI64N timestamp an initiator encrypts into every handshake initiation. The responder
 * accepts an initiation only if its timestamp is strictly greater than the last one it accepted
 * from that peer, which is what makes a recorded initiation useless to replay.
 *
 * <p>The clock is the caller's: this class only encodes a time it is given, so the protocol core
 * stays free of clocks and its tests can choose any instant.
 */
public final class Tai64n {
    public static final int SIZE = 12;

    /** TAI64 labels second 0 of 1970 as 2^62, plus the 10 s TAI was ahead of UTC then. */
    private static final long BASE = (1L << 62) + 10;

    /**
     * The low 24 bits of the nanoseconds are always zero (a resolution of about 16.8 ms), as in
     * wireguard-go. The timestamp travels encrypted but a responder still learns it, and a
     * sub-millisecond clock reading says more about the initiator than replay protection needs.
     */
    private static final int WHITENER_MASK = (1 << 24) - 1;

    private Tai64n() {}

    /**
     * Twelve bytes: {@code 2^62 + 10 + epochSeconds} as a big-endian u64, then {@code nanos} with
     * its low 24 bits cleared as a big-endian u32.
     *
     * @param nanos 0 to 999 999 999
     */
    public static byte[] of(long epochSeconds, int nanos) {
        if (nanos < 0 || nanos > 999_999_999) {
            throw new IllegalArgumentException("nanoseconds must be 0 to 999999999, got " + nanos);
        }
        byte[] t = new byte[SIZE];
        putBigEndian(t, 0, BASE + epochSeconds, 8);
        putBigEndian(t, 8, nanos & ~WHITENER_MASK, 4);
        return t;
    }

    /**
     * Orders two timestamps as unsigned bytes, which is their time order; negative, zero or
     * positive like {@link Comparable#compareTo}. A received timestamp is decrypted from the wire
     * and may be any 12 bytes, so no field is interpreted.
     */
    public static int compare(byte[] a, byte[] b) {
        return Arrays.compareUnsigned(a, b);
    }

    private static void putBigEndian(byte[] dst, int off, long value, int bytes) {
        for (int i = 0; i < bytes; i++) {
            dst[off + i] = (byte) (value >>> (8 * (bytes - 1 - i)));
        }
    }
}
