package dev.patchcord.core.wg;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AeadTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final byte[] KEY = HEX.parseHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    private static final byte[] AD = ascii("header");

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * Expected values computed with Python's cryptography package (OpenSSL), nonce
     * {@code 00000000 ‖ counter as u64 little-endian}: an implementation independent of the JDK's.
     */
    @ParameterizedTest
    @CsvSource({
        "0102030405060708, 7061746368636f7264, 686561646572, 8028d987c35a856a00c7628994f15b222e99c28465081ff320",
        "0000000000000000, '', 0000000000000000000000000000000000000000000000000000000000000000,"
                + " 1c09754acdf3255d71be6eef936a8eb8",
        "ffffffffffffffff, 6c617374, '', 3ce22637f67cbfe9d84bbe673046c40ec4e370e0",
    })
    void sealMatchesAnIndependentImplementation(String counter, String plaintext, String ad, String sealed) {
        long ctr = Long.parseUnsignedLong(counter, 16);
        byte[] pt = HEX.parseHex(plaintext);
        byte[] a = HEX.parseHex(ad);

        assertThat(HEX.formatHex(Aead.seal(KEY, ctr, pt, a))).isEqualTo(sealed);
        assertThat(Aead.open(KEY, ctr, HEX.parseHex(sealed), a)).isEqualTo(pt);
    }

    @Test
    void nonceIsFourZeroBytesThenTheCounterLittleEndian() {
        assertThat(HEX.formatHex(Aead.nonce(0x0102030405060708L))).isEqualTo("00000000" + "0807060504030201");
        assertThat(HEX.formatHex(Aead.nonce(-1L))).isEqualTo("00000000" + "ffffffffffffffff");
    }

    @Test
    void sealAgreesWithAJdkCipherGivenTheNonceByHand() throws Exception {
        byte[] nonce = HEX.parseHex("000000002a00000000000000");
        Cipher c = Cipher.getInstance("ChaCha20-Poly1305");
        c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(KEY, "ChaCha20"), new IvParameterSpec(nonce));
        c.updateAAD(AD);
        byte[] expected = c.doFinal(ascii("by hand"));

        assertThat(Aead.seal(KEY, 42, ascii("by hand"), AD)).isEqualTo(expected);
    }

    @Test
    void roundTripAddsOneTag() {
        byte[] pt = ascii("a handshake field");
        byte[] sealed = Aead.seal(KEY, 0, pt, AD);
        assertThat(sealed).hasSize(pt.length + Aead.TAG_SIZE);
        assertThat(Aead.open(KEY, 0, sealed, AD)).isEqualTo(pt);
    }

    @Test
    void sealingTheSameInputTwiceGivesTheSameOutput() {
        assertThat(Aead.seal(KEY, 0, ascii("again"), AD)).isEqualTo(Aead.seal(KEY, 0, ascii("again"), AD));
    }

    @Test
    void tamperedCiphertextOrTagDoesNotOpen() {
        byte[] sealed = Aead.seal(KEY, 0, ascii("do not touch"), AD);
        for (int i = 0; i < sealed.length; i++) {
            byte[] t = sealed.clone();
            t[i] ^= 0x01;
            assertThat(Aead.open(KEY, 0, t, AD)).as("bit flipped in byte %d", i).isNull();
        }
    }

    @Test
    void wrongAssociatedDataCounterOrKeyDoesNotOpen() {
        byte[] sealed = Aead.seal(KEY, 5, ascii("bound"), AD);
        byte[] otherKey = KEY.clone();
        otherKey[31] ^= 1;

        assertThat(Aead.open(KEY, 5, sealed, ascii("headeR"))).isNull();
        assertThat(Aead.open(KEY, 5, sealed, new byte[0])).isNull();
        assertThat(Aead.open(KEY, 6, sealed, AD)).isNull();
        assertThat(Aead.open(otherKey, 5, sealed, AD)).isNull();
    }

    @Test
    void inputShorterThanATagDoesNotOpen() {
        assertThat(Aead.open(KEY, 0, new byte[15], AD)).isNull();
        assertThat(Aead.open(KEY, 0, new byte[0], AD)).isNull();
    }

    @Test
    void keyMustBe32Bytes() {
        assertThatThrownBy(() -> Aead.seal(new byte[16], 0, new byte[0], AD))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("got 16");
    }
}
