package dev.patchcord.transport;

import dev.patchcord.core.wg.Peer;
import dev.patchcord.sys.Linux;
import dev.patchcord.sys.SysException;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.Collection;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * WireGuard over TCP, for networks that block UDP: a listening socket on the interface's port
 * (a server), and per peer a dialer that keeps a connection to the peer's endpoint (a client),
 * reconnecting with backoff from 1 s to 30 s. A dialer either always uses TCP, or falls back to
 * it only after two handshakes over UDP went unanswered. Every connection has its own reader,
 * which reads as much as has arrived (up to {@link #CHUNK}, so 64 KiB or more) and hands every
 * whole message of it to the tunnel at once ({@link Host#inbound}), as the UDP loop hands over a batch; a peer's endpoint then moves
 * to whichever transport its last authenticated message came over. Bytes that are not WireGuard
 * framing ({@link TcpFrames}) are counted and close the connection.
 *
 * <p>As a {@link Transport} it stands in front of the tunnel's UDP socket: a message to a peer
 * with an open connection goes over it, anything else over UDP (in {@link Mode#TCP} nothing goes
 * to peers over UDP, though the socket still answers anyone who uses it). Batches are received
 * and sent by the UDP socket; connections hand in their messages on their own threads. A batch's
 * messages to a peer with a connection are queued on it together ({@code more}) and leave in one
 * write ({@link TcpLink}).
 *
 * <p>Accepted connections are admitted by a {@link TcpAdmission}: few and short-lived until they
 * carry an authenticated message, closed once their peer stops using them. Refusals and closings
 * are counted and reported on the verbose stream at most every {@link #REPORT_NANOS}.
 */
public final class TcpTransport implements Transport {
    /** Which transports an interface uses. */
    public enum Mode { UDP, TCP, UDP_THEN_TCP }

    /** What the transport needs of the tunnel it serves. */
    public interface Host {
        /** The peers, to dial those with an endpoint. */
        Collection<Peer> peers();

        /** The peer with this public key now, or null: a dialer follows its peer by key. */
        Peer peer(byte[] publicKey);

        PeerEndpoint endpoint(Peer peer);

        /** Whether the tunnel is stopping (dialers end). */
        boolean stopping();

        /** A reader's way into the tunnel, for one connection's thread. */
        Inbound inbound(Arena arena);
    }

    /** Hands the messages of one connection to the tunnel, a read's worth at a time. */
    public interface Inbound {
        /**
         * Handles the messages {@code frames} found in {@code chunk} (whose view is {@code view}), in
         * order. They may be decrypted where they lie; the bytes around them are not to be touched.
         */
        void handle(MemorySegment chunk, ByteBuffer view, TcpFrames frames, Origin from);

        /** The connection's bytes were not WireGuard framing (it is closed): counts the drop. */
        void malformed();
    }

    /**
     * Bytes a connection's reader holds: room for the rest of a partial frame of the longest kind
     * and another 64 KiB read after it, so every read is a large one.
     */
    static final int CHUNK = 2 * (TcpFrames.HEADER + TcpLink.MAX_MESSAGE);

    private static final long MAX_BACKOFF_MILLIS = 30_000;
    /** A connection open this long was a working one: when it ends, redial at once. */
    private static final long STEADY_MILLIS = 10_000;
    /** A dialer's peer key missing this long has left for good (not a set in progress). */
    static final long GONE_MILLIS = 5_000;
    private static final int CONNECT_TIMEOUT_MILLIS = 5_000;
    /** A flood of connections is reported, not each connection of it. */
    private static final long REPORT_NANOS = 10_000_000_000L;

    private final Host tunnel;
    /** The tunnel's UDP socket now (a new one after the listen port changes). */
    private final Supplier<? extends Transport> udp;
    private final Mode mode;
    private final int listenPort;
    private final PrintStream verbose;
    private final Set<TcpLink> links = ConcurrentHashMap.newKeySet();
    private final TcpAdmission admission = new TcpAdmission();
    private final AtomicInteger dialers = new AtomicInteger();
    private String reported = "";
    private long lastReport = Long.MIN_VALUE;
    private final List<Thread> threads = new ArrayList<>();
    private ServerSocketChannel server;
    private volatile boolean closed;

    /** @param listenPort the port to accept connections on, 0 for none (a client only) */
    public TcpTransport(Host tunnel, Supplier<? extends Transport> udp, Mode mode, int listenPort, PrintStream verbose) {
        this.tunnel = tunnel;
        this.udp = udp;
        this.mode = mode;
        this.listenPort = listenPort;
        this.verbose = verbose;
    }

    /** Starts listening (if a port is set) and a dialer for every peer with an endpoint. */
    public synchronized void start() throws IOException {
        if (listenPort != 0) {
            server = ServerSocketChannel.open(StandardProtocolFamily.INET6);
            server.setOption(java.net.StandardSocketOptions.SO_REUSEADDR, true);
            server.bind(new InetSocketAddress(listenPort));
            threads.add(Thread.ofVirtual().name("tcp-accept").start(this::acceptLoop));
            threads.add(Thread.ofVirtual().name("tcp-sweep").start(this::sweepLoop));
        }
        for (Peer p : tunnel.peers()) {
            if (tunnel.endpoint(p).current() != null) {
                byte[] key = p.publicKey();
                dialers.incrementAndGet();
                threads.add(Thread.ofVirtual().name("tcp-dial").start(() -> {
                    try {
                        dialLoop(key);
                    } finally {
                        dialers.decrementAndGet();
                    }
                }));
            }
        }
    }

    /** How many dialers run: one per peer that had an endpoint at the start and is still configured. */
    public int dialers() {
        return dialers.get();
    }

    private void acceptLoop() {
        while (!closed) {
            SocketChannel ch;
            try {
                ch = server.accept();
            } catch (IOException e) {
                if (!closed) {
                    log("accepting TCP: " + e.getMessage());
                    sleep(100); // out of file descriptors and the like: do not spin
                }
                continue;
            }
            TcpAdmission.Slot slot = null;
            try {
                slot = ch.getRemoteAddress() instanceof InetSocketAddress from
                        ? admission.admit(from.getAddress(), System.nanoTime(), ch) : null;
                if (slot == null) {
                    ch.close();
                    report();
                    continue;
                }
                TcpLink link = new TcpLink(ch);
                TcpAdmission.Slot admitted = slot;
                Thread.ofVirtual().name("tcp-read").start(() -> read(link, admitted));
            } catch (IOException e) {
                // Reset before it could be set up: nothing to keep.
                if (slot != null) {
                    admission.closed(slot);
                }
                try {
                    ch.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
        }
    }

    /** Closes connections that did not authenticate in time or went idle, once a second. */
    private void sweepLoop() {
        while (!closed && sleep(1_000)) {
            admission.sweep(System.nanoTime());
            report();
        }
    }

    /** Says what the admission refused or closed since the last report, at most every REPORT_NANOS. */
    private synchronized void report() {
        long now = System.nanoTime();
        if (lastReport != Long.MIN_VALUE && now - lastReport < REPORT_NANOS) {
            return;
        }
        String summary = admission.summary();
        if (!summary.equals(reported)) {
            reported = summary;
            lastReport = now;
            log("TCP connections refused or closed so far: " + summary + "; " + admission.open() + " open, "
                    + admission.unauthenticated() + " not yet authenticated");
        }
    }

    /** The listener's admission counts (for tests and status). */
    TcpAdmission admission() {
        return admission;
    }

    /** Whether this peer should be reached over TCP now. */
    private boolean wanted(Peer peer) {
        return switch (mode) {
            case TCP -> true;
            // Two initiations have gone unanswered once the third is out. Counted across attempts:
            // packets waiting to be sent start the attempt afresh, so its retry count may stay at 0.
            case UDP_THEN_TCP -> !peer.hasSession(System.nanoTime()) && peer.unansweredInitiations() >= 3;
            case UDP -> false;
        };
    }

    /**
     * Dials one peer, found by its key on every round: {@code wg setconf} removes every peer and
     * adds them again as new ones, and the dialer goes on for the new one, where its endpoint is
     * now. Only a key missing for {@link #GONE_MILLIS} ends the dialer: a set in progress, or a
     * peer removed and added again, leaves the key missing for a moment.
     */
    private void dialLoop(byte[] key) {
        long backoff = 1_000;
        long missingSince = Long.MIN_VALUE;
        while (!closed && !tunnel.stopping()) {
            Peer peer = tunnel.peer(key);
            if (peer == null) {
                long now = System.nanoTime();
                if (missingSince == Long.MIN_VALUE) {
                    missingSince = now;
                    log("peer " + shortKey(key) + ": not configured now; dialled again if it is back within "
                            + GONE_MILLIS / 1000 + " s");
                } else if (now - missingSince >= GONE_MILLIS * 1_000_000L) {
                    log("peer " + shortKey(key) + ": removed; no longer dialled over TCP");
                    return;
                }
                if (!sleep(GONE_MILLIS / 10)) {
                    return;
                }
                continue;
            }
            missingSince = Long.MIN_VALUE;
            try {
                if (!wanted(peer)) {
                    Thread.sleep(500);
                    continue;
                }
                PeerEndpoint endpoint = tunnel.endpoint(peer);
                InetSocketAddress target = endpoint.describe();
                if (target == null) {
                    throw new IOException("no endpoint");
                }
                SocketChannel ch = SocketChannel.open();
                try {
                    ch.socket().connect(target, CONNECT_TIMEOUT_MILLIS);
                } catch (IOException e) {
                    ch.close();
                    throw e;
                }
                TcpLink link = new TcpLink(ch);
                log("peer " + shortKey(peer) + ": connected over TCP to " + target);
                endpoint.observeTcp(link);
                peer.initiateNow(); // the handshake that UDP could not complete, at once
                long opened = System.nanoTime();
                read(link, null);
                long lasted = (System.nanoTime() - opened) / 1_000_000;
                if (lasted >= STEADY_MILLIS) {
                    // A connection that worked: the far end restarted or the path broke. Redial at once.
                    backoff = 1_000;
                    log("peer " + shortKey(peer) + ": TCP connection closed; reconnecting");
                    continue;
                }
                // Closed soon after it opened (the far end's admission refused it, or the peer does
                // not take us): wait as after a failed connect instead of hammering it.
                log("peer " + shortKey(peer) + ": TCP connection closed; reconnecting in " + backoff / 1000
                        + " s (it lasted " + lasted + " ms)");
                if (!sleep(backoff)) {
                    return;
                }
                backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
            } catch (IOException e) {
                log("peer " + shortKey(peer) + ": TCP connect failed (" + e.getMessage() + "); retry in "
                        + backoff / 1000 + " s");
                if (!sleep(backoff)) {
                    return;
                }
                backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private static boolean sleep(long millis) {
        try {
            Thread.sleep(millis);
            return true;
        } catch (InterruptedException e) {
            return false;
        }
    }

    /**
     * Reads messages from one connection until it closes.
     *
     * @param slot its admission, for an accepted connection; null for one this side dialed
     */
    private void read(TcpLink link, TcpAdmission.Slot slot) {
        links.add(link);
        byte[] source = link.describe().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        Origin origin = new Origin() {
            @Override
            public byte[] sourceBytes() {
                return source;
            }

            @Override
            public void reply(byte[] message) {
                link.send(message);
            }

            @Override
            public boolean observe(PeerEndpoint endpoint) {
                if (slot != null) {
                    admission.authenticated(slot, System.nanoTime());
                }
                return endpoint.observeTcp(link);
            }

            @Override
            public String describe() {
                return link.describe();
            }
        };
        try (Arena arena = Arena.ofConfined()) {
            Inbound inbound = tunnel.inbound(arena);
            MemorySegment chunk = arena.allocate(CHUNK, 64);
            ByteBuffer view = chunk.asByteBuffer();
            TcpFrames frames = new TcpFrames(TcpLink.MAX_MESSAGE);
            int filled = 0;
            while (!closed) {
                filled += link.readInto(view.limit(CHUNK), filled);
                int start = 0;
                while (true) {
                    int next = frames.scan(chunk, start, filled);
                    if (next == TcpFrames.BAD) {
                        inbound.malformed();
                        return;
                    }
                    if (frames.count() == 0) {
                        break;
                    }
                    inbound.handle(chunk, view, frames, origin);
                    start = next;
                }
                // What is left is part of a frame (under 64 KiB): to the front, to be completed.
                if (start > 0) {
                    MemorySegment.copy(chunk, start, chunk, 0, filled - start);
                    filled -= start;
                }
            }
        } catch (IOException e) {
            // The connection ended: the peer goes back to UDP, or its dialer reconnects.
        } finally {
            link.close();
            links.remove(link);
            if (slot != null) {
                admission.closed(slot);
            }
        }
    }

    private static String shortKey(Peer p) {
        return shortKey(p.publicKey());
    }

    private static String shortKey(byte[] key) {
        return Base64.getEncoder().encodeToString(key).substring(0, 8) + "…";
    }

    @Override
    public int receive(UdpBatch batch) throws SysException {
        return udp.get().receive(batch);
    }

    @Override
    public int send(UdpBatch batch, int count) {
        return udp.get().send(batch, count);
    }

    @Override
    public int send(MemorySegment buf, long off, int len, MemorySegment to) {
        return udp.get().send(buf, off, len, to);
    }

    @Override
    public int send(PeerEndpoint to, MemorySegment buf, long off, int len) {
        return send(to, buf, off, len, false);
    }

    @Override
    public int send(PeerEndpoint to, MemorySegment buf, long off, int len, boolean more) {
        TcpLink link = to.tcp();
        if (link != null) {
            return link.send(buf, off, len, more) ? 0 : -Linux.EIO;
        }
        return mode == Mode.TCP ? NO_ENDPOINT : udp.get().send(to, buf, off, len);
    }

    @Override
    public MemorySegment batchAddress(PeerEndpoint to) {
        return to.tcp() != null || mode == Mode.TCP ? null : to.current();
    }

    @Override
    public int port() {
        return udp.get().port();
    }

    private void log(String message) {
        if (verbose != null) {
            verbose.println(message);
        }
    }

    /** Closes the listener and every connection; the UDP socket is its owner's to close. */
    @Override
    public synchronized void close() {
        closed = true;
        try {
            if (server != null) {
                server.close();
            }
        } catch (IOException ignored) {
            // closing anyway
        }
        links.forEach(TcpLink::close);
        threads.forEach(Thread::interrupt);
    }
}
