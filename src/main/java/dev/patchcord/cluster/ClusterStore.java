package dev.patchcord.cluster;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The state the hubs of one network share: its clients, the addresses leased to them, the hubs
 * that are alive and which hub each client is connected to. Key layout: {@link StoreKeys}; value
 * forms: {@link StoreValues}; design notes: docs/cluster-store.md.
 *
 * <p>Concurrency contract: every method may be called from any thread, concurrently with any
 * other, and by any number of instances (hubs) at once against the same cluster. Each request a
 * call makes to etcd either completes within the store's call timeout or makes the call throw
 * {@link StoreException}, whether the store is slow, unreachable or down; most calls make one
 * request (a record bound to the lease may need a grant first, and {@link #allocate} one
 * transaction per candidate it tries). Single-key writes are atomic; no method is
 * atomic across several keys except {@link #allocate} and {@link #release}, which use one etcd
 * transaction per address. Watch callbacks ({@link ClientListener}) arrive on a thread of the
 * store's client, one at a time and in revision order; a callback must return quickly and must
 * not call the store and wait for the answer on that thread.
 *
 * <p>Hub records and attachments are bound to one etcd lease per instance, kept alive while the
 * instance is open: when the hub's process dies, they disappear within the lease's time to live.
 * {@link #close()} revokes the lease, so they go at once.
 *
 * <p>Mesh directory servers use the part in {@link DirectoryStore}, whose entries no lease holds.
 */
public interface ClusterStore extends DirectoryStore, AutoCloseable {

    /** How long one call may take before it fails. */
    Duration DEFAULT_CALL_TIMEOUT = Duration.ofSeconds(3);

    /** The time to live of the hub lease: how long a dead hub's records outlive it, at most. */
    long DEFAULT_LEASE_TTL_SECONDS = 10;

    /**
     * The time to live of a hub's lease: a hub that dies is gone from the store, and its clients
     * called back by the others, this long after its last keep-alive. Short, since it is the most
     * of the failover gap; etcd carries leases over a leader change, so it need not outlast one.
     */
    long HUB_LEASE_TTL_SECONDS = 5;

    /** Connects as a hub: as {@link #open(StoreSettings)}, with {@link #HUB_LEASE_TTL_SECONDS}. */
    static ClusterStore openForHub(StoreSettings settings) throws StoreException {
        return EtcdClusterStore.connect(settings, DEFAULT_CALL_TIMEOUT, HUB_LEASE_TTL_SECONDS);
    }

    /**
     * Connects to the store of {@code settings} with the default timeouts. This is the one place
     * that reaches the etcd client library: a process that never calls it never loads it.
     */
    static ClusterStore open(StoreSettings settings) throws StoreException {
        return EtcdClusterStore.connect(settings, DEFAULT_CALL_TIMEOUT, DEFAULT_LEASE_TTL_SECONDS);
    }

    /** Adds a client or replaces the one with the same public key. */
    void putClient(ClusterClient client) throws StoreException;

    /** The client with this public key, if there is one. */
    Optional<ClusterClient> getClient(byte[] publicKey) throws StoreException;

    /** Removes a client; whether there was one. Its address leases stay until released. */
    boolean removeClient(byte[] publicKey) throws StoreException;

    /** Every client, with the store revision they were read at (for {@link #watchClients}). */
    Clients listClients() throws StoreException;

    /**
     * Gives this client the first address of {@code candidates} that no client holds, or the
     * one of them it already holds. Each address is claimed by a transaction that succeeds only if
     * its lease key does not exist, so no address goes to two clients, whatever the number of
     * callers and hubs. (One client asking twice at once on two hubs may end up with two; the
     * caller releases what it does not use.)
     *
     * @return the address, or empty when every candidate is taken
     */
    Optional<InetAddress> allocate(byte[] publicKey, List<InetAddress> candidates) throws StoreException;

    /** Gives back an address, if this client holds it; whether it did. */
    boolean release(byte[] publicKey, InetAddress address) throws StoreException;

    /** Every leased address and the public key of its holder. */
    Map<InetAddress, byte[]> leases() throws StoreException;

    /**
     * Removes a client and gives back every address it holds: what the lease keys say, not only
     * its allowed IPs. The record goes first, so the hubs drop the client before an address of
     * its can go to another. One request per step; not atomic as a whole.
     *
     * @return the addresses released
     */
    default List<InetAddress> removeClientAndLeases(byte[] publicKey) throws StoreException {
        removeClient(publicKey);
        List<InetAddress> released = new java.util.ArrayList<>();
        for (Map.Entry<InetAddress, byte[]> lease : leases().entrySet()) {
            if (java.util.Arrays.equals(lease.getValue(), publicKey) && release(publicKey, lease.getKey())) {
                released.add(lease.getKey());
            }
        }
        return released;
    }

    /** Announces a hub (or updates it), bound to this instance's lease. */
    void registerHub(HubRecord hub) throws StoreException;

    /** The hubs whose records are alive. */
    List<HubRecord> hubs() throws StoreException;

    /** Records that a client is connected to {@code hubId}, bound to this instance's lease. */
    default void attach(byte[] clientKey, String hubId) throws StoreException {
        attach(clientKey, new Attachment(hubId, null));
    }

    /**
     * Records that a client is connected to a hub, and where it was heard from, bound to this
     * instance's lease. The last write wins: a client that makes a handshake with another hub is
     * that hub's from then on, and the hub it left learns so from its watch.
     */
    void attach(byte[] clientKey, Attachment attachment) throws StoreException;

    /**
     * As {@link #attach(byte[], Attachment)}, only if the client has no attachment, or has this
     * very one (which is then bound to this instance's current lease): for a hub putting its
     * records back after its lease was lost, which must not undo a newer handshake the client
     * made with another hub meanwhile. Each step is one transaction.
     *
     * @return whether it was written
     */
    boolean attachIfAbsent(byte[] clientKey, Attachment attachment) throws StoreException;

    /** Removes the attachment if it still names {@code hubId} (another hub may have taken the client over). */
    boolean detach(byte[] clientKey, String hubId) throws StoreException;

    /** The hub a client is connected to, if any. */
    Optional<String> attachedHub(byte[] clientKey) throws StoreException;

    /**
     * Tells {@code listener} (on a thread of the store's client; it must return quickly) when this
     * instance's lease is lost: its keep-alive ended, so the hub record and attachments bound to
     * it will expire. Writing them again binds them to a new lease before they do.
     */
    default void onLeaseLost(Runnable listener) {
    }

    /** Every attachment: the hub id by client public key (base64), in key order. */
    Map<String, String> attachments() throws StoreException;

    /**
     * Calls {@code listener} for every change to the clients from {@code fromRevision} on
     * (inclusive; 0 for changes from now). After {@link #listClients()}, pass its revision + 1 to
     * miss nothing; after a failure, the last revision seen + 1 resumes where the watch stopped.
     */
    Subscription watchClients(long fromRevision, ClientListener listener) throws StoreException;

    /** Clients, live hubs and attachments, read at one revision (one etcd transaction). */
    Snapshot snapshot() throws StoreException;

    /**
     * Calls {@code listener} for every change to clients, hubs and attachments from {@code
     * fromRevision} on (a {@link #snapshot()}'s revision + 1 misses nothing). Address leases are
     * not reported.
     */
    Subscription watch(long fromRevision, ClusterListener listener) throws StoreException;

    /** Revokes this instance's lease (its hub records and attachments go at once) and disconnects. */
    @Override
    void close();

    /**
     * Clients as read at one revision.
     *
     * @param clients in key order
     * @param revision the store revision of the read
     */
    record Clients(List<ClusterClient> clients, long revision) {
        public Clients {
            clients = List.copyOf(clients);
        }
    }

    /**
     * What a hub needs to start from, read at one revision.
     *
     * @param attachments by client public key (standard base64)
     * @param unreadable entries skipped because this version cannot read them, each as "key: reason"
     */
    record Snapshot(List<ClusterClient> clients, List<HubRecord> hubs, Map<String, Attachment> attachments,
            long revision, List<String> unreadable) {
        public Snapshot {
            clients = List.copyOf(clients);
            hubs = List.copyOf(hubs);
            attachments = Map.copyOf(attachments);
            unreadable = List.copyOf(unreadable);
        }
    }

    /** Receives client changes; see the concurrency contract above for the thread. */
    interface ClientListener {
        /** A client was added or changed at {@code revision}. */
        void changed(ClusterClient client, long revision);

        /** A client was removed at {@code revision}. */
        void removed(byte[] publicKey, long revision);

        /**
         * The watch ended (the store went away for good, or {@code fromRevision} has been compacted
         * away, in which case list again). No call follows.
         */
        void failed(StoreException problem);

        /** A stored value this version cannot read was skipped. */
        default void unreadable(String key, String problem) {
        }
    }

    /** A running watch. */
    interface Subscription extends AutoCloseable {
        /** Stops the watch; after it returns no new callback begins (one already running may finish). */
        @Override
        void close();
    }
}
