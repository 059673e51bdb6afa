package dev.patchcord.e2e;

import dev.patchcord.cluster.ClusterClient;
import dev.patchcord.cluster.ClusterStore;
import dev.patchcord.cluster.EtcdClusterStore;
import dev.patchcord.cluster.HubRecord;
import dev.patchcord.cluster.StoreException;
import dev.patchcord.core.Cidr;
import dev.patchcord.lab.Lab;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link EtcdClusterStore} against a real etcd of its own on loopback, several store instances
 * standing for several hubs.
 */
class EtcdStoreIT {
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(2);
    private static final long TTL = 2;

    private EtcdServer etcd;
    private final List<ClusterStore> stores = new ArrayList<>();

    @BeforeEach
    void startEtcd() throws Exception {
        etcd = EtcdServer.start();
    }

    @AfterEach
    void stopEverything() throws Exception {
        try {
            stores.forEach(ClusterStore::close);
        } finally {
            etcd.close();
        }
    }

    private EtcdClusterStore store(String cluster) throws StoreException {
        EtcdClusterStore s = EtcdClusterStore.connect(etcd.settings(cluster), CALL_TIMEOUT, TTL);
        stores.add(s);
        return s;
    }

    private static byte[] key(int n) {
        byte[] k = new byte[32];
        k[0] = (byte) 0xfb;
        k[30] = (byte) (n >> 8);
        k[31] = (byte) n;
        return k;
    }

    @Test
    void clientsPutGetListRemove() throws Exception {
        ClusterStore a = store("net-a");
        ClusterStore other = store("net-b");
        ClusterClient c1 = new ClusterClient(key(1), "laptop", List.of(Cidr.parse("10.9.0.2/32")), key(99));
        ClusterClient c2 = new ClusterClient(key(2), "phone", List.of(Cidr.parse("10.9.0.3/32"), Cidr.parse("fd09::3/128")), null);
        a.putClient(c1);
        a.putClient(c2);
        assertThat(a.getClient(key(1))).contains(c1);
        assertThat(a.getClient(key(3))).isEmpty();
        assertThat(a.listClients().clients()).containsExactlyInAnyOrder(c1, c2);
        assertThat(other.listClients().clients()).as("another cluster's prefix").isEmpty();
        ClusterClient renamed = new ClusterClient(key(1), "laptop 2", c1.allowedIps(), null);
        a.putClient(renamed);
        assertThat(a.getClient(key(1))).contains(renamed);
        assertThat(a.removeClient(key(1))).isTrue();
        assertThat(a.removeClient(key(1))).isFalse();
        assertThat(a.listClients().clients()).containsExactly(c2);
    }

    @Test
    void concurrentAllocationsFromThreeHubsNeverShareAnAddress() throws Exception {
        List<ClusterStore> hubs = List.of(store("net"), store("net"), store("net"));
        List<InetAddress> candidates = hosts("10.77.0.0", 62); // a /26 without network and broadcast
        ExecutorService pool = Executors.newFixedThreadPool(16);
        List<Future<Optional<InetAddress>>> results = new ArrayList<>();
        try {
            for (int i = 0; i < 50; i++) {
                int n = i;
                results.add(pool.submit(() -> hubs.get(n % 3).allocate(key(n), candidates)));
            }
            Set<InetAddress> given = new HashSet<>();
            for (Future<Optional<InetAddress>> f : results) {
                given.add(f.get(60, TimeUnit.SECONDS).orElseThrow());
            }
            assertThat(given).hasSize(50);
        } finally {
            pool.shutdownNow();
            assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
        }
        Map<InetAddress, byte[]> leases = hubs.get(0).leases();
        assertThat(leases).hasSize(50);
        for (int i = 0; i < 50; i++) {
            InetAddress mine = hubs.get((i + 1) % 3).allocate(key(i), candidates).orElseThrow();
            assertThat(leases.get(mine)).as("client %d asking again on another hub keeps its address", i).isEqualTo(key(i));
        }
        Set<String> holders = new HashSet<>();
        leases.values().forEach(k -> holders.add(Arrays.toString(k)));
        assertThat(holders).as("one lease per client").hasSize(50);

        // The 12 addresses left, then none; a release frees exactly one.
        for (int i = 50; i < 62; i++) {
            assertThat(hubs.get(i % 3).allocate(key(i), candidates)).isPresent();
        }
        assertThat(hubs.get(0).allocate(key(62), candidates)).isEmpty();
        InetAddress first = candidates.getFirst();
        byte[] holder = hubs.get(1).leases().get(first);
        assertThat(hubs.get(1).release(key(62), first)).as("not the holder").isFalse();
        assertThat(hubs.get(1).release(holder, first)).isTrue();
        assertThat(hubs.get(2).allocate(key(62), candidates)).contains(first);
    }

    @Test
    void aDeadHubsRecordsExpireWithItsLease() throws Exception {
        EtcdClusterStore dying = store("net");
        EtcdClusterStore leaving = store("net");
        ClusterStore watcher = store("net");
        HubRecord h1 = new HubRecord("hub-1", "192.0.2.1:51821", key(201));
        HubRecord h2 = new HubRecord("hub-2", "192.0.2.2:51821", key(202));
        dying.registerHub(h1);
        dying.attach(key(1), "hub-1");
        leaving.registerHub(h2);
        leaving.attach(key(2), "hub-2");
        assertThat(watcher.hubs()).containsExactlyInAnyOrder(h1, h2);
        assertThat(watcher.attachedHub(key(1))).contains("hub-1");

        // Kept alive past several times the time to live.
        Thread.sleep(Duration.ofSeconds(3 * TTL));
        assertThat(watcher.hubs()).containsExactlyInAnyOrder(h1, h2);

        leaving.close();
        assertThat(watcher.hubs()).as("a revoked lease takes its records at once").containsExactly(h1);
        assertThat(watcher.attachedHub(key(2))).isEmpty();

        long abandoned = System.nanoTime();
        dying.abandon();
        assertThat(watcher.hubs()).as("still there until the lease runs out").containsExactly(h1);
        assertThat(Lab.await(Duration.ofSeconds(TTL + 5), () -> {
            try {
                return watcher.hubs().isEmpty() && watcher.attachedHub(key(1)).isEmpty();
            } catch (StoreException e) {
                throw new AssertionError(e);
            }
        })).as("records of the dead hub gone").isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - abandoned)).isLessThan(Duration.ofSeconds(TTL + 5));
    }

    @Test
    void aWatchSeesClientsOfAnotherHubAndResumes() throws Exception {
        ClusterStore a = store("net");
        ClusterStore b = store("net");
        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        long[] last = {0};
        ClusterStore.ClientListener listener = new ClusterStore.ClientListener() {
            @Override
            public void changed(ClusterClient client, long revision) {
                last[0] = revision;
                events.add("put " + client.name());
            }

            @Override
            public void removed(byte[] publicKey, long revision) {
                last[0] = revision;
                events.add("removed " + publicKey[31]);
            }

            @Override
            public void failed(StoreException problem) {
                events.add("failed " + problem.getMessage());
            }
        };
        a.putClient(new ClusterClient(key(1), "before", List.of(), null));
        long listed = b.listClients().revision();
        ClusterStore.Subscription w = b.watchClients(listed + 1, listener);
        a.putClient(new ClusterClient(key(2), "added", List.of(Cidr.parse("10.9.0.2/32")), null));
        assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("put added");
        a.removeClient(key(1));
        assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("removed 1");
        w.close();

        // Changes made while no one watched arrive when the watch resumes from the last revision seen.
        a.putClient(new ClusterClient(key(3), "while away", List.of(), null));
        try (ClusterStore.Subscription again = b.watchClients(last[0] + 1, listener)) {
            assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("put while away");
            assertThat(events.poll(300, TimeUnit.MILLISECONDS)).as("nothing twice").isNull();
        }
    }

    @Test
    void callsFailWithinTheTimeoutWhenEtcdIsDown() throws Exception {
        ClusterStore a = store("net");
        a.putClient(new ClusterClient(key(1), "x", List.of(), null));
        etcd.stop();
        ClusterStore fresh = store("net");
        for (ClusterStore s : List.of(a, fresh)) {
            long start = System.nanoTime();
            assertThatThrownBy(() -> s.getClient(key(1)))
                    .isInstanceOf(StoreException.class)
                    .hasMessageContaining("etcd at 127.0.0.1:" + etcd.clientPort);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(CALL_TIMEOUT.plusSeconds(2));
            start = System.nanoTime();
            assertThatThrownBy(() -> s.registerHub(new HubRecord("hub-9", "192.0.2.9:1", key(9))))
                    .isInstanceOf(StoreException.class);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(CALL_TIMEOUT.plusSeconds(2));
        }
    }

    private static List<InetAddress> hosts(String network, int count) throws UnknownHostException {
        byte[] base = InetAddress.getByName(network).getAddress();
        List<InetAddress> out = new ArrayList<>();
        for (int i = 1; i <= count; i++) {
            byte[] a = base.clone();
            a[3] = (byte) (a[3] + i);
            out.add(InetAddress.getByAddress(a));
        }
        return out;
    }
}
