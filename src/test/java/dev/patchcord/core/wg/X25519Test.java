package dev.patchcord.core.wg;

import java.math.BigInteger;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class X25519Test {
    private static final HexFormat HEX = HexFormat.of();
    private static final BigInteger P = BigInteger.TWO.pow(255).subtract(BigInteger.valueOf(19));

    private static final byte[] ALICE_PRIVATE = HEX.parseHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    private static final byte[] ALICE_PUBLIC = HEX.parseHex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    private static final byte[] BOB_PRIVATE = HEX.parseHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    private static final byte[] BOB_PUBLIC = HEX.parseHex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    private static final String SHARED = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

    /** A little-endian u-coordinate of 32 bytes, for points written as numbers. */
    private static byte[] u(BigInteger value) {
        byte[] out = new byte[32];
        byte[] be = value.toByteArray();
        for (int i = 0; i < be.length && i < 32; i++) {
            out[i] = be[be.length - 1 - i];
        }
        return out;
    }

    @Test
    void publicKeysMatchRfc7748Section61() {
        assertThat(X25519.publicKey(ALICE_PRIVATE)).isEqualTo(ALICE_PUBLIC);
        assertThat(X25519.publicKey(BOB_PRIVATE)).isEqualTo(BOB_PUBLIC);
    }

    @Test
    void sharedSecretMatchesRfc7748Section61FromBothSides() {
        assertThat(HEX.formatHex(X25519.sharedSecret(ALICE_PRIVATE, BOB_PUBLIC))).isEqualTo(SHARED);
        assertThat(HEX.formatHex(X25519.sharedSecret(BOB_PRIVATE, ALICE_PUBLIC))).isEqualTo(SHARED);
    }

    /** RFC 7748 §5.2: unclamped scalars, and a u-coordinate whose top bit must be ignored. */
    @Test
    void scalarMultiplicationMatchesRfc7748Section52() {
        assertThat(HEX.formatHex(X25519.sharedSecret(
                HEX.parseHex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
                HEX.parseHex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"))))
                .isEqualTo("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
        assertThat(HEX.formatHex(X25519.sharedSecret(
                HEX.parseHex("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d"),
                HEX.parseHex("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493"))))
                .isEqualTo("95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
    }

    /** A pair made once with {@code wg genkey | tee /dev/stderr | wg pubkey} (wireguard-tools). */
    @Test
    void publicKeyMatchesWgPubkey() {
        byte[] priv = Keys.fromBase64("WFOFRHCBWHrl39ag44BkDzSerRcIcNiBui9LwF5XKkA=");
        assertThat(Keys.toBase64(X25519.publicKey(priv))).isEqualTo("uUlRrjpuwhUkZthEOwzfYr6rWOVy+5d+AeouEBCOSS4=");
    }

    @Test
    void nonCanonicalCoordinatesNameTheSamePointAsTheirReduction() {
        byte[] canonical = u(BigInteger.valueOf(9));
        byte[] plusP = u(P.add(BigInteger.valueOf(9)));
        assertThat(X25519.sharedSecret(ALICE_PRIVATE, plusP)).isEqualTo(X25519.sharedSecret(ALICE_PRIVATE, canonical));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    })
    void smallOrderPointsGiveNoSecret(String point) {
        assertThat(X25519.sharedSecret(ALICE_PRIVATE, HEX.parseHex(point))).isNull();
    }

    @Test
    void generatedKeysAreClamped() {
        RandomGenerator allOnes = () -> -1L;
        RandomGenerator allZeros = () -> 0L;
        assertThat(HEX.formatHex(X25519.generatePrivate(allOnes)))
                .isEqualTo("f8" + "ff".repeat(30) + "7f");
        assertThat(HEX.formatHex(X25519.generatePrivate(allZeros)))
                .isEqualTo("00".repeat(31) + "40");
    }

    @Test
    void generatedKeysAgree() {
        SplittableRandom rng = new SplittableRandom(7);
        byte[] a = X25519.generatePrivate(rng);
        byte[] b = X25519.generatePrivate(rng);
        assertThat(a).isNotEqualTo(b);
        assertThat(X25519.sharedSecret(a, X25519.publicKey(b))).isEqualTo(X25519.sharedSecret(b, X25519.publicKey(a)));
    }

    @Test
    void concurrentCallsAgree() {
        List<String> secrets = IntStream.range(0, 200).parallel()
                .mapToObj(i -> HEX.formatHex(X25519.sharedSecret(ALICE_PRIVATE, BOB_PUBLIC)))
                .distinct()
                .toList();
        assertThat(secrets).containsExactly(SHARED);
    }

    @Test
    void keysMustBe32Bytes() {
        assertThatThrownBy(() -> X25519.sharedSecret(new byte[31], BOB_PUBLIC))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("private key is 32 bytes, got 31");
        assertThatThrownBy(() -> X25519.publicKey(new byte[33]))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
