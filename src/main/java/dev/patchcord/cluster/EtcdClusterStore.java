package dev.patchcord.cluster;

import dev.patchcord.core.Cidr;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Lease;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.LeaseOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.support.CloseableClient;
import io.etcd.jetcd.watch.WatchEvent;
import io.grpc.stub.StreamObserver;

import java.io.File;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@link ClusterStore} on etcd v3 through jetcd. The only class that names jetcd (and with it
 * gRPC, Netty and Vert.x), so that none of them loads unless a store is configured.
 *
 * <p>Every call waits for its future at most the call timeout and then cancels it: jetcd itself
 * would wait for an unreachable cluster to come back (gRPC's wait-for-ready) and retry for long.
 */
public final class EtcdClusterStore implements ClusterStore {
    static {
        // Before the client's libraries initialise (this class is the only way to them): Netty
        // would use sun.misc.Unsafe, for which JDK 25 prints a warning, and SLF4J finds no logging
        // backend and says so on standard error. Neither is of use to a control-plane client; a
        // value given on the command line is kept.
        setIfAbsent("io.netty.noUnsafe", "true");
        setIfAbsent("slf4j.internal.verbosity", "ERROR");
    }

    private static void setIfAbsent(String property, String value) {
        if (System.getProperty(property) == null) {
            System.setProperty(property, value);
        }
    }

    private static final GetOption PREFIX = GetOption.builder().isPrefix(true).build();

    private final Client client;
    private final KV kv;
    private final Lease leases;
    private final Watch watch;
    private final StoreKeys keys;
    private final Duration timeout;
    private final long ttlSeconds;
    private final String where;

    private final Object leaseLock = new Object();
    /** This instance's etcd lease, 0 before the first record that needs it or after it was lost. */
    private long leaseId;
    private CloseableClient keepAlive;
    /** Told when the lease is lost, so the owner can put its records back under a new one. */
    private Runnable leaseLost;
    private final List<Watch.Watcher> watchers = new ArrayList<>();
    private boolean closed;

    private EtcdClusterStore(Client client, StoreSettings settings, Duration timeout, long ttlSeconds) {
        this.client = client;
        this.kv = client.getKVClient();
        this.leases = client.getLeaseClient();
        this.watch = client.getWatchClient();
        this.keys = new StoreKeys(settings.cluster());
        this.timeout = timeout;
        this.ttlSeconds = ttlSeconds;
        this.where = String.join(",", settings.endpoints());
    }

    /**
     * A store client for {@code settings}. The connection is made by the first call, which fails
     * within {@code callTimeout} if no member answers.
     *
     * @param callTimeout the longest any one call may take
     * @param leaseTtlSeconds the time to live of the lease that hub records and attachments are bound to
     */
    public static EtcdClusterStore connect(StoreSettings settings, Duration callTimeout, long leaseTtlSeconds)
            throws StoreException {
        if (callTimeout.isNegative() || callTimeout.isZero() || leaseTtlSeconds < 1) {
            throw new IllegalArgumentException("call timeout and lease time to live must be positive");
        }
        ClientBuilder b = Client.builder()
                .endpoints(settings.uris())
                .connectTimeout(callTimeout)
                // jetcd retries a failed call by itself; never for longer than a caller waits.
                .retryMaxDuration(callTimeout)
                // A hub's snapshot of ten thousands of clients is more than gRPC's 4 MiB default.
                .maxInboundMessageSize(256 << 20)
                .keepaliveTime(Duration.ofSeconds(10))
                .keepaliveTimeout(callTimeout);
        if (settings.tls()) {
            try {
                b.sslContext(ssl -> {
                    ssl.trustManager(new File(settings.caFile()));
                    if (settings.certFile() != null) {
                        ssl.keyManager(new File(settings.certFile()), new File(settings.keyFile()));
                    }
                });
            } catch (Exception e) {
                throw new StoreException("StoreCA/StoreCert/StoreKey cannot be used: " + oneLine(e), e);
            }
        }
        return new EtcdClusterStore(b.build(), settings, callTimeout, leaseTtlSeconds);
    }

    @Override
    public void putClient(ClusterClient c) throws StoreException {
        await(kv.put(bytes(keys.client(c.publicKey())), ByteSequence.from(StoreValues.client(c))), "a client put");
    }

    @Override
    public Optional<ClusterClient> getClient(byte[] publicKey) throws StoreException {
        GetResponse r = await(kv.get(bytes(keys.client(publicKey))), "a client get");
        if (r.getKvs().isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(decode(() -> StoreValues.readClient(publicKey, r.getKvs().getFirst().getValue().getBytes()),
                keys.client(publicKey)));
    }

    @Override
    public boolean removeClient(byte[] publicKey) throws StoreException {
        return await(kv.delete(bytes(keys.client(publicKey))), "a client removal").getDeleted() > 0;
    }

    @Override
    public Clients listClients() throws StoreException {
        GetResponse r = await(kv.get(bytes(keys.clientsPrefix()), PREFIX), "the client list");
        List<ClusterClient> out = new ArrayList<>();
        for (KeyValue e : r.getKvs()) {
            String key = text(e.getKey());
            out.add(decode(() -> StoreValues.readClient(StoreKeys.keyAfter(keys.clientsPrefix(), key), e.getValue().getBytes()), key));
        }
        return new Clients(out, r.getHeader().getRevision());
    }

    @Override
    public Optional<InetAddress> allocate(byte[] publicKey, List<InetAddress> candidates) throws StoreException {
        byte[] mine = StoreValues.lease(publicKey);
        // One read first: a client that already holds a candidate gets it again (a reconnecting
        // client keeps its address), and addresses known to be taken cost no transaction. The
        // read may be stale by the time of the transactions; they alone decide.
        Set<String> taken = new HashSet<>();
        for (KeyValue e : await(kv.get(bytes(keys.leasesPrefix()), PREFIX), "the lease list").getKvs()) {
            String key = text(e.getKey());
            taken.add(key);
            if (Arrays.equals(e.getValue().getBytes(), mine)) {
                for (InetAddress c : candidates) {
                    if (keys.lease(c).equals(key)) {
                        return Optional.of(c);
                    }
                }
            }
        }
        for (InetAddress c : candidates) {
            String key = keys.lease(c);
            if (taken.contains(key)) {
                continue;
            }
            ByteSequence k = bytes(key);
            // Claimed only if the key has never been created since it was last deleted: create
            // revision 0 is etcd's "does not exist", compared and written in one step.
            TxnResponse r = await(kv.txn()
                    .If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.createRevision(0)))
                    .Then(Op.put(k, ByteSequence.from(mine), PutOption.DEFAULT))
                    .Else(Op.get(k, GetOption.DEFAULT))
                    .commit(), "an address claim");
            if (r.isSucceeded()) {
                return Optional.of(c);
            }
            List<KeyValue> holder = r.getGetResponses().isEmpty() ? List.of() : r.getGetResponses().getFirst().getKvs();
            if (!holder.isEmpty() && Arrays.equals(holder.getFirst().getValue().getBytes(), mine)) {
                return Optional.of(c);
            }
        }
        return Optional.empty();
    }

    @Override
    public boolean release(byte[] publicKey, InetAddress address) throws StoreException {
        return deleteIfValue(keys.lease(address), StoreValues.lease(publicKey), "an address release");
    }

    /** Deletes {@code key} in one transaction if it still holds {@code value}; whether it did. */
    private boolean deleteIfValue(String key, byte[] value, String what) throws StoreException {
        ByteSequence k = bytes(key);
        return await(kv.txn()
                .If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.value(ByteSequence.from(value))))
                .Then(Op.delete(k, DeleteOption.DEFAULT))
                .commit(), what).isSucceeded();
    }

    @Override
    public Map<InetAddress, byte[]> leases() throws StoreException {
        Map<InetAddress, byte[]> out = new LinkedHashMap<>();
        for (KeyValue e : await(kv.get(bytes(keys.leasesPrefix()), PREFIX), "the lease list").getKvs()) {
            String key = text(e.getKey());
            decode(() -> out.put(Cidr.parseAddress(key.substring(keys.leasesPrefix().length())),
                    StoreValues.readLease(e.getValue().getBytes())), key);
        }
        return out;
    }

    @Override
    public void registerHub(HubRecord hub) throws StoreException {
        putWithLease(keys.hub(hub.id()), StoreValues.hub(hub), "a hub record");
    }

    @Override
    public List<HubRecord> hubs() throws StoreException {
        List<HubRecord> out = new ArrayList<>();
        for (KeyValue e : await(kv.get(bytes(keys.hubsPrefix()), PREFIX), "the hub list").getKvs()) {
            String key = text(e.getKey());
            out.add(decode(() -> StoreValues.readHub(key.substring(keys.hubsPrefix().length()), e.getValue().getBytes()), key));
        }
        return out;
    }

    @Override
    public void attach(byte[] clientKey, Attachment attachment) throws StoreException {
        putWithLease(keys.attach(clientKey), StoreValues.attach(attachment), "an attachment");
    }

    @Override
    public boolean attachIfAbsent(byte[] clientKey, Attachment attachment) throws StoreException {
        long id = lease();
        ByteSequence k = bytes(keys.attach(clientKey));
        ByteSequence v = ByteSequence.from(StoreValues.attach(attachment));
        PutOption withLease = PutOption.builder().withLeaseId(id).build();
        TxnResponse r = await(kv.txn()
                .If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.createRevision(0)))
                .Then(Op.put(k, v, withLease))
                .Else(Op.get(k, GetOption.DEFAULT))
                .commit(), "an attachment");
        if (r.isSucceeded()) {
            return true;
        }
        List<KeyValue> held = r.getGetResponses().isEmpty() ? List.of() : r.getGetResponses().getFirst().getKvs();
        if (held.isEmpty() || !held.getFirst().getValue().equals(v)) {
            return false; // another hub's (or another endpoint's): theirs stands
        }
        // Already this very attachment, under a lease that may be on its way out: bound to ours now.
        return await(kv.txn()
                .If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.value(v)))
                .Then(Op.put(k, v, withLease))
                .commit(), "an attachment").isSucceeded();
    }

    @Override
    public boolean detach(byte[] clientKey, String hubId) throws StoreException {
        // The value also holds an endpoint, so it cannot be compared whole: read it, and delete
        // only if nobody wrote the key since (its mod revision is unchanged).
        String key = keys.attach(clientKey);
        ByteSequence k = bytes(key);
        GetResponse r = await(kv.get(k), "an attachment get");
        if (r.getKvs().isEmpty()) {
            return false;
        }
        KeyValue e = r.getKvs().getFirst();
        if (!decode(() -> StoreValues.readAttach(e.getValue().getBytes()), key).equals(hubId)) {
            return false;
        }
        return await(kv.txn()
                .If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.modRevision(e.getModRevision())))
                .Then(Op.delete(k, DeleteOption.DEFAULT))
                .commit(), "a detachment").isSucceeded();
    }

    @Override
    public Optional<String> attachedHub(byte[] clientKey) throws StoreException {
        String key = keys.attach(clientKey);
        GetResponse r = await(kv.get(bytes(key)), "an attachment get");
        if (r.getKvs().isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(decode(() -> StoreValues.readAttach(r.getKvs().getFirst().getValue().getBytes()), key));
    }

    @Override
    public Map<String, String> attachments() throws StoreException {
        Map<String, String> out = new LinkedHashMap<>();
        String prefix = keys.attachPrefix();
        for (KeyValue e : await(kv.get(bytes(prefix), PREFIX), "the attachment list").getKvs()) {
            String key = text(e.getKey());
            out.put(decode(() -> java.util.Base64.getEncoder().encodeToString(StoreKeys.keyAfter(prefix, key)), key),
                    decode(() -> StoreValues.readAttach(e.getValue().getBytes()), key));
        }
        return out;
    }

    @Override
    public Subscription watchClients(long fromRevision, ClientListener listener) throws StoreException {
        String prefix = keys.clientsPrefix();
        return watchPrefix(prefix, fromRevision, (e, put) -> {
            String key = text(e.getKey());
            try {
                byte[] publicKey = StoreKeys.keyAfter(prefix, key);
                if (put) {
                    listener.changed(StoreValues.readClient(publicKey, e.getValue().getBytes()), e.getModRevision());
                } else {
                    listener.removed(publicKey, e.getModRevision());
                }
            } catch (IllegalArgumentException x) {
                listener.unreadable(key, x.getMessage());
            }
        }, listener::failed);
    }

    @Override
    public Snapshot snapshot() throws StoreException {
        // One transaction with no condition: its three reads see one revision.
        TxnResponse r = await(kv.txn()
                .Then(Op.get(bytes(keys.clientsPrefix()), PREFIX), Op.get(bytes(keys.hubsPrefix()), PREFIX),
                        Op.get(bytes(keys.attachPrefix()), PREFIX))
                .commit(), "the cluster snapshot");
        List<GetResponse> gets = r.getGetResponses();
        // An entry this version cannot read is skipped and named, as the watch does: one bad
        // record must not keep every hub from loading all the others.
        List<String> unreadable = new ArrayList<>();
        List<ClusterClient> clients = new ArrayList<>();
        for (KeyValue e : gets.get(0).getKvs()) {
            String key = text(e.getKey());
            skipUnreadable(unreadable, key, () -> clients.add(StoreValues.readClient(
                    StoreKeys.keyAfter(keys.clientsPrefix(), key), e.getValue().getBytes())));
        }
        List<HubRecord> hubs = new ArrayList<>();
        for (KeyValue e : gets.get(1).getKvs()) {
            String key = text(e.getKey());
            skipUnreadable(unreadable, key, () -> hubs.add(StoreValues.readHub(key.substring(keys.hubsPrefix().length()),
                    e.getValue().getBytes())));
        }
        Map<String, Attachment> attachments = new LinkedHashMap<>();
        for (KeyValue e : gets.get(2).getKvs()) {
            String key = text(e.getKey());
            skipUnreadable(unreadable, key, () -> attachments.put(
                    java.util.Base64.getEncoder().encodeToString(StoreKeys.keyAfter(keys.attachPrefix(), key)),
                    StoreValues.readAttachment(e.getValue().getBytes())));
        }
        return new Snapshot(clients, hubs, attachments, r.getHeader().getRevision(), unreadable);
    }

    @Override
    public Subscription watch(long fromRevision, ClusterListener listener) throws StoreException {
        String clients = keys.clientsPrefix();
        String hubs = keys.hubsPrefix();
        String attach = keys.attachPrefix();
        return watchPrefix(keys.prefix(), fromRevision, (e, put) -> {
            String key = text(e.getKey());
            long rev = e.getModRevision();
            try {
                if (key.startsWith(clients)) {
                    byte[] k = StoreKeys.keyAfter(clients, key);
                    if (put) {
                        listener.clientChanged(StoreValues.readClient(k, e.getValue().getBytes()), rev);
                    } else {
                        listener.clientRemoved(k, rev);
                    }
                } else if (key.startsWith(hubs)) {
                    String id = key.substring(hubs.length());
                    if (put) {
                        listener.hubUp(StoreValues.readHub(id, e.getValue().getBytes()), rev);
                    } else {
                        listener.hubGone(StoreKeys.checkHubId(id), rev);
                    }
                } else if (key.startsWith(attach)) {
                    byte[] k = StoreKeys.keyAfter(attach, key);
                    if (put) {
                        listener.attached(k, StoreValues.readAttachment(e.getValue().getBytes()), rev);
                    } else {
                        listener.detached(k, rev);
                    }
                } // address leases and keys of later versions: not this listener's business
            } catch (IllegalArgumentException x) {
                listener.unreadable(key, x.getMessage());
            }
        }, listener::failed);
    }

    @Override
    public void putDirectoryEntry(byte[] memberKey, DirectoryEntry entry) throws StoreException {
        await(kv.put(bytes(keys.directory(memberKey)), ByteSequence.from(StoreValues.directoryEntry(entry))),
                "a directory entry put");
    }

    @Override
    public long readDirectory(DirectoryListener listener) throws StoreException {
        String prefix = keys.directoryPrefix();
        GetResponse r = await(kv.get(bytes(prefix), PREFIX), "the directory entries");
        for (KeyValue e : r.getKvs()) {
            directoryEvent(prefix, e, true, listener);
        }
        return r.getHeader().getRevision();
    }

    @Override
    public Subscription watchDirectory(long fromRevision, DirectoryListener listener) throws StoreException {
        String prefix = keys.directoryPrefix();
        return watchPrefix(prefix, fromRevision, (e, put) -> directoryEvent(prefix, e, put, listener), listener::failed);
    }

    /** What a watch does with one put ({@code put}) or delete under its prefix. */
    private interface PrefixEvent {
        void on(KeyValue e, boolean put);
    }

    /**
     * Watches every key under {@code prefix} from {@code fromRevision} on: each put or delete to
     * {@code events}, in etcd's order, none after the subscription is closed; the watch's end to
     * {@code failed}, unless the subscription was closed first. The one watch all three kinds share.
     */
    private Subscription watchPrefix(String prefix, long fromRevision, PrefixEvent events,
            java.util.function.Consumer<StoreException> failed) throws StoreException {
        if (fromRevision < 0) {
            throw new IllegalArgumentException("revision " + fromRevision + " is negative");
        }
        WatchOption option = WatchOption.builder().isPrefix(true).withRevision(fromRevision).build();
        var stopped = new java.util.concurrent.atomic.AtomicBoolean();
        Watch.Watcher w = watch.watch(bytes(prefix), option, Watch.listener(response -> {
            for (WatchEvent ev : response.getEvents()) {
                if (stopped.get()) {
                    return;
                }
                switch (ev.getEventType()) {
                    case PUT -> events.on(ev.getKeyValue(), true);
                    case DELETE -> events.on(ev.getKeyValue(), false);
                    default -> { } // UNRECOGNIZED: nothing a client of this version understands
                }
            }
        }, error -> {
            if (!stopped.get()) {
                failed.accept(new StoreException("watch on " + prefix + " at " + where + " ended: " + oneLine(error), error));
            }
        }));
        return register(w, stopped);
    }

    /** One entry to the listener; an entry it cannot read is reported, not thrown: the others still count. */
    private static void directoryEvent(String prefix, KeyValue e, boolean put, DirectoryListener listener) {
        String key = text(e.getKey());
        try {
            byte[] member = StoreKeys.keyAfter(prefix, key);
            if (put) {
                listener.changed(member, StoreValues.readDirectoryEntry(e.getValue().getBytes()), e.getModRevision());
            } else {
                listener.removed(member, e.getModRevision());
            }
        } catch (IllegalArgumentException x) {
            listener.unreadable(key, x.getMessage());
        }
    }

    /** Keeps a new watch for {@link #close()}, or closes it if the store already is. */
    private Subscription register(Watch.Watcher w, java.util.concurrent.atomic.AtomicBoolean stopped) throws StoreException {
        synchronized (leaseLock) {
            if (closed) {
                w.close();
                throw new StoreException("the store is closed");
            }
            watchers.add(w);
        }
        return () -> {
            stopped.set(true);
            w.close();
            synchronized (leaseLock) {
                watchers.remove(w); // a hub that watches again after each outage keeps no dead watchers
            }
        };
    }

    /**
     * Stops keeping this instance's lease alive and disconnects without revoking it, as a hub
     * that dies does: its hub records and attachments stay until the lease's time to live runs
     * out. For a hub that hands over to a successor, and for tests of that expiry.
     */
    public void abandon() {
        shutDown(false);
    }

    @Override
    public void close() {
        shutDown(true);
    }

    private void shutDown(boolean revoke) {
        long id;
        synchronized (leaseLock) {
            if (closed) {
                return;
            }
            closed = true;
            id = leaseId;
            if (keepAlive != null) {
                keepAlive.close();
            }
            watchers.forEach(Watch.Watcher::close);
        }
        if (revoke && id != 0) {
            try {
                await(leases.revoke(id), "the lease revocation");
            } catch (StoreException e) {
                // The lease then expires by its time to live; nothing more can be done from here.
            }
        }
        client.close();
    }

    /** Puts a key bound to this instance's lease, granting (again) a lease first if there is none. */
    private void putWithLease(String key, byte[] value, String what) throws StoreException {
        long id = lease();
        await(kv.put(bytes(key), ByteSequence.from(value), PutOption.builder().withLeaseId(id).build()), what);
    }

    private long lease() throws StoreException {
        synchronized (leaseLock) {
            if (closed) {
                throw new StoreException("the store is closed");
            }
            if (leaseId != 0) {
                return leaseId;
            }
            // Granted under the lock: two threads must not each start a lease and keep-alive.
            long id = await(leases.grant(ttlSeconds), "a lease grant").getID();
            leaseId = id;
            keepAlive = leases.keepAlive(id, new StreamObserver<>() {
                @Override
                public void onNext(LeaseKeepAliveResponse response) {
                    if (response.getTTL() <= 0) {
                        lost(id); // etcd no longer knows the lease: it expired
                    }
                }

                @Override
                public void onError(Throwable t) {
                    // The client reports every break of the keep-alive stream here (a leader
                    // change, a member restarting) and opens the stream again by itself, so a
                    // break is not a loss: ask etcd whether the lease still lives. If etcd cannot
                    // be asked, the stream's next answer or break asks again.
                    leases.timeToLive(id, LeaseOption.DEFAULT).whenComplete((r, e) -> {
                        if (e == null && r.getTTL() <= 0) {
                            lost(id);
                        }
                    });
                }

                @Override
                public void onCompleted() {
                    lost(id); // the client gave the lease up
                }
            });
            return id;
        }
    }

    /**
     * The lease expired (etcd unreachable for longer than its time to live) or its keep-alive
     * stopped: what was bound to it is gone, and the next record needs a new lease. Putting the
     * hub record and attachments back is the hub's part.
     */
    private void lost(long id) {
        Runnable tell = null;
        synchronized (leaseLock) {
            if (leaseId == id) {
                leaseId = 0;
                if (keepAlive != null) {
                    keepAlive.close();
                    keepAlive = null;
                }
                tell = closed ? null : leaseLost;
            }
        }
        if (tell != null) {
            tell.run();
        }
    }

    @Override
    public void onLeaseLost(Runnable listener) {
        synchronized (leaseLock) {
            leaseLost = listener;
        }
    }

    private <T> T await(CompletableFuture<T> future, String what) throws StoreException {
        try {
            return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            future.cancel(true);
            throw new StoreException("etcd at " + where + " did not answer " + what + " within " + timeout.toMillis() + " ms");
        } catch (InterruptedException e) {
            future.cancel(true);
            Thread.currentThread().interrupt();
            throw new StoreException(what + " was interrupted", e);
        } catch (ExecutionException e) {
            throw new StoreException("etcd at " + where + " failed " + what + ": " + oneLine(e.getCause()), e.getCause());
        }
    }

    private static void skipUnreadable(List<String> unreadable, String key, Runnable read) {
        try {
            read.run();
        } catch (IllegalArgumentException e) {
            unreadable.add(key + ": " + e.getMessage());
        }
    }

    private interface Decoding<T> {
        T run();
    }

    private static <T> T decode(Decoding<T> d, String key) throws StoreException {
        try {
            return d.run();
        } catch (IllegalArgumentException e) {
            throw new StoreException("stored value of " + key + " cannot be read: " + e.getMessage(), e);
        }
    }

    private static String oneLine(Throwable t) {
        String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    private static String text(ByteSequence b) {
        return b.toString(StandardCharsets.UTF_8);
    }
}
