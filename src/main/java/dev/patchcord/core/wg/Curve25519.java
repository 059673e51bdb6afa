package dev.patchcord.core.wg;

/**
 * X25519 Diffie-Hellman on WireGuard's raw 32-byte keys: the primitive whose cost bounds how many
 * handshakes a node can answer (four of these per response). The JDK's ({@link JdkCurve25519}) is
 * always there; the shell may supply a faster one (a native library's, found at run time) when it
 * builds the {@link Node}, as it does the {@link PacketAead}.
 *
 * <p>Both operations refuse a key that is not 32 bytes with an {@link IllegalArgumentException}.
 *
 * <p><b>Concurrency.</b> An engine is shared by every thread that makes or answers handshakes,
 * and must be safe for that.
 */
public interface Curve25519 {
    int KEY_SIZE = X25519.KEY_SIZE;

    /** The public key of {@code privateKey}: the (clamped) scalar times the base point u = 9. */
    byte[] publicKey(byte[] privateKey);

    /**
     * Writes the shared secret of {@code privateKey} and the peer's {@code publicKey} to
     * {@code out[0..32)}. A point of small order gives the all-zero result, which WireGuard
     * refuses rather than key a session with it: then {@code out} is left all zeros and the
     * answer is false.
     */
    boolean sharedSecret(byte[] privateKey, byte[] publicKey, byte[] out);

    /** The shared secret in a new array, or null for the refused all-zero result. */
    default byte[] sharedSecret(byte[] privateKey, byte[] publicKey) {
        byte[] out = new byte[KEY_SIZE];
        return sharedSecret(privateKey, publicKey, out) ? out : null;
    }

    /** What does the work, for the start-up line: {@code the JDK} or the library and its version. */
    String name();

    /** Throws unless {@code key} is 32 bytes, as every engine must before it looks at it. */
    static void requireKey(byte[] key, String which) {
        if (key.length != KEY_SIZE) {
            throw new IllegalArgumentException("an X25519 " + which + " key is 32 bytes, got " + key.length);
        }
    }

    /** For engines: whether {@code out[0..32)} holds anything but the refused all-zero result. */
    static boolean nonZero(byte[] out) {
        int any = 0;
        for (int i = 0; i < KEY_SIZE; i++) {
            any |= out[i];
        }
        return any != 0;
    }
}
