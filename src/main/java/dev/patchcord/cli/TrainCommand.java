package dev.patchcord.cli;

import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.X25519;
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
 * {@code patchcord lab train DIR}: the training run for the start-up archive. It starts a real
 * {@code up} tunnel and a real {@code tinyvpn} tunnel in this process, one after the other, waits
 * for each to say it is ready, asks {@code show} about the first, and stops each with SIGTERM, as
 * an operator would. A JVM started with {@code -XX:ArchiveClassesAtExit} on this command therefore
 * archives the classes of the start-up paths people wait for, whatever command happens to run
 * first on a machine (an archive made by the first run of {@code genkey} would hold little else).
 *
 * <p>It creates interfaces, so it runs only in a network namespace of its own that holds nothing
 * but {@code lo} ({@code unshare --net}, or {@code unshare --user --map-root-user --net} without
 * root); anywhere else it refuses. {@code PATCHCORD_RUN_DIR} and {@code PATCHCORD_SOCKET_DIR} should
 * point into DIR, where the process may write. {@code bin/lib/archive.sh} runs it.
 */
@Command(name = "train", description = "Start and stop an 'up' and a 'tinyvpn' tunnel in this private network "
        + "namespace, so that a class-data-sharing archive made from this run covers their start-up.")
final class TrainCommand implements java.util.concurrent.Callable<Integer> {
    private static final long READY_SECONDS = 60;

    @Parameters(paramLabel = "DIR", description = "A writable directory for the configuration file.")
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
        SecureRandom random = new SecureRandom();
        byte[] key = X25519.generatePrivate(random);
        byte[] peer = X25519.publicKey(X25519.generatePrivate(random));
        Path conf = dir.resolve("pctrain0.conf");
        Files.writeString(conf, """
                [Interface]
                PrivateKey = %s
                Address = 10.250.0.1/24
                [Peer]
                PublicKey = %s
                AllowedIPs = 10.250.0.2/32
                Endpoint = 127.0.0.1:9
                PersistentKeepalive = 1
                """.formatted(Keys.toBase64(key), Keys.toBase64(peer)));
        Files.setPosixFilePermissions(conf, PosixFilePermissions.fromString("rw-------"));

        // What the commands print is of no interest here; failures say what went wrong.
        PrintStream out = System.out;
        System.setOut(new PrintStream(OutputStream.nullOutputStream()));
        try {
            Main.run("genkey");
            runUntilReady(List.of("up", "--foreground", conf.toString()), () -> Main.run("show", "pctrain0"));
            runUntilReady(List.of("tinyvpn", "pctrain1", "127.0.0.1", "9"), () -> { });
        } finally {
            System.setOut(out);
        }
        return 0;
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
            meanwhile.run();
            Signals.raise("TERM");
            tunnel.join(TimeUnit.SECONDS.toMillis(READY_SECONDS));
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
