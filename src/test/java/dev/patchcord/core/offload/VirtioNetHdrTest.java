package dev.patchcord.core.offload;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.Arrays;

import static dev.patchcord.core.offload.OffloadBuffers.*;
import static dev.patchcord.testing.TestPackets.*;
import static org.assertj.core.api.Assertions.assertThat;

class VirtioNetHdrTest {

    @Test
    void layoutIsLittleEndianWhateverTheBufferOrder() {
        for (boolean littleEndian : new boolean[] {false, true}) {
            ByteBuffer b = buffer(16, true, littleEndian);
            VirtioNetHdr.write(b, 3, VirtioNetHdr.NEEDS_CSUM, VirtioNetHdr.GSO_TCPV4, 0x0034, 0x0578, 0x0014, 0x0010);
            assertThat(read(b, 3, 10)).containsExactly(1, 1, 0x34, 0, 0x78, 0x05, 0x14, 0, 0x10, 0);
        }
    }

    @Property(tries = 100)
    void fieldsRoundTrip(@ForAll @IntRange(max = 255) int flags, @ForAll @IntRange(max = 255) int type,
                         @ForAll @IntRange(max = 0xffff) int hdrLen, @ForAll @IntRange(max = 0xffff) int gsoSize,
                         @ForAll @IntRange(max = 0xffff) int start, @ForAll @IntRange(max = 0xffff) int offset,
                         @ForAll boolean littleEndian) {
        ByteBuffer b = buffer(12, false, littleEndian);
        VirtioNetHdr.write(b, 2, flags, type, hdrLen, gsoSize, start, offset);
        assertThat(VirtioNetHdr.flags(b, 2)).isEqualTo(flags);
        assertThat(VirtioNetHdr.gsoType(b, 2)).isEqualTo(type);
        assertThat(VirtioNetHdr.hdrLen(b, 2)).isEqualTo(hdrLen);
        assertThat(VirtioNetHdr.gsoSize(b, 2)).isEqualTo(gsoSize);
        assertThat(VirtioNetHdr.csumStart(b, 2)).isEqualTo(start);
        assertThat(VirtioNetHdr.csumOffset(b, 2)).isEqualTo(offset);
    }

    @Test
    void writeNoneZeroesExactlyTenBytes() {
        ByteBuffer b = ByteBuffer.allocate(14);
        byte[] ones = new byte[14];
        Arrays.fill(ones, (byte) 0xff);
        b.put(0, ones);
        VirtioNetHdr.writeNone(b, 2);
        assertThat(read(b, 0, 14)).containsExactly(0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff);
    }
}
