package dev.patchcord.core.udptun;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

class IcmpUnreachableTest {
    /** An IPv4 ICMP echo request from 10.0.0.1 to 10.0.0.9 with {@code payload} bytes of data. */
    static byte[] echo(int payload) {
        int total = 28 + payload;
        byte[] p = new byte[total];
        p[0] = 0x45;
        p[2] = (byte) (total >> 8);
        p[3] = (byte) total;
        p[4] = 0x12; p[5] = 0x34; // ID
        p[8] = 64;
        p[9] = 1;
        p[12] = 10; p[15] = 1;
        p[16] = 10; p[19] = 9;
        p[20] = 8;
        for (int i = 28; i < total; i++) {
            p[i] = (byte) i;
        }
        return p;
    }

    @Test
    void headerSwapsAddressesAndBothChecksumsVerify() {
        byte[] orig = echo(56);
        byte[] r = IcmpUnreachable.build(ByteBuffer.wrap(orig), 0, orig.length);
        assertThat(r).hasSize(20 + 8 + 28);
        assertThat(r[0]).isEqualTo((byte) 0x45);
        assertThat((r[2] & 0xff) << 8 | (r[3] & 0xff)).isEqualTo(r.length);
        assertThat(Arrays.copyOfRange(r, 4, 8)).containsOnly(0); // ID 0, no flags
        assertThat(r[8] & 0xff).isEqualTo(255);
        assertThat(r[9]).isEqualTo((byte) 1);
        assertThat(Arrays.copyOfRange(r, 12, 16)).isEqualTo(Arrays.copyOfRange(orig, 16, 20));
        assertThat(Arrays.copyOfRange(r, 16, 20)).isEqualTo(Arrays.copyOfRange(orig, 12, 16));
        assertThat(IcmpUnreachable.checksum(r, 0, 20)).as("IPv4 header checksum").isZero();
        assertThat(r[20]).isEqualTo((byte) 3);
        assertThat(r[21]).isEqualTo((byte) 1);
        assertThat(Arrays.copyOfRange(r, 24, 28)).containsOnly(0);
        assertThat(IcmpUnreachable.checksum(r, 20, r.length - 20)).as("ICMP checksum").isZero();
        assertThat(r[22] | r[23]).as("a checksum was stored").isNotZero();
        assertThat(Arrays.copyOfRange(r, 28, 56)).isEqualTo(Arrays.copyOfRange(orig, 0, 28));
    }

    @Test
    void aShortPacketIsQuotedWhole() {
        byte[] orig = Arrays.copyOf(echo(0), 21); // 21 bytes: odd length exercises the checksum's last byte
        byte[] r = IcmpUnreachable.build(ByteBuffer.wrap(orig), 0, orig.length);
        assertThat(r).hasSize(20 + 8 + 21);
        assertThat(Arrays.copyOfRange(r, 28, r.length)).isEqualTo(orig);
        assertThat(IcmpUnreachable.checksum(r, 0, 20)).isZero();
        assertThat(IcmpUnreachable.checksum(r, 20, r.length - 20)).isZero();
    }

    @Test
    void aLongPacketIsCutToTwentyEightBytesAndReadAtAnOffset() {
        byte[] orig = echo(1400);
        ByteBuffer buf = ByteBuffer.allocate(orig.length + 7).put(7, orig);
        byte[] r = IcmpUnreachable.build(buf, 7, orig.length);
        assertThat(r).hasSize(56);
        assertThat(Arrays.copyOfRange(r, 28, 56)).isEqualTo(Arrays.copyOfRange(orig, 0, 28));
        assertThat(IcmpUnreachable.checksum(r, 20, 36)).isZero();
    }

    @Test
    void checksumMatchesTheRfc1071Example() {
        byte[] b = {0x00, 0x01, (byte) 0xf2, 0x03, (byte) 0xf4, (byte) 0xf5, (byte) 0xf6, (byte) 0xf7};
        assertThat(IcmpUnreachable.checksum(b, 0, b.length)).isEqualTo(~0xddf2 & 0xffff);
    }
}
