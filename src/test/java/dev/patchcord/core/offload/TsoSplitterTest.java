package dev.patchcord.core.offload;

import dev.patchcord.core.NetHeaders;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.Arrays;

import static dev.patchcord.core.NetHeaders.*;
import static dev.patchcord.core.offload.OffloadBuffers.*;
import static dev.patchcord.testing.TestPackets.*;
import static org.assertj.core.api.Assertions.assertThat;

class TsoSplitterTest {
    private static final int OUT = 16;
    private final int[] lengths = new int[MAX_SLOTS];

    /** Splits {@code raw} (virtio header and packet) placed at offset 6 of a fresh buffer. */
    private int split(byte[] raw, ByteBuffer[] out) {
        ByteBuffer in = buffer(raw.length + 6, false, false);
        in.put(6, raw);
        return TsoSplitter.split(in, 6, raw.length, out, OUT, lengths);
    }

    private byte[] segment(ByteBuffer[] out, int i) {
        return read(out[i], OUT, lengths[i]);
    }

    @Test
    void threeSegmentTcpv4ByHand() {
        Spec s = new Spec();
        s.flags = ACK | PSH | FIN;
        s.seq = 0xfffffc00; // the sequence number wraps inside the burst
        s.payload = payload(3000, 1);
        byte[] raw = superPacket(s, 1200);
        // The header as a TUN read shows it: 10-byte virtio header, then IPv4 and TCP.
        assertThat(hex(Arrays.copyOf(raw, 10 + 40))).isEqualTo("0101" + "2800" + "b004" + "1400" + "1000"
                + "45000be0123440004006" + hex(Arrays.copyOfRange(raw, 20, 22)) + "0a0000010a000002"
                + "9c401451fffffc000000004d5019" + "01f5" + hex(Arrays.copyOfRange(raw, 46, 48)) + "0000");
        ByteBuffer[] out = slots(false);
        assertThat(split(raw, out)).isEqualTo(3);

        int[] sizes = {1200, 1200, 600};
        int[] flags = {ACK, ACK, ACK | PSH | FIN};
        for (int i = 0; i < 3; i++) {
            Spec e = s.copy();
            e.payload = Arrays.copyOfRange(s.payload, i * 1200, i * 1200 + sizes[i]);
            e.seq = s.seq + i * 1200;
            e.id = s.id + i;
            e.flags = flags[i];
            byte[] seg = segment(out, i);
            assertThat(lengths[i]).isEqualTo(40 + sizes[i]);
            assertThat(seg).isEqualTo(build(e));
            assertThat(ipv4HeaderValid(seg)).isTrue();
            assertThat(l4ChecksumValid(seg)).isTrue();
        }
        assertThat(get32(segment(out, 2), 24)).isEqualTo(0x00000560); // 0xfffffc00 + 2400, wrapped
    }

    @Provide
    Arbitrary<Integer> tcpFlags() {
        // ACK always; any of PSH, FIN, CWR, ECE on top.
        return Arbitraries.integers().between(0, 15).map(bits ->
                ACK | ((bits & 1) != 0 ? PSH : 0) | ((bits & 2) != 0 ? FIN : 0)
                        | ((bits & 4) != 0 ? CWR : 0) | ((bits & 8) != 0 ? ECE : 0));
    }

    @Property(tries = 150)
    void tcpSegmentsAreExactlyWhatASenderWouldHaveSent(
            @ForAll boolean v6, @ForAll @IntRange(max = 65_000) int payloadLen, @ForAll @IntRange(min = 200, max = 9000) int gso,
            @ForAll("tcpFlags") int flags, @ForAll @IntRange(max = 10) int optionWords, @ForAll boolean littleEndian,
            @ForAll boolean inPlace, @ForAll int seq, @ForAll @IntRange(max = 0xffff) int id) {
        Spec s = v6 ? new Spec().v6() : new Spec();
        s.payload = payload(Math.min(payloadLen, 65535 - s.ipHeader() - 20 - optionWords * 4), payloadLen);
        s.options = payload(optionWords * 4, 7);
        s.flags = flags;
        s.seq = seq;
        s.id = id;
        byte[] raw = superPacket(s, gso);
        if (v6 && (flags & CWR) != 0) {
            raw[1] |= (byte) VirtioNetHdr.GSO_ECN;
        }
        ByteBuffer[] out = slots(littleEndian);
        int n;
        if (inPlace) {
            out[0].put(OUT - VirtioNetHdr.SIZE, raw);
            n = TsoSplitter.split(out[0], OUT - VirtioNetHdr.SIZE, raw.length, out, OUT, lengths);
        } else {
            n = split(raw, out);
        }
        int payload = s.payload.length;
        int expected = Math.max(1, (payload + gso - 1) / gso);
        assertThat(n).isEqualTo(expected);
        int seen = 0;
        for (int i = 0; i < n; i++) {
            int chunk = Math.min(gso, payload - seen);
            Spec e = s.copy();
            e.payload = Arrays.copyOfRange(s.payload, seen, seen + chunk);
            e.seq = s.seq + seen;
            e.id = s.id + i;
            e.flags = flags & ~(i < n - 1 ? FIN | PSH : 0) & ~(i > 0 ? CWR : 0);
            byte[] seg = segment(out, i);
            assertThat(seg).isEqualTo(build(e));
            if (!v6) {
                assertThat(ipv4HeaderValid(seg)).isTrue();
                assertThat(get16(seg, 2)).isEqualTo(seg.length);
            } else {
                assertThat(get16(seg, 4)).isEqualTo(seg.length - 40);
            }
            assertThat(l4ChecksumValid(seg)).isTrue();
            seen += chunk;
        }
        assertThat(seen).isEqualTo(payload);
    }

    @Property(tries = 100)
    void usoDatagramsAreValid(@ForAll boolean v6, @ForAll @IntRange(max = 65_000) int payloadLen,
                              @ForAll @IntRange(min = 200, max = 9000) int gso, @ForAll boolean littleEndian) {
        Spec s = v6 ? new Spec().v6() : new Spec();
        s.udp = true;
        s.payload = payload(Math.min(payloadLen, 65535 - s.ipHeader() - 8), payloadLen);
        byte[] raw = superPacket(s, gso);
        ByteBuffer[] out = slots(littleEndian);
        int n = split(raw, out);
        assertThat(n).isEqualTo(Math.max(1, (s.payload.length + gso - 1) / gso));
        for (int i = 0; i < n; i++) {
            Spec e = s.copy();
            e.payload = Arrays.copyOfRange(s.payload, i * gso, Math.min(s.payload.length, (i + 1) * gso));
            e.id = s.id + i;
            byte[] seg = segment(out, i);
            assertThat(seg).isEqualTo(build(e));
            assertThat(get16(seg, s.ipHeader() + 4)).isEqualTo(8 + e.payload.length);
            assertThat(l4ChecksumValid(seg)).isTrue();
        }
    }

    @Property(tries = 100)
    void needsCsumAloneFinishesTheChecksum(@ForAll boolean v6, @ForAll boolean udp, @ForAll @IntRange(max = 1400) int len,
                                           @ForAll boolean littleEndian, @ForAll boolean inPlace) {
        Spec s = v6 ? new Spec().v6() : new Spec();
        s.udp = udp;
        s.payload = payload(len, len);
        byte[] raw = superPacket(s, 1400);
        raw[1] = VirtioNetHdr.GSO_NONE;
        ByteBuffer[] out = slots(littleEndian);
        int n;
        if (inPlace) {
            out[0].put(OUT - VirtioNetHdr.SIZE, raw);
            n = TsoSplitter.split(out[0], OUT - VirtioNetHdr.SIZE, raw.length, out, OUT, lengths);
        } else {
            n = split(raw, out);
        }
        assertThat(n).isEqualTo(1);
        byte[] expected = build(s);
        int field = s.ipHeader() + (udp ? 6 : 16);
        if (get16(expected, field) == 0) {
            put16(expected, field, 0xffff); // the same in one's complement; Linux also never writes 0
        }
        assertThat(segment(out, 0)).isEqualTo(expected);
    }

    @Test
    void plainPacketsGoThroughUnchangedEvenWithABadChecksum() {
        byte[] p = build(new Spec());
        p[p.length - 1] ^= 1;
        byte[] raw = concat(new byte[VirtioNetHdr.SIZE], concat(p, new byte[5])); // trailing bytes ignored
        ByteBuffer[] out = slots(false);
        assertThat(split(raw, out)).isEqualTo(1);
        assertThat(segment(out, 0)).isEqualTo(p);
    }

    @Test
    void linuxHdrLenHintLargerThanTheHeadersIsAccepted() {
        Spec s = new Spec();
        s.payload = payload(3000, 3);
        byte[] raw = superPacket(s, 1000);
        raw[2] = (byte) 0xd0; // hdr_len = 2000: the skb's linear part, more than the headers
        raw[3] = 0x07;
        assertThat(split(raw, slots(false))).isEqualTo(3);
    }

    @Test
    void refusesWhatItCannotSplit() {
        Spec s = new Spec();
        s.payload = payload(3000, 3);
        byte[] good = superPacket(s, 1000);
        ByteBuffer[] out = slots(false);
        assertThat(split(good, out)).isEqualTo(3);

        assertThat(split(Arrays.copyOf(good, 9), out)).as("no room for the virtio header").isEqualTo(TsoSplitter.MALFORMED);
        assertThat(split(Arrays.copyOf(good, 2000), out)).as("shorter than its IP length").isEqualTo(TsoSplitter.MALFORMED);
        assertThat(split(with(good, 1, VirtioNetHdr.GSO_TCPV6), out)).as("v6 type, v4 packet").isEqualTo(TsoSplitter.MALFORMED);
        assertThat(split(with(good, 4, 0, 0), out)).as("gso_size 0").isEqualTo(TsoSplitter.MALFORMED);
        assertThat(split(with(good, 2, 0xff, 0xff), out)).as("hdr_len beyond the packet").isEqualTo(TsoSplitter.MALFORMED);
        assertThat(split(with(good, 6, 24), out)).as("csum_start not at TCP").isEqualTo(TsoSplitter.MALFORMED);
        assertThat(split(with(good, 8, 6), out)).as("csum_offset not TCP's").isEqualTo(TsoSplitter.MALFORMED);
        assertThat(split(with(good, 10 + 9, 17), out)).as("not TCP").isEqualTo(TsoSplitter.MALFORMED);
        assertThat(split(with(good, 10 + 6, 0x20), out)).as("a fragment").isEqualTo(TsoSplitter.MALFORMED);
        assertThat(split(with(good, 10 + 20 + 12, 0x40), out)).as("TCP data offset 16").isEqualTo(TsoSplitter.MALFORMED);
        assertThat(split(with(good, 10 + 20 + 12, 0xf0), out)).as("a 60-byte TCP header still fits").isEqualTo(3);
        assertThat(split(with(good, 10, 0x75), out)).as("IP version 7").isEqualTo(TsoSplitter.MALFORMED);
        assertThat(split(with(good, 10 + 20 + 13, ACK | SYN), out)).as("SYN in many segments").isEqualTo(TsoSplitter.MALFORMED);
        assertThat(split(with(good, 10 + 20 + 13, ACK | RST), out)).as("RST in many segments").isEqualTo(TsoSplitter.MALFORMED);
        assertThat(split(with(good, 1, VirtioNetHdr.GSO_UDP), out)).isEqualTo(TsoSplitter.UNSUPPORTED);
        assertThat(split(with(good, 1, 9), out)).as("unknown gso_type").isEqualTo(TsoSplitter.MALFORMED);
        assertThat(split(with(good, 1, VirtioNetHdr.GSO_UDP_L4 | VirtioNetHdr.GSO_ECN), out)).isEqualTo(TsoSplitter.MALFORMED);
        assertThat(TsoSplitter.split(ByteBuffer.wrap(good), 0, good.length, Arrays.copyOf(out, 2), OUT, lengths))
                .isEqualTo(TsoSplitter.TOO_MANY_SEGMENTS);
        ByteBuffer[] small = out.clone();
        small[2] = ByteBuffer.allocate(OUT + 500);
        assertThat(TsoSplitter.split(ByteBuffer.wrap(good), 0, good.length, small, OUT, lengths))
                .isEqualTo(TsoSplitter.NO_ROOM);
        assertThat(TsoSplitter.split(ByteBuffer.wrap(good), 5, good.length, out, OUT, lengths))
                .as("range past the limit").isEqualTo(TsoSplitter.MALFORMED);

        Spec v6 = new Spec().v6();
        v6.payload = payload(3000, 3);
        byte[] ext = superPacket(v6, 1000);
        ext[10 + 6] = 0; // hop-by-hop options header before TCP
        assertThat(split(ext, out)).isEqualTo(TsoSplitter.UNSUPPORTED);
        assertThat(TsoSplitter.describe(TsoSplitter.NO_ROOM)).isEqualTo("no-room");
    }

    /** A copy of {@code raw} with bytes from {@code at} replaced. */
    static byte[] with(byte[] raw, int at, int... values) {
        byte[] c = raw.clone();
        for (int i = 0; i < values.length; i++) {
            c[at + i] = (byte) values[i];
        }
        return c;
    }
}
