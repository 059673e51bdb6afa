package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import dev.patchcord.lab.Self;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An interface started from a file outside /etc/patchcord and /etc/wireguard is still managed by
 * its name: {@code peer add|list|remove}, {@code syncconf} and {@code down} learn the file from
 * the running process (if it is root's or the caller's); an interface that does not say
 * (wireguard-go) is looked up as before.
 */
@ExtendWith(LabExtension.class)
class InterfaceByNameIT {
    private static final String OTHER = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";

    private static String[] patchcord(String... args) {
        return Self.command(args).toArray(String[]::new);
    }

    @Test
    void aServerStartedFromAnyDirectoryIsManagedByName(Lab lab) throws Exception {
        String ns = lab.netns("a");
        String server = WireGuardPeers.ifname("nm");
        // A directory whose name the socket has to encode ('%') and a shell has to quote (spaces).
        Path dir = Files.createDirectory(lab.logDir().resolve("my vpn 100%"));
        String base = """
                [Interface]
                PrivateKey = %s
                ListenPort = 51831
                Address = 10.71.0.1/24
                PublicEndpoint = vpn.example.net:51831
                """.formatted(WireGuardPeers.keys(lab, ns).privateKey());
        Path conf = WireGuardPeers.config(lab, server, base);
        conf = Files.move(conf, dir.resolve(conf.getFileName()));

        // Started with a relative path, from that directory: the socket names the absolute one.
        List<String> up = new ArrayList<>(List.of("sh", "-c", "cd \"$1\" && shift && exec \"$@\"", "sh", dir.toString()));
        up.addAll(Self.command("up", "--foreground", server + ".conf"));
        Process process = lab.spawn(ns, "server", up);
        Tunnels.awaitReady(lab, "server", process);

        Lab.Result add = lab.run(ns, Duration.ofSeconds(60), patchcord("peer", "add", server, "alice", "--no-qr"));
        assertThat(add.code()).as(add.output()).isZero();
        assertThat(add.output()).contains("added alice (10.71.0.2/32) to " + conf + " and to the running " + server);
        assertThat(Files.readString(conf)).contains("# Name = alice");
        assertThat(show(lab, ns, server)).contains("10.71.0.2/32");

        Lab.Result list = lab.run(ns, Duration.ofSeconds(30), patchcord("peer", "list", server));
        assertThat(list.code()).as(list.output()).isZero();
        assertThat(list.output()).contains("alice\t");

        // syncconf by name applies the interface's own file.
        Files.writeString(conf, Files.readString(conf) + "\n[Peer]\nPublicKey = " + OTHER + "\nAllowedIPs = 10.71.0.9/32\n");
        Lab.Result sync = lab.run(ns, Duration.ofSeconds(30), patchcord("syncconf", server));
        assertThat(sync.code()).as(sync.output()).isZero();
        assertThat(sync.output()).contains("1 peers added, 0 removed, 0 changed");
        assertThat(show(lab, ns, server)).contains("10.71.0.9/32", "10.71.0.2/32");

        Lab.Result remove = lab.run(ns, Duration.ofSeconds(30), patchcord("peer", "remove", server, "alice"));
        assertThat(remove.code()).as(remove.output()).isZero();
        assertThat(show(lab, ns, server)).doesNotContain("10.71.0.2/32");
        assertThat(Files.readString(conf)).doesNotContain("alice");

        // The file the interface came from is gone: an error naming it, not some other file of that name.
        Path moved = Files.move(conf, conf.resolveSibling("moved.conf"));
        Lab.Result gone = lab.run(ns, Duration.ofSeconds(30), patchcord("peer", "list", server));
        assertThat(gone.code()).isEqualTo(1);
        assertThat(gone.output()).contains(server + " was started from " + conf + ", which is no longer there");
        Files.move(moved, conf);

        // Another user's socket (a systemd service user's names the copy systemd made) is not believed.
        Path socket = Path.of("/var/run/wireguard", server + ".sock");
        Files.setAttribute(socket, "unix:uid", 65534, LinkOption.NOFOLLOW_LINKS);
        Lab.Result foreign = lab.run(ns, Duration.ofSeconds(30), patchcord("peer", "list", server));
        Files.setAttribute(socket, "unix:uid", 0, LinkOption.NOFOLLOW_LINKS);
        assertThat(foreign.code()).as(foreign.output()).isEqualTo(1);
        assertThat(foreign.output()).contains("no configuration for '" + server + "'");

        Lab.Result down = lab.run(ns, Duration.ofSeconds(60), patchcord("down", server));
        assertThat(down.code()).as(down.output()).isZero();
        assertThat(process.waitFor(20, TimeUnit.SECONDS)).as(lab.log("server")).isTrue();
        assertThat(lab.hasInterface(ns, server)).isFalse();
    }

    @Test
    void anInterfaceThatDoesNotNameItsFileIsLookedUpAsBefore(Lab lab) {
        String ns = lab.netns("g");
        String wg = WireGuardPeers.ifname("ng");
        WireGuardPeers.wireguardGo(lab, ns, wg, WireGuardPeers.keys(lab, ns), 51832, "10.72.0.1/24", List.of());
        // wireguard-go answers on its socket without a file; the search directories have none either.
        for (String[] command : List.of(patchcord("syncconf", wg), patchcord("peer", "list", wg))) {
            Lab.Result r = lab.run(ns, Duration.ofSeconds(30), command);
            assertThat(r.code()).as(r.output()).isEqualTo(1);
            assertThat(r.output()).contains("no configuration for '" + wg + "': no running patchcord interface of"
                    + " that name names its file, and there is none in /etc/patchcord or /etc/wireguard");
        }
    }

    private static String show(Lab lab, String ns, String ifname) {
        return lab.sh(ns, patchcord("show", ifname));
    }
}
