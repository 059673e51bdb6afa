package dev.patchcord.core.wg;

import java.nio.ByteBuffer;

/**
 * One transport message's cipher work, cut out of sealing and opening so that it can run on
 * another thread. The protocol's state changes stay on the thread that owns the order: for
 * sending, the counter is taken and the header written by {@link Peer#prepareSeal}, in the order
 * the messages will leave; for receiving, the replay window and the delivery checks run in
 * {@link Node#completeOpen} in the order the messages arrived. Only {@link #run} (the
 * ChaCha20-Poly1305 itself, most of the cost) may run anywhere, on any number of jobs at once.
 *
 * <p>A job is reused: one per slot of a batch, allocated once.
 */
public final class CryptoJob {
    boolean seal;
    ByteBuffer buf;
    int base;
    /** The whole message's length (opening), or the padded plaintext's (sealing). */
    int length;
    SessionKey key;
    long counter;
    Keypair keypair;
    /** Opening: the plaintext length once {@link #run} has authenticated it, -1 if it did not. */
    int plain;

    void forSeal(ByteBuffer buf, int base, SessionKey key, long counter, int padded) {
        this.seal = true;
        this.buf = buf;
        this.base = base;
        this.key = key;
        this.counter = counter;
        this.length = padded;
        this.keypair = null;
    }

    void forOpen(ByteBuffer buf, int base, int len, Keypair kp, long counter) {
        this.seal = false;
        this.buf = buf;
        this.base = base;
        this.length = len;
        this.keypair = kp;
        this.key = kp.receiveKey;
        this.counter = counter;
        this.plain = -1;
    }

    /** Encrypts or decrypts in place with the calling thread's cipher. */
    public void run(DataCipher cipher) {
        if (seal) {
            cipher.seal(key, counter, buf, base + Protocol.TRANSPORT_CONTENT, length);
        } else {
            plain = cipher.open(key, counter, buf, base + Protocol.TRANSPORT_CONTENT, length - Protocol.TRANSPORT_CONTENT);
        }
    }

    /** Forgets the buffer and keys, so a finished job holds nothing alive. */
    public void clear() {
        buf = null;
        key = null;
        keypair = null;
    }
}
