package dev.patchcord.core.simplevpn;

import java.nio.ByteBuffer;

/**
 * A bounded first-in first-out queue of packets stored in one ring of bytes, so queueing a packet
 * is one copy and no allocation. The simplevpn hub gives each client one of these as its send
 * queue: readers of other clients copy packets in, the client's own writer takes them out one by
 * one (one packet per socket write). The bound is in bytes, which is what a slow client actually
 * costs; a packet that does not fit is refused, and the caller counts it.
 *
 * <p>Each entry is a 4-byte length and the packet, kept contiguous: when an entry does not fit
 * before the end of the ring, the rest of the ring is skipped (marked with {@link #WRAP} when
 * there is room for the mark) and the entry starts at offset 0.
 *
 * <p>Not thread-safe. The owner guards {@link #offer}, {@link #peek} and {@link #remove} with one
 * lock, and may read the bytes of the peeked entry outside it: nothing overwrites an entry before
 * {@link #remove}.
 */
public final class PacketRing {
    private static final int HEADER = 4;
    private static final int WRAP = -1;

    private final ByteBuffer ring;
    private final int capacity;
    private int head;
    private int tail;
    private int count;

    /** @param storage the ring, used whole; its capacity is the bound in bytes (headers included) */
    public PacketRing(ByteBuffer storage) {
        this.ring = storage;
        this.capacity = storage.capacity();
        if (capacity < HEADER + StreamSplitter.MAX_PACKET) {
            throw new IllegalArgumentException("a ring of " + capacity + " bytes cannot hold the largest packet");
        }
    }

    /** The ring's bytes; an entry found by {@link #peek} starts at that offset. */
    public ByteBuffer storage() {
        return ring;
    }

    public boolean isEmpty() {
        return count == 0;
    }

    /** Packets queued. */
    public int size() {
        return count;
    }

    /**
     * Copies {@code len} bytes at {@code off} of {@code src} (absolute; its position is not used) to
     * the end of the queue.
     *
     * @return false, copying nothing, if there is not room for them
     */
    public boolean offer(ByteBuffer src, int off, int len) {
        if (count == 0) {
            head = tail = 0;
        }
        int need = HEADER + len;
        if (tail < head || tail == head && count > 0) {
            // The free space is the gap between the newest entry and the oldest.
            if (need > head - tail) {
                return false;
            }
        } else if (capacity - tail < need) {
            // Not enough before the end: skip it and start again at 0, in front of the oldest entry.
            if (need > head) {
                return false;
            }
            if (capacity - tail >= HEADER) {
                ring.putInt(tail, WRAP);
            }
            tail = 0;
        }
        ring.putInt(tail, len);
        ring.put(tail + HEADER, src, off, len);
        tail += need;
        if (tail == capacity) {
            tail = 0;
        }
        count++;
        return true;
    }

    /**
     * The first packet's offset in {@link #storage()}, or -1 when the queue is empty. Its length is
     * {@link #peekLength()}. It stays queued until {@link #remove()}.
     */
    public int peek() {
        if (count == 0) {
            return -1;
        }
        skipWrap();
        return head + HEADER;
    }

    /** The length of the packet {@link #peek()} found. */
    public int peekLength() {
        skipWrap();
        return ring.getInt(head);
    }

    /** Removes the first packet. */
    public void remove() {
        if (count == 0) {
            throw new IllegalStateException("the queue is empty");
        }
        skipWrap();
        head += HEADER + ring.getInt(head);
        if (head == capacity) {
            head = 0;
        }
        count--;
    }

    /** Moves {@code head} past the unused end of the ring when the producer skipped it. */
    private void skipWrap() {
        if (count > 0 && (capacity - head < HEADER || ring.getInt(head) == WRAP)) {
            head = 0;
        }
    }
}
