package dev.patchcord.core;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import static dev.patchcord.testing.TestPackets.ipv4;
import static dev.patchcord.testing.TestPackets.ipv6;
import static org.assertj.core.api.Assertions.assertThat;

class IpFramingTest {
    private final IpFraming framing = new IpFraming(1500);

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) n += p.length;
        byte[] out = new byte[n];
        int off = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, off, p.length);
            off += p.length;
        }
        return out;
    }

    record Split(List<byte[]> frames, Counters counters, boolean delivered) {}

    static Split split(Framing f, byte[] datagram) {
        ByteBuffer buf = ByteBuffer.allocateDirect(Math.max(1, datagram.length)).put(0, datagram);
        List<byte[]> frames = new ArrayList<>();
        Counters c = new Counters();
        boolean d = f.splitIncoming(buf, datagram.length, (b, off, len) -> {
            byte[] frame = new byte[len];
            b.get(off, frame);
            frames.add(frame);
        }, c);
        return new Split(frames, c, d);
    }

    @Test
    void singlePacketPassesWhole() {
        byte[] p = ipv4(84, 7);
        Split s = split(framing, p);
        assertThat(s.frames()).containsExactly(p);
        assertThat(s.counters().droppedTotal()).isZero();
        assertThat(s.delivered()).isTrue();
    }

    @Test
    void datagramsInsideAGroBufferAreSplitAtTheirOwnOffsets() {
        // UDP GRO puts several datagrams of one sender in one buffer: each is framed on its own,
        // and a packet may not run past its datagram into the next one.
        byte[] a = ipv4(60, 1), b = ipv6(20, 2);
        byte[] cut = java.util.Arrays.copyOf(ipv4(100, 3), 60); // claims 100 bytes, has 60
        byte[] gro = concat(a, b, cut, a);
        ByteBuffer buf = ByteBuffer.allocateDirect(gro.length).put(0, gro);
        List<byte[]> frames = new ArrayList<>();
        Counters c = new Counters();
        Framing.Sink sink = (bb, off, len) -> {
            byte[] frame = new byte[len];
            bb.get(off, frame);
            frames.add(frame);
        };
        assertThat(framing.splitIncoming(buf, 0, 60, sink, c)).isTrue();
        assertThat(framing.splitIncoming(buf, 60, 60, sink, c)).isTrue();
        assertThat(framing.splitIncoming(buf, 120, 60, sink, c)).isFalse();
        assertThat(framing.splitIncoming(buf, 180, 60, sink, c)).isTrue();
        assertThat(frames).containsExactly(a, b, a);
        assertThat(c.dropped(Drop.TRUNCATED)).isEqualTo(1);
    }

    @Test
    void concatenatedPacketsAreSplitByTheirLengthFields() {
        byte[] a = ipv4(84, 1), b = ipv6(24, 2), c = ipv4(20, 3);
        Split s = split(framing, concat(a, b, c));
        assertThat(s.frames()).containsExactly(a, b, c);
        assertThat(s.counters().droppedTotal()).isZero();
    }

    @Test
    void truncatedTailIsDroppedAndCountedWhileWholePacketsPass() {
        byte[] a = ipv4(84, 1);
        byte[] cut = java.util.Arrays.copyOf(ipv4(100, 2), 60);
        Split s = split(framing, concat(a, cut));
        assertThat(s.frames()).containsExactly(a);
        assertThat(s.counters().dropped(Drop.TRUNCATED)).isEqualTo(1);
    }

    @Test
    void badInputIsCountedUnderItsReason() {
        assertThat(split(framing, new byte[0]).counters().dropped(Drop.EMPTY)).isEqualTo(1);
        assertThat(split(framing, new byte[]{0x45, 0, 0}).counters().dropped(Drop.RUNT)).isEqualTo(1);
        assertThat(split(framing, "zz: text, not an IP packet".getBytes()).counters().dropped(Drop.MALFORMED)).isEqualTo(1);
        byte[] liar = ipv4(20, 0);
        liar[3] = 10; // total length shorter than the header
        assertThat(split(framing, liar).counters().dropped(Drop.MALFORMED)).isEqualTo(1);
        assertThat(split(framing, ipv4(1501, 0)).counters().dropped(Drop.OVERSIZE)).isEqualTo(1);
        assertThat(split(framing, ipv4(1500, 0)).frames()).hasSize(1);
    }

    @Test
    void outgoingLimitIsTinyvpnsReceiveBuffer() {
        assertThat(framing.checkOutgoing(1500)).isNull();
        assertThat(framing.checkOutgoing(1501)).isEqualTo(Drop.OVERSIZE);
        assertThat(framing.checkOutgoing(0)).isEqualTo(Drop.EMPTY);
    }

    /** Whatever the bytes, splitting never throws, never reads past the datagram, and accounts for it. */
    @Property(tries = 2000)
    void randomBytesNeverEscapeTheDatagram(@ForAll @Size(max = 1600) byte[] datagram) {
        Split s = split(framing, datagram);
        int delivered = s.frames().stream().mapToInt(f -> f.length).sum();
        assertThat(delivered).isLessThanOrEqualTo(datagram.length);
        if (delivered < datagram.length) {
            assertThat(s.counters().droppedTotal()).isEqualTo(1);
        }
    }

    /** Any sequence of valid packets that fits survives concatenation and splitting unchanged. */
    @Property(tries = 500)
    void splitIsTheInverseOfConcatenation(@ForAll @Size(min = 1, max = 8) List<@IntRange(min = 20, max = 180) Integer> sizes) {
        List<byte[]> packets = new ArrayList<>();
        int i = 0;
        for (int size : sizes) {
            packets.add(i % 2 == 0 ? ipv4(size, i) : ipv6(size - 20, i));
            i++;
        }
        Split s = split(framing, concat(packets.toArray(byte[][]::new)));
        assertThat(s.frames()).containsExactlyElementsOf(packets);
        assertThat(s.counters().droppedTotal()).isZero();
    }
}
