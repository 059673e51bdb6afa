package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;

import java.util.ArrayList;
import java.util.List;

import static dev.patchcord.e2e.WireGuardPeers.KeyPair;
import static dev.patchcord.e2e.WireGuardPeers.ifname;
import static dev.patchcord.e2e.WireGuardPeers.keys;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Mesh test beds: nodes each in a namespace of their own, joined to a router namespace by a veth
 * (198.18.N.2 at node N, 198.18.N.1 at the router, which forwards between them), tunnel addresses
 * 10.71.0.N, and the peer lists that describe them.
 */
final class MeshLab {
    private MeshLab() {}

    static final int PORT = 51820;

    record Node(int n, String ns, String ifname, KeyPair keys) {
        String underlay() {
            return "198.18." + n + ".2";
        }

        String tunnel() {
            return "10.71.0." + n;
        }
    }

    /** A router namespace that forwards IPv4. */
    static String router(Lab lab, String name) {
        String r = lab.netns(name);
        lab.sh(r, "sysctl", "-qw", "net.ipv4.ip_forward=1");
        return r;
    }

    /** Node {@code n} behind {@code router}, with a default route through it. */
    static Node node(Lab lab, String router, int n) {
        String ns = lab.netns("n" + n);
        lab.link(router, List.of("198.18." + n + ".1/24"), ns, List.of("198.18." + n + ".2/24"));
        lab.ip(ns, "route", "add", "default", "via", "198.18." + n + ".1");
        return new Node(n, ns, ifname("m" + n), keys(lab, ns));
    }

    static List<Node> star(Lab lab, String router, int count) {
        List<Node> nodes = new ArrayList<>();
        for (int i = 1; i <= count; i++) {
            nodes.add(node(lab, router, i));
        }
        return nodes;
    }

    /** One peer list entry; {@code endpoint} may be null. */
    static String entry(Node node, List<String> allowedIps, String endpoint, String extra) {
        StringBuilder sb = new StringBuilder("    { \"name\": \"n" + node.n() + "\", \"publicKey\": \"" + node.keys().publicKey()
                + "\", \"allowedIps\": [");
        for (int i = 0; i < allowedIps.size(); i++) {
            sb.append(i > 0 ? ", " : "").append('"').append(allowedIps.get(i)).append('"');
        }
        sb.append(']');
        if (endpoint != null) {
            sb.append(", \"endpoint\": \"").append(endpoint).append('"');
        }
        if (extra != null) {
            sb.append(", ").append(extra);
        }
        return sb.append(" }").toString();
    }

    static String list(List<String> entries) {
        return "{ \"peers\": [\n" + String.join(",\n", entries) + "\n] }\n";
    }

    /** An [Interface] with the node's key, port and tunnel address, and {@code extra} lines. */
    static String iface(Node node, String extra) {
        return """
                [Interface]
                PrivateKey = %s
                ListenPort = %d
                Address = %s/24
                %s
                """.formatted(node.keys().privateKey(), PORT, node.tunnel(), extra);
    }

    /** Every node reaches every other node's tunnel address. */
    static void reachAll(Lab lab, List<Node> nodes) {
        for (Node from : nodes) {
            for (Node to : nodes) {
                if (from != to) {
                    Tunnels.reach(lab, from.ns(), to.tunnel());
                }
            }
        }
    }

    /** The latest handshake time (epoch seconds) of {@code peer} at {@code node}, as {@code wg} reports it. */
    static long latestHandshake(Lab lab, Node node, Node peer) {
        for (String line : lab.sh(node.ns(), "wg", "show", node.ifname(), "latest-handshakes").strip().split("\n")) {
            String[] f = line.strip().split("\\s+");
            if (f.length == 2 && f[0].equals(peer.keys().publicKey())) {
                return Long.parseLong(f[1]);
            }
        }
        return -1;
    }

    /**
     * The latest handshake of {@code peer} at {@code node} once it has stopped changing: both ends
     * start handshakes when they learn of each other, so the first seconds may see two. It has
     * stopped once neither end waits for the response to a handshake it started (a lost one is
     * retried), as their logs tell: the nodes run with {@code --verbose}, logging as
     * {@code n<N>}.
     */
    static long settledHandshake(Lab lab, Node node, Node peer) {
        assertThat(Lab.await(java.time.Duration.ofSeconds(40),
                () -> answered(lab.log("n" + node.n()), peer) && answered(lab.log("n" + peer.n()), node)))
                .as("the handshake of " + peer.n() + " at " + node.n() + " settles; logs:\n" + lab.log("n" + node.n())
                        + lab.log("n" + peer.n()))
                .isTrue();
        long latest = latestHandshake(lab, node, peer);
        assertThat(latest).isPositive();
        return latest;
    }

    /**
     * Whether the log shows a session with {@code peer} and no handshake initiation to it after the
     * last response from it.
     */
    private static boolean answered(String log, Node peer) {
        String about = "peer " + peer.keys().publicKey().substring(0, 8) + "…: ";
        int sent = log.lastIndexOf(about + "handshake initiation sent");
        int answered = log.lastIndexOf(about + "handshake response received");
        return log.contains(about + "session established") && (sent < 0 || sent < answered);
    }
}
