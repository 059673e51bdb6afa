package dev.patchcord.core.offload;

import dev.patchcord.core.Checksum;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static dev.patchcord.core.offload.OffloadBuffers.*;
import static dev.patchcord.testing.TestPackets.*;
import static org.assertj.core.api.Assertions.assertThat;

class ChecksumTest {

    @Test
    void rfc1071Example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        ByteBuffer b = ByteBuffer.wrap(bytes(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7));
        assertThat(Checksum.sum(b, 0, 8, 0)).isEqualTo(0xddf2);
        assertThat(Checksum.finish(0xddf2)).isEqualTo(0x220d);
    }

    @Test
    void knownIpv4Header() {
        // A classic example header whose checksum is b861.
        byte[] h = bytes(0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00,
                0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7);
        ByteBuffer b = ByteBuffer.allocateDirect(40).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.put(10, h);
        Checksum.writeIpv4Header(b, 10);
        assertThat(read(b, 20, 2)).containsExactly(0xb8, 0x61);
        assertThat(Checksum.ipv4HeaderValid(b, 10)).isTrue();
        b.put(18, (byte) 0x41);
        assertThat(Checksum.ipv4HeaderValid(b, 10)).isFalse();
    }

    @Property(tries = 400)
    void sumMatchesTheWordAtATimeReference(@ForAll @Size(max = 300) byte[] data, @ForAll @IntRange(max = 7) int shift,
                                          @ForAll boolean direct, @ForAll boolean littleEndian,
                                          @ForAll @IntRange(max = 0xffff) int initial) {
        ByteBuffer b = buffer(data.length + shift, direct, littleEndian);
        b.put(shift, data);
        int expected = fold(sum(data, 0, data.length) + initial);
        assertThat(Checksum.sum(b, shift, data.length, initial)).isEqualTo(expected);
    }

    @Property(tries = 200)
    void sumsOfEvenSplitsAdd(@ForAll @Size(min = 2, max = 300) byte[] data, @ForAll @IntRange(max = 150) int cut) {
        int at = Math.min(cut * 2, data.length);
        ByteBuffer b = ByteBuffer.wrap(data);
        int first = Checksum.sum(b, 0, at, 0);
        assertThat(Checksum.sum(b, at, data.length - at, first)).isEqualTo(Checksum.sum(b, 0, data.length, 0));
    }

    @Property(tries = 200)
    void pseudoHeadersMatchTheReference(@ForAll @Size(40) byte[] header, @ForAll @IntRange(max = 65535) int l4Len,
                                        @ForAll boolean littleEndian) {
        ByteBuffer b = buffer(40, true, littleEndian);
        b.put(0, header);
        assertThat(Checksum.pseudoHeaderV4(b, 0, 6, l4Len)).isEqualTo(fold(pseudo(header, 4, 6, l4Len)));
        assertThat(Checksum.pseudoHeaderV6(b, 0, 17, l4Len)).isEqualTo(fold(pseudo(header, 6, 17, l4Len)));
        assertThat(Checksum.pseudoHeader(b, 0, 6, 6, l4Len)).isEqualTo(Checksum.pseudoHeaderV6(b, 0, 6, l4Len));
    }

    @Property(tries = 300)
    void incrementalUpdateEqualsRecomputing(@ForAll @Size(min = 20, max = 100) byte[] data,
                                            @ForAll @IntRange(max = 49) int word, @ForAll @IntRange(max = 0xffff) int value) {
        int len = data.length & ~1;
        int at = (word * 2) % len;
        ByteBuffer b = ByteBuffer.wrap(data);
        int before = Checksum.finish(Checksum.sum(b, 0, len, 0));
        int old = get16(data, at);
        put16(data, at, value);
        int after = Checksum.finish(Checksum.sum(b, 0, len, 0));
        int updated = Checksum.update16(before, old, value);
        // 0 and 0xffff are the same number in one's complement; RFC 1624 may give either.
        assertThat(updated == after || (updated ^ after) == 0xffff && (after == 0 || after == 0xffff))
                .as("updated %04x, recomputed %04x", updated, after).isTrue();
    }

    @Test
    void finishNonZeroNeverGivesZero() {
        assertThat(Checksum.finishNonZero(0xffff)).isEqualTo(0xffff);
        assertThat(Checksum.finish(0xffff)).isZero();
        assertThat(Checksum.finishNonZero(0x1234)).isEqualTo(0xedcb);
    }

    @Test
    void foldHandlesLargeAccumulators() {
        assertThat(Checksum.fold(0xffff_ffff_ffffL)).isEqualTo(0xffff);
        assertThat(Checksum.fold(0x1_0000L)).isEqualTo(1);
        assertThat(Checksum.fold(0)).isZero();
    }

    @Test
    void emptyRangeIsTheInitialSum() {
        assertThat(Checksum.sum(ByteBuffer.allocate(0), 0, 0, 0x1_0005)).isEqualTo(6);
    }
}
