package dev.patchcord.core.wg;

/**
 * This node's static key pair, with the two keys derived from the public key that every incoming
 * handshake is checked against (MAC1) and every cookie reply is sealed with. A node without a
 * private key has no Identity at all ({@link Node#hasPrivateKey}).
 */
public final class Identity {
    final byte[] privateKey;
    final byte[] publicKey;
    /** HASH(LABEL_MAC1 ‖ our public key): peers MAC their handshakes to us with it. */
    final byte[] mac1Key;
    /** HASH(LABEL_COOKIE ‖ our public key): we seal cookie replies with it. */
    final byte[] cookieKey;

    public Identity(byte[] privateKey, Curve25519 dh) {
        if (privateKey.length != Protocol.KEY_SIZE) {
            throw new IllegalArgumentException("a private key is 32 bytes");
        }
        // Stored clamped, as the kernel and wireguard-go store it: the configuration interface
        // then reads back the scalar in use, whatever bits the key was written with.
        this.privateKey = X25519.clamp(privateKey);
        this.publicKey = dh.publicKey(this.privateKey);
        this.mac1Key = Blake2s.hash(Protocol.LABEL_MAC1_BYTES, publicKey);
        this.cookieKey = Blake2s.hash(Protocol.LABEL_COOKIE_BYTES, publicKey);
    }

    public byte[] publicKey() {
        return publicKey.clone();
    }
}
