package dev.patchcord.control;

import dev.patchcord.cluster.Attachment;
import dev.patchcord.cluster.ClusterClient;
import dev.patchcord.cluster.HubRecord;
import dev.patchcord.core.Cidr;
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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * What a cluster hub knows of the cluster and what it makes of it: the store's clients as peers
 * of the interface, where each is attached, the live hubs, and the hubs whose records went until
 * the backplane says whether they live. Every change the store reports ends here
 * ({@link ClusterHub} reads the store and feeds it), and here it becomes peers, sessions dropped,
 * backplane peers and allowed IPs, kernel routes ({@link ClusterRoutes}) and, for the clients of a
 * dead hub, a call back from the one survivor {@link HubChoice} picks.
 *
 * <p>Concurrency contract: used by the hub's thread only, except {@link #client} and
 * {@link #filePeer}, which any thread may call.
 */
final class HubView {
    /** How long an orphan waits to be called back before it is left to call itself. */
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
     * intervals, for a busy host's late ones. A hub that crashed was silent for longer than
     * {@link #ALIVE_NANOS} by the time its lease expired, and is decided at once.
     */
    private static final long LISTEN_NANOS = TimeUnit.MILLISECONDS.toNanos(2500);
    /** Events of one etcd revision arrive together; this is ample for the rest of them to be applied. */
    private static final long SETTLE_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

    private final String hubId;
    private final Node node;
    private final WgTunnel tunnel;
    private final Backplane backplane;
    private final ClusterRoutes routes;
    private final AttachmentWriter writer;
    private final ClusterStats stats;
    private final Runnable announce;
    private final PrintStream err;
    private final String label;
    private final LongSupplier clock;
    private volatile Set<String> fileKeys;
    /** The hub's Address subnets: a client's prefixes must lie inside them (they become kernel routes). */
    private final List<Cidr> subnets;
    /** The file's peers' allowed IPs, which no store client may take over. */
    private final List<Cidr> filePrefixes;

    /** The store's clients this hub serves, for other threads (the configuration socket). */
    private final Map<String, ClusterClient> view = new ConcurrentHashMap<>();
    private final Map<String, Member> members = new HashMap<>();
    private final Map<String, HubRecord> hubs = new HashMap<>();
    private final Map<String, Orphan> orphans = new HashMap<>();
    /** Attachments to other hubs that went, waiting to see whether their hub's record goes too. */
    private final Map<String, Orphan> detachedAt = new HashMap<>();
    /** Hubs whose record went, by id: when (hub clock), until the backplane says whether they live. */
    private final Map<String, Long> goneAt = new HashMap<>();
    /** Hubs whose record went but which still talk on the backplane: alive, their clients left to them. */
    private final Set<String> silentlyAlive = new HashSet<>();

    /** A client of the store, as this hub holds it. */
    private static final class Member {
        ClusterClient client;
        Peer peer;
        Attachment attachment;
    }

    private record Orphan(String oldHub, String endpoint, long since) {}

    /**
     * @param announce puts this hub's record and attachments back (its record went, or another
     *                 hub claims its id)
     */
    HubView(String hubId, Node node, WgTunnel tunnel, Backplane backplane, ClusterRoutes routes, AttachmentWriter writer,
            ClusterStats stats, Set<String> fileKeys, List<Cidr> subnets, List<Cidr> filePrefixes, Runnable announce,
            PrintStream err, String label, LongSupplier clock) {
        this.hubId = hubId;
        this.node = node;
        this.tunnel = tunnel;
        this.backplane = backplane;
        this.routes = routes;
        this.writer = writer;
        this.stats = stats;
        this.fileKeys = Set.copyOf(fileKeys);
        this.subnets = subnets.stream().map(Cidr::network).toList();
        this.filePrefixes = List.copyOf(filePrefixes);
        this.announce = announce;
        this.err = err;
        this.label = label;
        this.clock = clock;
    }

    /** The store's client with this key (base64), if this hub serves it; any thread. */
    ClusterClient client(String key) {
        return view.get(key);
    }

    /** Whether {@code key} (base64) is a peer of the interface's own file, which the store never changes; any thread. */
    boolean filePeer(String key) {
        return fileKeys.contains(key);
    }

    /** The file's peers after a reload: peers it adds stay local, never go to the store. */
    void fileKeys(Set<String> keys) {
        this.fileKeys = Set.copyOf(keys);
    }

    int clients() {
        return members.size();
    }

    Set<String> clientKeys() {
        return new HashSet<>(members.keySet());
    }

    Set<String> hubIds() {
        return new HashSet<>(hubs.keySet());
    }

    /** The attachments of a fresh read of the store, against what this hub holds. */
    void attachments(Map<String, Attachment> read) {
        for (Map.Entry<String, Member> e : members.entrySet()) {
            Attachment a = read.get(e.getKey());
            if (a == null && e.getValue().attachment != null && !hubId.equals(e.getValue().attachment.hubId())) {
                detached(e.getKey());
            } else if (a != null) {
                attached(e.getKey(), a);
            }
        }
    }

    /**
     * This hub's attachments again, for its clients with a session here: only where nobody else
     * wrote one meanwhile, since a handshake with another hub since is newer news than a session
     * this hub still has.
     */
    void reattach() {
        long now = System.nanoTime();
        for (Member m : members.values()) {
            if (m.peer.hasSession(now) && (m.attachment == null || m.attachment.hubId().equals(hubId))) {
                writer.writeIfAbsent(m.client.publicKey(), new Attachment(hubId, endpointOf(m.peer)));
            }
        }
    }

    /** The periodic part: detachments settled, gone hubs decided, orphans called back. */
    void tick(long now) {
        settleDetached(now);
        decideGoneHubs(now);
        takeOverOrphans(now);
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


    void clientChanged(ClusterClient stored) {
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

    void clientRemoved(String key) {
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

    void hubUp(HubRecord h) {
        goneAt.remove(h.id());
        silentlyAlive.remove(h.id());
        HubRecord before = hubs.put(h.id(), h);
        if (h.id().equals(hubId) && !java.util.Arrays.equals(h.backplanePublicKey(), backplane.publicKey())) {
            err.println("patchcord: " + label + ": another hub announces itself as " + hubId + " (HubId must be unique "
                    + "in the cluster); announcing this one again");
            if (before == null || java.util.Arrays.equals(before.backplanePublicKey(), backplane.publicKey())) {
                announce.run();
            }
        }
        if (!h.id().equals(hubId)) {
            backplane.hubUp(h);
        }
        stats.hubs(hubs.size());
    }

    void hubGone(String id) {
        if (hubs.remove(id) == null) {
            return;
        }
        stats.hubs(hubs.size());
        if (id.equals(hubId)) {
            // Our lease went (the store was away for longer than its time to live): say so and
            // put the record and our attachments back.
            err.println("patchcord: " + label + ": this hub's record expired in the store; announcing it again");
            announce.run();
            return;
        }
        // Its backplane peer and its clients' routes stay until the backplane says whether it
        // lives (decideGoneHubs): a hub whose lease expired while etcd was away is not dead.
        goneAt.put(id, clock.getAsLong());
    }

    void settleDetached(long now) {
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
    void decideGoneHubs(long now) {
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

    void attached(String key, Attachment a) {
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

    void detached(String key) {
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
        if (m.peer.hasSession(System.nanoTime())) {
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
    void established(Peer peer) {
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

    String endpointOf(Peer peer) {
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
    void takeOverOrphans(long now) {
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
}
