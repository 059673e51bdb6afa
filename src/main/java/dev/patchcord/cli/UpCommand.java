package dev.patchcord.cli;

import dev.patchcord.control.ConfigException;
import dev.patchcord.control.InterfaceHandover;
import dev.patchcord.control.InterfaceSession;
import dev.patchcord.control.SessionBuilder;
import dev.patchcord.control.WgConfig;
import dev.patchcord.device.Warmup;
import dev.patchcord.lab.Self;
import dev.patchcord.sys.SdNotify;
import dev.patchcord.sys.SysException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/** {@code patchcord up CONFIG|IFNAME}: an encrypted WireGuard interface from a wg-quick style file. */
@Command(name = "up", sortOptions = false,
        description = {
                "Bring up an encrypted WireGuard interface from a wg-quick style configuration.",
                "CONFIG is a file (its name, without .conf, names the interface) or an interface name "
                        + "looked up as /etc/patchcord/IFNAME.conf, then /etc/wireguard/IFNAME.conf. The same "
                        + "file works with wg-quick. Without --foreground patchcord starts in the background "
                        + "once the interface is up; 'patchcord down IFNAME' stops it."},
        footer = {"", "Examples:",
                "  patchcord up wg0               # wg0.conf in /etc/patchcord or /etc/wireguard",
                "  patchcord up -f ./office.conf  # in the foreground, interface 'office'"})
final class UpCommand implements Callable<Integer> {

    @Option(names = {"-f", "--foreground"}, description = "Stay in the foreground (for systemd and scripts).")
    boolean foreground;

    @Option(names = {"-d", "--verbose"}, description = "Print each handshake step (initiation and response sent and received, "
            + "session established, rekey), roaming and drops on standard error.")
    boolean verbose;

    @Option(names = "--no-warm-up", description = "Start without running the packet path on synthetic round trips "
            + "first (they make the first real packets as fast as later ones, and take a few hundred ms of the start; "
            + "PATCHCORD_WARM_UP=0 does the same).")
    boolean noWarmUp;

    /** The environment variable that sets the warm-up's round trips (0: none) where no option says. */
    static final String WARM_UP_VARIABLE = "PATCHCORD_WARM_UP";

    /** Set by a running process for its successor ({@link Restart}): where to receive the interface. */
    @Option(names = "--take-over", hidden = true, paramLabel = "SOCKET")
    Path takeOver;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Parameters(paramLabel = "CONFIG|IFNAME", description = "Configuration file, or interface name.")
    String target;

    @Override
    public Integer call() throws Exception {
        Path file = ConfigFiles.resolve(target);
        String ifname = ConfigFiles.interfaceName(file);
        WgConfig config;
        try {
            config = WgConfig.parse(file);
        } catch (ConfigException e) {
            throw new UserError(e.getMessage());
        }
        WgConfig.permissionWarning(file).ifPresent(w -> System.err.println("patchcord: " + w));
        if (takeOver == null && RunDir.running(ifname).isPresent()) {
            throw new UserError(ifname + " is already up (" + RunDir.pidFile(ifname) + ")");
        }
        return foreground || takeOver != null ? runForeground(config, file, ifname) : startBackground(file, ifname);
    }

    /** Starts this command again with --foreground in a new session, and waits until it is up. */
    private int startBackground(Path file, String ifname) throws IOException, InterruptedException {
        try {
            Files.createDirectories(RunDir.dir());
        } catch (IOException e) {
            // Reported below: an unprivileged user meets it first here.
        }
        if (!Files.isDirectory(RunDir.dir()) || !Files.isWritable(RunDir.dir())) {
            throw new UserError("cannot write in " + RunDir.dir() + " (the background process keeps its pid and log"
                    + " there): use --foreground, or set PATCHCORD_RUN_DIR to a writable directory");
        }
        Path log = RunDir.logFile(ifname);
        List<String> cmd = new ArrayList<>();
        if (new java.io.File("/usr/bin/setsid").canExecute()) {
            cmd.add("/usr/bin/setsid"); // its own session: the terminal's signals no longer reach it
        }
        cmd.addAll(Self.command("up", "--foreground", file.toAbsolutePath().toString()));
        if (verbose) {
            cmd.add("--verbose");
        }
        if (noWarmUp) {
            cmd.add("--no-warm-up");
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            if (RunDir.running(ifname).isPresent()) {
                System.err.println(Files.readString(log).strip());
                System.err.println("patchcord: " + ifname + " is up in the background; log " + log
                        + ", stop it with 'patchcord down " + ifname + "'");
                return 0;
            }
            if (p.waitFor(100, TimeUnit.MILLISECONDS)) {
                System.err.print(Files.readString(log));
                return p.exitValue() == 0 ? 1 : p.exitValue();
            }
        }
        p.destroy();
        throw new UserError(ifname + " did not come up within 30 s; see " + log);
    }

    /** The successor's command line: this one's, taking over from {@code socket}. */
    private List<String> successorArgs(Path socket, Path file) {
        List<String> args = new ArrayList<>(List.of("up", "--foreground", "--take-over", socket.toString()));
        if (verbose) {
            args.add("--verbose");
        }
        if (noWarmUp) {
            args.add("--no-warm-up");
        }
        args.add(file.toAbsolutePath().toString());
        return args;
    }

    /** The warm-up's round trips: {@code PATCHCORD_WARM_UP} if set (0 to 100000), else the default. */
    static int warmUpRoundTrips(String setting) {
        if (setting == null || setting.isBlank()) {
            return Warmup.ROUND_TRIPS;
        }
        try {
            int n = Integer.parseInt(setting.strip());
            if (n >= 0 && n <= 100_000) {
                return n;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new UserError(WARM_UP_VARIABLE + " must be a number of round trips from 0 (none) to 100000, not '"
                + setting + "'");
    }

    private int runForeground(WgConfig config, Path file, String ifname) throws SysException {
        // The JVM would keep a host name's address for 30 s; re-resolution wants a fresher answer.
        java.security.Security.setProperty("networkaddress.cache.ttl", "5");
        java.security.Security.setProperty("networkaddress.cache.negative.ttl", "2");
        PrintStream err = System.err;
        TunnelSession session = new TunnelSession(ifname, err);
        SessionBuilder builder = new SessionBuilder(config, file, ifname, err)
                .debug(verbose ? Journal.debug(err) : null)
                .warmUp(noWarmUp ? 0 : warmUpRoundTrips(System.getenv(WARM_UP_VARIABLE)))
                .socketDir(RunDir.socketDir())
                .beforePreDown(() -> RunDir.removePid(ifname));
        Takeover takeover = null;
        InterfaceSession built;
        if (takeOver != null) {
            // A successor: ready in every other way before the running process pauses for it.
            builder.warmUpFirst().prepare();
            takeover = Takeover.connect(ifname, takeOver, err);
            builder.adopting(takeover.receive());
            try {
                built = builder.build(session);
            } catch (RuntimeException | SysException e) {
                takeover.fail(e.getMessage());
                throw e;
            }
        } else {
            try {
                built = builder.build(session);
            } catch (InterfaceSession.Failure e) {
                throw new UserError(e.getMessage());
            }
        }
        for (Runnable step : built.stopSteps()) {
            session.onStop(() -> {
                try {
                    step.run();
                } catch (InterfaceSession.Failure e) {
                    throw new UserError(e.getMessage());
                }
            });
        }
        if (takeover != null) {
            Takeover t = takeover;
            session.onReady(() -> t.running(built::afterHandover));
        } else {
            session.onReady(() -> {
                RunDir.writePidOrWarn(ifname, err);
                SdNotify.send("READY=1");
            });
        }
        Restart restart = new Restart(ifname, socket -> successorArgs(socket, file), new InterfaceHandover(built),
                built.uapi() != null ? built.uapi()::exclusive : Runnable::run, session.cleanupLock(), session::stopRequested,
                err);
        session.onRestart(restart::requested, restart::arm);
        ConfigReload reload = new ConfigReload(file, config, built.configDevice(), ifname, err, built.meshReload());
        session.onReload(reload);
        if (built.cluster() != null) {
            // Peers the file gains stay this hub's own; only the others go to the cluster's store.
            reload.onNewFile(c -> built.cluster().fileKeys(c.peers().stream()
                    .map(dev.patchcord.control.WgPeerSection::publicKeyBase64).collect(java.util.stream.Collectors.toSet())));
        }
        if (built.uapi() != null) {
            reload.exclusive(built.uapi()::exclusive);
        }
        return session.run(built.tunnel(), built.wakeup(), built.readyMessage());
    }
}
