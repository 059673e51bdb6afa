package dev.patchcord.core.wg;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class Blake2sTest {
    private static final HexFormat HEX = HexFormat.of();

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static List<String> hex(byte[][] keys) {
        return Arrays.stream(keys).map(HEX::formatHex).toList();
    }

    private static byte[] counting(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) i;
        }
        return b;
    }

    @Test
    void hashOfEmptyInput() {
        assertThat(HEX.formatHex(Blake2s.hash()))
                .isEqualTo("69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9");
    }

    @Test
    void hashOfAbcMatchesRfc7693AppendixB() {
        assertThat(HEX.formatHex(Blake2s.hash(ascii("abc"))))
                .isEqualTo("508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
    }

    @Test
    void hashConcatenatesItsParts() {
        assertThat(Blake2s.hash(ascii("a"), new byte[0], ascii("bc"))).isEqualTo(Blake2s.hash(ascii("abc")));
    }

    /** Expected values computed with Python's hashlib.blake2s(data, key=..., digest_size=16). */
    @Test
    void macIsKeyedBlake2sWithSixteenByteOutput() {
        assertThat(HEX.formatHex(Blake2s.mac(counting(32), ascii("mac1 "), ascii("message"))))
                .isEqualTo("a22cfe0b20b5b20d2325b3efb6e30b26");
        assertThat(HEX.formatHex(Blake2s.mac(counting(16), ascii("cookie address"))))
                .isEqualTo("0dab5dfcc7f5faab11c1b17432d5ec95");
    }

    @Test
    void macRejectsKeysBlake2sCannotTake() {
        assertThatThrownBy(() -> Blake2s.mac(new byte[33], ascii("x")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("got 33");
        assertThatThrownBy(() -> Blake2s.mac(new byte[0], ascii("x")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /** Expected value computed with Python's hmac.new(key, msg, hashlib.blake2s). */
    @Test
    void hmacUsesBlake2s256() {
        assertThat(HEX.formatHex(Blake2s.hmac(ascii("key"), ascii("The quick brown fox "), ascii("jumps over the lazy dog"))))
                .isEqualTo("f93215bb90d4af4c3061cd932fb169fb8bb8a91d0b4022baea1271e1323cd9a0");
    }

    /** The vectors of wireguard-go's device/kdf_test.go; KDF1 and KDF2 are prefixes of KDF3. */
    @ParameterizedTest
    @CsvSource({
        "746573742d6b6579, 746573742d696e707574,"
                + " 6f0e5ad38daba1bea8a0d213688736f19763239305e0f58aba697f9ffc41c633,"
                + " df1194df20802a4fe594cde27e92991c8cae66c366e8106aaa937a55fa371e8a,"
                + " fac6e2745a325f5dc5d11a5b165aad08b0ada28e7b4e666b7c077934a4d76c24",
        "776972656775617264, 776972656775617264,"
                + " 491d43bbfdaa8750aaf535e334ecbfe5129967cd64635101c566d4caefda96e8,"
                + " 1e71a379baefd8a79aa4662212fcafe19a23e2b609a3db7d6bcba8f560e3d25f,"
                + " 31e1ae48bddfbe5de38f295e5452b1909a1b4e38e183926af3780b0c1e1f0160",
        "'', '',"
                + " 8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0,"
                + " 58a0e5f6faefccf4807bff1f05fa8a9217945762040bcec2f4b4a62bdfe0e86e,"
                + " 0ce6ea98ec548f8e281e93e32db65621c45eb18dc6f0a7ad94178610a2f7338e",
    })
    void kdfMatchesWireguardGo(String key, String input, String t1, String t2, String t3) {
        byte[] k = HEX.parseHex(key);
        byte[] in = HEX.parseHex(input);

        assertThat(hex(Blake2s.kdf(3, k, in))).containsExactly(t1, t2, t3);
        assertThat(hex(Blake2s.kdf(2, k, in))).containsExactly(t1, t2);
        assertThat(hex(Blake2s.kdf(1, k, in))).containsExactly(t1);
    }

    @Test
    void kdfDerivesOneToThreeKeys() {
        assertThatThrownBy(() -> Blake2s.kdf(0, new byte[32], new byte[0]))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Blake2s.kdf(4, new byte[32], new byte[0]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not 4");
    }
}
