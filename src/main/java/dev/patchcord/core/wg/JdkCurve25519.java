package dev.patchcord.core.wg;

import java.util.Arrays;

/**
 * The JDK's XDH as a {@link Curve25519} (by way of {@link X25519}): present on every JDK, so the
 * fallback when no faster library is found and the reference the others are tested against.
 * Stateless, so one instance serves every thread.
 */
public final class JdkCurve25519 implements Curve25519 {
    public static final JdkCurve25519 INSTANCE = new JdkCurve25519();

    private JdkCurve25519() {}

    @Override
    public byte[] publicKey(byte[] privateKey) {
        return X25519.publicKey(privateKey);
    }

    @Override
    public boolean sharedSecret(byte[] privateKey, byte[] publicKey, byte[] out) {
        byte[] secret = X25519.sharedSecret(privateKey, publicKey);
        if (secret == null) {
            Arrays.fill(out, 0, KEY_SIZE, (byte) 0);
            return false;
        }
        System.arraycopy(secret, 0, out, 0, KEY_SIZE);
        Arrays.fill(secret, (byte) 0);
        return true;
    }

    /** As the interface's, but without the extra copy: the JDK makes a new array anyway. */
    @Override
    public byte[] sharedSecret(byte[] privateKey, byte[] publicKey) {
        return X25519.sharedSecret(privateKey, publicKey);
    }

    @Override
    public String name() {
        return "the JDK";
    }
}
