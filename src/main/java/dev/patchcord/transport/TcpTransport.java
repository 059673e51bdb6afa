package dev.patchcord.transport;

import dev.patchcord.core.wg.Peer;
import dev.patchcord.sys.Linux;
import dev.patchcord.sys.Libc;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collection;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
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
 *
 * <p><b>Restarts.</b> The sockets are {@link StreamSocket}s on raw descriptors, so a successor
 * process can take them over: {@link #suspend()} stops accepting, dialling and reading (each
 * reader keeps the bytes of a frame it has only part of) and writes out what is queued;
 * {@link #adopt} in the successor carries on with the same connections, attached to the same
 * peers, so no handshake is needed and the far ends notice nothing. {@link #resume()} carries on
 * here instead if the successor failed. Nothing is shut down in between: a shutdown would end a
 * connection for both processes. The threads that read block in system calls, so they are
 * platform threads (a virtual thread would hold its carrier).
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
     * One connection as a successor takes it over.
     *
     * @param fd         its descriptor
     * @param peerKey    the peer it carries: the one dialled, or for an accepted connection the
     *                   one whose authenticated messages came over it; null while none did
     * @param unread     bytes read after the last whole message (part of a frame), to be taken first
     * @param remote     the far end, as this side names it
     * @param dialled    whether this side dialled it (its dialer redials when it ends), or accepted it
     * @param attached   whether the peer's messages go over it now (else over UDP or another connection)
     * @param unsent     bytes queued and not yet written (usually none; they may start inside a
     *                   frame), for the successor to write before anything else
     * @param ageNanos   how long ago it opened
     * @param quietNanos how long ago its last authenticated message came (accepted connections),
     *                   or {@link Long#MIN_VALUE} for never
     */
    public record LinkState(int fd, byte[] peerKey, byte[] unread, String remote, boolean dialled, boolean attached,
                            byte[] unsent, long ageNanos, long quietNanos) {}

    /**
     * Everything a suspended transport hands on.
     *
     * @param listenerFd the listening socket's descriptor, or -1 for none
     */
    public record Suspended(int listenerFd, List<LinkState> links) {}

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
    /** How long a suspension lets the writers write out what is queued; the rest is handed on. */
    private static final long FLUSH_NANOS = 1_000_000_000L;
    /** How long a suspension waits for the readers to stop (each finishes the read it is handling). */
    private static final long STOP_NANOS = 5_000_000_000L;

    private final Host tunnel;
    /** The tunnel's UDP socket now (a new one after the listen port changes). */
    private final Supplier<? extends Transport> udp;
    private final Mode mode;
    private final int listenPort;
    private final PrintStream verbose;
    private final Set<Conn> conns = ConcurrentHashMap.newKeySet();
    private final TcpAdmission admission = new TcpAdmission();
    private final AtomicInteger dialers = new AtomicInteger();
    private String reported = "";
    private long lastReport = Long.MIN_VALUE;
    private final List<Thread> threads = new ArrayList<>();
    private StreamSocket server;
    private Thread acceptor;
    /** Guards the suspension: {@link #paused}, what has stopped, and registering connections. */
    private final Object gate = new Object();
    /**
     * Fires to stop the readers and the acceptor (a suspension, or the end); a new one after each
     * {@link #resume()}. Closed by the last thread that may wait on it once the transport is closed.
     */
    private volatile Wakeup pause;
    /** Threads that may wait on {@link #pause}. */
    private final AtomicInteger pollers = new AtomicInteger();
    private final java.util.concurrent.atomic.AtomicBoolean pauseClosed = new java.util.concurrent.atomic.AtomicBoolean();
    private volatile boolean paused;
    private volatile boolean abandoned;
    /** The acceptor waits out the suspension (under {@link #gate}). */
    private boolean acceptorHeld;
    private volatile boolean closed;

    /** One connection and what its reader knows of it. */
    private static final class Conn {
        final TcpLink link;
        /** Its admission, for an accepted connection; null for one this side dialled. */
        final TcpAdmission.Slot slot;
        /** The key dialled, for a dialled connection. */
        final byte[] dialled;
        final long opened;
        /** The endpoint of the peer whose authenticated messages last came over it. */
        volatile PeerEndpoint attached;
        /** Bytes of a partial frame: handed in by a predecessor, or kept while suspended (under the gate). */
        byte[] unread;
        /** The reader waits out a suspension (under the gate). */
        boolean held;

        Conn(TcpLink link, TcpAdmission.Slot slot, byte[] dialled, long opened, byte[] unread) {
            this.link = link;
            this.slot = slot;
            this.dialled = dialled;
            this.opened = opened;
            this.unread = unread;
        }
    }

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
        pause = new Wakeup();
        if (listenPort != 0) {
            server = StreamSocket.listen(null, listenPort);
            startListening();
        }
        startDialers(List.of());
    }

    private void startListening() {
        acceptor = platform("tcp-accept", this::acceptLoop);
        threads.add(acceptor);
        threads.add(Thread.ofVirtual().name("tcp-sweep").start(this::sweepLoop));
    }

    /** A dialer for every peer with an endpoint, but those in {@code running} (keys that have one). */
    private void startDialers(List<byte[]> running) {
        for (Peer p : tunnel.peers()) {
            byte[] key = p.publicKey();
            if (tunnel.endpoint(p).current() != null && running.stream().noneMatch(k -> Arrays.equals(k, key))) {
                startDialer(key, null);
            }
        }
    }

    private void startDialer(byte[] key, Conn adopted) {
        dialers.incrementAndGet();
        threads.add(platform("tcp-dial", () -> {
            try {
                dialLoop(key, adopted);
            } finally {
                dialers.decrementAndGet();
            }
        }));
    }

    /** Threads that block in system calls are platform threads: a virtual one would hold its carrier. */
    private static Thread platform(String name, Runnable task) {
        return Thread.ofPlatform().daemon(true).name(name).start(task);
    }

    /** How many dialers run: one per peer that had an endpoint at the start and is still configured. */
    public int dialers() {
        return dialers.get();
    }

    private void acceptLoop() {
        pollers.incrementAndGet();
        try {
            while (!closed) {
                StreamSocket s;
                try {
                    s = server.accept(pause);
                } catch (IOException e) {
                    if (!closed) {
                        log("accepting TCP: " + e.getMessage());
                        sleep(100); // out of file descriptors and the like: do not spin
                    }
                    continue;
                }
                if (s == null) {
                    if (!holdAcceptor()) {
                        return;
                    }
                    continue;
                }
                admit(s);
            }
        } finally {
            synchronized (gate) {
                gate.notifyAll(); // a suspension waits for the acceptor no longer
            }
            leftPause();
        }
    }

    private void admit(StreamSocket s) {
        TcpAdmission.Slot slot = null;
        try {
            InetSocketAddress from = s.remote();
            slot = from != null ? admission.admit(from.getAddress(), System.nanoTime(), s::close) : null;
            if (slot == null) {
                s.close();
                report();
                return;
            }
            Conn c = new Conn(new TcpLink(s), slot, null, System.nanoTime(), null);
            conns.add(c); // before the acceptor can hold: a suspension sees it
            platform("tcp-read", () -> read(c));
        } catch (IOException e) {
            // Reset before it could be set up: nothing to keep.
            if (slot != null) {
                admission.closed(slot);
            }
            s.close();
        }
    }

    /** Waits out a suspension in the acceptor; false if it is to end. */
    private boolean holdAcceptor() {
        synchronized (gate) {
            acceptorHeld = true;
            gate.notifyAll();
            try {
                return awaitRunning();
            } finally {
                acceptorHeld = false;
            }
        }
    }

    /** Waits (under the gate) while suspended; false if the transport ended or was handed over. */
    private boolean awaitRunning() {
        synchronized (gate) {
            while (paused && !closed && !abandoned) {
                try {
                    gate.wait();
                } catch (InterruptedException e) {
                    return false;
                }
            }
            return !closed && !abandoned;
        }
    }

    /** Closes connections that did not authenticate in time or went idle, once a second. */
    private void sweepLoop() {
        while (!closed && !abandoned && sleep(1_000)) {
            synchronized (gate) {
                if (!paused) { // a suspended transport closes nothing: its connections may be handed on
                    admission.sweep(System.nanoTime());
                }
            }
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
     *
     * @param adopted a connection taken over from a predecessor, read before dialling; or null
     */
    private void dialLoop(byte[] key, Conn adopted) {
        long backoff = 1_000;
        long missingSince = Long.MIN_VALUE;
        Conn next = adopted;
        while (!closed && !tunnel.stopping()) {
            Conn conn = next;
            next = null;
            if (conn == null) {
                if (!awaitRunning()) {
                    return;
                }
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
                    conn = dial(key, peer);
                    if (conn == null) {
                        continue; // made while suspending, and closed unused
                    }
                } catch (IOException e) {
                    log("peer " + shortKey(key) + ": TCP connect failed (" + e.getMessage() + "); retry in "
                            + backoff / 1000 + " s");
                    if (!sleep(backoff)) {
                        return;
                    }
                    backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
                    continue;
                } catch (InterruptedException e) {
                    return;
                }
            }
            if (read(conn)) {
                return; // handed over: the successor's dialer carries on
            }
            long lasted = (System.nanoTime() - conn.opened) / 1_000_000;
            if (lasted >= STEADY_MILLIS) {
                // A connection that worked: the far end restarted or the path broke. Redial at once.
                backoff = 1_000;
                log("peer " + shortKey(key) + ": TCP connection closed; reconnecting");
                continue;
            }
            // Closed soon after it opened (the far end's admission refused it, or the peer does
            // not take us): wait as after a failed connect instead of hammering it.
            log("peer " + shortKey(key) + ": TCP connection closed; reconnecting in " + backoff / 1000
                    + " s (it lasted " + lasted + " ms)");
            if (!sleep(backoff)) {
                return;
            }
            backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
        }
    }

    /** Connects to the peer and attaches the connection to it; null if a suspension began meanwhile. */
    private Conn dial(byte[] key, Peer peer) throws IOException {
        PeerEndpoint endpoint = tunnel.endpoint(peer);
        InetSocketAddress target = endpoint.describe();
        if (target == null) {
            throw new IOException("no endpoint");
        }
        StreamSocket s = StreamSocket.connect(target, CONNECT_TIMEOUT_MILLIS);
        TcpLink link;
        try {
            link = new TcpLink(s);
        } catch (IOException e) {
            s.close();
            throw e;
        }
        Conn conn = new Conn(link, null, key, System.nanoTime(), null);
        synchronized (gate) {
            if (paused || closed) {
                // Nothing went over it yet: closing it costs the far end only a short-lived connection.
                link.close();
                return null;
            }
            conns.add(conn);
        }
        log("peer " + shortKey(key) + ": connected over TCP to " + target);
        conn.attached = endpoint;
        endpoint.observeTcp(link);
        peer.initiateNow(); // the handshake that UDP could not complete, at once
        return conn;
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
     * Reads messages from one connection until it closes or is handed over, starting with the
     * bytes a predecessor read of it ({@link Conn#unread}).
     *
     * @return true if it was handed over (it stays open, for the successor)
     */
    private boolean read(Conn c) {
        TcpLink link = c.link;
        TcpAdmission.Slot slot = c.slot;
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
                c.attached = endpoint;
                return endpoint.observeTcp(link);
            }

            @Override
            public String describe() {
                return link.describe();
            }
        };
        boolean handedOver = false;
        pollers.incrementAndGet();
        try (Arena arena = Arena.ofConfined()) {
            Inbound inbound = tunnel.inbound(arena);
            MemorySegment chunk = arena.allocate(CHUNK, 64);
            ByteBuffer view = chunk.asByteBuffer();
            TcpFrames frames = new TcpFrames(TcpLink.MAX_MESSAGE);
            int filled = 0;
            byte[] unread = c.unread;
            if (unread != null) {
                MemorySegment.copy(unread, 0, chunk, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, unread.length);
                filled = unread.length;
                c.unread = null;
            }
            while (!closed) {
                int start = 0;
                while (true) {
                    int next = frames.scan(chunk, start, filled);
                    if (next == TcpFrames.BAD) {
                        inbound.malformed();
                        return false;
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
                int n = link.readInto(chunk, filled, CHUNK, pause);
                if (n == StreamSocket.STOPPED) {
                    Held h = holdReader(c, chunk, filled);
                    if (h == Held.HANDED_OVER) {
                        handedOver = true;
                        return true;
                    }
                    if (h == Held.END) {
                        return false;
                    }
                    continue;
                }
                filled += n;
            }
        } catch (IOException e) {
            // The connection ended: the peer goes back to UDP, or its dialer reconnects.
        } finally {
            conns.remove(c);
            if (!handedOver) {
                link.close();
                if (slot != null) {
                    admission.closed(slot);
                }
            }
            synchronized (gate) {
                gate.notifyAll(); // a suspension waits for this reader no longer
            }
            leftPause();
        }
        return false;
    }

    private enum Held { RESUMED, HANDED_OVER, END }

    /**
     * Waits out a suspension in a reader, keeping the bytes of its partial frame where the
     * suspension can hand them on.
     */
    private Held holdReader(Conn c, MemorySegment chunk, int filled) {
        byte[] kept = new byte[filled];
        MemorySegment.copy(chunk, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, kept, 0, filled);
        synchronized (gate) {
            if (!paused) {
                return closed ? Held.END : Held.RESUMED; // the wake-up was close()'s
            }
            c.unread = kept;
            c.held = true;
            gate.notifyAll();
            boolean running = awaitRunning();
            c.held = false;
            c.unread = null;
            return running ? Held.RESUMED : abandoned ? Held.HANDED_OVER : Held.END;
        }
    }

    /** A thread that may wait on {@link #pause} ends: the last one after close() closes it. */
    private void leftPause() {
        if (pollers.decrementAndGet() == 0 && closed) {
            closePause();
        }
    }

    /**
     * Fires {@link #pause}, counted as one of its users so that it cannot be closed under the
     * write (its number could belong to another descriptor by then).
     */
    private void signalPause() {
        pollers.incrementAndGet();
        try {
            Wakeup w = pause;
            if (w != null && !pauseClosed.get()) {
                w.signal();
            }
        } finally {
            leftPause();
        }
    }

    private void closePause() {
        Wakeup w = pause;
        if (w != null && pauseClosed.compareAndSet(false, true)) {
            w.close();
        }
    }

    /**
     * Stops for a hand-over: no more accepting or dialling; every reader stops after the read it is
     * handling (keeping the bytes past its last whole message); every writer writes out what is
     * queued (for {@link #FLUSH_NANOS} at most) and stops; new messages are refused (counted as
     * send failures). Descriptors stay open and nothing is shut down.
     *
     * @return the listener and the open connections, for {@link #adopt} in the successor
     * @throws IllegalStateException if the transport is closed or suspended already, or a reader did
     *                               not stop in time (then it carries on as before)
     */
    public Suspended suspend() {
        synchronized (gate) {
            if (closed || abandoned || paused) {
                throw new IllegalStateException(paused ? "TCP transport already suspended" : "TCP transport closed");
            }
            paused = true;
        }
        try {
            signalPause();
            long end = System.nanoTime() + STOP_NANOS;
            synchronized (gate) {
                while (!stopped()) {
                    long left = (end - System.nanoTime()) / 1_000_000;
                    if (left <= 0) {
                        throw new IllegalStateException("TCP readers did not stop within " + STOP_NANOS / 1_000_000 + " ms");
                    }
                    gate.wait(left);
                }
            }
            return handOver();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            resume();
            throw new IllegalStateException("interrupted while suspending TCP", e);
        } catch (RuntimeException e) {
            resume();
            throw e;
        }
    }

    /** Whether the acceptor and every reader wait out the suspension (under the gate). */
    private boolean stopped() {
        if (acceptor != null && !acceptorHeld && acceptor.isAlive()) {
            return false;
        }
        for (Conn c : conns) {
            if (!c.held) {
                return false;
            }
        }
        return true;
    }

    /** With everything stopped: flushes the writers and describes each connection. */
    private Suspended handOver() {
        Map<PeerEndpoint, Peer> owners = new IdentityHashMap<>();
        for (Peer p : tunnel.peers()) {
            owners.put(tunnel.endpoint(p), p);
        }
        List<Conn> all = new ArrayList<>(conns);
        all.forEach(c -> c.link.refuse()); // all writers flush at once
        long deadline = System.nanoTime() + FLUSH_NANOS;
        List<LinkState> states = new ArrayList<>();
        for (Conn c : all) {
            byte[] unsent = c.link.suspend(deadline);
            if (unsent == null) {
                continue; // it broke meanwhile: nothing to hand on
            }
            long now = System.nanoTime();
            Peer peer = c.dialled != null ? tunnel.peer(c.dialled) : c.attached != null ? owners.get(c.attached) : null;
            PeerEndpoint at = peer != null ? tunnel.endpoint(peer) : null;
            byte[] key = c.dialled != null ? c.dialled.clone() : peer != null ? peer.publicKey().clone() : null;
            long last = c.slot != null ? c.slot.lastAuthenticated : Long.MIN_VALUE;
            byte[] unread;
            synchronized (gate) {
                unread = c.unread;
            }
            states.add(new LinkState(c.link.socket().fd(), key, unread, c.link.peerName(), c.dialled != null,
                    at != null && at.tcp() == c.link, unsent, now - c.opened,
                    last == Long.MIN_VALUE ? Long.MIN_VALUE : now - last));
        }
        return new Suspended(server != null ? server.fd() : -1, List.copyOf(states));
    }

    /** After a failed hand-over: carries on exactly as before {@link #suspend()}. */
    public void resume() {
        synchronized (gate) {
            if (!paused || abandoned || closed) {
                throw new IllegalStateException("TCP transport not suspended");
            }
        }
        conns.forEach(c -> c.link.resume());
        Wakeup fresh;
        try {
            fresh = new Wakeup();
        } catch (SysException e) {
            throw new UncheckedIOException(e);
        }
        Wakeup old;
        synchronized (gate) {
            old = pause;
            pause = fresh; // before anyone runs again: the old one stays signalled
            paused = false;
            gate.notifyAll();
        }
        if (old != null) {
            old.close(); // every thread that waited on it waits on the gate instead
        }
    }

    /**
     * After a hand-over, in the process that handed over (or in a successor that must give up
     * before it ran): ends this transport's threads and closes its descriptors without shutting
     * anything down: the other process owns the connections and the listener.
     */
    public void abandon() {
        synchronized (gate) {
            if (closed || abandoned) {
                return;
            }
            abandoned = true;
            paused = true;
            gate.notifyAll();
        }
        signalPause();
        conns.forEach(c -> c.link.abandon());
        if (server != null) {
            server.release();
        }
        threads.forEach(Thread::interrupt);
    }

    /**
     * Carries on, in a successor process, with what a predecessor's {@link #suspend()} handed
     * over (instead of {@link #start()}): listens on its listener, runs a link per connection
     * (its unread bytes first, its unsent bytes written first), attached to its peer as it was,
     * so no handshake is needed; dials the peers with an endpoint that have no dialled connection.
     * Takes ownership of every descriptor in {@code s}, even if it fails.
     */
    public synchronized void adopt(Suspended s) throws IOException {
        pause = new Wakeup();
        List<LinkState> oldestFirst = s.links().stream()
                .sorted(Comparator.comparingLong(LinkState::ageNanos).reversed()).toList();
        List<byte[]> dialled = new ArrayList<>();
        int i = 0;
        try {
            for (; i < oldestFirst.size(); i++) {
                adoptLink(oldestFirst.get(i), dialled);
            }
            if (s.listenerFd() >= 0) {
                server = StreamSocket.adopt(s.listenerFd());
                startListening();
            } else if (listenPort != 0) {
                server = StreamSocket.listen(null, listenPort);
                startListening();
            }
        } catch (IOException | RuntimeException e) {
            // Never shut down what the predecessor may carry on with.
            for (int j = i + 1; j < oldestFirst.size(); j++) {
                Libc.close(oldestFirst.get(j).fd());
            }
            if (server == null && s.listenerFd() >= 0) {
                Libc.close(s.listenerFd());
            }
            abandon();
            throw e;
        }
        startDialers(dialled);
    }

    private void adoptLink(LinkState ls, List<byte[]> dialled) throws IOException {
        if (ls.unread() != null && ls.unread().length > TcpFrames.HEADER + TcpLink.MAX_MESSAGE) {
            Libc.close(ls.fd());
            throw new IllegalArgumentException(ls.unread().length + " unread bytes: more than a frame");
        }
        if (ls.dialled() && ls.peerKey() == null) {
            Libc.close(ls.fd());
            throw new IllegalArgumentException("a dialled connection without its peer's key");
        }
        StreamSocket sock = StreamSocket.adopt(ls.fd());
        TcpLink link;
        try {
            link = new TcpLink(sock, ls.remote(), ls.unsent());
        } catch (IOException | RuntimeException e) {
            sock.release();
            throw e;
        }
        long now = System.nanoTime();
        long opened = now - ls.ageNanos();
        Peer peer = ls.peerKey() != null ? tunnel.peer(ls.peerKey()) : null;
        PeerEndpoint at = peer != null ? tunnel.endpoint(peer) : null;
        Conn c;
        if (ls.dialled()) {
            c = new Conn(link, null, ls.peerKey().clone(), opened, ls.unread());
        } else {
            InetSocketAddress from = sock.remote();
            long last = ls.quietNanos() == Long.MIN_VALUE ? Long.MIN_VALUE : now - ls.quietNanos();
            c = new Conn(link, admission.adopt(from != null ? from.getAddress() : null, opened, last, sock::close),
                    null, opened, ls.unread());
        }
        c.attached = at;
        if (at != null && ls.attached()) {
            at.observeTcp(link);
        }
        conns.add(c);
        if (ls.dialled()) {
            dialled.add(c.dialled);
            startDialer(c.dialled, c);
        } else {
            platform("tcp-read", () -> read(c));
        }
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

    /**
     * Closes the listener and every connection (shutting them down); the UDP socket is its owner's
     * to close. Does nothing after {@link #abandon()}.
     */
    @Override
    public synchronized void close() {
        synchronized (gate) {
            if (closed) {
                return;
            }
            closed = true;
            gate.notifyAll();
        }
        if (!abandoned) {
            if (server != null) {
                server.close();
            }
            conns.forEach(c -> c.link.close());
        }
        signalPause();
        threads.forEach(Thread::interrupt);
        if (pollers.get() == 0) {
            closePause();
        }
    }
}
