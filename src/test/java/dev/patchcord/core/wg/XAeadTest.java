package dev.patchcord.core.wg;

import java.util.HexFormat;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class XAeadTest {
    private static final HexFormat HEX = HexFormat.of();

    /** draft-irtf-cfrg-xchacha-03, appendix A.3.1. */
    private static final byte[] KEY = HEX.parseHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
    private static final byte[] NONCE = HEX.parseHex("404142434445464748494a4b4c4d4e4f5051525354555657");
    private static final byte[] AD = HEX.parseHex("50515253c0c1c2c3c4c5c6c7");
    private static final byte[] PLAINTEXT = HEX.parseHex(
            "4c616469657320616e642047656e746c656d656e206f662074686520636c6173"
            + "73206f66202739393a204966204920636f756c64206f6666657220796f75206f"
            + "6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73"
            + "637265656e20776f756c642062652069742e");
    private static final String CIPHERTEXT =
            "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
            + "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
            + "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
            + "21f9664c97637da9768812f615c68b13b52e";
    private static final String TAG = "c0875924c1c7987947deafd8780acf49";

    @Test
    void sealMatchesDraftVector() {
        assertThat(HEX.formatHex(XAead.seal(KEY, NONCE, PLAINTEXT, AD))).isEqualTo(CIPHERTEXT + TAG);
    }

    @Test
    void openMatchesDraftVector() {
        assertThat(XAead.open(KEY, NONCE, HEX.parseHex(CIPHERTEXT + TAG), AD)).isEqualTo(PLAINTEXT);
    }

    @Test
    void flippedBitDoesNotOpen() {
        byte[] sealed = HEX.parseHex(CIPHERTEXT + TAG);
        for (int i : new int[] {0, 57, sealed.length - 1}) {
            byte[] t = sealed.clone();
            t[i] ^= (byte) 0x80;
            assertThat(XAead.open(KEY, NONCE, t, AD)).as("bit flipped in byte %d", i).isNull();
        }
    }

    @Test
    void wrongAssociatedDataOrNonceDoesNotOpen() {
        byte[] sealed = HEX.parseHex(CIPHERTEXT + TAG);
        byte[] otherNonce = NONCE.clone();
        otherNonce[23] ^= 1;
        byte[] otherAd = AD.clone();
        otherAd[0] ^= 1;

        assertThat(XAead.open(KEY, otherNonce, sealed, AD)).isNull();
        assertThat(XAead.open(KEY, NONCE, sealed, otherAd)).isNull();
    }

    /** The shape WireGuard uses: a 16-byte cookie under a mac1 as associated data. */
    @Test
    void cookieRoundTrip() {
        byte[] cookie = HEX.parseHex("00112233445566778899aabbccddeeff");
        byte[] mac1 = HEX.parseHex("0f0e0d0c0b0a09080706050403020100");
        byte[] sealed = XAead.seal(KEY, NONCE, cookie, mac1);
        assertThat(sealed).hasSize(Protocol.COOKIE_SIZE + Protocol.TAG_SIZE);
        assertThat(XAead.open(KEY, NONCE, sealed, mac1)).isEqualTo(cookie);
    }

    @Test
    void inputShorterThanATagDoesNotOpen() {
        assertThat(XAead.open(KEY, NONCE, new byte[15], AD)).isNull();
    }

    @Test
    void nonceMustBe24Bytes() {
        assertThatThrownBy(() -> XAead.seal(KEY, new byte[12], new byte[0], AD))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("nonce is 24 bytes, got 12");
    }
}
