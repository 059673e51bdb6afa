package dev.patchcord.core.wg;

import javax.crypto.Cipher;
import javax.crypto.ShortBufferException;
import javax.crypto.spec.IvParameterSpec;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;

/**
 * ChaCha20-Poly1305 for transport messages with the JDK's intrinsified implementation. {@link Cipher}
 * is not thread-safe: each thread that seals or opens owns one DataCipher.
 *
 * <p>The work happens in a heap array this object owns: the JCA's {@code ByteBuffer} path copies
 * direct buffers through fresh temporary arrays (about 7 KB of garbage per packet), while one copy
 * in and one out of a reused array costs less and allocates nothing but the nonce object the JCA
 * API demands for each packet.
 *
 * <p><b>Key material.</b> An initialised {@link Cipher} keeps its own copy of the last key (the
 * JDK's ChaCha20 holds the key bytes and the initial state derived from them) until it is
 * initialised again, when it wipes the old copy. {@link #forgetKey} does that with an all-zero
 * key, for a thread that goes idle after its session ended.
 */
public final class DataCipher {
    private final Cipher cipher;
    private final byte[] nonce = new byte[12];
    private final byte[] work = new byte[65536 + Protocol.TAG_SIZE];
    /**
     * The job for sealing or opening on the spot (not in a batch): owned by this cipher's thread
     * like the cipher itself, so using it takes no lock.
     */
    final CryptoJob inline = new CryptoJob();

    public DataCipher() {
        try {
            cipher = Cipher.getInstance("ChaCha20-Poly1305");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK has no ChaCha20-Poly1305", e);
        }
    }

    private IvParameterSpec nonce(long counter) {
        for (int i = 0; i < 8; i++) {
            nonce[4 + i] = (byte) (counter >>> (8 * i));
        }
        return new IvParameterSpec(nonce);
    }

    /**
     * Encrypts {@code len} bytes at {@code off} in place and appends the 16-byte tag. If the key
     * was wiped meanwhile (its session was retired while this packet was in flight), the
     * plaintext and the tag's room are overwritten with zeros instead: the message then fails to
     * authenticate at the peer and is dropped there, and nothing of the packet leaves in clear.
     */
    void seal(SessionKey key, long counter, ByteBuffer buf, int off, int len) {
        try {
            cipher.init(Cipher.ENCRYPT_MODE, key, nonce(counter));
        } catch (InvalidKeyException e) {
            if (!key.isDestroyed()) {
                throw new IllegalStateException("sealing failed", e);
            }
            for (int i = off, end = off + len + Protocol.TAG_SIZE; i < end; i++) {
                buf.put(i, (byte) 0);
            }
            return;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("sealing failed", e);
        }
        try {
            buf.get(off, work, 0, len);
            int n = cipher.doFinal(work, 0, len, work, 0);
            buf.put(off, work, 0, n);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("sealing failed", e);
        }
    }

    /**
     * Decrypts {@code len} bytes (ciphertext and tag) at {@code off} in place.
     *
     * @return the plaintext length, or -1 if the message does not authenticate (or its key has
     *         been wiped since the message was matched to its session)
     */
    int open(SessionKey key, long counter, ByteBuffer buf, int off, int len) {
        if (len < Protocol.TAG_SIZE || len > work.length) {
            return -1;
        }
        try {
            cipher.init(Cipher.DECRYPT_MODE, key, nonce(counter));
            buf.get(off, work, 0, len);
            int n = cipher.doFinal(work, 0, len, work, 0);
            buf.put(off, work, 0, n);
            return n;
        } catch (ShortBufferException e) {
            throw new IllegalStateException("work array too small", e);
        } catch (GeneralSecurityException e) {
            return -1; // AEADBadTagException: forged, corrupted, or the wrong key; or a wiped key
        }
    }

    /**
     * Overwrites the cipher's copy of the last key it used by initialising it with an all-zero
     * key (for decryption, which has no key-and-nonce reuse check). Only the thread that owns this
     * cipher may call it.
     */
    public void forgetKey() {
        byte[] zero = new byte[Protocol.KEY_SIZE];
        try {
            cipher.init(Cipher.DECRYPT_MODE, new SessionKey(zero), new IvParameterSpec(new byte[12]));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK's ChaCha20-Poly1305 refused an all-zero key", e);
        }
    }
}
