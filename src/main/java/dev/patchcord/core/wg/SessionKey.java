package dev.patchcord.core.wg;

import javax.crypto.SecretKey;
import java.lang.invoke.VarHandle;
import java.util.Arrays;

/**
 * A 32-byte ChaCha20-Poly1305 transport key that can be wiped. The JDK's
 * {@link javax.crypto.spec.SecretKeySpec} keeps a private copy of its bytes and, on JDK 25, does
 * not implement {@link #destroy()} (the inherited default throws), so a session key held in one
 * could never be erased. This class holds the only long-lived copy itself.
 *
 * <p>The JDK's cipher asks for the key bytes at every {@code init}, through {@link #getEncoded()},
 * and wipes the copy it got at its next {@code init}. {@link #destroy()} may run while another
 * thread is inside {@code init} with this key (a session retired while a packet is in flight):
 * the reader then gets null, never a half-wiped key, which would encrypt a packet under a key an
 * attacker can guess. The check is a seqlock's: the flag is raised before the bytes are
 * overwritten, and read again after they were copied.
 */
final class SessionKey implements SecretKey {
    private final byte[] key;
    private volatile boolean destroyed;

    SessionKey(byte[] key) {
        if (key.length != Protocol.KEY_SIZE) {
            throw new IllegalArgumentException("a transport key is " + Protocol.KEY_SIZE + " bytes");
        }
        this.key = key.clone();
    }

    @Override
    public String getAlgorithm() {
        return "ChaCha20";
    }

    @Override
    public String getFormat() {
        return "RAW";
    }

    /** A copy of the key, or null once it is destroyed (the JDK cipher then refuses to start). */
    @Override
    public byte[] getEncoded() {
        if (destroyed) {
            return null;
        }
        byte[] copy = key.clone();
        // The copy must be complete before the flag is looked at again.
        VarHandle.loadLoadFence();
        if (destroyed) {
            Arrays.fill(copy, (byte) 0);
            return null;
        }
        return copy;
    }

    /** Overwrites the key with zeros; every later use fails. */
    @Override
    public void destroy() {
        destroyed = true;
        // Raise the flag before the first zero can be seen.
        VarHandle.storeStoreFence();
        Arrays.fill(key, (byte) 0);
    }

    @Override
    public boolean isDestroyed() {
        return destroyed;
    }

    /** Whether every byte is zero: for tests that check the wipe happened. */
    boolean isZero() {
        return Keys.isZero(key);
    }

    /** No key material in logs or exception messages. */
    @Override
    public String toString() {
        return "SessionKey(" + (destroyed ? "destroyed" : "hidden") + ")";
    }
}
