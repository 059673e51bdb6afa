package dev.patchcord.control;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.mesh.PathState;
import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.device.PeerAddress;
import dev.patchcord.device.PeerEndpoints;

import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * The peers an interface gets from outside its configuration file: a peers file and the mesh
 * directory ({@link MeshSettings}). Each source hands in its whole list; the difference to what
 * is running is applied in place, so a peer whose entry did not change keeps its session, and a
 * changed one keeps it too (only its addresses, endpoints or keepalive change). Peers of the
 * file's own [Peer] sections are never touched, nor is the interface's own key.
 *
 * <p>Every second {@link #tick} decides for each peer, with a {@link PathState}, whether to start
 * a handshake (NAT hole punching) and whether to send its traffic through a relay.
 */
public final class MeshPeers {
    /** Keepalive for directory peers that the members file gives none: NAT mappings must stay open. */
    public static final int NAT_KEEPALIVE = 25;
    /** Unanswered initiations (the first try and three retries) after which a session no longer counts as working. */
    private static final int FAILING_INITIATIONS = 4;

    private final Node node;
    /** Where each peer is (the tunnel's table): mesh peers get their endpoints here. */
    private final PeerEndpoints endpoints;
    private final String ifname;
    /** Routing table for the peers' allowed IPs: null for main, or a table; routes are not made when {@code routes} is false. */
    private final String table;
    private final boolean routes;
    private final Set<String> configKeys;
    private final Set<Cidr> configRoutes;
    private final PrintStream err;
    private final PrintStream verbose;
    private final LongSupplier clock;
    /** Each source's last good list, in the order the sources were first heard from (the first wins a key). */
    private final Map<String, List<MeshPeer>> sources = new LinkedHashMap<>();
    private final Map<String, Managed> managed = new LinkedHashMap<>();
    private final Set<Cidr> routed = new HashSet<>();
    private final Set<String> warned = new HashSet<>();

    private static final class Managed {
        MeshPeer spec;
        final Peer peer;
        List<InetSocketAddress> candidates = List.of();
        boolean withdrawn;
        final PathState path = new PathState();

        Managed(Peer peer) {
            this.peer = peer;
        }
    }

    /**
     * @param routes whether routes are added for the mesh peers ({@code Table = off}: not)
     * @param table the routing table they go into, or null for the main one
     * @param configKeys base64 keys of the configuration's own [Peer] sections
     * @param configRoutes prefixes already routed for those peers (never removed from here)
     */
    public MeshPeers(Node node, PeerEndpoints endpoints, String ifname, boolean routes, String table, Set<String> configKeys, Set<Cidr> configRoutes,
            PrintStream err, PrintStream verbose, LongSupplier clock) {
        this.node = node;
        this.endpoints = endpoints;
        this.ifname = ifname;
        this.routes = routes;
        this.table = table;
        this.configKeys = Set.copyOf(configKeys);
        this.configRoutes = Set.copyOf(configRoutes);
        this.err = err;
        this.verbose = verbose;
        this.clock = clock;
    }

    /** Replaces the list from one source ("peers file", "directory") and applies the result. */
    public synchronized void update(String source, List<MeshPeer> list) {
        sources.put(source, List.copyOf(list));
        byte[] own = node.publicKey(); // null after `wg set IF private-key /dev/null`
        String self = own == null ? "" : Keys.toBase64(own);
        Map<String, MeshPeer> desired = new LinkedHashMap<>();
        for (Map.Entry<String, List<MeshPeer>> s : sources.entrySet()) {
            for (MeshPeer p : s.getValue()) {
                if (p.publicKey().equals(self)) {
                    continue; // one shared list serves every node; each skips itself
                }
                if (configKeys.contains(p.publicKey())) {
                    warnOnce(p, s.getKey() + " lists " + p.label() + ", which has a [Peer] section; the section wins");
                    continue;
                }
                MeshPeer first = desired.putIfAbsent(p.publicKey(), p);
                if (first != null && first != p) {
                    warnOnce(p, s.getKey() + " lists " + p.label() + " again; the first source wins");
                }
            }
        }
        int added = 0, removed = 0, changed = 0, refused = 0;
        String refusal = null;
        for (String key : List.copyOf(managed.keySet())) {
            if (!desired.containsKey(key)) {
                Managed m = managed.remove(key);
                node.removePeer(m.peer); // its endpoint goes too: the tunnel's peer-removed listener
                removed++;
                event("peer " + m.spec.label() + " removed");
            }
        }
        for (MeshPeer p : desired.values()) {
            Managed m = managed.get(p.publicKey());
            if (m == null) {
                Peer peer = node.peer(p.key());
                if (peer == null) {
                    try {
                        peer = node.addPeer(p.key(), null);
                    } catch (IllegalArgumentException e) {
                        // The interface is full (Node.MAX_PEERS): the others still apply.
                        refused++;
                        refusal = e.getMessage();
                        continue;
                    }
                }
                m = new Managed(peer);
                managed.put(p.publicKey(), m);
                apply(m, p);
                added++;
            } else if (!m.spec.equals(p)) {
                apply(m, p);
                changed++;
            }
        }
        syncRoutes();
        if (refused > 0 && warned.add("refused " + refused)) {
            say(source + ": " + refused + " peers not added: " + refusal);
        }
        if (added + removed + changed > 0) {
            event(source + ": " + added + " added, " + changed + " changed, " + removed + " removed; "
                    + managed.size() + " mesh peers");
        }
    }

    private void apply(Managed m, MeshPeer p) {
        MeshPeer old = m.spec;
        m.spec = p;
        Peer peer = m.peer;
        if (old == null || !old.endpoints().equals(p.endpoints())) {
            m.candidates = resolve(p);
            PeerAddress address = endpoints.of(peer);
            // A working session keeps the endpoint roaming found: it is proven, the list is not.
            if (!m.candidates.isEmpty() && !peer.hasSession(clock.getAsLong())) {
                address.set(m.candidates.getFirst());
                Endpoint e = p.endpoints().getFirst();
                if (e.literal().isEmpty()) {
                    address.setHost(e.host(), e.port());
                }
            }
        }
        if (old == null || !old.allowedIps().equals(p.allowedIps())) {
            if (!m.withdrawn) {
                node.allowedIps().removePeer(peer);
                p.allowedIps().forEach(c -> node.allowedIps().add(c, peer));
            }
        }
        if (old == null || old.persistentKeepalive() != p.persistentKeepalive()) {
            peer.setPersistentKeepalive(p.persistentKeepalive());
        }
    }

    /** The endpoints as socket addresses; a name that does not resolve is left out (and said once). */
    private List<InetSocketAddress> resolve(MeshPeer p) {
        List<InetSocketAddress> out = new ArrayList<>();
        for (Endpoint e : p.endpoints()) {
            try {
                InetAddress a = e.literal().isPresent() ? e.literal().get() : InetAddress.getByName(e.host());
                out.add(new InetSocketAddress(a, e.port()));
            } catch (UnknownHostException ex) {
                warnOnce(p, "peer " + p.label() + ": endpoint " + e + " does not resolve; skipped");
            }
        }
        return out;
    }

    /** Routes the union of the mesh peers' allowed IPs into the interface; prefixes no peer has any more go. */
    private void syncRoutes() {
        if (!routes) {
            return;
        }
        Set<Cidr> wanted = new HashSet<>();
        for (Managed m : managed.values()) {
            for (Cidr c : m.spec.allowedIps()) {
                if (c.prefix() == 0 && table == null) {
                    warnOnce(m.spec, "not routing " + c + " of " + m.spec.label() + " (a default route needs policy routing)");
                } else if (!configRoutes.contains(c.network())) {
                    wanted.add(c.network());
                }
            }
        }
        List<Cidr> add = wanted.stream().filter(c -> !routed.contains(c)).toList();
        List<Cidr> gone = routed.stream().filter(c -> !wanted.contains(c)).toList();
        try {
            NetConfig.addRoutes(ifname, add, table);
            routed.addAll(add);
        } catch (NetConfig.NetConfigException e) {
            err.println("patchcord: " + ifname + ": " + e.getMessage());
        }
        try {
            NetConfig.removeRoutes(ifname, gone, table);
        } catch (NetConfig.NetConfigException e) {
            event(e.getMessage()); // a route someone else already removed
        }
        gone.forEach(routed::remove);
    }

    /** Once a second: hole punching and relay fallback for every mesh peer. */
    public synchronized void tick() {
        long now = clock.getAsLong();
        boolean relayUp = false;
        for (Managed m : managed.values()) {
            relayUp |= m.spec.relay() && working(m.peer, now);
        }
        for (Managed m : managed.values()) {
            PathState.Step step = m.path.step(now, working(m.peer, now), relayUp && !m.spec.relay(), m.candidates.size());
            if (step.direct() == m.withdrawn) {
                m.withdrawn = !step.direct();
                Peer peer = m.peer;
                if (m.withdrawn) {
                    node.allowedIps().removePeer(peer);
                    say("peer " + m.spec.label() + ": no direct path; its traffic goes through the relay");
                } else {
                    m.spec.allowedIps().forEach(c -> node.allowedIps().add(c, peer));
                    say("peer " + m.spec.label() + ": direct path restored");
                }
            }
            if (step.kick()) {
                if (step.candidate() >= 0) {
                    endpoints.of(m.peer).set(m.candidates.get(step.candidate()));
                }
                m.peer.kick();
            }
        }
    }

    private static boolean working(Peer p, long now) {
        return p.hasSession(now) && p.unansweredInitiations() < FAILING_INITIATIONS;
    }

    /** Each mesh peer's path, by base64 key: for status output and tests. */
    public synchronized Map<String, PathState.Path> paths() {
        Map<String, PathState.Path> out = new LinkedHashMap<>();
        managed.forEach((k, m) -> out.put(k, m.path.path()));
        return out;
    }

    public synchronized int size() {
        return managed.size();
    }

    private void warnOnce(MeshPeer p, String message) {
        if (warned.add(p.publicKey() + message)) {
            say(message);
        }
    }

    private void say(String message) {
        err.println("patchcord: " + ifname + ": " + message);
    }

    private void event(String message) {
        if (verbose != null) {
            verbose.println("patchcord: " + ifname + ": " + message);
        }
    }
}
