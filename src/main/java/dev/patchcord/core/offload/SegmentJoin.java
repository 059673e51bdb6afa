package dev.patchcord.core.offload;

import java.nio.ByteBuffer;

import static dev.patchcord.core.NetHeaders.*;
import static dev.patchcord.core.offload.FlowKind.TCP4;

/**
 * Whether a packet joins the open super-packet of its flow, and joining it: the header, sequence,
 * size and checksum rules that {@link GroCoalescer} lists, for TCP segments and UDP datagrams.
 * A packet joins by having its payload copied to the end of the super-packet, in the buffer of
 * the flow's first packet; the headers are finished when the batch is ({@link SuperPackets#finish}).
 */
final class SegmentJoin {
    private SegmentJoin() {
    }

    /** The header and sequence rules for joining open TCP output {@code h} (of the same flow). */
    static boolean tcpJoins(SuperPackets s, int h, ByteBuffer buf, int off, int len, int ih, int th) {
        ByteBuffer hb = s.bufs[h];
        int ho = s.ipOff[h];
        if (th != s.l4Hdr[h] || ih != s.ipHdr[h]) {
            return false;
        }
        int payload = len - ih - th;
        if (payload > s.gsoSize[h] || be32(buf, off + ih + TCP_SEQ) != s.nextSeq[h]
                || s.ipLen[h] + payload > Math.min(MAX_IP_LENGTH, s.room[h])) {
            return false;
        }
        boolean ip = sameIpFields(s, h, buf, off);
        int ht = ho + ih;
        int t = off + ih;
        return ip && be32(hb, ht + TCP_ACK) == be32(buf, t + TCP_ACK)
                && u8(hb, ht + TCP_DATA_OFFSET) == u8(buf, t + TCP_DATA_OFFSET)
                && sameBytes(hb, ht + TCP_MIN_HEADER, buf, t + TCP_MIN_HEADER, th - TCP_MIN_HEADER);
    }

    /** The rules for a UDP datagram joining open output {@code h} (of the same flow). */
    static boolean udpJoins(SuperPackets s, int h, ByteBuffer buf, int off, int len, int ih) {
        int payload = len - ih - UDP_HEADER;
        return ih == s.ipHdr[h] && payload <= s.gsoSize[h] && s.segments[h] < GroCoalescer.MAX_UDP_SEGMENTS
                && s.ipLen[h] + payload <= Math.min(MAX_IP_LENGTH, s.room[h])
                && sameIpFields(s, h, buf, off);
    }

    /** The IP fields that must match for a packet to join output {@code h}. */
    private static boolean sameIpFields(SuperPackets s, int h, ByteBuffer buf, int off) {
        ByteBuffer hb = s.bufs[h];
        int ho = s.ipOff[h];
        return FlowKind.ipVersion(s.kind[h]) == TCP4
                ? u8(hb, ho + V4_TOS) == u8(buf, off + V4_TOS)
                        && be16(hb, ho + V4_FRAGMENT) == be16(buf, off + V4_FRAGMENT)
                        && u8(hb, ho + V4_TTL) == u8(buf, off + V4_TTL)
                : be32(hb, ho) == be32(buf, off) && u8(hb, ho + V6_HOP_LIMIT) == u8(buf, off + V6_HOP_LIMIT);
    }

    /**
     * The checksum rules: the packet's own checksums hold, and so do the first packet's, which
     * are checked only now, when something is about to be merged into it.
     */
    static boolean mergeable(SuperPackets s, int h, ByteBuffer buf, int off, int len, int k, int ih) {
        if (s.segments[h] == 1 && !FlowKind.checksumsValid(s.bufs[h], s.ipOff[h], s.ipLen[h], k, ih)) {
            return false;
        }
        return FlowKind.checksumsValid(buf, off, len, k, ih);
    }

    /**
     * Appends the segment's payload to output {@code h}, which takes its window; PSH or a short
     * segment closes it.
     */
    static void mergeTcp(SuperPackets s, int h, ByteBuffer buf, int off, int len, int ih, int th) {
        int payload = len - ih - th;
        ByteBuffer hb = s.bufs[h];
        int ho = s.ipOff[h];
        hb.put(ho + s.ipLen[h], buf, off + ih + th, payload);
        s.ipLen[h] += payload;
        s.nextSeq[h] += payload;
        s.segments[h]++;
        putBe16(hb, ho + ih + TCP_WINDOW, be16(buf, off + ih + TCP_WINDOW));
        if ((u8(buf, off + ih + TCP_FLAGS) & PSH) != 0) {
            s.push[h] = true;
            s.open[h] = false;
        } else if (payload < s.gsoSize[h]) {
            s.open[h] = false;
        }
    }

    /** Appends the datagram's payload to output {@code h}; a short one or the last allowed closes it. */
    static void mergeUdp(SuperPackets s, int h, ByteBuffer buf, int off, int len, int ih) {
        int payload = len - ih - UDP_HEADER;
        ByteBuffer hb = s.bufs[h];
        hb.put(s.ipOff[h] + s.ipLen[h], buf, off + ih + UDP_HEADER, payload);
        s.ipLen[h] += payload;
        s.segments[h]++;
        if (payload < s.gsoSize[h] || s.segments[h] == GroCoalescer.MAX_UDP_SEGMENTS) {
            s.open[h] = false;
        }
    }
}
