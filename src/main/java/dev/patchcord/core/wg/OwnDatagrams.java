package dev.patchcord.core.wg;

import java.nio.ByteBuffer;

/**
 * Recognises, in a packet read from the tunnel's interface, what may be one of the tunnel's own
 * encrypted datagrams: a route that sends a peer's endpoint into the tunnel makes the host hand
 * every datagram sent to that peer back to the interface, and encrypting it again would send it
 * round for ever, one layer thicker each time (and, once past the MTU, in two fragments each
 * time). Linux's WireGuard never lets such a datagram in: when the route for an encrypted packet
 * leads to the WireGuard device itself, it drops the packet ("routing loop"). A userspace tunnel
 * cannot see the route its socket's datagrams take, so it recognises them when they come back.
 *
 * <p>This is the cheap first test, run on every packet: a UDP datagram (IPv4, or IPv6 directly or
 * in a first fragment) from the tunnel's own port that carries a well-formed WireGuard message.
 * No other program on this host can send from that port, since the tunnel holds it on every
 * address; the caller then checks that the destination is a peer's endpoint, which makes the
 * match exact. A later fragment carries no UDP header and is not recognised: it goes round once
 * more, as a datagram of its own, and is recognised then.
 *
 * <p>Stateless and allocation-free; input of any length or content is safe.
 */
public final class OwnDatagrams {
    private OwnDatagrams() {}

    private static final int IPV4 = 20, IPV6 = 40, UDP = 8, FRAGMENT_HEADER = 8;
    private static final int PROTO_UDP = 17, PROTO_FRAGMENT = 44;

    /**
     * The offset of the UDP header in {@code buf} if the IP packet {@code buf[off, off + len)} is a
     * datagram from UDP port {@code port} carrying a WireGuard message; -1 if it is not.
     */
    public static int udpHeader(ByteBuffer buf, int off, int len, int port) {
        if (len < IPV4 + UDP) {
            return -1;
        }
        int first = buf.get(off) & 0xff;
        int udp;
        if (first >> 4 == 4) {
            int ihl = (first & 0xf) * 4;
            if (ihl < IPV4 || (buf.get(off + 9) & 0xff) != PROTO_UDP || (be16(buf, off + 6) & 0x1fff) != 0) {
                return -1;
            }
            udp = off + ihl;
        } else if (first >> 4 == 6) {
            int next = buf.get(off + 6) & 0xff;
            udp = off + IPV6;
            if (next == PROTO_FRAGMENT) {
                // The first fragment of a datagram larger than the interface's MTU.
                if (len < IPV6 + FRAGMENT_HEADER || (be16(buf, udp + 2) & 0xfff8) != 0) {
                    return -1;
                }
                next = buf.get(udp) & 0xff;
                udp += FRAGMENT_HEADER;
            }
            if (next != PROTO_UDP) {
                return -1;
            }
        } else {
            return -1;
        }
        // The message's first four bytes must be there (a first fragment may hold no more).
        if (udp + UDP + 4 > off + len || be16(buf, udp) != port) {
            return -1;
        }
        return isMessage(buf, udp + UDP, be16(buf, udp + 4) - UDP) ? udp : -1;
    }

    /**
     * Whether what starts at {@code at} is a WireGuard message of {@code length} bytes (the UDP
     * length says how long; a fragment may hold only its start): a known type, three zero bytes,
     * and the length that type has.
     */
    private static boolean isMessage(ByteBuffer buf, int at, int length) {
        if (buf.get(at + 1) != 0 || buf.get(at + 2) != 0 || buf.get(at + 3) != 0) {
            return false;
        }
        return switch (buf.get(at)) {
            case Protocol.MESSAGE_INITIATION -> length == Protocol.INITIATION_SIZE;
            case Protocol.MESSAGE_RESPONSE -> length == Protocol.RESPONSE_SIZE;
            case Protocol.MESSAGE_COOKIE_REPLY -> length == Protocol.COOKIE_REPLY_SIZE;
            case Protocol.MESSAGE_TRANSPORT -> length >= Protocol.MIN_TRANSPORT_SIZE;
            default -> false;
        };
    }

    /** Where the IPv4 or IPv6 destination address of the packet at {@code off} starts. */
    public static int destinationAddress(ByteBuffer buf, int off) {
        return off + ((buf.get(off) & 0xf0) == 0x40 ? 16 : 24);
    }

    /** The destination port of the UDP header at {@code udp}. */
    public static int destinationPort(ByteBuffer buf, int udp) {
        return be16(buf, udp + 2);
    }

    private static int be16(ByteBuffer b, int at) {
        return (b.get(at) & 0xff) << 8 | (b.get(at + 1) & 0xff);
    }
}
