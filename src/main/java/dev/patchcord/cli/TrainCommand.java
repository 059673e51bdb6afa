package dev.patchcord.cli;

import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.X25519;
import dev.patchcord.lab.Self;
import dev.patchcord.tun.Link;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * {@code patchcord lab train DIR}: the training run for the AOT cache ({@code bin/lib/archive.sh}).
 * It starts a real {@code up} tunnel in this process and its peer, another {@code up}, in a child
 * process; once both say they are ready it asks {@code show} about the first and sends TCP and UDP
 * traffic through the pair in both directions ({@link TrainTraffic}), then stops the tunnel with
 * SIGTERM, as an operator would, and the peer likewise; then the same for a {@code tinyvpn} tunnel.
 * A JVM started with {@code -XX:AOTCacheOutput} on this command therefore caches the classes of the
 * start-up paths people wait for and the method profiles of the packet path (read and write on the
 * TUN interface and the UDP socket, batches, segmentation, the cipher), whatever command happens to
 * run first on a machine.
 *
 * <p>It creates interfaces and changes routing rules, so it runs only in a network namespace of its
 * own that holds nothing but {@code lo} ({@code unshare --net}, or {@code unshare --user
 * --map-root-user --net} without root); anywhere else it refuses. {@code PATCHCORD_RUN_DIR} and
 * {@code PATCHCORD_SOCKET_DIR} should point into DIR, where the process may write. Without the
 * {@code ip} command the traffic is left out (start and stop only) and stderr says so.
 */
@Command(name = "train", description = "Start an 'up' tunnel and its peer in this private network namespace, "
        + "send traffic through them, stop them, then start and stop a 'tinyvpn' tunnel, so that an AOT cache "
        + "made from this run covers their start-up and their packet path.")
final class TrainCommand implements java.util.concurrent.Callable<Integer> {
    private static final long READY_SECONDS = 60;
    private static final long TRAFFIC_SECONDS = 60;

    @Parameters(paramLabel = "DIR", description = "A writable directory for the configuration files.")
    Path dir;

    @Override
    public Integer call() throws Exception {
        // /proc/self/net is this process's namespace; /sys/class/net would be the one sysfs was mounted in.
        List<String> links;
        try (Stream<String> s = Files.lines(Path.of("/proc/self/net/dev"))) {
            links = s.skip(2).map(l -> l.substring(0, l.indexOf(':')).strip()).filter(n -> !n.equals("lo")).toList();
        }
        if (!links.isEmpty()) {
            throw new UserError("lab train creates interfaces: run it in a new network namespace (unshare --net), "
                    + "not beside " + links);
        }
        Link.setUp("lo");
        String noTraffic = TrainTraffic.route();
        SecureRandom random = new SecureRandom();
        byte[] key = X25519.generatePrivate(random);
        byte[] peerKey = X25519.generatePrivate(random);
        Path conf = writeConf("pctrain0", key, TrainTraffic.LEFT, 51820, X25519.publicKey(peerKey), "10.250.1.0/24", 51821);
        Path peerConf = writeConf("pctrain1", peerKey, TrainTraffic.RIGHT, 51821, X25519.publicKey(key), "10.250.0.0/24", 51820);

        // What the commands print is of no interest here; failures say what went wrong.
        PrintStream out = System.out;
        PrintStream err = System.err;
        System.setOut(new PrintStream(OutputStream.nullOutputStream()));
        try {
            Main.run("genkey");
            if (noTraffic != null) {
                err.println("patchcord: lab train: no traffic through the tunnels: " + noTraffic);
                runUntilReady(List.of("up", "--foreground", conf.toString()), () -> Main.run("show", "pctrain0"));
            } else {
                try (Peer peer = new Peer(peerConf)) {
                    runUntilReady(List.of("up", "--foreground", conf.toString()), () -> {
                        Main.run("show", "pctrain0");
                        peer.awaitReady();
                        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TRAFFIC_SECONDS);
                        try {
                            err.println("patchcord: lab train: " + TrainTraffic.run(deadline));
                        } catch (IOException e) {
                            throw new UserError("traffic through the training tunnels failed: " + e);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            throw new UserError("interrupted");
                        }
                    });
                }
            }
            runUntilReady(List.of("tinyvpn", "pctrain2", "127.0.0.1", "9"), () -> { });
        } finally {
            System.setOut(out);
        }
        return 0;
    }

    private Path writeConf(String name, byte[] key, String address, int port, byte[] peer, String allowed, int peerPort)
            throws IOException {
        Path conf = dir.resolve(name + ".conf");
        Files.writeString(conf, """
                [Interface]
                PrivateKey = %s
                Address = %s/32
                ListenPort = %d
                [Peer]
                PublicKey = %s
                AllowedIPs = %s
                Endpoint = 127.0.0.1:%d
                """.formatted(Keys.toBase64(key), address, port, Keys.toBase64(peer), allowed, peerPort));
        Files.setPosixFilePermissions(conf, PosixFilePermissions.fromString("rw-------"));
        return conf;
    }

    /** The peer tunnel: {@code up --foreground} in a child process, stopped with SIGTERM and waited for. */
    private static final class Peer implements AutoCloseable {
        private final Process process;
        private final ByteArrayOutputStream output = new ByteArrayOutputStream();
        private final CountDownLatch ready = new CountDownLatch(1);

        Peer(Path conf) throws IOException {
            process = new ProcessBuilder(Self.command("up", "--foreground", conf.toString()))
                    .redirectErrorStream(true).start();
            process.getOutputStream().close();
            ReadyWatch watch = new ReadyWatch(output, ready);
            Thread.ofPlatform().daemon().name("train-peer-output").start(() -> {
                try {
                    process.getInputStream().transferTo(watch);
                } catch (IOException e) {
                    // the process ended; its exit says the rest
                }
            });
        }

        void awaitReady() {
            try {
                if (!ready.await(READY_SECONDS, TimeUnit.SECONDS)) {
                    throw new UserError("the training peer did not become ready: " + output);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new UserError("interrupted");
            }
        }

        @Override
        public void close() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(READY_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(READY_SECONDS, TimeUnit.SECONDS);
                throw new UserError("the training peer did not stop: " + output);
            }
        }
    }

    /**
     * Runs one tunnel command on a thread of its own until its ready line, runs {@code meanwhile},
     * then stops the tunnel with SIGTERM and waits for its exit code, which must be 0. Its output is
     * kept and shown only if something goes wrong.
     */
    private static void runUntilReady(List<String> args, Runnable meanwhile) throws InterruptedException {
        CountDownLatch ready = new CountDownLatch(1);
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        PrintStream original = System.err;
        System.setErr(new PrintStream(new ReadyWatch(output, ready), true, StandardCharsets.UTF_8));
        int[] code = {-1};
        Thread tunnel = Thread.ofPlatform().name("train-" + args.getFirst()).start(
                () -> code[0] = Main.run(args.toArray(String[]::new)));
        try {
            if (!ready.await(READY_SECONDS, TimeUnit.SECONDS)) {
                throw new UserError(String.join(" ", args) + " did not become ready: " + output);
            }
            try {
                meanwhile.run();
            } finally {
                Signals.raise("TERM");
                tunnel.join(TimeUnit.SECONDS.toMillis(READY_SECONDS));
            }
        } finally {
            System.setErr(original);
        }
        if (tunnel.isAlive() || code[0] != 0) {
            throw new UserError(String.join(" ", args) + " did not stop cleanly: " + output);
        }
    }

    /** Keeps what a tunnel prints and opens the latch at its ready line. */
    private static final class ReadyWatch extends OutputStream {
        private final ByteArrayOutputStream kept;
        private final CountDownLatch ready;

        ReadyWatch(ByteArrayOutputStream kept, CountDownLatch ready) {
            this.kept = kept;
            this.ready = ready;
        }

        @Override
        public synchronized void write(int b) {
            kept.write(b);
            if (b == '\n' && kept.toString(StandardCharsets.UTF_8).contains("(ready ")) {
                ready.countDown();
            }
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) throws IOException {
            for (int i = 0; i < len; i++) {
                write(b[off + i]);
            }
        }
    }
}
