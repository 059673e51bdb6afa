package dev.patchcord.core.wg;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.spec.NamedParameterSpec;
import java.security.spec.XECPrivateKeySpec;
import java.security.spec.XECPublicKeySpec;
import java.util.random.RandomGenerator;

import javax.crypto.KeyAgreement;

/**
 * Curve25519 Diffie-Hellman on WireGuard's raw 32-byte keys, done by the JDK's XDH provider.
 *
 * <p>The JDK works with key objects, not bytes: the private scalar goes in as it is (the provider
 * clamps it, as RFC 7748 says), while the public key is a u-coordinate that has to be read as a
 * little-endian number first. Every call builds its own {@link KeyFactory} and
 * {@link KeyAgreement}, because neither is thread-safe and a handshake can be processed on any
 * thread; the cost is small next to the scalar multiplication itself.
 */
public final class X25519 {
    public static final int KEY_SIZE = 32;

    /** 2^255 - 19, the field prime. */
    private static final BigInteger P = BigInteger.TWO.pow(255).subtract(BigInteger.valueOf(19));
    private static final byte[] BASE_POINT = basePoint();

    private X25519() {}

    /**
     * A new private key of 32 bytes from {@code rng}, clamped the way {@code wg genkey} clamps it,
     * so that the stored key is the scalar actually used and prints the same in either program.
     * The caller chooses the generator: a {@link java.security.SecureRandom} in production, a
     * seeded one in tests.
     */
    public static byte[] generatePrivate(RandomGenerator rng) {
        byte[] k = new byte[KEY_SIZE];
        rng.nextBytes(k);
        return clampInPlace(k);
    }

    /**
     * A copy of {@code privateKey} clamped as RFC 7748 does before every use (the low three bits
     * and the top bit cleared, the next-to-top bit set). The scalar and so the public key stay the
     * same; the kernel and wireguard-go keep the key in this form, so that is what they report.
     */
    public static byte[] clamp(byte[] privateKey) {
        requireKey(privateKey, "private");
        return clampInPlace(privateKey.clone());
    }

    private static byte[] clampInPlace(byte[] k) {
        k[0] &= (byte) 248;
        k[31] &= 127;
        k[31] |= 64;
        return k;
    }

    /** The public key of {@code privateKey}: the scalar times the base point u = 9. */
    public static byte[] publicKey(byte[] privateKey) {
        byte[] pub = sharedSecret(privateKey, BASE_POINT);
        if (pub == null) {
            throw new IllegalStateException("X25519 of the base point cannot be zero");
        }
        return pub;
    }

    /**
     * The X25519 shared secret, or null if the peer's point has small order and the result would
     * be all zeros. WireGuard rejects that result instead of keying a session with it: a peer who
     * sends such a point would otherwise force a known key. The JDK refuses these points itself
     * ("Point has small order"); the zero check only keeps that rule from depending on it.
     */
    public static byte[] sharedSecret(byte[] privateKey, byte[] publicKey) {
        requireKey(privateKey, "private");
        requireKey(publicKey, "public");
        try {
            KeyFactory kf = KeyFactory.getInstance("XDH");
            PrivateKey priv = kf.generatePrivate(new XECPrivateKeySpec(NamedParameterSpec.X25519, privateKey));
            PublicKey pub = kf.generatePublic(new XECPublicKeySpec(NamedParameterSpec.X25519, uCoordinate(publicKey)));
            KeyAgreement ka = KeyAgreement.getInstance("XDH");
            ka.init(priv);
            ka.doPhase(pub, true);
            byte[] secret = ka.generateSecret();
            return Keys.isZero(secret) ? null : secret;
        } catch (InvalidKeyException smallOrder) {
            return null;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK's X25519 is unavailable", e);
        }
    }

    /**
     * The little-endian u-coordinate as a number. The top bit is ignored and values of p or more
     * are reduced, as RFC 7748 requires, so that every 32-byte string names the same point here
     * as in other implementations.
     */
    private static BigInteger uCoordinate(byte[] key) {
        byte[] bigEndian = new byte[KEY_SIZE];
        for (int i = 0; i < KEY_SIZE; i++) {
            bigEndian[i] = key[KEY_SIZE - 1 - i];
        }
        bigEndian[0] &= 127;
        return new BigInteger(1, bigEndian).mod(P);
    }

    private static void requireKey(byte[] key, String which) {
        if (key.length != KEY_SIZE) {
            throw new IllegalArgumentException("an X25519 " + which + " key is 32 bytes, got " + key.length);
        }
    }

    private static byte[] basePoint() {
        byte[] u = new byte[KEY_SIZE];
        u[0] = 9;
        return u;
    }
}
