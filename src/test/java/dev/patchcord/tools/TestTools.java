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
 * of their own that ships with nothing: {@code flood} ({@link Flood}) and {@code impair}
 * ({@link Impair}). The tests start it with {@link #command}; the benchmark scripts with
 * {@code bench/lib/test-tools.sh}, which builds the test classes first.
 */
@Command(name = "test-tools", mixinStandardHelpOptions = true, description = "Traffic tools for tests and benchmarks.",
        subcommands = {TestTools.FloodTool.class, TestTools.ImpairTool.class})
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
