package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static dev.patchcord.e2e.MeshLab.Node;
import static dev.patchcord.e2e.MeshLab.entry;
import static dev.patchcord.e2e.MeshLab.iface;
import static dev.patchcord.e2e.MeshLab.latestHandshake;
import static dev.patchcord.e2e.MeshLab.list;
import static dev.patchcord.e2e.WireGuardPeers.config;
import static dev.patchcord.e2e.WireGuardPeers.patchcordUp;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Three nodes whose peers all come from one shared peers file (each skips its own entry). The
 * file changes under them: changes apply within seconds without dropping the sessions of peers
 * that stay, a broken file keeps the last good list, SIGHUP reads it again, a removed peer goes.
 */
@ExtendWith(LabExtension.class)
class PeersFileIT {

    private static String entries(List<Node> nodes, Node extraAddressAt) {
        return list(nodes.stream().map(n -> entry(n,
                n == extraAddressAt ? List.of(n.tunnel() + "/32", "10.71.1." + n.n() + "/32") : List.of(n.tunnel() + "/32"),
                n.underlay() + ":" + MeshLab.PORT, null)).toList());
    }

    @Test
    void aSharedPeersFileMakesAMeshAndChangesApplyWithoutDroppingSessions(Lab lab) throws Exception {
        String router = MeshLab.router(lab, "r");
        List<Node> nodes = MeshLab.star(lab, router, 3);
        Node n1 = nodes.get(0), n2 = nodes.get(1), n3 = nodes.get(2);
        Path peers = lab.logDir().resolve("peers.json");
        replace(peers, entries(nodes, null));
        Process p1 = null;
        for (Node n : nodes) {
            Process p = patchcordUp(lab, n.ns(), "n" + n.n(), config(lab, n.ifname(), iface(n, "PeersFile = " + peers)), "--verbose");
            if (n == n1) {
                p1 = p;
            }
        }
        assertThat(lab.log("n1")).contains("0 peers and 2 mesh peers");
        MeshLab.reachAll(lab, nodes);
        long before = MeshLab.settledHandshake(lab, n1, n2);

        // n3 gets a second address: every node routes it to n3 once the file says so.
        lab.addAddress(n3.ns(), n3.ifname(), "10.71.1.3/32");
        replace(peers, entries(nodes, n3));
        assertThat(Lab.await(Duration.ofSeconds(15), () -> lab.run(n1.ns(), Duration.ofSeconds(5),
                "ping", "-c", "1", "-W", "1", "10.71.1.3").code() == 0)).as(lab.log("n1")).isTrue();
        Tunnels.ping(lab, n1.ns(), n2.tunnel());
        assertThat(latestHandshake(lab, n1, n2)).as("n1's session with n2 survived the reload").isEqualTo(before);

        // A broken file is reported once and the last good list stays.
        replace(peers, "{ \"peers\": [ { \"publicKey\": \"nonsense\" } ] }");
        assertThat(Lab.await(Duration.ofSeconds(10), () -> lab.log("n1").contains("could not load the peers file")))
                .as(lab.log("n1")).isTrue();
        assertThat(lab.log("n1")).contains("peer 1: 'publicKey'").contains("keeping the previous one");
        Tunnels.ping(lab, n1.ns(), "10.71.1.3");
        Tunnels.ping(lab, n1.ns(), n2.tunnel());

        // A good file again is picked up by itself; SIGHUP then reads it again at once, without stopping.
        long reads = count(lab.log("n1"), "peers file read");
        replace(peers, entries(List.of(n1, n2), null));
        assertThat(Lab.await(Duration.ofSeconds(10), () -> count(lab.log("n1"), "peers file read") > reads)).isTrue();
        assertThat(lab.log("n1")).contains("peers file loaded again");
        long beforeHup = count(lab.log("n1"), "peers file read");
        lab.sh(n1.ns(), "kill", "-HUP", String.valueOf(p1.pid()));
        assertThat(Lab.await(Duration.ofSeconds(10), () -> count(lab.log("n1"), "peers file read") > beforeHup)).isTrue();
        assertThat(p1.isAlive()).isTrue();
        assertThat(count(lab.log("n1"), "could not load the peers file")).as("a bad file is said once").isEqualTo(1);

        // n3 is gone from the file, so n1 no longer reaches it; n2 still does.
        assertThat(Lab.await(Duration.ofSeconds(10), () -> lab.run(n1.ns(), Duration.ofSeconds(5),
                "ping", "-c", "1", "-W", "1", n3.tunnel()).code() != 0)).isTrue();
        assertThat(lab.sh(n1.ns(), "wg", "show", n1.ifname(), "peers")).doesNotContain(n3.keys().publicKey());
        Tunnels.ping(lab, n1.ns(), n2.tunnel());
        assertThat(latestHandshake(lab, n1, n2)).isEqualTo(before);
    }

    @Test
    void aBrokenPeersFileAtStartIsAConfigurationError(Lab lab) throws Exception {
        String router = MeshLab.router(lab, "r");
        Node n1 = MeshLab.node(lab, router, 1);
        Path peers = lab.logDir().resolve("peers.json");
        replace(peers, "{ \"peers\": [ { \"publicKey\": \"" + n1.keys().publicKey() + "\", \"alowedIps\": [] } ] }");
        Path conf = config(lab, n1.ifname(), iface(n1, "PeersFile = " + peers));
        Lab.Result r = lab.run(n1.ns(), Duration.ofSeconds(30),
                dev.patchcord.lab.Self.command("up", "--foreground", conf.toString()).toArray(String[]::new));
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.output()).contains(peers.toString()).contains("peer 1: unknown member 'alowedIps'");
        assertThat(lab.hasInterface(n1.ns(), n1.ifname())).isFalse();
    }

    private static long count(String log, String text) {
        return log.lines().filter(l -> l.contains(text)).count();
    }

    /**
     * Replaces the file in one step, as an operator's tools should: written in place, the watcher
     * may read it half-written (an empty document) and rightly say so, which is not what these
     * tests are about.
     */
    private static void replace(Path file, String text) throws java.io.IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
}
