package dev.patchcord.core.wg;

import java.util.Base64;
import java.util.HexFormat;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class KeysTest {
    private static final String WG_PRIVATE = "WFOFRHCBWHrl39ag44BkDzSerRcIcNiBui9LwF5XKkA=";

    @Property
    void base64RoundTrip(@ForAll @Size(32) byte[] key) {
        String text = Keys.toBase64(key);
        assertThat(text).hasSize(44).endsWith("=");
        assertThat(Keys.fromBase64(text)).isEqualTo(key);
    }

    @Property
    void hexRoundTrip(@ForAll @Size(32) byte[] key) {
        String text = Keys.toHex(key);
        assertThat(text).hasSize(64).matches("[0-9a-f]+");
        assertThat(Keys.fromHex(text)).isEqualTo(key);
        assertThat(Keys.fromHex(text.toUpperCase())).isEqualTo(key);
    }

    @Test
    void wgKeyReadsAsItsBytes() {
        byte[] key = Keys.fromBase64(WG_PRIVATE);
        assertThat(Keys.toHex(key)).isEqualTo(HexFormat.of().formatHex(Base64.getDecoder().decode(WG_PRIVATE)));
        assertThat(Keys.toBase64(key)).isEqualTo(WG_PRIVATE);
    }

    @Test
    void base64Of31BytesIsRejectedByByteCount() {
        String text = Base64.getEncoder().encodeToString(new byte[31]);
        assertThat(text).hasSize(44);
        assertThatThrownBy(() -> Keys.fromBase64(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("a WireGuard key is 32 bytes, this base64 text holds 31 bytes");
    }

    @Test
    void base64Of33BytesIsRejectedByByteCount() {
        String text = Base64.getEncoder().encodeToString(new byte[33]);
        assertThat(text).hasSize(44);
        assertThatThrownBy(() -> Keys.fromBase64(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("a WireGuard key is 32 bytes, this base64 text holds 33 bytes");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "WFOFRHCBWHrl39ag44BkDzSerRcIcNiBui9LwF5XKkA", "WFOFRHCBWHrl39ag44BkDzSerRcIcNiBui9LwF5XKkA=\n"})
    void base64OfWrongLengthNamesTheLength(String text) {
        assertThatThrownBy(() -> Keys.fromBase64(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("a WireGuard key is 44 base64 characters, got " + text.length() + " characters");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "WFOFRHCBWHrl39ag44BkDzSerRcIcNiBui9LwF5XKk*=",
        "WFOFRHCBWHrl39ag44BkDzSerRcIcNiBui9LwF5XKk-=",
        "WFOFRHCBWHrl39ag44BkDz Serl39ag44BkDzSerRcI=",
        "WFOFRHCBWHrl39ag44BkDzSerRcIcNiBui9LwF5X=kA=",
    })
    void garbageIsRejectedAsNotBase64(String text) {
        assertThatThrownBy(() -> Keys.fromBase64(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("a WireGuard key must be standard base64");
    }

    @Test
    void nonCanonicalBase64IsRejected() {
        String text = WG_PRIVATE.substring(0, 42) + "B=";
        assertThatThrownBy(() -> Keys.fromBase64(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("canonical");
    }

    @Test
    void messagesNeverQuoteTheKey() {
        String almost = WG_PRIVATE.substring(0, 43) + "*";
        assertThatThrownBy(() -> Keys.fromBase64(almost)).message().doesNotContain(WG_PRIVATE.substring(0, 10));
        String hex = "zz" + "00".repeat(31);
        assertThatThrownBy(() -> Keys.fromHex(hex)).message().doesNotContain(hex);
    }

    @Test
    void hexOfWrongLengthOrDigitsIsRejected() {
        assertThatThrownBy(() -> Keys.fromHex("00".repeat(31)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("a WireGuard key is 64 hex digits, got 62 characters");
        assertThatThrownBy(() -> Keys.fromHex("00".repeat(31) + "0g"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageEndingWith("position 63");
        assertThatThrownBy(() -> Keys.fromHex("\u0661" + "0".repeat(63)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageEndingWith("position 0");
    }

    @Test
    void encodersRefuseKeysOfTheWrongSize() {
        assertThatThrownBy(() -> Keys.toBase64(new byte[31])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Keys.toHex(new byte[33])).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void zeroAndEquality() {
        byte[] zero = new byte[32];
        byte[] one = new byte[32];
        one[31] = 1;
        assertThat(Keys.isZero(zero)).isTrue();
        assertThat(Keys.isZero(one)).isFalse();
        assertThat(Keys.isZero(new byte[] {(byte) 0x80})).isFalse();
        assertThat(Keys.equal(one, one.clone())).isTrue();
        assertThat(Keys.equal(zero, one)).isFalse();
        assertThat(Keys.equal(zero, new byte[31])).isFalse();
    }
}
