package dev.patchcord.core.wg;

import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static dev.patchcord.core.wg.Protocol.MAX_STAGED_PACKETS;

/**
 * Packets one peer keeps while it has no session to seal them under, and the node-wide
 * {@link Budget} on their bytes: at most {@link Protocol#MAX_STAGED_PACKETS} for the peer (the
 * oldest goes), and within the budget for all peers together (past it, the new packet goes).
 * Either way the drop is counted as a staged overflow. An empty packet stands for a keepalive.
 *
 * <p>Concurrency: not thread-safe. Every method runs under the owning {@link Peer}'s monitor,
 * which the caller holds. The {@link Budget} is shared by all peers and lock-free.
 */
final class Staging {
    private final ArrayDeque<byte[]> packets = new ArrayDeque<>();
    private final Budget budget;
    private final Counters counters;

    Staging(Budget budget, Counters counters) {
        this.budget = budget;
        this.counters = counters;
    }

    /** Keeps a copy of the {@code len} bytes at {@code buf[off]}, within the two bounds. */
    void add(ByteBuffer buf, int off, int len) {
        if (packets.size() >= MAX_STAGED_PACKETS) {
            budget.release(packets.pollFirst().length);
            counters.drop(Drop.STAGED_OVERFLOW);
        }
        if (!budget.reserve(len)) {
            counters.drop(Drop.STAGED_OVERFLOW);
            return;
        }
        byte[] copy = new byte[len];
        buf.get(off, copy);
        packets.addLast(copy);
    }

    /**
     * Keeps {@code packet} itself (no copy), within the same two bounds as {@link #add}: for the
     * packets a hand-over brings from another process's peer.
     */
    void restore(byte[] packet) {
        if (packets.size() >= MAX_STAGED_PACKETS || !budget.reserve(packet.length)) {
            counters.drop(Drop.STAGED_OVERFLOW);
            return;
        }
        packets.addLast(packet);
    }

    /** Copies of the staged packets, oldest first (a hand-over snapshot); they stay staged here. */
    List<byte[]> copies() {
        List<byte[]> out = new ArrayList<>(packets.size());
        for (byte[] p : packets) {
            out.add(p.clone());
        }
        return out;
    }

    /**
     * Zeroes and forgets every staged packet, uncounted: after a hand-over they live on in the
     * process that took over, and their plaintext must not linger in this one.
     */
    void wipeAll() {
        long bytes = 0;
        for (byte[] p : packets) {
            bytes += p.length;
            Arrays.fill(p, (byte) 0);
        }
        budget.release(bytes);
        packets.clear();
    }

    /** Stages a keepalive unless something is waiting already (which carries the same news). */
    void keepalive() {
        if (packets.isEmpty()) {
            packets.addLast(new byte[0]);
        }
    }

    boolean isEmpty() {
        return packets.isEmpty();
    }

    int size() {
        return packets.size();
    }

    /** Takes the oldest packet out (the caller seals it) and gives its bytes back to the budget. */
    byte[] take() {
        byte[] packet = packets.pollFirst();
        budget.release(packet.length);
        return packet;
    }

    /** Forgets every staged packet, counted as dropped, and gives their bytes back. */
    void dropAll() {
        long bytes = 0;
        for (byte[] p : packets) {
            bytes += p.length;
        }
        counters.drop(Drop.STAGED_OVERFLOW, packets.size());
        budget.release(bytes);
        packets.clear();
    }

    /**
     * Bytes of staged packets, all of a node's peers together, and their bound
     * ({@link Node#MAX_STAGED_BYTES}). Lock-free: peers reserve and release under their own locks.
     */
    static final class Budget {
        private final AtomicLong bytes = new AtomicLong();
        /** Lowered only by tests, before traffic. */
        private long max;

        Budget(long max) {
            this.max = max;
        }

        void limit(long max) {
            this.max = max;
        }

        /** Takes {@code len} bytes of the budget; false if that would pass the bound. */
        boolean reserve(int len) {
            long max = this.max;
            for (long cur = bytes.get(); ; cur = bytes.get()) {
                if (cur + len > max) {
                    return false;
                }
                if (bytes.compareAndSet(cur, cur + len)) {
                    return true;
                }
            }
        }

        /** Gives staged bytes back (sent, dropped or forgotten). */
        void release(long len) {
            bytes.addAndGet(-len);
        }

        long bytes() {
            return bytes.get();
        }
    }
}
