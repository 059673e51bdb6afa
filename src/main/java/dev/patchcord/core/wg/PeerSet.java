package dev.patchcord.core.wg;

import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A node's peers: by public key for the handshake path, and in the order they were added for
 * listings that should not reshuffle ({@code wg show}, the UAPI), within the bound
 * {@link Node#MAX_PEERS}.
 *
 * <p>Concurrency: lookups take no lock (a concurrent map; a volatile, immutable snapshot for the
 * ordered listing). Changes ({@link #add}, {@link #remove}, {@link #limit}) are made under the
 * node's monitor, which the caller holds; the snapshot is rebuilt under that same monitor.
 */
final class PeerSet {
    private final Object lock;
    private final Map<String, Peer> byKey = new ConcurrentHashMap<>();
    /** The same peers in the order they were added; guarded by the lock. */
    private final LinkedHashSet<Peer> order = new LinkedHashSet<>();
    /**
     * An immutable copy of {@link #order} for readers, made when first asked for after a change
     * (null until then): adding N peers one by one then costs O(N), not the O(N²) of copying the
     * list at every addition.
     */
    private volatile List<Peer> snapshot = List.of();
    /** {@link Node#MAX_PEERS}, smaller in tests that drive past it; guarded by the lock. */
    private int max = Node.MAX_PEERS;

    PeerSet(Object lock) {
        this.lock = lock;
    }

    private static String key(byte[] publicKey) {
        return HexFormat.of().formatHex(publicKey);
    }

    Peer get(byte[] publicKey) {
        return byKey.get(key(publicKey));
    }

    /** The peers in no particular order; a live view that later changes may show or not. */
    Collection<Peer> values() {
        return byKey.values();
    }

    /** @throws IllegalArgumentException if the set holds as many peers as it may */
    void checkRoom() {
        if (byKey.size() >= max) {
            throw new IllegalArgumentException("this interface has " + max + " peers, the most it may have");
        }
    }

    void add(Peer p) {
        byKey.put(key(p.publicKey), p);
        order.add(p);
        snapshot = null;
    }

    /** Takes {@code p} out; false if it was not (or no longer) in the set. */
    boolean remove(Peer p) {
        if (!byKey.remove(key(p.publicKey), p)) {
            return false;
        }
        order.remove(p);
        snapshot = null;
        return true;
    }

    void limit(int max) {
        this.max = max;
    }

    /** The peers, in the order they were added: a snapshot, unaffected by later changes. */
    List<Peer> snapshot() {
        List<Peer> s = snapshot;
        if (s == null) {
            synchronized (lock) {
                s = snapshot;
                if (s == null) {
                    s = List.copyOf(order);
                    snapshot = s;
                }
            }
        }
        return s;
    }
}
