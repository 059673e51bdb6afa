package dev.patchcord.transport;

import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.UnknownHostException;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * A peer's address together with the local address it reached us at: {@link #SIZE} bytes, a
 * {@link SockAddr} at offset 0 and the local address (16 bytes, IPv4-mapped for IPv4) at
 * {@link #SOURCE}. All zero there means "no source known", and then routing picks the source
 * address as for any socket.
 *
 * <p>Why the source is kept: a host with several addresses must answer from the address the peer
 * sent to, or the peer's firewall or NAT (and WireGuard's own roaming) sees a stranger. The kernel
 * reports that address for every datagram ({@code IPV6_PKTINFO}), and a send can name it again
 * ({@link ControlMessages#writeSource}).
 *
 * <p>Only the address is kept, not the interface the datagram came in on: a send that names an
 * interface makes Linux assume the peer is on that link when no route leads there through it, and
 * such packets are lost without an error to fall back on. Naming the address alone leaves the
 * choice of interface to routing, as Linux's WireGuard does (it uses the interface only to check
 * the route it got).
 *
 * <p>The padding stays zero, so two endpoints can be compared byte for byte.
 */
public final class Endpoint {
    private Endpoint() {}

    /** Bytes in an endpoint. */
    public static final int SIZE = 48;
    /** Where the local address starts (16 bytes, IPv4-mapped for IPv4; after 4 bytes of padding). */
    public static final long SOURCE = 32;

    /** Whether {@code e} is an endpoint (not a bare {@link SockAddr}) that carries a source address. */
    public static boolean hasSource(MemorySegment e) {
        return e.byteSize() >= SIZE
                && (e.get(JAVA_LONG_UNALIGNED, SOURCE) | e.get(JAVA_LONG_UNALIGNED, SOURCE + 8)) != 0;
    }

    /** Whether the source address is IPv4-mapped ({@code ::ffff:a.b.c.d}). */
    static boolean sourceIsV4(MemorySegment e) {
        return e.get(JAVA_LONG_UNALIGNED, SOURCE) == 0
                && e.get(JAVA_BYTE, SOURCE + 8) == 0 && e.get(JAVA_BYTE, SOURCE + 9) == 0
                && e.get(JAVA_BYTE, SOURCE + 10) == (byte) 0xff && e.get(JAVA_BYTE, SOURCE + 11) == (byte) 0xff;
    }

    /** Forgets the source: sends to {@code e} leave from whatever address routing picks. */
    public static void clearSource(MemorySegment e) {
        e.set(JAVA_LONG_UNALIGNED, SOURCE, 0L);
        e.set(JAVA_LONG_UNALIGNED, SOURCE + 8, 0L);
    }

    /** Sets the address to send from (for tests and set-up; allocates). */
    public static void setSource(MemorySegment e, InetAddress local) {
        clearSource(e);
        byte[] raw = local.getAddress();
        if (raw.length == 4) {
            e.set(JAVA_BYTE, SOURCE + 10, (byte) 0xff);
            e.set(JAVA_BYTE, SOURCE + 11, (byte) 0xff);
            MemorySegment.copy(raw, 0, e, JAVA_BYTE, SOURCE + 12, 4);
        } else {
            MemorySegment.copy(raw, 0, e, JAVA_BYTE, SOURCE, 16);
        }
    }

    /** The source address, or null if none (allocates: for display and tests). */
    public static InetAddress source(MemorySegment e) {
        if (!hasSource(e)) {
            return null;
        }
        byte[] raw = e.asSlice(SOURCE, 16).toArray(JAVA_BYTE);
        try {
            return sourceIsV4(e) ? InetAddress.getByAddress(java.util.Arrays.copyOfRange(raw, 12, 16))
                    : InetAddress.getByAddress(raw);
        } catch (UnknownHostException ex) {
            throw new IllegalStateException("16-byte address rejected", ex);
        }
    }
}
