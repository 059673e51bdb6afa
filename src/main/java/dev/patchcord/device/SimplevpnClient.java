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
import dev.patchcord.transport.StreamSocket;
import dev.patchcord.tun.PacketDevice;

import java.io.EOFException;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

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
 *
 * <p>For {@code patchcord restart} the loops can {@link #pause} (the interface and the connection
 * are read with a wake-up of their own, a child of the session's): each returns at its next wait,
 * the connection stays open, and the bytes of a packet read only in part stay in the splitter
 * ({@link #unread()}). A successor builds the client around the same connection
 * ({@link #adoptConnection}) and goes on where the stream was.
 */
public final class SimplevpnClient extends StoppableLoops implements Pausable {
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
    /** What the interface and the connection are read with beside their descriptors: fired to pause. */
    private final Wakeup packets;
    /** Set while the loops stop for a hand-over, so that returning is not stopping. */
    private volatile boolean pausing;
    /** Ends the keepalive loop's and the reconnection's waits, for a stop and for a pause; new per start. */
    private volatile CountDownLatch wake = new CountDownLatch(1);
    /** Whole packets from the server go to the interface; control messages are checked. */
    private final StreamSplitter.Sink sink = new StreamSplitter.Sink() {
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

    /**
     * @param server        the server, resolved; {@code host} is resolved again on each reconnection
     * @param staticAddress the address to ask for, or {@link ControlMessage#NONE} for a dynamic one
     * @param label         the prefix of every line written to {@code log}
     * @param wakeup        the session's: it ends the loops for good
     * @param packets       a {@link Wakeup#child() child} of {@code wakeup} that {@code device} was
     *                      opened with, and the connection is read with: it stops the loops alone
     */
    public SimplevpnClient(PacketDevice device, String host, InetSocketAddress server, int staticAddress,
                           AddressListener listener, Wakeup wakeup, Wakeup packets, PrintStream log, String label,
                           boolean verbose, Counters counters) throws SysException {
        super(counters);
        this.packets = packets;
        this.device = device;
        this.listener = listener;
        this.log = log;
        this.label = label;
        this.verbose = verbose;
        this.dialer = new SimplevpnDialer(host, server, staticAddress, splitter, inbound, counters, log, label);
        this.dialing = new SimplevpnDialer.Client() {
            @Override
            public boolean stopping() {
                return SimplevpnClient.this.stopping() || pausing;
            }

            @Override
            public void pause(long nanos) {
                nap(nanos);
            }

            @Override
            public void deliver(int off, int len) {
                SimplevpnClient.this.deliver(off, len);
            }
        };
        loop("tun-to-server", this::outboundLoop);
        loop("server-to-tun", this::inboundLoop);
        loop("keepalive", this::keepaliveLoop);
        // As StoppableLoops.stopOn, but on the child, which a pause fires too: then it just returns.
        loop("stop-watch", () -> {
            WakeupWatch.await(packets);
            if (!pausing) {
                shutdown();
            }
        });
    }

    /**
     * Takes over a connection that another process opened and got {@code assigned} on (a restart),
     * before {@link #start}: the address is on the interface already, and {@code unread}, the
     * start of a packet that process read, comes before anything read here.
     */
    public void adoptConnection(StreamSocket socket, int assigned, byte[] unread) {
        address = assigned;
        splitter.reset();
        splitter.feed(unread, 0, unread.length, sink, counters);
        current = new ServerConnection(socket, assigned, new KeepaliveTimer(System.nanoTime()));
    }

    /** The connection packets go over now, or null while there is none. */
    public StreamSocket connection() {
        ServerConnection c = current;
        return c == null || c.closeReason() != null ? null : c.socket;
    }

    /** The address the server assigned, or {@link ControlMessage#NONE}. */
    public int address() {
        return address;
    }

    /** The bytes read from the connection past the last whole packet; while paused. */
    public byte[] unread() {
        return splitter.pendingBytes();
    }

    @Override
    public boolean pause(long millis) throws InterruptedException {
        pausing = true;
        wake.countDown();
        packets.signal();
        return awaitStopped(millis, TimeUnit.MILLISECONDS);
    }

    /**
     * Starts the loops again after {@link #pause}; a loop that was still in a connection attempt
     * (the connection ended meanwhile) finishes it first, so that no loop ever runs twice.
     */
    @Override
    public void resume() {
        try {
            awaitStopped(KeepaliveTimer.REPLY_TIMEOUT / 1_000_000 + 15_000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        wake = new CountDownLatch(1);
        pausing = false;
        packets.clear();
        start();
    }

    /** Waits {@code nanos}, or less if the loops stop or pause. */
    private void nap(long nanos) {
        try {
            wake.await(nanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            shutdown();
        }
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
        wake.countDown();
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
            if (!pausing) {
                dialer.close(); // only this loop dials once the loops run
            }
        }
    }

    private void pumpAndReconnect() {
        while (!stopping() && !pausing) {
            ServerConnection c = current;
            if (c == null) {
                c = establish();
                if (c == null) {
                    return;
                }
                current = c;
            }
            String why = pump(c);
            if (why == null) {
                return; // paused or stopping: the connection stays as it is
            }
            current = null;
            c.close(why);
            if (stopping() || pausing) {
                return;
            }
            long delay = dialer.nextDelay();
            say("connection to " + SockAddr.format(dialer.server()) + " lost (" + why + "); reconnecting in "
                    + delay / KeepaliveTimer.SECOND + " s");
            nap(delay);
        }
    }

    /** Reads one connection until it ends; returns why it ended, or null if the wake-up fired. */
    private String pump(ServerConnection c) {
        try {
            while (true) {
                ByteBuffer in = splitter.inbound();
                int n;
                try {
                    n = c.socket.read(inbound, in.position(), in.remaining(), packets);
                } catch (EOFException e) {
                    String reason = c.closeReason(); // closing it here shuts it down: that reads as an end too
                    return reason != null ? reason : "closed by the server";
                }
                if (n == StreamSocket.STOPPED) {
                    return null; // between packets: a partial one stays in the splitter
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
        CountDownLatch woken = wake;
        while (!stopping() && !pausing) {
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
            woken.await(Math.max(wait, 1_000_000), TimeUnit.NANOSECONDS);
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
