package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import dev.patchcord.lab.Self;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.patchcord.e2e.RestartIT.pid;
import static dev.patchcord.e2e.RestartIT.stopSuccessors;
import static dev.patchcord.e2e.WireGuardPeers.ifname;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code patchcord restart} for a simplevpn client: the running process hands its TUN interface
 * and its TCP connection to the server to a successor, which neither reconnects nor asks for an
 * address again; pings at 100 a second from it to another client lose at most two, and the
 * connection is the very same (as {@code ss} shows it). A server in its own namespace, each client
 * joined to it by a veth (198.18.N.1 at the server, 198.18.N.2 at client N).
 */
@ExtendWith(LabExtension.class)
class RestartSimplevpnIT {
    private static final Pattern PINGS = Pattern.compile("(\\d+) packets transmitted, (\\d+) received");

    /** The established TCP connections of {@code ns}, one "local remote" pair a line (not the queues' bytes). */
    private static String connections(Lab lab, String ns) {
        Lab.Result r = lab.run(ns, Duration.ofSeconds(10), "ss", "-tnH", "state", "established");
        assertThat(r.code()).as(r.output()).isZero();
        return r.output().lines().map(l -> l.strip().split("\\s+"))
                .map(f -> f[f.length - 2] + " " + f[f.length - 1]).sorted()
                .collect(java.util.stream.Collectors.joining("\n"));
    }

    @Test
    void aClientRestartsUnderPingOnTheSameConnectionWithAtMostTwoLost(Lab lab) throws Exception {
        String server = lab.netns("srv");
        String c1 = lab.netns("c1"), c2 = lab.netns("c2");
        lab.link(server, List.of("198.18.1.1/24"), c1, List.of("198.18.1.2/24"));
        lab.link(server, List.of("198.18.2.1/24"), c2, List.of("198.18.2.2/24"));
        String if1 = ifname("sa"), if2 = ifname("sb");
        Tunnels.patchcord(lab, server, "server", "simplevpn", "server");
        Tunnels.patchcord(lab, c1, "client1", "simplevpn", "client", "-s", "198.18.1.1", "-i", if1, "-a", "10.0.1.5");
        Tunnels.patchcord(lab, c2, "client2", "simplevpn", "client", "-s", "198.18.2.1", "-i", if2, "-a", "10.0.1.6");
        try {
            Tunnels.ping(lab, c1, "10.0.1.6");
            String tcpBefore = connections(lab, c1);
            assertThat(tcpBefore).contains("198.18.1.1]:2002");
            long before = pid(if1);

            Process p = lab.spawn(c1, "ping", List.of("ping", "-i", "0.01", "-c", "800", "-W", "2", "10.0.1.6"));
            assertThat(Lab.await(Duration.ofSeconds(20), () -> lab.log("ping").lines()
                    .filter(l -> l.contains("bytes from")).count() >= 100)).as(lab.log("ping")).isTrue();
            Lab.Result r = lab.run(c1, Duration.ofSeconds(150), Self.command("restart", if1).toArray(String[]::new));
            assertThat(r.code()).as("restart " + if1 + ": " + r.output() + lab.log("client1")).isZero();
            long after = pid(if1);
            assertThat(after).as(r.output()).isNotEqualTo(before);
            assertThat(Lab.await(Duration.ofSeconds(10), () -> ProcessHandle.of(before).map(h -> !h.isAlive()).orElse(true)))
                    .as("old process gone").isTrue();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            Matcher m = PINGS.matcher(lab.log("ping"));
            assertThat(m.find()).as(lab.log("ping")).isTrue();
            long sent = Long.parseLong(m.group(1)), received = Long.parseLong(m.group(2));
            System.out.println("simplevpn client restart under ping -i 0.01: " + sent + " sent, " + received + " received");
            assertThat(sent - received).as("pings lost across the restart").isLessThanOrEqualTo(2);

            assertThat(connections(lab, c1)).as("the same TCP connection").isEqualTo(tcpBefore);
            assertThat(lab.processes().get("client1").exitValue()).as("the old process exits 0").isZero();
            String log = lab.log("client1");
            assertThat(log).contains("restart: done; this process (pid " + after + ")")
                    .contains("(taken over)");
            assertThat(log.split(Pattern.quote("connected to"), -1).length - 1).as("no reconnection: " + log).isEqualTo(1);
            assertThat(lab.log("server")).doesNotContain("disconnected");
            assertThat(lab.ip(c1, "-4", "address", "show", "dev", if1)).as("the address stays").contains("10.0.1.5/16");
            Tunnels.ping(lab, c1, "10.0.1.6");
            Tunnels.ping(lab, c2, "10.0.1.5");
        } finally {
            stopSuccessors(if1);
        }
        assertThat(Lab.await(Duration.ofSeconds(10), () -> !lab.hasInterface(c1, if1)))
                .as("the successor removes the interface when it stops").isTrue();
    }

    @Test
    void aServerRestartsUnderPingKeepingEveryClientConnectionWithAtMostTwoLost(Lab lab) throws Exception {
        String server = lab.netns("srv");
        String c1 = lab.netns("c1"), c2 = lab.netns("c2");
        lab.link(server, List.of("198.18.1.1/24"), c1, List.of("198.18.1.2/24"));
        lab.link(server, List.of("198.18.2.1/24"), c2, List.of("198.18.2.2/24"));
        // A port of its own: the run name, simplevpn-PORT, is the pid file's name on the host.
        String port = "4702", run = "simplevpn-" + port;
        String if1 = ifname("sc"), if2 = ifname("sd");
        Tunnels.patchcord(lab, server, "server", "simplevpn", "server", "-p", port);
        Tunnels.patchcord(lab, c1, "client1", "simplevpn", "client", "-s", "198.18.1.1", "-p", port, "-i", if1);
        Tunnels.patchcord(lab, c2, "client2", "simplevpn", "client", "-s", "198.18.2.1", "-p", port, "-i", if2);
        try {
            Tunnels.ping(lab, c1, "10.0.254.253");
            String tcpBefore = connections(lab, server);
            assertThat(tcpBefore.lines().count()).as(tcpBefore).isEqualTo(2);
            long before = pid(run);

            Process p = lab.spawn(c1, "ping", List.of("ping", "-i", "0.01", "-c", "800", "-W", "2", "10.0.254.253"));
            assertThat(Lab.await(Duration.ofSeconds(20), () -> lab.log("ping").lines()
                    .filter(l -> l.contains("bytes from")).count() >= 100)).as(lab.log("ping")).isTrue();
            Lab.Result r = lab.run(server, Duration.ofSeconds(150), Self.command("restart", run).toArray(String[]::new));
            assertThat(r.code()).as("restart " + run + ": " + r.output() + lab.log("server")).isZero();
            long after = pid(run);
            assertThat(after).as(r.output()).isNotEqualTo(before);
            assertThat(Lab.await(Duration.ofSeconds(10), () -> ProcessHandle.of(before).map(h -> !h.isAlive()).orElse(true)))
                    .as("old process gone").isTrue();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            Matcher m = PINGS.matcher(lab.log("ping"));
            assertThat(m.find()).as(lab.log("ping")).isTrue();
            long sent = Long.parseLong(m.group(1)), received = Long.parseLong(m.group(2));
            System.out.println("simplevpn server restart under ping -i 0.01: " + sent + " sent, " + received + " received");
            assertThat(sent - received).as("pings lost across the restart").isLessThanOrEqualTo(2);

            assertThat(connections(lab, server)).as("the same TCP connections").isEqualTo(tcpBefore);
            assertThat(lab.processes().get("server").exitValue()).as("the old process exits 0").isZero();
            assertThat(lab.log("server")).contains("2 clients taken over").doesNotContain("disconnected");
            for (String client : List.of("client1", "client2")) {
                assertThat(lab.log(client)).as("no reconnection").doesNotContain("lost");
            }
            Tunnels.ping(lab, c2, "10.0.254.254");
            // The successor's pool holds the handed-over addresses: a third client gets the next one.
            String c3 = lab.netns("c3");
            lab.link(server, List.of("198.18.3.1/24"), c3, List.of("198.18.3.2/24"));
            Tunnels.patchcord(lab, c3, "client3", "simplevpn", "client", "-s", "198.18.3.1", "-p", port, "-i", ifname("se"));
            assertThat(lab.log("client3")).contains("address 10.0.254.252");
            Tunnels.ping(lab, c3, "10.0.254.254");
        } finally {
            stopSuccessors(run);
        }
    }
}
