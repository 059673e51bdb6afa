package dev.patchcord.transport;

import dev.patchcord.sys.Linux;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * The control messages ({@code struct cmsghdr}, 64-bit layout) the UDP socket reads and writes:
 * on receive the GRO segment size and the local address a datagram was sent to; on send the GSO
 * segment size and the local address to send from. Everything works on caller-owned, preallocated
 * memory, so the per-packet path allocates nothing.
 */
final class ControlMessages {
    private ControlMessages() {}

    /** {@code sizeof(struct cmsghdr)}: length (8), level (4), type (4). */
    static final long HEADER = 16;
    /** {@code CMSG_SPACE(sizeof(uint16_t))}: a UDP_SEGMENT message. */
    static final long SEGMENT_SPACE = space(2);
    /** {@code CMSG_SPACE(sizeof(struct in6_pktinfo))}, the larger of the two source messages. */
    static final long SOURCE_SPACE = space(20);
    /** {@code sizeof(struct in_pktinfo)}: ifindex, spec_dst, addr. */
    private static final int IN_PKTINFO = 12;
    /** {@code sizeof(struct in6_pktinfo)}: addr, ifindex. */
    private static final int IN6_PKTINFO = 20;

    /** {@code CMSG_SPACE(n)}: header and data, padded to 8 bytes. */
    static long space(int dataBytes) {
        return HEADER + align(dataBytes);
    }

    private static long align(long n) {
        return (n + 7) & ~7L;
    }

    /**
     * Reads what a receive left in {@code control[base, base + used)}: writes the local address the
     * datagram was sent to into {@code endpoint}'s source (clearing it if the kernel gave none)
     * and returns the UDP_GRO segment size (0 if none). A malformed list ends the walk; what was
     * found before it counts.
     */
    static int read(MemorySegment control, long base, long used, MemorySegment endpoint) {
        Endpoint.clearSource(endpoint);
        int gro = 0;
        long at = 0;
        while (at + HEADER <= used) {
            long len = control.get(JAVA_LONG, base + at);
            if (len < HEADER || at + len > used) {
                break;
            }
            int level = control.get(JAVA_INT, base + at + 8);
            int type = control.get(JAVA_INT, base + at + 12);
            long data = base + at + HEADER;
            long dataLen = len - HEADER;
            if (level == Linux.SOL_UDP && type == Linux.UDP_GRO && dataLen >= 4) {
                gro = control.get(JAVA_INT, data);
            } else if (level == Linux.IPPROTO_IPV6 && type == Linux.IPV6_PKTINFO && dataLen >= IN6_PKTINFO) {
                // The kernel gives this for IPv4 datagrams on a dual-stack socket too, IPv4-mapped.
                MemorySegment.copy(control, data, endpoint, Endpoint.SOURCE, 16);
            } else if (level == Linux.SOL_IP && type == Linux.IP_PKTINFO && dataLen >= IN_PKTINFO) {
                // ipi_addr, the destination in the header (ipi_spec_dst may differ for broadcasts).
                // Endpoint.clearSource ran above: only the ::ffff: prefix and the address are written.
                endpoint.set(JAVA_SHORT_UNALIGNED, Endpoint.SOURCE + 10, (short) -1);
                MemorySegment.copy(control, data + 8, endpoint, Endpoint.SOURCE + 12, 4);
            }
            at += align(len);
        }
        return gro;
    }

    /**
     * Writes the message that makes a send leave from {@code endpoint}'s source, at
     * {@code control[at]}: {@code IP_PKTINFO} for an IPv4-mapped source, {@code IPV6_PKTINFO}
     * otherwise; either names the address only, so routing still picks the interface.
     *
     * @return the bytes used ({@code CMSG_SPACE})
     */
    static long writeSource(MemorySegment control, long at, MemorySegment endpoint) {
        if (Endpoint.sourceIsV4(endpoint)) {
            control.set(JAVA_LONG, at, HEADER + IN_PKTINFO);
            control.set(JAVA_INT, at + 8, Linux.SOL_IP);
            control.set(JAVA_INT, at + 12, Linux.IP_PKTINFO);
            control.set(JAVA_INT, at + HEADER, 0); // ipi_ifindex
            MemorySegment.copy(endpoint, Endpoint.SOURCE + 12, control, at + HEADER + 4, 4); // ipi_spec_dst
            MemorySegment.copy(endpoint, Endpoint.SOURCE + 12, control, at + HEADER + 8, 4); // ipi_addr: ignored on send
            control.set(JAVA_INT, at + HEADER + 12, 0); // padding
            return space(IN_PKTINFO);
        }
        control.set(JAVA_LONG, at, HEADER + IN6_PKTINFO);
        control.set(JAVA_INT, at + 8, Linux.IPPROTO_IPV6);
        control.set(JAVA_INT, at + 12, Linux.IPV6_PKTINFO);
        MemorySegment.copy(endpoint, Endpoint.SOURCE, control, at + HEADER, 16);
        control.set(JAVA_INT, at + HEADER + 16, 0); // ipi6_ifindex
        control.set(JAVA_INT, at + HEADER + 20, 0); // padding
        return SOURCE_SPACE;
    }

    /**
     * Writes a UDP_SEGMENT message (GSO: the kernel cuts the buffer into datagrams of
     * {@code segmentSize} bytes) at {@code control[at]}.
     *
     * @return the bytes used ({@code CMSG_SPACE})
     */
    static long writeSegment(MemorySegment control, long at, int segmentSize) {
        control.set(JAVA_LONG, at, HEADER + 2);
        control.set(JAVA_INT, at + 8, Linux.SOL_UDP);
        control.set(JAVA_INT, at + 12, Linux.UDP_SEGMENT);
        control.set(JAVA_LONG, at + HEADER, 0L); // the value and its padding
        control.set(JAVA_SHORT, at + HEADER, (short) segmentSize);
        return SEGMENT_SPACE;
    }

    /**
     * Whether a send that named a source and failed with {@code -errno} {@code error} may have
     * failed because of that source: the address is gone (EINVAL, EADDRNOTAVAIL; IPv4 may say
     * ENETUNREACH), or it cannot reach the peer (ENETUNREACH, ENODEV). The send is then made
     * again without it; if the source was not at fault, it fails again the same way.
     */
    static boolean sourceMayBeAtFault(int error) {
        return error == -Linux.EINVAL || error == -Linux.EADDRNOTAVAIL || error == -Linux.ENETUNREACH
                || error == -Linux.ENODEV;
    }
}
