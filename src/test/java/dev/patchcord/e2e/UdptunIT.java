package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Three udptun nodes, each in its own namespace joined by a veth to a "net" namespace that routes
 * between them (underlay 198.18.N.2, tunnel 10.88.0.N). One shared hosts.json, written as udptun's
 * own tests do (unquoted names, a comment); node 3 listens on port 7003 and node 2 on one address.
 */
@ExtendWith(LabExtension.class)
class UdptunIT {
    private static final String HOSTS = """
            // the whole overlay; a node's own entry is never used by it
            { nodes : {
                "10.88.0.1": { "host": "198.18.1.2" },
                "10.88.0.2": { "host": "198.18.2.2", "port": 7777 },
                "10.88.0.3": { "host": "198.18.3.2", "port": 7003 },
            } }
            """;

    @Test
    void threeNodesReachEachOtherAndAnUnknownAddressIsUnreachable(Lab lab) throws Exception {
        String net = lab.netns("net");
        lab.sh(net, "sysctl", "-qw", "net.ipv4.ip_forward=1");
        Path hosts = Files.writeString(lab.logDir().resolve("hosts.json"), HOSTS);
        String[] nodes = new String[3];
        for (int i = 1; i <= 3; i++) {
            String ns = lab.netns("n" + i);
            nodes[i - 1] = ns;
            lab.link(net, List.of("198.18." + i + ".1/24"), ns, List.of("198.18." + i + ".2/24"));
            lab.ip(ns, "route", "add", "default", "via", "198.18." + i + ".1");
        }
        Tunnels.patchcord(lab, nodes[0], "ut1", "udptun", "-d", "ut0", "--hosts-file", hosts.toString());
        Tunnels.patchcord(lab, nodes[1], "ut2", "udptun", "-d", "ut0", "-a", "198.18.2.2", "--hosts-file", hosts.toString());
        Tunnels.patchcord(lab, nodes[2], "ut3", "udptun", "-d", "ut0", "-p", "7003", "--hosts-file", hosts.toString());
        for (int i = 1; i <= 3; i++) {
            lab.addAddress(nodes[i - 1], "ut0", "10.88.0." + i + "/24");
        }
        for (int i = 1; i <= 3; i++) {
            for (int j = 1; j <= 3; j++) {
                if (i != j) {
                    Tunnels.ping(lab, nodes[i - 1], "10.88.0." + j);
                }
            }
        }

        Lab.Result lost = lab.run(nodes[0], Duration.ofSeconds(10), "ping", "-c", "2", "-i", "0.2", "-W", "1", "10.88.0.9");
        assertThat(lost.code()).isNotZero();
        assertThat(lost.output()).contains("From 10.88.0.9").contains("Destination Host Unreachable");

        String counters = Tunnels.stop(lab, "ut1");
        assertThat(Tunnels.dropped(counters, "no-route")).as(counters).isEqualTo(2);
        assertThat(Tunnels.stop(lab, "ut2")).doesNotContain("no-route");
        Tunnels.stop(lab, "ut3");
    }
}
