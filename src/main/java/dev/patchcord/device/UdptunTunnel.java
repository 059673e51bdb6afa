package dev.patchcord.device;

import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;
import dev.patchcord.core.udptun.HostsTable;
import dev.patchcord.core.udptun.IcmpUnreachable;
import dev.patchcord.core.udptun.InboundCheck;
import dev.patchcord.sys.Libc;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.SockAddr;
import dev.patchcord.transport.UdpSocket;
import dev.patchcord.tun.PacketDevice;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;

/**
 * udptun's one-to-many plain tunnel: each IPv4 packet from the TUN goes, unchanged, to the
 * underlay address its inner destination maps to in a {@link HostsTable}; a packet with no entry
 * is answered locally with ICMP host unreachable. Each valid datagram from anyone is written to the
 * TUN. The table can be swapped at any time (a URL refresh); the send loop reads it without locks.
 */
public final class UdptunTunnel extends Loops implements Pausable {
    private static final int BUFFER = PlainTunnel.BUFFER;
    private static final ValueLayout.OfInt DST = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    /** A table with each destination already encoded as a {@code sockaddr}, so sending allocates nothing. */
    private record Routes(HostsTable table, MemorySegment[] encoded) {
        static Routes of(HostsTable table) {
            MemorySegment[] enc = new MemorySegment[table.size()];
            for (int i = 0; i < enc.length; i++) {
                enc[i] = Arena.ofAuto().allocate(SockAddr.SIZE);
                SockAddr.encode(table.routes().get(i).to(), enc[i]);
            }
            return new Routes(table, enc);
        }
    }

    private final PacketDevice device;
    private final UdpSocket socket;
    private final Counters counters;
    private final PrintStream verbose;
    private final Arena arena = Arena.ofShared();
    private volatile Routes routes;
    /** What the device and the socket wait on beside their descriptors, if {@link #pause} may signal it; or null. */
    private final Wakeup loops;

    /**
     * @param verbose where to print one line per packet, or null for none
     */
    public UdptunTunnel(PacketDevice device, UdpSocket socket, HostsTable table, Counters counters, PrintStream verbose) {
        this(device, socket, table, counters, verbose, null);
    }

    /**
     * @param loops the wake-up the device and the socket were opened with, a
     *              {@link Wakeup#child() child} of the session's, so that {@link #pause} can stop
     *              the loops alone; null: the tunnel cannot pause
     */
    public UdptunTunnel(PacketDevice device, UdpSocket socket, HostsTable table, Counters counters, PrintStream verbose,
            Wakeup loops) {
        this.loops = loops;
        this.device = device;
        this.socket = socket;
        this.counters = counters;
        this.verbose = verbose;
        this.routes = Routes.of(table);
        loop("device-to-net", this::outboundLoop);
        loop("net-to-device", this::inboundLoop);
    }

    /** Replaces the whole table; packets already being sent finish with the old one. */
    public void install(HostsTable table) {
        routes = Routes.of(table);
    }

    public HostsTable table() {
        return routes.table();
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

    @Override
    protected boolean stopping() {
        return false;
    }

    private void outboundLoop() throws SysException {
        MemorySegment buf = arena.allocate(BUFFER, 64);
        ByteBuffer view = buf.asByteBuffer();
        MemorySegment reply = arena.allocate(64, 8);
        while (true) {
            int n = device.read(buf);
            if (n < 0) {
                return;
            }
            Drop d = n == 0 ? Drop.EMPTY
                    : ((view.get(0) >> 4) & 0xf) != 4 ? Drop.NOT_IPV4 // udptun: "Ignoring IPv6 packet"
                    : n < 20 ? Drop.RUNT : null;
            if (d != null) {
                drop(d, n, "");
                continue;
            }
            int dst = buf.get(DST, 16);
            Routes r = routes;
            int i = r.table().find(dst);
            if (i < 0) {
                counters.drop(Drop.NO_ROUTE);
                byte[] icmp = IcmpUnreachable.build(view, 0, n);
                MemorySegment.copy(icmp, 0, reply, ValueLayout.JAVA_BYTE, 0, icmp.length);
                int w = device.write(reply, 0, icmp.length);
                if (verbose != null) {
                    verbose.println(device.name() + " -> net dropped " + n + " bytes: no-route for "
                            + dotted(dst) + (w < 0 ? "; ICMP refused: " + Libc.strerror(-w) : "; ICMP host unreachable written"));
                }
                continue;
            }
            MemorySegment to = r.encoded()[i];
            // Sent as read: udptun re-serialises the header and corrupts IP options; this does not.
            int s = socket.send(buf, 0, n, to);
            if (s < 0) {
                drop(Drop.SEND_ERROR, n, " to " + SockAddr.format(r.table().routes().get(i).to()) + ": " + Libc.strerror(-s));
                continue;
            }
            counters.sent(n);
            if (verbose != null) {
                verbose.println(device.name() + " -> net " + n + " bytes for " + dotted(dst) + " to "
                        + SockAddr.format(r.table().routes().get(i).to()));
            }
        }
    }

    private void drop(Drop d, int n, String detail) {
        counters.drop(d);
        if (verbose != null) {
            verbose.println(device.name() + " -> net dropped " + n + " bytes: " + d.label() + detail);
        }
    }

    private void inboundLoop() throws SysException {
        MemorySegment buf = arena.allocate(BUFFER, 64);
        ByteBuffer view = buf.asByteBuffer();
        MemorySegment from = arena.allocate(SockAddr.SIZE, 8);
        while (true) {
            int n = socket.receive(buf, from);
            if (n < 0) {
                return;
            }
            Drop d = n > BUFFER ? Drop.OVERSIZE : InboundCheck.check(view, n);
            if (d != null) {
                counters.drop(d);
                if (verbose != null) {
                    verbose.println("net -> " + device.name() + " dropped datagram of " + n + " bytes from "
                            + SockAddr.format(SockAddr.decode(from)) + ": " + d.label());
                }
                continue;
            }
            int w = device.write(buf, 0, n);
            if (w < 0) {
                counters.drop(Drop.DEVICE_ERROR);
            } else {
                counters.received(n);
            }
            if (verbose != null) {
                verbose.println("net -> " + device.name() + " " + n + " bytes from "
                        + SockAddr.format(SockAddr.decode(from)) + (w < 0 ? " refused: " + Libc.strerror(-w) : ""));
            }
        }
    }

    private static String dotted(int a) {
        return (a >>> 24) + "." + (a >> 16 & 0xff) + "." + (a >> 8 & 0xff) + "." + (a & 0xff);
    }

    public Counters counters() {
        return counters;
    }

    @Override
    public String summary() {
        return counters.summary() + ", " + routes.table().size() + " hosts";
    }
}
