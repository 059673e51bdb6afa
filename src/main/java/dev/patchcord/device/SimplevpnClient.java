package dev.patchcord.device;

import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;
import dev.patchcord.core.IpPackets;
import dev.patchcord.core.simplevpn.ControlMessage;
import dev.patchcord.core.simplevpn.KeepaliveTimer;
import dev.patchcord.core.simplevpn.Reconnect;
import dev.patchcord.core.simplevpn.StreamSplitter;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.SockAddr;
import dev.patchcord.tun.PacketDevice;

import java.io.EOFException;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

/**
 * The simplevpn client: a TUN interface whose IPv4 packets travel to a simplevpn server over one
 * TCP connection, and the address the server assigns.
 *
 * <p>Each connection starts with the address request and its reply ({@link SimplevpnDialer}); what
 * follows is raw packets both ways. Loops: the interface to the server (one write per packet), the
 * server to the interface (which also reconnects when the connection ends), keepalives, and a
 * watcher that ends the others when the process stops.
 *
 * <p>Fixed compared with the original: reconnections go to the port given (not always 2002), with
 * back-off ({@link Reconnect}); keepalives go out even while only receiving, and a silent server is
 * noticed ({@link KeepaliveTimer}); the stream is parsed packet by packet ({@link StreamSplitter});
 * IPv6 from the interface is dropped ({@code no-route}), since the server routes on IPv4 bytes only
 * and the original would deliver it to whichever client its garbage "address" hits.
 */
public final class SimplevpnClient extends StoppableLoops {
    private static final int READ_BYTES = StreamSplitter.MAX_PACKET + 16 * 1024;
    /** How soon to try a keepalive again that could not be sent because a packet was being written. */
    private static final long BUSY_RETRY = 100_000_000L;

    /** Told of each address assigned; sets it on the interface. Runs before traffic flows. */
    public interface AddressListener {
        /** @param previous the address the interface had, or {@link ControlMessage#NONE} the first time */
        void assigned(int previous, int address);
    }

    private final PacketDevice device;
    private final AddressListener listener;
    private final PrintStream log;
    private final String label;
    private final boolean verbose;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment inbound = arena.allocate(READ_BYTES, 64);
    private final StreamSplitter splitter = new StreamSplitter(inbound.asByteBuffer());
    private final SimplevpnDialer dialer;
    private final SimplevpnDialer.Client dialing;
    /** The connection packets go to, or null while there is none (packets are then dropped, no-peer). */
    private volatile ServerConnection current;
    private int address = ControlMessage.NONE;

    /**
     * @param server        the server, resolved; {@code host} is resolved again on each reconnection
     * @param staticAddress the address to ask for, or {@link ControlMessage#NONE} for a dynamic one
     * @param label         the prefix of every line written to {@code log}
     */
    public SimplevpnClient(PacketDevice device, String host, InetSocketAddress server, int staticAddress,
                           AddressListener listener, Wakeup wakeup, PrintStream log, String label,
                           boolean verbose, Counters counters) throws SysException {
        super(counters);
        this.device = device;
        this.listener = listener;
        this.log = log;
        this.label = label;
        this.verbose = verbose;
        this.dialer = new SimplevpnDialer(host, server, staticAddress, splitter, inbound, counters, log, label);
        this.dialing = new SimplevpnDialer.Client() {
            @Override
            public boolean stopping() {
                return SimplevpnClient.this.stopping();
            }

            @Override
            public void pause(long nanos) {
                SimplevpnClient.this.pause(nanos);
            }

            @Override
            public void deliver(int off, int len) {
                SimplevpnClient.this.deliver(off, len);
            }
        };
        loop("tun-to-server", this::outboundLoop);
        loop("server-to-tun", this::inboundLoop);
        loop("keepalive", this::keepaliveLoop);
        stopOn(wakeup);
    }

    /**
     * Connects and obtains an address, before {@link #start}, retrying with back-off as needed.
     *
     * @return the address, or {@link ControlMessage#NONE} if {@link #shutdown} was called first
     * @throws StaticAddressRefused if the static address asked for was refused
     */
    public int connect() {
        ServerConnection c = establish();
        current = c;
        return c == null ? ControlMessage.NONE : address;
    }

    /** The server as last resolved. */
    public InetSocketAddress server() {
        return dialer.server();
    }

    /** Ends the connection and any connection attempt. */
    @Override
    protected void closeAll() {
        ServerConnection c = current;
        if (c != null) {
            c.close("stopping");
        }
        dialer.abort();
    }

    /** A connection with an address, set on the interface; null when stopping. */
    private ServerConnection establish() {
        ServerConnection c = dialer.dial(dialing);
        if (c != null) {
            adopt(c.address);
        }
        return c;
    }

    /** A reply arrived: set the address on the interface if it changed. */
    private void adopt(int assigned) {
        if (assigned == address) {
            say("connected to " + SockAddr.format(dialer.server()) + ", address " + ControlMessage.format(assigned) + " again");
            return;
        }
        int previous = address;
        listener.assigned(previous, assigned);
        address = assigned;
        say("connected to " + SockAddr.format(dialer.server()) + ", address " + ControlMessage.format(assigned)
                + (previous == ControlMessage.NONE ? "" : " (was " + ControlMessage.format(previous) + ")"));
    }

    /** Server to interface: pumps the connection, and opens a new one whenever it ends. */
    private void inboundLoop() {
        try {
            pumpAndReconnect();
        } finally {
            dialer.close(); // only this loop dials once the loops run
        }
    }

    private void pumpAndReconnect() {
        while (!stopping()) {
            ServerConnection c = current;
            if (c == null) {
                c = establish();
                if (c == null) {
                    return;
                }
                current = c;
            }
            String why = pump(c);
            current = null;
            c.close(why);
            if (stopping()) {
                return;
            }
            long delay = dialer.nextDelay();
            say("connection to " + SockAddr.format(dialer.server()) + " lost (" + why + "); reconnecting in "
                    + delay / KeepaliveTimer.SECOND + " s");
            pause(delay);
        }
    }

    /** Reads one connection until it ends; returns why it ended. */
    private String pump(ServerConnection c) {
        StreamSplitter.Sink sink = new StreamSplitter.Sink() {
            @Override
            public void packet(ByteBuffer buf, int off, int len) {
                deliver(off, len);
            }

            @Override
            public void control(ByteBuffer buf, int off) {
                ControlMessage.Kind kind = ControlMessage.kind(buf, off);
                if (kind == ControlMessage.Kind.KEEPALIVE) {
                    if (verbose) {
                        log.println(label + "keepalive answered");
                    }
                } else if (kind != ControlMessage.Kind.ASSIGNMENT || ControlMessage.destination(buf, off) != address) {
                    // The second copy of our own assignment is expected; anything else is not.
                    counters.drop(Drop.BAD_MESSAGE);
                }
            }
        };
        try {
            while (true) {
                ByteBuffer in = splitter.inbound();
                int n;
                try {
                    n = c.socket.read(inbound, in.position(), in.remaining(), null);
                } catch (EOFException e) {
                    String reason = c.closeReason(); // closing it here shuts it down: that reads as an end too
                    return reason != null ? reason : "closed by the server";
                }
                c.timer.onReceived(System.nanoTime());
                if (!splitter.split(n, sink, counters)) {
                    return "the server sent something that is not an IP packet";
                }
            }
        } catch (IOException e) {
            String reason = c.closeReason();
            return reason != null ? reason : e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        }
    }

    /** A packet from the server, at {@code off} in the inbound buffer, to the interface. */
    private void deliver(int off, int len) {
        int r = device.write(inbound, off, len);
        if (r < 0) {
            counters.drop(Drop.DEVICE_ERROR);
        } else {
            counters.received(len);
        }
        if (verbose) {
            log.println(label + "server -> " + device.name() + " " + len + " bytes" + (r < 0 ? " refused" : ""));
        }
    }

    /** Interface to server: one write per packet. */
    private void outboundLoop() throws Exception {
        MemorySegment buf = arena.allocate(StreamSplitter.MAX_PACKET + 1, 64);
        ByteBuffer view = buf.asByteBuffer();
        while (true) {
            int n = device.read(buf);
            if (n < 0) {
                return;
            }
            Drop d = check(view, n);
            ServerConnection c = current;
            if (d == null && c == null) {
                d = Drop.NO_PEER;
            }
            if (d != null) {
                counters.drop(d);
                if (verbose) {
                    log.println(label + device.name() + " -> server dropped " + n + " bytes: " + d.label());
                }
                continue;
            }
            try {
                c.send(buf, n);
            } catch (IOException e) {
                counters.drop(Drop.SEND_ERROR);
                c.close("cannot send: " + e.getMessage()); // the inbound loop sees it and reconnects
                continue;
            }
            c.timer.onSent(System.nanoTime());
            counters.sent(n);
            if (verbose) {
                log.println(label + device.name() + " -> server " + n + " bytes");
            }
        }
    }

    /** Why a packet from the interface cannot go to the server, or null if it can. */
    private static Drop check(ByteBuffer packet, int n) {
        if (n == 0) {
            return Drop.EMPTY;
        }
        if (n > StreamSplitter.MAX_PACKET) {
            return Drop.OVERSIZE;
        }
        int length = IpPackets.length(packet, 0, n);
        if (length < 0) {
            return IpPackets.reason(length);
        }
        if (length != n) {
            return Drop.MALFORMED;
        }
        return IpPackets.version(packet, 0) == 4 ? null : Drop.NO_ROUTE;
    }

    /** Sends keepalives when due, and abandons a connection whose server has gone silent. */
    private void keepaliveLoop() throws InterruptedException {
        MemorySegment keepalive = arena.allocate(ControlMessage.SIZE);
        ControlMessage.encode(keepalive.asByteBuffer(), 0, ControlMessage.ALL_ONES, ControlMessage.ALL_ONES);
        while (!stopping()) {
            long wait = KeepaliveTimer.SECOND;
            ServerConnection c = current;
            if (c != null && c.closeReason() == null) {
                long now = System.nanoTime();
                if (c.timer.expired(now)) {
                    say("nothing from the server for " + KeepaliveTimer.EXPIRY / KeepaliveTimer.SECOND
                            + " s, not even keepalive answers");
                    c.close("the server went silent");
                } else if (c.timer.due(now) && !sendKeepalive(c, keepalive, now)) {
                    wait = BUSY_RETRY; // a packet is being written: that is traffic too; look again soon
                } else {
                    wait = Math.min(wait, c.timer.untilNextCheck(System.nanoTime()));
                }
            }
            awaitStop(Math.max(wait, 1_000_000));
        }
    }

    /** @return false if a packet was being written, so the keepalive was not sent */
    private boolean sendKeepalive(ServerConnection c, MemorySegment keepalive, long now) {
        try {
            if (!c.trySend(keepalive, ControlMessage.SIZE)) {
                return false;
            }
            c.timer.onKeepaliveSent(now);
            if (verbose) {
                log.println(label + "keepalive sent");
            }
        } catch (IOException e) {
            c.close("cannot send a keepalive: " + e.getMessage());
        }
        return true;
    }

    private void say(String line) {
        log.println(label + line);
    }
}
