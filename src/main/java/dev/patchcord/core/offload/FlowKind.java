package dev.patchcord.core.offload;

import dev.patchcord.core.Checksum;

import java.nio.ByteBuffer;

import static dev.patchcord.core.NetHeaders.*;

/**
 * What a received packet is to {@link GroCoalescer}, judged on the packet alone: which kind of flow
 * it belongs to (if its flow can be told at all), whether it could be merged, whether its
 * checksums hold, and which open flows a packet of no flow must close. Stateless; the rules for
 * joining a particular super-packet are in {@link SegmentJoin}.
 */
final class FlowKind {
    static final int NONE = -1;
    static final int PLAIN = 0;
    static final int TCP4 = 4;
    static final int TCP6 = 6;
    /** A UDP kind is its IP version with this bit. */
    static final int UDP_BIT = 0x10;
    static final int UDP4 = TCP4 | UDP_BIT;
    static final int UDP6 = TCP6 | UDP_BIT;
    static final int HIDES_TCP = 1;
    static final int HIDES_UDP = 2;

    private FlowKind() {
    }

    /**
     * Whether the packet is TCP (or, if merging UDP, UDP) in a form whose flow can be told: IPv4
     * (any header length) that is not a later fragment, or IPv6 with TCP or UDP right after the
     * fixed header; and its TCP or UDP header is all there. Anything else is {@link #PLAIN},
     * belongs to no flow and goes through.
     */
    static int of(ByteBuffer buf, int off, int len, boolean udp) {
        if (len < IPV4_MIN_HEADER) {
            return PLAIN;
        }
        int v = version(buf, off);
        int ih;
        int proto;
        if (v == 4) {
            ih = ipv4HeaderLength(buf, off);
            proto = u8(buf, off + V4_PROTOCOL);
            if (ih < IPV4_MIN_HEADER || (be16(buf, off + V4_FRAGMENT) & 0x1fff) != 0) {
                return PLAIN;
            }
        } else if (v == 6 && len >= IPV6_HEADER) {
            ih = IPV6_HEADER;
            proto = u8(buf, off + V6_NEXT_HEADER);
        } else {
            return PLAIN;
        }
        if (proto == PROTO_UDP && udp) {
            return len - ih < UDP_HEADER ? PLAIN : v == 4 ? UDP4 : UDP6;
        }
        if (proto != PROTO_TCP || len - ih < TCP_MIN_HEADER) {
            return PLAIN;
        }
        int th = tcpHeaderLength(buf, off + ih);
        if (th < TCP_MIN_HEADER || th > len - ih) {
            return PLAIN;
        }
        return v == 4 ? TCP4 : TCP6;
    }

    /** Whether the kind is UDP4 or UDP6. */
    static boolean isUdp(int k) {
        return (k & UDP_BIT) != 0;
    }

    /** 4 or 6. */
    static int ipVersion(int k) {
        return k & ~UDP_BIT;
    }

    /**
     * Whether a packet whose flow cannot be told might still be TCP (or UDP) of a flow being
     * merged: an IPv4 fragment or header too short to read, an IPv6 packet behind extension
     * headers. Merging a later packet past it could deliver it out of order, so it closes every
     * flow of that protocol ({@link #HIDES_TCP}, {@link #HIDES_UDP}, both, or 0).
     */
    static int mayHide(ByteBuffer buf, int off, int len, boolean udp) {
        if (len < IPV4_MIN_HEADER) {
            return 0;
        }
        int v = version(buf, off);
        int proto;
        if (v == 4) {
            proto = u8(buf, off + V4_PROTOCOL);
        } else if (v == 6 && len >= IPV6_HEADER) {
            proto = u8(buf, off + V6_NEXT_HEADER);
        } else {
            return 0;
        }
        if (proto == PROTO_TCP) {
            return HIDES_TCP;
        }
        if (proto == PROTO_UDP) {
            return udp ? HIDES_UDP : 0;
        }
        if (v == 4) {
            return 0;
        }
        return switch (proto) {
            // Hop-by-hop, routing, fragment, ESP, AH, destination options, mobility, HIP, shim6 and
            // the two experimental values: any may have TCP or UDP inside.
            case 0, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254 -> HIDES_TCP | (udp ? HIDES_UDP : 0);
            default -> 0;
        };
    }

    /** Whether the TCP segment could be merged at all, judged on its own. */
    static boolean tcpCandidate(ByteBuffer buf, int off, int len, int k, int ih, int th) {
        if (len - ih - th <= 0) {
            return false;
        }
        if (k == TCP4) {
            if (ih != IPV4_MIN_HEADER || be16(buf, off + V4_TOTAL_LENGTH) != len
                    || (be16(buf, off + V4_FRAGMENT) & V4_MF_AND_OFFSET) != 0) {
                return false;
            }
        } else if (be16(buf, off + V6_PAYLOAD_LENGTH) != len - IPV6_HEADER) {
            return false;
        }
        int flags = u8(buf, off + ih + TCP_FLAGS);
        return flags == ACK || flags == (ACK | PSH);
    }

    /** Whether the UDP datagram could be merged at all, judged on its own. */
    static boolean udpCandidate(ByteBuffer buf, int off, int len, int k, int ih) {
        if (len - ih - UDP_HEADER <= 0 || be16(buf, off + ih + UDP_LENGTH) != len - ih
                || be16(buf, off + ih + UDP_CHECKSUM) == 0) {
            // Empty, padded, or without a checksum (IPv4 allows it): the kernel would checksum
            // the merged datagram, which the sender did not ask for.
            return false;
        }
        if (k == UDP4) {
            return ih == IPV4_MIN_HEADER && be16(buf, off + V4_TOTAL_LENGTH) == len
                    && (be16(buf, off + V4_FRAGMENT) & V4_MF_AND_OFFSET) == 0;
        }
        return be16(buf, off + V6_PAYLOAD_LENGTH) == len - IPV6_HEADER;
    }

    /** Whether the packet's IPv4 header checksum (if any) and its TCP or UDP checksum hold. */
    static boolean checksumsValid(ByteBuffer buf, int off, int len, int k, int ih) {
        int version = ipVersion(k);
        if (version == 4 && !Checksum.ipv4HeaderValid(buf, off)) {
            return false;
        }
        int l4Len = len - ih;
        int pseudo = Checksum.pseudoHeader(buf, off, version, isUdp(k) ? PROTO_UDP : PROTO_TCP, l4Len);
        return Checksum.sum(buf, off + ih, l4Len, pseudo) == 0xffff;
    }

    /** A hash of the packet's addresses and ports, the same for every packet of its flow. */
    static int hash(ByteBuffer buf, int off, int k, int ih) {
        int h = be32(buf, off + ih); // both ports
        if (ipVersion(k) == TCP4) {
            h = h * 31 + be32(buf, off + V4_ADDRESSES);
            h = h * 31 + be32(buf, off + V4_ADDRESSES + 4);
        } else {
            for (int i = 0; i < V6_ADDRESSES_LENGTH; i += 4) {
                h = h * 31 + be32(buf, off + V6_ADDRESSES + i);
            }
        }
        h *= 0x9e3779b9;
        return h ^ (h >>> 16);
    }
}
