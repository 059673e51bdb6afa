package dev.patchcord.core.wg;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.patchcord.core.wg.Protocol.REJECT_AFTER_TIME;

/**
 * Session states handed over for peers this node does not have yet: those that come from a mesh
 * directory or a cluster store arrive after the hand-over. Each waits until
 * {@link Node#addPeer} adds its key, or until it is {@link Protocol#REJECT_AFTER_TIME} old, when
 * every keypair in it has expired; then it is wiped and dropped.
 *
 * <p>A state is applied as if its peer had existed at the import: re-based on the import's
 * time, so its timers and keypairs have aged by the time it is applied, as they would have.
 *
 * <p>Concurrency: guarded by the node's monitor, which the caller holds, except {@link #isEmpty}
 * (volatile), which lets the timer tick skip the lock when nothing waits.
 */
final class PendingSessions {
    private record Entry(SessionState state, long importedAt) {}

    private final Map<String, Entry> byKey = new LinkedHashMap<>();
    private volatile int size;

    private static String key(byte[] publicKey) {
        return HexFormat.of().formatHex(publicKey);
    }

    boolean isEmpty() {
        return size == 0;
    }

    /**
     * Keeps {@code state} (the node's own copy) until its peer is added; a state waiting for the
     * same peer already is replaced and wiped. Past {@link Node#MAX_PEERS} waiting, the state is
     * wiped at once: no node could have peers for them all.
     */
    void keep(SessionState state, long now) {
        Entry old = byKey.remove(key(state.publicKey));
        if (old != null) {
            old.state.wipe();
        }
        if (byKey.size() >= Node.MAX_PEERS) {
            state.wipe();
        } else {
            byKey.put(key(state.publicKey), new Entry(state, now));
        }
        size = byKey.size();
    }

    /** The state waiting for {@code publicKey}, or null (tests). */
    SessionState get(byte[] publicKey) {
        Entry e = byKey.get(key(publicKey));
        return e == null ? null : e.state;
    }

    /** Applies the state waiting for {@code peer}, if any, and wipes it: the peer holds its keys now. */
    void applyTo(Peer peer) {
        Entry e = byKey.remove(key(peer.publicKey));
        if (e == null) {
            return;
        }
        size = byKey.size();
        try {
            peer.importSession(e.state, e.importedAt);
        } finally {
            e.state.wipe();
        }
    }

    /** Wipes and drops the states that have waited {@link Protocol#REJECT_AFTER_TIME} or longer. */
    void expire(long now) {
        for (Iterator<Entry> it = byKey.values().iterator(); it.hasNext(); ) {
            Entry e = it.next();
            if (now - e.importedAt >= REJECT_AFTER_TIME) {
                e.state.wipe();
                it.remove();
            }
        }
        size = byKey.size();
    }

    /** Copies of the waiting states, aged to {@code now}, for the next hand-over. */
    List<SessionState> export(long now) {
        List<SessionState> out = new ArrayList<>(byKey.size());
        for (Entry e : byKey.values()) {
            out.add(e.state.olderBy(now - e.importedAt));
        }
        return out;
    }

    void wipeAll() {
        for (Entry e : byKey.values()) {
            e.state.wipe();
        }
        byKey.clear();
        size = 0;
    }
}
