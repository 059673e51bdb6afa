package dev.patchcord.core;

import dev.patchcord.testing.TestPackets;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class IcmpErrorsTest {
    private static final byte[] SRC4 = {10, 0, 0, 1}, DST4 = {10, 0, 0, 9};
    private static final byte[] SRC6 = v6(0xfd, 1), DST6 = v6(0xfd, 9);

    private static byte[] v6(int first, int last) {
        byte[] a = new byte[16];
        a[0] = (byte) first;
        a[15] = (byte) last;
        return a;
    }

    /** An IPv4 packet of protocol {@code proto} with {@code payload} bytes after the 20-byte header. */
    static byte[] ipv4(int proto, int payload, byte[] src, byte[] dst) {
        byte[] p = TestPackets.ipv4(src, dst, proto, payload);
        p[1] = 0x10; // a type of service: its low bits are kept, the precedence is replaced
        p[4] = 0x12;
        p[5] = 0x34;
        return p;
    }

    static byte[] echo4(int data) {
        byte[] p = ipv4(1, 8 + data, SRC4, DST4);
        p[20] = 8; // echo request
        p[21] = 0;
        return p;
    }

    static byte[] ipv6(int next, int payload, byte[] src, byte[] dst) {
        return TestPackets.ipv6(src, dst, next, payload);
    }

    static byte[] echo6(int data) {
        byte[] p = ipv6(58, 8 + data, SRC6, DST6);
        p[40] = (byte) 128; // echo request
        p[41] = 0;
        return p;
    }

    /** The RFC 1071 checksum, word by word: written apart from the code under test, to check it. */
    private static int rfc1071(byte[] b, int off, int len, long initial) {
        long sum = initial;
        for (int i = 0; i < len; i++) {
            int v = b[off + i] & 0xff;
            sum += (i % 2 == 0) ? v << 8 : v;
        }
        while (sum >> 16 != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (int) (~sum & 0xffff);
    }

    /** The ICMPv6 checksum check: pseudo-header (addresses, length, next header 58) and message verify to 0. */
    private static int icmpv6Verify(byte[] r) {
        int len = r.length - 40;
        long pseudo = 0;
        for (int i = 8; i < 40; i += 2) {
            pseudo += (r[i] & 0xff) << 8 | (r[i + 1] & 0xff);
        }
        pseudo += len + 58;
        return rfc1071(r, 40, len, pseudo);
    }

    private static byte[] answer(byte[] packet) {
        return answer(ByteBuffer.wrap(packet), 0, packet.length);
    }

    private static byte[] answer(ByteBuffer in, int off, int len) {
        ByteBuffer out = ByteBuffer.allocate(IcmpErrors.MAX_LENGTH);
        int n = IcmpErrors.unreachable(in, off, len, out, 0);
        assertThat(IcmpErrors.answerable(in, off, len)).isEqualTo(n > 0);
        return Arrays.copyOf(out.array(), n);
    }

    private static int be16(byte[] b, int at) {
        return (b[at] & 0xff) << 8 | (b[at + 1] & 0xff);
    }

    @Test
    void ipv4HostUnreachableAsTheKernelSendsIt() {
        byte[] orig = echo4(56);
        byte[] r = answer(orig);
        assertThat(r).hasSize(20 + 8 + orig.length);
        assertThat(r[0]).isEqualTo((byte) 0x45);
        assertThat(r[1] & 0xff).as("precedence internetwork control, the rest of the TOS kept").isEqualTo(0xd0);
        assertThat(be16(r, 2)).isEqualTo(r.length);
        assertThat(r[8] & 0xff).isEqualTo(64);
        assertThat(r[9]).isEqualTo((byte) 1);
        assertThat(Arrays.copyOfRange(r, 12, 16)).as("from the unreachable address").isEqualTo(DST4);
        assertThat(Arrays.copyOfRange(r, 16, 20)).as("back to the sender").isEqualTo(SRC4);
        assertThat(rfc1071(r, 0, 20, 0)).as("IPv4 header checksum").isZero();
        assertThat(r[20]).as("destination unreachable").isEqualTo((byte) 3);
        assertThat(r[21]).as("host unreachable").isEqualTo((byte) 1);
        assertThat(Arrays.copyOfRange(r, 24, 28)).containsOnly(0);
        assertThat(rfc1071(r, 20, r.length - 20, 0)).as("ICMP checksum").isZero();
        assertThat(be16(r, 22)).isNotZero();
        assertThat(Arrays.copyOfRange(r, 28, r.length)).isEqualTo(orig);
    }

    @Test
    void ipv4QuotesAsMuchAsFitsIn576Bytes() {
        byte[] orig = echo4(1400);
        byte[] r = answer(orig);
        assertThat(r).hasSize(576);
        assertThat(Arrays.copyOfRange(r, 28, 576)).isEqualTo(Arrays.copyOf(orig, 548));
        assertThat(rfc1071(r, 0, 20, 0)).isZero();
        assertThat(rfc1071(r, 20, r.length - 20, 0)).isZero();
    }

    @Test
    void ipv6AddressUnreachableAsTheKernelSendsIt() {
        byte[] orig = echo6(57); // odd length: the checksum's last byte
        byte[] r = answer(orig);
        assertThat(r).hasSize(40 + 8 + orig.length);
        assertThat(r[0]).isEqualTo((byte) 0x60);
        assertThat(Arrays.copyOfRange(r, 1, 4)).containsOnly(0);
        assertThat(be16(r, 4)).as("payload length").isEqualTo(r.length - 40);
        assertThat(r[6]).as("ICMPv6").isEqualTo((byte) 58);
        assertThat(r[7] & 0xff).isEqualTo(64);
        assertThat(Arrays.copyOfRange(r, 8, 24)).isEqualTo(DST6);
        assertThat(Arrays.copyOfRange(r, 24, 40)).isEqualTo(SRC6);
        assertThat(r[40]).as("destination unreachable").isEqualTo((byte) 1);
        assertThat(r[41]).as("address unreachable").isEqualTo((byte) 3);
        assertThat(Arrays.copyOfRange(r, 44, 48)).containsOnly(0);
        assertThat(icmpv6Verify(r)).as("ICMPv6 checksum with the pseudo-header").isZero();
        assertThat(be16(r, 42)).isNotZero();
        assertThat(Arrays.copyOfRange(r, 48, r.length)).isEqualTo(orig);
    }

    @Test
    void ipv6QuotesAsMuchAsFitsInTheMinimumMtu() {
        byte[] orig = echo6(1452);
        byte[] r = answer(orig);
        assertThat(r).hasSize(1280);
        assertThat(Arrays.copyOfRange(r, 48, 1280)).isEqualTo(Arrays.copyOf(orig, 1232));
        assertThat(icmpv6Verify(r)).isZero();
    }

    /** A known answer, worked out by hand: echo request 10.0.0.1 -> 10.0.0.9 with no data. */
    @Test
    void ipv4KnownAnswer() {
        byte[] orig = echo4(0); // 28 bytes; every word of it known
        byte[] r = answer(orig);
        // Header: 45 d0 0038 0000 0000 40 01 cksum 0a00 0009 0a00 0001.
        // Sum: 45d0 + 0038 + 4001 + 0a00 + 0009 + 0a00 + 0001 = 0x9a13 -> checksum 0x65ec.
        assertThat(be16(r, 10)).isEqualTo(0x65ec);
    }

    @Test
    void eitherByteOrderAndAnOffsetGiveTheSameAnswer() {
        for (byte[] orig : new byte[][]{echo4(30), echo6(30)}) {
            byte[] plain = answer(orig);
            ByteBuffer in = ByteBuffer.allocate(orig.length + 9).order(ByteOrder.LITTLE_ENDIAN).put(9, orig);
            ByteBuffer out = ByteBuffer.allocate(IcmpErrors.MAX_LENGTH + 5).order(ByteOrder.LITTLE_ENDIAN);
            int n = IcmpErrors.unreachable(in, 9, orig.length, out, 5);
            assertThat(Arrays.copyOfRange(out.array(), 5, 5 + n)).isEqualTo(plain);
        }
    }

    @Test
    void noAnswerToAnIcmpErrorOrAnUnknownType() {
        for (int type : new int[]{3, 4, 5, 11, 12, 19, 40, 255}) {
            byte[] p = echo4(8);
            p[20] = (byte) type;
            assertThat(answer(p)).as("ICMP type " + type).isEmpty();
        }
        for (int type : new int[]{0, 8, 13, 14, 17, 18}) {
            byte[] p = echo4(8);
            p[20] = (byte) type;
            assertThat(answer(p)).as("ICMP type " + type).isNotEmpty();
        }
        byte[] cut = Arrays.copyOf(echo4(0), 20); // an ICMP packet whose type is missing
        assertThat(answer(cut)).isEmpty();
    }

    @Test
    void noAnswerToAnIcmpv6ErrorEvenBehindExtensionHeaders() {
        for (int type : new int[]{1, 2, 3, 4, 127}) {
            byte[] p = echo6(8);
            p[40] = (byte) type;
            assertThat(answer(p)).as("ICMPv6 type " + type).isEmpty();
        }
        // Hop-by-hop options (8 bytes), then destination options (16 bytes), then ICMPv6 type 1.
        byte[] p = ipv6(0, 24 + 16, SRC6, DST6);
        p[40] = 60;
        p[41] = 0;
        p[48] = 58;
        p[49] = 1;
        p[64] = 1;
        assertThat(answer(p)).isEmpty();
        p[64] = (byte) 128; // the same with an echo request: answered
        assertThat(answer(p)).isNotEmpty();
    }

    @Test
    void fragments() {
        byte[] later = echo4(100);
        later[7] = (byte) 185; // fragment offset 185 (x 8 bytes)
        assertThat(answer(later)).as("a later IPv4 fragment").isEmpty();
        byte[] first = echo4(100);
        first[6] = 0x20; // more fragments, offset 0
        assertThat(answer(first)).as("the first IPv4 fragment").isNotEmpty();
        // IPv6: a later fragment of anything is answered, as the kernel does; the type is unknown there.
        byte[] p = ipv6(44, 8 + 16, SRC6, DST6);
        p[40] = 58;
        p[42] = 0x05;
        p[43] = (byte) 0xa8; // offset 181 (x 8)
        p[48] = 1; // looks like an ICMPv6 error, but these are not its first bytes
        assertThat(answer(p)).isNotEmpty();
        p[42] = 0;
        p[43] = 1; // offset 0, more fragments: now the type is the real one, an error
        assertThat(answer(p)).isEmpty();
    }

    @Test
    void noAnswerForAnAddressThatNamesNoSingleHost() {
        byte[][] badDst4 = {{(byte) 224, 0, 0, 1}, {(byte) 255, (byte) 255, (byte) 255, (byte) 255},
                {(byte) 240, 0, 0, 1}, {0, 0, 0, 0}};
        for (byte[] d : badDst4) {
            assertThat(answer(withIcmpEcho(ipv4(1, 16, SRC4, d)))).as(Arrays.toString(d)).isEmpty();
            assertThat(answer(withIcmpEcho(ipv4(1, 16, d, DST4)))).as("from " + Arrays.toString(d)).isEmpty();
        }
        assertThat(answer(withIcmpEcho(ipv4(1, 16, new byte[]{127, 0, 0, 1}, DST4)))).isEmpty();
        assertThat(answer(ipv6(17, 16, SRC6, v6(0xff, 1)))).as("to ff00::1").isEmpty();
        assertThat(answer(ipv6(17, 16, v6(0xff, 1), DST6))).as("from a multicast address").isEmpty();
        assertThat(answer(ipv6(17, 16, v6(0, 0), DST6))).as("from ::").isEmpty();
        assertThat(answer(ipv6(17, 16, v6(0, 1), DST6))).as("from ::1").isEmpty();
        assertThat(answer(ipv6(17, 16, SRC6, DST6))).as("UDP between two hosts").isNotEmpty();
        assertThat(answer(ipv4(6, 20, SRC4, DST4))).as("TCP between two hosts").isNotEmpty();
    }

    private static byte[] withIcmpEcho(byte[] p) {
        p[20] = 8;
        return p;
    }

    @Test
    void ipv4OptionsAreQuotedAndTheIcmpTypeFoundAfterThem() {
        byte[] p = new byte[24 + 8];
        p[0] = 0x46; // 24-byte header
        p[3] = (byte) p.length;
        p[9] = 1;
        System.arraycopy(SRC4, 0, p, 12, 4);
        System.arraycopy(DST4, 0, p, 16, 4);
        p[20] = 1; // a no-op option, which would read as ICMP type 1 if the header length were ignored
        p[24] = 3; // the ICMP message: an error
        assertThat(answer(p)).isEmpty();
        p[24] = 8;
        byte[] r = answer(p);
        assertThat(Arrays.copyOfRange(r, 28, r.length)).isEqualTo(p);
    }

    @Test
    void cutAndMalformedPacketsAreRefusedWithoutThrowing() {
        assertThat(answer(new byte[0])).isEmpty();
        for (byte[] orig : new byte[][]{echo4(20), echo6(20)}) {
            for (int len = 0; len <= orig.length; len++) {
                byte[] r = answer(ByteBuffer.wrap(orig), 0, len);
                if (r.length > 0) {
                    assertValid(r);
                }
            }
        }
        byte[] badIhl = echo4(20);
        badIhl[0] = 0x44; // header shorter than 20 bytes
        assertThat(answer(badIhl)).isEmpty();
        badIhl[0] = 0x4f; // 60 bytes of header in a 48-byte packet
        assertThat(answer(badIhl)).isEmpty();
        byte[] v5 = echo4(20);
        v5[0] = 0x55;
        assertThat(answer(v5)).isEmpty();
    }

    @Test
    void randomInputNeverThrowsAndEveryAnswerIsWellFormed() {
        Random rnd = new Random(15);
        ByteBuffer out = ByteBuffer.allocate(IcmpErrors.MAX_LENGTH);
        for (int i = 0; i < 200_000; i++) {
            int len = rnd.nextInt(120);
            byte[] p = new byte[len + 3];
            rnd.nextBytes(p);
            if (len > 0 && rnd.nextBoolean()) {
                p[1] = (byte) (rnd.nextBoolean() ? 0x45 : 0x60); // mostly plausible versions
            }
            int n = IcmpErrors.unreachable(ByteBuffer.wrap(p), 1, len, out, 0);
            assertThat(n).isBetween(0, IcmpErrors.MAX_LENGTH);
            if (n > 0) {
                assertValid(Arrays.copyOf(out.array(), n));
            }
        }
    }

    private static void assertValid(byte[] r) {
        if ((r[0] & 0xf0) == 0x40) {
            assertThat(be16(r, 2)).isEqualTo(r.length);
            assertThat(rfc1071(r, 0, 20, 0)).isZero();
            assertThat(rfc1071(r, 20, r.length - 20, 0)).isZero();
        } else {
            assertThat(be16(r, 4)).isEqualTo(r.length - 40);
            assertThat(icmpv6Verify(r)).isZero();
        }
    }
}
