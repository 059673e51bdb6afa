package dev.patchcord.device;

import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;

import java.util.concurrent.atomic.LongAdder;

/**
 * The simplevpn hub's counters: the usual {@link Counters}, plus one drop reason that
 * {@link Drop} has no name for, {@code queue-full} (a packet for a client whose send queue is
 * full, because that client reads too slowly). It is folded into the usual one-line summary, so
 * the line keeps its shape: {@code rx … tx … dropped 5 (no-route 2, queue-full 3)}.
 *
 * <p>A {@link LongAdder}, because every client's reader may hit it at once.
 */
public final class HubCounters {
    public static final String QUEUE_FULL = "queue-full";

    private final Counters counters = new Counters();
    private final LongAdder queueFull = new LongAdder();

    public Counters counters() {
        return counters;
    }

    public void queueFull() {
        queueFull.increment();
    }

    public long queueFullDrops() {
        return queueFull.sum();
    }

    public long droppedTotal() {
        return counters.droppedTotal() + queueFull.sum();
    }

    /** As {@link Counters#summary()}, with {@code queue-full} among the reasons when it is not 0. */
    public String summary() {
        long full = queueFull.sum();
        if (full == 0) {
            return counters.summary();
        }
        StringBuilder sb = new StringBuilder()
                .append("rx ").append(counters.rxPackets()).append(" packets ").append(counters.rxBytes()).append(" bytes, ")
                .append("tx ").append(counters.txPackets()).append(" packets ").append(counters.txBytes()).append(" bytes, ")
                .append("dropped ").append(counters.droppedTotal() + full).append(" (");
        for (Drop d : Drop.values()) {
            long n = counters.dropped(d);
            if (n > 0) {
                sb.append(d.label()).append(' ').append(n).append(", ");
            }
        }
        return sb.append(QUEUE_FULL).append(' ').append(full).append(')').toString();
    }
}
