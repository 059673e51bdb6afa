package dev.patchcord.core.wg;

/**
 * The sliding window that rejects replayed transport counters (RFC 6479 style, as the Linux kernel
 * and wireguard-go do it): a ring of 128 blocks of 64 bits. One block is always being cleared for
 * the counters ahead, so {@value #WINDOW} counters behind the newest one are remembered.
 *
 * <p>Call {@link #accept} only after the packet authenticated; otherwise a forged counter could
 * move the window and make genuine packets look old.
 */
public final class ReplayWindow {
    private static final int BLOCK_BITS = 64;
    private static final int RING_BLOCKS = 128;
    private static final int BLOCK_MASK = RING_BLOCKS - 1;
    /** Counters remembered behind the newest: (128 - 1) x 64 = 8128. */
    public static final int WINDOW = (RING_BLOCKS - 1) * BLOCK_BITS;

    private final long[] ring = new long[RING_BLOCKS];
    private long last;

    /**
     * Records {@code counter} if it is new and inside the window.
     *
     * @param limit counters at or above this (unsigned) are refused outright
     * @return true if the counter was not seen before and may be delivered
     */
    public synchronized boolean accept(long counter, long limit) {
        if (Long.compareUnsigned(counter, limit) >= 0) {
            return false;
        }
        long block = counter >>> 6;
        if (Long.compareUnsigned(counter, last) > 0) {
            long current = last >>> 6;
            long advance = Math.min(block - current, RING_BLOCKS);
            for (long i = 1; i <= advance; i++) {
                ring[(int) ((current + i) & BLOCK_MASK)] = 0;
            }
            last = counter;
        } else if (Long.compareUnsigned(last - counter, WINDOW) > 0) {
            return false;
        }
        int index = (int) (block & BLOCK_MASK);
        long bit = 1L << (counter & (BLOCK_BITS - 1));
        long old = ring[index];
        ring[index] = old | bit;
        return (old & bit) == 0;
    }

    /** The ring's length in 64-bit blocks: what {@link #ring()} returns and {@link #restore} takes. */
    static final int RING_LENGTH = RING_BLOCKS;

    /** A copy of the ring, for a hand-over snapshot ({@link SessionState}). */
    synchronized long[] ring() {
        return ring.clone();
    }

    /** The newest counter accepted (0 before any), for a hand-over snapshot. */
    synchronized long last() {
        return last;
    }

    /**
     * Takes over a window exported by {@link #ring()} and {@link #last()} (by another process):
     * exactly the counters it had seen are refused here.
     */
    synchronized void restore(long[] ring, long last) {
        if (ring.length != RING_BLOCKS) {
            throw new IllegalArgumentException("a replay ring is " + RING_BLOCKS + " blocks");
        }
        System.arraycopy(ring, 0, this.ring, 0, RING_BLOCKS);
        this.last = last;
    }

    /** Forgets everything (a fresh keypair starts with an empty window). */
    public synchronized void reset() {
        java.util.Arrays.fill(ring, 0);
        last = 0;
    }
}
