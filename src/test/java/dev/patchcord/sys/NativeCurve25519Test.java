package dev.patchcord.sys;

import dev.patchcord.core.wg.Curve25519;
import dev.patchcord.core.wg.JdkCurve25519;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Pair;
import dev.patchcord.core.wg.X25519;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The native X25519 (OpenSSL's) against the JDK's XDH, which is the reference: RFC 7748's vectors,
 * random keys both ways, the points of small order refused alike, wrong lengths refused, and a
 * handshake between a node that uses it and one that uses the JDK. Skipped where this system has
 * no usable libcrypto (the node then uses the JDK's).
 */
class NativeCurve25519Test {
    private static final HexFormat HEX = HexFormat.of();
    private static final Curve25519 JDK = JdkCurve25519.INSTANCE;
    private static Curve25519 engine;

    @BeforeAll
    static void needsTheLibrary() {
        assumeTrue(LibCrypto.hasX25519(), "no libcrypto.so.3 with X25519 on this system");
        engine = new OpenSslCurve25519();
    }

    @Test
    void theChoiceIsTheNativeEngineAndItSaysWhichLibrary() {
        assertThat(NativeCurve25519.best()).isPresent();
        assertThat(NativeCurve25519.best().orElseThrow().name()).startsWith("OpenSSL 3.");
    }

    @Test
    void aWrongEngineIsNotChosen() {
        Curve25519 off = new Curve25519() {
            @Override
            public byte[] publicKey(byte[] privateKey) {
                return JDK.publicKey(privateKey);
            }

            @Override
            public boolean sharedSecret(byte[] privateKey, byte[] publicKey, byte[] out) {
                boolean ok = JDK.sharedSecret(privateKey, publicKey, out);
                out[5] ^= 1;
                return ok;
            }

            @Override
            public String name() {
                return "off by one bit";
            }
        };
        assertThat(NativeCurve25519.agreesWithTheJdk(off)).isFalse();
        assertThat(NativeCurve25519.agreesWithTheJdk(engine)).isTrue();
    }

    /** RFC 7748 §6.1. */
    @Test
    void diffieHellmanMatchesRfc7748Section61() {
        byte[] alice = HEX.parseHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        byte[] bob = HEX.parseHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
        assertThat(HEX.formatHex(engine.publicKey(alice)))
                .isEqualTo("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
        assertThat(HEX.formatHex(engine.publicKey(bob)))
                .isEqualTo("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
        String shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
        assertThat(HEX.formatHex(engine.sharedSecret(alice, engine.publicKey(bob)))).isEqualTo(shared);
        assertThat(HEX.formatHex(engine.sharedSecret(bob, engine.publicKey(alice)))).isEqualTo(shared);
    }

    /** RFC 7748 §5.2: unclamped scalars, and a u-coordinate whose top bit must be ignored. */
    @Test
    void scalarMultiplicationMatchesRfc7748Section52() {
        assertThat(HEX.formatHex(engine.sharedSecret(
                HEX.parseHex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
                HEX.parseHex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"))))
                .isEqualTo("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
        assertThat(HEX.formatHex(engine.sharedSecret(
                HEX.parseHex("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d"),
                HEX.parseHex("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493"))))
                .isEqualTo("95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
    }

    /** RFC 7748 §5.2's iteration: k = X25519(k, u), u = the old k, from k = u = 9, 1000 times. */
    @Test
    void thousandIterationsMatchRfc7748() {
        byte[] k = new byte[32];
        k[0] = 9;
        byte[] u = k.clone();
        for (int i = 1; i <= 1000; i++) {
            byte[] next = engine.sharedSecret(k, u);
            u = k;
            k = next;
            if (i == 1) {
                assertThat(HEX.formatHex(k)).isEqualTo("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
            }
        }
        assertThat(HEX.formatHex(k)).isEqualTo("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
    }

    /** Random keys, clamped or not, and random public keys (not all of them on the curve). */
    @Test
    void randomKeysGiveTheJdksResultsBothWays() {
        SplittableRandom rng = new SplittableRandom(17);
        for (int i = 0; i < 200; i++) {
            byte[] a = new byte[32], b = new byte[32], junk = new byte[32];
            rng.nextBytes(a);
            rng.nextBytes(b);
            rng.nextBytes(junk);
            byte[] publicA = engine.publicKey(a);
            byte[] publicB = engine.publicKey(b);
            assertThat(publicA).isEqualTo(JDK.publicKey(a));
            assertThat(publicB).isEqualTo(JDK.publicKey(b));
            byte[] secret = engine.sharedSecret(a, publicB);
            assertThat(secret).isNotNull().isEqualTo(JDK.sharedSecret(b, publicA)).isEqualTo(engine.sharedSecret(b, publicA));
            assertThat(engine.sharedSecret(a, junk)).isEqualTo(JDK.sharedSecret(a, junk));
        }
    }

    @Test
    void nonCanonicalCoordinatesGiveTheJdksResult() {
        BigInteger p = BigInteger.TWO.pow(255).subtract(BigInteger.valueOf(19));
        byte[] a = X25519.generatePrivate(new SplittableRandom(3));
        for (BigInteger u : List.of(p, p.add(BigInteger.ONE), p.add(BigInteger.valueOf(9)),
                BigInteger.TWO.pow(255).subtract(BigInteger.ONE), BigInteger.TWO.pow(256).subtract(BigInteger.ONE))) {
            byte[] point = littleEndian(u);
            assertThat(engine.sharedSecret(a, point)).as("u = %s", u).isEqualTo(JDK.sharedSecret(a, point));
        }
    }

    private static byte[] littleEndian(BigInteger value) {
        byte[] out = new byte[32];
        byte[] be = value.toByteArray();
        for (int i = 0; i < be.length && i < 32; i++) {
            out[i] = be[be.length - 1 - i];
        }
        return out;
    }

    /**
     * The points of order 1, 2, 4 and 8, and forms of them that are not canonical (plus p, or the
     * top bit set, which is ignored): the result is all zeros, so refused.
     */
    @ParameterizedTest
    @ValueSource(strings = {
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "0100000000000000000000000000000000000000000000000000000000000080",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",
    })
    void smallOrderPointsAreRefusedLikeTheJdk(String point) {
        byte[] a = X25519.generatePrivate(new SplittableRandom(point.hashCode()));
        byte[] out = new byte[32];
        java.util.Arrays.fill(out, (byte) 0x55);
        assertThat(engine.sharedSecret(a, HEX.parseHex(point), out)).isFalse();
        assertThat(out).as("nothing of a refused result is left").containsOnly(0);
        assertThat(engine.sharedSecret(a, HEX.parseHex(point))).isNull();
        assertThat(JDK.sharedSecret(a, HEX.parseHex(point))).isNull();
        // The engine still works afterwards (a failed derivation leaves nothing behind).
        assertThat(engine.sharedSecret(a, engine.publicKey(a))).isEqualTo(JDK.sharedSecret(a, JDK.publicKey(a)));
    }

    /**
     * Where the library fails (here made to: X448's type takes no 32-byte raw key, so the private
     * or the peer's key is never made), the JDK's answer is the result, and nothing throws: a
     * failure of the library is neither a refused point nor an error for the handshake.
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void whereTheLibraryFailsTheJdkAnswers(boolean privateKeyFails) {
        int x448 = 1035; // EVP_PKEY_X448
        Curve25519 failing = privateKeyFails ? new OpenSslCurve25519(x448, LibCrypto.PKEY_X25519)
                : new OpenSslCurve25519(LibCrypto.PKEY_X25519, x448);
        SplittableRandom rng = new SplittableRandom(privateKeyFails ? 21 : 22);
        for (int i = 0; i < 20; i++) {
            byte[] a = new byte[32], b = new byte[32];
            rng.nextBytes(a);
            rng.nextBytes(b);
            assertThat(failing.publicKey(a)).isEqualTo(JDK.publicKey(a));
            byte[] publicB = JDK.publicKey(b);
            byte[] out = new byte[32];
            assertThat(failing.sharedSecret(a, publicB, out)).isTrue();
            assertThat(out).isEqualTo(JDK.sharedSecret(a, publicB));
        }
        byte[] a = X25519.generatePrivate(rng);
        byte[] lowOrder = new byte[32];
        lowOrder[0] = 1;
        byte[] out = new byte[32];
        java.util.Arrays.fill(out, (byte) 0x55);
        assertThat(failing.sharedSecret(a, lowOrder, out)).isFalse();
        assertThat(out).containsOnly(0);
        // The ordinary engine on the same thread is unaffected by what the failures left behind.
        assertThat(engine.sharedSecret(a, engine.publicKey(a))).isEqualTo(JDK.sharedSecret(a, JDK.publicKey(a)));
    }

    /** A failure leaves nothing on the thread's OpenSSL error queue, which would grow with each. */
    @Test
    void failuresLeaveNoErrorsQueued() throws Throwable {
        MethodHandle peek = OptionalLibrary.open("libcrypto.so.3").bind("ERR_peek_error",
                FunctionDescriptor.of(ValueLayout.JAVA_LONG));
        LibCrypto.CLEAR_ERRORS.invokeExact();
        int x448 = 1035; // EVP_PKEY_X448: takes no 32-byte raw key
        byte[] a = X25519.generatePrivate(new SplittableRandom(23));
        byte[] publicA = JDK.publicKey(a);
        byte[] lowOrder = new byte[32];
        lowOrder[0] = 1;
        new OpenSslCurve25519(x448, LibCrypto.PKEY_X25519).publicKey(a);
        assertThat((long) peek.invokeExact()).as("after a refused private key").isZero();
        new OpenSslCurve25519(LibCrypto.PKEY_X25519, x448).sharedSecret(a, publicA);
        assertThat((long) peek.invokeExact()).as("after a refused public key").isZero();
        engine.sharedSecret(a, lowOrder);
        assertThat((long) peek.invokeExact()).as("after a refused derivation").isZero();
    }

    @Test
    void keysOfTheWrongLengthAreRefusedLikeTheJdk() {
        byte[] good = X25519.generatePrivate(new SplittableRandom(5));
        for (Curve25519 e : List.of(engine, JDK)) {
            assertThatThrownBy(() -> e.sharedSecret(new byte[31], good)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("private key is 32 bytes, got 31");
            assertThatThrownBy(() -> e.sharedSecret(good, new byte[33])).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("public key is 32 bytes, got 33");
            assertThatThrownBy(() -> e.publicKey(new byte[0])).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void concurrentCallsAgree() {
        byte[] a = X25519.generatePrivate(new SplittableRandom(8));
        byte[] publicB = JDK.publicKey(X25519.generatePrivate(new SplittableRandom(9)));
        String expected = HEX.formatHex(JDK.sharedSecret(a, publicB));
        List<String> secrets = IntStream.range(0, 2000).parallel()
                .mapToObj(i -> HEX.formatHex(engine.sharedSecret(a, publicB)))
                .distinct()
                .toList();
        assertThat(secrets).containsExactly(expected);
    }

    /** A node with the native engine and one with the JDK's make sessions with each other, either starting. */
    @Test
    void aNativeNodeAndAJdkNodeShakeHands() {
        SplittableRandom rng = new SplittableRandom(11);
        for (boolean nativeStarts : new boolean[]{true, false}) {
            Pair pair = new Pair(rng.split(), X25519.generatePrivate(rng.split()), X25519.generatePrivate(rng.split()),
                    new byte[32], Node.DEFAULT_LOAD_THRESHOLD, ByteBuffer.allocateDirect(4096),
                    nativeStarts ? engine : JDK, nativeStarts ? JDK : engine);
            pair.handshake();
            assertThat(pair.aAtB.hasSession(pair.now)).isTrue();
            assertThat(pair.bAtA.hasSession(pair.now)).isTrue();
        }
    }
}
