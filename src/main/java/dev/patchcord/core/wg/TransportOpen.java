package dev.patchcord.core.wg;

import dev.patchcord.core.Drop;
import dev.patchcord.core.IpPackets;
import dev.patchcord.core.l2.TapFrames;

import java.nio.ByteBuffer;

import static dev.patchcord.core.wg.Protocol.*;

/**
 * The node's path for transport messages, in the two halves around the decryption that
 * {@link Node#prepareOpen} and {@link Node#completeOpen} expose: first the session by the
 * receiver index and the counter's range; then, once the job ran, the replay window, the peer's
 * side ({@link PeerTransport#received}) and what the plaintext is: a keepalive, a control message,
 * a frame (TAP) or an IP packet that the allowed IPs must let in. Drops are not counted here; the
 * node counts them once.
 *
 * <p>Concurrency: no lock of its own and no allocation; each thread brings its own job and
 * {@link Outcome}. The per-session state written here is the keypair's {@link ReplayWindow},
 * which takes no lock: one session's messages are completed in the order they arrived, as
 * {@link Node#completeOpen} requires. The peer's side locks as {@link PeerTransport} says; the
 * node's settings read here (layer 2, control messages) are volatile.
 */
final class TransportOpen {
    private final Node node;

    TransportOpen(Node node) {
        this.node = node;
    }

    /**
     * The first half, for a message known to be a transport message.
     *
     * @return true if {@code job} must now run and then {@link #complete}; false if dropped
     */
    boolean prepare(ByteBuffer buf, int base, int len, long now, CryptoJob job, Outcome out) {
        if (len < MIN_TRANSPORT_SIZE) {
            out.drop(Drop.BAD_MESSAGE);
        } else if (!(node.indices.get(Wire.u32(buf, base + TRANSPORT_RECEIVER)) instanceof Keypair kp)) {
            out.drop(Drop.UNKNOWN_INDEX);
        } else {
            long counter = Wire.u64(buf, base + TRANSPORT_COUNTER);
            if (kp.expired(now) || Long.compareUnsigned(counter, REJECT_AFTER_MESSAGES) >= 0) {
                out.drop(Drop.EXPIRED_KEY);
            } else {
                job.forOpen(buf, base, len, kp, counter);
                return true;
            }
        }
        return false;
    }

    /** The second half, after the job ran. */
    void complete(CryptoJob job, long now, Outcome out) {
        ByteBuffer buf = job.buf;
        int content = job.base + TRANSPORT_CONTENT;
        int len = job.length;
        int plain = job.plain;
        Keypair kp = job.keypair;
        long counter = job.counter;
        if (plain < 0) {
            out.drop(Drop.BAD_AUTH);
            return;
        }
        if (!kp.replay.accept(counter, REJECT_AFTER_MESSAGES)) {
            out.drop(Drop.REPLAYED);
            return;
        }
        Peer peer = kp.peer;
        peer.transport.received(kp, len, plain > 0, now);
        out.consumed(peer, true);
        if (plain == 0) {
            return; // a keepalive
        }
        // Address assignment rides in the same sessions; it is no IP packet, so it is taken out
        // before the IP checks (TUN mode only: in TAP mode the plaintext is a frame).
        boolean layer2 = node.layer2();
        ControlMessages control = node.controlMessages();
        if (!layer2 && control != null && control.isControl(buf, content, plain)) {
            if (!control.isWellFormed(buf, content, plain)) {
                out.drop(peer, Drop.BAD_CONTROL);
                return;
            }
            out.control(peer, content, plain);
            return;
        }
        if (layer2) {
            int frame = TapFrames.frameLength(buf, content, plain);
            if (frame < 0) {
                out.drop(peer, IpPackets.reason(frame));
                return;
            }
            out.deliver(peer, content + TapFrames.PREFIX, frame);
            return;
        }
        // The padding is trimmed by the packet's own length field.
        int packet = IpPackets.length(buf, content, plain);
        if (packet <= 0) {
            out.drop(peer, Drop.MALFORMED);
            return;
        }
        if (node.allowedIps().forSource(buf, content, packet) != peer) {
            out.drop(peer, Drop.NOT_ALLOWED);
            return;
        }
        out.deliver(peer, content, packet);
    }
}
