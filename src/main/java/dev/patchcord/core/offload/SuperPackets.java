package dev.patchcord.core.offload;

import dev.patchcord.core.Checksum;

import java.nio.ByteBuffer;
import java.util.Arrays;

import static dev.patchcord.core.NetHeaders.*;
import static dev.patchcord.core.offload.FlowKind.NONE;
import static dev.patchcord.core.offload.FlowKind.PLAIN;
import static dev.patchcord.core.offload.FlowKind.TCP4;
import static dev.patchcord.core.offload.FlowKind.UDP_BIT;

/**
 * The outputs of one {@link GroCoalescer} batch, in the order they go out: each a packet that goes
 * through as it was or a super-packet growing in the buffer of its first packet, and an index from
 * a flow to its newest output. Arrays indexed by output, all allocated here, so that a batch
 * allocates nothing; {@link SegmentJoin} reads and grows them.
 */
final class SuperPackets {
    final int capacity;
    final ByteBuffer[] bufs;
    /**
     * Where each output's IP packet starts; its link header ({@link #link} bytes, an Ethernet
     * frame's on a TAP) and its virtio header are just in front.
     */
    final int[] ipOff;
    /** Each output's link header length: 0 on a TUN or for a frame that goes through whole. */
    final byte[] link;
    /** Each output's current IP length. */
    final int[] ipLen;
    /** How far each output may grow: to its buffer's limit. */
    final int[] room;
    final byte[] kind;
    final byte[] ipHdr;
    /** Each output's TCP or UDP header length. */
    final byte[] l4Hdr;
    final int[] gsoSize;
    final int[] nextSeq;
    final int[] segments;
    final boolean[] open;
    final boolean[] push;
    /** The next older output in the same hash bucket, for finding a flow's newest output. */
    private final int[] chain;
    private final int[] buckets;
    private final int bucketMask;

    int count;

    SuperPackets(int capacity) {
        this.capacity = capacity;
        bufs = new ByteBuffer[capacity];
        ipOff = new int[capacity];
        ipLen = new int[capacity];
        link = new byte[capacity];
        room = new int[capacity];
        kind = new byte[capacity];
        ipHdr = new byte[capacity];
        l4Hdr = new byte[capacity];
        gsoSize = new int[capacity];
        nextSeq = new int[capacity];
        segments = new int[capacity];
        open = new boolean[capacity];
        push = new boolean[capacity];
        chain = new int[capacity];
        int b = Integer.highestOneBit(capacity) << 2;
        buckets = new int[b];
        bucketMask = b - 1;
        Arrays.fill(buckets, NONE);
    }

    boolean full() {
        return count == capacity;
    }

    /** Forgets every output (and drops the references to their buffers). */
    void clear() {
        Arrays.fill(bufs, 0, count, null);
        Arrays.fill(buckets, NONE);
        count = 0;
    }

    /** Adds an output that goes through as it is and belongs to no flow; there must be room. */
    int plain(ByteBuffer buf, int off, int len, int linkLen) {
        int o = count++;
        bufs[o] = buf;
        ipOff[o] = off;
        link[o] = (byte) linkLen;
        ipLen[o] = len;
        room[o] = buf.limit() - off;
        kind[o] = (byte) PLAIN;
        segments[o] = 1;
        open[o] = false;
        push[o] = false;
        chain[o] = NONE;
        return o;
    }

    /**
     * Adds an output that starts a super-packet of flow kind {@code k} and makes it its flow's
     * newest; there must be room. A TCP one is open unless the segment has PSH.
     */
    void startFlow(int bucket, ByteBuffer buf, int off, int len, int linkLen, int k, int ih, int th) {
        int o = plain(buf, off, len, linkLen);
        kind[o] = (byte) k;
        ipHdr[o] = (byte) ih;
        l4Hdr[o] = (byte) th;
        gsoSize[o] = len - ih - th;
        if (FlowKind.isUdp(k)) {
            open[o] = true;
        } else {
            nextSeq[o] = be32(buf, off + ih + TCP_SEQ) + gsoSize[o];
            open[o] = (u8(buf, off + ih + TCP_FLAGS) & PSH) == 0;
        }
        chain[o] = buckets[bucket];
        buckets[bucket] = o;
    }

    /** The index bucket of the packet's flow. */
    int bucket(ByteBuffer buf, int off, int k, int ih) {
        return FlowKind.hash(buf, off, k, ih) & bucketMask;
    }

    /** The newest output of the packet's flow in this batch, open or not, or {@code NONE}. */
    int newestOfFlow(int bucket, ByteBuffer buf, int off, int linkLen, int k, int ih) {
        for (int o = buckets[bucket]; o != NONE; o = chain[o]) {
            if (kind[o] == k && link[o] == linkLen && sameFlow(o, buf, off, k, ih)) {
                return o;
            }
        }
        return NONE;
    }

    private boolean sameFlow(int o, ByteBuffer buf, int off, int k, int ih) {
        ByteBuffer hb = bufs[o];
        int ho = ipOff[o];
        boolean addresses = FlowKind.ipVersion(k) == TCP4
                ? sameBytes(hb, ho + V4_ADDRESSES, buf, off + V4_ADDRESSES, V4_ADDRESSES_LENGTH)
                : sameBytes(hb, ho + V6_ADDRESSES, buf, off + V6_ADDRESSES, V6_ADDRESSES_LENGTH);
        // Frames of one IP flow between other MAC addresses or on another VLAN are another flow.
        int l = link[o];
        return addresses && be32(hb, ho + ipHdr[o]) == be32(buf, off + ih)
                && (l == 0 || sameBytes(hb, ho - l, buf, off - l, l));
    }

    /** Closes every open output of the protocols in {@code hides} ({@link FlowKind#mayHide}). */
    void close(int hides) {
        for (int o = 0; o < count; o++) {
            if ((hides & (FlowKind.isUdp(kind[o]) ? FlowKind.HIDES_UDP : FlowKind.HIDES_TCP)) != 0) {
                open[o] = false;
            }
        }
    }

    /** Writes output {@code o}'s virtio header and, if it is merged, finishes its IP and L4 headers. */
    void finish(int o) {
        ByteBuffer b = bufs[o];
        int ip = ipOff[o];
        int l = link[o];
        int vnet = ip - l - VirtioNetHdr.SIZE;
        if (segments[o] == 1) {
            VirtioNetHdr.writeNone(b, vnet);
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
            // On a TAP the offsets count from the frame's start.
            VirtioNetHdr.write(b, vnet, VirtioNetHdr.NEEDS_CSUM, VirtioNetHdr.GSO_UDP_L4,
                    l + ih + UDP_HEADER, gsoSize[o], l + ih, UDP_CHECKSUM);
            return;
        }
        if (push[o]) {
            b.put(t + TCP_FLAGS, (byte) (u8(b, t + TCP_FLAGS) | PSH));
        }
        putBe16(b, t + TCP_CHECKSUM, Checksum.pseudoHeader(b, ip, kind[o], PROTO_TCP, total - ih));
        VirtioNetHdr.write(b, vnet, VirtioNetHdr.NEEDS_CSUM,
                kind[o] == TCP4 ? VirtioNetHdr.GSO_TCPV4 : VirtioNetHdr.GSO_TCPV6,
                l + ih + l4Hdr[o], gsoSize[o], l + ih, TCP_CHECKSUM);
    }
}
