package dev.patchcord.e2e;

import dev.patchcord.cluster.ClusterClient;
import dev.patchcord.cluster.StoreKeys;
import dev.patchcord.cluster.StoreValues;
import dev.patchcord.core.Cidr;
import dev.patchcord.lab.EtcdCluster;
import dev.patchcord.lab.Lab;
import dev.patchcord.lab.Self;

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
 *
 * <p>The etcd cluster outlives the test: starting three members takes a while on a small machine,
 * so the tests of a class share one (kept in a lab of the class). Each test's hubs and
 * clients are its own, in its own lab, under a cluster name of their own (from the test lab's
 * prefix), so no test sees another's records; their namespaces leave the store network when the
 * test's lab removes them.
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

    /**
     * A cluster on a shared etcd (started by {@link EtcdCluster#start} in a lab that outlives
     * {@code lab}). Members an earlier test stopped or killed are started again first, so every
     * test begins on a whole, healthy store whatever the one before it did.
     */
    ClusterLab(Lab lab, EtcdCluster etcd) {
        etcd.startAll();
        this.lab = lab;
        this.etcd = etcd;
        this.cluster = "t" + lab.prefix().toLowerCase().replaceAll("[^a-z0-9]", "");
        this.hubKeys = keys();
    }

    /** A fresh key pair, made here rather than by a process per key (a busy host takes seconds to start one). */
    static WireGuardPeers.KeyPair keys() {
        byte[] priv = dev.patchcord.core.wg.X25519.generatePrivate(new java.security.SecureRandom());
        return new WireGuardPeers.KeyPair(dev.patchcord.core.wg.Keys.toBase64(priv),
                dev.patchcord.core.wg.Keys.toBase64(dev.patchcord.core.wg.X25519.publicKey(priv)));
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
        WireGuardPeers.KeyPair keys = keys();
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

    /** Runs {@code patchcord peer add} on a hub's file, in its namespace; returns the result. */
    Lab.Result peerAdd(Hub on, String name, Hub endpoint, Path output) {
        return lab.run(on.ns(), Duration.ofSeconds(120), Self.command("peer", "add", on.config().toString(), name,
                "--endpoint", endpoint.underlay() + ":" + HUB_PORT, "--output", output.toString(), "--no-qr")
                .toArray(String[]::new));
    }

    /**
     * A wireguard-go client set up from a configuration {@code peer add} printed, field by field
     * (wg-quick's Address and the peer's lines), in a namespace of its own on the store network.
     */
    Client wireguardGoFromConfig(String name, Path conf) throws IOException {
        String text = java.nio.file.Files.readString(conf);
        String ns = lab.netns(name);
        String underlay = etcd.join(ns);
        String privateKey = value(text, "PrivateKey");
        String address = value(text, "Address").split(",")[0].strip();
        String ifname = WireGuardPeers.ifname("g");
        Lab.Result pub = lab.run(ns, Duration.ofSeconds(30), "sh", "-c", "echo " + privateKey + " | wg pubkey");
        WireGuardPeers.KeyPair keys = new WireGuardPeers.KeyPair(privateKey, pub.output().strip());
        List<String> peer = new ArrayList<>(List.of("peer", value(text, "PublicKey"), "endpoint", value(text, "Endpoint"),
                "allowed-ips", value(text, "AllowedIPs").replace(" ", ""), "persistent-keepalive", "25"));
        if (text.contains("PresharedKey")) {
            Path psk = lab.logDir().resolve(ifname + ".psk");
            java.nio.file.Files.writeString(psk, value(text, "PresharedKey"));
            peer.addAll(List.of("preshared-key", psk.toString()));
        }
        String host = address.substring(0, address.indexOf('/'));
        WireGuardPeers.wireguardGo(lab, ns, ifname, keys, 0, host + "/24", peer);
        Tunnels.reach(lab, ns, "10.60.0.1");
        return new Client(name, ns, underlay, host, keys, ifname, "wireguard-go-" + ifname);
    }

    private static String value(String text, String key) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^" + key + " = (.+)$").matcher(text);
        assertThat(m.find()).as(key + " in\n" + text).isTrue();
        return m.group(1).strip();
    }

    /** Waits until every running hub's configuration socket lists the key (the change is live there). */
    void awaitOnEveryHub(String publicKey, Duration timeout) {
        for (Hub h : hubs) {
            if (!lab.processes().get(h.process()).isAlive()) {
                continue;
            }
            boolean ok = Lab.await(timeout, () -> lab.run(h.ns(), Duration.ofSeconds(10), "wg", "show", h.ifname(), "peers")
                    .output().contains(publicKey));
            assertThat(ok).as(publicKey + " on " + h.id()).isTrue();
        }
    }
}
