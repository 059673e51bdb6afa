package dev.patchcord.device;

import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;
import dev.patchcord.core.Framing;
import dev.patchcord.sys.Libc;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.SockAddr;
import dev.patchcord.transport.UdpSocket;
import dev.patchcord.tun.PacketDevice;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/**
 * An unencrypted point-to-point tunnel: two loops, one carrying frames from the local device to the
 * peer and one carrying datagrams from the network to the device, each with its own off-heap buffer
 * allocated once. The framing decides what is valid; this class only moves bytes and counts.
 *
 * <p>On a TUN or TAP device the loops move batches ({@link PlainBatchOutbound},
 * {@link PlainBatchInbound}) unless the offloads are off or one line per packet is wanted; the
 * wire format is the same either way.
 */
public final class PlainTunnel extends Loops implements Pausable {
    /** Larger than any UDP datagram or TUN read, so nothing is ever cut short on the way in. */
    static final int BUFFER = 65536;

    private final PacketDevice device;
    private final UdpSocket socket;
    private final Framing framing;
    private final PeerAddress peer;
    private final Counters counters;
    private final PrintStream verbose;
    private final Arena arena = Arena.ofShared();
    /** What the device and the socket wait on beside their descriptors, if {@link #pause} may signal it; or null. */
    private final Wakeup loops;

    /**
     * @param verbose where to print one line per packet, or null for none
     */
    public PlainTunnel(PacketDevice device, UdpSocket socket, Framing framing, PeerAddress peer,
                       Counters counters, PrintStream verbose) {
        this(device, socket, framing, peer, counters, verbose, Offloads.NONE);
    }

    /**
     * @param offloads how the loops move batches ({@link Offloads#NONE}: one packet per system
     *                 call); TSO and coalescing need a TUN opened with virtio-net headers
     */
    public PlainTunnel(PacketDevice device, UdpSocket socket, Framing framing, PeerAddress peer,
                       Counters counters, PrintStream verbose, Offloads offloads) {
        this(device, socket, framing, peer, counters, verbose, offloads, null);
    }

    /**
     * @param loops the wake-up the device and the socket were opened with, a
     *              {@link Wakeup#child() child} of the session's, so that {@link #pause} can stop
     *              the loops alone; null: the tunnel cannot pause
     */
    public PlainTunnel(PacketDevice device, UdpSocket socket, Framing framing, PeerAddress peer,
                       Counters counters, PrintStream verbose, Offloads offloads, Wakeup loops) {
        this.loops = loops;
        this.device = device;
        this.socket = socket;
        this.framing = framing;
        this.peer = peer;
        this.counters = counters;
        this.verbose = verbose;
        if (offloads.batching() && verbose == null && device.batches()) {
            socket.enable(offloads.udp());
            batched = offloads;
            loop("device-to-net", new BatchOutboundLoop());
            loop("net-to-device", new BatchInboundLoop(offloads.coalesce()));
        } else {
            batched = Offloads.NONE;
            loop("device-to-net", new OutboundLoop());
            loop("net-to-device", new InboundLoop());
        }
    }

    private final Offloads batched;

    /** What the packet path does, for the start-up line. */
    public String describeOffloads() {
        return !batched.batching() ? "one packet per system call"
                : batched.describe(socket.features(), device);
    }

    /** @throws IllegalStateException if the tunnel was made without a wake-up of its own */
    @Override
    public boolean pause(long millis) throws InterruptedException {
        if (loops == null) {
            throw new IllegalStateException("this tunnel was made without a wake-up of its own to pause on");
        }
        loops.signal();
        return awaitStopped(millis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void resume() {
        startAgain(loops);
    }

    /** Its loops end by returning when the wake-up fires, so any exception is a real failure. */
    @Override
    protected boolean stopping() {
        return false;
    }

    /** The {@code device-to-net} loop in batches. */
    private final class BatchOutboundLoop implements Loop {
        @Override
        public void run() throws SysException {
            PlainBatchOutbound b = new PlainBatchOutbound(device, socket, framing, peer, counters, arena);
            try {
                b.run();
            } finally {
                b.close();
            }
        }
    }

    /** The {@code net-to-device} loop in batches. */
    private final class BatchInboundLoop implements Loop {
        private final boolean coalesce;

        BatchInboundLoop(boolean coalesce) {
            this.coalesce = coalesce;
        }

        @Override
        public void run() throws SysException {
            PlainBatchInbound b = new PlainBatchInbound(device, socket, framing, peer, counters, coalesce, arena);
            try {
                b.run();
            } finally {
                b.close();
            }
        }
    }

    /** The {@code device-to-net} loop, one frame per system call (and per line with {@code verbose}). */
    private final class OutboundLoop implements Loop {
        @Override
        public void run() throws SysException {
            outbound();
        }
    }

    /** The {@code net-to-device} loop, one datagram per system call. */
    private final class InboundLoop implements Loop {
        @Override
        public void run() throws SysException {
            inbound();
        }
    }

    private void outbound() throws SysException {
        MemorySegment buf = arena.allocate(BUFFER, 64);
        while (true) {
            int n = device.read(buf);
            if (n < 0) {
                return;
            }
            Drop d = framing.checkOutgoing(n);
            if (d != null) {
                counters.drop(d);
                if (verbose != null) {
                    verbose.println(device.name() + " -> net dropped " + n + " bytes: " + d.label());
                }
                continue;
            }
            MemorySegment to = peer.current();
            if (to == null) {
                counters.drop(Drop.NO_PEER);
                continue;
            }
            int r = socket.send(buf, 0, n, to);
            if (r < 0) {
                counters.drop(Drop.SEND_ERROR);
                if (verbose != null) {
                    verbose.println("send " + n + " bytes to " + SockAddr.format(SockAddr.decode(to))
                            + " failed: " + Libc.strerror(-r));
                }
                continue;
            }
            counters.sent(n);
            if (verbose != null) {
                verbose.println(device.name() + " -> net " + n + " bytes to " + SockAddr.format(SockAddr.decode(to)));
            }
        }
    }

    private void inbound() throws SysException {
        MemorySegment buf = arena.allocate(BUFFER, 64);
        ByteBuffer view = buf.asByteBuffer();
        MemorySegment from = arena.allocate(SockAddr.SIZE, 8);
        Framing.Sink sink = (b, off, len) -> {
            int r = device.write(buf, off, len);
            if (r < 0) {
                counters.drop(Drop.DEVICE_ERROR);
            } else {
                counters.received(len);
            }
            if (verbose != null) {
                verbose.println("net -> " + device.name() + " " + len + " bytes from "
                        + SockAddr.format(SockAddr.decode(from)) + (r < 0 ? " refused: " + Libc.strerror(-r) : ""));
            }
        };
        while (true) {
            int n = socket.receive(buf, from);
            if (n < 0) {
                return;
            }
            if (n > BUFFER) {
                counters.drop(Drop.OVERSIZE);
                continue;
            }
            long dropsBefore = verbose == null ? 0 : counters.droppedTotal();
            if (framing.splitIncoming(view, n, sink, counters) && peer.observe(from) && verbose != null) {
                verbose.println("peer is now " + SockAddr.format(SockAddr.decode(from)));
            }
            if (verbose != null && counters.droppedTotal() != dropsBefore) {
                verbose.println("net -> " + device.name() + " dropped datagram of " + n + " bytes from "
                        + SockAddr.format(SockAddr.decode(from)) + ": " + counters.summary());
            }
        }
    }

    public Counters counters() {
        return counters;
    }

    @Override
    public String summary() {
        return counters.summary();
    }

    public PeerAddress peer() {
        return peer;
    }
}
