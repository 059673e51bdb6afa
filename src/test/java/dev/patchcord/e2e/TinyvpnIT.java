package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import dev.patchcord.lab.Self;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.patchcord.e2e.Tunnels.A4;
import static dev.patchcord.e2e.Tunnels.A6;
import static dev.patchcord.e2e.Tunnels.B4;
import static dev.patchcord.e2e.Tunnels.B6;
import static org.assertj.core.api.Assertions.assertThat;

@ExtendWith(LabExtension.class)
class TinyvpnIT {
    private static final String PORT = "5555";

    private void tunnel(Lab lab, String a, String b, String peerOfA, String peerOfB) {
        Tunnels.patchcord(lab, a, "pc-a", "tinyvpn", "tv0", peerOfA, PORT);
        Tunnels.patchcord(lab, b, "pc-b", "tinyvpn", "tv0", peerOfB, PORT);
        lab.addAddress(a, "tv0", "10.77.0.1/24");
        lab.addAddress(b, "tv0", "10.77.0.2/24");
        lab.addAddress(a, "tv0", "fd00:77::1/64");
        lab.addAddress(b, "tv0", "fd00:77::2/64");
    }

    @Test
    void pingAndTransferOverIpv4Underlay(Lab lab) {
        String[] ns = Tunnels.pair(lab);
        tunnel(lab, ns[0], ns[1], B4, A4);
        Tunnels.ping(lab, ns[0], "10.77.0.2");
        Tunnels.ping(lab, ns[1], "fd00:77::1");
        Tunnels.transfer(lab, ns[0], ns[1], "10.77.0.2", 50_000_000);
        String counters = Tunnels.stop(lab, "pc-a");
        assertThat(Tunnels.dropped(counters, "dropped")).isZero();
        Tunnels.stop(lab, "pc-b");
        assertThat(lab.hasInterface(ns[0], "tv0")).as("interface removed at exit").isFalse();
    }

    @Test
    void pingAndTransferOverIpv6Underlay(Lab lab) {
        String[] ns = Tunnels.pair(lab);
        tunnel(lab, ns[0], ns[1], B6, A6);
        Tunnels.ping(lab, ns[0], "10.77.0.2");
        Tunnels.transfer(lab, ns[1], ns[0], "10.77.0.1", 50_000_000);
    }

    @Test
    void garbageDatagramsAreCountedAndTheTunnelKeepsWorking(Lab lab) {
        String[] ns = Tunnels.pair(lab);
        tunnel(lab, ns[0], ns[1], B4, A4);
        // From b's underlay, straight at a's port: empty, runt, not IP, a cut-off packet, oversize.
        Lab.Result sent = lab.run(ns[1], Duration.ofSeconds(30), Self.command("lab", "udp", "--host", A4,
                "--port", PORT, "--hex", "450000,7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a,4500006400000000400100000a4d00020a4d0001",
                "--size", "0,1600,65000").toArray(String[]::new));
        assertThat(sent.code()).as(sent.output()).isZero();
        Tunnels.ping(lab, ns[1], "10.77.0.1");
        String counters = Tunnels.stop(lab, "pc-a");
        assertThat(Tunnels.dropped(counters, "empty")).isEqualTo(1);
        assertThat(Tunnels.dropped(counters, "runt")).isEqualTo(1);
        assertThat(Tunnels.dropped(counters, "malformed")).isEqualTo(1);
        assertThat(Tunnels.dropped(counters, "truncated")).isEqualTo(1);
        assertThat(Tunnels.dropped(counters, "oversize")).isEqualTo(2);
    }

    @Test
    void stdioModeRoundTripsLinesWithoutRoot(Lab lab) throws Exception {
        String[] ns = Tunnels.pair(lab);
        List<String> asNobody = List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--");
        Process a = lab.spawnPiped(ns[0], "stdio-a", concat(asNobody, Self.command("tinyvpn", "stdio", B4, PORT)));
        Process b = lab.spawnPiped(ns[1], "stdio-b", concat(asNobody, Self.command("tinyvpn", "stdio", A6, PORT)));
        Tunnels.awaitReady(lab, "stdio-a", a);
        Tunnels.awaitReady(lab, "stdio-b", b);

        assertThat(exchange(a, b, "hello from a")).isEqualTo("hello from a");
        assertThat(exchange(b, a, "and back from b, over IPv6")).isEqualTo("and back from b, over IPv6");
        assertThat(status(a)).contains("Uid:\t65534");
    }

    private static String exchange(Process from, Process to, String line) throws Exception {
        OutputStream in = from.getOutputStream();
        in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        in.flush();
        var reader = new BufferedReader(new InputStreamReader(to.getInputStream(), StandardCharsets.UTF_8));
        return CompletableFuture.supplyAsync(() -> {
            try {
                return reader.readLine();
            } catch (java.io.IOException e) {
                return null;
            }
        }).get(20, TimeUnit.SECONDS);
    }

    private static String status(Process p) throws Exception {
        return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/" + p.pid() + "/status"));
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
