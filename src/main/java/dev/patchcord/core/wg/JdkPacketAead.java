package dev.patchcord.core.wg;

import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.IvParameterSpec;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;

/**
 * The JDK's intrinsified ChaCha20-Poly1305 as a {@link PacketAead}: present on every JDK, so the
 * fallback when no faster library is found and the reference the others are tested against.
 *
 * <p>The work happens in a heap array this object owns: the JCA's {@code ByteBuffer} path copies
 * direct buffers through fresh temporary arrays (about 7 KB of garbage per packet), while one copy
 * in and one out of a reused array costs less. What remains per packet is the JCA's own set-up:
 * {@code Cipher.init} makes a new engine and demands a new nonce object for every packet (about
 * 2.2 KB of garbage), which its API leaves no way around.
 *
 * <p><b>Key material.</b> An initialised {@link Cipher} keeps its own copy of the last key (the
 * JDK's ChaCha20 holds the key bytes and the initial state derived from them) until it is
 * initialised again, when it wipes the old copy. {@link #forgetKey} does that with an all-zero key.
 */
public final class JdkPacketAead implements PacketAead {
    private final Cipher cipher;
    private final byte[] nonce = new byte[12];
    private final byte[] work = new byte[MAX_SEALED];

    public JdkPacketAead() {
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

    @Override
    public boolean seal(SecretKey key, long counter, ByteBuffer buf, int off, int len) {
        try {
            cipher.init(Cipher.ENCRYPT_MODE, key, nonce(counter));
        } catch (InvalidKeyException e) {
            if (key.isDestroyed()) {
                return false;
            }
            throw new IllegalStateException("sealing failed", e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("sealing failed", e);
        }
        try {
            buf.get(off, work, 0, len);
            int n = cipher.doFinal(work, 0, len, work, 0);
            buf.put(off, work, 0, n);
            return true;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("sealing failed", e);
        }
    }

    @Override
    public int open(SecretKey key, long counter, ByteBuffer buf, int off, int len) {
        try {
            cipher.init(Cipher.DECRYPT_MODE, key, nonce(counter));
            buf.get(off, work, 0, len);
            int n = cipher.doFinal(work, 0, len, work, 0);
            buf.put(off, work, 0, n);
            return n;
        } catch (javax.crypto.ShortBufferException e) {
            throw new IllegalStateException("work array too small", e);
        } catch (GeneralSecurityException e) {
            return -1; // AEADBadTagException: forged, corrupted, or the wrong key; or a wiped key
        }
    }

    /**
     * Initialises the cipher with an all-zero key (for decryption, which has no key-and-nonce
     * reuse check), which overwrites its copy of the last key.
     */
    @Override
    public void forgetKey() {
        byte[] zero = new byte[Protocol.KEY_SIZE];
        try {
            cipher.init(Cipher.DECRYPT_MODE, new SessionKey(zero), new IvParameterSpec(new byte[12]));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK's ChaCha20-Poly1305 refused an all-zero key", e);
        }
    }

    @Override
    public String name() {
        return "the JDK";
    }
}
