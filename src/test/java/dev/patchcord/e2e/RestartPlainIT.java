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

import static dev.patchcord.e2e.Tunnels.A4;
import static dev.patchcord.e2e.Tunnels.B4;
import static dev.patchcord.e2e.WireGuardPeers.ifname;
import static dev.patchcord.e2e.RestartIT.pid;
import static dev.patchcord.e2e.RestartIT.stopSuccessors;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code patchcord restart} for the plain modes: the running process hands its TUN/TAP interface
 * and UDP socket to a successor, and pings at 100 a second lose at most two. tinyvpn (twice in a
 * row, so a successor hands over again), udptun, and tap2tap on the side that learned its peer
 * (the successor sends to it at once); tinyvpn's stdio mode refuses with its reason.
 */
@ExtendWith(LabExtension.class)
class RestartPlainIT {
    private static final Pattern PINGS = Pattern.compile("(\\d+) packets transmitted, (\\d+) received");

    /**
     * Restarts {@code ifname} while {@code ns} pings {@code target} every 10 ms: the restart exits
     * 0, the pid file names a new process, the old one is gone, and at most two pings are lost.
     */
    private static void restartUnderPing(Lab lab, String ns, String ifname, String target, String ping) throws Exception {
        long before = pid(ifname);
        Process p = lab.spawn(ns, ping, List.of("ping", "-i", "0.01", "-c", "800", "-W", "2", target));
        assertThat(Lab.await(Duration.ofSeconds(20), () -> lab.log(ping).lines()
                .filter(l -> l.contains("bytes from")).count() >= 100)).as(lab.log(ping)).isTrue();
        Lab.Result r = lab.run(ns, Duration.ofSeconds(150), Self.command("restart", ifname).toArray(String[]::new));
        assertThat(r.code()).as("restart " + ifname + ": " + r.output()).isZero();
        long after = pid(ifname);
        assertThat(after).as(r.output()).isNotEqualTo(before);
        assertThat(Lab.await(Duration.ofSeconds(10), () -> ProcessHandle.of(before).map(h -> !h.isAlive()).orElse(true)))
                .as("old process gone").isTrue();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        Matcher m = PINGS.matcher(lab.log(ping));
        assertThat(m.find()).as(lab.log(ping)).isTrue();
        long sent = Long.parseLong(m.group(1)), received = Long.parseLong(m.group(2));
        System.out.println(ifname + " restart under ping -i 0.01: " + sent + " sent, " + received + " received");
        assertThat(sent - received).as("pings lost across the restart of " + ifname).isLessThanOrEqualTo(2);
    }

    @Test
    void tinyvpnRestartsTwiceUnderPingWithAtMostTwoLostEachTime(Lab lab) throws Exception {
        String[] ns = Tunnels.pair(lab);
        String ifA = ifname("ta"), ifB = ifname("tb");
        Tunnels.patchcord(lab, ns[0], "tv-a", "tinyvpn", ifA, B4, "5555");
        Tunnels.patchcord(lab, ns[1], "tv-b", "tinyvpn", ifB, A4, "5555");
        lab.addAddress(ns[0], ifA, "10.79.0.1/24");
        lab.addAddress(ns[1], ifB, "10.79.0.2/24");
        try {
            Tunnels.ping(lab, ns[0], "10.79.0.2");
            long first = pid(ifA);
            restartUnderPing(lab, ns[0], ifA, "10.79.0.2", "ping1");
            long second = pid(ifA);
            // The successor hands over in its turn (its own command line carries the hand-over option).
            restartUnderPing(lab, ns[0], ifA, "10.79.0.2", "ping2");
            assertThat(pid(ifA)).isNotIn(first, second);
            assertThat(lab.processes().get("tv-a").exitValue()).as("the first process exits 0").isZero();
            assertThat(lab.log("tv-a")).contains("restart: successor pid " + second)
                    .contains("restart: done; this process (pid " + second + ")")
                    .contains("restart: done; this process (pid " + pid(ifA) + ")");
            assertThat(lab.ip(ns[0], "addr", "show", ifA)).as("the address stays").contains("10.79.0.1/24");
            // b's end too: the interface on either side can be handed over.
            restartUnderPing(lab, ns[1], ifB, "10.79.0.1", "ping3");
        } finally {
            stopSuccessors(ifA, ifB);
        }
        assertThat(Lab.await(Duration.ofSeconds(10), () -> !lab.hasInterface(ns[0], ifA)))
                .as("the successor removes the interface when it stops").isTrue();
    }

    @Test
    void udptunRestartsUnderPingWithAtMostTwoLost(Lab lab) throws Exception {
        String[] ns = Tunnels.pair(lab);
        String ifA = ifname("ua"), ifB = ifname("ub");
        Tunnels.patchcord(lab, ns[0], "ut-a", "udptun", "-d", ifA, "-A", B4);
        Tunnels.patchcord(lab, ns[1], "ut-b", "udptun", "-d", ifB, "-A", A4);
        lab.addAddress(ns[0], ifA, "10.89.0.1/24");
        lab.addAddress(ns[1], ifB, "10.89.0.2/24");
        try {
            Tunnels.ping(lab, ns[0], "10.89.0.2");
            restartUnderPing(lab, ns[1], ifB, "10.89.0.1", "ping");
            assertThat(lab.processes().get("ut-b").exitValue()).as("the old process exits 0").isZero();
            Tunnels.ping(lab, ns[0], "10.89.0.2");
        } finally {
            stopSuccessors(ifA, ifB);
        }
    }

    @Test
    void tap2tapHandsOverThePeerItLearned(Lab lab) throws Exception {
        String[] ns = Tunnels.pair(lab);
        String ifA = ifname("pa"), ifB = ifname("pb");
        // a has no --remote: it learns b from b's first frame.
        Tunnels.patchcord(lab, ns[0], "tt-a", "tap2tap", "-i", ifA);
        Tunnels.patchcord(lab, ns[1], "tt-b", "tap2tap", "-i", ifB, "--remote", A4);
        lab.addAddress(ns[0], ifA, "10.78.0.1/24");
        lab.addAddress(ns[1], ifB, "10.78.0.2/24");
        try {
            Tunnels.ping(lab, ns[1], "10.78.0.1");
            restartUnderPing(lab, ns[0], ifA, "10.78.0.2", "ping");
            assertThat(lab.log("tt-a")).contains("peer " + B4 + ":1234 (carried over)");
            assertThat(lab.ip(ns[0], "link", "show", ifA)).contains("mtu 1458");
        } finally {
            stopSuccessors(ifA, ifB);
        }
    }

    @Test
    void tinyvpnOnStdioRefusesWithItsReasonAndCarriesOn(Lab lab) throws Exception {
        String[] ns = Tunnels.pair(lab);
        Process p = lab.spawnPiped(ns[0], "stdio", Self.command("tinyvpn", "stdio", B4, "5555"));
        try {
            Tunnels.awaitReady(lab, "stdio", p);
            assertThat(dev.patchcord.sys.Libc.kill(p.pid(), 12)).isZero(); // SIGUSR2, as 'restart' sends
            assertThat(Lab.await(Duration.ofSeconds(10), () -> lab.log("stdio").contains("restart failed")))
                    .as(lab.log("stdio")).isTrue();
            assertThat(lab.log("stdio")).contains("standard input and output ('stdio') cannot be handed to another process");
            assertThat(p.isAlive()).isTrue();
        } finally {
            Files.deleteIfExists(Path.of("/run/patchcord/tinyvpn.restart")); // its outcome, under the label it runs by
        }
    }
}
