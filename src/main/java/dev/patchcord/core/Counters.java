package dev.patchcord.core;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Traffic counters of one tunnel. Each slot is written by one loop thread and read by anyone, so an
 * uncontended atomic add is all a packet costs.
 */
public final class Counters {
    /**
     * Receive and send counters are updated by different threads; 16 longs (128 bytes) between
     * groups keeps them on separate cache lines, so the two loops do not slow each other down.
     */
    private static final int LINE = 16;
    private static final int RX_PACKETS = LINE, RX_BYTES = LINE + 1;
    private static final int TX_PACKETS = 2 * LINE, TX_BYTES = 2 * LINE + 1;
    private static final int DROPS = 3 * LINE;
    private final AtomicLongArray slots = new AtomicLongArray(DROPS + Drop.values().length + LINE);

    /** A packet delivered from the network to the local side. */
    public void received(int bytes) {
        slots.getAndIncrement(RX_PACKETS);
        slots.getAndAdd(RX_BYTES, bytes);
    }

    /** A packet sent from the local side to the network. */
    public void sent(int bytes) {
        slots.getAndIncrement(TX_PACKETS);
        slots.getAndAdd(TX_BYTES, bytes);
    }

    /** Several packets sent at once (one GSO message): one update instead of one per packet. */
    public void sent(int packets, long bytes) {
        slots.getAndAdd(TX_PACKETS, packets);
        slots.getAndAdd(TX_BYTES, bytes);
    }

    public void drop(Drop reason) {
        slots.getAndIncrement(DROPS + reason.ordinal());
    }

    public void drop(Drop reason, long count) {
        slots.getAndAdd(DROPS + reason.ordinal(), count);
    }

    public long rxPackets() { return slots.get(RX_PACKETS); }
    public long rxBytes() { return slots.get(RX_BYTES); }
    public long txPackets() { return slots.get(TX_PACKETS); }
    public long txBytes() { return slots.get(TX_BYTES); }

    public long dropped(Drop reason) {
        return slots.get(DROPS + reason.ordinal());
    }

    public long droppedTotal() {
        long sum = 0;
        for (Drop d : Drop.values()) {
            sum += dropped(d);
        }
        return sum;
    }

    /**
     * One line: {@code rx 12 packets 1008 bytes, tx 12 packets 1008 bytes, dropped 3 (runt 1, oversize 2)}.
     * Tests and operators parse it, so its shape is stable.
     */
    public String summary() {
        StringBuilder sb = new StringBuilder()
                .append("rx ").append(rxPackets()).append(" packets ").append(rxBytes()).append(" bytes, ")
                .append("tx ").append(txPackets()).append(" packets ").append(txBytes()).append(" bytes, ")
                .append("dropped ").append(droppedTotal());
        String sep = " (";
        for (Drop d : Drop.values()) {
            long n = dropped(d);
            if (n > 0) {
                sb.append(sep).append(d.label()).append(' ').append(n);
                sep = ", ";
            }
        }
        if (!sep.equals(" (")) {
            sb.append(')');
        }
        return sb.toString();
    }
}
