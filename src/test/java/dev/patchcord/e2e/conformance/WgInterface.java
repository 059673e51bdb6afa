package dev.patchcord.e2e.conformance;

import dev.patchcord.lab.Lab;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One WireGuard interface of the implementation under test, seen only through {@code wg} and
 * {@code ip}: what a user of any implementation sees.
 */
final class WgInterface {
    final Lab lab;
    final String ns;
    final String name;
    final String procName;
    private Process process;

    private WgInterface(Lab lab, String ns, String name, String procName, Process process) {
        this.lab = lab;
        this.ns = ns;
        this.name = name;
        this.procName = procName;
        this.process = process;
    }

    /** Creates the interface with the implementation under test and brings it up (MTU 1420, no addresses). */
    static WgInterface create(Lab lab, Implementation impl, String ns, String name, String procName) {
        Process p = impl.create(lab, ns, name, procName);
        WgInterface wg = new WgInterface(lab, ns, name, procName, p);
        lab.ip(ns, "link", "set", name, "mtu", "1420", "up");
        return wg;
    }

    Process process() {
        return process;
    }

    /** {@code wg ARGS…} in this namespace; fails the test if it fails. */
    String wg(String... args) {
        List<String> cmd = new ArrayList<>(List.of("wg"));
        cmd.addAll(List.of(args));
        return lab.sh(ns, cmd.toArray(String[]::new));
    }

    /** {@code wg ARGS…}, its exit code and output whatever they are. */
    Lab.Result tryWg(String... args) {
        List<String> cmd = new ArrayList<>(List.of("wg"));
        cmd.addAll(List.of(args));
        return lab.run(ns, Duration.ofSeconds(60), cmd.toArray(String[]::new));
    }

    /** {@code wg set IFNAME ARGS…}. */
    void set(String... args) {
        List<String> cmd = new ArrayList<>(List.of("set", name));
        cmd.addAll(List.of(args));
        wg(cmd.toArray(String[]::new));
    }

    /** {@code wg show IFNAME FIELD}, stripped. */
    String show(String field) {
        return wg("show", name, field).strip();
    }

    /** One line per peer of {@code wg show IFNAME FIELD}: public key to the rest of the line. */
    Map<String, String> perPeer(String field) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : show(field).split("\n")) {
            String[] f = line.strip().split("\t", 2);
            if (f.length == 2) {
                m.put(f[0], f[1].strip());
            }
        }
        return m;
    }

    String endpoint(String peer) {
        return perPeer("endpoints").get(peer);
    }

    /** {rx, tx} bytes for a peer, as {@code wg show transfer} gives them. */
    long[] transfer(String peer) {
        String t = perPeer("transfer").get(peer);
        assertThat(t).as("transfer of " + peer + " on " + name).isNotNull();
        String[] f = t.split("\\s+");
        return new long[]{Long.parseLong(f[0]), Long.parseLong(f[1])};
    }

    long latestHandshake(String peer) {
        String t = perPeer("latest-handshakes").get(peer);
        return t == null ? 0 : Long.parseLong(t);
    }

    /** The allowed IPs of a peer, in the order {@code wg} lists them. */
    List<String> allowedIps(String peer) {
        String t = perPeer("allowed-ips").get(peer);
        assertThat(t).as("allowed-ips of " + peer + " on " + name).isNotNull();
        return "(none)".equals(t) ? List.of() : List.of(t.split("\\s+"));
    }

    /** A counter of the interface from sysfs (e.g. {@code rx_packets}, {@code tx_bytes}). */
    long linkCounter(String counter) {
        return Long.parseLong(lab.sh(ns, "cat", "/sys/class/net/" + name + "/statistics/" + counter).strip());
    }

    /** Writes a key to a private file in the lab's directory, for {@code wg set … private-key FILE}. */
    Path keyFile(String key) {
        try {
            Path f = Files.createTempFile(lab.logDir(), "key", ".key");
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
            Files.writeString(f, key + "\n");
            return f;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Sends SIGTERM and waits (bounded); returns the exit code. */
    int terminate(Duration timeout) {
        return lab.stop(procName, timeout);
    }

    /** Replaces the (stopped) process by a new instance of the interface, for a restart. */
    void restarted(Process p) {
        this.process = p;
    }

    @Override
    public String toString() {
        return name + " in " + ns;
    }
}
