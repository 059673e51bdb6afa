package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import dev.patchcord.lab.Self;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.patchcord.e2e.Tunnels.A4;
import static dev.patchcord.e2e.Tunnels.B4;
import static dev.patchcord.e2e.WireGuardPeers.config;
import static dev.patchcord.e2e.WireGuardPeers.keys;
import static dev.patchcord.e2e.WireGuardPeers.patchcordUp;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Configuration changes on a running interface: SIGHUP re-reads the file, {@code patchcord
 * syncconf} applies another one; a peer that did not change keeps its session (no new handshake)
 * and its traffic; a broken file changes nothing.
 */
@ExtendWith(LabExtension.class)
class SyncconfIT {
    private static final String OTHER = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";

    @Test
    void sighupAndSyncconfChangeOnlyWhatChanged(Lab lab) throws Exception {
        String[] ns = Tunnels.pair(lab);
        var a = keys(lab, ns[0]);
        var b = keys(lab, ns[1]);
        String ifA = WireGuardPeers.ifname("sa");
        String ifB = WireGuardPeers.ifname("sb");
        String base = """
                [Interface]
                PrivateKey = %s
                ListenPort = 51850
                Address = 10.69.0.1/24

                [Peer]
                PublicKey = %s
                AllowedIPs = 10.69.0.2/32
                Endpoint = %s:51850
                """.formatted(a.privateKey(), b.publicKey(), B4);
        Path confA = config(lab, ifA, base);
        Path confB = config(lab, ifB, """
                [Interface]
                PrivateKey = %s
                ListenPort = 51850
                Address = 10.69.0.2/24

                [Peer]
                PublicKey = %s
                AllowedIPs = 10.69.0.1/32
                Endpoint = %s:51850
                """.formatted(b.privateKey(), a.publicKey(), A4));
        Process pa = patchcordUp(lab, ns[0], "a", confA);
        patchcordUp(lab, ns[1], "b", confB);
        Tunnels.reach(lab, ns[0], "10.69.0.2");
        long handshake = handshake(lab, ns[0], ifA);
        assertThat(handshake).isPositive();

        // SIGHUP with one more peer in the file.
        Files.writeString(confA, base + "\n[Peer]\nPublicKey = " + OTHER + "\nAllowedIPs = 10.69.0.3/32\n");
        lab.sh(ns[0], "kill", "-HUP", String.valueOf(pa.pid()));
        assertThat(Lab.await(Duration.ofSeconds(20), () -> lab.log("a").contains("reloaded " + confA + ": 1 peers added")))
                .as(lab.log("a")).isTrue();
        assertThat(show(lab, ns[0], ifA)).contains(OTHER, "10.69.0.3/32");

        // A file that no longer parses changes nothing and stops nothing.
        Files.writeString(confA, base + "\n[Peer]\nPublicKey = not-a-key\n");
        lab.sh(ns[0], "kill", "-HUP", String.valueOf(pa.pid()));
        assertThat(Lab.await(Duration.ofSeconds(20), () -> lab.log("a").contains("reload refused, nothing changed")))
                .as(lab.log("a")).isTrue();
        assertThat(pa.isAlive()).isTrue();
        assertThat(show(lab, ns[0], ifA)).contains(OTHER);

        // syncconf from another file: the extra peer goes, the one that stayed is untouched.
        Path plain = lab.logDir().resolve("plain-" + ifA + ".conf");
        Files.writeString(plain, base);
        Lab.Result sync = lab.run(ns[0], Duration.ofSeconds(30),
                Self.command("syncconf", ifA, plain.toString()).toArray(String[]::new));
        assertThat(sync.code()).as(sync.output()).isZero();
        assertThat(sync.output()).contains("0 peers added, 1 removed, 0 changed");
        assertThat(show(lab, ns[0], ifA)).doesNotContain(OTHER);
        Lab.Result again = lab.run(ns[0], Duration.ofSeconds(30),
                Self.command("syncconf", ifA, plain.toString()).toArray(String[]::new));
        assertThat(again.output()).contains("already in sync");

        Tunnels.ping(lab, ns[0], "10.69.0.2");
        assertThat(handshake(lab, ns[0], ifA)).as("the unchanged peer kept its session").isEqualTo(handshake);
    }

    private static String show(Lab lab, String ns, String ifname) {
        return lab.sh(ns, Self.command("show", "--json", ifname).toArray(String[]::new));
    }

    private static long handshake(Lab lab, String ns, String ifname) {
        Matcher m = Pattern.compile("\"latest_handshake\": (\\d+)").matcher(show(lab, ns, ifname));
        assertThat(m.find()).isTrue();
        return Long.parseLong(m.group(1));
    }
}
