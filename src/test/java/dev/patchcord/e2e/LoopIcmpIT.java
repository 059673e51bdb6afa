package dev.patchcord.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.patchcord.lab.Lab;
import dev.patchcord.lab.Self;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;

import static dev.patchcord.e2e.Tunnels.B4;
import static dev.patchcord.e2e.Tunnels.B6;
import static dev.patchcord.e2e.WireGuardPeers.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two behaviours of Linux's WireGuard that userspace tunnels lacked: a route that sends a peer's
 * endpoint into the tunnel does not make an ever-growing loop (the tunnel's own datagrams are
 * dropped, {@code routing-loop}), and a packet for an address no peer covers is answered with
 * ICMP "destination unreachable" (still counted {@code no-route}). Both packet paths: bin/test runs
 * this class again with PATCHCORD_OFFLOADS=none.
 */
@ExtendWith(LabExtension.class)
class LoopIcmpIT {
    /** The acceptance bound of issue 15: the kernel lets less than 70 kB in for 10 pings. */
    private static final long LOOP_BOUND = 100_000;

    @Test
    void aRouteToTheEndpointThroughTheTunnelIsNoLoopOverIpv4(Lab lab) throws Exception {
        loop(lab, false);
    }

    @Test
    void aRouteToTheEndpointThroughTheTunnelIsNoLoopOverIpv6(Lab lab) throws Exception {
        loop(lab, true);
    }

    /**
     * a and b hand-shake over the veth; then a routes b's endpoint into its own interface, and
     * every datagram a sends to b comes back to a's interface. Ten pings later the interface
     * must have handed patchcord less than {@link #LOOP_BOUND} bytes, and the loop be counted.
     */
    private static void loop(Lab lab, boolean v6) throws Exception {
        String[] ns = Tunnels.pair(lab);
        String ifA = ifname("l"), ifB = ifname("l");
        KeyPair a = keys(lab, ns[0]), b = keys(lab, ns[1]);
        String endpoint = v6 ? "[" + B6 + "]:51820" : B4 + ":51820";
        // b's allowed IPs at a cover everything, b's endpoint too: what the loop needs. A default
        // route is never added by patchcord itself, so nothing loops until the test says so.
        patchcordUp(lab, ns[0], "pa", config(lab, ifA, """
                [Interface]
                PrivateKey = %s
                ListenPort = 51820
                Address = 10.61.0.1/24, fd00:61::1/64
                [Peer]
                PublicKey = %s
                AllowedIPs = 0.0.0.0/0, ::/0
                Endpoint = %s
                """.formatted(a.privateKey(), b.publicKey(), endpoint)));
        patchcordUp(lab, ns[1], "pb", config(lab, ifB, """
                [Interface]
                PrivateKey = %s
                ListenPort = 51820
                Address = 10.61.0.2/24, fd00:61::2/64
                [Peer]
                PublicKey = %s
                AllowedIPs = 10.61.0.1/32, fd00:61::1/128
                """.formatted(b.privateKey(), a.publicKey())));
        Tunnels.reach(lab, ns[0], "10.61.0.2");
        // The packet path this run checks (bin/test runs the class on both).
        assertThat(lab.log("pa")).contains("none".equals(System.getenv("PATCHCORD_OFFLOADS"))
                ? "one packet per system call" : "batches, UDP GSO");

        lab.ip(ns[0], v6 ? "-6" : "-4", "route", "add", v6 ? B6 + "/128" : B4 + "/32", "dev", ifA);
        long before = tunStats(lab, ns[0], ifA).get("tx").get("bytes").asLong();
        Lab.Result ping = lab.run(ns[0], Duration.ofSeconds(30), "ping", "-c", "10", "-i", "0.2", "-W", "1", "10.61.0.2");
        assertThat(ping.code()).as("no answer can come through the loop:\n" + ping.output()).isNotZero();
        // Once every ping's datagram has come back and been counted, all there is has been read.
        boolean counted = Lab.await(Duration.ofSeconds(10), () -> dropped(lab, ns[0], ifA, "routing-loop") >= 10);
        long into = tunStats(lab, ns[0], ifA).get("tx").get("bytes").asLong() - before;
        System.out.printf("LoopIcmpIT: %d bytes into the loop for 10 pings over IPv%d%n", into, v6 ? 6 : 4);
        assertThat(into).as("bytes the interface handed patchcord during 10 pings into the loop").isLessThan(LOOP_BOUND);
        assertThat(counted).as("routing-loop drops; log:\n" + lab.log("pa")).isTrue();

        // Without the route the tunnel works again at once: nothing was broken.
        lab.ip(ns[0], v6 ? "-6" : "-4", "route", "del", v6 ? B6 + "/128" : B4 + "/32", "dev", ifA);
        Tunnels.reach(lab, ns[0], "10.61.0.2");
        Tunnels.ping(lab, ns[0], "fd00:61::2");
    }

    /** A lone patchcord whose only peer covers 10.62.0.2 and fd00:62::2; nothing else is routable. */
    private static String lone(Lab lab, String ns) throws Exception {
        String ifA = ifname("u");
        KeyPair a = keys(lab, ns), b = keys(lab, ns);
        patchcordUp(lab, ns, "pu", config(lab, ifA, """
                [Interface]
                PrivateKey = %s
                Address = 10.62.0.1/24, fd00:62::1/64
                [Peer]
                PublicKey = %s
                AllowedIPs = 10.62.0.2/32, fd00:62::2/128
                """.formatted(a.privateKey(), b.publicKey())));
        return ifA;
    }

    @Test
    void anAddressNoPeerCoversIsUnreachableAtOnce(Lab lab) throws Exception {
        String ns = lab.netns("a");
        String ifA = lone(lab, ns);
        // -W 5: without an answer ping would wait five seconds; the error ends it at once.
        long start = System.nanoTime();
        Lab.Result v4 = lab.run(ns, Duration.ofSeconds(20), "ping", "-c", "1", "-W", "5", "10.62.0.3");
        double seconds4 = (System.nanoTime() - start) / 1e9;
        assertThat(v4.output()).as(v4.output()).contains("From 10.62.0.3 icmp_seq=1 Destination Host Unreachable");
        assertThat(seconds4).as("ping's wait for the error").isLessThan(4);

        start = System.nanoTime();
        Lab.Result v6 = lab.run(ns, Duration.ofSeconds(20), "ping", "-6", "-c", "1", "-W", "5", "fd00:62::3");
        double seconds6 = (System.nanoTime() - start) / 1e9;
        assertThat(v6.output()).as(v6.output())
                .contains("From fd00:62::3 icmp_seq=1 Destination unreachable: Address unreachable");
        assertThat(seconds6).isLessThan(4);

        // A TCP connection fails at once too (EHOSTUNREACH), rather than after the SYN retries.
        Lab.Result tcp = lab.run(ns, Duration.ofSeconds(20), "bash", "-c", "echo > /dev/tcp/10.62.0.3/80");
        assertThat(tcp.code()).isNotZero();
        assertThat(tcp.output()).containsIgnoringCase("no route to host");

        assertThat(dropped(lab, ns, ifA, "no-route")).as("still counted as dropped").isGreaterThanOrEqualTo(3);
    }

    @Test
    void aFloodToNowhereGetsARateLimitedAnswer(Lab lab) throws Exception {
        String ns = lab.netns("a");
        String ifA = lone(lab, ns);
        // What the interface received from patchcord: only its ICMP errors (its peer never answers).
        long start = System.nanoTime();
        Lab.Result flood = lab.run(ns, Duration.ofSeconds(60), "bash", "-c",
                "for i in $(seq 5000); do echo x > /dev/udp/10.62.0.3/9; done 2>/dev/null; true");
        assertThat(flood.code()).isZero();
        // Wait until patchcord has read everything: the count stops moving.
        long[] last = {-1};
        assertThat(Lab.await(Duration.ofSeconds(20), () -> {
            long now = tunStats(lab, ns, ifA).get("rx").get("packets").asLong();
            boolean still = now == last[0];
            last[0] = now;
            return still;
        })).isTrue();
        double seconds = (System.nanoTime() - start) / 1e9;
        long answers = last[0];
        long dropped = dropped(lab, ns, ifA, "no-route");
        System.out.printf("LoopIcmpIT: %d ICMP answers to %d packets to nowhere in %.2f s%n", answers, dropped, seconds);
        assertThat(answers).as("the burst is answered").isGreaterThanOrEqualTo(50);
        assertThat(answers).as(dropped + " packets to nowhere in %.2f s", seconds)
                .isLessThanOrEqualTo(50 + (long) (1000 * seconds) + 10);
        assertThat(dropped).isGreaterThanOrEqualTo(answers);
    }

    /** The kernel's counters of the interface: {@code rx} is what patchcord wrote, {@code tx} what it read. */
    private static JsonNode tunStats(Lab lab, String ns, String ifname) {
        try {
            return new ObjectMapper().readTree(lab.sh(ns, "ip", "-s", "-j", "link", "show", "dev", ifname))
                    .get(0).get("stats64");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static long dropped(Lab lab, String ns, String ifname, String reason) {
        try {
            JsonNode d = new ObjectMapper().readTree(lab.sh(ns, Self.command("show", ifname, "--json")
                    .toArray(String[]::new))).get(0).get("dropped");
            return d.has(reason) ? d.get(reason).asLong() : 0;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
