package dev.patchcord.tun;

import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;
import dev.patchcord.core.offload.TsoSplitter;
import dev.patchcord.core.offload.VirtioNetHdr;
import dev.patchcord.sys.Linux;
import dev.patchcord.sys.SysException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * Reads a device in batches into slots its subclass lays out, for the encrypted and the plain
 * paths alike: the first packet is waited for, the rest of the batch is whatever else the device
 * already holds (so a lone packet is never held back). On a device with virtio-net headers each
 * read may be a TCP or UDP super-packet of up to 64 KiB, cut here into MTU-sized segments
 * ({@link TsoSplitter}), each into a slot of its own at the subclass's headroom. A TAP's reads are
 * Ethernet frames, cut the same way with the link header copied onto every segment
 * ({@link TsoSplitter#splitFrame}).
 *
 * <p>The subclass says what a batch's new packets are ({@link #took}) and sends the batch
 * ({@link #flush}); everything is done on the one thread that calls {@link #run}.
 */
public abstract class BatchReader {
    /** A super-packet is only split into a batch with at least this many free slots (64 KiB at a 536-byte MSS is 123). */
    private static final int ROOM_FOR_ONE = 128;

    private final PacketDevice device;
    private final Counters counters;
    private final boolean vnet;
    /** Whether reads are Ethernet frames (a TAP) rather than IP packets. */
    private final boolean frames;
    private final int max;
    private final int headroom;
    /** Where a read with a virtio-net header lands before it is cut into slots. */
    private final MemorySegment in;
    private final ByteBuffer inView;
    /**
     * The splitter's views of the slots from index k on, so it can fill slots k, k+1, … without
     * copying the array.
     */
    private final ByteBuffer[][] viewsFrom;
    private final int[][] lengthsFrom;
    /** Where a packet read without a virtio-net header lands: slot k at the headroom. */
    private final MemorySegment[] plainSlots;
    /** The length of the packet in each slot of the batch, as read or cut. */
    protected final int[] lengths;

    /**
     * @param max      slots per batch
     * @param headroom where a packet starts in its slot's splitter view
     * @param counters where read errors and packets that cannot be cut are counted
     */
    protected BatchReader(PacketDevice device, int max, int headroom, Counters counters, Arena arena) {
        this(device, max, headroom, counters, arena, false);
    }

    /** @param frames whether the device is a TAP, whose reads are Ethernet frames */
    protected BatchReader(PacketDevice device, int max, int headroom, Counters counters, Arena arena, boolean frames) {
        this.device = device;
        this.frames = frames;
        this.counters = counters;
        this.vnet = device.vnetHeader();
        this.max = max;
        this.headroom = headroom;
        this.in = vnet ? arena.allocate(VirtioNetHdr.SIZE + 65535 + 64, 64) : null;
        this.inView = vnet ? in.asByteBuffer() : null;
        this.viewsFrom = new ByteBuffer[max][];
        this.lengthsFrom = new int[max][];
        this.plainSlots = new MemorySegment[max];
        this.lengths = new int[max];
        for (int k = 0; k < max; k++) {
            viewsFrom[k] = new ByteBuffer[max - k];
            lengthsFrom[k] = new int[max - k];
        }
    }

    /**
     * Lays out slot {@code k}: {@code forSplitter} is what a cut segment may fill (from the
     * headroom on), {@code plain} where a packet read whole lands. Only between batches.
     */
    protected final void slot(int k, ByteBuffer forSplitter, MemorySegment plain) {
        for (int from = 0; from <= k; from++) {
            viewsFrom[from][k - from] = forSplitter;
        }
        plainSlots[k] = plain;
    }

    /** Whether reads carry virtio-net headers (and are cut into segments). */
    protected final boolean vnet() {
        return vnet;
    }

    /** Before each batch: the slots may be laid out anew. */
    protected void beforeBatch() {
    }

    /** Whether a packet of {@code n} bytes read whole fits its slot; if not it is counted and left out. */
    protected boolean accept(int n) {
        return true;
    }

    /** Whether the slots can grow for a super-packet that does not fit them ({@link #grow}). */
    protected boolean slotsGrow() {
        return false;
    }

    /** Grows the slots (the batch is empty); true if a packet that did not fit may now. */
    protected boolean grow() {
        return false;
    }

    /** The packets in slots {@code [first, count)} are new: route or check them. */
    protected abstract void took(int first, int count);

    /** Sends the first {@code count} slots of the batch; they are free again afterwards. */
    protected abstract void flush(int count);

    /** Reads and sends batches until the device is closed or the loop must stop. */
    public final void run() throws SysException {
        while (true) {
            beforeBatch();
            int n = device.read(vnet ? in : plainSlots[0]);
            if (n < 0) {
                return;
            }
            int count = 0;
            while (true) {
                count = take(n, count);
                if (max - count < (vnet ? ROOM_FOR_ONE : 1)) {
                    break;
                }
                n = device.tryRead(vnet ? in : plainSlots[count]);
                if (n == -Linux.EAGAIN) {
                    break;
                }
                if (n < 0) {
                    counters.drop(Drop.DEVICE_ERROR);
                    break;
                }
            }
            flush(count);
        }
    }

    /** Adds what one read gave to the batch (cutting it first with virtio headers); returns the new count. */
    private int take(int n, int count) {
        int first = count;
        if (vnet) {
            int r = split(n, count);
            if (r == TsoSplitter.TOO_MANY_SEGMENTS && count > 0) {
                flush(count); // the batch was too full for this one: send it, then split into an empty one
                count = 0;
                first = 0;
                r = split(n, 0);
            }
            if (r == TsoSplitter.NO_ROOM && slotsGrow()) {
                // Larger than the slots: the MTU may have been raised a moment ago.
                if (count > 0) {
                    flush(count);
                    count = 0;
                    first = 0;
                }
                if (grow()) {
                    r = split(n, 0);
                }
            }
            if (r < 0) {
                counters.drop(r == TsoSplitter.NO_ROOM ? Drop.OVERSIZE : Drop.UNSPLITTABLE);
                return count;
            }
            System.arraycopy(lengthsFrom[first], 0, lengths, first, r);
            count += r;
        } else if (!accept(n)) {
            return count;
        } else {
            lengths[count++] = n;
        }
        took(first, count);
        return count;
    }

    private int split(int n, int from) {
        return frames
                ? TsoSplitter.splitFrame(inView, 0, n, viewsFrom[from], headroom, lengthsFrom[from])
                : TsoSplitter.split(inView, 0, n, viewsFrom[from], headroom, lengthsFrom[from]);
    }
}
