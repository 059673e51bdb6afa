package dev.patchcord.core.simplevpn;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.HexFormat;

import static dev.patchcord.core.simplevpn.ControlMessage.Kind.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Byte-exact against the messages captured from the original (seed-protocols.md §5.2). */
class ControlMessageTest {
    private static final HexFormat HEX = HexFormat.of();
    static final int ADDR_254_253 = 0x0A00FEFD;
    static final int ADDR_1_5 = 0x0A000105;

    private static String hex(byte[] b) {
        return HEX.formatHex(b);
    }

    @Test
    void dynamicRequestIsTheCapturedBytes() {
        assertThat(hex(ControlMessage.dynamicRequest())).isEqualTo("4514000000000000400000000000000000000000");
    }

    @Test
    void assignmentIsTheRequestWithTheDestinationFilledIn() {
        // The capture: "...00000000 0a00fefd" for the second client.
        assertThat(hex(ControlMessage.assignment(ADDR_254_253))).isEqualTo("451400000000000040000000" + "00000000" + "0a00fefd");
    }

    @Test
    void staticRequestCarriesTheAddressAsSourceAndTheGrantAsDestination() {
        assertThat(hex(ControlMessage.staticRequest(ADDR_1_5))).isEqualTo("451400000000000040000000" + "0a000105" + "00000000");
        assertThat(hex(ControlMessage.assignment(ADDR_1_5))).isEqualTo("451400000000000040000000" + "00000000" + "0a000105");
    }

    @Test
    void keepaliveIsAllOnesBothWays() {
        assertThat(hex(ControlMessage.keepalive())).isEqualTo("451400000000000040000000" + "ffffffff" + "ffffffff");
    }

    @Test
    void kindsFollowSourceAndDestinationAlone() {
        assertThat(kind("4514000000000000400000000000000000000000")).isEqualTo(DYNAMIC_REQUEST);
        assertThat(kind("4514000000000000400000000a00010500000000")).isEqualTo(STATIC_REQUEST);
        assertThat(kind("451400000000000040000000000000000a00fefd")).isEqualTo(ASSIGNMENT);
        assertThat(kind("45140000000000004000000000000000ffffffff")).isEqualTo(UNKNOWN);
        assertThat(kind("451400000000000040000000ffffffffffffffff")).isEqualTo(KEEPALIVE);
        // The original server echoes keepalives whatever bytes 0-11 hold.
        assertThat(kind("4fee0000deadbeefcafe0102ffffffffffffffff")).isEqualTo(KEEPALIVE);
        assertThat(kind("4514000000000000400000000a0001050a000106")).isEqualTo(UNKNOWN);
    }

    @Test
    void controlShapeIsIpv4WithTotalLengthZero() {
        assertThat(ControlMessage.isControl(buf("4514000000000000400000000000000000000000"), 0)).isTrue();
        assertThat(ControlMessage.isControl(buf("4500005400000000400100000a00fefe0a00fefd"), 0)).isFalse();
        assertThat(ControlMessage.isControl(buf("6000000000000000000000000000000000000000"), 0)).isFalse();
    }

    @Test
    void encodeWritesAtAnOffsetWithoutMovingThePosition() {
        ByteBuffer b = ByteBuffer.allocate(30);
        b.position(3);
        ControlMessage.encode(b, 7, 0, ADDR_254_253);
        assertThat(b.position()).isEqualTo(3);
        assertThat(ControlMessage.destination(b, 7)).isEqualTo(ADDR_254_253);
        assertThat(ControlMessage.source(b, 7)).isZero();
        assertThat(b.get(7)).isEqualTo((byte) 0x45);
        assertThat(b.get(6)).isZero();
    }

    @Test
    void addressesAsIntsInNetworkOrder() {
        assertThat(ControlMessage.format(0x0A00FEFE)).isEqualTo("10.0.254.254");
        assertThat(ControlMessage.format(ControlMessage.ALL_ONES)).isEqualTo("255.255.255.255");
        assertThat(ControlMessage.fromBytes(new byte[]{10, 0, 1, 5})).isEqualTo(ADDR_1_5);
        assertThat(ControlMessage.toBytes(ADDR_1_5)).containsExactly(10, 0, 1, 5);
        assertThatThrownBy(() -> ControlMessage.fromBytes(new byte[16])).hasMessageContaining("4 bytes");
    }

    private static ByteBuffer buf(String hex) {
        return ByteBuffer.wrap(HEX.parseHex(hex));
    }

    private static ControlMessage.Kind kind(String hex) {
        return ControlMessage.kind(buf(hex), 0);
    }
}
