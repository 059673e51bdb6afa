package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import dev.patchcord.lab.Self;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static dev.patchcord.e2e.MeshLab.Node;
import static dev.patchcord.e2e.WireGuardPeers.KeyPair;
import static dev.patchcord.e2e.WireGuardPeers.config;
import static dev.patchcord.e2e.WireGuardPeers.keys;
import static dev.patchcord.e2e.WireGuardPeers.patchcordUp;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Nodes that know nothing but the directory: `patchcord directory serve` runs in the router
 * namespace (198.18.1.1:8443, a certificate from a throwaway CA), and each node's configuration
 * has no [Peer] at all, only {@code Directory}, {@code DirectoryKey} and {@code DirectoryCA}.
 */
@ExtendWith(LabExtension.class)
class DirectoryIT {
    static final String DIRECTORY = "198.18.1.1";
    static final int DIRECTORY_PORT = 8443;

    record Directory(KeyPair keys, Path ca) {
        /** The [Interface] lines that point a node at this directory. */
        String lines() {
            return "Directory = https://" + DIRECTORY + ":" + DIRECTORY_PORT + "\nDirectoryKey = " + keys.publicKey()
                    + "\nDirectoryCA = " + ca + "\nDirectoryInterval = 1";
        }
    }

    /** Starts the directory in {@code ns} with {@code members} as its members file; waits until it is ready. */
    static Directory serve(Lab lab, String ns, String listen, String members) throws Exception {
        return serve(lab, ns, "directory", listen, keys(lab, ns), members);
    }

    /**
     * Starts a directory server named {@code name} (its log, its files under the lab's log
     * directory) with the given key; {@code extra} options follow the usual ones.
     */
    static Directory serve(Lab lab, String ns, String name, String listen, KeyPair keys, String members, String... extra)
            throws Exception {
        Path dir = Files.createDirectories(lab.logDir().resolve(name));
        Pki.certificates(dir, listen);
        Path key = dir.resolve("directory.key");
        Files.writeString(key, keys.privateKey() + "\n");
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        Path membersFile = dir.resolve("members.json");
        Files.writeString(membersFile, members);
        List<String> args = new ArrayList<>(List.of("directory", "serve", "--listen", listen + ":" + DIRECTORY_PORT,
                "--members", membersFile.toString(), "--private-key", key.toString(), "--cert", dir.resolve("cert.pem").toString(),
                "--tls-key", dir.resolve("key.pem").toString(), "--verbose"));
        args.addAll(List.of(extra));
        Process p = lab.spawn(ns, name, Self.command(args.toArray(String[]::new)));
        Tunnels.awaitReady(lab, name, p);
        return new Directory(keys, dir.resolve("ca.pem"));
    }

    static String members(List<Node> nodes) {
        return MeshLab.list(nodes.stream().map(n -> MeshLab.entry(n, List.of(n.tunnel() + "/32"), null, null)).toList());
    }

    static void up(Lab lab, Node n, Directory d) throws Exception {
        patchcordUp(lab, n.ns(), "n" + n.n(), config(lab, n.ifname(), MeshLab.iface(n, d.lines())), "--verbose");
    }

    /**
     * {@code count} nodes behind a router that also runs the directory; the first {@code members}
     * of them are in its members file. Every node is up, with nothing but the directory to go by.
     */
    static List<Node> mesh(Lab lab, int count, int members) throws Exception {
        String router = MeshLab.router(lab, "r");
        List<Node> nodes = MeshLab.star(lab, router, count);
        Directory d = serve(lab, router, DIRECTORY, members(nodes.subList(0, members)));
        for (Node n : nodes) {
            up(lab, n, d);
        }
        return nodes;
    }

    @Test
    void fourNodesFindEachOtherThroughTheDirectoryAndEveryPairPings(Lab lab) throws Exception {
        List<Node> nodes = mesh(lab, 4, 4);
        MeshLab.reachAll(lab, nodes);
        Node n1 = nodes.getFirst();
        assertThat(lab.log("n1")).contains("the directory sees this node at " + n1.underlay() + ":" + MeshLab.PORT);
        String endpoints = lab.sh(n1.ns(), "wg", "show", n1.ifname(), "endpoints");
        for (Node other : nodes.subList(1, 4)) {
            assertThat(endpoints).contains(other.keys().publicKey() + "\t" + other.underlay() + ":" + MeshLab.PORT);
        }
    }

    @Test
    void aKeyThatIsNotAMemberIsRefusedAndReachesNobody(Lab lab) throws Exception {
        List<Node> nodes = mesh(lab, 3, 2);
        Node n1 = nodes.get(0), n2 = nodes.get(1), stranger = nodes.get(2);
        Tunnels.reach(lab, n1.ns(), n2.tunnel());
        assertThat(Lab.await(Duration.ofSeconds(15), () -> lab.log("n3").contains("HTTP 403")))
                .as(lab.log("n3")).isTrue();
        assertThat(lab.log("n3")).contains("not a member");
        assertThat(lab.log("directory")).contains("not a member");
        assertThat(lab.sh(n1.ns(), "wg", "show", n1.ifname(), "peers")).doesNotContain(stranger.keys().publicKey());
        assertThat(lab.run(stranger.ns(), Duration.ofSeconds(10), "ping", "-c", "2", "-W", "1", n1.tunnel()).code()).isNotZero();
    }

    @Test
    void whenTheDirectoryIsDownNodesKeepTheLastTable(Lab lab) throws Exception {
        List<Node> nodes = mesh(lab, 2, 2);
        Tunnels.reach(lab, nodes.get(0).ns(), nodes.get(1).tunnel());
        lab.stop("directory", Duration.ofSeconds(15));
        assertThat(Lab.await(Duration.ofSeconds(15), () -> lab.log("n1").contains("could not load the directory's table")))
                .as(lab.log("n1")).isTrue();
        assertThat(lab.log("n1")).contains("keeping the previous one");
        Tunnels.ping(lab, nodes.get(0).ns(), nodes.get(1).tunnel());
        Tunnels.ping(lab, nodes.get(1).ns(), nodes.get(0).tunnel());
        List<String> lines = new ArrayList<>(lab.log("n1").lines().filter(l -> l.contains("could not load")).toList());
        assertThat(lines).as("reported, not once per second forever").hasSizeLessThan(30);
    }
}
