package dev.patchcord.cli;

import dev.patchcord.lab.Echo;
import dev.patchcord.lab.Traffic;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.Callable;

/** Traffic tools for tests and benchmarks, run inside lab namespaces. Not part of the user interface. */
@Command(name = "lab", hidden = true, description = "Traffic tools for tests and benchmarks.",
        subcommands = {LabCommand.Sink.class, LabCommand.Source.class, LabCommand.Udp.class, LabCommand.EchoServer.class,
                LabCommand.EchoProbe.class, TrainCommand.class})
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
        @Option(names = "--rate", defaultValue = "0", description = "At most this many bytes a second (0: no limit).")
        long rate;

        @Override
        public Integer call() throws IOException {
            System.out.println(Traffic.source(Addresses.socket(host, Addresses.port(port)), bytes, seed, rate));
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
}
