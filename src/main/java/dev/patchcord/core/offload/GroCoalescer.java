package dev.patchcord.core.offload;

import dev.patchcord.core.Checksum;
import dev.patchcord.core.NetHeaders;

import java.nio.ByteBuffer;
import java.util.Arrays;

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
    private static final int NONE = -1;
    private static final int KIND_PLAIN = 0;
    private static final int KIND_TCP4 = 4;
    private static final int KIND_TCP6 = 6;
    /** A UDP kind is its IP version with this bit. */
    private static final int UDP_BIT = 0x10;
    private static final int KIND_UDP4 = KIND_TCP4 | UDP_BIT;
    private static final int KIND_UDP6 = KIND_TCP6 | UDP_BIT;
    private static final int HIDES_TCP = 1;
    private static final int HIDES_UDP = 2;
    /**
     * The most datagrams one UDP super-datagram carries: Linux before 6.11 refuses a
     * {@code GSO_UDP_L4} write with more segments than this ({@code UDP_MAX_SEGMENTS}).
     */
    public static final int MAX_UDP_SEGMENTS = 64;

    private final boolean udp;

    private final int capacity;
    private final ByteBuffer[] bufs;
    /** Where each output's IP packet starts; its virtio header is just in front. */
    private final int[] ipOff;
    /** Each output's current IP length. */
    private final int[] ipLen;
    private final int[] room;
    private final byte[] kind;
    private final byte[] ipHdr;
    /** Each output's TCP or UDP header length. */
    private final byte[] l4Hdr;
    private final int[] gsoSize;
    private final int[] nextSeq;
    private final int[] segments;
    private final boolean[] open;
    private final boolean[] push;
    /** The next older output in the same hash bucket, for finding a flow's newest output. */
    private final int[] chain;
    private final int[] buckets;
    private final int bucketMask;

    private int count;
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
        capacity = maxOutputs;
        this.udp = udp;
        bufs = new ByteBuffer[maxOutputs];
        ipOff = new int[maxOutputs];
        ipLen = new int[maxOutputs];
        room = new int[maxOutputs];
        kind = new byte[maxOutputs];
        ipHdr = new byte[maxOutputs];
        l4Hdr = new byte[maxOutputs];
        gsoSize = new int[maxOutputs];
        nextSeq = new int[maxOutputs];
        segments = new int[maxOutputs];
        open = new boolean[maxOutputs];
        push = new boolean[maxOutputs];
        chain = new int[maxOutputs];
        int b = Integer.highestOneBit(maxOutputs) << 2;
        buckets = new int[b];
        bucketMask = b - 1;
        Arrays.fill(buckets, NONE);
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
        if (off < VirtioNetHdr.SIZE || !inside(buf, off, len)) {
            throw new IllegalArgumentException("packet at " + off + "+" + len + " needs "
                    + VirtioNetHdr.SIZE + " bytes of headroom within limit " + buf.limit());
        }
        if (flushed) {
            clear();
        }
        int k = flowKind(buf, off, len);
        if (k == KIND_PLAIN) {
            if (count == capacity) {
                return false;
            }
            int hides = mayHide(buf, off, len);
            if (hides != 0) {
                close(hides);
            }
            return plain(buf, off, len);
        }
        boolean isUdp = (k & UDP_BIT) != 0;
        int ih = k == KIND_TCP4 || k == KIND_UDP4 ? ipv4HeaderLength(buf, off) : IPV6_HEADER;
        int th = isUdp ? UDP_HEADER : tcpHeaderLength(buf, off + ih);
        int bucket = flowHash(buf, off, k, ih) & bucketMask;
        int h = newestOfFlow(bucket, buf, off, k, ih);
        boolean candidate = isUdp ? udpCandidate(buf, off, len, k, ih) : candidate(buf, off, len, k, ih, th);
        if (h != NONE && open[h]) {
            if (candidate && (isUdp ? udpJoins(h, buf, off, len, ih) : joins(h, buf, off, len, ih, th))
                    && mergeable(h, buf, off, len, k, ih)) {
                if (isUdp) {
                    mergeUdp(h, buf, off, len, ih);
                } else {
                    merge(h, buf, off, len, ih, th);
                }
                return true;
            }
            open[h] = false;
        }
        if (!candidate) {
            return plain(buf, off, len);
        }
        if (count == capacity) {
            return false;
        }
        int o = start(buf, off, len, KIND_PLAIN);
        kind[o] = (byte) k;
        ipHdr[o] = (byte) ih;
        l4Hdr[o] = (byte) th;
        gsoSize[o] = len - ih - th;
        if (isUdp) {
            open[o] = true;
        } else {
            nextSeq[o] = be32(buf, off + ih + TCP_SEQ) + gsoSize[o];
            open[o] = (u8(buf, off + ih + TCP_FLAGS) & PSH) == 0;
        }
        chain[o] = buckets[bucket];
        buckets[bucket] = o;
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
        for (int o = 0; o < count; o++) {
            finishOutput(o);
        }
        flushed = true;
        return count;
    }

    /** The buffer holding output {@code i}. */
    public ByteBuffer buffer(int i) {
        return bufs[i];
    }

    /** Where output {@code i} starts in its buffer: at its virtio header. */
    public int offset(int i) {
        return ipOff[i] - VirtioNetHdr.SIZE;
    }

    /** The length of output {@code i}, virtio header included. */
    public int length(int i) {
        return VirtioNetHdr.SIZE + ipLen[i];
    }

    /** How many received packets output {@code i} carries (1 for one that went through as it was). */
    public int segments(int i) {
        return segments[i];
    }

    /** Forgets the batch (and drops the references to its buffers). */
    public void clear() {
        Arrays.fill(bufs, 0, count, null);
        Arrays.fill(buckets, NONE);
        count = 0;
        flushed = false;
    }

    /**
     * Whether a packet whose flow cannot be told might still be TCP (or UDP) of a flow being
     * merged: an IPv4 fragment or header too short to read, an IPv6 packet behind extension
     * headers. Merging a later packet past it could deliver it out of order, so it closes every
     * flow of that protocol ({@link #HIDES_TCP}, {@link #HIDES_UDP}, both, or 0).
     */
    private int mayHide(ByteBuffer buf, int off, int len) {
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

    private void close(int hides) {
        for (int o = 0; o < count; o++) {
            if ((hides & ((kind[o] & UDP_BIT) != 0 ? HIDES_UDP : HIDES_TCP)) != 0) {
                open[o] = false;
            }
        }
    }

    private boolean plain(ByteBuffer buf, int off, int len) {
        if (count == capacity) {
            return false;
        }
        start(buf, off, len, KIND_PLAIN);
        return true;
    }

    private int start(ByteBuffer buf, int off, int len, int k) {
        int o = count++;
        bufs[o] = buf;
        ipOff[o] = off;
        ipLen[o] = len;
        room[o] = buf.limit() - off;
        kind[o] = (byte) k;
        segments[o] = 1;
        open[o] = false;
        push[o] = false;
        chain[o] = NONE;
        return o;
    }

    /**
     * Whether the packet is TCP (or, if merging UDP, UDP) in a form whose flow can be told: IPv4
     * (any header length) that is not a later fragment, or IPv6 with TCP or UDP right after the
     * fixed header; and its TCP or UDP header is all there. Anything else is {@code KIND_PLAIN},
     * belongs to no flow and goes through.
     */
    private int flowKind(ByteBuffer buf, int off, int len) {
        if (len < IPV4_MIN_HEADER) {
            return KIND_PLAIN;
        }
        int v = version(buf, off);
        int ih;
        int proto;
        if (v == 4) {
            ih = ipv4HeaderLength(buf, off);
            proto = u8(buf, off + V4_PROTOCOL);
            if (ih < IPV4_MIN_HEADER || (be16(buf, off + V4_FRAGMENT) & 0x1fff) != 0) {
                return KIND_PLAIN;
            }
        } else if (v == 6 && len >= IPV6_HEADER) {
            ih = IPV6_HEADER;
            proto = u8(buf, off + V6_NEXT_HEADER);
        } else {
            return KIND_PLAIN;
        }
        if (proto == PROTO_UDP && udp) {
            return len - ih < UDP_HEADER ? KIND_PLAIN : v == 4 ? KIND_UDP4 : KIND_UDP6;
        }
        if (proto != PROTO_TCP || len - ih < TCP_MIN_HEADER) {
            return KIND_PLAIN;
        }
        int th = tcpHeaderLength(buf, off + ih);
        if (th < TCP_MIN_HEADER || th > len - ih) {
            return KIND_PLAIN;
        }
        return v == 4 ? KIND_TCP4 : KIND_TCP6;
    }

    /** Whether the segment could be merged at all, judged on its own. */
    private static boolean candidate(ByteBuffer buf, int off, int len, int k, int ih, int th) {
        if (len - ih - th <= 0) {
            return false;
        }
        if (k == KIND_TCP4) {
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
    private static boolean udpCandidate(ByteBuffer buf, int off, int len, int k, int ih) {
        if (len - ih - UDP_HEADER <= 0 || be16(buf, off + ih + UDP_LENGTH) != len - ih
                || be16(buf, off + ih + UDP_CHECKSUM) == 0) {
            // Empty, padded, or without a checksum (IPv4 allows it): the kernel would checksum
            // the merged datagram, which the sender did not ask for.
            return false;
        }
        if (k == KIND_UDP4) {
            return ih == IPV4_MIN_HEADER && be16(buf, off + V4_TOTAL_LENGTH) == len
                    && (be16(buf, off + V4_FRAGMENT) & V4_MF_AND_OFFSET) == 0;
        }
        return be16(buf, off + V6_PAYLOAD_LENGTH) == len - IPV6_HEADER;
    }

    private static int flowHash(ByteBuffer buf, int off, int k, int ih) {
        int h = be32(buf, off + ih); // both ports
        if ((k & ~UDP_BIT) == KIND_TCP4) {
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

    /** The newest output of the packet's flow in this batch, open or not, or {@code NONE}. */
    private int newestOfFlow(int bucket, ByteBuffer buf, int off, int k, int ih) {
        for (int o = buckets[bucket]; o != NONE; o = chain[o]) {
            if (kind[o] == k && sameFlow(o, buf, off, k, ih)) {
                return o;
            }
        }
        return NONE;
    }

    private boolean sameFlow(int o, ByteBuffer buf, int off, int k, int ih) {
        ByteBuffer hb = bufs[o];
        int ho = ipOff[o];
        boolean addresses = (k & ~UDP_BIT) == KIND_TCP4
                ? sameBytes(hb, ho + V4_ADDRESSES, buf, off + V4_ADDRESSES, V4_ADDRESSES_LENGTH)
                : sameBytes(hb, ho + V6_ADDRESSES, buf, off + V6_ADDRESSES, V6_ADDRESSES_LENGTH);
        return addresses && be32(hb, ho + ipHdr[o]) == be32(buf, off + ih);
    }

    /** The header and sequence rules for joining open output {@code h} (of the same flow). */
    private boolean joins(int h, ByteBuffer buf, int off, int len, int ih, int th) {
        ByteBuffer hb = bufs[h];
        int ho = ipOff[h];
        if (th != l4Hdr[h] || ih != ipHdr[h]) {
            return false;
        }
        int payload = len - ih - th;
        if (payload > gsoSize[h] || be32(buf, off + ih + TCP_SEQ) != nextSeq[h]
                || ipLen[h] + payload > Math.min(MAX_IP_LENGTH, room[h])) {
            return false;
        }
        boolean ip = sameIpFields(h, buf, off);
        int ht = ho + ih;
        int t = off + ih;
        return ip && be32(hb, ht + TCP_ACK) == be32(buf, t + TCP_ACK)
                && u8(hb, ht + TCP_DATA_OFFSET) == u8(buf, t + TCP_DATA_OFFSET)
                && sameBytes(hb, ht + TCP_MIN_HEADER, buf, t + TCP_MIN_HEADER, th - TCP_MIN_HEADER);
    }

    /** The IP fields that must match for a packet to join output {@code h}. */
    private boolean sameIpFields(int h, ByteBuffer buf, int off) {
        ByteBuffer hb = bufs[h];
        int ho = ipOff[h];
        return (kind[h] & ~UDP_BIT) == KIND_TCP4
                ? u8(hb, ho + V4_TOS) == u8(buf, off + V4_TOS)
                        && be16(hb, ho + V4_FRAGMENT) == be16(buf, off + V4_FRAGMENT)
                        && u8(hb, ho + V4_TTL) == u8(buf, off + V4_TTL)
                : be32(hb, ho) == be32(buf, off) && u8(hb, ho + V6_HOP_LIMIT) == u8(buf, off + V6_HOP_LIMIT);
    }

    /** The rules for a UDP datagram joining open output {@code h} (of the same flow). */
    private boolean udpJoins(int h, ByteBuffer buf, int off, int len, int ih) {
        int payload = len - ih - UDP_HEADER;
        return ih == ipHdr[h] && payload <= gsoSize[h] && segments[h] < MAX_UDP_SEGMENTS
                && ipLen[h] + payload <= Math.min(MAX_IP_LENGTH, room[h])
                && sameIpFields(h, buf, off);
    }

    private void mergeUdp(int h, ByteBuffer buf, int off, int len, int ih) {
        int payload = len - ih - UDP_HEADER;
        ByteBuffer hb = bufs[h];
        hb.put(ipOff[h] + ipLen[h], buf, off + ih + UDP_HEADER, payload);
        ipLen[h] += payload;
        segments[h]++;
        if (payload < gsoSize[h] || segments[h] == MAX_UDP_SEGMENTS) {
            open[h] = false;
        }
    }

    /**
     * The checksum rules: the segment's own checksums hold, and so do the first segment's, which
     * are checked only now, when something is about to be merged into it.
     */
    private boolean mergeable(int h, ByteBuffer buf, int off, int len, int k, int ih) {
        if (segments[h] == 1 && !checksumsValid(bufs[h], ipOff[h], ipLen[h], k, ih)) {
            return false;
        }
        return checksumsValid(buf, off, len, k, ih);
    }

    private static boolean checksumsValid(ByteBuffer buf, int off, int len, int k, int ih) {
        int version = k & ~UDP_BIT;
        if (version == 4 && !Checksum.ipv4HeaderValid(buf, off)) {
            return false;
        }
        int l4Len = len - ih;
        int pseudo = Checksum.pseudoHeader(buf, off, version, (k & UDP_BIT) != 0 ? PROTO_UDP : PROTO_TCP, l4Len);
        return Checksum.sum(buf, off + ih, l4Len, pseudo) == 0xffff;
    }

    private void merge(int h, ByteBuffer buf, int off, int len, int ih, int th) {
        int payload = len - ih - th;
        ByteBuffer hb = bufs[h];
        int ho = ipOff[h];
        hb.put(ho + ipLen[h], buf, off + ih + th, payload);
        ipLen[h] += payload;
        nextSeq[h] += payload;
        segments[h]++;
        putBe16(hb, ho + ih + TCP_WINDOW, be16(buf, off + ih + TCP_WINDOW));
        if ((u8(buf, off + ih + TCP_FLAGS) & PSH) != 0) {
            push[h] = true;
            open[h] = false;
        } else if (payload < gsoSize[h]) {
            open[h] = false;
        }
    }

    private void finishOutput(int o) {
        ByteBuffer b = bufs[o];
        int ip = ipOff[o];
        if (segments[o] == 1) {
            VirtioNetHdr.writeNone(b, ip - VirtioNetHdr.SIZE);
            return;
        }
        int ih = ipHdr[o];
        int total = ipLen[o];
        int version = kind[o] & ~UDP_BIT;
        if (version == 4) {
            putBe16(b, ip + V4_TOTAL_LENGTH, total);
            Checksum.writeIpv4Header(b, ip);
        } else {
            putBe16(b, ip + V6_PAYLOAD_LENGTH, total - IPV6_HEADER);
        }
        int t = ip + ih;
        if ((kind[o] & UDP_BIT) != 0) {
            putBe16(b, t + UDP_LENGTH, total - ih);
            putBe16(b, t + UDP_CHECKSUM, Checksum.pseudoHeader(b, ip, version, PROTO_UDP, total - ih));
            VirtioNetHdr.write(b, ip - VirtioNetHdr.SIZE, VirtioNetHdr.NEEDS_CSUM, VirtioNetHdr.GSO_UDP_L4,
                    ih + UDP_HEADER, gsoSize[o], ih, UDP_CHECKSUM);
            return;
        }
        if (push[o]) {
            b.put(t + TCP_FLAGS, (byte) (u8(b, t + TCP_FLAGS) | PSH));
        }
        putBe16(b, t + TCP_CHECKSUM, Checksum.pseudoHeader(b, ip, kind[o], PROTO_TCP, total - ih));
        VirtioNetHdr.write(b, ip - VirtioNetHdr.SIZE, VirtioNetHdr.NEEDS_CSUM,
                kind[o] == KIND_TCP4 ? VirtioNetHdr.GSO_TCPV4 : VirtioNetHdr.GSO_TCPV6,
                ih + l4Hdr[o], gsoSize[o], ih, TCP_CHECKSUM);
    }
}
