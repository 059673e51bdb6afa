package dev.patchcord.cluster;

/**
 * Receives every change to a cluster's clients, hubs and attachments, in the order etcd made them
 * ({@link ClusterStore#watch}). One watch over the whole cluster, rather than one per kind, keeps
 * that order across kinds: when a hub dies its record and its attachments go in one revision, and
 * a listener sees them together.
 *
 * <p>Calls arrive on a thread of the store's client, one at a time; each must return quickly and
 * must not call the store and wait on that thread (a hub queues them for its own thread).
 */
public interface ClusterListener {

    /** A client was added or changed. */
    void clientChanged(ClusterClient client, long revision);

    /** A client was removed. */
    void clientRemoved(byte[] publicKey, long revision);

    /** A hub announced itself or changed its record. */
    void hubUp(HubRecord hub, long revision);

    /** A hub's record went: it stopped, or its lease expired. */
    void hubGone(String hubId, long revision);

    /** A client is attached to a hub (it moved, or its hub recorded a new endpoint). */
    void attached(byte[] clientKey, Attachment attachment, long revision);

    /** A client's attachment went: its hub detached it, or the hub's lease expired. */
    void detached(byte[] clientKey, long revision);

    /**
     * The watch ended (the store went away, or the revision asked for was compacted): nothing
     * follows; read a {@link ClusterStore.Snapshot} again and watch from there.
     */
    void failed(StoreException problem);

    /** A stored value this version cannot read was skipped. */
    default void unreadable(String key, String problem) {
    }
}
