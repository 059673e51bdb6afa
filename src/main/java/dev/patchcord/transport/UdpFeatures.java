package dev.patchcord.transport;

import java.util.Locale;

/**
 * Which of the kernel's fast UDP paths a {@link UdpSocket} uses for {@link UdpBatch} I/O. Each can
 * be turned off on its own, so that a throughput or correctness problem can be pinned on one of
 * them; the batch API stays the same either way and only the number of system calls changes.
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

    /**
     * Parses a setting such as {@code all}, {@code none}, {@code batch,gso} or {@code all,-gro}
     * (everything but GRO): a comma-separated list of feature names, each optionally prefixed with
     * {@code -} to remove it, applied left to right. The list starts from nothing, or from
     * everything if its first word is a removal, so {@code -gso} means "all but GSO".
     *
     * @throws IllegalArgumentException for an unknown name
     */
    public static UdpFeatures parse(String spec) {
        boolean all = spec.strip().startsWith("-");
        boolean batch = all;
        boolean gso = all;
        boolean gro = all;
        for (String raw : spec.split(",")) {
            String word = raw.strip().toLowerCase(Locale.ROOT);
            if (word.isEmpty()) {
                continue;
            }
            boolean on = !word.startsWith("-");
            String name = on ? word : word.substring(1);
            switch (name) {
                case "all" -> {
                    batch = on;
                    gso = on;
                    gro = on;
                }
                case "none" -> {
                    batch = false;
                    gso = false;
                    gro = false;
                }
                case "batch" -> batch = on;
                case "gso" -> gso = on;
                case "gro" -> gro = on;
                default -> throw new IllegalArgumentException("unknown UDP feature '" + name
                        + "' (expected all, none, batch, gso or gro)");
            }
        }
        return new UdpFeatures(batch, gso, gro);
    }

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
