package dev.patchcord.core.assign;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.assign.AddressMessage.Ack;
import dev.patchcord.core.assign.AddressMessage.Nak;
import dev.patchcord.core.assign.AddressMessage.Release;
import dev.patchcord.core.assign.AddressMessage.Renew;
import dev.patchcord.core.assign.AddressMessage.Request;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The byte layout of docs/protocol.md, message by message, and everything the decoder refuses. */
class AddressMessageCodecTest {
    static final HexFormat HEX = HexFormat.of();

    /** docs/protocol.md, "Example: REQUEST". */
    static final String GOLDEN_REQUEST = "80504341" + "01" + "01" + "0024" + "1234abcd"
            + "03" + "000000" + "0a090007" + "00000000000000000000000000000000";
    /** docs/protocol.md, "Example: ACK". */
    static final String GOLDEN_ACK = "80504341" + "01" + "02" + "0040" + "1234abcd"
            + "00000e10" + "03" + "18" + "40" + "02" + "0a090007" + "fd000009000000000000000000000002"
            + "0410c0a80000" + "0620fd000099000000000000000000000000";

    static InetAddress ip(String text) {
        return Cidr.parseAddress(text);
    }

    static Request goldenRequest() {
        return new Request(0x1234abcd, true, true, Optional.of(ip("10.9.0.7")), Optional.empty(), false);
    }

    static Ack goldenAck() {
        return new Ack(0x1234abcd, Optional.of(Cidr.parse("10.9.0.7/24")), Optional.of(Cidr.parse("fd00:9::2/64")),
                3600, List.of(Cidr.parse("192.168.0.0/16"), Cidr.parse("fd00:99::/32")));
    }

    static Stream<AddressMessage> examples() {
        return Stream.of(
                goldenRequest(),
                Request.any(0, true, false),
                Request.any(-1, false, true),
                new Request(7, false, true, Optional.empty(), Optional.of(ip("fd00:9::42")), true),
                new Request(8, true, true, Optional.of(ip("10.9.0.9")), Optional.of(ip("fd00:9::9")), false),
                goldenAck(),
                new Ack(1, Optional.of(Cidr.parse("10.9.0.2/32")), Optional.empty(), 1, List.of()),
                new Ack(2, Optional.empty(), Optional.of(Cidr.parse("fd00::2/128")), 0xffff_ffffL,
                        List.of(Cidr.parse("0.0.0.0/0"), Cidr.parse("::/0"))),
                new Nak(3, NakReason.ADDRESS_IN_USE.code(), "10.9.0.7 is leased to another peer"),
                new Nak(4, 200, ""),
                new Nak(5, NakReason.OTHER.code(), "é ∑ 🚀 " + "x".repeat(AddressMessage.MAX_TEXT - 12)),
                new Renew(6, Optional.of(ip("10.9.0.7")), Optional.empty()),
                new Renew(0x8000_0000, Optional.of(ip("10.9.0.7")), Optional.of(ip("fd00:9::2"))),
                new Release(0x7fff_ffff));
    }

    @ParameterizedTest
    @MethodSource("examples")
    void everyMessageSurvivesARoundTrip(AddressMessage m) {
        byte[] bytes = AddressMessages.toBytes(m);
        assertThat(bytes).hasSize(AddressMessages.size(m));
        assertThat(decode(bytes)).isEqualTo(m);
        assertThat(AddressMessage.isControl(ByteBuffer.wrap(bytes), 0, bytes.length)).isTrue();
    }

    @ParameterizedTest
    @MethodSource("examples")
    void encodesAtAnOffsetOverGarbageAndDecodesWithPadding(AddressMessage m) {
        ByteBuffer buf = ByteBuffer.allocate(1000).order(ByteOrder.LITTLE_ENDIAN); // the order must not matter
        Arrays.fill(buf.array(), (byte) 0x5a);
        buf.position(3);
        int n = AddressMessage.encode(m, buf, 100);
        assertThat(buf.position()).isEqualTo(3);
        assertThat(buf.get(99)).isEqualTo((byte) 0x5a);
        assertThat(buf.get(100 + n)).isEqualTo((byte) 0x5a);
        // WireGuard pads the plaintext with zeros to a multiple of 16.
        int padded = (n + 15) / 16 * 16;
        for (int i = 100 + n; i < 100 + padded; i++) {
            buf.put(i, (byte) 0);
        }
        assertThat(AddressMessage.decode(buf, 100, padded)).isEqualTo(m);
        assertThat(buf.position()).isEqualTo(3);
    }

    @Test
    void requestMatchesTheGoldenBytesOfTheProtocolDocument() {
        assertThat(HEX.formatHex(AddressMessages.toBytes(goldenRequest()))).isEqualTo(GOLDEN_REQUEST);
        assertThat(decode(HEX.parseHex(GOLDEN_REQUEST))).isEqualTo(goldenRequest());
    }

    @Test
    void ackMatchesTheGoldenBytesOfTheProtocolDocument() {
        assertThat(HEX.formatHex(AddressMessages.toBytes(goldenAck()))).isEqualTo(GOLDEN_ACK);
        assertThat(decode(HEX.parseHex(GOLDEN_ACK))).isEqualTo(goldenAck());
    }

    @Test
    void theLargestMessageIsAnAckWithThirtyTwoIpv6Routes() {
        List<Cidr> routes = Stream.iterate(0, i -> i + 1).limit(AddressMessage.MAX_ROUTES)
                .map(i -> Cidr.parse("fd00:" + Integer.toHexString(i + 1) + "::/32")).toList();
        Ack big = new Ack(1, Optional.of(Cidr.parse("10.0.0.2/8")), Optional.of(Cidr.parse("fd00::2/64")), 60, routes);
        byte[] bytes = AddressMessages.toBytes(big);
        assertThat(bytes).hasSize(AddressMessages.MAX_SIZE).hasSize(616);
        assertThat(decode(bytes)).isEqualTo(big);
    }

    @Test
    void ipPacketsAndKeepalivesAreNotControlMessages() {
        byte[] ipv4 = HEX.parseHex("4500001c0001000040010000c0a80001c0a80002" + "0800f7ff00000000");
        byte[] ipv6 = new byte[48];
        ipv6[0] = 0x60;
        assertThat(AddressMessage.isControl(ByteBuffer.wrap(ipv4), 0, ipv4.length)).isFalse();
        assertThat(AddressMessage.isControl(ByteBuffer.wrap(ipv6), 0, ipv6.length)).isFalse();
        assertThat(AddressMessage.isControl(ByteBuffer.allocate(0), 0, 0)).isFalse();
        for (int first = 0; first < 256; first++) {
            byte[] b = HEX.parseHex(GOLDEN_REQUEST);
            b[0] = (byte) first;
            boolean control = AddressMessage.isControl(ByteBuffer.wrap(b), 0, b.length);
            assertThat(control).as("first byte 0x%02x", first).isEqualTo(first == 0x80);
            if ((first >> 4) == 4 || (first >> 4) == 6) {
                assertThat(AddressMessage.decode(ByteBuffer.wrap(b), 0, b.length)).isNull();
            }
        }
    }

    @Test
    void truncatedMessagesAreNull() {
        byte[] ack = HEX.parseHex(GOLDEN_ACK);
        for (int len = 0; len < ack.length; len++) {
            assertThat(AddressMessage.decode(ByteBuffer.wrap(ack), 0, len)).as("%d bytes", len).isNull();
        }
    }

    @Test
    void aLengthFieldLongerThanTheDataIsNull() {
        byte[] b = HEX.parseHex(GOLDEN_REQUEST);
        b[7] = 40;
        assertThat(problem(Arrays.copyOf(b, 36))).contains("length field 40");
    }

    @Test
    void moreThanPaddingAfterTheMessageIsNull() {
        byte[] b = HEX.parseHex(GOLDEN_REQUEST);
        assertThat(decode(Arrays.copyOf(b, b.length + 15))).isEqualTo(goldenRequest());
        assertThat(problem(Arrays.copyOf(b, b.length + 16))).contains("more than padding");
        byte[] dirty = Arrays.copyOf(b, b.length + 4);
        dirty[b.length + 2] = 1;
        assertThat(problem(dirty)).contains("non-zero byte after the message");
    }

    @Test
    void wrongMagicVersionOrTypeIsNull() {
        assertThat(problem(patch(GOLDEN_REQUEST, 1, 0x51))).contains("magic");
        assertThat(problem(patch(GOLDEN_REQUEST, 4, 2))).isEqualTo("unsupported version 2");
        assertThat(problem(patch(GOLDEN_REQUEST, 4, 0))).isEqualTo("unsupported version 0");
        assertThat(problem(patch(GOLDEN_REQUEST, 5, 9))).isEqualTo("unknown message type 9");
        assertThat(problem(patch(GOLDEN_REQUEST, 5, 0))).isEqualTo("unknown message type 0");
    }

    @Test
    void reservedBitsAndContradictionsAreNull() {
        assertThat(problem(patch(GOLDEN_REQUEST, 12, 0x0b))).contains("reserved bits");
        assertThat(problem(patch(GOLDEN_REQUEST, 13, 1))).contains("reserved bits");
        // a requested IPv4 address without the IPv4 flag
        assertThat(problem(patch(GOLDEN_REQUEST, 12, 0x02))).contains("family wanted");
        // neither family wanted
        assertThat(problem(patch(GOLDEN_REQUEST, 12, 0x00))).contains("must want");
        // RENEW takes no ANY flag, and its flags must match the addresses present
        byte[] renew = AddressMessages.toBytes(new Renew(1, Optional.of(ip("10.9.0.7")), Optional.empty()));
        assertThat(problem(patch(renew, 12, 0x05))).contains("reserved bits");
        assertThat(problem(patch(renew, 12, 0x03))).contains("do not match");
        // ACK: prefix without its address, an impossible prefix, a zero prefix, host bits in a route
        assertThat(problem(patch(GOLDEN_ACK, 16, 0x02))).contains("flags say is absent");
        assertThat(problem(patch(GOLDEN_ACK, 17, 33))).contains("impossible prefix");
        assertThat(problem(patch(GOLDEN_ACK, 17, 0))).contains("not a usable IPv4 address");
        assertThat(problem(patch(GOLDEN_ACK, 44, 1))).contains("host bits");
        assertThat(problem(patch(GOLDEN_ACK, 40, 5))).contains("unknown family 5");
        assertThat(problem(patch(GOLDEN_ACK, 41, 33))).contains("longer than its address");
        assertThat(problem(patch(GOLDEN_ACK, 19, 3))).contains("cut short");
        assertThat(problem(patch(GOLDEN_ACK, 19, 1))).contains("after the last route");
        assertThat(problem(patch(GOLDEN_ACK, 19, 33))).contains("more than 32");
        assertThat(problem(patch(GOLDEN_ACK, 12, 0, 0, 0, 0))).contains("out of range");
        // RELEASE with a body
        byte[] release = AddressMessages.toBytes(new Release(1));
        byte[] longer = Arrays.copyOf(release, 16);
        longer[7] = 16;
        assertThat(problem(longer)).contains("RELEASE of 16 bytes");
    }

    @Test
    void nakTextMustBeValidUtf8WithoutControlCharacters() {
        byte[] nak = AddressMessages.toBytes(new Nak(1, 1, "abc"));
        assertThat(problem(patch(nak, 16, 0xff))).isEqualTo("NAK text is not valid UTF-8");
        assertThat(problem(patch(nak, 16, 0xc0, 0x80))).isEqualTo("NAK text is not valid UTF-8"); // overlong NUL
        assertThat(problem(patch(nak, 17, 0x1b))).contains("control character");
        assertThat(problem(patch(nak, 13, 4))).contains("does not fit");
        assertThat(problem(patch(nak, 12, 0))).contains("reason code 0");
        assertThat(problem(patch(nak, 14, 1))).contains("reserved");
    }

    @Test
    void unknownReasonCodesAreCarriedAndReadAsOther() {
        Nak n = (Nak) decode(AddressMessages.toBytes(new Nak(1, 77, "newer server")));
        assertThat(n.code()).isEqualTo(77);
        assertThat(n.reason()).isEqualTo(NakReason.OTHER);
        assertThat(new Nak(1, 1, "").reason()).isEqualTo(NakReason.ADDRESS_IN_USE);
    }

    @Test
    void nakOfShortensAndCleansItsText() {
        Nak n = Nak.of(1, NakReason.OUT_OF_POOL, "a\u0007b\nc" + "ü".repeat(200));
        assertThat(n.text()).startsWith("a?b?c");
        assertThat(n.text().getBytes(java.nio.charset.StandardCharsets.UTF_8)).hasSizeLessThanOrEqualTo(AddressMessage.MAX_TEXT);
        assertThat(n.text().getBytes(java.nio.charset.StandardCharsets.UTF_8).length).isEqualTo(199); // no half 'ü'
        assertThat(Nak.of(1, NakReason.OTHER, "\ud800x").text()).isEqualTo("?x");
        assertThat(decode(AddressMessages.toBytes(n))).isEqualTo(n);
    }

    @Test
    void decodeNeverReadsOutsideItsBytesNorThrowsForBadArguments() {
        ByteBuffer buf = ByteBuffer.wrap(HEX.parseHex(GOLDEN_REQUEST));
        assertThat(AddressMessage.decode(buf, -1, 10)).isNull();
        assertThat(AddressMessage.decode(buf, 30, 10)).isNull();
        assertThat(AddressMessage.decode(buf, 0, -1)).isNull();
        assertThat(AddressMessage.decode(buf, Integer.MAX_VALUE, Integer.MAX_VALUE)).isNull();
        assertThat(AddressMessage.decode(null, 0, 0)).isNull();
        assertThat(AddressMessage.isControl(buf, 30, 10)).isFalse();
    }

    @Test
    void encodingNeedsRoom() {
        assertThatThrownBy(() -> AddressMessage.encode(goldenAck(), ByteBuffer.allocate(63), 0))
                .isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessage("no room for a 64-byte control message at 0 in a buffer of 63");
    }

    @Test
    void recordsRefuseWhatTheWireCannotCarry() {
        assertThatThrownBy(() -> Request.any(1, false, false)).hasMessage("a request must want IPv4, IPv6 or both");
        assertThatThrownBy(() -> new Request(1, true, false, Optional.of(ip("fd00::1")), Optional.empty(), false))
                .hasMessage("requested IPv4 address fd00::1 is of the wrong family");
        assertThatThrownBy(() -> new Request(1, true, false, Optional.of(ip("0.0.0.0")), Optional.empty(), false))
                .hasMessage("requested IPv4 address 0.0.0.0 is the unspecified address");
        assertThatThrownBy(() -> new Request(1, false, true, Optional.of(ip("10.0.0.1")), Optional.empty(), false))
                .hasMessage("a requested address needs its family wanted");
        assertThatThrownBy(() -> new Ack(1, Optional.empty(), Optional.empty(), 1, List.of()))
                .hasMessage("an ACK must assign an IPv4 or an IPv6 address");
        assertThatThrownBy(() -> new Ack(1, Optional.of(Cidr.parse("10.0.0.1/24")), Optional.empty(), 0, List.of()))
                .hasMessage("lease of 0 s is out of range (1-4294967295)");
        assertThatThrownBy(() -> new Ack(1, Optional.of(Cidr.parse("10.0.0.1/24")), Optional.empty(), 1,
                List.of(Cidr.parse("10.1.0.1/16")))).hasMessage("route 10.1.0.1/16 has host bits set (10.1.0.0/16)");
        assertThatThrownBy(() -> new Nak(1, 1, "x".repeat(201))).hasMessage("NAK text is longer than 200 bytes");
        assertThatThrownBy(() -> new Nak(1, 256, "")).hasMessage("reason code 256 is out of range (1-255)");
        assertThatThrownBy(() -> new Renew(1, Optional.empty(), Optional.empty()))
                .hasMessage("a renewal must name the IPv4 or IPv6 address it holds");
    }

    static AddressMessage decode(byte[] b) {
        return AddressMessage.decode(ByteBuffer.wrap(b), 0, b.length);
    }

    /** The decoder's problem; asserts there is one (the message is refused). */
    static String problem(byte[] b) {
        AddressMessages.Result r = AddressMessages.read(ByteBuffer.wrap(b), 0, b.length);
        assertThat(r.message()).as("decoded %s", HEX.formatHex(b)).isNull();
        assertThat(r.problem()).isNotBlank();
        return r.problem();
    }

    static byte[] patch(String hex, int at, int... values) {
        return patch(HEX.parseHex(hex), at, values);
    }

    static byte[] patch(byte[] original, int at, int... values) {
        byte[] b = original.clone();
        for (int i = 0; i < values.length; i++) {
            b[at + i] = (byte) values[i];
        }
        return b;
    }
}
