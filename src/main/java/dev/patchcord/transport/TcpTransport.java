package dev.patchcord.transport;

import dev.patchcord.core.wg.Peer;
import dev.patchcord.sys.Linux;
import dev.patchcord.sys.SysException;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
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
 * whole message of it to the tunnel at once ({@link Host#inbound}), as the UDP loop hands over a
 * batch; a peer's endpoint then moves to whichever transport its last authenticated message came
 * over. Bytes that are not WireGuard framing ({@link TcpFrames}) are counted and close the
 * connection. The dialers are {@link TcpDialer}s, the readers {@link TcpConn}s.
 *
 * <p>As a {@link Transport} it stands in front of the tunnel's UDP socket: a message to a peer
 * with an open connection goes over it, anything else over UDP (in {@link Mode#TCP} nothing goes
 * to peers over UDP, though the socket still answers anyone who uses it). Batches are received
 * and sent by the UDP socket; connections hand in their messages on their own threads. A batch's
 * messages to a peer with a connection are queued on it together ({@code more}) and leave in one
 * write ({@link TcpLink}).
 *
 * <p>Accepted connections ({@link TcpAcceptor}) are admitted by a {@link TcpAdmission}: few and
 * short-lived until they carry an authenticated message, closed once their peer stops using them.
 * Refusals and closings are counted and reported on the verbose stream at most every 10 s.
 *
 * <p><b>Restarts.</b> The sockets are {@link StreamSocket}s on raw descriptors, so a successor
 * process can take them over: {@link #suspend()} stops accepting, dialling and reading (each
 * reader keeps the bytes of a frame it has only part of) and writes out what is queued;
 * {@link #adopt} in the successor carries on with the same connections, attached to the same
 * peers, so no handshake is needed and the far ends notice nothing. {@link #resume()} carries on
 * here instead if the successor failed. Nothing is shut down in between: a shutdown would end a
 * connection for both processes ({@link TcpHandover}; the threads are stopped and held by a
 * {@link TcpGate}). The threads that read block in system calls, so they are platform threads (a
 * virtual thread would hold its carrier).
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

        /** Whether the tunnel is shutting down for good (dialers end); not while it is only paused. */
        boolean closing();

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

    /** A dialer's peer key missing this long has left for good (not a set in progress). */
    static final long GONE_MILLIS = 5_000;

    final Host tunnel;
    /** The tunnel's UDP socket now (a new one after the listen port changes). */
    private final Supplier<? extends Transport> udp;
    final Mode mode;
    final int listenPort;
    private final PrintStream verbose;
    /** The open connections, registered before their reader can hold (see {@link TcpGate}). */
    final Set<TcpConn> conns = ConcurrentHashMap.newKeySet();
    final TcpAdmission admission = new TcpAdmission();
    /** Guards the suspension and registering connections, and stops the threads that read. */
    final TcpGate gate = new TcpGate();
    private final TcpHandover handover = new TcpHandover(this);
    private final AtomicInteger dialers = new AtomicInteger();
    private final List<Thread> threads = new ArrayList<>();
    /** The listening socket, or null for none; set before its acceptor runs. */
    volatile StreamSocket server;
    /** Accepts on {@link #server}, or null for none. */
    volatile TcpAcceptor acceptor;

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
        gate.open();
        if (listenPort != 0) {
            listen(StreamSocket.listen(null, listenPort));
        }
        startDialers(List.of());
    }

    /** Accepts connections on {@code listener} (under this object's lock). */
    void listen(StreamSocket listener) {
        server = listener;
        TcpAcceptor a = new TcpAcceptor(this, listener);
        acceptor = a;
        threads.addAll(List.of(a.start()));
    }

    /** A dialer for every peer with an endpoint, but those in {@code running} (keys that have one). */
    void startDialers(List<byte[]> running) {
        for (Peer p : tunnel.peers()) {
            byte[] key = p.publicKey();
            if (tunnel.endpoint(p).current() != null && running.stream().noneMatch(k -> Arrays.equals(k, key))) {
                startDialer(key, null);
            }
        }
    }

    /** Starts a dialer (under this object's lock); {@code adopted} is its connection from a predecessor, or null. */
    void startDialer(byte[] key, TcpConn adopted) {
        dialers.incrementAndGet();
        TcpDialer dialer = new TcpDialer(this, key, adopted);
        threads.add(platform("tcp-dial", () -> {
            try {
                dialer.run();
            } finally {
                dialers.decrementAndGet();
            }
        }));
    }

    /** Threads that block in system calls are platform threads: a virtual one would hold its carrier. */
    static Thread platform(String name, Runnable task) {
        return Thread.ofPlatform().daemon(true).name(name).start(task);
    }

    /** Sleeps; false if interrupted (the transport is ending). */
    static boolean sleep(long millis) {
        try {
            Thread.sleep(millis);
            return true;
        } catch (InterruptedException e) {
            return false;
        }
    }

    /** How many dialers run: one per peer that had an endpoint at the start and is still configured. */
    public int dialers() {
        return dialers.get();
    }

    /** The listener's admission counts (for tests and status). */
    TcpAdmission admission() {
        return admission;
    }

    /**
     * Stops for a hand-over: no more accepting or dialling; every reader stops after the read it is
     * handling (keeping the bytes past its last whole message); every writer writes out what is
     * queued (for a second at most) and stops; new messages are refused (counted as send
     * failures). Descriptors stay open and nothing is shut down.
     *
     * @return the listener and the open connections, for {@link #adopt} in the successor
     * @throws IllegalStateException if the transport is closed or suspended already, or a reader did
     *                               not stop in time (then it carries on as before)
     */
    public Suspended suspend() {
        return handover.suspend();
    }

    /** After a failed hand-over: carries on exactly as before {@link #suspend()}. */
    public void resume() {
        handover.resume(false);
    }

    /**
     * After a hand-over that failed once the successor had the connections: it may have read from
     * them or written part of a message, so their streams no longer frame where this process
     * expects; they are closed (the successor is gone by now, so the far end sees them end) and
     * made again by the dialers or the peers, and the listener goes on.
     */
    public void resumeWithoutConnections() {
        handover.resume(true);
    }

    /**
     * After a hand-over, in the process that handed over (or in a successor that must give up
     * before it ran): ends this transport's threads and closes its descriptors without shutting
     * anything down: the other process owns the connections and the listener.
     */
    public void abandon() {
        if (!gate.abandon()) {
            return;
        }
        gate.signal();
        conns.forEach(c -> c.link.abandon());
        StreamSocket s = server;
        if (s != null) {
            s.release();
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
        handover.adopt(s);
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

    /** Writes a line on the verbose stream, if there is one. */
    void log(String message) {
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
        if (!gate.close()) {
            return;
        }
        if (!gate.abandoned()) {
            StreamSocket s = server;
            if (s != null) {
                s.close();
            }
            conns.forEach(c -> c.link.close());
        }
        gate.signal();
        threads.forEach(Thread::interrupt);
        gate.closeIfIdle();
    }
}
