package dev.patchcord.core.wg;

import java.nio.ByteBuffer;

import javax.crypto.SecretKey;

/**
 * ChaCha20-Poly1305 for transport messages, in place in a packet buffer: the one primitive whose
 * cost is paid for every packet. {@link DataCipher} puts it behind the protocol; the JDK's cipher
 * ({@link JdkPacketAead}) is always there, and the shell may supply a faster one (a native
 * library's, found at run time).
 *
 * <p><b>Concurrency.</b> An instance is owned by one thread, like the {@link DataCipher} that holds
 * it; it may keep per-thread state (a context, the last key) between calls. The keys it is given
 * may be destroyed by another thread at any time (a session retired while a packet is in flight).
 *
 * <p>The nonce is WireGuard's: four zero bytes, then the counter little-endian. There is no
 * associated data in transport messages.
 */
public interface PacketAead {
    /**
     * The longest message an engine handles, ciphertext and tag: a 64 KiB plaintext (the largest
     * packet a TUN hands over, and more than any MTU-sized one) and its 16-byte tag.
     */
    int MAX_SEALED = 65536 + Protocol.TAG_SIZE;

    /**
     * Encrypts {@code len} bytes at {@code off} in place and writes the 16-byte tag after them.
     *
     * @return false, having written nothing, if {@code key} is destroyed
     */
    boolean seal(SecretKey key, long counter, ByteBuffer buf, int off, int len);

    /**
     * Decrypts {@code len} bytes (ciphertext and tag, {@code Protocol.TAG_SIZE <= len <=}
     * {@link #MAX_SEALED}) at {@code off} in place.
     *
     * @return the plaintext length, or -1 if the message does not authenticate under this key
     *         and counter, or the key is destroyed
     */
    int open(SecretKey key, long counter, ByteBuffer buf, int off, int len);

    /** Wipes whatever copy of the last key this instance keeps (its thread is going idle). */
    void forgetKey();

    /** What does the work, for the start-up line: {@code the JDK} or the library and its version. */
    String name();
}
