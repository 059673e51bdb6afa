package dev.patchcord.device;

import dev.patchcord.core.wg.Peer;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Where each peer of a tunnel is: its {@link PeerAddress}, held beside the node because the core
 * knows nothing of sockets. An entry is made when the configuration gives the peer an endpoint, or
 * on the first look-up of a peer added without one (by the UAPI or the mesh); it goes when the peer
 * leaves the node ({@link #remove}, which the tunnel installs as the node's peer-removed listener, so
 * every way a peer leaves is covered without scanning the table). A look-up is one hash probe, made
 * per batch group or per authenticated message, never per byte.
 */
public final class PeerEndpoints {
    private final ConcurrentHashMap<Peer, PeerAddress> table = new ConcurrentHashMap<>();

    /** The peer's endpoint, made (empty, learning) if it has none yet. */
    public PeerAddress of(Peer peer) {
        PeerAddress a = table.get(peer);
        return a != null ? a : make(peer);
    }

    /**
     * The rare first look-up. A thread working from a peer list read just before the peer left
     * may get here after its removal: the entry is then taken out again, so no removed peer stays
     * pinned. The peer is marked removed before the node's listener runs, so either the listener
     * sees the entry or this check sees the mark; both sides hold this object's lock, which makes
     * that so by the memory model and not only by the map's present workings. Both are rare (a
     * first look-up, a peer leaving), and the common {@link #of} stays lock-free.
     */
    private synchronized PeerAddress make(Peer peer) {
        PeerAddress a = table.computeIfAbsent(peer, p -> new PeerAddress(null, true));
        if (peer.removed()) {
            table.remove(peer);
        }
        return a;
    }

    /** The peer's endpoint, or null if none was ever set or asked for (nothing is made up). */
    public PeerAddress find(Peer peer) {
        return table.get(peer);
    }

    /** Gives the peer this endpoint (the configuration's), replacing any it had. */
    public void put(Peer peer, PeerAddress address) {
        table.put(peer, address);
    }

    /** Forgets a peer that left the node. */
    public synchronized void remove(Peer peer) {
        table.remove(peer);
    }
}
