package dev.patchcord.core.simplevpn;

import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

import static dev.patchcord.testing.TestPackets.ipv4;
import static dev.patchcord.testing.TestPackets.ipv6;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class StreamSplitterTest {
    static byte[] concat(List<byte[]> parts) {
        int n = parts.stream().mapToInt(p -> p.length).sum();
        byte[] out = new byte[n];
        int off = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, off, p.length);
            off += p.length;
        }
        return out;
    }

    /** What came out, in order: packets as their bytes, control messages prefixed "C:". */
    static final class Collected implements StreamSplitter.Sink {
        final List<String> items = new ArrayList<>();
        final Counters counters = new Counters();

        @Override
        public void packet(ByteBuffer buf, int off, int len) {
            byte[] b = new byte[len];
            buf.get(off, b);
            items.add(HexFormat.of().formatHex(b));
        }

        @Override
        public void control(ByteBuffer buf, int off) {
            byte[] b = new byte[ControlMessage.SIZE];
            buf.get(off, b);
            items.add("C:" + HexFormat.of().formatHex(b));
        }
    }

    private final StreamSplitter splitter = new StreamSplitter(ByteBuffer.allocate(StreamSplitter.MAX_PACKET + 1024));
    private final Collected out = new Collected();

    /** Delivers {@code bytes} the way a socket would: read straight into {@link StreamSplitter#inbound()}. */
    private boolean read(byte[] bytes) {
        ByteBuffer in = splitter.inbound();
        in.put(bytes);
        return splitter.split(bytes.length, out, out.counters);
    }

    private static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    @Test
    void aPacketSplitAcrossReadsComesOutWhole() {
        byte[] p = ipv4(84, 7);
        assertThat(read(Arrays.copyOfRange(p, 0, 1))).isTrue();
        assertThat(read(Arrays.copyOfRange(p, 1, 3))).isTrue(); // not even the length yet
        assertThat(read(Arrays.copyOfRange(p, 3, 50))).isTrue();
        assertThat(out.items).isEmpty();
        assertThat(splitter.pending()).isEqualTo(50);
        assertThat(read(Arrays.copyOfRange(p, 50, 84))).isTrue();
        assertThat(out.items).containsExactly(hex(p));
        assertThat(splitter.pending()).isZero();
    }

    @Test
    void aPartialPacketHandedToAnotherSplitterComesOutWholeThere() {
        byte[] first = ipv4(60, 1), second = ipv4(84, 2);
        assertThat(read(concat(List.of(first, Arrays.copyOfRange(second, 0, 30))))).isTrue();
        assertThat(out.items).containsExactly(hex(first));
        byte[] unread = splitter.pendingBytes();
        assertThat(unread).isEqualTo(Arrays.copyOfRange(second, 0, 30));

        // The successor's splitter is fed those bytes first, then reads on from the stream.
        StreamSplitter next = new StreamSplitter(ByteBuffer.allocate(StreamSplitter.MAX_PACKET + 1024));
        Collected there = new Collected();
        assertThat(next.feed(unread, 0, unread.length, there, there.counters)).isTrue();
        assertThat(there.items).isEmpty();
        assertThat(next.feed(second, 30, second.length - 30, there, there.counters)).isTrue();
        assertThat(there.items).containsExactly(hex(second));
    }

    @Test
    void severalPacketsInOneReadComeOutInOrder() {
        byte[] a = ipv4(84, 1), b = ipv6(24, 2), c = ipv4(20, 3), d = ipv6(0, 4);
        assertThat(read(concat(List.of(a, b, c, d)))).isTrue();
        assertThat(out.items).containsExactly(hex(a), hex(b), hex(c), hex(d));
        assertThat(out.counters.droppedTotal()).isZero();
    }

    @Test
    void controlMessagesMixedWithPacketsIncludingTheDoubledReply() {
        byte[] reply = ControlMessage.assignment(0x0A00FEFE);
        byte[] p = ipv4(60, 9);
        byte[] keepalive = ControlMessage.keepalive();
        byte[] stream = concat(List.of(reply, reply, p, keepalive, ipv6(8, 1)));
        // Cut in the middle of the second reply and inside the IPv6 header.
        assertThat(read(Arrays.copyOfRange(stream, 0, 30))).isTrue();
        assertThat(read(Arrays.copyOfRange(stream, 30, stream.length - 44))).isTrue();
        assertThat(read(Arrays.copyOfRange(stream, stream.length - 44, stream.length))).isTrue();
        assertThat(out.items).containsExactly("C:" + hex(reply), "C:" + hex(reply), hex(p), "C:" + hex(keepalive),
                hex(ipv6(8, 1)));
    }

    @Test
    void aBadVersionNibbleDesynchronisesTheStreamCountedOnce() {
        byte[] good = ipv4(40, 1);
        assertThat(read(concat(List.of(good, "zz garbage".getBytes(), good)))).isFalse();
        assertThat(out.items).containsExactly(hex(good));
        assertThat(out.counters.dropped(Drop.MALFORMED)).isEqualTo(1);
        assertThat(splitter.desynchronised()).isTrue();
        // Nothing after it is trusted, not even valid packets.
        assertThat(read(good)).isFalse();
        assertThat(out.items).hasSize(1);
        assertThat(out.counters.droppedTotal()).isEqualTo(1);
        splitter.reset();
        assertThat(read(good)).isTrue();
        assertThat(out.items).hasSize(2);
    }

    @Test
    void impossibleLengthsDesynchronise() {
        byte[] tooShort = ipv4(20, 0);
        tooShort[3] = 19;
        assertThat(read(tooShort)).isFalse();
        assertThat(out.counters.dropped(Drop.MALFORMED)).isEqualTo(1);

        splitter.reset();
        byte[] headerLongerThanPacket = ipv4(24, 0);
        headerLongerThanPacket[0] = 0x47; // IHL 28 bytes
        assertThat(read(headerLongerThanPacket)).isFalse();
        assertThat(out.counters.dropped(Drop.MALFORMED)).isEqualTo(2);

        splitter.reset();
        byte[] ihlTooSmall = ipv4(24, 0);
        ihlTooSmall[0] = 0x44;
        assertThat(read(ihlTooSmall)).isFalse();
        assertThat(out.counters.dropped(Drop.MALFORMED)).isEqualTo(3);

        splitter.reset();
        byte[] badChecksum = ipv4(60, 0);
        badChecksum[11] ^= 1;
        assertThat(read(badChecksum)).isFalse();
        assertThat(out.counters.dropped(Drop.MALFORMED)).isEqualTo(4);

        splitter.reset();
        byte[] jumbo = new byte[6];
        jumbo[0] = 0x60;
        jumbo[4] = (byte) 0xff;
        jumbo[5] = (byte) 0xff; // 40 + 65535 bytes
        assertThat(read(jumbo)).isFalse();
        assertThat(out.counters.dropped(Drop.OVERSIZE)).isEqualTo(1);
    }

    /** "GET / HTTP/1.1" starts with 0x47: IPv4, header 28 bytes, total length 0x5420. Its checksum gives it away. */
    @Test
    void textThatLooksLikeAnIpv4HeaderIsCaughtByTheChecksum() {
        byte[] http = "GET / HTTP/1.1\r\nHost: example\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        assertThat(read(Arrays.copyOfRange(http, 0, 20))).as("not enough for its 28-byte header yet").isTrue();
        assertThat(read(Arrays.copyOfRange(http, 20, http.length))).isFalse();
        assertThat(out.counters.dropped(Drop.MALFORMED)).isEqualTo(1);
        assertThat(out.items).isEmpty();
    }

    @Test
    void aSmallerLimitRefusesLongerPackets() {
        StreamSplitter small = new StreamSplitter(ByteBuffer.allocate(4000), 1500);
        Collected c = new Collected();
        byte[] ok = ipv4(1500, 1), big = ipv4(1501, 1);
        assertThat(small.feed(concat(List.of(ok, big)), 0, 3001, c, c.counters)).isFalse();
        assertThat(c.items).hasSize(1);
        assertThat(c.counters.dropped(Drop.OVERSIZE)).isEqualTo(1);
        assertThatThrownBy(() -> new StreamSplitter(ByteBuffer.allocate(100), 1500)).hasMessageContaining("cannot hold");
    }

    @Test
    void largestPacketsPassThroughASmallBufferOneReadAtATime() {
        // A buffer just big enough for one largest packet: pending bytes must be moved to the front.
        StreamSplitter tight = new StreamSplitter(ByteBuffer.allocateDirect(StreamSplitter.MAX_PACKET));
        Collected c = new Collected();
        List<byte[]> packets = List.of(ipv4(65535, 1), ipv4(100, 2), ipv4(65535, 3), ipv6(65495, 4), ipv4(20, 5));
        byte[] stream = concat(packets);
        int off = 0;
        while (off < stream.length) {
            ByteBuffer in = tight.inbound();
            int n = Math.min(Math.min(in.remaining(), 7000), stream.length - off);
            in.put(stream, off, n);
            assertThat(tight.split(n, c, c.counters)).isTrue();
            off += n;
        }
        assertThat(c.items).containsExactlyElementsOf(packets.stream().map(StreamSplitterTest::hex).toList());
    }

    /** Any cutting of a stream of valid packets and control messages yields exactly what was written. */
    @Property(tries = 500)
    void randomChunkingNeverChangesWhatComesOut(@ForAll("items") List<byte[]> items,
                                                 @ForAll @Size(min = 1, max = 40) List<@IntRange(min = 1, max = 3000) Integer> cuts) {
        byte[] stream = concat(items);
        StreamSplitter s = new StreamSplitter(ByteBuffer.allocate(StreamSplitter.MAX_PACKET + 100));
        Collected c = new Collected();
        int off = 0;
        int i = 0;
        while (off < stream.length) {
            ByteBuffer in = s.inbound();
            int n = Math.min(Math.min(cuts.get(i++ % cuts.size()), stream.length - off), in.remaining());
            in.put(stream, off, n);
            assertThat(s.split(n, c, c.counters)).isTrue();
            off += n;
        }
        List<String> expected = items.stream().map(b -> b.length == 20 && b[3] == 0 && b[2] == 0
                ? "C:" + hex(b) : hex(b)).toList();
        assertThat(c.items).containsExactlyElementsOf(expected);
        assertThat(s.pending()).isZero();
        assertThat(c.counters.droppedTotal()).isZero();
    }

    @Provide
    Arbitrary<List<byte[]>> items() {
        Arbitrary<byte[]> v4 = Arbitraries.integers().between(20, 2000).map(n -> ipv4(n, n));
        Arbitrary<byte[]> v6 = Arbitraries.integers().between(0, 2000).map(n -> ipv6(n, n));
        Arbitrary<byte[]> control = Arbitraries.integers().map(a -> ControlMessage.bytes(a, ~a));
        return Arbitraries.oneOf(v4, v6, control).list().ofMaxSize(30);
    }

    /** Random bytes never throw, never deliver more than was read, and a false answer is counted. */
    @Property(tries = 2000)
    void randomBytesNeverThrow(@ForAll @Size(max = 3000) byte[] bytes, @ForAll @IntRange(min = 1, max = 500) int chunk) {
        StreamSplitter s = new StreamSplitter(ByteBuffer.allocate(StreamSplitter.MAX_PACKET + 100));
        Collected c = new Collected();
        boolean inStep = true;
        for (int off = 0; off < bytes.length && inStep; off += chunk) {
            inStep = s.feed(bytes, off, Math.min(chunk, bytes.length - off), c, c.counters);
        }
        int delivered = c.items.stream().mapToInt(x -> x.startsWith("C:") ? 20 : x.length() / 2).sum();
        assertThat(delivered + s.pending()).isLessThanOrEqualTo(bytes.length);
        assertThat(c.counters.droppedTotal()).isEqualTo(inStep ? 0 : 1);
    }
}
