package dev.patchcord.tools;

import dev.patchcord.control.Endpoint;
import dev.patchcord.core.wg.Keys;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * The hostile-traffic and bad-underlay tools of the end-to-end tests and benchmarks, as a command
 * of their own that ships with nothing: {@code flood} ({@link Flood}), {@code handshakes}
 * ({@link HandshakeFlood}) with the keys {@code peer-keys} makes, and {@code impair} ({@link Impair}). The tests start it with {@link #command}; the benchmark scripts with
 * {@code bench/lib/test-tools.sh}, which builds the test classes first.
 */
@Command(name = "test-tools", mixinStandardHelpOptions = true, description = "Traffic tools for tests and benchmarks.",
        subcommands = {TestTools.FloodTool.class, TestTools.HandshakesTool.class, TestTools.PeerKeysTool.class,
                TestTools.ImpairTool.class})
public final class TestTools {
    public static void main(String[] args) {
        CommandLine cli = new CommandLine(new TestTools());
        cli.setExecutionExceptionHandler((e, line, parsed) -> {
            System.err.println("test-tools: " + e.getMessage());
            return 1;
        });
        System.exit(cli.execute(args));
    }

    /** The command line that runs {@code args} in a new JVM with this JVM's class path. */
    public static List<String> command(String... args) {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), TestTools.class.getName()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** The address of {@code e}, looked up if it is a name (the endpoint checked host and port). */
    private static InetSocketAddress socket(Endpoint e) throws IOException {
        return new InetSocketAddress(InetAddress.getByName(e.host()), e.port());
    }

    @Command(name = "flood", mixinStandardHelpOptions = true, description = "Send hostile WireGuard messages to a responder at a bounded rate: "
            + "initiations from unknown keys (valid MAC1), transport messages with random indices, and forged "
            + "transport messages for a real session. Prints what was sent and the replies by type.")
    static final class FloodTool implements Callable<Integer> {
        @Option(names = "--host", required = true)
        String host;
        @Option(names = "--port", required = true)
        int port;
        @Option(names = "--public-key", required = true, description = "The responder's public key (base64).")
        String publicKey;
        @Option(names = "--initiations", defaultValue = "0")
        long initiations;
        @Option(names = "--transports", defaultValue = "0")
        long transports;
        @Option(names = "--forged", defaultValue = "0")
        long forged;
        @Option(names = "--peer-key", description = "A file with the private key (base64) of a peer the responder "
                + "knows; needed for --forged.")
        Path peerKey;
        @Option(names = "--rate", defaultValue = "1000", description = "Messages a second, all kinds together.")
        int rate;
        @Option(names = "--seconds", defaultValue = "10", description = "Stop after this long even if counts remain.")
        double seconds;

        @Override
        public Integer call() throws IOException {
            byte[] known = peerKey == null ? null : Keys.fromBase64(Files.readString(peerKey).strip());
            Flood.Plan plan = new Flood.Plan(socket(new Endpoint(host, port)), Keys.fromBase64(publicKey),
                    initiations, transports, forged, known, rate, Duration.ofMillis((long) (seconds * 1000)));
            System.out.println("flood: " + Flood.run(plan));
            return 0;
        }
    }

    @Command(name = "handshakes", mixinStandardHelpOptions = true, description = "Send valid handshake initiations from "
            + "many keys the responder knows (see peer-keys), one outstanding a key, each source address at most at "
            + "half the responder's per-source limit, keeping the cookies it gives; after a warm-up, print the "
            + "responses a second and (with --responder-pid) the responder's CPU time over the measurement.")
    static final class HandshakesTool implements Callable<Integer> {
        @Option(names = "--host", required = true)
        String host;
        @Option(names = "--port", required = true)
        int port;
        @Option(names = "--public-key", required = true, description = "The responder's public key (base64).")
        String publicKey;
        @Option(names = "--keys", required = true, description = "A file of private keys (base64), one a line: "
                + "the peers the responder knows.")
        Path keys;
        @Option(names = "--source", description = "The first source address; the others follow it. The attacker "
                + "must be able to bind them (e.g. ip route add local PREFIX dev lo).")
        String source;
        @Option(names = "--sources", description = "Source addresses (default: one a key with --source, else one).")
        Integer sources;
        @Option(names = "--rate", defaultValue = "0", description = "Initiations a second, all keys together; 0 for "
                + "as fast as they are answered.")
        int rate;
        @Option(names = "--window", description = "The most initiations outstanding at once (default 128, at most the "
                + "number of keys).")
        Integer window;
        @Option(names = "--warm-up", defaultValue = "2", description = "Seconds of flood before the measurement.")
        double warmUp;
        @Option(names = "--seconds", defaultValue = "5", description = "Seconds measured.")
        double seconds;
        @Option(names = "--responder-pid", defaultValue = "0", description = "The responder's process id, whose CPU "
                + "time /proc/PID/stat gives.")
        long responderPid;
        @Option(names = "--clock-ticks", defaultValue = "100", description = "The unit of /proc's times (getconf CLK_TCK).")
        int clockTicks;

        @Override
        public Integer call() throws IOException, InterruptedException {
            List<byte[]> privateKeys = new ArrayList<>();
            for (String line : Files.readAllLines(keys)) {
                if (!line.isBlank()) {
                    privateKeys.add(Keys.fromBase64(line.strip()));
                }
            }
            InetAddress first = source == null ? null : InetAddress.getByName(source);
            int n = sources != null ? sources : first == null ? 1 : privateKeys.size();
            HandshakeFlood.Plan plan = new HandshakeFlood.Plan(socket(new Endpoint(host, port)), Keys.fromBase64(publicKey),
                    privateKeys, first, n, rate, window != null ? window : Math.min(128, privateKeys.size()),
                    Duration.ofMillis((long) (warmUp * 1000)),
                    Duration.ofMillis((long) (seconds * 1000)), responderPid, clockTicks);
            String limitation = plan.limitation();
            if (limitation != null) {
                System.err.println("handshakes: warning: " + limitation);
            }
            HandshakeFlood.Report r = HandshakeFlood.run(plan);
            System.out.println("handshakes: keys=" + r.keys() + " sources=" + r.sources() + " (initiators' X25519: "
                    + r.initiatorCurve() + ")");
            System.out.println("handshakes warm-up: " + r.warmUp());
            System.out.println("handshakes: " + r.measured());
            return 0;
        }
    }

    @Command(name = "peer-keys", mixinStandardHelpOptions = true, description = "Make key pairs for the handshakes tool: "
            + "the private keys, one a line, and a [Peer] section for each public key to append to the responder's "
            + "configuration.")
    static final class PeerKeysTool implements Callable<Integer> {
        @Option(names = "--count", required = true)
        int count;
        @Option(names = "--private", required = true, description = "File to write the private keys to (mode 600).")
        Path privateFile;
        @Option(names = "--peers", required = true, description = "File to write the [Peer] sections to.")
        Path peersFile;

        @Override
        public Integer call() throws IOException {
            if (count < 1 || count > 100_000) {
                throw new IllegalArgumentException("count must be 1 to 100000");
            }
            PeerKeys.write(PeerKeys.generate(count, new java.security.SecureRandom()), privateFile, peersFile);
            return 0;
        }
    }

    @Command(name = "impair", mixinStandardHelpOptions = true, description = "Relay UDP between a client and a server, losing, duplicating, delaying "
            + "and reordering datagrams in both directions as netem would (percentages, milliseconds).")
    static final class ImpairTool implements Callable<Integer> {
        @Option(names = "--listen", required = true, description = "ADDRESS:PORT the client sends to.")
        String listen;
        @Option(names = "--to", required = true, description = "ADDRESS:PORT of the server.")
        String to;
        @Option(names = "--loss", defaultValue = "0")
        double loss;
        @Option(names = "--duplicate", defaultValue = "0")
        double duplicate;
        @Option(names = "--reorder", defaultValue = "0")
        double reorder;
        @Option(names = "--delay", defaultValue = "0")
        long delayMillis;
        @Option(names = "--limit", defaultValue = "1000", description = "Datagrams held per direction (netem's limit).")
        int limit;
        @Option(names = "--seconds", defaultValue = "600", description = "Stop after this long.")
        long seconds;

        @Override
        public Integer call() throws IOException {
            Impair.Settings settings = new Impair.Settings(loss / 100, duplicate / 100, reorder / 100,
                    Duration.ofMillis(delayMillis), limit);
            Impair.Running relay = Impair.start(socket(Endpoint.parse(listen)), socket(Endpoint.parse(to)), settings);
            // The report is printed however the relay ends: its time is up, or it is stopped.
            Runtime.getRuntime().addShutdownHook(new Thread(() -> System.out.println("impair: " + relay.report())));
            System.out.println("relaying " + listen + " -> " + to);
            System.out.flush();
            try {
                Thread.sleep(Duration.ofSeconds(Math.min(seconds, 3600)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            relay.close();
            return 0;
        }
    }
}
