package dev.patchcord.transport;

/**
 * Which of the kernel's fast UDP paths a {@link UdpSocket} uses for {@link UdpBatch} I/O. Each can
 * be turned off on its own (the tunnel's {@code Offloads} setting, parsed by
 * {@code dev.patchcord.device.Offloads}), so that a throughput or correctness problem can be
 * pinned on one of them; the batch API stays the same either way and only the number of system
 * calls changes.
 *
 * <ul>
 *   <li>{@code batch}: one recvmmsg/sendmmsg carries a whole batch. Off: one message per call.
 *   <li>{@code gso}: a slot holding several equal-size datagrams to one destination goes to the
 *       kernel as one message with a {@code UDP_SEGMENT} control message, and the kernel (or the
 *       NIC) cuts it. Off, or unsupported: the socket cuts it itself, one message per datagram.
 *   <li>{@code gro}: the kernel may hand over several datagrams of one flow in one slot, with the
 *       segment size in a {@code UDP_GRO} control message. Off: one datagram per slot.
 * </ul>
 *
 * @param batch use recvmmsg/sendmmsg with the whole batch
 * @param gso use UDP generic segmentation offload on send
 * @param gro use UDP generic receive offload on receive
 */
public record UdpFeatures(boolean batch, boolean gso, boolean gro) {
    /** Everything the kernel supports. */
    public static final UdpFeatures ALL = new UdpFeatures(true, true, true);
    /** Batching only, no offloads: what a socket does until {@link UdpSocket#enable} is called. */
    public static final UdpFeatures BATCH_ONLY = new UdpFeatures(true, false, false);
    /** One datagram per system call, as the single-datagram methods do. */
    public static final UdpFeatures NONE = new UdpFeatures(false, false, false);

    /** Both arguments' features: what was asked for and what the kernel could do. */
    public UdpFeatures and(UdpFeatures other) {
        return new UdpFeatures(batch && other.batch, gso && other.gso, gro && other.gro);
    }

    /** "batch+gso+gro", "batch", "none": the form patchcord prints. */
    @Override
    public String toString() {
        StringBuilder s = new StringBuilder();
        if (batch) {
            s.append("batch");
        }
        if (gso) {
            s.append(s.isEmpty() ? "" : "+").append("gso");
        }
        if (gro) {
            s.append(s.isEmpty() ? "" : "+").append("gro");
        }
        return s.isEmpty() ? "none" : s.toString();
    }
}
