package dev.patchcord.cli;

import dev.patchcord.cluster.ClusterClient;
import dev.patchcord.cluster.StoreException;
import dev.patchcord.cluster.StoreSettings;
import dev.patchcord.control.WgConfig;
import dev.patchcord.core.Cidr;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code patchcord peer} against a cluster's store, on an in-memory store: which addresses are
 * tried, what a failed add leaves behind (nothing), what remove gives back. The real command
 * against a real etcd is {@code e2e.ClusterPeerIT}.
 */
@Timeout(60)
class ClusterPeersTest {
    private static final String HUB = """
            [Interface]
            PrivateKey = cPKpYx9VpX8nYQqJjKOHkt2qR4CQ1c8rY0gB1l8Y3Xw=
            ListenPort = 51820
            Address = 10.8.0.1/24, fd00:8::1/64
            Store = etcd://127.0.0.1:2379
            Cluster = office

            [Peer]
            PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
            AllowedIPs = 10.8.0.2/32, 10.8.0.4/31
            """;

    private final MemoryClusterStore store = new MemoryClusterStore();
    private final WgConfig config = parse(HUB);
    private final ClusterPeers peers = new ClusterPeers(store, config.interfaceSection().store());

    private static WgConfig parse(String text) {
        try {
            return WgConfig.parse(text, "hub.conf");
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static byte[] key(int n) {
        byte[] k = new byte[32];
        k[0] = 0x42;
        k[30] = (byte) (n >> 8);
        k[31] = (byte) n;
        return k;
    }

    private static InetAddress ip(String s) {
        return InetAddress.ofLiteral(s);
    }

    private List<Cidr> add(String name, int n) throws StoreException {
        return peers.add(name, key(n), key(1000 + n), config.interfaceSection().addresses(),
                ClusterPeers.localTaken(config), null);
    }

    @Test
    void anAddSkipsTheServerItsFilesPeersAndWhatTheStoreHasLeased() throws Exception {
        store.allocate(key(99), List.of(ip("10.8.0.3")));
        List<Cidr> mine = add("alice", 1);
        // .1 the server, .2 and .4-.5 its file's peer, .3 leased in the store.
        assertThat(mine).containsExactly(Cidr.parse("10.8.0.6/32"), Cidr.parse("fd00:8::2/128"));
        ClusterClient c = store.getClient(key(1)).orElseThrow();
        assertThat(c.name()).isEqualTo("alice");
        assertThat(c.allowedIps()).isEqualTo(mine);
        assertThat(c.presharedKey()).isEqualTo(key(1001));
        assertThat(store.leases()).containsKeys(ip("10.8.0.6"), ip("fd00:8::2"));
        assertThat(store.leases().get(ip("10.8.0.6"))).isEqualTo(key(1));
        assertThat(add("bob", 2)).containsExactly(Cidr.parse("10.8.0.7/32"), Cidr.parse("fd00:8::3/128"));
        assertThat(ClusterPeers.line(c)).isEqualTo("alice\t" + java.util.Base64.getEncoder().encodeToString(key(1))
                + "\t10.8.0.6/32, fd00:8::2/128");
    }

    @Test
    void aNameTakenInTheStoreIsRefusedBeforeAnyAddressIsLeased() throws Exception {
        add("alice", 1);
        assertThatThrownBy(() -> add("alice", 2)).isInstanceOf(UserError.class)
                .hasMessage("a client named 'alice' is already in cluster office in etcd at 127.0.0.1:2379");
        assertThat(store.leases()).hasSize(2);
    }

    @Test
    void aFailedPutGivesBackEveryAddressItLeased() throws Exception {
        store.failPuts = true;
        assertThatThrownBy(() -> add("alice", 1)).isInstanceOf(StoreException.class).hasMessageContaining("client put");
        assertThat(store.leases()).isEmpty();
        store.failPuts = false;
        assertThat(store.getClient(key(1))).isEmpty();
    }

    @Test
    void aGivenAddressIsClaimedExactlyOrRefusedClearly() throws Exception {
        List<Cidr> mine = peers.add("alice", key(1), null, config.interfaceSection().addresses(), List.of(),
                List.of(Cidr.parse("10.8.0.50/32"), Cidr.parse("fd00:8::50/128")));
        assertThat(mine).containsExactly(Cidr.parse("10.8.0.50/32"), Cidr.parse("fd00:8::50/128"));
        assertThat(store.getClient(key(1)).orElseThrow().presharedKey()).isNull();
        // The first is free, the second is alice's: the first must not stay leased to bob.
        assertThatThrownBy(() -> peers.add("bob", key(2), null, List.of(), List.of(),
                List.of(Cidr.parse("10.8.0.51/32"), Cidr.parse("fd00:8::50/128"))))
                .isInstanceOf(UserError.class).hasMessage("fd00:8::50 is taken in cluster office in etcd at 127.0.0.1:2379");
        assertThat(store.leases()).containsOnlyKeys(ip("10.8.0.50"), ip("fd00:8::50"));
    }

    @Test
    void aFullSubnetSaysSoAndGivesBackTheOtherFamilysAddress() throws Exception {
        WgConfig small = parse(HUB.replace("Address = 10.8.0.1/24, fd00:8::1/64", "Address = fd00:8::1/64, 10.8.0.1/30")
                .replace("AllowedIPs = 10.8.0.2/32, 10.8.0.4/31", "AllowedIPs = 10.8.0.2/32"));
        assertThatThrownBy(() -> peers.add("alice", key(1), null, small.interfaceSection().addresses(),
                ClusterPeers.localTaken(small), null))
                .isInstanceOf(UserError.class).hasMessageStartingWith("no free address left in 10.8.0.0/30 in cluster office");
        assertThat(store.leases()).isEmpty();
    }

    @Test
    void removeDropsTheClientAndReleasesWhatItHolds() throws Exception {
        add("alice", 1);
        add("bob", 2);
        store.allocate(key(1), List.of(ip("10.8.0.99"))); // an address beyond its allowed IPs, still its own
        List<InetAddress> released = peers.remove("alice");
        assertThat(released).containsExactlyInAnyOrder(ip("10.8.0.3"), ip("fd00:8::2"), ip("10.8.0.99"));
        assertThat(store.getClient(key(1))).isEmpty();
        assertThat(store.getClient(key(2))).isPresent();
        assertThat(store.leases()).containsOnlyKeys(ip("10.8.0.6"), ip("fd00:8::3"));
        assertThatThrownBy(() -> peers.remove("alice")).isInstanceOf(UserError.class)
                .hasMessage("no client named 'alice' in cluster office in etcd at 127.0.0.1:2379");
        // Freed addresses go to the next client.
        assertThat(add("carol", 3)).containsExactly(Cidr.parse("10.8.0.3/32"), Cidr.parse("fd00:8::2/128"));
    }

    @Test
    void concurrentAddsGetDistinctAddresses() throws Exception {
        int n = 40;
        List<Future<List<Cidr>>> results = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
            for (int i = 0; i < n; i++) {
                int id = i + 1;
                results.add(pool.submit(() -> add("c" + id, id)));
            }
        }
        Set<Cidr> all = new HashSet<>();
        for (Future<List<Cidr>> f : results) {
            all.addAll(f.get());
        }
        assertThat(all).hasSize(2 * n);
        assertThat(store.listClients().clients()).hasSize(n);
    }

    @Test
    void aStoreThatIsDownIsOneLineNamingTheCluster() {
        store.down = true;
        StoreSettings s = config.interfaceSection().store();
        assertThatThrownBy(() -> ClusterPeers.run(store, s, p -> p.remove("alice")))
                .isInstanceOf(UserError.class)
                .hasMessage("cluster office: etcd at memory did not answer within 0 ms");
    }
}
