package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Three udptun nodes, each in its own namespace joined by a veth to a "net" namespace that routes
 * between them (underlay 198.18.N.2, tunnel 10.88.0.N). One shared hosts.json, written as udptun's
 * own tests do (unquoted names, a comment); node 3 listens on port 7003 and node 2 on one address.
 * The table is read from a file, or fetched from an HTTPS server running inside the lab.
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

    /** The routing namespace "net" and the three nodes' namespaces, which reach each other through it. */
    private static String[] underlay(Lab lab) {
        String net = lab.netns("net");
        lab.sh(net, "sysctl", "-qw", "net.ipv4.ip_forward=1");
        String[] nodes = new String[3];
        for (int i = 1; i <= 3; i++) {
            String ns = lab.netns("n" + i);
            nodes[i - 1] = ns;
            lab.link(net, List.of("198.18." + i + ".1/24"), ns, List.of("198.18." + i + ".2/24"));
            lab.ip(ns, "route", "add", "default", "via", "198.18." + i + ".1");
        }
        return new String[]{net, nodes[0], nodes[1], nodes[2]};
    }

    @Test
    void threeNodesReachEachOtherAndAnUnknownAddressIsUnreachable(Lab lab) throws Exception {
        String[] nodes = Arrays.copyOfRange(underlay(lab), 1, 4);
        Path hosts = Files.writeString(lab.logDir().resolve("hosts.json"), HOSTS);
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

    /**
     * The table from {@code --hosts-url}: an HTTPS server (openssl s_server, serving files from its
     * working directory) runs in the routing namespace at 198.18.1.1 with a certificate for that IP
     * address from a throwaway CA, which the nodes trust with {@code --ca-file}. The nodes follow a
     * change of the served file within a few refresh intervals; a node that reaches the same server
     * by another of its addresses refuses the certificate (its name does not match), keeps retrying
     * and forwards nothing.
     */
    @Test
    void hostsFromAnHttpsUrlAreFollowedAndACertificateForAnotherAddressIsRefused(Lab lab) throws Exception {
        String[] ns = underlay(lab);
        String net = ns[0];
        String[] nodes = Arrays.copyOfRange(ns, 1, 4);
        Path tls = Files.createDirectories(lab.logDir().resolve("tls"));
        Path www = Files.createDirectories(lab.logDir().resolve("www"));
        Pki.certificates(tls, "198.18.1.1");
        Files.writeString(www.resolve("hosts.json"), HOSTS);
        Process server = lab.spawn(net, "https", List.of("env", "-C", www.toString(), "openssl", "s_server", "-WWW",
                "-accept", "8443", "-cert", tls.resolve("cert.pem").toString(), "-key", tls.resolve("key.pem").toString()));
        assertThat(Lab.await(Duration.ofSeconds(10), () -> lab.log("https").contains("ACCEPT") || !server.isAlive()))
                .as("s_server listening; log:\n" + lab.log("https")).isTrue();
        assertThat(server.isAlive()).isTrue();

        String url = "https://198.18.1.1:8443/hosts.json";
        String ca = tls.resolve("ca.pem").toString();
        String[][] extra = {{}, {"-a", "198.18.2.2"}, {"-p", "7003"}};
        for (int i = 0; i < 3; i++) {
            List<String> args = new ArrayList<>(List.of("udptun", "-d", "ut0"));
            args.addAll(List.of(extra[i]));
            args.addAll(List.of("--hosts-url", url, "--ca-file", ca, "--hosts-url-interval", "1"));
            Tunnels.patchcord(lab, nodes[i], "ut" + (i + 1), args.toArray(String[]::new));
            assertThat(lab.log("ut" + (i + 1))).contains("3 hosts from " + url + ", refreshed every 1 s");
            lab.addAddress(nodes[i], "ut0", "10.88.0." + (i + 1) + "/24");
        }
        for (int i = 1; i <= 3; i++) {
            for (int j = 1; j <= 3; j++) {
                if (i != j) {
                    Tunnels.ping(lab, nodes[i - 1], "10.88.0." + j);
                }
            }
        }

        // Node 3 also answers to 10.88.0.9, which the table does not map yet; then the served table
        // drops node 2 and maps 10.88.0.9 to node 3. Replaced by a rename, so no fetch sees half a file.
        lab.addAddress(nodes[2], "ut0", "10.88.0.9/32");
        assertThat(unreachable(lab, nodes[0], "10.88.0.9")).isTrue();
        Path next = www.resolve("hosts.json.new");
        Files.writeString(next, """
                { nodes : {
                    "10.88.0.1": { "host": "198.18.1.2" },
                    "10.88.0.3": { "host": "198.18.3.2", "port": 7003 },
                    "10.88.0.9": { "host": "198.18.3.2", "port": 7003 },
                } }
                """);
        Files.move(next, www.resolve("hosts.json"), StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING);
        assertThat(Lab.await(Duration.ofSeconds(20), () -> answers(lab, nodes[0], "10.88.0.9")))
                .as("10.88.0.9 reachable after the change; log:\n" + lab.log("ut1")).isTrue();
        assertThat(Lab.await(Duration.ofSeconds(20), () -> unreachable(lab, nodes[0], "10.88.0.2")))
                .as("10.88.0.2 unmapped after the change").isTrue();
        Tunnels.ping(lab, nodes[0], "10.88.0.3");
        assertThat(lab.log("ut1")).contains("hosts table changed: 3 hosts");

        // Node 3 again, now fetching from 198.18.3.1: the same server and CA, but the certificate names 198.18.1.1.
        Tunnels.stop(lab, "ut3");
        String wrongUrl = "https://198.18.3.1:8443/hosts.json";
        Tunnels.patchcord(lab, nodes[2], "ut3-wrong", "udptun", "-d", "ut0", "-p", "7003", "--hosts-url", wrongUrl,
                "--ca-file", ca, "--hosts-url-interval", "1");
        lab.addAddress(nodes[2], "ut0", "10.88.0.3/24");
        // The JDK's own words for a certificate that does not name the address connected to.
        String refused = "No subject alternative names matching IP address 198.18.3.1";
        assertThat(Lab.await(Duration.ofSeconds(15), () -> lab.log("ut3-wrong").lines()
                .filter(l -> l.contains("could not load the hosts table") && l.contains(refused)).count() >= 3))
                .as("refused and retried; log:\n" + lab.log("ut3-wrong")).isTrue();
        assertThat(lab.log("ut3-wrong")).contains("0 hosts from " + wrongUrl);
        assertThat(unreachable(lab, nodes[2], "10.88.0.1")).isTrue();
        String counters = Tunnels.stop(lab, "ut3-wrong");
        assertThat(Tunnels.dropped(counters, "no-route")).as(counters).isPositive();
        Tunnels.stop(lab, "ut1");
        Tunnels.stop(lab, "ut2");
    }

    /** True if one ping is answered. */
    private static boolean answers(Lab lab, String ns, String target) {
        return lab.run(ns, Duration.ofSeconds(5), "ping", "-c", "1", "-W", "1", target).code() == 0;
    }

    /** True if one ping is refused at once by the local "host unreachable" of a missing table entry. */
    private static boolean unreachable(Lab lab, String ns, String target) {
        Lab.Result r = lab.run(ns, Duration.ofSeconds(5), "ping", "-c", "1", "-W", "1", target);
        return r.code() != 0 && r.output().contains("Destination Host Unreachable");
    }
}
