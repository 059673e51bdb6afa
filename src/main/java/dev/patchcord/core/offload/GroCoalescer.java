package dev.patchcord.core.offload;

import java.nio.ByteBuffer;
import java.util.Arrays;

import static dev.patchcord.core.offload.NetHeaders.*;

/**
 * Merges a batch of received TCP segments into super-packets before they are written to a TUN
 * device with {@code IFF_VNET_HDR}, so that one {@code write()} hands the kernel up to 64 KiB of a
 * flow, the way a NIC's GRO would. Everything else in the batch goes through unchanged behind an
 * all-zero {@link VirtioNetHdr}.
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
 * All state is allocated by the constructor; one instance serves one thread.
 */
public final class GroCoalescer {
    private static final int NONE = -1;
    private static final int KIND_PLAIN = 0;
    private static final int KIND_TCP4 = 4;
    private static final int KIND_TCP6 = 6;

    private final int capacity;
    private final ByteBuffer[] bufs;
    /** Where each output's IP packet starts; its virtio header is just in front. */
    private final int[] ipOff;
    /** Each output's current IP length. */
    private final int[] ipLen;
    private final int[] room;
    private final byte[] kind;
    private final byte[] ipHdr;
    private final byte[] tcpHdr;
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
        if (maxOutputs < 1 || maxOutputs > 1 << 16) {
            throw new IllegalArgumentException("maxOutputs must be between 1 and 65536: " + maxOutputs);
        }
        capacity = maxOutputs;
        bufs = new ByteBuffer[maxOutputs];
        ipOff = new int[maxOutputs];
        ipLen = new int[maxOutputs];
        room = new int[maxOutputs];
        kind = new byte[maxOutputs];
        ipHdr = new byte[maxOutputs];
        tcpHdr = new byte[maxOutputs];
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
        int k = tcpKind(buf, off, len);
        if (k == KIND_PLAIN) {
            if (count == capacity) {
                return false;
            }
            if (mayHideTcp(buf, off, len)) {
                closeAll();
            }
            return plain(buf, off, len);
        }
        int ih = k == KIND_TCP4 ? ipv4HeaderLength(buf, off) : IPV6_HEADER;
        int th = tcpHeaderLength(buf, off + ih);
        int bucket = flowHash(buf, off, k, ih) & bucketMask;
        int h = newestOfFlow(bucket, buf, off, k, ih);
        boolean candidate = candidate(buf, off, len, k, ih, th);
        if (h != NONE && open[h]) {
            if (candidate && joins(h, buf, off, len, ih, th) && mergeable(h, buf, off, len, k, ih)) {
                merge(h, buf, off, len, ih, th);
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
        tcpHdr[o] = (byte) th;
        gsoSize[o] = len - ih - th;
        nextSeq[o] = be32(buf, off + ih + TCP_SEQ) + gsoSize[o];
        open[o] = (u8(buf, off + ih + TCP_FLAGS) & PSH) == 0;
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
     * Whether a packet whose flow cannot be told might still be TCP of a flow being merged: an
     * IPv4 TCP fragment or TCP header too short to read, an IPv6 packet behind extension headers.
     * Merging a later segment past it could deliver it out of order, so it closes every flow.
     */
    private static boolean mayHideTcp(ByteBuffer buf, int off, int len) {
        if (len < IPV4_MIN_HEADER) {
            return false;
        }
        int v = version(buf, off);
        if (v == 4) {
            return u8(buf, off + V4_PROTOCOL) == PROTO_TCP;
        }
        if (v != 6 || len < IPV6_HEADER) {
            return false;
        }
        return switch (u8(buf, off + V6_NEXT_HEADER)) {
            // TCP itself (too short to read), hop-by-hop, routing, fragment, ESP, AH, destination
            // options, mobility, HIP, shim6 and the two experimental values: any may have TCP inside.
            case PROTO_TCP, 0, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254 -> true;
            default -> false;
        };
    }

    private void closeAll() {
        Arrays.fill(open, 0, count, false);
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
     * Whether the packet is TCP in a form whose flow can be told: IPv4 (any header length) that is
     * not a later fragment, or IPv6 with TCP right after the fixed header; and its TCP header is
     * all there. Anything else is {@code KIND_PLAIN}, belongs to no flow and goes through.
     */
    private static int tcpKind(ByteBuffer buf, int off, int len) {
        if (len < IPV4_MIN_HEADER) {
            return KIND_PLAIN;
        }
        int v = version(buf, off);
        int ih;
        if (v == 4) {
            ih = ipv4HeaderLength(buf, off);
            if (ih < IPV4_MIN_HEADER || u8(buf, off + V4_PROTOCOL) != PROTO_TCP
                    || (be16(buf, off + V4_FRAGMENT) & 0x1fff) != 0) {
                return KIND_PLAIN;
            }
        } else if (v == 6 && len >= IPV6_HEADER) {
            ih = IPV6_HEADER;
            if (u8(buf, off + V6_NEXT_HEADER) != PROTO_TCP) {
                return KIND_PLAIN;
            }
        } else {
            return KIND_PLAIN;
        }
        if (len - ih < TCP_MIN_HEADER) {
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

    private static int flowHash(ByteBuffer buf, int off, int k, int ih) {
        int h = be32(buf, off + ih); // both ports
        if (k == KIND_TCP4) {
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
        boolean addresses = k == KIND_TCP4
                ? sameBytes(hb, ho + V4_ADDRESSES, buf, off + V4_ADDRESSES, V4_ADDRESSES_LENGTH)
                : sameBytes(hb, ho + V6_ADDRESSES, buf, off + V6_ADDRESSES, V6_ADDRESSES_LENGTH);
        return addresses && be32(hb, ho + ipHdr[o]) == be32(buf, off + ih);
    }

    /** The header and sequence rules for joining open output {@code h} (of the same flow). */
    private boolean joins(int h, ByteBuffer buf, int off, int len, int ih, int th) {
        ByteBuffer hb = bufs[h];
        int ho = ipOff[h];
        if (th != tcpHdr[h] || ih != ipHdr[h]) {
            return false;
        }
        int payload = len - ih - th;
        if (payload > gsoSize[h] || be32(buf, off + ih + TCP_SEQ) != nextSeq[h]
                || ipLen[h] + payload > Math.min(MAX_IP_LENGTH, room[h])) {
            return false;
        }
        boolean ip = kind[h] == KIND_TCP4
                ? u8(hb, ho + V4_TOS) == u8(buf, off + V4_TOS)
                        && be16(hb, ho + V4_FRAGMENT) == be16(buf, off + V4_FRAGMENT)
                        && u8(hb, ho + V4_TTL) == u8(buf, off + V4_TTL)
                : be32(hb, ho) == be32(buf, off) && u8(hb, ho + V6_HOP_LIMIT) == u8(buf, off + V6_HOP_LIMIT);
        int ht = ho + ih;
        int t = off + ih;
        return ip && be32(hb, ht + TCP_ACK) == be32(buf, t + TCP_ACK)
                && u8(hb, ht + TCP_DATA_OFFSET) == u8(buf, t + TCP_DATA_OFFSET)
                && sameBytes(hb, ht + TCP_MIN_HEADER, buf, t + TCP_MIN_HEADER, th - TCP_MIN_HEADER);
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
        if (k == KIND_TCP4 && !Checksum.ipv4HeaderValid(buf, off)) {
            return false;
        }
        int l4Len = len - ih;
        int pseudo = Checksum.pseudoHeader(buf, off, k, PROTO_TCP, l4Len);
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
        if (kind[o] == KIND_TCP4) {
            putBe16(b, ip + V4_TOTAL_LENGTH, total);
            Checksum.writeIpv4Header(b, ip);
        } else {
            putBe16(b, ip + V6_PAYLOAD_LENGTH, total - IPV6_HEADER);
        }
        int t = ip + ih;
        if (push[o]) {
            b.put(t + TCP_FLAGS, (byte) (u8(b, t + TCP_FLAGS) | PSH));
        }
        putBe16(b, t + TCP_CHECKSUM, Checksum.pseudoHeader(b, ip, kind[o], PROTO_TCP, total - ih));
        VirtioNetHdr.write(b, ip - VirtioNetHdr.SIZE, VirtioNetHdr.NEEDS_CSUM,
                kind[o] == KIND_TCP4 ? VirtioNetHdr.GSO_TCPV4 : VirtioNetHdr.GSO_TCPV6,
                ih + tcpHdr[o], gsoSize[o], ih, TCP_CHECKSUM);
    }
}
