package dev.patchcord.device;

import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;
import dev.patchcord.core.Framing;
import dev.patchcord.sys.SysException;
import dev.patchcord.transport.BatchReceiver;
import dev.patchcord.transport.UdpSocket;
import dev.patchcord.tun.PacketDevice;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * Network to interface in batches for the plain modes: one recvmmsg fills up to {@link #SLOTS}
 * buffers, each holding one datagram or (with UDP GRO) several from one sender. Every datagram
 * goes through the framing exactly as on the one-at-a-time path, and the peer's address is
 * learned from a buffer only if one of its datagrams yielded a frame. With coalescing, the TCP
 * segments of a batch reach the interface as a few super-packets ({@link CoalescingWriter}).
 */
final class PlainBatchInbound extends BatchReceiver {
    static final int SLOTS = 32;

    private final PacketDevice device;
    private final UdpSocket socket;
    private final Framing framing;
    private final PeerAddress peer;
    private final Counters counters;
    /** Merges TCP segments before they reach the interface, or null to write each frame as it comes. */
    private final CoalescingWriter writer;
    private final Framing.Sink sink;
    /** The buffer whose frames the sink is delivering. */
    private MemorySegment current;

    PlainBatchInbound(PacketDevice device, UdpSocket socket, Framing framing, PeerAddress peer, Counters counters,
            boolean coalesce, Arena arena) {
        super(SLOTS, counters);
        this.device = device;
        this.socket = socket;
        this.framing = framing;
        this.peer = peer;
        this.counters = counters;
        if (coalesce && device.vnetHeader()) {
            writer = new CoalescingWriter(device, counters, arena);
            sink = writer::add;
        } else {
            writer = null;
            sink = this::write;
        }
    }

    @Override
    protected int receive() throws SysException {
        return socket.receive(batch);
    }

    /** Every datagram of the buffer through the framing; the sender is learned if one yielded a frame. */
    @Override
    protected void buffer(int i, int total, int seg) {
        current = batch.buffer(i);
        int step = seg > 0 ? seg : Math.max(total, 1);
        boolean delivered = false;
        for (int off = 0; off < total || off == 0; off += step) {
            delivered |= framing.splitIncoming(views[i], off, Math.min(step, total - off), sink, counters);
        }
        if (delivered) {
            peer.observe(batch.address(i));
        }
    }

    @Override
    protected void batchDone() {
        if (writer != null) {
            writer.flush();
        }
    }

    /** Delivery without coalescing: one write per frame (with a plain virtio header if the device wants one). */
    private void write(ByteBuffer view, int off, int len) {
        if (device.writePacket(current, off, len) < 0) {
            counters.drop(Drop.DEVICE_ERROR);
        } else {
            counters.received(len);
        }
    }
}
