package dev.patchcord.core.wg;

import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;

/**
 * ChaCha20-Poly1305 for transport messages, in place on a caller's buffer, with the JDK's
 * intrinsified implementation. {@link Cipher} is not thread-safe: each thread that seals or opens
 * owns one DataCipher. The two buffer views are made once, so a packet costs no view objects; the
 * JCA API still needs one small nonce object per packet.
 */
public final class DataCipher {
    private final Cipher cipher;
    private final byte[] nonce = new byte[12];
    private ByteBuffer buffer;
    private ByteBuffer in;
    private ByteBuffer out;

    public DataCipher() {
        try {
            cipher = Cipher.getInstance("ChaCha20-Poly1305");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK has no ChaCha20-Poly1305", e);
        }
    }

    private void bind(ByteBuffer buf) {
        if (buffer != buf) {
            buffer = buf;
            in = buf.duplicate();
            out = buf.duplicate();
        }
    }

    private IvParameterSpec nonce(long counter) {
        for (int i = 0; i < 8; i++) {
            nonce[4 + i] = (byte) (counter >>> (8 * i));
        }
        return new IvParameterSpec(nonce);
    }

    /** Encrypts {@code len} bytes at {@code off} in place and appends the 16-byte tag. */
    void seal(SecretKeySpec key, long counter, ByteBuffer buf, int off, int len) {
        bind(buf);
        try {
            cipher.init(Cipher.ENCRYPT_MODE, key, nonce(counter));
            in.limit(off + len).position(off);
            out.limit(off + len + Protocol.TAG_SIZE).position(off);
            cipher.doFinal(in, out);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("sealing failed", e);
        }
    }

    /**
     * Decrypts {@code len} bytes (ciphertext and tag) at {@code off} in place.
     *
     * @return the plaintext length, or -1 if the message does not authenticate
     */
    int open(SecretKeySpec key, long counter, ByteBuffer buf, int off, int len) {
        bind(buf);
        try {
            cipher.init(Cipher.DECRYPT_MODE, key, nonce(counter));
            in.limit(off + len).position(off);
            out.limit(off + len).position(off);
            return cipher.doFinal(in, out);
        } catch (javax.crypto.AEADBadTagException e) {
            return -1;
        } catch (GeneralSecurityException e) {
            return -1;
        }
    }
}
