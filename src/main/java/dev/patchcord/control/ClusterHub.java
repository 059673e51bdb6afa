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
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
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
 * <p>Concurrency contract: everything that changes the node's peers, the routes or this class's
 * maps happens on one thread, {@code cluster}; the store's watch callbacks and the packet threads'
 * handshake events only queue work for it ({@link #events}). Store writes that may wait (an
 * attachment when etcd is slow or gone) are made by a second thread, {@link AttachmentWriter}, so
 * the hub keeps forwarding and applying what it knows while the store is away.
 */
public final class ClusterHub implements AutoCloseable {
    /** How long an orphan waits for its dead hub's record to go too (they go in one revision). */
    private static final long ORPHAN_WINDOW_NANOS = TimeUnit.SECONDS.toNanos(3);
    /**
     * A hub heard on the backplane this recently is alive, whatever the store says (its lease can
     * expire while etcd restarts): its clients are left to it. Longer than the backplane's
     * one-second keepalive, shorter than the shortest time from a hub's death to its lease's
     * expiry (the lease is renewed every third of its 5 s, so at least about 3.3 s).
     */
    private static final long ALIVE_NANOS = TimeUnit.MILLISECONDS.toNanos(2500);
    /**
     * How long after a hub's record went the backplane is listened to before its clients are
     * called over, when it was heard shortly before: a live hub sends a keepalive a second, one
     * that stopped cleanly (its lease revoked as it went) sends none. Two and a half keepalive
     * intervals, for a busy host's late ones. A hub that crashed was
     * silent for longer than {@link #ALIVE_NANOS} by the time its lease expired, and is decided at once.
     */
    private static final long LISTEN_NANOS = TimeUnit.MILLISECONDS.toNanos(2500);
    /** How often a hub that lost the store tries to read it again. */
    private static final long RESYNC_EVERY_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** The longest wait between two reads of a store that does not answer. */
    private static final long MAX_RESYNC_NANOS = TimeUnit.SECONDS.toNanos(8);
    private long resyncDelay = RESYNC_EVERY_NANOS;

    private final ClusterStore store;
    private final String hubId;
    private final String backplaneEndpoint;
    private final Node node;
    private final WgTunnel tunnel;
    private final Backplane backplane;
    private final ClusterRoutes routes;
    private volatile Set<String> fileKeys;
    /** The hub's Address subnets: a client's prefixes must lie inside them (they become kernel routes). */
    private final List<Cidr> subnets;
    /** The file's peers' allowed IPs, which no store client may take over. */
    private final List<Cidr> filePrefixes;
    private final PrintStream err;
    private final String label;
    private final LongSupplier clock;
    private final AttachmentWriter writer;
    private final LinkedBlockingQueue<Runnable> events = new LinkedBlockingQueue<>();
    private final ClusterStats stats = new ClusterStats();
    /** The store's clients this hub serves, for other threads (the configuration socket); written by the hub's thread. */
    private final Map<String, ClusterClient> view = new java.util.concurrent.ConcurrentHashMap<>();

    // ---- the cluster thread's state -----------------------------------------------------------
    private final Map<String, Member> members = new HashMap<>();
    private final Map<String, HubRecord> hubs = new HashMap<>();
    private final Map<String, Orphan> orphans = new HashMap<>();
    /** Hubs whose record went, by id: when (hub clock), until the backplane says whether they live. */
    private final Map<String, Long> goneAt = new HashMap<>();
    /** Hubs whose record went but which still talk on the backplane: alive, their clients left to them. */
    private final Set<String> silentlyAlive = new HashSet<>();
    /** Bumped at each resync: callbacks of an earlier watch, still in flight, are dropped. */
    private long generation;
    private ClusterStore.Subscription watch;
    private boolean resyncNeeded = true;
    /** Whether the store was read once: later reads are said (they follow an outage). */
    private boolean started;
    private long lastResyncAttempt = Long.MIN_VALUE / 2;
    private volatile boolean closed;
    private Thread thread;

    /** A client of the store, as this hub holds it. */
    private static final class Member {
        ClusterClient client;
        Peer peer;
        Attachment attachment;
    }

    private record Orphan(String oldHub, String endpoint, long since) {}

    /** Attachments to other hubs that went, waiting to see whether their hub's record goes too. */
    private final Map<String, Orphan> detachedAt = new HashMap<>();
    /** Events of one etcd revision arrive together; this is ample for the rest of them to be applied. */
    private static final long SETTLE_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

    ClusterHub(ClusterStore store, String hubId, String backplaneEndpoint, Node node, WgTunnel tunnel, Backplane backplane,
            ClusterRoutes routes, Set<String> fileKeys, List<Cidr> subnets, List<Cidr> filePrefixes, PrintStream err,
            String label, LongSupplier clock) {
        this.store = store;
        this.hubId = hubId;
        this.backplaneEndpoint = backplaneEndpoint;
        this.node = node;
        this.tunnel = tunnel;
        this.backplane = backplane;
        this.routes = routes;
        this.fileKeys = Set.copyOf(fileKeys);
        this.subnets = subnets.stream().map(Cidr::network).toList();
        this.filePrefixes = List.copyOf(filePrefixes);
        this.err = err;
        this.label = label;
        this.clock = clock;
        this.writer = new AttachmentWriter(store, stats, err, label);
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
        return view.get(key);
    }

    /** Whether {@code key} (base64) is a peer of the interface's own file, which the store never changes. */
    boolean filePeer(String key) {
        return fileKeys.contains(key);
    }

    /** The file's peers after a reload: peers it adds stay local, never go to the store. */
    public void fileKeys(Set<String> keys) {
        this.fileKeys = Set.copyOf(keys);
    }

    /**
     * Whether a store client may have this prefix: inside one of the hub's Address subnets (it
     * becomes a kernel route on every hub, so 0.0.0.0/0 would take each hub's default route) and
     * clear of the file's peers' allowed IPs.
     */
    boolean usable(Cidr c) {
        Cidr n = c.network();
        boolean inside = false;
        for (Cidr s : subnets) {
            inside |= s.isIpv4() == n.isIpv4() && n.prefix() >= s.prefix() && s.contains(n.address());
        }
        if (!inside) {
            return false;
        }
        for (Cidr f : filePrefixes) {
            if (f.isIpv4() == n.isIpv4() && (f.contains(n.address()) || n.contains(f.address()))) {
                return false;
            }
        }
        return true;
    }

    /** The client with only its usable prefixes (the others said once). */
    private ClusterClient usableOnly(ClusterClient c) {
        List<Cidr> ok = new ArrayList<>();
        for (Cidr p : c.allowedIps()) {
            if (usable(p)) {
                ok.add(p.network());
            } else {
                err.println("patchcord: " + label + ": client " + c.name() + ": " + p + " is not inside this hub's Address "
                        + "subnets or overlaps a peer of its file; not routed");
            }
        }
        return ok.size() == c.allowedIps().size() ? c : new ClusterClient(c.publicKey(), c.name(), ok, c.presharedKey());
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
                    clientChanged(changed);
                } else {
                    clientRemoved(removedKey);
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
                events.add(() -> established(peer));
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
                settleDetached(now);
                decideGoneHubs(now);
                takeOverOrphans(now);
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
            safely(() -> clientChanged(c), c.name());
        }
        for (String key : new ArrayList<>(members.keySet())) {
            if (!seen.contains(key)) {
                clientRemoved(key);
            }
        }
        Set<String> live = new HashSet<>();
        for (HubRecord h : s.hubs()) {
            live.add(h.id());
            safely(() -> hubUp(h), "hub " + h.id());
        }
        for (String id : new ArrayList<>(hubs.keySet())) {
            if (!live.contains(id)) {
                hubGone(id);
            }
        }
        for (Map.Entry<String, Member> e : members.entrySet()) {
            Attachment a = s.attachments().get(e.getKey());
            if (a == null && e.getValue().attachment != null && !hubId.equals(e.getValue().attachment.hubId())) {
                detached(e.getKey());
            } else if (a != null) {
                attached(e.getKey(), a);
            }
        }
        try {
            watch = store.watch(s.revision() + 1, new Listener(++generation));
            resyncNeeded = false;
        } catch (StoreException e) {
            stats.storeFailed();
            return;
        }
        if (started) {
            err.println("patchcord: " + label + ": read the cluster store again at revision " + s.revision() + ": "
                    + members.size() + " clients, " + live.size() + " hubs");
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
        long now = System.nanoTime();
        for (Member m : members.values()) {
            if (m.peer.hasSession(now) && (m.attachment == null || m.attachment.hubId().equals(hubId))) {
                // Only where nobody else wrote one meanwhile: a handshake with another hub since
                // is newer news than a session this hub still has.
                writer.writeIfAbsent(m.client.publicKey(), new Attachment(hubId, endpointOf(m.peer)));
            }
        }
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
            queue(() -> ClusterHub.this.clientChanged(client));
        }

        @Override
        public void clientRemoved(byte[] publicKey, long revision) {
            queue(() -> ClusterHub.this.clientRemoved(Keys.toBase64(publicKey)));
        }

        @Override
        public void hubUp(HubRecord hub, long revision) {
            queue(() -> ClusterHub.this.hubUp(hub));
        }

        @Override
        public void hubGone(String id, long revision) {
            queue(() -> ClusterHub.this.hubGone(id));
        }

        @Override
        public void attached(byte[] clientKey, Attachment attachment, long revision) {
            queue(() -> ClusterHub.this.attached(Keys.toBase64(clientKey), attachment));
        }

        @Override
        public void detached(byte[] clientKey, long revision) {
            queue(() -> ClusterHub.this.detached(Keys.toBase64(clientKey)));
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

    // ---- applying changes (cluster thread) ----------------------------------------------------

    private void clientChanged(ClusterClient stored) {
        String key = Keys.toBase64(stored.publicKey());
        if (fileKeys.contains(key) || node.isOwnKey(stored.publicKey())) {
            return; // the file's own peer of that key, or this interface's key, wins
        }
        ClusterClient c = usableOnly(stored);
        Member m = members.get(key);
        if (m == null) {
            m = new Member();
            m.client = c;
            m.peer = node.addPeer(c.publicKey(), c.presharedKey());
            node.allowedIps().replacePeer(m.peer, c.allowedIps());
            members.put(key, m);
            view.put(key, c);
            routes.toMain(c.allowedIps());
            stats.clients(members.size());
            return;
        }
        ClusterClient before = m.client;
        m.client = c;
        view.put(key, c);
        m.peer.setPresharedKey(c.presharedKey());
        if (!before.allowedIps().equals(c.allowedIps())) {
            node.allowedIps().replacePeer(m.peer, c.allowedIps());
            String at = m.attachment == null ? null : m.attachment.hubId();
            List<Cidr> gone = new ArrayList<>(before.allowedIps());
            gone.removeAll(c.allowedIps());
            if (at != null && !at.equals(hubId)) {
                backplane.unroute(before.allowedIps(), at);
                backplane.route(c.allowedIps(), at);
                routes.toBackplane(c.allowedIps());
            } else {
                routes.toMain(c.allowedIps());
            }
            routes.remove(gone);
        }
    }

    private void clientRemoved(String key) {
        Member m = members.remove(key);
        view.remove(key);
        if (m == null) {
            return;
        }
        if (m.attachment != null && !m.attachment.hubId().equals(hubId)) {
            backplane.unroute(m.client.allowedIps(), m.attachment.hubId());
        }
        routes.remove(m.client.allowedIps());
        node.removePeer(m.peer);
        orphans.remove(key);
        stats.clients(members.size());
    }

    private void hubUp(HubRecord h) {
        goneAt.remove(h.id());
        silentlyAlive.remove(h.id());
        HubRecord before = hubs.put(h.id(), h);
        if (h.id().equals(hubId) && !java.util.Arrays.equals(h.backplanePublicKey(), backplane.publicKey())) {
            err.println("patchcord: " + label + ": another hub announces itself as " + hubId + " (HubId must be unique "
                    + "in the cluster); announcing this one again");
            if (before == null || java.util.Arrays.equals(before.backplanePublicKey(), backplane.publicKey())) {
                announce();
            }
        }
        if (!h.id().equals(hubId)) {
            backplane.hubUp(h);
        }
        stats.hubs(hubs.size());
    }

    private void hubGone(String id) {
        if (hubs.remove(id) == null) {
            return;
        }
        stats.hubs(hubs.size());
        if (id.equals(hubId)) {
            // Our lease went (the store was away for longer than its time to live): say so and
            // put the record and our attachments back.
            err.println("patchcord: " + label + ": this hub's record expired in the store; announcing it again");
            announce();
            return;
        }
        // Its backplane peer and its clients' routes stay until the backplane says whether it
        // lives (decideGoneHubs): a hub whose lease expired while etcd was away is not dead.
        goneAt.put(id, clock.getAsLong());
    }

    private void settleDetached(long now) {
        var it = detachedAt.entrySet().iterator();
        while (it.hasNext()) {
            var e = it.next();
            if (now - e.getValue().since() < SETTLE_NANOS) {
                continue;
            }
            it.remove();
            Member m = members.get(e.getKey());
            String hub = e.getValue().oldHub();
            if (m != null && m.attachment != null && m.attachment.hubId().equals(hub)
                    && hubs.containsKey(hub) && !goneAt.containsKey(hub)) {
                setAttachment(e.getKey(), m, null); // its hub lives and let it go: it is nowhere now
            }
        }
    }

    /**
     * For each hub whose record went: dead (silent on the backplane since well before, or since
     * its record went) or alive (heard after its record went). A dead hub's peer goes and its
     * orphans are called back; a live one keeps its peer and its clients' routes until it
     * announces itself again.
     */
    private void decideGoneHubs(long now) {
        var it = goneAt.entrySet().iterator();
        while (it.hasNext()) {
            var e = it.next();
            String id = e.getKey();
            long went = e.getValue();
            long heard = backplane.lastHeard(id);
            boolean heardSince = heard != Long.MIN_VALUE && heard - went > 0;
            boolean silentLong = heard == Long.MIN_VALUE || went - heard >= ALIVE_NANOS;
            if (heardSince) {
                if (silentlyAlive.add(id)) {
                    stats.takeoverDeclined();
                    err.println("patchcord: " + label + ": hub " + id + "'s record went from the store, but it still "
                            + "talks on the backplane: its clients stay with it");
                }
                continue; // decided again while it stays away from the store
            }
            if (!silentLong && now - went < LISTEN_NANOS && !silentlyAlive.contains(id)) {
                continue; // heard shortly before its record went: listen a little longer
            }
            if (silentlyAlive.contains(id) && heard != Long.MIN_VALUE && now - heard < ALIVE_NANOS) {
                continue; // still alive
            }
            it.remove();
            silentlyAlive.remove(id);
            backplane.hubGone(id);
            int n = 0;
            for (Map.Entry<String, Member> m : members.entrySet()) {
                Attachment a = m.getValue().attachment;
                if (a != null && a.hubId().equals(id)) {
                    setAttachment(m.getKey(), m.getValue(), null);
                    orphans.put(m.getKey(), new Orphan(id, a.endpoint(), now));
                    n++;
                }
            }
            err.println("patchcord: " + label + ": hub " + id + " is gone (" + (heard == Long.MIN_VALUE ? "never heard"
                    : "silent on the backplane for " + TimeUnit.NANOSECONDS.toMillis(now - heard) + " ms")
                    + "); its " + n + " clients go to the surviving hubs");
        }
    }

    private void attached(String key, Attachment a) {
        Member m = members.get(key);
        if (m == null) {
            return;
        }
        orphans.remove(key);
        detachedAt.remove(key);
        if (!a.hubId().equals(hubId)) {
            writer.cancel(m.client.publicKey()); // a write of ours still queued would undo a newer handshake
        }
        setAttachment(key, m, a);
    }

    private void detached(String key) {
        Member m = members.get(key);
        if (m == null || m.attachment == null) {
            return;
        }
        Attachment old = m.attachment;
        if (!old.hubId().equals(hubId)) {
            // Decided a moment later (settleDetached): if its hub's record goes too (the same
            // revision: a lease that expired), the hub's fate decides; if not, it is nowhere now.
            detachedAt.put(key, new Orphan(old.hubId(), old.endpoint(), clock.getAsLong()));
            return;
        }
        if (!closed && m.peer.hasSession(System.nanoTime())) {
            // Ours, gone with our lease or removed by someone: still ours unless another hub says otherwise.
            writer.writeIfAbsent(m.client.publicKey(), old);
        } else {
            setAttachment(key, m, null);
        }
    }

    /** Moves a client's routes and session to match where it is attached now. */
    private void setAttachment(String key, Member m, Attachment a) {
        Attachment old = m.attachment;
        m.attachment = a;
        String was = old == null ? null : old.hubId();
        String now = a == null ? null : a.hubId();
        if (was != null && was.equals(now)) {
            return;
        }
        if (was != null && !was.equals(hubId)) {
            backplane.unroute(m.client.allowedIps(), was);
        }
        if (now != null && !now.equals(hubId)) {
            backplane.route(m.client.allowedIps(), now);
            routes.toBackplane(m.client.allowedIps());
            if (m.peer.hasSession(System.nanoTime()) || m.peer.lastHandshakeEpochNanos() != 0) {
                // The client made a handshake with another hub after ours: the store says it is
                // there now, so this hub's session goes. Left alone, a packet sent on it would
                // pull the client's endpoint back here.
                dropSession(key, m);
            }
        } else {
            routes.toMain(m.client.allowedIps());
        }
        stats.attachedHere(countHere());
    }

    private void dropSession(String key, Member m) {
        node.removePeer(m.peer);
        m.peer = node.addPeer(m.client.publicKey(), m.client.presharedKey());
        node.allowedIps().replacePeer(m.peer, m.client.allowedIps());
        stats.sessionDropped();
    }

    private int countHere() {
        int n = 0;
        for (Member m : members.values()) {
            if (m.attachment != null && m.attachment.hubId().equals(hubId)) {
                n++;
            }
        }
        return n;
    }

    /** A session with one of the store's clients is in use here: the client is attached to this hub. */
    private void established(Peer peer) {
        String key = Keys.toBase64(peer.publicKey());
        Member m = members.get(key);
        if (m == null || m.peer != peer) {
            return; // a peer of the file, or one replaced since
        }
        orphans.remove(key);
        Attachment a = new Attachment(hubId, endpointOf(peer));
        if (a.same(m.attachment)) {
            return;
        }
        setAttachment(key, m, a);
        writer.write(m.client.publicKey(), a);
    }

    private String endpointOf(Peer peer) {
        var address = tunnel.endpoints().find(peer);
        InetSocketAddress at = address == null ? null : address.describe();
        if (at == null) {
            return null;
        }
        String host = at.getAddress().getHostAddress();
        int pct = host.indexOf('%');
        host = pct < 0 ? host : host.substring(0, pct);
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + at.getPort();
    }

    /**
     * Clients whose hub died: the one surviving hub that the hash picks initiates a handshake to
     * each at its last endpoint. A client whose hub is still alive was detached on purpose and is
     * left alone.
     */
    private void takeOverOrphans(long now) {
        if (orphans.isEmpty()) {
            return;
        }
        var it = orphans.entrySet().iterator();
        while (it.hasNext()) {
            var e = it.next();
            Orphan o = e.getValue();
            Member m = members.get(e.getKey());
            if (m == null || m.attachment != null || now - o.since() > ORPHAN_WINDOW_NANOS) {
                it.remove();
                continue;
            }
            it.remove();
            if (o.endpoint() == null || !hubId.equals(HubChoice.successor(e.getKey(), hubs.keySet(), hubId))) {
                continue;
            }
            try {
                Endpoint ep = Endpoint.parse(o.endpoint());
                InetSocketAddress at = new InetSocketAddress(java.net.InetAddress.ofLiteral(ep.host()), ep.port());
                tunnel.endpoint(m.peer).set(at);
                m.peer.kick();
                stats.takeover();
            } catch (IllegalArgumentException x) {
                err.println("patchcord: " + label + ": client " + e.getKey() + " left an endpoint that cannot be used: "
                        + o.endpoint());
            }
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
