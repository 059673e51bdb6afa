package dev.patchcord.core.wg;

import java.util.concurrent.atomic.AtomicLong;

/**
 * One peer's transfer counters and the wall-clock time of its last handshake, as {@code wg show}
 * reports them. Bytes are those of whole WireGuard messages, counted as the kernel and
 * wireguard-go count them: transport messages (keepalives included) both ways, the handshake
 * initiations and responses sent, and those received that authenticated; never cookie replies.
 *
 * <p>Concurrency: lock-free. Every counter is atomic and the handshake time volatile, so the data
 * path of any thread adds to them without the peer's lock, and readers see each figure on its own
 * (the four are not a consistent snapshot of one instant, nor were they before).
 */
final class PeerStats {
    private final AtomicLong rxBytes = new AtomicLong();
    private final AtomicLong txBytes = new AtomicLong();
    private final AtomicLong rxPackets = new AtomicLong();
    private final AtomicLong txPackets = new AtomicLong();
    private volatile long lastHandshakeEpochNanos;

    /** A transport message of {@code length} bytes was made for the peer. */
    void transportSent(int length) {
        txBytes.addAndGet(length);
        txPackets.incrementAndGet();
    }

    /** A transport message of {@code length} bytes from the peer authenticated. */
    void transportReceived(int length) {
        rxBytes.addAndGet(length);
        rxPackets.incrementAndGet();
    }

    /** An initiation or response of {@code length} bytes was made for the peer. */
    void handshakeSent(int length) {
        txBytes.addAndGet(length);
    }

    /** An initiation or response of {@code length} bytes from the peer was accepted. */
    void handshakeReceived(int length) {
        rxBytes.addAndGet(length);
    }

    /** The shell could not send a message of {@code length} bytes: it was never handed to the network. */
    void unsent(int length) {
        txBytes.addAndGet(-length);
    }

    void handshakeCompleted(long epochNanos) {
        lastHandshakeEpochNanos = epochNanos;
    }

    /** Takes over the figures of the same peer in another process (a hand-over). */
    void restore(long rxBytes, long txBytes, long rxPackets, long txPackets, long lastHandshakeEpochNanos) {
        this.rxBytes.set(rxBytes);
        this.txBytes.set(txBytes);
        this.rxPackets.set(rxPackets);
        this.txPackets.set(txPackets);
        this.lastHandshakeEpochNanos = lastHandshakeEpochNanos;
    }

    long rxBytes() {
        return rxBytes.get();
    }

    long txBytes() {
        return txBytes.get();
    }

    long rxPackets() {
        return rxPackets.get();
    }

    long txPackets() {
        return txPackets.get();
    }

    long lastHandshakeEpochNanos() {
        return lastHandshakeEpochNanos;
    }
}
