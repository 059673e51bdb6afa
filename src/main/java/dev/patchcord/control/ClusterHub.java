package dev.patchcord.control;

import dev.patchcord.cluster.Attachment;
import dev.patchcord.cluster.ClusterClient;
import dev.patchcord.cluster.ClusterListener;
import dev.patchcord.cluster.ClusterStore;
import dev.patchcord.cluster.HubRecord;
import dev.patchcord.cluster.StoreException;
import dev.patchcord.core.Cidr;
import dev.patchcord.core.wg.HandshakeEvents;
import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.device.WgTunnel;

import java.io.PrintStream;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * One hub of a cluster: the clients in the store become peers of this interface, changes arrive
 * by a watch and are applied without touching other sessions, each client's handshake with this
 * hub is recorded as its attachment, and clients attached elsewhere are routed over the
 * {@link Backplane}. When a hub dies, its attachments expire with its lease, and one surviving hub
 * (the same for everyone: the highest of a hash of client and hub) calls each orphaned client
 * back at its last endpoint, so a stock client moves over without waiting for its own timers.
 *
 * <p>This class reads the store and keeps following it; what it learns is applied by
 * {@link HubView}. Concurrency contract: everything that changes the node's peers, the routes or
 * the view happens on one thread, {@code cluster}; the store's watch callbacks and the packet
 * threads' handshake events only queue work for it ({@link #events}). Store writes that may wait (an
 * attachment when etcd is slow or gone) are made by a second thread, {@link AttachmentWriter}, so
 * the hub keeps forwarding and applying what it knows while the store is away.
 */
public final class ClusterHub implements AutoCloseable {
    /** How often a hub that lost the store tries to read it again. */
    private static final long RESYNC_EVERY_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** The longest wait between two reads of a store that does not answer. */
    private static final long MAX_RESYNC_NANOS = TimeUnit.SECONDS.toNanos(8);
    private long resyncDelay = RESYNC_EVERY_NANOS;

    private final ClusterStore store;
    private final String hubId;
    private final String backplaneEndpoint;
    private final WgTunnel tunnel;
    private final Backplane backplane;
    private final ClusterRoutes routes;
    private final PrintStream err;
    private final String label;
    private final LongSupplier clock;
    private final AttachmentWriter writer;
    private final LinkedBlockingQueue<Runnable> events = new LinkedBlockingQueue<>();
    private final ClusterStats stats = new ClusterStats();
    /** The clients and hubs as this hub holds them; the hub's thread applies every change to it. */
    private final HubView view;

    // ---- the cluster thread's state -----------------------------------------------------------
    /** Bumped at each resync: callbacks of an earlier watch, still in flight, are dropped. */
    private long generation;
    private ClusterStore.Subscription watch;
    private boolean resyncNeeded = true;
    /** Whether the store was read once: later reads are said (they follow an outage). */
    private boolean started;
    private long lastResyncAttempt = Long.MIN_VALUE / 2;
    private volatile boolean closed;
    private Thread thread;

    ClusterHub(ClusterStore store, String hubId, String backplaneEndpoint, Node node, WgTunnel tunnel, Backplane backplane,
            ClusterRoutes routes, Set<String> fileKeys, List<Cidr> subnets, List<Cidr> filePrefixes, PrintStream err,
            String label, LongSupplier clock) {
        this.store = store;
        this.hubId = hubId;
        this.backplaneEndpoint = backplaneEndpoint;
        this.tunnel = tunnel;
        this.backplane = backplane;
        this.routes = routes;
        this.err = err;
        this.label = label;
        this.clock = clock;
        this.writer = new AttachmentWriter(store, stats, err, label);
        this.view = new HubView(hubId, node, tunnel, backplane, routes, writer, stats, fileKeys, subnets, filePrefixes,
                this::announce, err, label, clock);
    }

    public String hubId() {
        return hubId;
    }

    /** Bytes received through the backplane from other hubs (what this hub delivers for them). */
    long backplaneRxBytes() {
        return backplane.rxBytes();
    }

    /** Bytes sent through the backplane to other hubs. */
    long backplaneTxBytes() {
        return backplane.txBytes();
    }

    /** The store this hub reads and writes. */
    public ClusterStore store() {
        return store;
    }

    /** The store's client with this key (base64), if this hub serves it; any thread. */
    public ClusterClient client(String key) {
        return view.client(key);
    }

    /** Whether {@code key} (base64) is a peer of the interface's own file, which the store never changes. */
    boolean filePeer(String key) {
        return view.filePeer(key);
    }

    /** The file's peers after a reload: peers it adds stay local, never go to the store. */
    public void fileKeys(Set<String> keys) {
        view.fileKeys(keys);
    }

    /** Whether a store client may have this prefix ({@link HubView#usable}). */
    boolean usable(Cidr c) {
        return view.usable(c);
    }

    /**
     * Applies a change just written to the store at once, rather than when its watch event comes
     * (which then finds nothing to do): {@code wg set} returns with the peer in place. Waits for
     * the hub's thread, at most 2 s.
     */
    void applyNow(ClusterClient changed, String removedKey) {
        var done = new java.util.concurrent.CompletableFuture<Void>();
        events.add(() -> {
            try {
                if (changed != null) {
                    view.clientChanged(changed);
                } else {
                    view.clientRemoved(removedKey);
                }
                routes.flush();
            } finally {
                done.complete(null);
            }
        });
        try {
            done.get(2, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            // The watch applies it anyway.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Counters for the metrics and the ready line. */
    public ClusterStats stats() {
        return stats;
    }

    /**
     * Announces the hub, reads the store and starts the hub's threads. A store that cannot be
     * reached now is said in one line and tried again every second: the interface comes up with
     * the peers of its file meanwhile.
     */
    void start() {
        // A lost lease takes the hub's record and attachments with it when it expires: put them
        // back under a new one before that happens, so the other hubs never see this hub go.
        store.onLeaseLost(() -> events.add(() -> {
            err.println("patchcord: " + label + ": the store lease was lost; announcing this hub again");
            announce();
        }));
        tunnel.addHandshakeEvents(new HandshakeEvents() {
            @Override
            public void sessionEstablished(Peer peer, boolean initiator) {
                events.add(() -> view.established(peer));
            }
        });
        resync();
        if (resyncNeeded) {
            err.println("patchcord: " + label + ": the cluster store cannot be read now; trying again every second");
        }
        writer.start();
        thread = Thread.ofPlatform().name("cluster").daemon().start(this::run);
    }

    /** How many clients the store gave this hub, and how many are attached here. */
    String describe() {
        return "cluster hub " + hubId + " (" + stats.clients() + " clients in the store, backplane " + backplane.ifname()
                + " on UDP port " + backplane.port() + ")";
    }

    private void run() {
        while (!closed) {
            try {
                Runnable r = events.poll(100, TimeUnit.MILLISECONDS);
                while (r != null && !closed) {
                    r.run();
                    r = events.poll();
                }
                if (closed) {
                    return;
                }
                long now = clock.getAsLong();
                if (resyncNeeded && now - lastResyncAttempt >= resyncDelay) {
                    resync();
                }
                view.tick(now);
                routes.flush();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                err.println("patchcord: " + label + ": cluster: " + e);
            }
        }
    }

    // ---- reading the store --------------------------------------------------------------------

    /** Reads everything again and watches from there: at start, and after the watch failed. */
    private void resync() {
        lastResyncAttempt = clock.getAsLong();
        long t0 = System.nanoTime();
        ClusterStore.Snapshot s;
        try {
            if (watch != null) {
                watch.close();
                watch = null;
            }
            s = store.snapshot();
            stats.storeAnswered(System.nanoTime() - t0);
        } catch (StoreException e) {
            stats.storeFailed();
            // Every second at first, then less often: each failed read may hold this thread for
            // the store's call timeout, and the hub has local work to do meanwhile.
            resyncDelay = Math.min(resyncDelay * 2, MAX_RESYNC_NANOS);
            return;
        }
        resyncDelay = RESYNC_EVERY_NANOS;
        for (String bad : s.unreadable()) {
            err.println("patchcord: " + label + ": skipped " + bad);
        }
        Set<String> seen = new HashSet<>();
        for (ClusterClient c : s.clients()) {
            seen.add(Keys.toBase64(c.publicKey()));
            safely(() -> view.clientChanged(c), c.name());
        }
        for (String key : view.clientKeys()) {
            if (!seen.contains(key)) {
                view.clientRemoved(key);
            }
        }
        Set<String> live = new HashSet<>();
        for (HubRecord h : s.hubs()) {
            live.add(h.id());
            safely(() -> view.hubUp(h), "hub " + h.id());
        }
        for (String id : view.hubIds()) {
            if (!live.contains(id)) {
                view.hubGone(id);
            }
        }
        view.attachments(s.attachments());
        try {
            watch = store.watch(s.revision() + 1, new Listener(++generation));
            resyncNeeded = false;
        } catch (StoreException e) {
            stats.storeFailed();
            return;
        }
        if (started) {
            err.println("patchcord: " + label + ": read the cluster store again at revision " + s.revision() + ": "
                    + view.clients() + " clients, " + live.size() + " hubs");
        }
        started = true;
        if (!live.contains(hubId)) {
            announce(); // at start, or the lease was lost while the store was away
        }
        routes.flush();
    }

    /** One item of a resync: a failure is said and skipped, and does not stop the others. */
    private void safely(Runnable apply, String what) {
        try {
            apply.run();
        } catch (RuntimeException e) {
            err.println("patchcord: " + label + ": cluster: cannot apply " + what + ": " + e.getMessage());
        }
    }

    /** Puts this hub's record, and the attachments of the clients it has sessions with, back. */
    private void announce() {
        try {
            long t0 = System.nanoTime();
            store.registerHub(new HubRecord(hubId, backplaneEndpoint, backplane.publicKey()));
            stats.storeAnswered(System.nanoTime() - t0);
        } catch (StoreException e) {
            stats.storeFailed();
            resyncNeeded = true;
            return;
        }
        view.reattach();
    }

    /** Turns watch callbacks into work for the cluster thread. */
    private final class Listener implements ClusterListener {
        private final long gen;

        Listener(long gen) {
            this.gen = gen;
        }

        /** Queues work unless a newer watch replaced this one (its late callbacks are stale). */
        private void queue(Runnable r) {
            events.add(() -> {
                if (gen == generation) {
                    r.run();
                }
            });
        }

        @Override
        public void clientChanged(ClusterClient client, long revision) {
            queue(() -> view.clientChanged(client));
        }

        @Override
        public void clientRemoved(byte[] publicKey, long revision) {
            queue(() -> view.clientRemoved(Keys.toBase64(publicKey)));
        }

        @Override
        public void hubUp(HubRecord hub, long revision) {
            queue(() -> view.hubUp(hub));
        }

        @Override
        public void hubGone(String id, long revision) {
            queue(() -> view.hubGone(id));
        }

        @Override
        public void attached(byte[] clientKey, Attachment attachment, long revision) {
            queue(() -> view.attached(Keys.toBase64(clientKey), attachment));
        }

        @Override
        public void detached(byte[] clientKey, long revision) {
            queue(() -> view.detached(Keys.toBase64(clientKey)));
        }

        @Override
        public void failed(StoreException problem) {
            queue(() -> {
                if (!resyncNeeded) {
                    err.println("patchcord: " + label + ": " + problem.getMessage() + "; reading the store again");
                }
                resyncNeeded = true;
            });
        }

        @Override
        public void unreadable(String key, String problem) {
            queue(() -> err.println("patchcord: " + label + ": skipped " + key + ": " + problem));
        }
    }

    /**
     * Stops the threads and closes the store, which revokes the hub's lease: its record and
     * attachments go at once, and the other hubs call its clients back.
     */
    @Override
    public void close() {
        closed = true;
        if (thread != null) {
            thread.interrupt();
            try {
                thread.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        writer.close();
        if (watch != null) {
            watch.close();
        }
        store.close();
    }

    /** The host's name as a hub id: lower case, anything but a-z, 0-9 and '-' made '-', at most 63. */
    static String defaultHubId() {
        String host;
        try {
            host = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/sys/kernel/hostname")).strip();
        } catch (java.io.IOException e) {
            host = "hub";
        }
        StringBuilder sb = new StringBuilder();
        for (char c : host.toLowerCase(java.util.Locale.ROOT).toCharArray()) {
            sb.append(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' ? c : '-');
        }
        String id = sb.length() > 63 ? sb.substring(0, 63) : sb.toString();
        return id.isEmpty() ? "hub" : id;
    }
}
