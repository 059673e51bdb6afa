package dev.patchcord.device;

import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;
import dev.patchcord.core.IpPackets;
import dev.patchcord.core.simplevpn.AddressPool;
import dev.patchcord.core.simplevpn.ControlMessage;
import dev.patchcord.core.simplevpn.StreamSplitter;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.SockAddr;
import dev.patchcord.transport.StreamSocket;

import java.io.EOFException;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The simplevpn server: a hub with no interface of its own. Clients connect over TCP, ask for a
 * tunnel address (see {@link AddressPool}), and every IPv4 packet one of them sends is passed to
 * the client that holds its destination address.
 *
 * <p>Threads: one platform thread accepts; each client gets a thread that reads and routes and a
 * thread that writes its send queue ({@link HubClient}), platform threads since they wait in
 * {@code poll} on the client's socket (a virtual thread would hold its carrier there); one thread drops clients
 * that have been silent for 60 s, or that asked for no address within 10 s. Connections are
 * limited in all and per source address ({@link #MAX_CLIENTS}, {@link #MAX_CLIENTS_PER_ADDRESS});
 * one beyond either is closed at once and counted.
 *
 * <p>Where patchcord differs from the original, on purpose:
 * <ul>
 *   <li>A client's address comes from its request only, and a data packet whose source is not
 *       that address is dropped ({@code not-allowed}). The original re-mapped a connection to
 *       whatever source address its data carried, so any client could take over another's
 *       traffic (and could make the original corrupt its heap).</li>
 *   <li>Data before a request, IPv6, and destinations nobody holds are dropped and counted
 *       ({@code not-allowed}, {@code no-route}) instead of being routed on garbage bytes.</li>
 *   <li>The stream is parsed packet by packet ({@link StreamSplitter}), not one read = one packet.</li>
 * </ul>
 *
 * <p>For {@code patchcord restart} every thread can {@link #pause}: the listener and the clients'
 * sockets are read with a wake-up of their own (a child of the session's), writers return between
 * packets, and each client keeps the bytes its reader had read in part and those still queued for
 * it ({@link #handover()}). A successor builds the hub around the same sockets
 * ({@link #adoptClient}) and goes on where each stream was.
 */
public final class SimplevpnHub extends StoppableLoops implements Pausable {
    /** The reader's buffer: one largest packet plus room to read ahead. */
    private static final int READ_BYTES = StreamSplitter.MAX_PACKET + 16 * 1024;
    /**
     * Connections at once. Each costs about 210 KiB of buffers (its send queue and its reader's
     * buffer) and two platform threads, so this bounds the hub to some 215 MiB of buffers and 2,048
     * threads (their stacks are mostly reserved, not used) whoever connects; it is far
     * more clients than a hub without encryption or authentication should serve.
     */
    static final int MAX_CLIENTS = 1024;
    /**
     * Connections from one address at once: the protocol has no authentication, so this is what
     * stops one host from taking the whole address pool or every connection; a NAT with dozens of
     * clients behind it still fits.
     */
    static final int MAX_CLIENTS_PER_ADDRESS = 64;
    /** A client asks for its address as soon as it connects; one that has not within this is closed. */
    static final long REQUEST_WITHIN_NANOS = 10_000_000_000L;
    /** A flood of connections is reported, not each connection of it. */
    private static final long REPORT_NANOS = 10_000_000_000L;

    private final StreamSocket server;
    private final PrintStream log;
    private final boolean verbose;
    private final String label;
    /** The free addresses; its lock also guards every change to {@link #routes} and {@code address}. */
    private final AddressPool pool = new AddressPool();
    /** Who holds each address of 10.0.0.0/16, by its low 16 bits: lock-free lookup, no boxing per packet. */
    private final AtomicReferenceArray<HubClient> routes = new AtomicReferenceArray<>(1 << 16);
    /** The clients, with where from and when each connected. */
    private final Map<HubClient, Admitted> clients = new ConcurrentHashMap<>();
    /** Clients per remote address; guarded by itself. */
    private final Map<InetAddress, Integer> perAddress = new HashMap<>();
    private final int maxClients;
    private final int maxClientsPerAddress;
    private final long requestWithinNanos;
    private final AtomicLong refusedConnections = new AtomicLong();
    private final AtomicLong unrequested = new AtomicLong();
    private long lastReport = Long.MIN_VALUE;
    private long reportedRefusals;
    /** What the listener and the clients' readers wait on beside their sockets: fired to pause; or null. */
    private final Wakeup packets;
    /** Set while the threads stop for a hand-over, so that returning is not stopping. */
    private volatile boolean pausing;
    /** Ends the idle loop's wait, for a stop and for a pause; new per start. */
    private volatile CountDownLatch wake = new CountDownLatch(1);
    /** The clients' readers and writers running now; guarded by itself. */
    private final int[] clientThreads = new int[1];

    /**
     * @param server  a listening socket; closing the hub closes it
     * @param log     where connection events go (and, with {@code verbose}, one line per packet)
     * @param label   the prefix of every line, e.g. {@code "patchcord: simplevpn: "}
     */
    public SimplevpnHub(StreamSocket server, Wakeup wakeup, PrintStream log, String label, boolean verbose) {
        this(server, wakeup, null, log, label, verbose, MAX_CLIENTS, MAX_CLIENTS_PER_ADDRESS, REQUEST_WITHIN_NANOS);
    }

    /**
     * A hub that can {@link #pause}.
     *
     * @param packets a {@link Wakeup#child() child} of {@code wakeup}: it stops the threads alone
     */
    public SimplevpnHub(StreamSocket server, Wakeup wakeup, Wakeup packets, PrintStream log, String label, boolean verbose) {
        this(server, wakeup, packets, log, label, verbose, MAX_CLIENTS, MAX_CLIENTS_PER_ADDRESS, REQUEST_WITHIN_NANOS);
    }

    SimplevpnHub(StreamSocket server, Wakeup wakeup, PrintStream log, String label, boolean verbose,
            int maxClients, int maxClientsPerAddress, long requestWithinNanos) {
        this(server, wakeup, null, log, label, verbose, maxClients, maxClientsPerAddress, requestWithinNanos);
    }

    /** With other limits, so that a test can drive past them without 1,024 connections or waiting 10 s. */
    private SimplevpnHub(StreamSocket server, Wakeup wakeup, Wakeup packets, PrintStream log, String label, boolean verbose,
            int maxClients, int maxClientsPerAddress, long requestWithinNanos) {
        super(new Counters());
        this.packets = packets;
        this.maxClients = maxClients;
        this.maxClientsPerAddress = maxClientsPerAddress;
        this.requestWithinNanos = requestWithinNanos;
        this.server = server;
        this.log = log;
        this.label = label;
        this.verbose = verbose;
        loop("accept", this::acceptLoop);
        loop("idle-clients", this::idleLoop);
        // Starts the readers and writers of the clients that have none: adopted ones, and all after a resume.
        loop("client-threads", this::startClientThreads);
        if (packets == null) {
            stopOn(wakeup);
        } else {
            // As stopOn, but on the child, which a pause fires too: then it just returns.
            loop("stop-watch", () -> {
                WakeupWatch.await(packets);
                if (!pausing) {
                    shutdown();
                }
            });
        }
    }

    /** One client's state for a hand-over, in the order of {@link #handover()}'s sockets. */
    public record ClientState(StreamSocket socket, String peer, int address, byte[] unread, byte[] unsent, long ageNanos) {}

    /**
     * Takes over a client connection that another process accepted (a restart), before
     * {@link #start}: its address is claimed in the pool and routed to it, {@code unread} comes
     * before anything read here and {@code unsent} goes out before anything queued here.
     *
     * @param address its address, or {@link ControlMessage#NONE} if it had asked for none yet
     * @throws IOException if the address is not free in this hub's pool
     */
    public void adoptClient(StreamSocket socket, String peer, int address, byte[] unread, byte[] unsent) throws IOException {
        long now = System.nanoTime();
        HubClient c = new HubClient(socket, peer, now, unread, unsent);
        synchronized (pool) {
            if (address != ControlMessage.NONE) {
                if (pool.claim(address) != AddressPool.Claim.GRANTED) {
                    throw new IOException("the hand-over names " + ControlMessage.format(address) + " twice or outside the pool");
                }
                c.address = address;
                routes.set(address & 0xFFFF, c);
            }
        }
        InetSocketAddress remote = socket.remote();
        InetAddress from = remote == null ? InetAddress.getLoopbackAddress() : remote.getAddress();
        synchronized (perAddress) {
            perAddress.merge(from, 1, Integer::sum);
        }
        clients.put(c, new Admitted(from, now));
    }

    /** While paused: every client still connected, with what its reader and writer left. */
    public List<ClientState> handover() {
        long now = System.nanoTime();
        List<ClientState> out = new ArrayList<>();
        for (Map.Entry<HubClient, Admitted> e : clients.entrySet()) {
            HubClient c = e.getKey();
            if (c.closed()) {
                continue;
            }
            out.add(new ClientState(c.socket, c.peer, c.address, c.unread == null ? new byte[0] : c.unread.clone(),
                    c.drainForHandover(), now - e.getValue().connected()));
        }
        return out;
    }

    /** The listening socket. */
    public StreamSocket listener() {
        return server;
    }

    @Override
    public boolean pause(long millis) throws InterruptedException {
        if (packets == null) {
            throw new IllegalStateException("this hub was made without a wake-up of its own to pause on");
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        pausing = true;
        wake.countDown();
        packets.signal();
        for (HubClient c : clients.keySet()) {
            c.pauseWriter();
        }
        if (!awaitStopped(millis, TimeUnit.MILLISECONDS)) {
            closeStalledWriters();
            return false;
        }
        synchronized (clientThreads) {
            while (clientThreads[0] > 0) {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0) {
                    closeStalledWriters();
                    return false;
                }
                clientThreads.wait(left);
            }
        }
        return true;
    }

    /**
     * A writer still running after the pause's time is stuck in a write to a client that does not
     * read: that client is closed (its write fails at once), so that the hand-over fails cleanly
     * and {@link #resume} does not wait for it, with every other client's traffic standing still.
     */
    private void closeStalledWriters() {
        for (HubClient c : clients.keySet()) {
            if (c.writing) {
                c.close("it took none of its packets while the server restarted");
            }
        }
    }

    /** Starts every thread again after {@link #pause}, once the last of them has returned. */
    @Override
    public void resume() {
        try {
            awaitStopped(30, TimeUnit.SECONDS);
            synchronized (clientThreads) {
                while (clientThreads[0] > 0) {
                    clientThreads.wait(1_000);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        wake = new CountDownLatch(1);
        pausing = false;
        for (HubClient c : clients.keySet()) {
            if (c.closed()) {
                remove(c); // its writer failed while paused: its reader, which would have, did not run
            } else {
                c.resumeWriter();
            }
        }
        packets.clear();
        start();
    }

    private void startClientThreads() {
        for (HubClient c : clients.keySet()) {
            if (!c.closed()) {
                startThreads(c);
            }
        }
    }

    /** A client's reader and writer, unless they run already. */
    private void startThreads(HubClient c) {
        if (!c.claimThreads()) {
            return;
        }
        synchronized (clientThreads) {
            clientThreads[0] += 2;
        }
        // Platform threads: they wait in poll, a system call, which would hold a virtual thread's carrier.
        Thread.ofPlatform().daemon(true).name("hub-read " + c.peer).start(() -> counted(() -> serve(c)));
        Thread.ofPlatform().daemon(true).name("hub-write " + c.peer).start(() -> counted(() -> c.writeLoop(this::sent)));
        if (pausing) {
            // Accepted while a pause began: pause() may have looked at the clients before this one.
            c.pauseWriter();
        }
    }

    private void counted(Runnable r) {
        try {
            r.run();
        } finally {
            synchronized (clientThreads) {
                clientThreads[0]--;
                clientThreads.notifyAll();
            }
        }
    }

    /** Connections closed at once because of {@link #MAX_CLIENTS} or {@link #MAX_CLIENTS_PER_ADDRESS}. */
    public long refusedConnections() {
        return refusedConnections.get();
    }

    /** Connections closed because they asked for no address within {@link #REQUEST_WITHIN_NANOS}. */
    public long unrequestedConnections() {
        return unrequested.get();
    }

    /** Closes the listening socket and every client. */
    @Override
    protected void closeAll() {
        wake.countDown();
        server.close(); // wakes the accepting thread
        for (HubClient c : clients.keySet()) {
            c.close("stopping");
        }
    }

    private void acceptLoop() throws IOException {
        while (!stopping()) {
            StreamSocket socket;
            try {
                socket = server.accept(packets);
            } catch (IOException e) {
                // Out of file descriptors and the like: say so, and do not spin.
                say("cannot accept a connection: " + e.getMessage());
                sleepQuietly(100);
                continue;
            }
            if (socket == null) {
                return; // paused, or the listener was closed: stopping (an unexpected close is reported by stopping() being false)
            }
            String peer;
            InetAddress from;
            try {
                socket.setNoDelay(true);
            } catch (IOException e) {
                socket.close();
                continue;
            }
            InetSocketAddress remote = socket.remote();
            if (remote == null) {
                socket.close(); // gone already
                continue;
            }
            peer = SockAddr.format(remote);
            from = remote.getAddress();
            if (!admit(from)) {
                // Refused before anything is allocated for it; counted, and said at most every 10 s.
                refusedConnections.incrementAndGet();
                socket.close();
                reportRefusals();
                continue;
            }
            long now = System.nanoTime();
            HubClient c = new HubClient(socket, peer, now);
            clients.put(c, new Admitted(from, now));
            if (stopping()) {
                c.close("stopping");
            }
            say("client " + peer + " connected");
            startThreads(c);
        }
    }

    /** The reader of one client: splits its stream and acts on every packet and control message. */
    private void serve(HubClient c) {
        ByteBuffer storage = ByteBuffer.allocateDirect(READ_BYTES);
        MemorySegment memory = MemorySegment.ofBuffer(storage); // the whole buffer: made before the splitter moves its position
        StreamSplitter splitter = new StreamSplitter(storage);
        ByteBuffer reply = ByteBuffer.allocate(ControlMessage.SIZE);
        StreamSplitter.Sink sink = new StreamSplitter.Sink() {
            @Override
            public void packet(ByteBuffer buf, int off, int len) {
                route(c, buf, off, len);
            }

            @Override
            public void control(ByteBuffer buf, int off) {
                handleControl(c, buf, off, reply);
            }
        };
        boolean paused = false;
        try {
            byte[] earlier = c.unread;
            c.unread = null;
            if (earlier != null && !splitter.feed(earlier, 0, earlier.length, sink, counters)) {
                c.close("it sent something that is not an IP packet, and the stream cannot be followed after that");
            }
            while (!c.closed()) {
                ByteBuffer in = splitter.inbound();
                int n;
                try {
                    n = c.socket.read(memory, in.position(), in.remaining(), packets);
                } catch (EOFException e) {
                    c.close("closed by the client"); // or by the hub: then its own reason came first
                    break;
                }
                if (n == StreamSocket.STOPPED) {
                    if (pausing) {
                        // Between items: a partial one is kept for the next reader, here or in a successor.
                        c.unread = splitter.pendingBytes();
                        paused = true;
                        return;
                    }
                    c.close("stopping");
                    break;
                }
                c.timer.onReceived(System.nanoTime());
                if (!splitter.split(n, sink, counters)) {
                    c.close("it sent something that is not an IP packet, and the stream cannot be followed after that");
                    break;
                }
            }
        } catch (IOException e) {
            c.close(stopping() ? "stopping" : e.getMessage());
        } catch (RuntimeException e) {
            c.close("internal error: " + e);
        } finally {
            if (!paused) {
                remove(c);
            }
        }
    }

    private void route(HubClient from, ByteBuffer buf, int off, int len) {
        if (from.closed()) {
            return;
        }
        if (IpPackets.version(buf, off) != 4) {
            drop(from, len, Drop.NO_ROUTE, "IPv6 is not routed");
            return;
        }
        int src = ControlMessage.source(buf, off);
        int dst = ControlMessage.destination(buf, off);
        int own = from.address;
        if (own == ControlMessage.NONE || src != own) {
            drop(from, len, Drop.NOT_ALLOWED, own == ControlMessage.NONE ? "data before an address request"
                    : "source " + ControlMessage.format(src) + " is not its address");
            return;
        }
        HubClient to = (dst & 0xFFFF0000) == AddressPool.BASE ? routes.get(dst & 0xFFFF) : null;
        if (to == null) {
            drop(from, len, Drop.NO_ROUTE, "nobody holds " + ControlMessage.format(dst));
            return;
        }
        counters.received(len);
        if (!to.enqueue(buf, off, len)) {
            counters.drop(Drop.QUEUE_FULL);
            if (verbose) {
                log.println(label + from.describe() + " -> " + to.describe() + " dropped " + len + " bytes: "
                        + Drop.QUEUE_FULL.label());
            }
            return;
        }
        if (verbose) {
            log.println(label + from.describe() + " -> " + to.describe() + " " + len + " bytes");
        }
    }

    private void handleControl(HubClient c, ByteBuffer buf, int off, ByteBuffer reply) {
        if (c.closed()) {
            return;
        }
        switch (ControlMessage.kind(buf, off)) {
            case KEEPALIVE -> {
                // Echoed byte for byte, whatever bytes 0-11 hold: the original does, and its clients
                // only look at the addresses.
                if (!c.enqueue(buf, off, ControlMessage.SIZE)) {
                    counters.drop(Drop.QUEUE_FULL);
                }
                if (verbose) {
                    log.println(label + c.describe() + ": keepalive echoed");
                }
            }
            case DYNAMIC_REQUEST -> assign(c, ControlMessage.NONE, reply);
            case STATIC_REQUEST -> assign(c, ControlMessage.source(buf, off), reply);
            case ASSIGNMENT, UNKNOWN -> drop(c, ControlMessage.SIZE, Drop.BAD_MESSAGE, "control message "
                    + ControlMessage.format(ControlMessage.source(buf, off)) + " -> "
                    + ControlMessage.format(ControlMessage.destination(buf, off)) + " means nothing to a server");
        }
    }

    /** A request: {@code wanted} is the static address asked for, or NONE for any. */
    private void assign(HubClient c, int wanted, ByteBuffer reply) {
        int granted;
        String refusal = null;
        synchronized (pool) {
            int held = c.address;
            if (held != ControlMessage.NONE) {
                // A second request on one connection: the same answer again, or a refusal if it now
                // wants another address (a connection holds one address for its life).
                granted = wanted == ControlMessage.NONE || wanted == held ? held : ControlMessage.NONE;
                if (granted == ControlMessage.NONE) {
                    refusal = "it holds " + ControlMessage.format(held) + " already";
                }
            } else if (wanted == ControlMessage.NONE) {
                granted = pool.take();
                if (granted == ControlMessage.NONE) {
                    refusal = "the address pool is exhausted";
                }
            } else {
                AddressPool.Claim claim = pool.claim(wanted);
                granted = claim == AddressPool.Claim.GRANTED ? wanted : ControlMessage.NONE;
                if (claim == AddressPool.Claim.IN_USE) {
                    refusal = "it is in use";
                } else if (claim == AddressPool.Claim.NOT_IN_POOL) {
                    refusal = "it is not in the pool";
                }
            }
            if (granted != ControlMessage.NONE && held == ControlMessage.NONE) {
                c.address = granted;
                routes.set(granted & 0xFFFF, c);
            }
        }
        String what = wanted == ControlMessage.NONE ? "an address" : "static address " + ControlMessage.format(wanted);
        if (refusal != null) {
            // The protocol has no refusal message: the original closes the connection, and real
            // clients take exactly that as "refused", so patchcord does the same (and says why here).
            say("client " + c.describe() + " asked for " + what + ", refused: " + refusal);
            c.close("refused");
            return;
        }
        say("client " + c.peer + " asked for " + what + ", assigned " + ControlMessage.format(granted));
        ControlMessage.encode(reply, 0, ControlMessage.NONE, granted);
        // Twice, as the original sends it: it answers and then also routes the answer (whose
        // destination is now that client's address) to the client. Real clients read up to 100
        // bytes once and use bytes 16-19, so they take 20 or 40 bytes alike; a copy that arrives on
        // its own reaches their interface, where the kernel drops it (total length 0). Sending the
        // same 40 bytes keeps a capture identical to the original's.
        for (int i = 0; i < 2; i++) {
            if (!c.enqueue(reply, 0, ControlMessage.SIZE)) {
                counters.drop(Drop.QUEUE_FULL);
            }
        }
    }

    /** Takes a connection slot for {@code from}, if both limits allow. */
    private boolean admit(InetAddress from) {
        synchronized (perAddress) {
            int mine = perAddress.getOrDefault(from, 0);
            if (clients.size() >= maxClients || mine >= maxClientsPerAddress) {
                return false;
            }
            perAddress.put(from, mine + 1);
            return true;
        }
    }

    private record Admitted(InetAddress from, long connected) {}

    /** Gives back the connection slot of a client that is gone. */
    private void release(Admitted a) {
        synchronized (perAddress) {
            perAddress.computeIfPresent(a.from(), (k, n) -> n == 1 ? null : n - 1);
        }
    }

    private void reportRefusals() {
        long now = System.nanoTime();
        synchronized (perAddress) {
            long refused = refusedConnections.get();
            if (refused == reportedRefusals || lastReport != Long.MIN_VALUE && now - lastReport < REPORT_NANOS) {
                return;
            }
            lastReport = now;
            reportedRefusals = refused;
        }
        say("refusing connections: " + clients.size() + " clients connected (at most " + maxClients + ", "
                + maxClientsPerAddress + " from one address); " + refusedConnections.get() + " refused so far");
    }

    /** The reader ended: free the address and forget the client. */
    private void remove(HubClient c) {
        int freed;
        synchronized (pool) {
            freed = c.address;
            if (freed != ControlMessage.NONE) {
                routes.compareAndSet(freed & 0xFFFF, c, null);
                pool.release(freed);
            }
        }
        Admitted admitted = clients.remove(c);
        if (admitted != null) {
            release(admitted);
        }
        if (!stopping()) {
            say("client " + c.describe() + " disconnected: " + c.closeReason()
                    + (freed == ControlMessage.NONE ? "" : "; " + ControlMessage.format(freed) + " is free again"));
        }
    }

    /** Drops clients that have sent nothing for 60 s, or asked for no address in time, checking once a second. */
    private void idleLoop() throws InterruptedException {
        CountDownLatch woken = wake;
        while (!woken.await(1, TimeUnit.SECONDS) && !stopping() && !pausing) {
            long now = System.nanoTime();
            for (Map.Entry<HubClient, Admitted> e : clients.entrySet()) {
                HubClient c = e.getKey();
                if (c.closed()) {
                    continue;
                }
                if (c.timer.expired(now)) {
                    c.close("nothing received from it for 60 s");
                } else if (c.address == ControlMessage.NONE && now - e.getValue().connected() >= requestWithinNanos) {
                    unrequested.incrementAndGet();
                    c.close("it asked for no address in time");
                }
            }
            reportRefusals();
        }
    }

    /** Called by a client's writer for each packet or message it wrote. */
    private void sent(ByteBuffer buf, int off, int len) {
        if (len == ControlMessage.SIZE && ControlMessage.isControl(buf, off)) {
            return; // replies and keepalive echoes are not traffic
        }
        counters.sent(len);
    }

    private void drop(HubClient from, int len, Drop reason, String why) {
        counters.drop(reason);
        if (verbose) {
            log.println(label + from.describe() + " dropped " + len + " bytes: " + reason.label() + " (" + why + ")");
        }
    }

    private void say(String line) {
        log.println(label + line);
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
