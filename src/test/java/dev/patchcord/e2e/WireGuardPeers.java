package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import dev.patchcord.lab.Self;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** Keys, configuration files and the two kinds of WireGuard peer (patchcord and wireguard-go) for tests. */
final class WireGuardPeers {
    private WireGuardPeers() {}

    record KeyPair(String privateKey, String publicKey) {}

    static KeyPair keys(Lab lab, String ns) {
        String priv = lab.sh(ns, Self.command("genkey").toArray(String[]::new)).strip();
        Lab.Result pub = lab.run(ns, Duration.ofSeconds(30), "sh", "-c", "echo " + priv + " | wg pubkey");
        assertThat(pub.code()).as(pub.output()).isZero();
        return new KeyPair(priv, pub.output().strip());
    }

    static String psk(Lab lab, String ns) {
        return lab.sh(ns, Self.command("genpsk").toArray(String[]::new)).strip();
    }

    /** A unique interface name: /var/run/wireguard is shared by every namespace. */
    static String ifname(String tag) {
        return "pc" + tag + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x10000, 0xfffff));
    }

    /** Writes {@code IFNAME.conf} (mode 0600) in the lab's directory and returns its path. */
    static Path config(Lab lab, String ifname, String text) throws IOException {
        Path file = lab.logDir().resolve(ifname + ".conf");
        Files.writeString(file, text);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        return file;
    }

    /** Starts {@code patchcord up --foreground} on a configuration and waits until it is ready. */
    static Process patchcordUp(Lab lab, String ns, String name, Path config, String... extra) {
        String[] args = new String[3 + extra.length];
        args[0] = "up";
        args[1] = "--foreground";
        System.arraycopy(extra, 0, args, 2, extra.length);
        args[args.length - 1] = config.toString();
        return Tunnels.patchcord(lab, ns, name, args);
    }

    /**
     * Starts wireguard-go in the foreground (so the lab owns its process) and configures it with
     * {@code wg set} and {@code ip}.
     */
    static Process wireguardGo(Lab lab, String ns, String ifname, KeyPair self, int port, String address,
                               List<String> peerArgs) {
        Process p = lab.spawn(ns, "wireguard-go-" + ifname,
                List.of("env", "WG_PROCESS_FOREGROUND=1", "LOG_LEVEL=verbose", "wireguard-go", "-f", ifname));
        Path sock = Path.of("/var/run/wireguard/" + ifname + ".sock");
        assertThat(Lab.await(Duration.ofSeconds(20), () -> Files.exists(sock))).as("wireguard-go socket").isTrue();
        Path key;
        try {
            key = lab.logDir().resolve(ifname + ".key");
            Files.writeString(key, self.privateKey());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        List<String> set = new java.util.ArrayList<>(List.of("wg", "set", ifname, "listen-port", String.valueOf(port),
                "private-key", key.toString()));
        set.addAll(peerArgs);
        lab.sh(ns, set.toArray(String[]::new));
        lab.addAddress(ns, ifname, address);
        lab.ip(ns, "link", "set", ifname, "up");
        return p;
    }

    /** rx and tx bytes wireguard-go reports for its (single) peer. */
    static long[] wgTransfer(Lab lab, String ns, String ifname) {
        String out = lab.sh(ns, "wg", "show", ifname, "transfer").strip();
        String[] f = out.split("\\s+");
        return new long[]{Long.parseLong(f[1]), Long.parseLong(f[2])};
    }
}
