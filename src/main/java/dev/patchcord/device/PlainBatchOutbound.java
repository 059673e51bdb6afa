package dev.patchcord.device;

import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;
import dev.patchcord.core.Framing;
import dev.patchcord.transport.UdpBatch;
import dev.patchcord.transport.UdpSocket;
import dev.patchcord.tun.BatchReader;
import dev.patchcord.tun.PacketDevice;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Interface to network in batches for the plain modes: the {@link BatchReader} reads a batch,
 * cutting TSO super-packets into MTU-sized packets, so the peer receives exactly the packets it
 * would have without offloads. The batch leaves in one sendmmsg, runs of equal-size datagrams as
 * one UDP GSO message each; the peer still sees one frame per datagram.
 */
final class PlainBatchOutbound extends BatchReader {
    /** Frames per batch: two super-packets at the usual MSS. */
    static final int MAX_FRAMES = 256;

    private final UdpSocket socket;
    private final Framing framing;
    private final PeerAddress peer;
    private final Counters counters;
    /**
     * Slot size: one byte more than the longest frame, so a plain read that fills the slot
     * reveals a frame too long to send (the kernel cuts it to the buffer) and it is dropped whole.
     */
    private final int stride;
    private final MemorySegment out;
    private final UdpBatch batch;

    PlainBatchOutbound(PacketDevice device, UdpSocket socket, Framing framing, PeerAddress peer, Counters counters,
            Arena arena) {
        super(device, MAX_FRAMES, 0, counters, arena);
        this.socket = socket;
        this.framing = framing;
        this.peer = peer;
        this.counters = counters;
        this.stride = (framing.maxFrame() + 1 + 63) & ~63;
        this.out = arena.allocate((long) stride * MAX_FRAMES, 64);
        this.batch = new UdpBatch(MAX_FRAMES, 16);
        for (int k = 0; k < MAX_FRAMES; k++) {
            slot(k, out.asSlice((long) k * stride, stride).asByteBuffer(),
                    out.asSlice((long) k * stride, framing.maxFrame() + 1));
            batch.attach(k, out);
        }
    }

    /** Checks the new frames against the framing; a refused one is counted and left out. */
    @Override
    protected void took(int first, int count) {
        for (int k = first; k < count; k++) {
            Drop d = framing.checkOutgoing(lengths[k]);
            if (d != null) {
                counters.drop(d);
                lengths[k] = 0;
            }
        }
    }

    /** Sends the batch to the peer: one GSO message per run of equal-size frames, one sendmmsg. */
    @Override
    protected void flush(int count) {
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
