package dev.patchcord.sys;

import dev.patchcord.core.wg.Curve25519;
import dev.patchcord.core.wg.JdkCurve25519;

import java.util.Arrays;
import java.util.Optional;

/**
 * Chooses the native X25519 for the handshakes, as {@link NativePacketAead#best} chooses the
 * packet cipher: an engine is used only if it computes what the JDK's XDH computes on a self-test
 * at start-up, so that a library that is present but refuses X25519 (a FIPS-only build) or gets
 * it wrong is passed over then, not discovered by the first handshake.
 */
public final class NativeCurve25519 {
    private NativeCurve25519() {}

    /** Tested once per process: the engine is stateless and shared by every node. */
    private static final Optional<Curve25519> BEST = choose();

    /** The fastest native X25519 this system has (OpenSSL's), or empty if none is usable. */
    public static Optional<Curve25519> best() {
        return BEST;
    }

    private static Optional<Curve25519> choose() {
        if (!LibCrypto.hasX25519()) {
            return Optional.empty();
        }
        try {
            Curve25519 openssl = new OpenSslCurve25519();
            return agreesWithTheJdk(openssl) ? Optional.of(openssl) : Optional.empty();
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * Whether {@code engine} gives the JDK's public key and shared secret for two fixed keys (not
     * clamped, so that the engine's clamping is tested too) and refuses a point of small order.
     */
    static boolean agreesWithTheJdk(Curve25519 engine) {
        Curve25519 jdk = JdkCurve25519.INSTANCE;
        byte[] a = new byte[Curve25519.KEY_SIZE];
        byte[] b = new byte[Curve25519.KEY_SIZE];
        for (int i = 0; i < a.length; i++) {
            a[i] = (byte) (i * 7 + 1);
            b[i] = (byte) (255 - i * 5);
        }
        try {
            byte[] publicB = jdk.publicKey(b);
            byte[] expected = jdk.sharedSecret(a, publicB);
            byte[] actual = new byte[Curve25519.KEY_SIZE];
            byte[] lowOrder = new byte[Curve25519.KEY_SIZE];
            lowOrder[0] = 1; // u = 1: order 4
            return Arrays.equals(engine.publicKey(a), jdk.publicKey(a)) && expected != null
                    && engine.sharedSecret(a, publicB, actual) && Arrays.equals(actual, expected)
                    && !engine.sharedSecret(a, lowOrder, actual) && Arrays.equals(actual, new byte[Curve25519.KEY_SIZE]);
        } catch (RuntimeException e) {
            return false;
        }
    }
}
