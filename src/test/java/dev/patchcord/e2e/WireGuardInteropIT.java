package dev.patchcord.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.patchcord.lab.Lab;
import dev.patchcord.lab.Self;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.patchcord.e2e.Tunnels.A4;
import static dev.patchcord.e2e.Tunnels.B4;
import static dev.patchcord.e2e.WireGuardPeers.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * patchcord against the reference userspace WireGuard (Debian's wireguard-go and wg), between
 * two private namespaces: a is patchcord at 10.60.0.1, b is wireguard-go at 10.60.0.2.
 */
@ExtendWith(LabExtension.class)
class WireGuardInteropIT {
    private static final long HUNDRED_MB = 100_000_000;

    private record Setup(String a, String b, String pcIf, String wgIf, KeyPair pc, KeyPair wg) {}

    /** Which preshared keys the two sides get. */
    private enum Psk { NONE, SAME, PATCHCORD_ONLY }

    /** Both sides configured; wireguard-go knows patchcord's endpoint only if asked. Nothing sent yet. */
    private Setup setup(Lab lab, Psk pskMode, int keepalive, boolean wgKnowsEndpoint) throws Exception {
        String[] ns = Tunnels.pair(lab);
        String pcIf = ifname("p"), wgIf = ifname("w");
        KeyPair pc = keys(lab, ns[0]), wg = keys(lab, ns[1]);
        String psk = pskMode == Psk.NONE ? null : psk(lab, ns[0]);
        Path conf = config(lab, pcIf, """
                [Interface]
                PrivateKey = %s
                ListenPort = 51820
                Address = 10.60.0.1/24
                [Peer]
                PublicKey = %s
                %s
                AllowedIPs = 10.60.0.2/32
                Endpoint = %s:51820
                PersistentKeepalive = %d
                """.formatted(pc.privateKey(), wg.publicKey(), psk == null ? "" : "PresharedKey = " + psk, B4,
                keepalive));
        patchcordUp(lab, ns[0], "patchcord", conf, "--verbose");
        List<String> peer = new java.util.ArrayList<>(List.of("peer", pc.publicKey(), "allowed-ips", "10.60.0.1/32"));
        if (wgKnowsEndpoint) {
            // As a roaming client would: keepalives tell patchcord where it went even when idle.
            peer.addAll(List.of("endpoint", A4 + ":51820", "persistent-keepalive", "1"));
        }
        if (pskMode == Psk.SAME) {
            Path pskFile = lab.logDir().resolve("psk.key");
            java.nio.file.Files.writeString(pskFile, psk);
            peer.addAll(List.of("preshared-key", pskFile.toString()));
        }
        wireguardGo(lab, ns[1], wgIf, wg, 51820, "10.60.0.2/24", peer);
        return new Setup(ns[0], ns[1], pcIf, wgIf, pc, wg);
    }

    @Test
    void patchcordInitiatesAndCarries100MegabytesIntact(Lab lab) throws Exception {
        Setup s = setup(lab, Psk.NONE, 0, false);
        Tunnels.reach(lab, s.a(), "10.60.0.2");
        Tunnels.ping(lab, s.b(), "10.60.0.1");
        Tunnels.transfer(lab, s.a(), s.b(), "10.60.0.2", HUNDRED_MB);
        assertThat(lab.sh(s.b(), "wg", "show", s.wgIf(), "latest-handshakes")).doesNotContain("\t0\n");
        // wireguard-go takes no offloads: whichever packet path patchcord runs (bin/test runs this
        // class both ways), what reached it were MTU-sized datagrams, and it said which path it was.
        assertThat(lab.log("patchcord")).contains("none".equals(System.getenv("PATCHCORD_OFFLOADS"))
                ? "one packet per system call" : "batches, UDP GSO, UDP GRO, TUN offloads");
        // The handshakes with wireguard-go were made by the X25519 the offloads chose.
        assertThat(lab.log("patchcord")).contains("X25519 by " + dev.patchcord.device.Offloads
                .fromSetting(null).curve25519().name());
        // -d told each step of patchcord's handshake, in order.
        assertSteps(lab.log("patchcord"), s.wg(), "handshake initiation sent", "handshake response received",
                "session established (initiator)");
        // show lists wireguard-go's interface too, without the figures only patchcord has.
        String show = lab.sh(s.a(), Self.command("show", s.wgIf()).toArray(String[]::new));
        assertThat(show).contains("interface: " + s.wgIf()).contains("peer: " + s.pc().publicKey())
                .doesNotContain("dropped").doesNotContain("mode:");
        assertThat(lab.sh(s.a(), Self.command("show", s.pcIf()).toArray(String[]::new)))
                .contains("mode: wireguard, transport: udp").contains("dropped: ");
        JsonNode json = new ObjectMapper().readTree(lab.sh(s.a(), Self.command("show", s.wgIf(), "--json").toArray(String[]::new)));
        assertThat(json.get(0).get("dropped").isNull()).as(json.toString()).isTrue();
        assertThat(json.get(0).get("mode").isNull()).as(json.toString()).isTrue();
        assertThat(json.get(0).get("peers").get(0).get("rx_bytes").asLong()).as(json.toString()).isPositive();
    }

    /**
     * The {@code -d} lines about {@code peer} in {@code log} include {@code steps}, in that order
     * (the key is shortened to 8 characters and an ellipsis, which the locale may print as '?').
     */
    private static void assertSteps(String log, KeyPair peer, String... steps) {
        int from = 0;
        for (String step : steps) {
            Matcher m = Pattern.compile("peer " + Pattern.quote(peer.publicKey().substring(0, 8)) + "\\S{1,3}: "
                    + Pattern.quote(step)).matcher(log);
            assertThat(m.find(from)).as("'" + step + "' after offset " + from + " in:\n" + log).isTrue();
            from = m.end();
        }
    }

    @Test
    void wireguardGoInitiatesWithAPresharedKey(Lab lab) throws Exception {
        Setup s = setup(lab, Psk.SAME, 0, true);
        Tunnels.reach(lab, s.b(), "10.60.0.1");
        Tunnels.ping(lab, s.a(), "10.60.0.2");
        Tunnels.transfer(lab, s.b(), s.a(), "10.60.0.1", HUNDRED_MB);
        assertSteps(lab.log("patchcord"), s.wg(), "handshake initiation received", "handshake response sent",
                "session established (responder)");
    }

    @Test
    void aMismatchedPresharedKeyNeverConnects(Lab lab) throws Exception {
        Setup s = setup(lab, Psk.PATCHCORD_ONLY, 0, false);
        Lab.Result ping = lab.run(s.a(), Duration.ofSeconds(20), "ping", "-c", "2", "-W", "2", "10.60.0.2");
        assertThat(ping.code()).isNotZero();
        String counters = Tunnels.stop(lab, "patchcord");
        assertThat(Tunnels.dropped(counters, "bad-auth")).as(counters).isPositive();
    }

    @Test
    void persistentKeepaliveIsSeenOnTheWire(Lab lab) throws Exception {
        Setup s = setup(lab, Psk.NONE, 1, false);
        // Nothing is sent by anyone: patchcord's keepalives alone make the handshake and the traffic.
        assertThat(Lab.await(Duration.ofSeconds(15), () -> wgTransfer(lab, s.b(), s.wgIf())[0] > 0))
                .as("wireguard-go received something").isTrue();
        // Three more keepalives, timed: at one a second they take about 3 s (2 at the least, if
        // the first came right after the reading; 5 allows for a slow machine).
        long before = wgTransfer(lab, s.b(), s.wgIf())[0];
        long start = System.nanoTime();
        assertThat(Lab.await(Duration.ofSeconds(15), () -> wgTransfer(lab, s.b(), s.wgIf())[0] - before >= 3 * 32))
                .as("three keepalives arrive").isTrue();
        double seconds = (System.nanoTime() - start) / 1e9;
        long received = wgTransfer(lab, s.b(), s.wgIf())[0] - before;
        assertThat(received % 32).as("only 32-byte keepalives").isZero();
        assertThat(seconds).as("about one a second").isBetween(1.7, 5.0);
    }

    @Test
    void trafficFollowsThePeerWhenItsUnderlayAddressChangesMidTransfer(Lab lab) throws Exception {
        Setup s = setup(lab, Psk.NONE, 0, true);
        Tunnels.reach(lab, s.a(), "10.60.0.2");
        CompletableFuture<Void> transfer = CompletableFuture.runAsync(
                () -> Tunnels.transfer(lab, s.a(), s.b(), "10.60.0.2", HUNDRED_MB));
        assertThat(Lab.await(Duration.ofSeconds(60), () -> wgTransfer(lab, s.b(), s.wgIf())[0] > 20_000_000))
                .as("transfer under way").isTrue();
        // wireguard-go's host moves to a new address; the old one disappears mid-transfer.
        String vethB = lab.prefix() + "v0b";
        lab.sh(s.b(), "sysctl", "-qw", "net.ipv4.conf." + vethB + ".promote_secondaries=1");
        lab.addAddress(s.b(), vethB, "198.18.0.77/24");
        lab.ip(s.b(), "addr", "del", B4 + "/24", "dev", vethB);
        transfer.get(120, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(lab.log("patchcord")).contains("is now at 198.18.0.77:51820");
        Tunnels.ping(lab, s.a(), "10.60.0.2");
    }

    @Test
    void theSameFileWorksForWgQuickWithWireguardGo(Lab lab) throws Exception {
        String[] ns = Tunnels.pair(lab);
        String pcIf = ifname("p"), wgIf = ifname("q");
        KeyPair pc = keys(lab, ns[0]), wg = keys(lab, ns[1]);
        String template = """
                [Interface]
                PrivateKey = %s
                ListenPort = 51820
                Address = %s
                MTU = 1400
                PostUp = echo up %%i > /dev/null
                [Peer]
                PublicKey = %s
                AllowedIPs = %s
                Endpoint = %s:51820
                PersistentKeepalive = 25
                """;
        Path pcConf = config(lab, pcIf, template.formatted(pc.privateKey(), "10.61.0.1/24", wg.publicKey(), "10.61.0.2/32", B4));
        Path wgConf = config(lab, wgIf, template.formatted(wg.privateKey(), "10.61.0.2/24", pc.publicKey(), "10.61.0.1/32", A4));
        patchcordUp(lab, ns[0], "patchcord", pcConf);
        Lab.Result up = lab.run(ns[1], Duration.ofSeconds(60), "env", "WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go",
                "wg-quick", "up", wgConf.toString());
        try {
            assertThat(up.code()).as(up.output()).isZero();
            Tunnels.reach(lab, ns[1], "10.61.0.1");
            Tunnels.ping(lab, ns[0], "10.61.0.2");
            assertThat(lab.ip(ns[0], "link", "show", pcIf)).contains("mtu 1400");
        } finally {
            lab.run(ns[1], Duration.ofSeconds(60), "wg-quick", "down", wgConf.toString());
        }
    }

    @Test
    void downStopsABackgroundTunnelCleanly(Lab lab) throws Exception {
        String ns = lab.netns("a");
        String pcIf = ifname("p");
        Path conf = config(lab, pcIf, """
                [Interface]
                PrivateKey = %s
                Address = 10.62.0.1/24
                PostDown = touch %s
                """.formatted(keys(lab, ns).privateKey(), lab.logDir().resolve("down-ran")));
        Lab.Result up = lab.run(ns, Duration.ofSeconds(60), Self.command("up", conf.toString()).toArray(String[]::new));
        assertThat(up.code()).as(up.output()).isZero();
        assertThat(up.output()).contains("is up in the background");
        assertThat(lab.hasInterface(ns, pcIf)).isTrue();
        Lab.Result down = lab.run(ns, Duration.ofSeconds(60), Self.command("down", pcIf).toArray(String[]::new));
        assertThat(down.code()).as(down.output()).isZero();
        assertThat(lab.hasInterface(ns, pcIf)).isFalse();
        assertThat(lab.logDir().resolve("down-ran")).exists();
        Lab.Result again = lab.run(ns, Duration.ofSeconds(60), Self.command("down", pcIf).toArray(String[]::new));
        assertThat(again.code()).isEqualTo(1);
        assertThat(again.output()).contains(pcIf + " is not up");
        java.nio.file.Files.deleteIfExists(Path.of("/run/patchcord/" + pcIf + ".log"));
    }
}
