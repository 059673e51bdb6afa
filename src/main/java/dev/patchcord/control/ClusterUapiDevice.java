package dev.patchcord.control;

import dev.patchcord.cluster.ClusterClient;
import dev.patchcord.cluster.ClusterStore;
import dev.patchcord.cluster.StoreException;
import dev.patchcord.core.Cidr;
import dev.patchcord.core.wg.Keys;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The configuration socket of a cluster hub: {@code wg set} on any hub changes the cluster. A
 * peer that is not one of the file's goes to the store (its allowed IPs, preshared key; removal
 * removes it from the store and gives back its addresses), and every hub applies it from its
 * watch, this one at once. Host addresses among the allowed IPs are leased in the store as
 * {@code patchcord peer add}'s are, so the two never hand out one address twice. What is not
 * shared (an endpoint, a keepalive, the file's own peers, the interface's key and port) stays
 * local. A store that cannot be reached refuses the change with an error naming it.
 *
 * <p>{@code get} marks the store's clients ({@code patchcord_cluster=client}), so that
 * {@code patchcord syncconf} and a reload on SIGHUP, which make the peers what the file says,
 * leave them alone. A stock {@code wg syncconf} sends a removal for each peer not in the file and
 * so would take the clients out of the cluster; {@code wg setconf} (replace every peer) is refused.
 *
 * <p>Concurrency contract: as {@link UapiDevice}: the configuration socket serves one request at a
 * time; store calls block that request, never the packet path or the hub's thread.
 */
final class ClusterUapiDevice implements UapiDevice {
    /** The peer extension that marks a client of the cluster store. */
    static final String CLUSTER = "cluster";

    private final WgUapiDevice local;
    private final ClusterHub hub;

    ClusterUapiDevice(WgUapiDevice local, ClusterHub hub) {
        this.local = local;
        this.hub = hub;
    }

    @Override
    public DeviceState get() {
        DeviceState d = local.get();
        List<PeerState> peers = new ArrayList<>(d.peers().size());
        for (PeerState p : d.peers()) {
            if (hub.client(Keys.toBase64(p.publicKey())) == null) {
                peers.add(p);
                continue;
            }
            Map<String, String> ext = new LinkedHashMap<>(p.extensions());
            ext.put(CLUSTER, "client");
            peers.add(new PeerState(p.publicKey(), p.presharedKey(), p.endpoint(), p.lastHandshakeEpochNanos(),
                    p.rxBytes(), p.txBytes(), p.persistentKeepalive(), p.allowedIps(), ext));
        }
        Map<String, String> ext = new LinkedHashMap<>(d.extensions());
        ClusterStats st = hub.stats();
        ext.put("cluster_hub", hub.hubId());
        ext.put("cluster_hubs", Integer.toString(st.hubs()));
        ext.put("cluster_clients", Integer.toString(st.clients()));
        ext.put("cluster_attached", Integer.toString(st.attachedHere()));
        ext.put("cluster_store_reachable", st.storeReachable() ? "1" : "0");
        ext.put("cluster_store_latency_ns", Long.toString(st.storeLatencyNanos()));
        ext.put("cluster_store_errors", Long.toString(st.storeErrors()));
        ext.put("cluster_takeovers", Long.toString(st.takeovers()));
        ext.put("cluster_takeovers_declined", Long.toString(st.takeoversDeclined()));
        ext.put("cluster_sessions_dropped", Long.toString(st.sessionsDropped()));
        ext.put("cluster_backplane_rx_bytes", Long.toString(hub.backplaneRxBytes()));
        ext.put("cluster_backplane_tx_bytes", Long.toString(hub.backplaneTxBytes()));
        return new DeviceState(d.privateKey(), d.listenPort(), d.fwmark(), peers, ext);
    }

    @Override
    public void set(SetRequest request) throws UapiException {
        if (request.replacePeers()) {
            throw new UapiException(UapiException.EINVAL, "a cluster hub's clients come from the store: replacing every "
                    + "peer would remove them all from the cluster (use wg set, patchcord peer or patchcord syncconf)");
        }
        List<SetRequest.PeerChange> localChanges = new ArrayList<>();
        for (SetRequest.PeerChange change : request.peers()) {
            String key = Keys.toBase64(change.publicKey());
            if (hub.filePeer(key)) {
                localChanges.add(change);
            } else {
                toStore(key, change);
                if (!change.remove() && (change.endpoint().isPresent() || change.persistentKeepalive().isPresent())) {
                    localChanges.add(new SetRequest.PeerChange(change.publicKey(), false, true, Optional.empty(),
                            change.endpoint(), change.persistentKeepalive(), false, List.of()));
                }
            }
        }
        local.set(new SetRequest(request.privateKey(), request.listenPort(), request.fwmark(), false, localChanges));
    }

    private void toStore(String key, SetRequest.PeerChange change) throws UapiException {
        ClusterStore store = hub.store();
        byte[] publicKey = change.publicKey();
        ClusterClient current = hub.client(key);
        try {
            if (change.remove()) {
                if (current == null && store.getClient(publicKey).isEmpty()) {
                    return; // not a client of the cluster (nor a peer of the file): nothing to remove
                }
                store.removeClientAndLeases(publicKey);
                hub.applyNow(null, key);
                return;
            }
            if (current == null && change.updateOnly()) {
                return;
            }
            List<Cidr> allowed = new ArrayList<>(current == null || change.replaceAllowedIps() ? List.of() : current.allowedIps());
            for (SetRequest.AllowedIpChange a : change.allowedIps()) {
                allowed.remove(a.cidr());
                if (!a.remove()) {
                    allowed.add(a.cidr());
                }
            }
            byte[] psk = change.presharedKey().isPresent()
                    ? (change.clearsPresharedKey() ? null : change.presharedKey().get())
                    : current == null ? null : current.presharedKey();
            for (Cidr c : allowed) {
                if (!hub.usable(c)) {
                    throw new UapiException(UapiException.EINVAL, c + ": a cluster client's allowed IPs must lie inside "
                            + "the hubs' Address subnets and clear of the file's peers (they become routes on every hub)");
                }
            }
            List<Cidr> leased = new ArrayList<>();
            try {
                for (Cidr c : allowed) {
                    if (c.prefix() == c.bits() && (current == null || !current.allowedIps().contains(c))) {
                        // A host address: leased as peer add leases it, or refused if another client holds it.
                        if (store.allocate(publicKey, List.of(c.address())).isEmpty()) {
                            throw new UapiException(UapiException.EADDRINUSE, c + " is leased to another client of cluster");
                        }
                        leased.add(c);
                    }
                }
                String name = current != null ? current.name() : "wg-" + Keys.toHex(publicKey).substring(0, 8);
                ClusterClient next = new ClusterClient(publicKey, name, allowed, psk);
                store.putClient(next);
                hub.applyNow(next, null);
                leased.clear();
            } finally {
                for (Cidr c : leased) {
                    try {
                        store.release(publicKey, c.address()); // the change did not happen: give back what it leased
                    } catch (StoreException e) {
                        // The store is failing already; the error that follows says so.
                    }
                }
            }
            if (current != null) {
                for (Cidr c : current.allowedIps()) {
                    if (c.prefix() == c.bits() && !allowed.contains(c)) {
                        store.release(publicKey, c.address()); // a host address the client no longer has
                    }
                }
            }
        } catch (StoreException e) {
            throw new UapiException(UapiException.EIO, "the cluster store did not take the change: " + e.getMessage());
        }
    }
}
