package dev.patchcord.cli;

import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.X25519;
import dev.patchcord.lab.Lab;
import dev.patchcord.lab.Self;
import dev.patchcord.sys.Libc;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code patchcord demo}: two private network namespaces joined by a veth "wire", a patchcord tunnel
 * between them, a ping and a short throughput figure through it, then everything removed.
 *
 * <p>It needs nothing beyond patchcord, the JDK and {@code ip}: where {@code ping} or {@code iperf3}
 * are missing (a bare Debian has neither) patchcord's own lab tools take their place.
 */
@Command(name = "demo", description = {
        "Show a working encrypted tunnel between two private network namespaces.",
        "Creates two namespaces joined by a veth pair, runs a patchcord WireGuard tunnel between them with "
                + "fresh keys, pings and measures throughput through it, then removes everything, even on failure. "
                + "Needs root and ip (iproute2). Uses ping and iperf3 when installed; without them it uses "
                + "patchcord's own UDP echo and TCP transfer."},
        footer = {"", "Examples:", "  sudo patchcord demo", "  sudo patchcord demo --seconds 10     # a longer throughput test"})
final class DemoCommand implements Callable<Integer> {
    private static final String UNDER_A = "198.18.0.1", UNDER_B = "198.18.0.2";
    private static final String TUN_A = "198.19.0.1", TUN_B = "198.19.0.2";
    private static final int PORT = 51820, ECHO_PORT = 5202, SINK_PORT = 5201;
    private static final SecureRandom RANDOM = new SecureRandom();

    @Option(names = "--seconds", paramLabel = "N", defaultValue = "3", description = "Length of the throughput test (default: ${DEFAULT-VALUE}).")
    int seconds;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Override
    public Integer call() {
        PrintStream out = System.out;
        if (Libc.geteuid() != 0) {
            throw new UserError("the demo creates network namespaces and needs root: sudo bin/patchcord demo");
        }
        if (!onPath("ip")) {
            throw new UserError("the demo needs the 'ip' command: apt-get install iproute2");
        }
        try (Lab lab = new Lab("demo")) {
            try {
                return demo(lab, out);
            } catch (RuntimeException e) {
                out.println("demo failed: " + e.getMessage());
                lab.dumpLogs(out);
                return 1;
            }
        } finally {
            out.println("cleaned up: namespaces, interfaces and processes removed");
        }
    }

    private int demo(Lab lab, PrintStream out) {
        String a = lab.netns("a");
        String b = lab.netns("b");
        lab.link(a, List.of(UNDER_A + "/24"), b, List.of(UNDER_B + "/24"));
        out.println("namespaces " + a + " (" + UNDER_A + ") and " + b + " (" + UNDER_B + ") joined by a veth pair");
        byte[] keyA = X25519.generatePrivate(RANDOM), keyB = X25519.generatePrivate(RANDOM);
        String ifA = lab.prefix() + "a", ifB = lab.prefix() + "b";
        Path confA = writeConfig(lab, ifA, keyA, TUN_A, keyB, TUN_B, UNDER_B);
        Path confB = writeConfig(lab, ifB, keyB, TUN_B, keyA, TUN_A, UNDER_A);
        lab.spawn(a, "patchcord-a", Self.command("up", "--foreground", confA.toString()));
        lab.spawn(b, "patchcord-b", Self.command("up", "--foreground", confB.toString()));
        for (String name : List.of("patchcord-a", "patchcord-b")) {
            if (!Lab.await(Duration.ofSeconds(30), () -> lab.log(name).contains("ready"))) {
                throw new IllegalStateException(name + " did not come up");
            }
        }
        out.println("patchcord WireGuard tunnel " + ifA + " (" + TUN_A + ") <-> " + ifB + " (" + TUN_B
                + "), ChaCha20-Poly1305, keys made for this demo");
        out.println(readiness(lab.log("patchcord-a")));

        if (onPath("ping")) {
            ping(lab, a, out);
        } else {
            echo(lab, a, b, out);
        }
        throughput(lab, a, b, out);
        return 0;
    }

    private static void ping(Lab lab, String a, PrintStream out) {
        Lab.Result ping = lab.run(a, Duration.ofSeconds(15), "ping", "-c", "3", "-i", "0.2", "-W", "2", TUN_B);
        if (ping.code() != 0) {
            throw new IllegalStateException("ping through the tunnel failed:\n" + ping.output());
        }
        out.println("ping " + TUN_B + ": " + summaryLine(ping.output()));
    }

    /** Without ping: patchcord's UDP echo, the server in b, the probe in a, so the requests cross the tunnel. */
    private static void echo(Lab lab, String a, String b, PrintStream out) {
        lab.spawn(b, "echo-server", Self.command("lab", "echo-server", "--port", String.valueOf(ECHO_PORT)));
        if (!Lab.await(Duration.ofSeconds(20), () -> lab.log("echo-server").contains("listening"))) {
            throw new IllegalStateException("the echo server did not start");
        }
        Lab.Result r = lab.run(a, Duration.ofSeconds(30), Self.command("lab", "echo", "--host", TUN_B, "--port",
                String.valueOf(ECHO_PORT), "--count", "3", "--interval", "0.2", "--timeout", "2").toArray(String[]::new));
        if (r.code() != 0) {
            throw new IllegalStateException("echo through the tunnel failed:\n" + r.output());
        }
        String summary = r.output().lines().filter(l -> l.contains(" received")).findFirst().orElse(r.output().strip());
        out.println("echo " + TUN_B + ": " + summary + " (UDP; install iputils-ping for ping)");
    }

    private static Path writeConfig(Lab lab, String ifname, byte[] privateKey, String address, byte[] peerKey,
                                    String peerAddress, String peerUnderlay) {
        String text = """
                [Interface]
                PrivateKey = %s
                ListenPort = %d
                Address = %s/24
                [Peer]
                PublicKey = %s
                AllowedIPs = %s/32
                Endpoint = %s:%d
                """.formatted(Keys.toBase64(privateKey), PORT, address, Keys.toBase64(X25519.publicKey(peerKey)),
                peerAddress, peerUnderlay, PORT);
        try {
            Path file = lab.logDir().resolve(ifname + ".conf");
            Files.writeString(file, text);
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void throughput(Lab lab, String a, String b, PrintStream out) {
        if (onPath("iperf3")) {
            lab.spawn(b, "iperf3-server", List.of("iperf3", "-s", "-1", "-B", TUN_B));
            Lab.await(Duration.ofSeconds(5), () -> lab.log("iperf3-server").contains("listening"));
            Lab.Result r = lab.run(a, Duration.ofSeconds(seconds + 20), "iperf3", "-c", TUN_B, "-t",
                    String.valueOf(seconds), "-J");
            Matcher m = Pattern.compile("\"sum_received\"\\s*:\\s*\\{[^}]*?\"bits_per_second\"\\s*:\\s*([0-9.eE+]+)")
                    .matcher(r.output());
            if (r.code() == 0 && m.find()) {
                out.printf("iperf3 TCP through the tunnel, %d s: %.2f Gbit/s%n", seconds, Double.parseDouble(m.group(1)) / 1e9);
                return;
            }
            out.println("iperf3 failed: " + r.output().lines().limit(5).toList());
            return;
        }
        long bytes = 200L << 20;
        lab.spawn(b, "sink", Self.command("lab", "sink", "--port", String.valueOf(SINK_PORT)));
        Lab.await(Duration.ofSeconds(20), () -> lab.log("sink").contains("listening"));
        Lab.Result r = lab.run(a, Duration.ofSeconds(60), Self.command("lab", "source", "--host", TUN_B,
                "--port", String.valueOf(SINK_PORT), "--bytes", String.valueOf(bytes)).toArray(String[]::new));
        Matcher m = Pattern.compile("gbps=([0-9.]+)").matcher(r.output());
        if (r.code() == 0 && m.find()) {
            out.printf("TCP through the tunnel, %d MiB: %s Gbit/s (install iperf3 for the standard measurement)%n",
                    bytes >> 20, m.group(1));
        } else {
            out.println("throughput test failed: " + r.output().strip());
        }
    }

    private static String readiness(String log) {
        return log.lines().filter(l -> l.contains("ready")).findFirst()
                .map(l -> l.replaceFirst("^patchcord: ", "")).orElse("");
    }

    private static String summaryLine(String pingOutput) {
        return pingOutput.lines().filter(l -> l.contains("packets transmitted") || l.startsWith("rtt"))
                .reduce((x, y) -> x + "; " + y).orElse(pingOutput.strip());
    }

    static boolean onPath(String program) {
        String path = System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        for (String dir : path.split(":")) {
            if (new java.io.File(dir, program).canExecute()) {
                return true;
            }
        }
        return false;
    }
}
