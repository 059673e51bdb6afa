package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.patchcord.e2e.Tunnels.B4;
import static dev.patchcord.e2e.WireGuardPeers.*;
import static org.assertj.core.api.Assertions.assertThat;

/** WireGuard over TCP between two patchcord peers: a is the client, b the server at 198.18.0.2:51820. */
@ExtendWith(LabExtension.class)
class TcpIT {
    private record Ends(String a, String b, String ifA, String ifB) {}

    private Ends start(Lab lab, String transport, boolean blockUdpAtServer) throws Exception {
        String[] ns = Tunnels.pair(lab);
        if (blockUdpAtServer) {
            nft(lab, ns[1], "add table inet pctest");
            nft(lab, ns[1], "add chain inet pctest in { type filter hook input priority 0 ; }");
            nft(lab, ns[1], "add rule inet pctest in udp dport 51820 drop");
        }
        String ifA = ifname("a"), ifB = ifname("b");
        KeyPair ka = keys(lab, ns[0]), kb = keys(lab, ns[1]);
        patchcordUp(lab, ns[1], "server", config(lab, ifB, """
                [Interface]
                PrivateKey = %s
                ListenPort = 51820
                Address = 10.95.0.2/24
                Transport = %s
                [Peer]
                PublicKey = %s
                AllowedIPs = 10.95.0.1/32
                """.formatted(kb.privateKey(), transport, ka.publicKey())), "--verbose");
        patchcordUp(lab, ns[0], "client", config(lab, ifA, """
                [Interface]
                PrivateKey = %s
                Address = 10.95.0.1/24
                Transport = %s
                [Peer]
                PublicKey = %s
                AllowedIPs = 10.95.0.2/32
                Endpoint = %s:51820
                PersistentKeepalive = 5
                """.formatted(ka.privateKey(), transport, kb.publicKey(), B4)), "--verbose");
        return new Ends(ns[0], ns[1], ifA, ifB);
    }

    private static void nft(Lab lab, String ns, String rule) {
        lab.sh(ns, "sh", "-c", "nft '" + rule + "'");
    }

    private static void awaitPing(Lab lab, String ns, String target, Duration within) {
        boolean ok = Lab.await(within, () -> lab.run(ns, Duration.ofSeconds(5), "ping", "-c", "1", "-W", "1", target).code() == 0);
        assertThat(ok).as("ping " + target + " within " + within + "; client log:\n" + lab.log("client")).isTrue();
    }

    @Test
    void aTcpOnlyTunnelCarries100MegabytesIntact(Lab lab) throws Exception {
        Ends e = start(lab, "tcp", true);
        awaitPing(lab, e.a(), "10.95.0.2", Duration.ofSeconds(20));
        Tunnels.transfer(lab, e.a(), e.b(), "10.95.0.2", 100_000_000);
        assertThat(lab.log("client")).contains("connected over TCP");
    }

    @Test
    void withUdpBlockedAClientForBothFallsBackToTcp(Lab lab) throws Exception {
        Ends e = start(lab, "udp,tcp", true);
        awaitPing(lab, e.a(), "10.95.0.2", Duration.ofSeconds(40));
        assertThat(lab.log("client")).contains("connected over TCP");
        assertThat(lab.log("server")).contains("is now at tcp:");
        Tunnels.transfer(lab, e.b(), e.a(), "10.95.0.1", 20_000_000);
    }

    @Test
    void withUdpOpenBothSidesStayOnUdp(Lab lab) throws Exception {
        Ends e = start(lab, "udp,tcp", false);
        awaitPing(lab, e.a(), "10.95.0.2", Duration.ofSeconds(20));
        assertThat(lab.log("client")).doesNotContain("connected over TCP");
    }

    @Test
    void trafficResumesAfterTheTcpConnectionIsKilledAndRestored(Lab lab) throws Exception {
        Ends e = start(lab, "tcp", false);
        awaitPing(lab, e.a(), "10.95.0.2", Duration.ofSeconds(20));
        CompletableFuture<Void> transfer = CompletableFuture.runAsync(
                () -> Tunnels.transfer(lab, e.a(), e.b(), "10.95.0.2", 100_000_000));
        assertThat(Lab.await(Duration.ofSeconds(60), () -> lab.log("server").contains("is now at tcp:")
                && rx(lab, e.b(), e.ifB()) > 20_000_000)).as("transfer under way").isTrue();
        // Reset the tunnel's TCP connection at the server, keep it refused until the client has seen
        // it closed, then allow it again.
        nft(lab, e.b(), "add table inet pctest");
        nft(lab, e.b(), "add chain inet pctest in { type filter hook input priority 0 ; }");
        nft(lab, e.b(), "add rule inet pctest in tcp dport 51820 reject with tcp reset");
        assertThat(Lab.await(Duration.ofSeconds(20), () -> lab.log("client").contains("TCP connection closed; reconnecting")))
                .as("the client sees its connection reset: " + lab.log("client")).isTrue();
        nft(lab, e.b(), "delete table inet pctest");
        transfer.get(120, TimeUnit.SECONDS);
    }

    @Test
    void silentConnectionsAreLimitedPerAddressAndClosedWhileThePeersOwnStays(Lab lab) throws Exception {
        Ends e = start(lab, "tcp", false);
        awaitPing(lab, e.a(), "10.95.0.2", Duration.ofSeconds(20));
        // 20 connections from the client's own address that never send anything.
        lab.spawn(e.a(), "crowd", java.util.List.of("bash", "-c",
                "for i in $(seq 20); do exec {fd}<>/dev/tcp/" + B4 + "/51820 || true; done; sleep 60"));
        assertThat(Lab.await(Duration.ofSeconds(45), () -> lab.log("server").contains("per-address 12")
                && lab.log("server").contains("unauthenticated-timeout 8")))
                .as("8 admitted and closed after 15 s, 12 refused; server log:\n" + lab.log("server")).isTrue();
        awaitPing(lab, e.a(), "10.95.0.2", Duration.ofSeconds(5));
        assertThat(lab.log("client")).doesNotContain("TCP connection closed");
    }

    @Test
    void bytesThatAreNotWireGuardFramingAreCountedAndCloseOnlyTheirConnection(Lab lab) throws Exception {
        Ends e = start(lab, "tcp", false);
        awaitPing(lab, e.a(), "10.95.0.2", Duration.ofSeconds(20));
        // An HTTP request on the tunnel's port: its first two bytes make a length of 18245 ("GE"),
        // and what follows is no WireGuard message type. The server closes the connection (cat
        // ends at once, long before its 10 s: at the end of the stream, or at the reset that closing
        // with bytes unread sends, which may also come before the request is all written).
        String out = lab.sh(e.a(), "bash", "-c", "trap '' PIPE; exec 3<>/dev/tcp/" + B4 + "/51820; "
                + "printf 'GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' >&3 2>/dev/null; "
                + "timeout 10 cat <&3 >/dev/null 2>&1; echo \"cat: $?\"");
        assertThat(out).as("the server closed the connection").containsPattern("cat: [01]\\b");
        Tunnels.transfer(lab, e.a(), e.b(), "10.95.0.2", 10_000_000);
        assertThat(lab.log("client")).doesNotContain("TCP connection closed");
        String counters = Tunnels.stop(lab, "server");
        assertThat(Tunnels.dropped(counters, "malformed")).as(counters).isEqualTo(1);
    }

    private static long rx(Lab lab, String ns, String ifname) {
        return Long.parseLong(lab.sh(ns, "cat", "/sys/class/net/" + ifname + "/statistics/rx_bytes").strip());
    }
}
