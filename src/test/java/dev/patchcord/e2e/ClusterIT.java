package dev.patchcord.e2e;

import dev.patchcord.lab.EtcdCluster;
import dev.patchcord.lab.Lab;
import dev.patchcord.lab.Self;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Several hubs, one network: three etcd members, three hubs sharing one key, and clients of both
 * kinds (wireguard-go and patchcord) spread over the hubs. Every client reaches every other, a
 * transfer between clients of different hubs arrives whole, and a client put into the store
 * reaches the others through whichever hub it connects to.
 *
 * <p>The scenarios share one three-member etcd (starting one is many seconds on a small machine);
 * each has its own hubs and clients under a cluster name of its own, and begins with every member
 * running (one scenario stops them all).
 */
@ExtendWith(LabExtension.class)
class ClusterIT {
    private static EtcdCluster etcd;

    @BeforeAll
    static void startStore(Lab shared) {
        etcd = EtcdCluster.start(shared, 3);
    }

    @Test
    void clientsOfThreeHubsReachEachOther(Lab lab) throws Exception {
        ClusterLab c = new ClusterLab(lab, etcd);
        ClusterLab.Hub h1 = c.startHub("hub1");
        ClusterLab.Hub h2 = c.startHub("hub2");
        ClusterLab.Hub h3 = c.startHub("hub3");
        ClusterLab.Client g1 = c.connect(c.addClient("g1", true), h1, true);
        ClusterLab.Client p2 = c.connect(c.addClient("p2", false), h2, false);
        ClusterLab.Client g3 = c.connect(c.addClient("g3", true), h3, true);
        ClusterLab.Client p4 = c.connect(c.addClient("p4", false), h1, false);
        c.awaitAttached(g1, "hub1");
        c.awaitAttached(p2, "hub2");
        c.awaitAttached(g3, "hub3");
        c.awaitAttached(p4, "hub1");

        c.pingAll(List.of(g1, p2, g3, p4));
        // Routed by attachment: on hub 1, hub 2's client is behind the backplane, its own is not.
        assertThat(lab.ip(h1.ns(), "route", "get", p2.address())).contains("dev " + h1.ifname() + "-bp");
        assertThat(lab.ip(h1.ns(), "route", "get", p4.address())).contains("dev " + h1.ifname() + " ");
        // Across the backplane: from hub 1's wireguard-go client to hub 2's patchcord client, and
        // from hub 3's wireguard-go client to hub 1's patchcord client.
        Tunnels.transfer(lab, g1.ns(), p2.ns(), p2.address(), 50_000_000, Duration.ofSeconds(120));
        Tunnels.transfer(lab, g3.ns(), p4.ns(), p4.address(), 10_000_000, Duration.ofSeconds(120));

        // peer add on hub 1; the printed configuration, pointed at hub 3, reaches hub 2's client.
        Path g5conf = lab.logDir().resolve("g5.conf");
        Lab.Result add = c.peerAdd(h1, "g5", h3, g5conf);
        assertThat(add.code()).as(add.output()).isZero();
        ClusterLab.Client g5 = c.wireguardGoFromConfig("g5", g5conf);
        c.awaitAttached(g5, "hub3");
        Tunnels.reach(lab, g5.ns(), p2.address());
        Tunnels.reach(lab, p4.ns(), g5.address());

        // wg set on hub 2 adds a client to the whole cluster; it connects through hub 1. wg set
        // on hub 3 removes it from every hub.
        WireGuardPeers.KeyPair k6 = ClusterLab.keys();
        lab.sh(h2.ns(), "wg", "set", h2.ifname(), "peer", k6.publicKey(), "allowed-ips", "10.60.0.66/32");
        assertThat(lab.run(h2.ns(), Duration.ofSeconds(60), Self.command("peer", "list", h2.config().toString())
                .toArray(String[]::new)).output()).contains("10.60.0.66/32");
        c.awaitOnEveryHub(k6.publicKey(), Duration.ofSeconds(10));
        String ns6 = lab.netns("g6");
        c.etcd.join(ns6);
        WireGuardPeers.wireguardGo(lab, ns6, WireGuardPeers.ifname("g"), k6, 0, "10.60.0.66/24",
                List.of("peer", c.hubKeys.publicKey(), "endpoint", h1.underlay() + ":" + ClusterLab.HUB_PORT,
                        "allowed-ips", "10.60.0.0/24", "persistent-keepalive", "25"));
        Tunnels.reach(lab, ns6, p2.address());
        Lab.Result taken = lab.run(h1.ns(), Duration.ofSeconds(30), "wg", "set", h1.ifname(), "peer",
                ClusterLab.keys().publicKey(), "allowed-ips", "10.60.0.66/32");
        assertThat(taken.code()).as("an address another client holds is refused").isNotZero();
        lab.sh(h3.ns(), "wg", "set", h3.ifname(), "peer", k6.publicKey(), "remove");
        for (ClusterLab.Hub h : List.of(h1, h2, h3)) {
            assertThat(Lab.await(Duration.ofSeconds(10), () -> !lab.run(h.ns(), Duration.ofSeconds(10), "wg", "show",
                    h.ifname(), "peers").output().contains(k6.publicKey()))).as("removed on " + h.id()).isTrue();
        }
        for (ClusterLab.Hub h : List.of(h1, h2, h3)) {
            assertThat(lab.log(h.process())).as(h.id()).contains("cluster hub " + h.id());
        }
    }

    /**
     * A hub killed (SIGKILL) while its wireguard-go client sends to another hub's client: the
     * hub's lease expires, one surviving hub calls the client back at its last endpoint, and the
     * transfer completes intact. The gap is measured with a ping running through it.
     */
    @Test
    void aKilledHubsClientsMoveAndATransferCompletes(Lab lab) throws Exception {
        ClusterLab c = new ClusterLab(lab, etcd);
        ClusterLab.Hub h1 = c.startHub("hub1");
        ClusterLab.Hub h2 = c.startHub("hub2");
        c.startHub("hub3");
        ClusterLab.Client g1 = c.connect(c.addClient("g1", true), h1, true);
        ClusterLab.Client p2 = c.connect(c.addClient("p2", false), h2, false);
        ClusterLab.Client p4 = c.connect(c.addClient("p4", false), h1, false);
        c.awaitAttached(g1, "hub1");
        c.awaitAttached(p2, "hub2");
        c.awaitAttached(p4, "hub1");
        Tunnels.reach(lab, g1.ns(), p2.address());
        Tunnels.reach(lab, p4.ns(), p2.address());

        // (No -w: ping ends at the first ICMP error when given a deadline.)
        // 50 MB at 40 Mbit/s on g1's underlay takes about ten seconds: time to kill its hub midway.
        String dev = lab.sh(g1.ns(), "sh", "-c", "ip -o -4 addr show to " + g1.underlay() + " | awk '{print $2}'").strip();
        lab.sh(g1.ns(), "tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", "40mbit", "burst", "64kb", "latency", "200ms");
        String pinger = "ping-gap";
        lab.spawn(p2.ns(), pinger, List.of("ping", "-D", "-n", "-i", "0.1", "-W", "1", "-c", "900", g1.address()));
        var transfer = java.util.concurrent.CompletableFuture.runAsync(
                () -> Tunnels.transfer(lab, g1.ns(), p2.ns(), p2.address(), 50_000_000, Duration.ofSeconds(150)));
        assertThat(Lab.await(Duration.ofSeconds(30), () -> WireGuardPeers.wgTransfer(lab, g1.ns(), g1.ifname())[1] > 10_000_000))
                .as("the transfer is under way").isTrue();
        double killedAt = System.currentTimeMillis() / 1000.0;
        lab.processes().get(h1.process()).destroyForcibly();

        transfer.get(200, java.util.concurrent.TimeUnit.SECONDS);
        String moved = c.attachedHub(g1);
        assertThat(moved).as("g1 moved to a surviving hub").isIn("hub2", "hub3");
        c.awaitAttached(p4, c.attachedHub(p4) == null ? "hub2" : c.attachedHub(p4));
        assertThat(c.attachedHub(p4)).isIn("hub2", "hub3");
        Tunnels.reach(lab, p4.ns(), p2.address());
        Tunnels.reach(lab, p2.ns(), g1.address());
        lab.stop(pinger, Duration.ofSeconds(5));

        double firstAfter = -1;
        double lastBefore = -1;
        for (String line : lab.log(pinger).split("\n")) {
            var m = java.util.regex.Pattern.compile("^\\[(\\d+\\.\\d+)\\] \\d+ bytes from").matcher(line);
            if (m.find()) {
                double t = Double.parseDouble(m.group(1));
                if (t < killedAt) {
                    lastBefore = t;
                } else if (firstAfter < 0 && t > killedAt + 0.2) { // within 200 ms: already on its way
                    firstAfter = t;
                }
            }
        }
        assertThat(firstAfter).as("a reply after the kill:\n" + lab.log(pinger)).isPositive();
        System.out.printf("failover gap: %.0f ms from the kill to the first reply (last reply %.0f ms before the kill); "
                + "g1 moved to %s%n", (firstAfter - killedAt) * 1000, (killedAt - lastBefore) * 1000, moved);

        // A hub stopped cleanly (SIGTERM) revokes its lease as it goes: its clients are called over
        // by the last hub standing, and reach the others again.
        ClusterLab.Hub survivor = c.hubs.stream().filter(h -> !h.id().equals("hub1") && !h.id().equals("hub2"))
                .findFirst().orElseThrow();
        Tunnels.stop(lab, h2.process());
        c.awaitAttached(p2, survivor.id());
        c.awaitAttached(g1, survivor.id());
        Tunnels.reach(lab, p2.ns(), g1.address());
        Tunnels.reach(lab, g1.ns(), p2.address());
    }

    /**
     * The store failing under the hubs: one etcd member killed changes nothing; every member
     * stopped leaves established traffic flowing for a minute; once etcd is back, a client put into
     * the store then is served by every hub.
     */
    @Test
    void hubsRideOutTheStoreFailing(Lab lab) throws Exception {
        ClusterLab c = new ClusterLab(lab, etcd);
        ClusterLab.Hub h1 = c.startHub("hub1");
        ClusterLab.Hub h2 = c.startHub("hub2");
        ClusterLab.Client g1 = c.connect(c.addClient("g1", true), h1, true);
        ClusterLab.Client p2 = c.connect(c.addClient("p2", false), h2, false);
        c.awaitAttached(g1, "hub1");
        c.awaitAttached(p2, "hub2");
        Tunnels.reach(lab, g1.ns(), p2.address());

        c.etcd.kill(c.etcd.leader());
        Path g3conf = lab.logDir().resolve("g3.conf");
        Lab.Result add3 = c.peerAdd(h1, "g3", h2, g3conf);
        assertThat(add3.code()).as("peer add with one etcd member down:\n" + add3.output()).isZero();
        ClusterLab.Client g3 = c.wireguardGoFromConfig("g3", g3conf);
        c.awaitAttached(g3, "hub2");
        Tunnels.reach(lab, g3.ns(), g1.address());
        Tunnels.ping(lab, g1.ns(), p2.address());

        c.etcd.stopAll();
        Lab.Result minute = lab.run(g1.ns(), Duration.ofSeconds(90), "ping", "-n", "-q", "-c", "300", "-i", "0.2", "-W", "2",
                p2.address());
        assertThat(minute.output()).as("a minute without the store").contains("300 packets transmitted, 300 received");
        for (ClusterLab.Hub h : List.of(h1, h2)) {
            assertThat(lab.processes().get(h.process()).isAlive()).as(h.id() + " alive:\n" + lab.log(h.process())).isTrue();
        }

        Lab.Result refused = c.peerAdd(h2, "refused", h1, lab.logDir().resolve("refused.conf"));
        assertThat(refused.code()).as(refused.output()).isEqualTo(1);
        List<String> said = refused.output().lines().filter(l -> !l.startsWith("WARNING:")).toList();
        assertThat(said).as("one line").hasSize(1);
        assertThat(said.getFirst()).startsWith("patchcord: cluster " + c.cluster + ": etcd at ").contains("did not answer");

        c.etcd.startAll();
        Path g4conf = lab.logDir().resolve("g4.conf");
        Lab.Result add4 = c.peerAdd(h2, "g4", h1, g4conf);
        assertThat(add4.code()).as(add4.output()).isZero();
        String g4key = java.util.regex.Pattern.compile("(?m)^PrivateKey = (\\S+)$").matcher(java.nio.file.Files.readString(g4conf))
                .results().findFirst().map(m -> dev.patchcord.core.wg.Keys.toBase64(dev.patchcord.core.wg.X25519.publicKey(
                        dev.patchcord.core.wg.Keys.fromBase64(m.group(1))))).orElseThrow();
        c.awaitOnEveryHub(g4key, Duration.ofSeconds(30));
        ClusterLab.Client g4 = c.wireguardGoFromConfig("g4", g4conf);
        c.awaitAttached(g4, "hub1");
        Tunnels.reach(lab, g4.ns(), p2.address());
        Tunnels.reach(lab, p2.ns(), g4.address());
        Tunnels.ping(lab, g3.ns(), g4.address());
    }

    /**
     * Fifty {@code peer add} run at once, spread over the three hubs' files: fifty distinct
     * addresses, and every hub serves all fifty clients.
     */
    @Test
    void fiftyConcurrentPeerAddsGiveDistinctAddressesOnEveryHub(Lab lab) throws Exception {
        ClusterLab c = new ClusterLab(lab, etcd);
        List<ClusterLab.Hub> hubs = List.of(c.startHub("hub1"), c.startHub("hub2"), c.startHub("hub3"));
        List<Process> adds = new java.util.ArrayList<>();
        for (int i = 0; i < 50; i++) {
            ClusterLab.Hub h = hubs.get(i % 3);
            // Fifty JVMs at once on a small machine: C1 only (they live for seconds), and a store
            // timeout that covers starting the etcd client while the others do too.
            List<String> cmd = new java.util.ArrayList<>(List.of("env", "PATCHCORD_STORE_TIMEOUT_MS=120000",
                    "PATCHCORD_JAVA_OPTS=-XX:TieredStopAtLevel=1"));
            cmd.addAll(Self.command("peer", "add", h.config().toString(), "c" + i, "--endpoint",
                    h.underlay() + ":" + ClusterLab.HUB_PORT, "--output", lab.logDir().resolve("c" + i + ".conf").toString(),
                    "--no-qr"));
            adds.add(lab.spawn(h.ns(), "add-" + i, cmd));
        }
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(400);
        for (int i = 0; i < adds.size(); i++) {
            Process p = adds.get(i);
            assertThat(p.waitFor(Math.max(1, deadline - System.nanoTime()), java.util.concurrent.TimeUnit.NANOSECONDS))
                    .as("add " + i + " ended").isTrue();
            assertThat(p.exitValue()).as("add " + i + ":\n" + lab.log("add-" + i)).isZero();
        }
        java.util.Set<String> addresses = new java.util.HashSet<>();
        for (int i = 0; i < 50; i++) {
            String conf = java.nio.file.Files.readString(lab.logDir().resolve("c" + i + ".conf"));
            var m = java.util.regex.Pattern.compile("(?m)^Address = (\\S+)").matcher(conf);
            assertThat(m.find()).isTrue();
            addresses.add(m.group(1));
        }
        assertThat(addresses).hasSize(50);
        for (ClusterLab.Hub h : hubs) {
            assertThat(Lab.await(Duration.ofSeconds(20), () -> lab.run(h.ns(), Duration.ofSeconds(10), "wg", "show",
                    h.ifname(), "peers").output().lines().count() == 50)).as("50 peers on " + h.id()).isTrue();
        }
    }
}
