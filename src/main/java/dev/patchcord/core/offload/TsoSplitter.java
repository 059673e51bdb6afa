package dev.patchcord.core.offload;

import dev.patchcord.core.Checksum;
import dev.patchcord.core.IpPackets;
import dev.patchcord.core.NetHeaders;

import java.nio.ByteBuffer;

import static dev.patchcord.core.NetHeaders.*;

/**
 * Cuts what one {@code read()} of a TUN device with {@code IFF_VNET_HDR} returns (a
 * {@link VirtioNetHdr} and one IP packet of up to 64 KiB) into the packets that go out over the
 * wire, doing the work a NIC would do under TSO, USO and checksum offload.
 *
 * <ul>
 * <li>{@code GSO_NONE} without {@code NEEDS_CSUM}: the packet as it is.
 * <li>{@code GSO_NONE} with {@code NEEDS_CSUM}: the packet with the checksum at
 *     {@code csum_start + csum_offset} completed over {@code [csum_start, end)}; the kernel left
 *     the pseudo-header sum in that field, so this needs no knowledge of the protocol.
 * <li>{@code GSO_TCPV4}/{@code GSO_TCPV6} (optionally with {@code GSO_ECN}): the payload in
 *     {@code gso_size} pieces, each behind a copy of the IP and TCP headers with its own IP length,
 *     IPv4 id (the original plus the segment's index) and header checksum, sequence number, flags
 *     (FIN and PSH on the last segment only, CWR on the first only) and full TCP checksum.
 * <li>{@code GSO_UDP_L4}: the payload in {@code gso_size} datagrams, each with its own UDP length
 *     and checksum and IP length, id and header checksum.
 * </ul>
 *
 * <p>Input rules, so that nothing here can be made to throw, loop or read out of bounds: the IP
 * packet's own length field decides its length (bytes after it are ignored, a packet longer than
 * the read is malformed); {@code hdr_len} is only checked not to exceed the packet, because Linux
 * fills it with the length of its buffer's linear part, which may include payload, so the header
 * length is taken from the IP header and the TCP data offset instead; with {@code NEEDS_CSUM} a
 * segmentation request's {@code csum_start} must be the transport header's offset and
 * {@code csum_offset} the protocol's checksum field. IPv4 options are copied into every segment,
 * as Linux does. A TCP request with SYN or RST that would need more than one segment is
 * malformed. IPv6 extension headers and the obsolete {@code GSO_UDP} are {@link #UNSUPPORTED}.
 *
 * <p>Output: segment {@code i} is written at {@code outOff} in {@code out[i]} (the caller leaves
 * room in front for its own header) and its length stored in {@code lengths[i]}. To save the copy
 * of the first segment, the caller may read the TUN into {@code out[0]} at
 * {@code outOff - VirtioNetHdr.SIZE} and pass that same buffer as {@code in}: the first segment is
 * then finished where it lies. No other output may share bytes with the input or with another
 * output. Stateless and allocation-free.
 */
public final class TsoSplitter {
    private TsoSplitter() {}

    /** Lengths, versions or header fields that contradict each other or the read. */
    public static final int MALFORMED = -1;
    /** A well-formed request this splitter does not handle (IPv6 extension headers, UFO). */
    public static final int UNSUPPORTED = -2;
    /** More segments than the caller gave output slots for. */
    public static final int TOO_MANY_SEGMENTS = -3;
    /** An output buffer is missing or too small (its limit) for the segment it would hold. */
    public static final int NO_ROOM = -4;

    private static final int TCP_CSUM_OFFSET = TCP_CHECKSUM;

    /** A name for a negative result of {@link #split}, for logs and tests. */
    public static String describe(int result) {
        return switch (result) {
            case MALFORMED -> "malformed";
            case UNSUPPORTED -> "unsupported";
            case TOO_MANY_SEGMENTS -> "too-many-segments";
            case NO_ROOM -> "no-room";
            default -> result >= 0 ? result + " segments" : "unknown " + result;
        };
    }

    /**
     * Splits the virtio header and packet at {@code in[off, off + len)}.
     *
     * @return the number of segments written (at least 1), or {@link #MALFORMED},
     *         {@link #UNSUPPORTED}, {@link #TOO_MANY_SEGMENTS} or {@link #NO_ROOM}; the caller
     *         counts any negative result as one dropped packet
     */
    public static int split(ByteBuffer in, int off, int len, ByteBuffer[] out, int outOff, int[] lengths) {
        if (len < VirtioNetHdr.SIZE || !inside(in, off, len)) {
            return MALFORMED;
        }
        int slots = Math.min(out.length, lengths.length);
        if (slots == 0) {
            return TOO_MANY_SEGMENTS;
        }
        int p = off + VirtioNetHdr.SIZE;
        int ipLen = IpPackets.length(in, p, len - VirtioNetHdr.SIZE);
        if (ipLen < 0) {
            return MALFORMED;
        }
        boolean inPlace = out[0] == in && outOff == p;
        int type = VirtioNetHdr.gsoType(in, off);
        return switch (type) {
            case VirtioNetHdr.GSO_NONE -> single(in, off, p, ipLen, out[0], outOff, lengths, inPlace);
            case VirtioNetHdr.GSO_TCPV4, VirtioNetHdr.GSO_TCPV6,
                 VirtioNetHdr.GSO_TCPV4 | VirtioNetHdr.GSO_ECN,
                 VirtioNetHdr.GSO_TCPV6 | VirtioNetHdr.GSO_ECN -> {
                // The ECN bit only tells a NIC that CWR is set; CWR is kept on the first segment
                // and cleared on the others either way, as Linux's own segmentation does.
                int wantVersion = (type & ~VirtioNetHdr.GSO_ECN) == VirtioNetHdr.GSO_TCPV4 ? 4 : 6;
                yield segment(in, off, p, ipLen, wantVersion, true, out, outOff, lengths, slots, inPlace, 0);
            }
            case VirtioNetHdr.GSO_UDP_L4 ->
                    segment(in, off, p, ipLen, version(in, p), false, out, outOff, lengths, slots, inPlace, 0);
            case VirtioNetHdr.GSO_UDP -> UNSUPPORTED;
            default -> MALFORMED;
        };
    }

    /**
     * As {@link #split} for what one {@code read()} of a TAP device with {@code IFF_VNET_HDR}
     * returns: a virtio header and an Ethernet frame, whose {@code csum_start} and {@code hdr_len}
     * count from the frame's first byte. A frame without segmentation goes out whole, as read
     * (with its checksum completed if it {@code NEEDS_CSUM}), whatever it carries. A super-frame
     * must carry IPv4 or IPv6 behind an untagged or singly tagged header ({@link EthernetHeader});
     * it is cut as {@link #split} cuts an IP packet, and every segment gets a copy of the frame's
     * link header in front of its IP header. A super-frame of anything else is
     * {@link #UNSUPPORTED}. Lengths in {@code lengths} are whole frames.
     */
    public static int splitFrame(ByteBuffer in, int off, int len, ByteBuffer[] out, int outOff, int[] lengths) {
        if (len < VirtioNetHdr.SIZE + EthernetHeader.UNTAGGED || !inside(in, off, len)) {
            return MALFORMED;
        }
        int slots = Math.min(out.length, lengths.length);
        if (slots == 0) {
            return TOO_MANY_SEGMENTS;
        }
        int frame = off + VirtioNetHdr.SIZE;
        int frameLen = len - VirtioNetHdr.SIZE;
        boolean inPlace = out[0] == in && outOff == frame;
        int type = VirtioNetHdr.gsoType(in, off);
        if (type == VirtioNetHdr.GSO_NONE) {
            // The checksum offsets count from the frame's start, so the frame is the "packet".
            return single(in, off, frame, frameLen, out[0], outOff, lengths, inPlace);
        }
        int link = EthernetHeader.ipOffset(in, frame, frameLen);
        if (link < 0) {
            return UNSUPPORTED;
        }
        int p = frame + link;
        int ipLen = IpPackets.length(in, p, frameLen - link);
        if (ipLen < 0 || version(in, p) != EthernetHeader.etherVersion(in, p)) {
            return MALFORMED;
        }
        return switch (type) {
            case VirtioNetHdr.GSO_TCPV4, VirtioNetHdr.GSO_TCPV6,
                 VirtioNetHdr.GSO_TCPV4 | VirtioNetHdr.GSO_ECN,
                 VirtioNetHdr.GSO_TCPV6 | VirtioNetHdr.GSO_ECN -> {
                int wantVersion = (type & ~VirtioNetHdr.GSO_ECN) == VirtioNetHdr.GSO_TCPV4 ? 4 : 6;
                yield segment(in, off, p, ipLen, wantVersion, true, out, outOff, lengths, slots, inPlace, link);
            }
            case VirtioNetHdr.GSO_UDP_L4 ->
                    segment(in, off, p, ipLen, version(in, p), false, out, outOff, lengths, slots, inPlace, link);
            case VirtioNetHdr.GSO_UDP -> UNSUPPORTED;
            default -> MALFORMED;
        };
    }

    private static int single(ByteBuffer in, int off, int p, int ipLen, ByteBuffer o, int q, int[] lengths,
                              boolean inPlace) {
        boolean needsCsum = (VirtioNetHdr.flags(in, off) & VirtioNetHdr.NEEDS_CSUM) != 0;
        int start = VirtioNetHdr.csumStart(in, off);
        int field = start + VirtioNetHdr.csumOffset(in, off);
        // The field must lie inside the summed range, at an even distance from its start so that
        // the partial sum it holds lines up with the words around it.
        if (needsCsum && (start >= ipLen || field > ipLen - 2 || ((field - start) & 1) != 0)) {
            return MALFORMED;
        }
        if (o == null || !inside(o, q, ipLen)) {
            return NO_ROOM;
        }
        if (!inPlace) {
            o.put(q, in, p, ipLen);
        }
        if (needsCsum) {
            int s = Checksum.sum(o, q + start, ipLen - start, 0);
            putBe16(o, q + field, Checksum.finishNonZero(s));
        }
        lengths[0] = ipLen;
        return 1;
    }

    private static int segment(ByteBuffer in, int off, int p, int ipLen, int version, boolean tcp,
                               ByteBuffer[] out, int outOff, int[] lengths, int slots, boolean inPlace,
                               int link) {
        if (version(in, p) != version) {
            return MALFORMED;
        }
        int protocol = tcp ? PROTO_TCP : PROTO_UDP;
        int ipHdr;
        if (version == 4) {
            ipHdr = ipv4HeaderLength(in, p);
            if ((be16(in, p + V4_FRAGMENT) & V4_MF_AND_OFFSET) != 0 || u8(in, p + V4_PROTOCOL) != protocol) {
                return MALFORMED;
            }
        } else {
            ipHdr = IPV6_HEADER;
            if (u8(in, p + V6_NEXT_HEADER) != protocol) {
                return UNSUPPORTED;
            }
        }
        if (ipLen - ipHdr < (tcp ? TCP_MIN_HEADER : UDP_HEADER)) {
            return MALFORMED;
        }
        int l4Hdr = tcp ? tcpHeaderLength(in, p + ipHdr) : UDP_HEADER;
        if (l4Hdr < UDP_HEADER || (tcp && l4Hdr < TCP_MIN_HEADER) || l4Hdr > ipLen - ipHdr) {
            return MALFORMED;
        }
        int hdrs = ipHdr + l4Hdr;
        int csumOffset = tcp ? TCP_CSUM_OFFSET : UDP_CHECKSUM;
        if (VirtioNetHdr.hdrLen(in, off) > link + ipLen
                || (VirtioNetHdr.flags(in, off) & VirtioNetHdr.NEEDS_CSUM) != 0
                && (VirtioNetHdr.csumStart(in, off) != link + ipHdr || VirtioNetHdr.csumOffset(in, off) != csumOffset)) {
            return MALFORMED;
        }
        int gso = VirtioNetHdr.gsoSize(in, off);
        if (gso == 0) {
            return MALFORMED;
        }
        int payload = ipLen - hdrs;
        int n = payload <= gso ? 1 : (payload - 1) / gso + 1;
        if (n > slots) {
            return TOO_MANY_SEGMENTS;
        }
        // Linux never segments a SYN or RST; copied into every segment they would be wrong.
        if (tcp && n > 1 && (u8(in, p + ipHdr + TCP_FLAGS) & (SYN | RST)) != 0) {
            return MALFORMED;
        }
        for (int i = 0; i < n; i++) {
            int segLen = hdrs + Math.min(gso, payload - i * gso);
            if (out[i] == null || !inside(out[i], outOff, link + segLen)) {
                return NO_ROOM;
            }
        }

        int l4 = p + ipHdr;
        int id = version == 4 ? be16(in, p + V4_ID) : 0;
        int seq = tcp ? be32(in, l4 + TCP_SEQ) : 0;
        int tcpFlags = tcp ? u8(in, l4 + TCP_FLAGS) : 0;
        // The addresses are the same in every segment: sum them once.
        int addressSum = version == 4
                ? Checksum.sum(in, p + V4_ADDRESSES, V4_ADDRESSES_LENGTH, 0)
                : Checksum.sum(in, p + V6_ADDRESSES, V6_ADDRESSES_LENGTH, 0);
        // Backwards, so that when the first segment is finished in place, the headers every other
        // segment copies are still the original ones.
        for (int i = n - 1; i >= 0; i--) {
            int at = i * gso;
            int chunk = Math.min(gso, payload - at);
            int segLen = hdrs + chunk;
            ByteBuffer o = out[i];
            int q = outOff + link;
            if (i != 0 || !inPlace) {
                if (link > 0) {
                    o.put(outOff, in, p - link, link);
                }
                o.put(q, in, p, hdrs);
                o.put(q + hdrs, in, p + hdrs + at, chunk);
            }
            if (version == 4) {
                putBe16(o, q + V4_TOTAL_LENGTH, segLen);
                putBe16(o, q + V4_ID, id + i);
                Checksum.writeIpv4Header(o, q);
            } else {
                putBe16(o, q + V6_PAYLOAD_LENGTH, segLen - IPV6_HEADER);
            }
            int t = q + ipHdr;
            int l4Len = segLen - ipHdr;
            if (tcp) {
                putBe32(o, t + TCP_SEQ, seq + at);
                int f = tcpFlags;
                if (i != n - 1) {
                    f &= ~(FIN | PSH);
                }
                if (i != 0) {
                    f &= ~CWR;
                }
                o.put(t + TCP_FLAGS, (byte) f);
                putBe16(o, t + TCP_CHECKSUM, 0);
                int s = Checksum.sum(o, t, l4Len, addressSum + PROTO_TCP + l4Len);
                putBe16(o, t + TCP_CHECKSUM, Checksum.finish(s));
            } else {
                putBe16(o, t + UDP_LENGTH, l4Len);
                putBe16(o, t + UDP_CHECKSUM, 0);
                int s = Checksum.sum(o, t, l4Len, addressSum + PROTO_UDP + l4Len);
                putBe16(o, t + UDP_CHECKSUM, Checksum.finishNonZero(s));
            }
            lengths[i] = link + segLen;
        }
        return n;
    }
}
