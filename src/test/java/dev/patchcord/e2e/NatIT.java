package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static dev.patchcord.e2e.MeshLab.Node;
import static dev.patchcord.e2e.WireGuardPeers.config;
import static dev.patchcord.e2e.WireGuardPeers.ifname;
import static dev.patchcord.e2e.WireGuardPeers.keys;
import static dev.patchcord.e2e.WireGuardPeers.patchcordUp;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two nodes, each behind a NAT of its own, find each other through the directory:
 *
 * <pre>
 *   node A 192.168.1.2 ── natA ── 100.64.1.2 ┐
 *                                            wan (routes) ── 100.64.3.2 hub: directory + relay
 *   node B 192.168.2.2 ── natB ── 100.64.2.2 ┘
 * </pre>
 *
 * Each NAT masquerades its LAN behind its wan address with nftables and, like a home router,
 * drops new connections from the wan side. The nodes have no [Peer]; the hub is a patchcord
 * {@code Hub = true} node marked {@code relay} in the members file, with the mesh's /24.
 */
@ExtendWith(LabExtension.class)
class NatIT {
    private static final String HUB = "100.64.3.2";

    private record Bed(String wan, Node a, Node b, Node hub) {}

    private Bed start(Lab lab, boolean blockDirect) throws Exception {
        String wan = MeshLab.router(lab, "wan");
        Node a = behindNat(lab, wan, 1, "a");
        Node b = behindNat(lab, wan, 2, "b");
        String hubNs = lab.netns("hub");
        lab.link(wan, List.of("100.64.3.1/24"), hubNs, List.of(HUB + "/24"));
        lab.ip(hubNs, "route", "add", "default", "via", "100.64.3.1");
        Node hub = new Node(3, hubNs, ifname("hub"), keys(lab, hubNs));
        if (blockDirect) {
            // Nothing passes between the two NATs' public addresses: only the hub is reachable.
            nft(lab, wan, """
                    table inet lab {
                      chain forward {
                        type filter hook forward priority 0; policy accept;
                        ip saddr 100.64.1.2 ip daddr 100.64.2.2 drop
                        ip saddr 100.64.2.2 ip daddr 100.64.1.2 drop
                      }
                    }
                    """);
        }
        String members = MeshLab.list(List.of(
                MeshLab.entry(hub, List.of("10.72.0.0/24"), null, "\"relay\": true"),
                MeshLab.entry(a, List.of("10.72.0.1/32"), null, null),
                MeshLab.entry(b, List.of("10.72.0.2/32"), null, null)));
        DirectoryIT.Directory d = DirectoryIT.serve(lab, hubNs, HUB, members);
        String directory = d.lines().replace(DirectoryIT.DIRECTORY, HUB);
        patchcordUp(lab, hubNs, "hub", config(lab, hub.ifname(), """
                [Interface]
                PrivateKey = %s
                ListenPort = %d
                Address = 10.72.0.254/24
                Hub = true
                %s
                """.formatted(hub.keys().privateKey(), MeshLab.PORT, directory)), "--verbose");
        for (Node n : List.of(a, b)) {
            patchcordUp(lab, n.ns(), "node" + n.n(), config(lab, n.ifname(), """
                    [Interface]
                    PrivateKey = %s
                    ListenPort = %d
                    Address = 10.72.0.%d/24
                    %s
                    """.formatted(n.keys().privateKey(), MeshLab.PORT, n.n(), directory)), "--verbose");
        }
        return new Bed(wan, a, b, hub);
    }

    /** natN between the wan (100.64.N.2) and its LAN 192.168.N.0/24 with the node at .2. */
    private static Node behindNat(Lab lab, String wan, int n, String tag) throws Exception {
        String nat = lab.netns("nat" + tag);
        String[] up = lab.link(wan, List.of("100.64." + n + ".1/24"), nat, List.of("100.64." + n + ".2/24"));
        lab.ip(nat, "route", "add", "default", "via", "100.64." + n + ".1");
        lab.sh(nat, "sysctl", "-qw", "net.ipv4.ip_forward=1");
        String node = lab.netns("node" + tag);
        lab.link(nat, List.of("192.168." + n + ".1/24"), node, List.of("192.168." + n + ".2/24"));
        lab.ip(node, "route", "add", "default", "via", "192.168." + n + ".1");
        String outside = up[1];
        nft(lab, nat, """
                table inet lab {
                  chain postrouting {
                    type nat hook postrouting priority 100; policy accept;
                    oifname "%1$s" masquerade
                  }
                  chain input {
                    type filter hook input priority 0; policy accept;
                    iifname "%1$s" ct state new drop
                  }
                  chain forward {
                    type filter hook forward priority 0; policy accept;
                    iifname "%1$s" ct state new drop
                  }
                }
                """.formatted(outside));
        return new Node(n, node, ifname("n" + tag), keys(lab, node));
    }

    private static void nft(Lab lab, String ns, String rules) throws Exception {
        Path file = Files.createTempFile(lab.logDir(), "rules", ".nft");
        Files.writeString(file, rules);
        lab.sh(ns, "nft", "-f", file.toString());
    }

    private static String endpointOf(Lab lab, Node at, Node peer) {
        for (String line : lab.sh(at.ns(), "wg", "show", at.ifname(), "endpoints").split("\n")) {
            String[] f = line.strip().split("\\s+");
            if (f.length == 2 && f[0].equals(peer.keys().publicKey())) {
                return f[1];
            }
        }
        return "";
    }

    @Test
    void twoNodesBehindTheirOwnNatsTalkDirectly(Lab lab) throws Exception {
        Bed bed = start(lab, false);
        Tunnels.reach(lab, bed.a().ns(), "10.72.0.2");
        Tunnels.ping(lab, bed.b().ns(), "10.72.0.1");
        // Each sees the other at the other NAT's public address: the path is direct, not via the hub.
        assertThat(endpointOf(lab, bed.a(), bed.b())).startsWith("100.64.2.2:");
        assertThat(endpointOf(lab, bed.b(), bed.a())).startsWith("100.64.1.2:");
        assertThat(lab.log("node1")).contains("the directory sees this node at 100.64.1.2:")
                .doesNotContain("goes through the relay");
        // The hub can be pinged too, and no node reached the other's private address.
        Tunnels.ping(lab, bed.a().ns(), "10.72.0.254");
        assertThat(lab.sh(bed.a().ns(), "wg", "show", bed.a().ifname(), "allowed-ips"))
                .contains(bed.b().keys().publicKey() + "\t10.72.0.2/32");
    }

    @Test
    void whenDirectTrafficIsBlockedTheyTalkThroughTheRelay(Lab lab) throws Exception {
        Bed bed = start(lab, true);
        // Direct handshakes fail for 15 s, then each node withdraws the other's address from it
        // and the hub's /24 carries the traffic.
        assertThat(Lab.await(Duration.ofSeconds(60), () -> lab.run(bed.a().ns(), Duration.ofSeconds(5),
                "ping", "-c", "1", "-W", "1", "10.72.0.2").code() == 0)).as(lab.log("node1")).isTrue();
        Tunnels.ping(lab, bed.a().ns(), "10.72.0.2");
        Tunnels.ping(lab, bed.b().ns(), "10.72.0.1");
        assertThat(lab.log("node1")).contains(": no direct path; its traffic goes through the relay");
        String allowed = lab.sh(bed.a().ns(), "wg", "show", bed.a().ifname(), "allowed-ips");
        assertThat(allowed).contains(bed.hub().keys().publicKey() + "\t10.72.0.0/24")
                .contains(bed.b().keys().publicKey() + "\t(none)");
        assertThat(lab.sh(bed.a().ns(), "wg", "show", bed.a().ifname(), "latest-handshakes"))
                .contains(bed.b().keys().publicKey() + "\t0");
    }
}
