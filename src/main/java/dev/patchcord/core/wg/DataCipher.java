package dev.patchcord.core.wg;

import java.nio.ByteBuffer;

/**
 * One thread's cipher for transport messages: the {@link PacketAead} that does the work, and the
 * job for sealing or opening on the spot. Not thread-safe: each thread that seals or opens owns
 * one DataCipher.
 *
 * <p>{@code new DataCipher()} uses the JDK's cipher; the shell passes a faster {@link PacketAead}
 * where it has one. Both behave alike at this boundary, which the differential tests hold them to.
 */
public final class DataCipher {
    private final PacketAead aead;
    /**
     * The job for sealing or opening on the spot (not in a batch): owned by this cipher's thread
     * like the cipher itself, so using it takes no lock.
     */
    final CryptoJob inline = new CryptoJob();

    /** A cipher with the JDK's ChaCha20-Poly1305. */
    public DataCipher() {
        this(new JdkPacketAead());
    }

    public DataCipher(PacketAead aead) {
        this.aead = aead;
    }

    /**
     * Encrypts {@code len} bytes at {@code off} in place and appends the 16-byte tag. If the key
     * was wiped meanwhile (its session was retired while this packet was in flight), the
     * plaintext and the tag's room are overwritten with zeros instead: the message then fails to
     * authenticate at the peer and is dropped there, and nothing of the packet leaves in clear.
     */
    void seal(SessionKey key, long counter, ByteBuffer buf, int off, int len) {
        if (!aead.seal(key, counter, buf, off, len)) {
            for (int i = off, end = off + len + Protocol.TAG_SIZE; i < end; i++) {
                buf.put(i, (byte) 0);
            }
        }
    }

    /**
     * Decrypts {@code len} bytes (ciphertext and tag) at {@code off} in place.
     *
     * @return the plaintext length, or -1 if the message does not authenticate (or its key has
     *         been wiped since the message was matched to its session)
     */
    int open(SessionKey key, long counter, ByteBuffer buf, int off, int len) {
        if (len < Protocol.TAG_SIZE || len > PacketAead.MAX_SEALED) {
            return -1;
        }
        return aead.open(key, counter, buf, off, len);
    }

    /**
     * Overwrites the cipher's copy of the last key it used. Only the thread that owns this cipher
     * may call it.
     */
    public void forgetKey() {
        aead.forgetKey();
    }

    /** What does the cipher work: {@code the JDK}, or the library and its version. */
    public String engine() {
        return aead.name();
    }
}
