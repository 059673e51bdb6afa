package dev.patchcord.core.wg;

import java.security.GeneralSecurityException;

import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;

/**
 * ChaCha20-Poly1305 as the handshake and cookie code uses it, on whole byte arrays. WireGuard's
 * nonce is a 64-bit counter: four zero bytes, then the counter little-endian. In the handshake
 * the counter is always 0, which is safe only because every handshake key is used once.
 *
 * <p>Every call gets a fresh {@link Cipher}. The JDK refuses to initialise one instance for
 * encryption twice with the same key and nonce, as a guard against nonce reuse. A correct
 * handshake never repeats a key, but a cached instance would make the outcome of a call depend on
 * what the previous call on that thread sealed (a deterministic test that runs a handshake twice
 * would fail far from the cause), and a fresh instance needs no thread confinement. The handshake
 * path can afford that allocation; the data path cannot, and manages its ciphers itself.
 */
public final class Aead {
    public static final int TAG_SIZE = 16;
    public static final int NONCE_SIZE = 12;

    private Aead() {}

    /** Encrypts {@code plaintext} and returns the ciphertext followed by the 16-byte tag. */
    public static byte[] seal(byte[] key, long counter, byte[] plaintext, byte[] ad) {
        try {
            return cipher(Cipher.ENCRYPT_MODE, key, counter, ad).doFinal(plaintext);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("ChaCha20-Poly1305 refused to encrypt", e);
        }
    }

    /**
     * The plaintext of {@code ciphertextAndTag}, or null if it does not authenticate under this
     * key, counter and associated data, or is too short to hold a tag. The reason is not told
     * apart: a forged message and a corrupted one are dropped alike.
     */
    public static byte[] open(byte[] key, long counter, byte[] ciphertextAndTag, byte[] ad) {
        if (ciphertextAndTag.length < TAG_SIZE) {
            return null;
        }
        try {
            return cipher(Cipher.DECRYPT_MODE, key, counter, ad).doFinal(ciphertextAndTag);
        } catch (AEADBadTagException forged) {
            return null;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("ChaCha20-Poly1305 refused to decrypt", e);
        }
    }

    /** The 12-byte nonce for {@code counter}: four zero bytes, then the counter little-endian. */
    public static byte[] nonce(long counter) {
        byte[] n = new byte[NONCE_SIZE];
        for (int i = 0; i < 8; i++) {
            n[4 + i] = (byte) (counter >>> (8 * i));
        }
        return n;
    }

    private static Cipher cipher(int mode, byte[] key, long counter, byte[] ad) throws GeneralSecurityException {
        if (key.length != Protocol.KEY_SIZE) {
            throw new IllegalArgumentException("a ChaCha20-Poly1305 key is 32 bytes, got " + key.length);
        }
        Cipher c = Cipher.getInstance("ChaCha20-Poly1305");
        // The JDK's SecretKeySpec cannot be wiped; a SessionKey's copy is gone once the cipher has its own.
        SessionKey k = new SessionKey(key);
        try {
            c.init(mode, k, new IvParameterSpec(nonce(counter)));
        } finally {
            k.destroy();
        }
        if (ad.length > 0) {
            c.updateAAD(ad);
        }
        return c;
    }
}
