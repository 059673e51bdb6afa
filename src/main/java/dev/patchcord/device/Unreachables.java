package dev.patchcord.device;

import dev.patchcord.core.IcmpErrors;
import dev.patchcord.core.TokenBucket;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * Answers a packet from the interface that no peer covers with an ICMP "destination unreachable"
 * written back into the interface ({@link IcmpErrors}), as Linux's WireGuard does, so the sender
 * fails at once instead of waiting for a timeout. The packet itself is still dropped and counted
 * ({@code no-route}) by the caller.
 *
 * <p>At most {@link #PER_SECOND} answers a second, {@link #BURST} at once: the defaults of Linux's
 * own limit on ICMP errors ({@code net.ipv4.icmp_msgs_per_sec} and {@code icmp_msgs_burst}), so a
 * flood of packets to nowhere costs at most that many writes. One per thread that reads the
 * interface: the buffer and the bucket are that thread's own, so the packet path allocates nothing.
 */
final class Unreachables {
    static final int PER_SECOND = 1000;
    static final int BURST = 50;

    private final WgTunnel tunnel;
    private final MemorySegment seg;
    private final ByteBuffer view;
    private final TokenBucket bucket = new TokenBucket(PER_SECOND, BURST);

    Unreachables(WgTunnel tunnel, Arena arena) {
        this.tunnel = tunnel;
        this.seg = arena.allocate(IcmpErrors.MAX_LENGTH, 8);
        this.view = seg.asByteBuffer();
    }

    /** Answers the IP packet {@code packet[off, off + len)} if the rules and the rate allow. */
    void answer(ByteBuffer packet, int off, int len, long now) {
        if (!IcmpErrors.answerable(packet, off, len) || !bucket.take(now)) {
            return;
        }
        int n = IcmpErrors.unreachable(packet, off, len, view, 0);
        if (n > 0) {
            tunnel.writePacket(seg, 0, n); // a refused write only loses the courtesy; the drop is counted
        }
    }
}
