package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import dev.patchcord.lab.Self;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;

import static dev.patchcord.e2e.Tunnels.A4;
import static dev.patchcord.e2e.Tunnels.A6;
import static dev.patchcord.e2e.Tunnels.B4;
import static org.assertj.core.api.Assertions.assertThat;

@ExtendWith(LabExtension.class)
class Tap2tapIT {

    /** a is the side with a fixed address (no --remote); b knows a's address. */
    private String[] tunnel(Lab lab, String remoteOfB, String... extraA) {
        String[] ns = Tunnels.pair(lab);
        String[] argsA = new String[4 + extraA.length];
        System.arraycopy(new String[]{"tap2tap", "-i", "tp0", "-d"}, 0, argsA, 0, 4);
        System.arraycopy(extraA, 0, argsA, 4, extraA.length);
        Tunnels.patchcord(lab, ns[0], "pc-a", argsA);
        Tunnels.patchcord(lab, ns[1], "pc-b", "tap2tap", "-i", "tp0", "--remote", remoteOfB);
        lab.addAddress(ns[0], "tp0", "10.78.0.1/24");
        lab.addAddress(ns[1], "tp0", "10.78.0.2/24");
        return ns;
    }

    @Test
    void hostWithoutRemoteLearnsItsPeerAndCarriesTraffic(Lab lab) {
        String[] ns = tunnel(lab, A4);
        // b speaks first (a has nobody to send to yet); a learns b from that and answers.
        Tunnels.ping(lab, ns[1], "10.78.0.1");
        Tunnels.ping(lab, ns[0], "10.78.0.2");
        assertThat(lab.log("pc-a")).contains("peer is now " + B4 + ":1234")
                .containsPattern("tp0 -> net \\d+ bytes to " + B4 + ":1234")
                .containsPattern("net -> tp0 \\d+ bytes from " + B4 + ":1234");
        Tunnels.transfer(lab, ns[0], ns[1], "10.78.0.2", 50_000_000);
        assertThat(lab.ip(ns[0], "link", "show", "tp0")).contains("mtu 1458");
    }

    @Test
    void worksOverIpv6Underlay(Lab lab) {
        String[] ns = tunnel(lab, "[" + A6 + "]");
        Tunnels.ping(lab, ns[1], "10.78.0.1");
        Tunnels.transfer(lab, ns[1], ns[0], "10.78.0.1", 50_000_000);
    }

    @Test
    void aPeerThatChangesAddressIsFollowed(Lab lab) {
        String[] ns = tunnel(lab, A4);
        Tunnels.ping(lab, ns[1], "10.78.0.1");
        // b moves: its old underlay address disappears and a new one takes over.
        String vethB = lab.prefix() + "v0b";
        // Without this, deleting the primary address would take the new (secondary) one with it.
        lab.sh(ns[1], "sysctl", "-qw", "net.ipv4.conf." + vethB + ".promote_secondaries=1");
        lab.addAddress(ns[1], vethB, "198.18.0.77/24");
        lab.ip(ns[1], "addr", "del", B4 + "/24", "dev", vethB);
        Tunnels.ping(lab, ns[1], "10.78.0.1");
        Tunnels.ping(lab, ns[0], "10.78.0.2");
        assertThat(lab.log("pc-a")).contains("peer is now 198.18.0.77:1234");
    }

    @Test
    void scriptsRunWithTheInterfaceNameAndShutdownIsClean(Lab lab) throws Exception {
        Path dir = lab.logDir();
        Path up = script(dir, "up.sh", "echo \"up $1 $(cat /sys/class/net/$1/mtu)\" >> " + dir + "/calls");
        Path down = script(dir, "down.sh", "echo \"down $1 $(cat /sys/class/net/$1/operstate)\" >> " + dir + "/calls");
        String[] ns = tunnel(lab, A4, "--mtu", "1400", "--up", up.toString(), "--down", down.toString());
        Tunnels.ping(lab, ns[1], "10.78.0.1");
        Tunnels.stop(lab, "pc-a");
        assertThat(Files.readAllLines(dir.resolve("calls"))).containsExactly("up tp0 1400", "down tp0 unknown");
        assertThat(lab.hasInterface(ns[0], "tp0")).as("interface removed at exit").isFalse();
    }

    @Test
    void failingUpScriptIsAClearErrorAndLeavesNoInterface(Lab lab) throws Exception {
        Path up = script(lab.logDir(), "up.sh", "exit 3");
        String ns = lab.netns("a");
        Lab.Result r = lab.run(ns, Duration.ofSeconds(30), Self.command("tap2tap", "-i", "tp0", "--up", up.toString())
                .toArray(String[]::new));
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.output()).contains("patchcord: up script exited with status 3").doesNotContain("\tat ");
        assertThat(lab.hasInterface(ns, "tp0")).isFalse();
    }

    @Test
    void runtsEmptyAndOversizeFramesAreCountedAndDoNotRedirectThePeer(Lab lab) {
        String[] ns = tunnel(lab, A4);
        Tunnels.ping(lab, ns[1], "10.78.0.1");
        // From another port of b's host: invalid frames must neither arrive nor steal the peer.
        Lab.Result sent = lab.run(ns[1], Duration.ofSeconds(30), Self.command("lab", "udp", "--host", A4,
                "--port", "1234", "--size", "0,5,13,1477,9000").toArray(String[]::new));
        assertThat(sent.code()).as(sent.output()).isZero();
        Tunnels.ping(lab, ns[0], "10.78.0.2");
        String counters = Tunnels.stop(lab, "pc-a");
        assertThat(Tunnels.dropped(counters, "empty")).isEqualTo(1);
        assertThat(Tunnels.dropped(counters, "runt")).isEqualTo(2);
        assertThat(Tunnels.dropped(counters, "oversize")).isEqualTo(2);
        assertThat(lab.log("pc-a").lines().filter(l -> l.startsWith("peer is now")).count()).isEqualTo(1);
    }

    @Test
    void dropsPrivilegesWhenAsked(Lab lab) throws Exception {
        String[] ns = Tunnels.pair(lab);
        Process p = Tunnels.patchcord(lab, ns[0], "pc-a", "tap2tap", "-i", "tp0", "-u", "65534", "-g", "65534");
        String status = Files.readString(Path.of("/proc/" + p.pid() + "/status"));
        assertThat(status).contains("Uid:\t65534\t65534\t65534\t65534").contains("Gid:\t65534\t65534\t65534\t65534");
        Tunnels.patchcord(lab, ns[1], "pc-b", "tap2tap", "-i", "tp0", "--remote", A4);
        lab.addAddress(ns[0], "tp0", "10.78.0.1/24");
        lab.addAddress(ns[1], "tp0", "10.78.0.2/24");
        Tunnels.ping(lab, ns[1], "10.78.0.1");
    }

    private static Path script(Path dir, String name, String body) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }
}
