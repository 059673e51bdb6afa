package dev.patchcord.e2e;

import dev.patchcord.cluster.ClusterClient;
import dev.patchcord.cluster.StoreKeys;
import dev.patchcord.cluster.StoreValues;
import dev.patchcord.core.Cidr;
import dev.patchcord.lab.EtcdCluster;
import dev.patchcord.lab.Lab;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A cluster of hubs for end-to-end tests: an etcd of 1 or 3 members, hubs sharing one key, and
 * clients (patchcord or wireguard-go), every namespace joined to the store network
 * (10.250.0.0/24), which is also the underlay the tunnels run over. Clients are put into the store
 * with etcdctl, as any tool would; the tunnel network is 10.60.0.0/24, every hub is 10.60.0.1.
 */
final class ClusterLab {
    static final int HUB_PORT = 51820;
    static final int BACKPLANE_PORT = 51821;

    final Lab lab;
    final EtcdCluster etcd;
    final String cluster;
    final WireGuardPeers.KeyPair hubKeys;
    final List<Hub> hubs = new ArrayList<>();
    private int clients;

    record Hub(String id, String ns, String underlay, String ifname, String process, Path config) {}

    record Client(String name, String ns, String underlay, String address, WireGuardPeers.KeyPair keys, String ifname,
            String process) {}

    ClusterLab(Lab lab, int etcdMembers) {
        this.lab = lab;
        this.etcd = EtcdCluster.start(lab, etcdMembers);
        this.cluster = "t" + lab.prefix().toLowerCase().replaceAll("[^a-z0-9]", "");
        String ns = lab.netns("keys");
        this.hubKeys = WireGuardPeers.keys(lab, ns);
    }

    /** Starts hub {@code id} in a namespace of its own and waits until it is ready. */
    Hub startHub(String id) throws IOException {
        String ns = lab.netns(id);
        String underlay = etcd.join(ns);
        String ifname = WireGuardPeers.ifname("h");
        Path conf = WireGuardPeers.config(lab, ifname, """
                [Interface]
                PrivateKey = %s
                ListenPort = %d
                Address = 10.60.0.1/24
                Store = %s
                Cluster = %s
                HubId = %s
                Backplane = %s:%d
                """.formatted(hubKeys.privateKey(), HUB_PORT, etcd.endpoints(), cluster, id, underlay, BACKPLANE_PORT));
        Hub h = new Hub(id, ns, underlay, ifname, "hub-" + id, conf);
        WireGuardPeers.patchcordUp(lab, ns, h.process(), conf);
        hubs.add(h);
        return h;
    }

    /** Puts a client into the store (as etcdctl would) and returns its keys and tunnel address. */
    Client addClient(String name, boolean wireguardGo) {
        int n = ++clients;
        String ns = lab.netns(name);
        String underlay = etcd.join(ns);
        WireGuardPeers.KeyPair keys = WireGuardPeers.keys(lab, ns);
        String address = "10.60.0." + (10 + n);
        byte[] pub = Base64.getDecoder().decode(keys.publicKey());
        ClusterClient c = new ClusterClient(pub, name, List.of(Cidr.parse(address + "/32")), null);
        Lab.Result put = etcd.etcdctl(ns, Duration.ofSeconds(10), "put", new StoreKeys(cluster).client(pub),
                new String(StoreValues.client(c), StandardCharsets.UTF_8));
        assertThat(put.code()).as(put.output()).isZero();
        String ifname = WireGuardPeers.ifname(wireguardGo ? "g" : "c");
        return new Client(name, ns, underlay, address, keys, ifname, (wireguardGo ? "wg-go-" : "client-") + name);
    }

    /** Brings a client's tunnel up towards {@code hub}. */
    Client connect(Client c, Hub hub, boolean wireguardGo) throws IOException {
        if (wireguardGo) {
            WireGuardPeers.wireguardGo(lab, c.ns(), c.ifname(), c.keys(), 0, c.address() + "/24",
                    List.of("peer", hubKeys.publicKey(), "endpoint", hub.underlay() + ":" + HUB_PORT,
                            "allowed-ips", "10.60.0.0/24", "persistent-keepalive", "25"));
        } else {
            Path conf = WireGuardPeers.config(lab, c.ifname(), """
                    [Interface]
                    PrivateKey = %s
                    Address = %s/24

                    [Peer]
                    PublicKey = %s
                    Endpoint = %s:%d
                    AllowedIPs = 10.60.0.0/24
                    PersistentKeepalive = 25
                    """.formatted(c.keys().privateKey(), c.address(), hubKeys.publicKey(), hub.underlay(), HUB_PORT));
            WireGuardPeers.patchcordUp(lab, c.ns(), c.process(), conf);
        }
        Tunnels.reach(lab, c.ns(), "10.60.0.1");
        return c;
    }

    /** The hub id each client is attached to, as the store has it, by client name order of the given list. */
    String attachedHub(Client c) {
        String key = new StoreKeys(cluster).attach(Base64.getDecoder().decode(c.keys().publicKey()));
        Lab.Result r = etcd.etcdctl(c.ns(), Duration.ofSeconds(10), "get", key, "--print-value-only");
        if (r.code() != 0) {
            return null;
        }
        for (String line : r.output().split("\n")) {
            if (line.startsWith("hub=")) {
                return line.substring(4).strip();
            }
        }
        return null;
    }

    /** Waits until the store says the client is attached to {@code hubId}. */
    void awaitAttached(Client c, String hubId) {
        boolean ok = Lab.await(Duration.ofSeconds(30), () -> hubId.equals(attachedHub(c)));
        assertThat(ok).as(c.name() + " attached to " + hubId + " (store says " + attachedHub(c) + ")").isTrue();
    }

    /** Every client pings every other (the first ping of each pair may wait for handshakes). */
    void pingAll(List<Client> all) {
        for (Client from : all) {
            for (Client to : all) {
                if (from != to) {
                    Tunnels.reach(lab, from.ns(), to.address());
                }
            }
        }
    }
}
