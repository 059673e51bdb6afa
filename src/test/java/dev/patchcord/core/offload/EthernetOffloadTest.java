package dev.patchcord.core.offload;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.patchcord.core.NetHeaders.*;
import static dev.patchcord.core.offload.OffloadBuffers.*;
import static dev.patchcord.testing.TestPackets.*;
import static org.assertj.core.api.Assertions.assertThat;

/** The TAP side of the offloads: Ethernet super-frames cut ({@link TsoSplitter#splitFrame}) and merged ({@link GroCoalescer#addFrame}). */
class EthernetOffloadTest {
    private static final int OUT = 18;
    private static final byte[] DST = bytes(0x02, 0, 0, 0, 0, 0x0b);
    private static final byte[] SRC = bytes(0x02, 0, 0, 0, 0, 0x0a);
    private final int[] lengths = new int[MAX_SLOTS];

    /** An Ethernet header for an IP packet of {@code version}, with a VLAN tag if {@code vlan} >= 0. */
    static byte[] link(byte[] dst, int version, int vlan) {
        byte[] h = new byte[vlan >= 0 ? 18 : 14];
        System.arraycopy(dst, 0, h, 0, 6);
        System.arraycopy(SRC, 0, h, 6, 6);
        int type = version == 4 ? 0x0800 : version == 6 ? 0x86dd : version;
        if (vlan >= 0) {
            put16(h, 12, 0x8100);
            put16(h, 14, vlan);
            put16(h, 16, type);
        } else {
            put16(h, 12, type);
        }
        return h;
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    /** What a TAP read returns for a super-frame: {@link #superPacket} with the link header in and the offsets moved by it. */
    static byte[] superFrame(byte[] link, Spec s, int gso) {
        byte[] raw = superPacket(s, gso);
        ByteBuffer v = ByteBuffer.wrap(raw);
        VirtioNetHdr.write(v, 0, VirtioNetHdr.flags(v, 0), VirtioNetHdr.gsoType(v, 0),
                VirtioNetHdr.hdrLen(v, 0) + link.length, gso, VirtioNetHdr.csumStart(v, 0) + link.length,
                VirtioNetHdr.csumOffset(v, 0));
        byte[] out = new byte[raw.length + link.length];
        System.arraycopy(raw, 0, out, 0, VirtioNetHdr.SIZE);
        System.arraycopy(link, 0, out, VirtioNetHdr.SIZE, link.length);
        System.arraycopy(raw, VirtioNetHdr.SIZE, out, VirtioNetHdr.SIZE + link.length, raw.length - VirtioNetHdr.SIZE);
        return out;
    }

    private int splitFrame(byte[] raw, ByteBuffer[] out) {
        ByteBuffer in = buffer(raw.length + 6, false, false);
        in.put(6, raw);
        return TsoSplitter.splitFrame(in, 6, raw.length, out, OUT, lengths);
    }

    /** The frames a sender would have sent one by one: each segment of {@code s} behind {@code link}. */
    static List<byte[]> frames(byte[] link, Spec s, int gso) {
        List<byte[]> out = new ArrayList<>();
        int n = Math.max(1, (s.payload.length + gso - 1) / gso);
        for (int i = 0; i < n; i++) {
            Spec e = s.copy();
            e.payload = Arrays.copyOfRange(s.payload, i * gso, Math.min(s.payload.length, (i + 1) * gso));
            if (!s.udp) {
                e.seq = s.seq + i * gso;
                if (i != n - 1) {
                    e.flags &= ~(PSH | FIN);
                }
            }
            e.id = s.id + i;
            out.add(concat(link, build(e)));
        }
        return out;
    }

    @Property(tries = 80)
    void aSuperFrameIsCutIntoTheFramesASenderWouldHaveSent(
            @ForAll boolean v6, @ForAll boolean udp, @ForAll boolean tagged,
            @ForAll @IntRange(min = 1, max = 60_000) int payloadLen, @ForAll @IntRange(min = 200, max = 1500) int gso,
            @ForAll boolean littleEndian) {
        Spec s = v6 ? new Spec().v6() : new Spec();
        s.udp = udp;
        s.flags = ACK | PSH;
        s.payload = payload(payloadLen, payloadLen);
        byte[] link = link(DST, s.version, tagged ? 42 : -1);
        ByteBuffer[] out = slots(littleEndian);
        List<byte[]> want = frames(link, s, gso);
        assertThat(splitFrame(superFrame(link, s, gso), out)).isEqualTo(want.size());
        for (int i = 0; i < want.size(); i++) {
            assertThat(read(out[i], OUT, lengths[i])).isEqualTo(want.get(i));
        }
    }

    @Test
    void aFrameThatIsNotIpGoesThroughAsRead() {
        byte[] arp = concat(link(bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff), 0x0806, -1), payload(28, 3));
        byte[] raw = concat(new byte[VirtioNetHdr.SIZE], arp);
        ByteBuffer[] out = slots(false);
        assertThat(splitFrame(raw, out)).isEqualTo(1);
        assertThat(read(out[0], OUT, lengths[0])).isEqualTo(arp);
        // A frame as short as a bare header still goes through; shorter is malformed.
        byte[] bare = concat(new byte[VirtioNetHdr.SIZE], link(DST, 0x88cc, -1));
        assertThat(splitFrame(bare, out)).isEqualTo(1);
        assertThat(splitFrame(Arrays.copyOf(bare, bare.length - 1), out)).isEqualTo(TsoSplitter.MALFORMED);
    }

    @Test
    void aSingleFrameWithItsChecksumLeftIsFinishedCountingFromTheFrame() {
        Spec s = new Spec();
        s.payload = payload(300, 9);
        byte[] link = link(DST, 4, 7);
        byte[] raw = concat(new byte[VirtioNetHdr.SIZE], concat(link, partial(s)));
        VirtioNetHdr.write(ByteBuffer.wrap(raw), 0, VirtioNetHdr.NEEDS_CSUM, VirtioNetHdr.GSO_NONE, 0, 0,
                link.length + 20, 16);
        ByteBuffer[] out = slots(true);
        assertThat(splitFrame(raw, out)).isEqualTo(1);
        assertThat(read(out[0], OUT, lengths[0])).isEqualTo(concat(link, build(s)));
    }

    @Test
    void malformedAndUnsupportedSuperFramesAreRefused() {
        Spec s = new Spec();
        s.payload = payload(3000, 1);
        ByteBuffer[] out = slots(false);
        byte[] good = superFrame(link(DST, 4, -1), s, 1000);
        assertThat(splitFrame(good, out)).isEqualTo(3);
        // A super-frame of something other than IP, or behind two tags.
        byte[] arp = good.clone();
        put16(arp, VirtioNetHdr.SIZE + 12, 0x0806);
        assertThat(splitFrame(arp, out)).isEqualTo(TsoSplitter.UNSUPPORTED);
        // The EtherType says IPv6, the packet is IPv4.
        byte[] wrongVersion = good.clone();
        put16(wrongVersion, VirtioNetHdr.SIZE + 12, 0x86dd);
        assertThat(splitFrame(wrongVersion, out)).isEqualTo(TsoSplitter.MALFORMED);
        // csum_start counting from the IP header instead of the frame.
        byte[] ipRelative = good.clone();
        put16le(ipRelative, 6, 20);
        assertThat(splitFrame(ipRelative, out)).isEqualTo(TsoSplitter.MALFORMED);
        // Cut short: the IP length says more than the frame holds.
        assertThat(splitFrame(Arrays.copyOf(good, good.length - 1), out)).isEqualTo(TsoSplitter.MALFORMED);
        // A double-tagged super-frame is not understood.
        byte[] inner = superFrame(link(DST, 4, 5), s, 1000);
        byte[] qinq = new byte[inner.length + 4];
        System.arraycopy(inner, 0, qinq, 0, VirtioNetHdr.SIZE + 12);
        put16(qinq, VirtioNetHdr.SIZE + 12, 0x88a8);
        put16(qinq, VirtioNetHdr.SIZE + 14, 9);
        System.arraycopy(inner, VirtioNetHdr.SIZE + 12, qinq, VirtioNetHdr.SIZE + 16, inner.length - VirtioNetHdr.SIZE - 12);
        assertThat(splitFrame(qinq, out)).isEqualTo(TsoSplitter.UNSUPPORTED);
    }

    private static void put16le(byte[] p, int i, int v) {
        p[i] = (byte) v;
        p[i + 1] = (byte) (v >>> 8);
    }

    // ---- coalescing ----------------------------------------------------------------------------

    record Out(byte[] vnet, byte[] frame, int segments) {
    }

    private static List<Out> coalesce(GroCoalescer gro, List<byte[]> frames, boolean littleEndian) {
        ByteBuffer[] bufs = slots(littleEndian);
        for (int i = 0; i < frames.size(); i++) {
            bufs[i].put(GroCoalescerTest.OFF, frames.get(i));
            assertThat(gro.addFrame(bufs[i], GroCoalescerTest.OFF, frames.get(i).length)).isTrue();
        }
        int n = gro.flush();
        List<Out> outs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] all = read(gro.buffer(i), gro.offset(i), gro.length(i));
            outs.add(new Out(Arrays.copyOf(all, VirtioNetHdr.SIZE),
                    Arrays.copyOfRange(all, VirtioNetHdr.SIZE, all.length), gro.segments(i)));
        }
        return outs;
    }

    @Property(tries = 80)
    void framesOfOneFlowMergeIntoASuperFrameThatCutsBackIntoThem(
            @ForAll boolean v6, @ForAll boolean udp, @ForAll boolean tagged,
            @ForAll @IntRange(min = 2, max = 40) int count, @ForAll @IntRange(min = 200, max = 1400) int gso,
            @ForAll boolean littleEndian) {
        Spec s = v6 ? new Spec().v6() : new Spec();
        s.udp = udp;
        s.payload = payload(count * gso - gso / 2, count);
        byte[] link = link(DST, s.version, tagged ? 300 : -1);
        List<byte[]> frames = frames(link, s, gso);
        List<Out> outs = coalesce(new GroCoalescer(MAX_SLOTS, true), frames, littleEndian);
        int udpLimit = GroCoalescer.MAX_UDP_SEGMENTS;
        assertThat(outs).hasSize(udp ? (frames.size() + udpLimit - 1) / udpLimit : 1);
        Out o = outs.get(0);
        assertThat(o.segments()).isEqualTo(Math.min(frames.size(), udp ? udpLimit : Integer.MAX_VALUE));
        ByteBuffer v = ByteBuffer.wrap(o.vnet());
        int ih = v6 ? 40 : 20;
        assertThat(VirtioNetHdr.csumStart(v, 0)).isEqualTo(link.length + ih);
        assertThat(VirtioNetHdr.hdrLen(v, 0)).isEqualTo(link.length + ih + (udp ? 8 : 20));
        assertThat(Arrays.copyOf(o.frame(), link.length)).isEqualTo(link);
        // What the kernel would make of it is what the TAP's own read path makes of it.
        ByteBuffer[] out = slots(!littleEndian);
        int n = splitFrame(concat(o.vnet(), o.frame()), out);
        assertThat(n).isEqualTo(o.segments());
        for (int i = 0; i < n; i++) {
            assertThat(read(out[i], OUT, lengths[i])).isEqualTo(frames.get(i));
        }
    }

    @Test
    void framesBetweenOtherAddressesAreOtherFlowsAndNonIpFramesKeepTheirPlace() {
        Spec s = new Spec();
        s.payload = payload(4000, 5);
        List<byte[]> a = frames(link(DST, 4, -1), s, 1000);
        List<byte[]> b = frames(link(bytes(0x02, 0, 0, 0, 0, 0x0c), 4, -1), s, 1000);
        byte[] arp = concat(link(DST, 0x0806, -1), payload(28, 1));
        List<byte[]> in = List.of(a.get(0), b.get(0), a.get(1), arp, b.get(1), a.get(2));
        List<Out> outs = coalesce(new GroCoalescer(MAX_SLOTS), in, false);
        assertThat(outs).hasSize(3);
        assertThat(outs.get(0).segments()).isEqualTo(3);
        assertThat(outs.get(1).segments()).isEqualTo(2);
        assertThat(outs.get(2).frame()).isEqualTo(arp);
        assertThat(outs.get(2).vnet()).isEqualTo(new byte[VirtioNetHdr.SIZE]);
        assertThat(Arrays.copyOf(outs.get(1).frame(), 6)).isEqualTo(bytes(0x02, 0, 0, 0, 0, 0x0c));
        // Tagged and untagged frames of one IP flow do not merge either.
        List<byte[]> tagged = frames(link(DST, 4, 9), s, 1000);
        assertThat(coalesce(new GroCoalescer(MAX_SLOTS), List.of(a.get(0), tagged.get(1)), true)).hasSize(2);
    }

    @Test
    void aFrameWhoseEtherTypeContradictsItsPacketGoesThroughWhole() {
        Spec s = new Spec();
        s.payload = payload(1000, 2);
        List<byte[]> f = frames(link(DST, 6, -1), s, 500); // says IPv6, holds IPv4
        List<Out> outs = coalesce(new GroCoalescer(MAX_SLOTS), f, false);
        assertThat(outs).hasSize(2);
        assertThat(outs.get(0).frame()).isEqualTo(f.get(0));
    }
}
