package dev.patchcord.core.offload;

import java.nio.ByteBuffer;

import static dev.patchcord.core.NetHeaders.*;

/**
 * Merges a batch of received TCP segments (and, if asked, UDP datagrams) into super-packets before
 * they are written to a TUN device with {@code IFF_VNET_HDR}, so that one {@code write()} hands the
 * kernel up to 64 KiB of a flow, the way a NIC's GRO would. Everything else in the batch goes
 * through unchanged behind an all-zero {@link VirtioNetHdr}.
 *
 * <p>Use: {@link #add} each decrypted packet of a batch, {@link #flush}, then write output
 * {@code i} as {@code buffer(i)[offset(i), offset(i) + length(i))} for {@code i < flush()}. The
 * next {@code add} starts a new batch (a {@code flush} with no {@code add} since the last one
 * is an empty batch). Nothing is copied except merged payload: a flow grows in
 * place in the buffer of its first packet, so the caller gives every packet
 * {@link VirtioNetHdr#SIZE} bytes of headroom (the header is written there) and may give it
 * tailroom up to the buffer's limit (merged payload is appended there; no tailroom, no merging
 * into that packet), so two packets of a batch must not share a buffer below its limit. Until the
 * batch is written, those bytes, and the buffers of packets that were merged away, belong to the
 * coalescer.
 *
 * <p>A segment joins the flow's open super-packet only if all of these hold, and the super-packet
 * stays within 65535 bytes of IP length and its buffer's limit:
 * <ul>
 * <li>same IP version, addresses and ports; IPv4 without options or fragmentation, with equal TOS,
 *     DF and TTL and a valid header checksum; IPv6 with TCP as next header and equal traffic class,
 *     flow label and hop limit;
 * <li>equal TCP header length, options bytes and acknowledgement number; flags ACK, or ACK and PSH;
 * <li>its sequence number follows on exactly, its payload is no larger than the first segment's
 *     (which becomes {@code gso_size}) and the super-packet is still open: a shorter segment or
 *     one with PSH is merged as the last;
 * <li>its TCP checksum is valid, and so was the first segment's. A segment that fails the check
 *     goes through unmerged so that the kernel drops it, as it would have.
 * </ul>
 * The merged packet keeps its first segment's header, except for the lengths, PSH if the last
 * segment had it, and the window (the latest advertised, the one a receiver would end with).
 * IPv4 ids are not compared: should the kernel cut the packet up again (to forward it), it
 * numbers the segments on from the first one's id. Any
 * TCP packet of a flow that does not join its open super-packet closes it, so a flow's packets
 * never pass each other; packets of different flows may: each output goes out at the position of
 * its first packet. A packet that might be TCP but whose flow cannot be told (an IPv4 fragment,
 * IPv6 behind extension headers) closes every open super-packet, for the same reason. Output
 * {@code i} holds {@code segments(i)} packets.
 *
 * <p>A merged output carries {@code NEEDS_CSUM} with {@code csum_start} at the TCP header,
 * {@code csum_offset} 16 and the pseudo-header sum for the whole TCP length in the checksum field,
 * which is what Linux expects of a {@code CHECKSUM_PARTIAL} packet; it computes or skips the rest.
 *
 * <p>UDP (only when constructed with {@code udp}, for a kernel that takes {@code GSO_UDP_L4}
 * writes, Linux 6.2 on): a datagram joins its flow's open super-datagram if it has the same IP
 * version, addresses and ports; IPv4 without options or fragmentation, with equal TOS, DF and TTL
 * and a valid header checksum; IPv6 with UDP as next header and equal traffic class, flow label and
 * hop limit; a UDP length that matches the IP length, a non-zero, valid checksum (as must the
 * first datagram's); and a payload no larger than the first datagram's ({@code gso_size}), a
 * shorter one being merged as the last. At most {@link #MAX_UDP_SEGMENTS} datagrams make one
 * super-datagram, the most older kernels cut one into. The output is one UDP header over the
 * concatenated payloads, its length the whole, with {@code GSO_UDP_L4}, {@code NEEDS_CSUM} at
 * offset 6 and the pseudo-header sum in the checksum field; the kernel cuts it back into the same
 * datagrams (or hands it whole to a socket with {@code UDP_GRO}). This is what lets a tunnel
 * inside the tunnel (its datagrams are all one size, one flow) receive a batch per write.
 * UDP and TCP flows are told apart, and a packet that might hide UDP of a flow (an IPv4 UDP
 * fragment) closes every open UDP super-datagram.
 *
 * <p>All state is allocated by the constructor; one instance serves one thread.
 */
public final class GroCoalescer {
    /**
     * The most datagrams one UDP super-datagram carries: Linux before 6.11 refuses a
     * {@code GSO_UDP_L4} write with more segments than this ({@code UDP_MAX_SEGMENTS}).
     */
    public static final int MAX_UDP_SEGMENTS = 64;

    private final boolean udp;
    private final SuperPackets out;
    private boolean flushed;

    /**
     * @param maxOutputs how many outputs one batch may have; {@link #add} refuses a packet that
     *                   would need one more. A batch of that many packets always fits.
     */
    public GroCoalescer(int maxOutputs) {
        this(maxOutputs, false);
    }

    /**
     * @param maxOutputs as for {@link #GroCoalescer(int)}
     * @param udp        whether to merge UDP datagrams too: only for a TUN whose kernel takes
     *                   {@code GSO_UDP_L4} writes (it accepted {@code TUN_F_USO4/6})
     */
    public GroCoalescer(int maxOutputs, boolean udp) {
        if (maxOutputs < 1 || maxOutputs > 1 << 16) {
            throw new IllegalArgumentException("maxOutputs must be between 1 and 65536: " + maxOutputs);
        }
        this.udp = udp;
        out = new SuperPackets(maxOutputs);
    }

    /**
     * Adds one IP packet at {@code buf[off, off + len)}.
     *
     * @return false if the batch has no output left for it: nothing was added; flush, write and
     *         add it again
     * @throws IllegalArgumentException if there is no headroom for the virtio header or the
     *         packet is not inside the buffer's limit (a caller's bug, not bad packet data)
     */
    public boolean add(ByteBuffer buf, int off, int len) {
        requireRoom(buf, off, len);
        return add(buf, off, len, 0);
    }

    /**
     * As {@link #add} for an Ethernet frame at {@code buf[off, off + len)}, to be written to a
     * TAP device with {@code IFF_VNET_HDR}. A frame that carries IPv4 or IPv6 behind an untagged
     * or singly tagged header ({@link EthernetHeader}) is merged by the same rules as an IP packet,
     * with frames of its flow that have the very same link header; the merged frame keeps the
     * first frame's link header, and its virtio header's offsets count from the frame's start.
     * Any other frame goes through whole.
     */
    public boolean addFrame(ByteBuffer buf, int off, int len) {
        requireRoom(buf, off, len);
        int link = EthernetHeader.ipOffset(buf, off, len);
        if (link < 0 || version(buf, off + link) != EthernetHeader.etherVersion(buf, off + link)) {
            if (flushed) {
                clear();
            }
            return plain(buf, off, len, 0);
        }
        return add(buf, off + link, len - link, link);
    }

    private static void requireRoom(ByteBuffer buf, int off, int len) {
        if (off < VirtioNetHdr.SIZE || !inside(buf, off, len)) {
            throw new IllegalArgumentException("packet at " + off + "+" + len + " needs "
                    + VirtioNetHdr.SIZE + " bytes of headroom within limit " + buf.limit());
        }
    }

    /** Adds the IP packet at {@code off}, behind a link header of {@code link} bytes (0 on a TUN). */
    private boolean add(ByteBuffer buf, int off, int len, int link) {
        if (flushed) {
            clear();
        }
        SuperPackets s = out;
        int k = FlowKind.of(buf, off, len, udp);
        if (k == FlowKind.PLAIN) {
            if (s.full()) {
                return false;
            }
            int hides = FlowKind.mayHide(buf, off, len, udp);
            if (hides != 0) {
                s.close(hides);
            }
            return plain(buf, off, len, link);
        }
        boolean isUdp = FlowKind.isUdp(k);
        int ih = k == FlowKind.TCP4 || k == FlowKind.UDP4 ? ipv4HeaderLength(buf, off) : IPV6_HEADER;
        int th = isUdp ? UDP_HEADER : tcpHeaderLength(buf, off + ih);
        int bucket = s.bucket(buf, off, k, ih);
        int h = s.newestOfFlow(bucket, buf, off, link, k, ih);
        boolean candidate = isUdp ? FlowKind.udpCandidate(buf, off, len, k, ih)
                : FlowKind.tcpCandidate(buf, off, len, k, ih, th);
        if (h != FlowKind.NONE && s.open[h]) {
            if (candidate && (isUdp ? SegmentJoin.udpJoins(s, h, buf, off, len, ih)
                            : SegmentJoin.tcpJoins(s, h, buf, off, len, ih, th))
                    && SegmentJoin.mergeable(s, h, buf, off, len, k, ih)) {
                if (isUdp) {
                    SegmentJoin.mergeUdp(s, h, buf, off, len, ih);
                } else {
                    SegmentJoin.mergeTcp(s, h, buf, off, len, ih, th);
                }
                return true;
            }
            s.open[h] = false;
        }
        if (!candidate) {
            return plain(buf, off, len, link);
        }
        if (s.full()) {
            return false;
        }
        s.startFlow(bucket, buf, off, len, link, k, ih, th);
        return true;
    }

    /**
     * Ends the batch: writes every output's virtio header and finishes the headers of merged
     * packets.
     *
     * @return the number of outputs, to be written in order
     */
    public int flush() {
        if (flushed) {
            clear(); // a flush with no add since the last one: an empty batch
        }
        SuperPackets s = out;
        for (int o = 0; o < s.count; o++) {
            s.finish(o);
        }
        flushed = true;
        return s.count;
    }

    /** The buffer holding output {@code i}. */
    public ByteBuffer buffer(int i) {
        return out.bufs[i];
    }

    /** Where output {@code i} starts in its buffer: at its virtio header. */
    public int offset(int i) {
        return out.ipOff[i] - out.link[i] - VirtioNetHdr.SIZE;
    }

    /** The length of output {@code i}, virtio header (and a frame's link header) included. */
    public int length(int i) {
        return VirtioNetHdr.SIZE + out.link[i] + out.ipLen[i];
    }

    /** How many received packets output {@code i} carries (1 for one that went through as it was). */
    public int segments(int i) {
        return out.segments[i];
    }

    /** Forgets the batch (and drops the references to its buffers). */
    public void clear() {
        out.clear();
        flushed = false;
    }

    private boolean plain(ByteBuffer buf, int off, int len, int link) {
        if (out.full()) {
            return false;
        }
        out.plain(buf, off, len, link);
        return true;
    }
}
