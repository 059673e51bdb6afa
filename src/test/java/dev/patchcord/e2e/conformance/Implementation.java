package dev.patchcord.e2e.conformance;

import dev.patchcord.device.Warmup;
import dev.patchcord.lab.Lab;
import dev.patchcord.lab.Self;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The WireGuard implementation the conformance suite runs against, chosen by one switch: the
 * system property {@code conformance.impl} or the environment variable {@code CONFORMANCE_IMPL},
 * {@code patchcord} (the default), {@code wireguard-go} (the one on PATH, Debian's) or
 * {@code wireguard-go-current} (the binary named by {@code WIREGUARD_GO}, by default
 * {@code ../shared/anchors/wireguard-go-0.0.20250522} from the project root).
 *
 * <p>Only creating the interface differs between them. Everything after that (keys, port,
 * peers, fwmark) goes through the unmodified {@code wg} tool over the configuration socket, and
 * addresses, routes and the MTU through {@code ip}, so one scenario body serves all three and a
 * scenario that fails for one but passes for another points at the implementation, not the test.
 */
enum Implementation {
    PATCHCORD("patchcord"),
    WIREGUARD_GO("wireguard-go"),
    WIREGUARD_GO_CURRENT("wireguard-go-current");

    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

    final String label;

    Implementation(String label) {
        this.label = label;
    }

    /** The implementation the switch names; an unknown name fails loudly rather than testing the wrong thing. */
    static Implementation selected() {
        String name = setting("conformance.impl", "CONFORMANCE_IMPL");
        if (name == null || name.isBlank()) {
            return PATCHCORD;
        }
        for (Implementation i : values()) {
            if (i.label.equals(name.strip().toLowerCase(Locale.ROOT))) {
                return i;
            }
        }
        throw new IllegalArgumentException("CONFORMANCE_IMPL=" + name + ": expected patchcord, wireguard-go or wireguard-go-current");
    }

    /** A system property, else the environment variable (either spelling), else null. */
    static String setting(String property, String env) {
        String v = System.getProperty(property);
        if (v == null) {
            v = System.getProperty(env);
        }
        return v != null ? v : System.getenv(env);
    }

    boolean isPatchcord() {
        return this == PATCHCORD;
    }

    /** Skips the calling test (with the reason) when this implementation cannot be started here. */
    void assumeAvailable() {
        switch (this) {
            case PATCHCORD -> { }
            case WIREGUARD_GO -> Assumptions.assumeTrue(onPath("wireguard-go"), "wireguard-go is not on PATH");
            case WIREGUARD_GO_CURRENT -> Assumptions.assumeTrue(Files.isExecutable(currentWireguardGo()),
                    "no wireguard-go at " + currentWireguardGo() + " (set WIREGUARD_GO)");
        }
    }

    /**
     * Creates interface {@code ifname} in {@code ns} with no configuration beyond what the
     * implementation needs to start, and waits until its configuration socket answers. The
     * process is the lab's ({@code procName}), stopped with the lab.
     */
    Process create(Lab lab, String ns, String ifname, String procName) {
        Process p = switch (this) {
            case PATCHCORD -> startPatchcord(lab, ns, ifname, procName);
            case WIREGUARD_GO -> lab.spawn(ns, procName, wireguardGo("wireguard-go", ifname));
            case WIREGUARD_GO_CURRENT -> lab.spawn(ns, procName, wireguardGo(currentWireguardGo().toString(), ifname));
        };
        boolean up = Lab.await(START_TIMEOUT, () -> !p.isAlive()
                || (Files.exists(socket(ifname)) && lab.run(ns, Duration.ofSeconds(5), "wg", "show", ifname).code() == 0));
        assertThat(up && p.isAlive()).as(label + " " + ifname + " answering on its socket; log:\n" + lab.log(procName)).isTrue();
        return p;
    }

    static Path socket(String ifname) {
        return Path.of("/var/run/wireguard/" + ifname + ".sock");
    }

    /**
     * patchcord: {@code up --foreground} on a file with nothing but a throw-away private key
     * (patchcord refuses to start without one; the test sets the real key with {@code wg}).
     */
    private static Process startPatchcord(Lab lab, String ns, String ifname, String procName) {
        String key = lab.sh(ns, "wg", "genkey").strip();
        Path conf = lab.logDir().resolve(procName + "/" + ifname + ".conf");
        try {
            Files.createDirectories(conf.getParent());
            Files.writeString(conf, "[Interface]\nPrivateKey = " + key + "\n");
            Files.setPosixFilePermissions(conf, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // As shipped: with the start-up warm-up, which the other end-to-end tests leave out.
        List<String> command = new ArrayList<>(List.of("env", "PATCHCORD_WARM_UP=" + Warmup.ROUND_TRIPS));
        command.addAll(Self.command("up", "--foreground", "--verbose", conf.toString()));
        Process p = lab.spawn(ns, procName, command);
        boolean ready = Lab.await(START_TIMEOUT, () -> lab.log(procName).contains("ready") || !p.isAlive());
        assertThat(ready && p.isAlive()).as("patchcord ready; log:\n" + lab.log(procName)).isTrue();
        return p;
    }

    private static List<String> wireguardGo(String binary, String ifname) {
        return List.of("env", "WG_PROCESS_FOREGROUND=1", "LOG_LEVEL=verbose", binary, "-f", ifname);
    }

    /** {@code WIREGUARD_GO}, else the anchor next to the project (the project root is the launcher's grandparent). */
    static Path currentWireguardGo() {
        String explicit = setting("WIREGUARD_GO", "WIREGUARD_GO");
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit);
        }
        String launcher = System.getProperty("patchcord.launcher");
        Path root = launcher != null ? Path.of(launcher).toAbsolutePath().getParent().getParent()
                : Path.of("").toAbsolutePath();
        return root.resolve("../shared/anchors/wireguard-go-0.0.20250522").normalize();
    }

    private static boolean onPath(String command) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, command))) {
                return true;
            }
        }
        return false;
    }
}
