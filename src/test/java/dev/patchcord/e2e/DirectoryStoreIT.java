package dev.patchcord.e2e;

import dev.patchcord.cluster.StoreKeys;
import dev.patchcord.core.wg.Keys;
import dev.patchcord.lab.EtcdCluster;
import dev.patchcord.lab.Lab;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;

import static dev.patchcord.e2e.DirectoryIT.Directory;
import static dev.patchcord.e2e.MeshLab.Node;
import static dev.patchcord.e2e.WireGuardPeers.KeyPair;
import static dev.patchcord.e2e.WireGuardPeers.keys;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two directory servers of one mesh sharing through an etcd of their own: both run in the router
 * namespace with the same key and members file, server 1 on 198.18.1.1:8443 and server 2 on
 * 198.18.2.1:8443, and the router joins the store network. Node 1 knows only server 1 and node 2
 * only server 2; the router drops WireGuard between the nodes until each has the other's endpoint,
 * which it can then only have learnt from its server, and that only through the store.
 */
@ExtendWith(LabExtension.class)
class DirectoryStoreIT {
    private static final String SERVER_2 = "198.18.2.1";

    @Test
    void nodesOfTwoServersLearnEachOtherThroughTheStoreAndPing(Lab lab) throws Exception {
        EtcdCluster etcd = EtcdCluster.start(lab, 1);
        String router = MeshLab.router(lab, "r");
        List<Node> nodes = MeshLab.star(lab, router, 2);
        Node n1 = nodes.get(0), n2 = nodes.get(1);
        etcd.join(router);
        lab.sh(router, "nft", "add", "table", "inet", "gate");
        lab.sh(router, "nft", "add", "chain", "inet", "gate", "between", "{ type filter hook forward priority 0 ; }");
        lab.sh(router, "nft", "add", "rule", "inet", "gate", "between", "udp", "dport", "" + MeshLab.PORT, "drop");

        KeyPair key = keys(lab, router);
        String members = DirectoryIT.members(nodes);
        // A TTL of 10 s: a record is written again every few seconds, so the outage below shows soon.
        String[] store = {"--store", etcd.endpoints(), "--cluster", "mesh", "--ttl", "10"};
        Directory one = DirectoryIT.serve(lab, router, "directory1", DirectoryIT.DIRECTORY, key, members, store);
        Directory two = DirectoryIT.serve(lab, router, "directory2", SERVER_2, key, members, store);
        assertThat(lab.log("directory1")).contains("shared through cluster mesh in etcd at 10.250.0.11:2379");
        DirectoryIT.up(lab, n1, one);
        WireGuardPeers.patchcordUp(lab, n2.ns(), "n2", WireGuardPeers.config(lab, n2.ifname(),
                MeshLab.iface(n2, two.lines().replace(DirectoryIT.DIRECTORY, SERVER_2))), "--verbose");

        awaitEndpoint(lab, n1, n2);
        awaitEndpoint(lab, n2, n1);
        assertThat(lab.log("directory1")).contains("sync from 'n1'").doesNotContain("sync from 'n2'");
        assertThat(lab.log("directory2")).contains("sync from 'n2'").doesNotContain("sync from 'n1'");
        String stored = etcd.etcdctl(router, Duration.ofSeconds(10), "get", "--prefix", "/patchcord/mesh/directory/").output();
        for (Node n : nodes) {
            assertThat(stored).contains(new StoreKeys("mesh").directory(Keys.fromBase64(n.keys().publicKey())))
                    .contains("observed=" + n.underlay() + ":" + MeshLab.PORT);
        }

        lab.sh(router, "nft", "delete", "table", "inet", "gate");
        Tunnels.reach(lab, n1.ns(), n2.tunnel());
        Tunnels.reach(lab, n2.ns(), n1.tunnel());

        // The store stops: each server says so once and keeps answering; when it is back, it says so too.
        etcd.stopAll();
        for (String server : List.of("directory1", "directory2")) {
            assertThat(Lab.await(Duration.ofSeconds(60), () -> lab.log(server).contains("until the store is back")))
                    .as(lab.log(server)).isTrue();
        }
        Tunnels.ping(lab, n1.ns(), n2.tunnel());
        etcd.startAll();
        for (String server : List.of("directory1", "directory2")) {
            assertThat(Lab.await(Duration.ofSeconds(60), () -> lab.log(server).contains("the store answers again")))
                    .as(lab.log(server)).isTrue();
            assertThat(lab.log(server).lines().filter(l -> l.contains("until the store is back")).count())
                    .as("said once: " + lab.log(server)).isEqualTo(1);
        }
        assertThat(lab.log("n1") + lab.log("n2")).doesNotContain("could not load the directory's table");
        Tunnels.ping(lab, n2.ns(), n1.tunnel());
    }

    /** Waits until {@code node}'s interface has {@code peer}'s underlay address as its endpoint. */
    private static void awaitEndpoint(Lab lab, Node node, Node peer) {
        String expected = peer.keys().publicKey() + "\t" + peer.underlay() + ":" + MeshLab.PORT;
        assertThat(Lab.await(Duration.ofSeconds(40),
                () -> lab.sh(node.ns(), "wg", "show", node.ifname(), "endpoints").contains(expected)))
                .as("n" + node.n() + " learns n" + peer.n() + "'s endpoint; logs:\n" + lab.log("n" + node.n())
                        + lab.log("directory1") + lab.log("directory2"))
                .isTrue();
    }
}
