package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import dev.patchcord.lab.Self;

import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** Steps the end-to-end tests share: two joined namespaces, waiting for patchcord, ping, a checked transfer. */
final class Tunnels {
    private Tunnels() {}

    /** Underlay addresses: a benchmarking range (RFC 2544) and a unique-local IPv6 prefix, inside the lab only. */
    static final String A4 = "198.18.0.1", B4 = "198.18.0.2", A6 = "fd00:5c::1", B6 = "fd00:5c::2";

    /** Two namespaces {@code a} and {@code b} joined by a veth with IPv4 and IPv6 addresses. */
    static String[] pair(Lab lab) {
        String a = lab.netns("a");
        String b = lab.netns("b");
        lab.link(a, List.of(A4 + "/24", A6 + "/64"), b, List.of(B4 + "/24", B6 + "/64"));
        return new String[]{a, b};
    }

    /** Starts patchcord in {@code ns} and waits until it says it is ready. */
    static Process patchcord(Lab lab, String ns, String name, String... args) {
        Process p = lab.spawn(ns, name, Self.command(args));
        awaitReady(lab, name, p);
        return p;
    }

    static void awaitReady(Lab lab, String name, Process p) {
        boolean ready = Lab.await(Duration.ofSeconds(30), () -> lab.log(name).contains("ready") || !p.isAlive());
        assertThat(ready && p.isAlive()).as(name + " ready; log:\n" + lab.log(name)).isTrue();
    }

    static void ping(Lab lab, String ns, String target) {
        Lab.Result r = lab.run(ns, Duration.ofSeconds(20), "ping", "-c", "3", "-i", "0.2", "-W", "2", target);
        assertThat(r.code()).as("ping " + target + " from " + ns + ":\n" + r.output()).isZero();
    }

    /**
     * The first ping through a new tunnel: waits (bounded) for one answer, then asserts three in a
     * row. When both ends start handshakes at the same moment, each answers the other's initiation
     * and forgets its own, and WireGuard (every implementation) tries again only after
     * REKEY_TIMEOUT, 5 s later.
     */
    static void reach(Lab lab, String ns, String target) {
        Lab.await(Duration.ofSeconds(30), () -> lab.run(ns, Duration.ofSeconds(5), "ping", "-c", "1", "-W", "1", target).code() == 0);
        ping(lab, ns, target);
    }

    /** Sends {@code bytes} over TCP from {@code fromNs} to {@code host} in {@code toNs}; asserts the SHA-256 matches. */
    static void transfer(Lab lab, String fromNs, String toNs, String host, long bytes) {
        String sink = "sink-" + System.nanoTime();
        Process p = lab.spawn(toNs, sink, Self.command("lab", "sink", "--port", "5201"));
        assertThat(Lab.await(Duration.ofSeconds(30), () -> lab.log(sink).contains("listening"))).isTrue();
        Lab.Result sent = lab.run(fromNs, Duration.ofSeconds(120), Self.command("lab", "source", "--host", host,
                "--port", "5201", "--bytes", String.valueOf(bytes), "--seed", "7").toArray(String[]::new));
        assertThat(sent.code()).as("source: " + sent.output()).isZero();
        assertThat(Lab.await(Duration.ofSeconds(30), () -> !p.isAlive())).isTrue();
        String received = lab.log(sink);
        assertThat(field(received, "bytes")).isEqualTo(String.valueOf(bytes));
        assertThat(field(received, "sha256")).isEqualTo(field(sent.output(), "sha256"));
    }

    static String field(String text, String key) {
        Matcher m = Pattern.compile(key + "=(\\S+)").matcher(text);
        assertThat(m.find()).as(key + " in " + text).isTrue();
        return m.group(1);
    }

    /** Stops a patchcord process with SIGTERM; asserts a clean exit and returns its final counters line. */
    static String stop(Lab lab, String name) {
        int code = lab.stop(name, Duration.ofSeconds(15));
        String log = lab.log(name);
        assertThat(code).as("exit code; log:\n" + log).isZero();
        return log.lines().filter(l -> l.contains("stopped;")).findFirst().orElseThrow(
                () -> new AssertionError("no final counters in:\n" + log));
    }

    /** The count a final counters line gives for a drop reason, 0 if absent. */
    static long dropped(String stoppedLine, String reason) {
        Matcher m = Pattern.compile("[(,] ?" + reason + " (\\d+)").matcher(stoppedLine);
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }

    /**
     * As {@link #transfer(Lab, String, String, String, long)}, for paths slower than a clean veth:
     * the sender may take up to {@code timeout}. Returns the seconds the transfer took.
     */
    static double transfer(Lab lab, String fromNs, String toNs, String host, long bytes, Duration timeout) {
        String sink = "sink-" + System.nanoTime();
        Process p = lab.spawn(toNs, sink, Self.command("lab", "sink", "--port", "5201"));
        assertThat(Lab.await(Duration.ofSeconds(30), () -> lab.log(sink).contains("listening"))).isTrue();
        long start = System.nanoTime();
        Lab.Result sent = lab.run(fromNs, timeout, Self.command("lab", "source", "--host", host,
                "--port", "5201", "--bytes", String.valueOf(bytes), "--seed", "7").toArray(String[]::new));
        double seconds = (System.nanoTime() - start) / 1e9;
        assertThat(sent.code()).as("source: " + sent.output()).isZero();
        assertThat(Lab.await(Duration.ofSeconds(30), () -> !p.isAlive())).isTrue();
        String received = lab.log(sink);
        assertThat(field(received, "bytes")).isEqualTo(String.valueOf(bytes));
        assertThat(field(received, "sha256")).isEqualTo(field(sent.output(), "sha256"));
        return seconds;
    }

    /** The packets a final counters line gives for {@code "rx"} or {@code "tx"}. */
    static long packets(String stoppedLine, String direction) {
        Matcher m = Pattern.compile("\\b" + direction + " (\\d+) packets").matcher(stoppedLine);
        assertThat(m.find()).as(direction + " packets in " + stoppedLine).isTrue();
        return Long.parseLong(m.group(1));
    }
}
