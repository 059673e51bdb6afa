package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import dev.patchcord.lab.Self;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.patchcord.e2e.Tunnels.A4;
import static dev.patchcord.e2e.Tunnels.B4;
import static dev.patchcord.e2e.WireGuardPeers.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The start-up warm-up on real interfaces: it runs before the ready line, carries its round trips
 * on loopback only, and leaves no socket or thread behind; where it cannot run, the tunnel starts
 * anyway.
 */
@ExtendWith(LabExtension.class)
class WarmupIT {

    private static Process up(Lab lab, String ns, String name, Path conf) {
        List<String> command = new ArrayList<>(List.of("env", "PATCHCORD_WARM_UP=600"));
        command.addAll(Self.command("up", "--foreground", conf.toString()));
        Process p = lab.spawn(ns, name, command);
        Tunnels.awaitReady(lab, name, p);
        return p;
    }

    private static Path conf(Lab lab, String ifname, KeyPair self, String address, KeyPair peer, String peerAddress,
                             String endpoint) throws Exception {
        return config(lab, ifname, """
                [Interface]
                PrivateKey = %s
                ListenPort = 51820
                Address = %s/24
                [Peer]
                PublicKey = %s
                AllowedIPs = %s/32
                Endpoint = %s:51820
                """.formatted(self.privateKey(), address, peer.publicKey(), peerAddress, endpoint));
    }

    /** The names of a process's threads. */
    private static List<String> threads(long pid) throws Exception {
        List<String> names = new ArrayList<>();
        try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path t : tasks.toList()) {
                try {
                    names.add(Files.readString(t.resolve("comm")).strip());
                } catch (java.io.IOException gone) {
                    // a thread that ended while listing
                }
            }
        }
        return names;
    }

    @Test
    void theWarmUpRunsBeforeReadyAndLeavesOnlyTheTunnelsOwnSocketAndThreads(Lab lab) throws Exception {
        String[] ns = Tunnels.pair(lab);
        KeyPair ka = keys(lab, ns[0]), kb = keys(lab, ns[1]);
        Process a = up(lab, ns[0], "a", conf(lab, ifname("a"), ka, "10.96.0.1", kb, "10.96.0.2", B4));
        up(lab, ns[1], "b", conf(lab, ifname("b"), kb, "10.96.0.2", ka, "10.96.0.1", A4));
        for (String end : List.of("a", "b")) {
            assertThat(lab.log(end)).containsPattern("; packet path warmed up by 600 round trips in \\d+ ms \\(ready");
        }
        Tunnels.reach(lab, ns[0], "10.96.0.2");
        // The throwaway tunnels' sockets (on 127.0.0.1) are closed; the tunnel's own is there.
        String sockets = lab.sh(ns[0], "ss", "-Huan");
        assertThat(sockets).contains(":51820").doesNotContain("127.0.0.1:");
        // One set of packet threads: the warm-up's have ended.
        List<String> names = threads(a.pid());
        assertThat(names.stream().filter("device-to-net"::equals).count()).as(names.toString()).isEqualTo(1);
        assertThat(names.stream().filter("net-to-device"::equals).count()).as(names.toString()).isEqualTo(1);
        assertThat(names).doesNotContain("warm-up");
        Tunnels.ping(lab, ns[1], "10.96.0.1");
    }

    @Test
    void withoutLoopbackTheWarmUpStopsAndTheTunnelStartsAnyway(Lab lab) throws Exception {
        String[] ns = Tunnels.pair(lab);
        lab.ip(ns[0], "link", "set", "lo", "down"); // no 127.0.0.1 in this namespace
        KeyPair ka = keys(lab, ns[0]), kb = keys(lab, ns[1]);
        up(lab, ns[0], "a", conf(lab, ifname("a"), ka, "10.96.0.1", kb, "10.96.0.2", B4));
        up(lab, ns[1], "b", conf(lab, ifname("b"), kb, "10.96.0.2", ka, "10.96.0.1", A4));
        assertThat(lab.log("a")).containsPattern("; warm-up stopped after 0 round trips \\(.+\\) \\(ready");
        Tunnels.reach(lab, ns[0], "10.96.0.2");
    }
}
