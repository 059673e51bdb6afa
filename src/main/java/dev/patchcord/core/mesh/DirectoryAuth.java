package dev.patchcord.core.mesh;

import dev.patchcord.core.wg.Blake2s;
import dev.patchcord.core.wg.X25519;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * How a node and the directory prove who they are to each other without a signature scheme: the
 * node's WireGuard key is an X25519 key, which cannot sign, but a static-static Diffie-Hellman
 * with the directory's own X25519 key gives a secret only the two of them can compute. Every
 * request and answer carries a BLAKE2s MAC under a key derived from it, so only the holder of a
 * node's private key (or the directory itself) can speak for that key. See docs/protocol.md.
 */
public final class DirectoryAuth {
    private DirectoryAuth() {}

    /** Bytes in a MAC: BLAKE2s-128, as WireGuard's MAC1. */
    public static final int MAC_SIZE = Blake2s.MAC_SIZE;
    /** Domain separation: a key derived here is never a key of any other protocol. */
    private static final byte[] LABEL_HASH = Blake2s.hash("patchcord directory v1".getBytes(StandardCharsets.US_ASCII));

    /**
     * The MAC key shared by the holder of {@code privateKey} and of {@code otherPublic} (either
     * side computes the same key with its own private and the other's public key).
     *
     * @throws IllegalArgumentException if {@code otherPublic} is a low-order point (all-zero secret)
     */
    public static byte[] pairKey(byte[] privateKey, byte[] otherPublic) {
        byte[] dh = X25519.sharedSecret(privateKey, otherPublic);
        if (dh == null) {
            throw new IllegalArgumentException("public key is a low-order point");
        }
        byte[] key = Blake2s.kdf(1, LABEL_HASH, dh)[0];
        java.util.Arrays.fill(dh, (byte) 0);
        return key;
    }

    /** The MAC of {@code message} under a pair key. */
    public static byte[] mac(byte[] pairKey, byte[] message) {
        return Blake2s.mac(pairKey, message);
    }

    /** Whether {@code mac} is the MAC of {@code message}; compared in constant time. */
    public static boolean verify(byte[] pairKey, byte[] message, byte[] mac) {
        return mac != null && mac.length == MAC_SIZE && MessageDigest.isEqual(mac(pairKey, message), mac);
    }
}
