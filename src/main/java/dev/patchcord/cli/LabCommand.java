package dev.patchcord.cli;

import dev.patchcord.core.wg.Keys;
import dev.patchcord.lab.Echo;
import dev.patchcord.lab.Flood;
import dev.patchcord.lab.Impair;
import dev.patchcord.lab.Traffic;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.Callable;

/** Traffic tools for tests and benchmarks, run inside lab namespaces. Not part of the user interface. */
@Command(name = "lab", hidden = true, description = "Traffic tools for tests and benchmarks.",
        subcommands = {LabCommand.Sink.class, LabCommand.Source.class, LabCommand.Udp.class, LabCommand.FloodTool.class,
                LabCommand.ImpairTool.class, LabCommand.EchoServer.class, LabCommand.EchoProbe.class,
                TrainCommand.class})
final class LabCommand {

    @Command(name = "sink", description = "Accept one TCP connection, read it to the end, print bytes and SHA-256.")
    static final class Sink implements Callable<Integer> {
        @Option(names = "--port", required = true)
        int port;

        @Override
        public Integer call() throws IOException {
            Traffic.Report r = Traffic.sink(Addresses.port(port), () -> {
                System.out.println("listening " + port);
                System.out.flush();
            });
            System.out.println(r);
            return 0;
        }
    }

    @Command(name = "source", description = "Send reproducible pseudo-random bytes over TCP, print bytes and SHA-256.")
    static final class Source implements Callable<Integer> {
        @Option(names = "--host", required = true)
        String host;
        @Option(names = "--port", required = true)
        int port;
        @Option(names = "--bytes", required = true)
        long bytes;
        @Option(names = "--seed", defaultValue = "1")
        long seed;

        @Override
        public Integer call() throws IOException {
            System.out.println(Traffic.source(Addresses.socket(host, Addresses.port(port)), bytes, seed));
            return 0;
        }
    }

    @Command(name = "echo-server", description = "Answer the UDP echo requests of 'lab echo' until stopped or "
            + "--seconds have passed.")
    static final class EchoServer implements Callable<Integer> {
        @Option(names = "--port", required = true)
        int port;
        @Option(names = "--seconds", defaultValue = "600", description = "Stop after this long.")
        long seconds;

        @Override
        public Integer call() throws IOException {
            try (DatagramSocket socket = new DatagramSocket(null)) {
                socket.setReuseAddress(true);
                socket.bind(new InetSocketAddress(Addresses.port(port)));
                System.out.println("listening " + port);
                System.out.flush();
                System.out.println("answered " + Echo.serve(socket, Duration.ofSeconds(seconds)));
            }
            return 0;
        }
    }

    @Command(name = "echo", description = "Send UDP echo requests to 'lab echo-server' and print the round-trip "
            + "times, as ping does. Exits 1 if no reply came.")
    static final class EchoProbe implements Callable<Integer> {
        @Option(names = "--host", required = true)
        String host;
        @Option(names = "--port", required = true)
        int port;
        @Option(names = "--count", defaultValue = "3")
        int count;
        @Option(names = "--interval", defaultValue = "0.2", description = "Seconds between requests.")
        double interval;
        @Option(names = "--timeout", defaultValue = "2", description = "Seconds to wait for each reply.")
        double timeout;

        @Override
        public Integer call() throws IOException {
            Echo.Report report;
            try {
                report = Echo.probe(Addresses.socket(host, Addresses.port(port)), count,
                        Duration.ofMillis((long) (interval * 1000)), Duration.ofMillis((long) (timeout * 1000)));
            } catch (IllegalArgumentException e) {
                throw new UserError(e.getMessage());
            }
            System.out.println(report);
            return report.received() > 0 ? 0 : 1;
        }
    }

    @Command(name = "udp", description = "Send datagrams of the given sizes (random bytes) and/or one hex payload.")
    static final class Udp implements Callable<Integer> {
        @Option(names = "--host", required = true)
        String host;
        @Option(names = "--port", required = true)
        int port;
        @Option(names = "--size", split = ",")
        int[] sizes = new int[0];
        @Option(names = "--hex", split = ",")
        String[] hex = new String[0];

        @Override
        public Integer call() throws IOException {
            byte[][] payloads = java.util.Arrays.stream(hex).map(HexFormat.of()::parseHex).toArray(byte[][]::new);
            Traffic.datagrams(Addresses.socket(host, Addresses.port(port)), sizes, payloads);
            return 0;
        }
    }

    @Command(name = "flood", description = "Send hostile WireGuard messages to a responder at a bounded rate: "
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
            Flood.Plan plan;
            try {
                plan = new Flood.Plan(Addresses.socket(host, Addresses.port(port)), Keys.fromBase64(publicKey),
                        initiations, transports, forged, known, rate, Duration.ofMillis((long) (seconds * 1000)));
            } catch (IllegalArgumentException e) {
                throw new UserError(e.getMessage());
            }
            System.out.println("flood: " + Flood.run(plan));
            return 0;
        }
    }

    @Command(name = "impair", description = "Relay UDP between a client and a server, losing, duplicating, delaying "
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
            Impair.Settings settings;
            try {
                settings = new Impair.Settings(loss / 100, duplicate / 100, reorder / 100,
                        Duration.ofMillis(delayMillis), limit);
            } catch (IllegalArgumentException e) {
                throw new UserError(e.getMessage());
            }
            Impair.Running relay = Impair.start(hostPort(listen), hostPort(to), settings);
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

        private static java.net.InetSocketAddress hostPort(String text) {
            int colon = text.lastIndexOf(':');
            if (colon < 0) {
                throw new UserError("'" + text + "' is not ADDRESS:PORT");
            }
            try {
                return Addresses.socket(text.substring(0, colon).replaceAll("^\\[|]$", ""),
                        Addresses.port(Integer.parseInt(text.substring(colon + 1))));
            } catch (NumberFormatException e) {
                throw new UserError("'" + text + "' is not ADDRESS:PORT");
            }
        }
    }
}
