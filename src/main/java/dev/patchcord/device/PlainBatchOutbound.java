package dev.patchcord.device;

import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;
import dev.patchcord.core.Framing;
import dev.patchcord.core.offload.TsoSplitter;
import dev.patchcord.core.offload.VirtioNetHdr;
import dev.patchcord.sys.Linux;
import dev.patchcord.sys.SysException;
import dev.patchcord.transport.UdpBatch;
import dev.patchcord.transport.UdpSocket;
import dev.patchcord.tun.TunDevice;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Interface to network in batches for the plain modes: the first frame is waited for, the rest of
 * the batch is whatever the interface already holds (a lone frame is never held back). With a
 * TUN opened with virtio-net headers the interface hands over TCP super-packets of up to 64 KiB,
 * cut here into MTU-sized packets ({@link TsoSplitter}), so the peer receives exactly the packets
 * it would have without offloads. The batch leaves in one sendmmsg, runs of equal-size datagrams
 * as one UDP GSO message each; the peer still sees one frame per datagram.
 */
final class PlainBatchOutbound {
    /** Frames per batch: two super-packets at the usual MSS. */
    static final int MAX_FRAMES = 256;
    /** A super-packet is only split into a batch with at least this many free slots (64 KiB at a 536-byte MSS is 123). */
    private static final int ROOM_FOR_ONE = 128;

    private final TunDevice device;
    private final UdpSocket socket;
    private final Framing framing;
    private final PeerAddress peer;
    private final Counters counters;
    private final boolean vnet;
    /**
     * Slot size: one byte more than the longest frame, so a plain read that fills the slot
     * reveals a frame too long to send (the kernel cuts it to the buffer) and it is dropped whole.
     */
    private final int stride;
    private final MemorySegment in;
    private final ByteBuffer inView;
    private final MemorySegment out;
    private final ByteBuffer[] views = new ByteBuffer[MAX_FRAMES];
    /** {@code views} from index k on, so the splitter can fill slots k, k+1, … without copying the array. */
    private final ByteBuffer[][] viewsFrom = new ByteBuffer[MAX_FRAMES][];
    private final int[][] lengthsFrom = new int[MAX_FRAMES][];
    private final MemorySegment[] slots = new MemorySegment[MAX_FRAMES];
    private final int[] lengths = new int[MAX_FRAMES];
    private final UdpBatch batch;

    PlainBatchOutbound(TunDevice device, UdpSocket socket, Framing framing, PeerAddress peer, Counters counters,
            Arena arena) {
        this.device = device;
        this.socket = socket;
        this.framing = framing;
        this.peer = peer;
        this.counters = counters;
        this.vnet = device.vnetHeader();
        this.stride = (framing.maxFrame() + 1 + 63) & ~63;
        this.in = vnet ? arena.allocate(VirtioNetHdr.SIZE + 65535 + 64, 64) : null;
        this.inView = vnet ? in.asByteBuffer() : null;
        this.out = arena.allocate((long) stride * MAX_FRAMES, 64);
        for (int k = 0; k < MAX_FRAMES; k++) {
            slots[k] = out.asSlice((long) k * stride, framing.maxFrame() + 1);
            views[k] = out.asSlice((long) k * stride, stride).asByteBuffer();
        }
        for (int k = 0; k < MAX_FRAMES; k++) {
            viewsFrom[k] = Arrays.copyOfRange(views, k, MAX_FRAMES);
            lengthsFrom[k] = new int[MAX_FRAMES - k];
        }
        this.batch = new UdpBatch(MAX_FRAMES, 16);
        for (int k = 0; k < MAX_FRAMES; k++) {
            batch.attach(k, out);
        }
    }

    void run() throws SysException {
        while (true) {
            int n = device.read(vnet ? in : slots[0]);
            if (n < 0) {
                return;
            }
            int count = 0;
            while (true) {
                count = take(n, count);
                if (MAX_FRAMES - count < (vnet ? ROOM_FOR_ONE : 1)) {
                    break;
                }
                n = device.tryRead(vnet ? in : slots[count]);
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

    /** Adds what one read gave to the batch (split first with virtio headers); returns the new count. */
    private int take(int n, int count) {
        int first = count;
        if (vnet) {
            int r = TsoSplitter.split(inView, 0, n, viewsFrom[count], 0, lengthsFrom[count]);
            if (r == TsoSplitter.TOO_MANY_SEGMENTS && count > 0) {
                flush(count); // the batch was too full for this one: send it, then split into an empty one
                count = 0;
                first = 0;
                r = TsoSplitter.split(inView, 0, n, viewsFrom[0], 0, lengthsFrom[0]);
            }
            if (r < 0) {
                counters.drop(r == TsoSplitter.NO_ROOM ? Drop.OVERSIZE : Drop.UNSPLITTABLE);
                return count;
            }
            System.arraycopy(lengthsFrom[first], 0, lengths, first, r);
            count += r;
        } else {
            lengths[count++] = n;
        }
        for (int k = first; k < count; k++) {
            Drop d = framing.checkOutgoing(lengths[k]);
            if (d != null) {
                counters.drop(d);
                lengths[k] = 0;
            }
        }
        return count;
    }

    /** Sends the batch to the peer: one GSO message per run of equal-size frames, one sendmmsg. */
    private void flush(int count) {
        MemorySegment to = peer.current();
        if (to == null) {
            for (int k = 0; k < count; k++) {
                if (lengths[k] > 0) {
                    counters.drop(Drop.NO_PEER);
                }
            }
            return;
        }
        int messages = 0;
        for (int k = 0; k < count; ) {
            if (lengths[k] == 0) {
                k++;
                continue;
            }
            int limit = k + 1;
            while (limit < count && lengths[limit] > 0) {
                limit++;
            }
            int next = GsoMessages.pack(out, stride, lengths, k, limit, batch, messages);
            batch.setAddress(messages, to);
            messages++;
            k = next;
        }
        GsoMessages.send(socket, batch, messages, counters);
    }

    void close() {
        batch.close();
    }
}
