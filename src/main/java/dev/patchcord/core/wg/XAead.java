package dev.patchcord.core.wg;

import org.bouncycastle.crypto.InvalidCipherTextException;
import org.bouncycastle.crypto.modes.XChaCha20Poly1305;
import org.bouncycastle.crypto.params.AEADParameters;
import org.bouncycastle.crypto.params.KeyParameter;

/**
 * XChaCha20-Poly1305, which WireGuard uses only to encrypt the cookie in a cookie reply. Its
 * 24-byte nonce is random, because the responder keeps no per-source counter it could use; the
 * JDK has no XChaCha, so this one comes from Bouncy Castle's lightweight API.
 */
public final class XAead {
    public static final int NONCE_SIZE = 24;

    private XAead() {}

    /** Encrypts {@code plaintext} and returns the ciphertext followed by the 16-byte tag. */
    public static byte[] seal(byte[] key, byte[] nonce24, byte[] plaintext, byte[] ad) {
        XChaCha20Poly1305 c = cipher(true, key, nonce24, ad);
        byte[] out = new byte[plaintext.length + Aead.TAG_SIZE];
        int n = c.processBytes(plaintext, 0, plaintext.length, out, 0);
        try {
            c.doFinal(out, n);
        } catch (InvalidCipherTextException e) {
            throw new IllegalStateException("XChaCha20-Poly1305 refused to encrypt", e);
        }
        return out;
    }

    /**
     * The plaintext of {@code ciphertextAndTag}, or null if it does not authenticate or is too
     * short to hold a tag.
     */
    public static byte[] open(byte[] key, byte[] nonce24, byte[] ciphertextAndTag, byte[] ad) {
        if (ciphertextAndTag.length < Aead.TAG_SIZE) {
            return null;
        }
        XChaCha20Poly1305 c = cipher(false, key, nonce24, ad);
        byte[] out = new byte[ciphertextAndTag.length - Aead.TAG_SIZE];
        int n = c.processBytes(ciphertextAndTag, 0, ciphertextAndTag.length, out, 0);
        try {
            c.doFinal(out, n);
        } catch (InvalidCipherTextException forged) {
            return null;
        }
        return out;
    }

    private static XChaCha20Poly1305 cipher(boolean encrypt, byte[] key, byte[] nonce, byte[] ad) {
        if (key.length != Protocol.KEY_SIZE) {
            throw new IllegalArgumentException("an XChaCha20-Poly1305 key is 32 bytes, got " + key.length);
        }
        if (nonce.length != NONCE_SIZE) {
            throw new IllegalArgumentException("an XChaCha20-Poly1305 nonce is 24 bytes, got " + nonce.length);
        }
        XChaCha20Poly1305 c = new XChaCha20Poly1305();
        c.init(encrypt, new AEADParameters(new KeyParameter(key), Aead.TAG_SIZE * 8, nonce, ad));
        return c;
    }
}
