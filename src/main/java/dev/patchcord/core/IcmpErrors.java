package dev.patchcord.core;

import java.nio.ByteBuffer;

/**
 * ICMP "destination unreachable" for a packet from the interface that cannot be delivered, written
 * back into the interface so that the program that sent it fails at once (ping prints
 * "Destination Host Unreachable", a TCP connect fails with EHOSTUNREACH) instead of timing out.
 * Linux's WireGuard answers a packet no peer covers this way: ICMP type 3 code 1 (host
 * unreachable) for IPv4, ICMPv6 type 1 code 3 (address unreachable) for IPv6.
 *
 * <p>The rules of RFC 1122 3.2.2 and RFC 4443 2.4, as the kernel applies them, decide which
 * packets get no answer: a non-first IPv4 fragment; an ICMP error (or an unknown ICMP type), so
 * two ends never answer each other's errors; a packet to a multicast or broadcast address or from
 * an address that names no single host. The answer quotes as much of the packet as fits in 576
 * bytes (IPv4, RFC 1812 4.3.2.3) or 1280 bytes (IPv6, the minimum MTU).
 *
 * <p>The answer's source is the destination that could not be reached, so ping shows
 * "From 10.0.0.9 ... Destination Host Unreachable" where the kernel, whose own stack makes the
 * error, shows one of its own addresses. A packet written into the interface arrives at the host
 * as if from the network, and Linux drops an arriving packet whose source is one of its own
 * addresses (a "martian", unless {@code accept_local} is set); the unreachable destination is
 * routed through the interface (that is how the packet got here), so it also passes reverse-path
 * filtering, and using it needs no knowledge of the interface's addresses.
 *
 * <p>Stateless and allocation-free; input of any length or content is safe.
 */
public final class IcmpErrors {
    private IcmpErrors() {}

    /** The longest IPv4 error: RFC 1812 4.3.2.3 (the kernel's limit too). */
    public static final int IPV4_LIMIT = 576;
    /** The longest ICMPv6 error: the IPv6 minimum MTU (RFC 4443 2.4 (c)). */
    public static final int IPV6_LIMIT = 1280;
    /** Room an output buffer needs for any answer. */
    public static final int MAX_LENGTH = IPV6_LIMIT;
    /** Hop limit of the answers: Linux's default TTL, which its own ICMP errors carry. */
    public static final int TTL = 64;

    static final int ICMP_UNREACHABLE = 3, ICMP_HOST_UNREACHABLE = 1;
    static final int ICMPV6_UNREACHABLE = 1, ICMPV6_ADDRESS_UNREACHABLE = 3;
    private static final int IPV4 = 20, IPV6 = 40, ICMP_HEADER = 8;
    private static final int PROTO_ICMP = 1, PROTO_ICMPV6 = 58;
    /** IPv4 precedence "internetwork control", which Linux sets on its ICMP errors. */
    private static final int TOS_INTERNETWORK_CONTROL = 0xc0;
    /** IPv6 extension headers walked to find whether a packet is itself an ICMPv6 error. */
    private static final int HOP_BY_HOP = 0, ROUTING = 43, FRAGMENT = 44, AUTH = 51, DESTINATION = 60;
    private static final int MAX_EXTENSION_HEADERS = 16;

    /**
     * Writes the answer to the IP packet {@code in[off, off + len)} at {@code out[outOff]}, which
     * needs {@link #MAX_LENGTH} bytes of room. {@code in} and {@code out} must not overlap.
     *
     * @return the answer's length, or 0 if this packet must not be answered (or is no IP packet)
     */
    public static int unreachable(ByteBuffer in, int off, int len, ByteBuffer out, int outOff) {
        if (!answerable(in, off, len)) {
            return 0;
        }
        if (IpPackets.version(in, off) == 4) {
            int tos = (in.get(off + 1) & 0x1e) | TOS_INTERNETWORK_CONTROL;
            return writeV4(in, off, Math.min(len, IPV4_LIMIT - IPV4 - ICMP_HEADER), out, outOff, TTL, tos);
        }
        return writeV6(in, off, Math.min(len, IPV6_LIMIT - IPV6 - ICMP_HEADER), out, outOff);
    }

    /**
     * Whether the IP packet {@code in[off, off + len)} may be answered with an error (the rules
     * above); cheaper than building the answer, so a rate limit can be asked only for those.
     */
    public static boolean answerable(ByteBuffer in, int off, int len) {
        if (len < 1) {
            return false;
        }
        int version = IpPackets.version(in, off);
        return version == 4 ? answerableV4(in, off, len) : version == 6 && answerableV6(in, off, len);
    }

    /**
     * udptun's answer to an IPv4 packet of at least 20 bytes, whatever it is: TTL {@code ttl},
     * type of service 0 and the first {@code quote} bytes quoted.
     *
     * @return the answer's length
     */
    public static int hostUnreachableV4(ByteBuffer in, int off, int len, ByteBuffer out, int outOff, int ttl,
                                        int quote) {
        return writeV4(in, off, Math.min(len, quote), out, outOff, ttl, 0);
    }

    static boolean answerableV4(ByteBuffer in, int off, int len) {
        if (len < IPV4) {
            return false;
        }
        int ihl = (in.get(off) & 0xf) * 4;
        if (ihl < IPV4 || ihl > len) {
            return false;
        }
        if ((be16(in, off + 6) & 0x1fff) != 0) {
            return false; // only the first fragment is answered (RFC 1122 3.2.2)
        }
        if (!unicastV4(in.get(off + 12)) || !unicastV4(in.get(off + 16))) {
            return false;
        }
        if ((in.get(off + 9) & 0xff) == PROTO_ICMP) {
            if (ihl >= len) {
                return false; // the ICMP type cannot be seen: it may be an error
            }
            int type = in.get(off + ihl) & 0xff;
            // Echo, timestamp, information and address-mask messages (0, 8, 13-18) are answered;
            // errors (3, 4, 5, 11, 12) and types without a meaning (RFC 1122: > 18) are not.
            return type == 0 || type == 8 || type >= 13 && type <= 18;
        }
        return true;
    }

    /**
     * Whether an IPv4 address, by its first byte, names one host: not 0/8, loopback, multicast,
     * class E or the broadcast address.
     */
    private static boolean unicastV4(byte firstByte) {
        int first = firstByte & 0xff;
        return first != 0 && first != 127 && first < 224;
    }

    static boolean answerableV6(ByteBuffer in, int off, int len) {
        if (len < IPV6) {
            return false;
        }
        if ((in.get(off + 24) & 0xff) == 0xff) {
            return false; // multicast destination
        }
        if ((in.get(off + 8) & 0xff) == 0xff || zeroOrLoopbackV6(in, off + 8)) {
            return false; // multicast, unspecified or loopback source: no single host to tell
        }
        // Walk the extension headers to the upper layer: an ICMPv6 error is not answered.
        int next = in.get(off + 6) & 0xff;
        int at = off + IPV6;
        int end = off + len;
        for (int i = 0; i < MAX_EXTENSION_HEADERS; i++) {
            if (next == PROTO_ICMPV6) {
                if (at >= end) {
                    return false; // the type cannot be seen: it may be an error
                }
                return (in.get(at) & 0x80) != 0; // informational messages are 128-255
            }
            if (next != HOP_BY_HOP && next != ROUTING && next != FRAGMENT && next != AUTH && next != DESTINATION) {
                return true;
            }
            if (at + 8 > end) {
                return true; // a cut extension header: as the kernel, answered
            }
            int following = in.get(at) & 0xff;
            if (next == FRAGMENT) {
                if ((be16(in, at + 2) & 0xfff8) != 0) {
                    return true; // a later fragment: its upper-layer header is elsewhere
                }
                at += 8;
            } else if (next == AUTH) {
                at += ((in.get(at + 1) & 0xff) + 2) * 4;
            } else {
                at += ((in.get(at + 1) & 0xff) + 1) * 8;
            }
            next = following;
        }
        return true;
    }

    /** Whether the 16 bytes at {@code at} are :: or ::1. */
    private static boolean zeroOrLoopbackV6(ByteBuffer b, int at) {
        if (b.getLong(at) != 0 || b.getInt(at + 8) != 0 || b.getShort(at + 12) != 0 || b.get(at + 14) != 0) {
            return false;
        }
        int last = b.get(at + 15) & 0xff;
        return last == 0 || last == 1;
    }

    private static int writeV4(ByteBuffer in, int off, int quoted, ByteBuffer out, int o, int ttl, int tos) {
        int total = IPV4 + ICMP_HEADER + quoted;
        out.put(o, (byte) 0x45);
        out.put(o + 1, (byte) tos);
        putBe16(out, o + 2, total);
        putBe16(out, o + 4, 0); // ID 0, no flags: nothing on the way to a local program fragments it
        putBe16(out, o + 6, 0);
        out.put(o + 8, (byte) ttl);
        out.put(o + 9, (byte) PROTO_ICMP);
        putBe16(out, o + 10, 0);
        out.put(o + 12, in, off + 16, 4); // from the address that could not be reached
        out.put(o + 16, in, off + 12, 4); // back to the sender
        putBe16(out, o + 10, Checksum.finish(Checksum.sum(out, o, IPV4, 0)));
        int icmp = o + IPV4;
        out.put(icmp, (byte) ICMP_UNREACHABLE);
        out.put(icmp + 1, (byte) ICMP_HOST_UNREACHABLE);
        putBe16(out, icmp + 2, 0);
        putBe16(out, icmp + 4, 0); // unused
        putBe16(out, icmp + 6, 0);
        out.put(icmp + ICMP_HEADER, in, off, quoted);
        putBe16(out, icmp + 2, Checksum.finish(Checksum.sum(out, icmp, ICMP_HEADER + quoted, 0)));
        return total;
    }

    private static int writeV6(ByteBuffer in, int off, int quoted, ByteBuffer out, int o) {
        int payload = ICMP_HEADER + quoted;
        out.put(o, (byte) 0x60); // version 6, traffic class 0, no flow label
        out.put(o + 1, (byte) 0);
        putBe16(out, o + 2, 0);
        putBe16(out, o + 4, payload);
        out.put(o + 6, (byte) PROTO_ICMPV6);
        out.put(o + 7, (byte) TTL);
        out.put(o + 8, in, off + 24, 16); // from the address that could not be reached
        out.put(o + 24, in, off + 8, 16); // back to the sender
        int icmp = o + IPV6;
        out.put(icmp, (byte) ICMPV6_UNREACHABLE);
        out.put(icmp + 1, (byte) ICMPV6_ADDRESS_UNREACHABLE);
        putBe16(out, icmp + 2, 0);
        putBe16(out, icmp + 4, 0); // unused
        putBe16(out, icmp + 6, 0);
        out.put(icmp + ICMP_HEADER, in, off, quoted);
        // ICMPv6, unlike ICMP, covers the IPv6 pseudo-header (RFC 4443 2.3).
        int sum = Checksum.sum(out, icmp, payload, Checksum.pseudoHeaderV6(out, o, PROTO_ICMPV6, payload));
        putBe16(out, icmp + 2, Checksum.finish(sum));
        return IPV6 + payload;
    }

    private static int be16(ByteBuffer b, int at) {
        return (b.get(at) & 0xff) << 8 | (b.get(at + 1) & 0xff);
    }

    private static void putBe16(ByteBuffer b, int at, int v) {
        b.put(at, (byte) (v >> 8));
        b.put(at + 1, (byte) v);
    }
}
