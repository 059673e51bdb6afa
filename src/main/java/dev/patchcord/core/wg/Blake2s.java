package dev.patchcord.core.wg;

import java.util.Arrays;

import org.bouncycastle.crypto.Digest;
import org.bouncycastle.crypto.digests.Blake2sDigest;
import org.bouncycastle.crypto.macs.HMac;
import org.bouncycastle.crypto.params.KeyParameter;

/**
 * The three ways WireGuard uses BLAKE2s: a plain hash for the handshake transcript, a keyed MAC for
 * mac1, mac2 and cookies, and HMAC for the key derivation. Keyed BLAKE2s and HMAC-BLAKE2s are
 * different functions: the protocol needs both, and mixing them up still yields well-formed
 * messages that no other implementation accepts.
 *
 * <p>Every call builds its own digest, so the methods are safe to use from any thread. Arguments
 * are concatenated, which spares callers from building {@code a ‖ b} buffers themselves.
 */
public final class Blake2s {
    /** Output of {@link #hash} and {@link #hmac}, and the size of every chaining key. */
    public static final int HASH_SIZE = 32;
    /** Output of {@link #mac}. */
    public static final int MAC_SIZE = 16;

    private Blake2s() {}

    /** BLAKE2s-256 of the concatenation of {@code parts}: the whitepaper's HASH. */
    public static byte[] hash(byte[]... parts) {
        return digest(new Blake2sDigest(HASH_SIZE * 8), parts);
    }

    /**
     * Keyed BLAKE2s with a 16-byte output: the whitepaper's MAC. The key is 32 bytes for mac1 (a
     * hash of the receiver's public key) and 16 bytes when it is a cookie (mac2), so any length
     * BLAKE2s allows, 1 to 32 bytes, is accepted.
     */
    public static byte[] mac(byte[] key, byte[]... parts) {
        if (key.length == 0 || key.length > 32) {
            throw new IllegalArgumentException("a BLAKE2s key is 1 to 32 bytes, got " + key.length);
        }
        return digest(new Blake2sDigest(key, MAC_SIZE, null, null), parts);
    }

    /** HMAC over BLAKE2s-256 (block size 64) of the concatenation of {@code parts}. */
    public static byte[] hmac(byte[] key, byte[]... parts) {
        HMac h = new HMac(new Blake2sDigest(HASH_SIZE * 8));
        h.init(new KeyParameter(key));
        for (byte[] p : parts) {
            h.update(p, 0, p.length);
        }
        byte[] out = new byte[HASH_SIZE];
        h.doFinal(out, 0);
        return out;
    }

    /**
     * The whitepaper's KDF1, KDF2 and KDF3: HKDF over HMAC-BLAKE2s with {@code key} as the salt and
     * no info string. The n outputs are the new chaining key first, then the derived keys, in the
     * order the handshake consumes them.
     *
     * @param n how many 32-byte outputs, 1 to 3
     */
    public static byte[][] kdf(int n, byte[] key, byte[] input) {
        if (n < 1 || n > 3) {
            throw new IllegalArgumentException("WireGuard derives 1 to 3 keys at a time, not " + n);
        }
        byte[] prk = hmac(key, input);
        byte[][] out = new byte[n][];
        byte[] previous = new byte[0];
        for (int i = 0; i < n; i++) {
            out[i] = hmac(prk, previous, new byte[] {(byte) (i + 1)});
            previous = out[i];
        }
        Arrays.fill(prk, (byte) 0);
        return out;
    }

    private static byte[] digest(Digest d, byte[]... parts) {
        for (byte[] p : parts) {
            d.update(p, 0, p.length);
        }
        byte[] out = new byte[d.getDigestSize()];
        d.doFinal(out, 0);
        return out;
    }
}
