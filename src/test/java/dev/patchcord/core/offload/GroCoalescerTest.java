package dev.patchcord.core.offload;

import dev.patchcord.core.NetHeaders;
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

class GroCoalescerTest {
    static final int OFF = 16;
    private final GroCoalescer gro = new GroCoalescer(MAX_SLOTS);

    record Out(byte[] vnet, byte[] packet, int segments) {
        boolean plain() {
            return Arrays.equals(vnet, new byte[VirtioNetHdr.SIZE]);
        }
    }

    /** Coalesces the packets, each in its own buffer at {@link #OFF}, and reads the outputs back. */
    List<Out> coalesce(List<byte[]> packets, boolean littleEndian) {
        ByteBuffer[] bufs = slots(littleEndian);
        for (int i = 0; i < packets.size(); i++) {
            bufs[i].put(OFF, packets.get(i));
            assertThat(gro.add(bufs[i], OFF, packets.get(i).length)).isTrue();
        }
        return outputs();
    }

    List<Out> outputs() {
        int n = gro.flush();
        List<Out> outs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] all = read(gro.buffer(i), gro.offset(i), gro.length(i));
            outs.add(new Out(Arrays.copyOf(all, VirtioNetHdr.SIZE),
                    Arrays.copyOfRange(all, VirtioNetHdr.SIZE, all.length), gro.segments(i)));
        }
        return outs;
    }

    /** {@code count} back-to-back segments of one flow, the last {@code last} bytes long. */
    static List<byte[]> flow(Spec base, int gso, int count, int last) {
        List<byte[]> out = new ArrayList<>();
        int seq = base.seq;
        for (int i = 0; i < count; i++) {
            Spec s = base.copy();
            int len = i == count - 1 ? last : gso;
            s.payload = payload(len, seq);
            s.seq = seq;
            s.id = base.id + i;
            out.add(build(s));
            seq += len;
        }
        return out;
    }

    @Property(tries = 120)
    void splitThenCoalesceGivesBackTheSuperPacket(
            @ForAll boolean v6, @ForAll @IntRange(min = 1, max = 65_000) int payloadLen,
            @ForAll @IntRange(min = 200, max = 9000) int gso, @ForAll boolean push,
            @ForAll @IntRange(max = 10) int optionWords, @ForAll boolean littleEndian, @ForAll int seq,
            @ForAll @IntRange(max = 0xffff) int id) {
        Spec s = v6 ? new Spec().v6() : new Spec();
        s.options = payload(optionWords * 4, 9);
        int max = 65535 - s.ipHeader() - s.l4Header();
        s.payload = payload(Math.max(gso + 1, Math.min(payloadLen, max)), seq); // at least two segments
        s.flags = push ? ACK | PSH : ACK;
        s.seq = seq;
        s.id = id;
        byte[] raw = superPacket(s, gso);
        ByteBuffer in = ByteBuffer.wrap(raw);
        ByteBuffer[] segs = slots(littleEndian);
        int[] lengths = new int[MAX_SLOTS];
        int n = TsoSplitter.split(in, 0, raw.length, segs, OFF, lengths);
        assertThat(n).isGreaterThan(1);
        for (int i = 0; i < n; i++) {
            assertThat(gro.add(segs[i], OFF, lengths[i])).isTrue();
        }
        List<Out> outs = outputs();
        assertThat(outs).hasSize(1);
        assertThat(outs.get(0).segments()).isEqualTo(n);
        assertThat(concat(outs.get(0).vnet(), outs.get(0).packet())).isEqualTo(raw);
    }

    @Test
    void aFinSegmentGoesThroughOnItsOwn() {
        Spec s = new Spec();
        List<byte[]> pkts = flow(s, 1000, 4, 300);
        byte[] fin = pkts.get(3);
        fin[33] |= FIN;
        fixChecksums(fin);
        List<Out> outs = coalesce(pkts, true);
        assertThat(outs).extracting(Out::segments).containsExactly(3, 1);
        assertThat(outs.get(1).plain()).isTrue();
        assertThat(outs.get(1).packet()).isEqualTo(fin);
    }

    @Test
    void mergedHeaderIsWhatTheKernelExpects() {
        Spec s = new Spec();
        List<byte[]> pkts = flow(s, 1400, 3, 1400);
        List<Out> outs = coalesce(pkts, false);
        assertThat(outs).hasSize(1);
        ByteBuffer v = ByteBuffer.wrap(outs.get(0).vnet());
        assertThat(VirtioNetHdr.flags(v, 0)).isEqualTo(VirtioNetHdr.NEEDS_CSUM);
        assertThat(VirtioNetHdr.gsoType(v, 0)).isEqualTo(VirtioNetHdr.GSO_TCPV4);
        assertThat(VirtioNetHdr.hdrLen(v, 0)).isEqualTo(40);
        assertThat(VirtioNetHdr.gsoSize(v, 0)).isEqualTo(1400);
        assertThat(VirtioNetHdr.csumStart(v, 0)).isEqualTo(20);
        assertThat(VirtioNetHdr.csumOffset(v, 0)).isEqualTo(16);
        byte[] p = outs.get(0).packet();
        assertThat(p.length).isEqualTo(40 + 3 * 1400);
        assertThat(get16(p, 2)).isEqualTo(p.length);
        assertThat(ipv4HeaderValid(p)).isTrue();
        assertThat(get16(p, 36)).isEqualTo(fold(pseudo(p, 4, 6, p.length - 20)));
        // What the kernel does with it when it needs the real checksum: sum from csum_start on.
        put16(p, 36, ~fold(sum(p, 20, p.length - 20)) & 0xffff);
        assertThat(l4ChecksumValid(p)).isTrue();
    }

    @Test
    void sixtyFourKibIsTheLimit() {
        List<Out> outs = coalesce(flow(new Spec(), 1400, 50, 1400), false);
        assertThat(outs).extracting(Out::segments).containsExactly(46, 4);
        assertThat(outs.get(0).packet().length).isEqualTo(40 + 46 * 1400);
    }

    @Test
    void noTailroomNoMerging() {
        List<byte[]> pkts = flow(new Spec(), 1000, 3, 1000);
        ByteBuffer[] bufs = slots(true);
        for (int i = 0; i < 3; i++) {
            bufs[i].put(OFF, pkts.get(i));
            bufs[i].limit(OFF + pkts.get(i).length + (i == 0 ? 0 : 5000));
            assertThat(gro.add(bufs[i], OFF, pkts.get(i).length)).isTrue();
        }
        // The first has no room, so the second starts the super-packet.
        assertThat(outputs()).extracting(Out::segments).containsExactly(1, 2);
    }

    @Test
    void whatMustNotMergeDoesNot() {
        for (boolean v6 : new boolean[] {false, true}) {
            Spec s = v6 ? new Spec().v6() : new Spec();
            s.options = bytes(1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2); // NOP, NOP, timestamps
            for (Mutation m : Mutation.values()) {
                List<byte[]> pkts = flow(s, 1000, 3, 1000);
                pkts.set(1, m.apply(pkts.get(1)));
                List<Out> outs = coalesce(pkts, m.ordinal() % 2 == 0);
                if (m == Mutation.NONE) {
                    assertThat(outs).extracting(Out::segments).containsExactly(3);
                    continue;
                }
                // The changed middle segment joins neither neighbour, and the first and the last
                // are not contiguous: three packets out, exactly as they came in.
                assertThat(outs).as(m + (v6 ? " v6" : " v4")).extracting(Out::packet).containsExactlyElementsOf(pkts);
                assertThat(outs).allMatch(Out::plain);
            }
        }
    }

    @Test
    void outOfOrderSegmentsAreNotMerged() {
        List<byte[]> pkts = new ArrayList<>(flow(new Spec().v6(), 1000, 5, 1000));
        java.util.Collections.swap(pkts, 1, 2);
        List<Out> outs = coalesce(pkts, false);
        assertThat(outs).extracting(Out::segments).containsExactly(1, 1, 1, 2);
        assertThat(outs.get(0).packet()).isEqualTo(pkts.get(0));
        assertThat(outs.get(1).packet()).isEqualTo(pkts.get(1));
    }

    @Test
    void interleavedFlowsMergeSeparately() {
        Spec a = new Spec();
        Spec b = new Spec();
        b.dport = 5202;
        List<byte[]> fa = flow(a, 1000, 3, 500);
        List<byte[]> fb = flow(b, 1200, 3, 1200);
        List<Out> outs = coalesce(List.of(fa.get(0), fb.get(0), fa.get(1), fb.get(1), fa.get(2), fb.get(2)), true);
        assertThat(outs).extracting(Out::segments).containsExactly(3, 3);
        assertThat(get16(outs.get(0).packet(), 22)).isEqualTo(5201);
        assertThat(get16(outs.get(1).packet(), 22)).isEqualTo(5202);
        assertThat(outs.get(0).packet().length).isEqualTo(40 + 2500);
    }

    @Test
    void aLargerSegmentStartsAnewAndAShorterOneEnds() {
        Spec s = new Spec();
        List<byte[]> pkts = new ArrayList<>(flow(s, 1000, 2, 1000));
        Spec big = s.copy();
        big.seq = s.seq + 2000;
        big.payload = payload(1200, 5);
        pkts.add(build(big));
        Spec small = s.copy();
        small.seq = big.seq + 1200;
        small.payload = payload(100, 6);
        pkts.add(build(small));
        Spec after = s.copy();
        after.seq = small.seq + 100;
        after.payload = payload(100, 7);
        pkts.add(build(after));
        assertThat(coalesce(pkts, false)).extracting(Out::segments).containsExactly(2, 2, 1);
    }

    @Test
    void otherTrafficGoesThroughUnchangedInOrder() {
        Spec u = new Spec();
        u.udp = true;
        u.payload = payload(500, 1);
        byte[] udp = build(u);
        byte[] ping = {0x45, 0, 0, 20, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};
        byte[] garbage = {1, 2, 3};
        List<byte[]> tcp = flow(new Spec(), 1000, 2, 1000);
        List<byte[]> in = List.of(udp, tcp.get(0), ping, tcp.get(1), garbage);
        List<Out> outs = coalesce(in, true);
        assertThat(outs).extracting(Out::segments).containsExactly(1, 2, 1, 1);
        assertThat(outs.get(0).packet()).isEqualTo(udp);
        assertThat(outs.get(2).packet()).isEqualTo(ping);
        assertThat(outs.get(3).packet()).isEqualTo(garbage);
        assertThat(outs).filteredOn(o -> o.segments() == 1).allMatch(Out::plain);
    }

    @Test
    void aFullBatchRefusesAndTheNextBatchStartsClean() {
        GroCoalescer small = new GroCoalescer(2);
        List<byte[]> a = flow(new Spec(), 1000, 3, 1000);
        Spec other = new Spec();
        other.sport = 1;
        List<byte[]> b = flow(other, 1000, 1, 1000);
        Spec third = new Spec();
        third.sport = 2;
        List<byte[]> c = flow(third, 1000, 1, 1000);
        ByteBuffer[] bufs = slots(false);
        List<byte[]> all = List.of(a.get(0), a.get(1), b.get(0), c.get(0));
        for (int i = 0; i < all.size(); i++) {
            bufs[i].put(OFF, all.get(i));
        }
        assertThat(small.add(bufs[0], OFF, 1040)).isTrue();
        assertThat(small.add(bufs[1], OFF, 1040)).isTrue(); // merges: no new output
        assertThat(small.add(bufs[2], OFF, 1040)).isTrue();
        assertThat(small.add(bufs[3], OFF, 1040)).isFalse();
        assertThat(small.flush()).isEqualTo(2);
        assertThat(small.segments(0)).isEqualTo(2);
        assertThat(small.add(bufs[3], OFF, 1040)).isTrue();
        assertThat(small.flush()).isEqualTo(1);
        assertThat(read(small.buffer(0), small.offset(0) + VirtioNetHdr.SIZE, 1040)).isEqualTo(c.get(0));
    }

    /** Edits to one segment that must keep it out of its neighbours' super-packet. */
    enum Mutation {
        NONE, BAD_CHECKSUM, BAD_IP_CHECKSUM, SYN, RST, FIN, URG, CWR, ECE, OPTIONS, TTL, TOS, ACK_NUMBER, SPORT, DST,
        NO_ACK_FLAG, IP_OPTIONS_LENGTH, MORE_FRAGMENTS;

        /** Applies the edit, in place except where the packet must grow; returns the packet. */
        byte[] apply(byte[] p) {
            boolean v4 = (p[0] & 0xf0) == 0x40;
            int t = v4 ? 20 : 40;
            switch (this) {
                case NONE -> { }
                case BAD_CHECKSUM -> p[p.length - 1] ^= 0x5a;
                case BAD_IP_CHECKSUM -> p[v4 ? 11 : p.length - 1] ^= 1;
                case SYN -> flag(p, t, NetHeaders.SYN);
                case RST -> flag(p, t, NetHeaders.RST);
                case FIN -> flag(p, t, NetHeaders.FIN);
                case URG -> flag(p, t, NetHeaders.URG);
                case CWR -> flag(p, t, NetHeaders.CWR);
                case ECE -> flag(p, t, NetHeaders.ECE);
                case OPTIONS -> {
                    int doff = (p[t + 12] >> 4 & 0xf) * 4;
                    if (doff > 20) {
                        p[t + doff - 1] ^= 1; // another timestamp
                    } else {
                        p[t + 12] = 0x60; // four bytes of options where the others have none
                    }
                    fixChecksums(p);
                }
                case TTL -> {
                    p[v4 ? 8 : 7]--;
                    fixChecksums(p);
                }
                case TOS -> {
                    p[1] ^= (byte) (v4 ? 0x03 : 0x30); // ECN CE in IPv4; a traffic class bit in IPv6
                    fixChecksums(p);
                }
                case ACK_NUMBER -> {
                    p[t + 11]++;
                    fixChecksums(p);
                }
                case SPORT -> {
                    p[t + 1]++;
                    fixChecksums(p);
                }
                case DST -> {
                    p[v4 ? 19 : 39]++;
                    fixChecksums(p);
                }
                case NO_ACK_FLAG -> {
                    p[t + 13] &= (byte) ~NetHeaders.ACK;
                    fixChecksums(p);
                }
                case IP_OPTIONS_LENGTH -> {
                    return withIpOptions(p, v4);
                }
                case MORE_FRAGMENTS -> {
                    if (v4) {
                        p[6] |= 0x20;
                        fixChecksums(p);
                    } else {
                        p[6] = 44;
                    }
                }
            }
            return p;
        }

        /**
         * The packet with 4 bytes of IPv4 options (NOP NOP NOP EOL) or an 8-byte IPv6 hop-by-hop
         * header in front of TCP; neither enters the TCP checksum.
         */
        private static byte[] withIpOptions(byte[] p, boolean v4) {
            int at = v4 ? 20 : 40;
            byte[] extra = v4 ? bytes(1, 1, 1, 0) : bytes(6, 0, 1, 4, 0, 0, 0, 0);
            byte[] q = new byte[p.length + extra.length];
            System.arraycopy(p, 0, q, 0, at);
            System.arraycopy(extra, 0, q, at, extra.length);
            System.arraycopy(p, at, q, at + extra.length, p.length - at);
            if (v4) {
                q[0] = 0x46;
                put16(q, 2, q.length);
                put16(q, 10, 0);
                put16(q, 10, ~fold(sum(q, 0, 24)) & 0xffff);
            } else {
                q[6] = 0;
                put16(q, 4, q.length - 40);
            }
            return q;
        }

        private static void flag(byte[] p, int t, int f) {
            p[t + 13] |= (byte) f;
            fixChecksums(p);
        }
    }
}
