package dev.patchcord.cli;

import dev.patchcord.cluster.ClusterClient;
import dev.patchcord.cluster.ClusterStore;
import dev.patchcord.cluster.HubRecord;
import dev.patchcord.cluster.StoreException;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The clients and address leases of a {@link ClusterStore} in memory, with the store's rules
 * (an address goes to one client; a release only by its holder), for testing what the command
 * line does with a store without an etcd. Every method is synchronized: one lock is the
 * transaction. {@link #down} makes every call fail as an unreachable store does; {@link #failPuts}
 * only client writes. Hubs, watches and the directory are not modelled.
 */
final class MemoryClusterStore implements ClusterStore {
    private final Map<String, ClusterClient> clients = new TreeMap<>();
    private final Map<InetAddress, byte[]> leases = new LinkedHashMap<>();
    volatile boolean down;
    volatile boolean failPuts;
    int allocations;

    private void check() throws StoreException {
        if (down) {
            throw new StoreException("etcd at memory did not answer within 0 ms");
        }
    }

    private static String id(byte[] key) {
        return Base64.getEncoder().encodeToString(key);
    }

    @Override
    public synchronized void putClient(ClusterClient client) throws StoreException {
        check();
        if (failPuts) {
            throw new StoreException("etcd at memory failed a client put: refused");
        }
        clients.put(id(client.publicKey()), client);
    }

    @Override
    public synchronized Optional<ClusterClient> getClient(byte[] publicKey) throws StoreException {
        check();
        return Optional.ofNullable(clients.get(id(publicKey)));
    }

    @Override
    public synchronized boolean removeClient(byte[] publicKey) throws StoreException {
        check();
        return clients.remove(id(publicKey)) != null;
    }

    @Override
    public synchronized Clients listClients() throws StoreException {
        check();
        return new Clients(new ArrayList<>(clients.values()), 1);
    }

    @Override
    public synchronized Optional<InetAddress> allocate(byte[] publicKey, List<InetAddress> candidates) throws StoreException {
        check();
        allocations++;
        for (InetAddress c : candidates) {
            byte[] holder = leases.get(c);
            if (holder == null) {
                leases.put(c, publicKey.clone());
                return Optional.of(c);
            }
            if (Arrays.equals(holder, publicKey)) {
                return Optional.of(c);
            }
        }
        return Optional.empty();
    }

    @Override
    public synchronized boolean release(byte[] publicKey, InetAddress address) throws StoreException {
        check();
        if (Arrays.equals(leases.get(address), publicKey)) {
            leases.remove(address);
            return true;
        }
        return false;
    }

    @Override
    public synchronized Map<InetAddress, byte[]> leases() throws StoreException {
        check();
        Map<InetAddress, byte[]> out = new LinkedHashMap<>();
        leases.forEach((a, k) -> out.put(a, k.clone()));
        return out;
    }

    @Override
    public void registerHub(HubRecord hub) {
        throw new UnsupportedOperationException("hubs are not modelled");
    }

    @Override
    public List<HubRecord> hubs() {
        return List.of();
    }

    @Override
    public void attach(byte[] clientKey, dev.patchcord.cluster.Attachment attachment) {
        throw new UnsupportedOperationException("hubs are not modelled");
    }

    @Override
    public boolean attachIfAbsent(byte[] clientKey, dev.patchcord.cluster.Attachment attachment) {
        throw new UnsupportedOperationException("hubs are not modelled");
    }

    @Override
    public boolean detach(byte[] clientKey, String hubId) {
        return false;
    }

    @Override
    public Optional<String> attachedHub(byte[] clientKey) {
        return Optional.empty();
    }

    @Override
    public Map<String, String> attachments() {
        return Map.of();
    }

    @Override
    public Subscription watchClients(long fromRevision, ClientListener listener) {
        throw new UnsupportedOperationException("watches are not modelled");
    }

    @Override
    public Snapshot snapshot() {
        throw new UnsupportedOperationException("hubs are not modelled");
    }

    @Override
    public Subscription watch(long fromRevision, dev.patchcord.cluster.ClusterListener listener) {
        throw new UnsupportedOperationException("watches are not modelled");
    }

    @Override
    public void putDirectoryEntry(byte[] memberKey, dev.patchcord.cluster.DirectoryEntry entry) {
        throw new UnsupportedOperationException("the directory is not modelled");
    }

    @Override
    public long readDirectory(DirectoryListener listener) {
        throw new UnsupportedOperationException("the directory is not modelled");
    }

    @Override
    public Subscription watchDirectory(long fromRevision, DirectoryListener listener) {
        throw new UnsupportedOperationException("the directory is not modelled");
    }

    @Override
    public void close() {
    }
}
