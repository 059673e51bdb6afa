package dev.patchcord.lab;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A private network laboratory: network namespaces joined by veth pairs, and processes started in
 * them. Every name carries a random per-lab prefix, so labs never collide, and {@link #close()}
 * removes everything the lab made (its processes by PID, then its namespaces, which takes their
 * interfaces with them, then its directory of logs and files), whatever happened before.
 *
 * <p>Used by {@code patchcord demo}, the benchmark and the end-to-end tests. It shells out to
 * {@code ip} because namespaces are set-up scaffolding, not patchcord's data path.
 */
public final class Lab implements AutoCloseable {
    /** Upper bound for any single set-up command. */
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(30);

    private final String prefix;
    private final Path logDir;
    private final List<String> namespaces = new ArrayList<>();
    private final Map<String, Process> processes = new LinkedHashMap<>();
    private final Map<String, Path> logs = new LinkedHashMap<>();
    private int links;

    /** @param tag a short word naming the user of the lab (e.g. "demo"); at most 4 characters are kept */
    public Lab(String tag) {
        String t = tag.replaceAll("[^a-z0-9]", "");
        t = t.substring(0, Math.min(4, t.length()));
        this.prefix = "pc" + t + HexFormat.of().toHexDigits((short) ThreadLocalRandom.current().nextInt()).substring(0, 4);
        try {
            this.logDir = Files.createTempDirectory("patchcord-lab-" + prefix + "-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public String prefix() {
        return prefix;
    }

    public Path logDir() {
        return logDir;
    }

    /** Creates a namespace named {@code <prefix>-<name>} with loopback up, and returns its name. */
    public String netns(String name) {
        String ns = prefix + "-" + name;
        exec(List.of("ip", "netns", "add", ns));
        namespaces.add(ns);
        ip(ns, "link", "set", "lo", "up");
        return ns;
    }

    /**
     * Joins two namespaces with a veth pair, gives each end its addresses (CIDR notation, IPv4 or
     * IPv6) and brings both up. Returns the two interface names {@code [inA, inB]}.
     */
    public String[] link(String nsA, List<String> addrA, String nsB, List<String> addrB) {
        int n = links++;
        String a = prefix + "v" + n + "a";
        String b = prefix + "v" + n + "b";
        exec(List.of("ip", "link", "add", a, "netns", nsA, "type", "veth", "peer", "name", b, "netns", nsB));
        for (String addr : addrA) {
            addAddress(nsA, a, addr);
        }
        for (String addr : addrB) {
            addAddress(nsB, b, addr);
        }
        ip(nsA, "link", "set", a, "up");
        ip(nsB, "link", "set", b, "up");
        return new String[]{a, b};
    }

    /** Runs {@code ip -n NS ARGS…}, failing loudly if it fails. */
    public String ip(String ns, String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip", "-n", ns));
        cmd.addAll(List.of(args));
        return exec(cmd);
    }

    /** Adds an address (CIDR) to an interface; IPv6 skips duplicate address detection, so it works at once. */
    public void addAddress(String ns, String dev, String cidr) {
        if (cidr.contains(":")) {
            ip(ns, "addr", "add", cidr, "dev", dev, "nodad");
        } else {
            ip(ns, "addr", "add", cidr, "dev", dev);
        }
    }

    /** Runs a command inside a namespace and waits; returns its exit code and output. */
    public Result run(String ns, Duration timeout, String... command) {
        return execute(inNs(ns, List.of(command)), timeout);
    }

    /** Runs a command inside a namespace and fails if it exits non-zero. */
    public String sh(String ns, String... command) {
        Result r = run(ns, COMMAND_TIMEOUT, command);
        if (r.code != 0) {
            throw new IllegalStateException("in " + ns + ": " + String.join(" ", command) + " exited with "
                    + r.code + ": " + r.output.strip());
        }
        return r.output;
    }

    /**
     * Starts a long-running process in a namespace, its output (both streams) going to a log file
     * named after {@code name}. The process is stopped by {@link #close()} if still running.
     */
    public Process spawn(String ns, String name, List<String> command) {
        return spawn(ns, name, command, ProcessBuilder.Redirect.PIPE);
    }

    /** As {@link #spawn(String, String, List)}, with standard input from {@code stdin}. */
    public Process spawn(String ns, String name, List<String> command, ProcessBuilder.Redirect stdin) {
        Path log = logDir.resolve(name + ".log");
        return start(name, log, new ProcessBuilder(inNs(ns, command))
                .redirectErrorStream(true).redirectOutput(log.toFile()).redirectInput(stdin));
    }

    /** Starts a process whose standard input and output the caller uses (standard error goes to a log). */
    public Process spawnPiped(String ns, String name, List<String> command) {
        Path log = logDir.resolve(name + ".stderr.log");
        return start(name, log, new ProcessBuilder(inNs(ns, command)).redirectError(log.toFile()));
    }

    private Process start(String name, Path log, ProcessBuilder pb) {
        try {
            Process p = pb.start();
            processes.put(name, p);
            logs.put(name, log);
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + pb.command(), e);
        }
    }

    /** The processes started so far, by name. */
    public Map<String, Process> processes() {
        return java.util.Collections.unmodifiableMap(processes);
    }

    /** The log written so far by the process started as {@code name}. */
    public String log(String name) {
        Path p = logs.get(name);
        try {
            return p == null ? "" : Files.readString(p, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    /** Sends SIGTERM to a spawned process and waits (bounded) for it; returns its exit code. */
    public int stop(String name, Duration timeout) {
        Process p = processes.get(name);
        if (p == null) {
            throw new IllegalArgumentException("no process " + name);
        }
        p.destroy();
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                throw new IllegalStateException(name + " did not stop within " + timeout);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return p.exitValue();
    }

    /** Waits until {@code condition} holds, checking every 50 ms; false if {@code timeout} passed first. */
    public static boolean await(Duration timeout, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return true;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return condition.getAsBoolean();
    }

    /** True once the interface exists in the namespace. */
    public boolean hasInterface(String ns, String ifname) {
        return run(ns, Duration.ofSeconds(5), "ip", "link", "show", "dev", ifname).code == 0;
    }

    /** Prints every process log, for a failed test or demo. */
    public void dumpLogs(PrintStream out) {
        for (var e : logs.entrySet()) {
            out.println("----- " + e.getKey() + " (" + e.getValue() + ")");
            out.println(log(e.getKey()).strip());
        }
    }

    @Override
    public void close() {
        for (Process p : processes.values()) {
            p.destroy();
        }
        for (Process p : processes.values()) {
            try {
                if (!p.waitFor(5, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        for (String ns : namespaces.reversed()) {
            execute(List.of("ip", "netns", "del", ns), COMMAND_TIMEOUT);
        }
        namespaces.clear();
        deleteTree(logDir);
    }

    /** The lab's files (logs, configurations, keys) go with it; a failing test prints the logs first. */
    private static void deleteTree(Path dir) {
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // Already gone, or never made: nothing to remove.
        }
    }

    /** A finished command. */
    public record Result(int code, String output) {}

    private static List<String> inNs(String ns, List<String> command) {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        full.addAll(command);
        return full;
    }

    private static String exec(List<String> command) {
        Result r = execute(command, COMMAND_TIMEOUT);
        if (r.code != 0) {
            throw new IllegalStateException(String.join(" ", command) + " exited with " + r.code + ": " + r.output.strip());
        }
        return r.output;
    }

    private static Result execute(List<String> command, Duration timeout) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getOutputStream().close();
            var out = new java.io.ByteArrayOutputStream();
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    p.getInputStream().transferTo(out);
                } catch (IOException ignored) {
                    // the process ended; what was read is kept
                }
            });
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                return new Result(-1, "timed out after " + timeout + ": " + String.join(" ", command));
            }
            reader.join(Duration.ofSeconds(5));
            return new Result(p.exitValue(), out.toString(StandardCharsets.UTF_8));
        } catch (IOException e) {
            return new Result(-1, "cannot run " + command.getFirst() + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, "interrupted");
        }
    }
}
