package dev.patchcord.core.offload;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static dev.patchcord.core.offload.OffloadBuffers.*;
import static dev.patchcord.testing.TestPackets.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * UDP coalescing: runs of equal-size datagrams of one flow become one {@code GSO_UDP_L4}
 * super-datagram that the kernel (or {@link TsoSplitter}) cuts back into the same datagrams, and
 * nothing else is ever merged into one.
 */
class UdpCoalescingTest {
    static final int OFF = 16;
    private final GroCoalescer gro = new GroCoalescer(MAX_SLOTS, true);
    private final int[] lengths = new int[MAX_SLOTS];

    record Out(byte[] vnet, byte[] packet, int segments) {}

    /** {@code count} datagrams of one flow, each {@code gso} bytes of payload but the last ({@code last}). */
    static List<byte[]> udpFlow(Spec base, int gso, int count, int last) {
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            Spec s = base.copy();
            s.payload = payload(i == count - 1 ? last : gso, base.sport * 7919 + i);
            s.id = base.id + i;
            out.add(build(s));
        }
        return out;
    }

    static Spec udp(boolean v6) {
        Spec s = v6 ? new Spec().v6() : new Spec();
        s.udp = true;
        s.sport = 51002;
        s.dport = 51002;
        return s;
    }

    List<Out> coalesce(GroCoalescer g, List<byte[]> packets) {
        ByteBuffer[] bufs = slots(true);
        for (int i = 0; i < packets.size(); i++) {
            bufs[i].put(OFF, packets.get(i));
            assertThat(g.add(bufs[i], OFF, packets.get(i).length)).isTrue();
        }
        int n = g.flush();
        List<Out> outs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] all = read(g.buffer(i), g.offset(i), g.length(i));
            outs.add(new Out(Arrays.copyOf(all, VirtioNetHdr.SIZE),
                    Arrays.copyOfRange(all, VirtioNetHdr.SIZE, all.length), g.segments(i)));
        }
        return outs;
    }

    @Property(tries = 150)
    void splitThenCoalesceGivesBackTheUsoSuperPacket(
            @ForAll boolean v6, @ForAll @IntRange(min = 1, max = 65_000) int payloadLen,
            @ForAll @IntRange(min = 100, max = 9000) int gso, @ForAll boolean littleEndian,
            @ForAll @IntRange(max = 0xffff) int id, @ForAll @IntRange(min = 1, max = 65535) int sport) {
        Spec s = udp(v6);
        s.sport = sport;
        s.id = id;
        int max = Math.min(65535 - s.ipHeader() - s.l4Header(), gso * GroCoalescer.MAX_UDP_SEGMENTS);
        s.payload = payload(Math.max(gso + 1, Math.min(payloadLen, max)), id); // at least two datagrams
        byte[] raw = superPacket(s, gso);
        ByteBuffer[] segs = slots(littleEndian);
        int n = TsoSplitter.split(ByteBuffer.wrap(raw), 0, raw.length, segs, OFF, lengths);
        assertThat(n).isGreaterThan(1);
        for (int i = 0; i < n; i++) {
            assertThat(gro.add(segs[i], OFF, lengths[i])).isTrue();
        }
        int outs = gro.flush();
        assertThat(outs).isEqualTo(1);
        assertThat(gro.segments(0)).isEqualTo(n);
        assertThat(read(gro.buffer(0), gro.offset(0), gro.length(0))).isEqualTo(raw);
    }

    @Test
    void mergedHeaderIsWhatTheKernelExpects() {
        for (boolean v6 : new boolean[] {false, true}) {
            Spec s = udp(v6);
            List<byte[]> in = udpFlow(s, 1372, 5, 700);
            List<Out> outs = coalesce(gro, in);
            assertThat(outs).hasSize(1);
            Out o = outs.getFirst();
            ByteBuffer v = ByteBuffer.wrap(o.vnet());
            int ih = s.ipHeader();
            assertThat(VirtioNetHdr.flags(v, 0)).isEqualTo(VirtioNetHdr.NEEDS_CSUM);
            assertThat(VirtioNetHdr.gsoType(v, 0)).isEqualTo(VirtioNetHdr.GSO_UDP_L4);
            assertThat(VirtioNetHdr.gsoSize(v, 0)).isEqualTo(1372);
            assertThat(VirtioNetHdr.hdrLen(v, 0)).isEqualTo(ih + 8);
            assertThat(VirtioNetHdr.csumStart(v, 0)).isEqualTo(ih);
            assertThat(VirtioNetHdr.csumOffset(v, 0)).isEqualTo(6);
            byte[] p = o.packet();
            assertThat(p.length).isEqualTo(ih + 8 + 4 * 1372 + 700);
            assertThat(get16(p, ih + 4)).as("UDP length: the whole").isEqualTo(p.length - ih);
            assertThat(get16(p, ih + 6)).as("pseudo-header sum only")
                    .isEqualTo(fold(pseudo(p, s.version, 17, p.length - ih)));
            if (v6) {
                assertThat(get16(p, 4)).isEqualTo(p.length - 40);
            } else {
                assertThat(get16(p, 2)).isEqualTo(p.length);
                assertThat(ipv4HeaderValid(p)).isTrue();
            }
            byte[] data = new byte[0];
            for (byte[] d : in) {
                data = concat(data, Arrays.copyOfRange(d, ih + 8, d.length));
            }
            assertThat(Arrays.copyOfRange(p, ih + 8, p.length)).isEqualTo(data);
        }
    }

    @Test
    void withoutTheUdpSwitchNothingIsMerged() {
        List<Out> outs = coalesce(new GroCoalescer(MAX_SLOTS), udpFlow(udp(false), 1000, 6, 1000));
        assertThat(outs).hasSize(6).allMatch(o -> o.segments() == 1 && Arrays.equals(o.vnet(), new byte[10]));
    }

    @Test
    void atMostSixtyFourDatagramsMakeOneSuperDatagram() {
        List<Out> outs = coalesce(gro, udpFlow(udp(false), 100, 150, 100));
        assertThat(outs).extracting(Out::segments).containsExactly(64, 64, 22);
    }

    @Test
    void aLargerDatagramStartsAnewAndAShorterOneEndsTheRun() {
        Spec s = udp(false);
        List<byte[]> in = new ArrayList<>(udpFlow(s, 1000, 3, 500));
        in.addAll(udpFlow(s, 1000, 2, 1000));
        in.add(2, build(withPayload(s, 1001)));
        in.add(2, build(withPayload(s, 1001)));
        // 1000 1000 | 1001 1001 500 | 1000 1000
        assertThat(coalesce(gro, in)).extracting(Out::segments).containsExactly(2, 3, 2);
    }

    @Test
    void tcpAndUdpOfTheSamePortsAndADatagramWithoutChecksumAreNotMerged() {
        Spec s = udp(false);
        List<byte[]> in = new ArrayList<>(udpFlow(s, 800, 2, 800));
        Spec t = s.copy();
        t.udp = false;
        t.payload = payload(800, 1);
        in.add(1, build(t));
        byte[] noChecksum = build(withPayload(s, 800));
        put16(noChecksum, 26, 0);
        in.add(noChecksum);
        in.add(build(withPayload(s, 800)));
        List<Out> outs = coalesce(gro, in);
        assertThat(outs).extracting(Out::segments).containsExactly(2, 1, 1, 1);
        assertThat(outs.get(2).packet()).isEqualTo(noChecksum);
    }

    @Test
    void aUdpFragmentClosesUdpRunsButNotTcp() {
        Spec s = udp(false);
        List<byte[]> in = new ArrayList<>(udpFlow(s, 800, 2, 800));
        byte[] frag = build(withPayload(s, 100));
        put16(frag, 6, 0x0010); // a later fragment
        fixChecksums(frag);
        in.add(frag);
        in.addAll(udpFlow(s, 800, 2, 800));
        assertThat(coalesce(gro, in)).extracting(Out::segments).containsExactly(2, 1, 2);
    }

    private static Spec withPayload(Spec s, int len) {
        Spec c = s.copy();
        c.payload = payload(len, len);
        return c;
    }

    enum Damage { NONE, BAD_CHECKSUM, BAD_IP_CHECKSUM, LARGER, SHORTER, TTL, TOS, SPORT, DST, NO_CHECKSUM, FRAGMENT, LENGTH }

    static byte[] damage(byte[] p, Damage d, Random r) {
        boolean v4 = (p[0] & 0xf0) == 0x40;
        int ih = v4 ? 20 : 40;
        switch (d) {
            case NONE -> { }
            case BAD_CHECKSUM -> p[p.length - 1] ^= 0x5a;
            case BAD_IP_CHECKSUM -> p[v4 ? 11 : ih + 6] ^= 1;
            case LARGER, SHORTER -> {
                int len = p.length + (d == Damage.LARGER ? 1 + r.nextInt(50) : -1 - r.nextInt(Math.max(1, p.length - ih - 9)));
                p = Arrays.copyOf(p, Math.max(ih + 9, len));
                put16(p, v4 ? 2 : 4, v4 ? p.length : p.length - 40);
                put16(p, ih + 4, p.length - ih);
                fixChecksums(p);
            }
            case TTL -> { p[v4 ? 8 : 7]--; fixChecksums(p); }
            case TOS -> { p[1] ^= 0x10; fixChecksums(p); }
            case SPORT -> { p[ih + 1] ^= 1; fixChecksums(p); }
            case DST -> { p[v4 ? 19 : 39] ^= 1; fixChecksums(p); }
            case NO_CHECKSUM -> put16(p, ih + 6, 0);
            case FRAGMENT -> {
                if (v4) {
                    p[6] |= 0x20; // more fragments
                    fixChecksums(p);
                }
            }
            case LENGTH -> put16(p, ih + 4, get16(p, ih + 4) - 1);
        }
        return p;
    }

    /**
     * Whatever mix of UDP flows, damage, loss and reordering a batch holds, cutting the outputs
     * again gives each flow's datagrams back exactly as they came, in order: so no damaged,
     * different-size or foreign datagram was merged (cut back it would differ), and nothing was
     * lost or invented. IPv4 ids are the exception: a super-datagram's pieces are numbered on from
     * its first, as the kernel numbers them.
     */
    @Property(tries = 300)
    void coalesceThenSplitGivesEveryFlowBackInOrder(@ForAll long seed, @ForAll boolean littleEndian) {
        Random r = new Random(seed);
        int flows = 1 + r.nextInt(3);
        List<byte[]> in = new ArrayList<>();
        List<List<byte[]>> perFlow = new ArrayList<>();
        for (int f = 0; f < flows; f++) {
            Spec s = udp(r.nextBoolean());
            s.sport = 1000 + f;
            s.id = r.nextInt(0x10000);
            int gso = 1 + r.nextInt(1500);
            perFlow.add(new ArrayList<>(udpFlow(s, gso, 1 + r.nextInt(90), 1 + r.nextInt(gso))));
        }
        int[] next = new int[flows];
        while (in.size() < MAX_SLOTS) {
            int f = r.nextInt(flows);
            if (next[f] == perFlow.get(f).size()) {
                if (Arrays.equals(next, perFlow.stream().mapToInt(List::size).toArray())) {
                    break;
                }
                continue;
            }
            byte[] p = perFlow.get(f).get(next[f]++).clone();
            int dice = r.nextInt(100);
            if (dice < 15) {
                Damage[] ds = Damage.values();
                in.add(damage(p, ds[1 + r.nextInt(ds.length - 1)], r));
            } else if (dice < 18) {
                continue; // lost
            } else if (dice < 21 && !in.isEmpty()) {
                in.add(in.size() - 1, p); // overtook its predecessor
            } else {
                in.add(p);
            }
        }
        ByteBuffer[] bufs = slots(littleEndian);
        for (int i = 0; i < in.size(); i++) {
            bufs[i].put(OFF, in.get(i));
            assertThat(gro.add(bufs[i], OFF, in.get(i).length)).isTrue();
        }
        int n = gro.flush();
        ByteBuffer[] resplit = slots(!littleEndian);
        List<byte[]> got = new ArrayList<>();
        for (int o = 0; o < n; o++) {
            int m = TsoSplitter.split(gro.buffer(o), gro.offset(o), gro.length(o), resplit, OFF, lengths);
            assertThat(m).isEqualTo(gro.segments(o));
            assertThat(m).isLessThanOrEqualTo(GroCoalescer.MAX_UDP_SEGMENTS);
            for (int k = 0; k < m; k++) {
                byte[] g = read(resplit[k], OFF, lengths[k]);
                if (m > 1 && (g[0] & 0xf0) == 0x40) {
                    assertThat(ipv4HeaderValid(g)).isTrue();
                }
                got.add(g);
            }
        }
        assertThat(byFlow(got)).isEqualTo(byFlow(in));
    }

    /** Each flow's datagrams in order, as hex with any IPv4 id and valid header checksum blanked. */
    private static Map<String, List<String>> byFlow(List<byte[]> packets) {
        Map<String, List<String>> m = new HashMap<>();
        for (byte[] p : packets) {
            byte[] c = p.clone();
            boolean v4 = (c[0] & 0xf0) == 0x40;
            if (v4 && c.length >= 20) {
                // A damaged header checksum stays in, so a damaged datagram that was merged (and
                // so came back with a good one) would show.
                boolean valid = ipv4HeaderValid(c);
                put16(c, 4, 0);
                if (valid) {
                    put16(c, 10, 0);
                }
            }
            int ih = v4 ? 20 : 40;
            String key = c.length >= ih + 4
                    ? hex(Arrays.copyOfRange(c, v4 ? 12 : 8, v4 ? 20 : 40)) + ":" + get32(c, ih) : "short";
            m.computeIfAbsent(key, k -> new ArrayList<>()).add(hex(c));
        }
        return m;
    }
}
