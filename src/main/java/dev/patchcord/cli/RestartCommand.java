package dev.patchcord.cli;

import dev.patchcord.sys.Libc;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code patchcord restart IFNAME}: asks the running process (SIGUSR2) to hand its interface,
 * sockets and sessions to a successor started from the program installed now, and waits for the
 * outcome ({@link Restart} writes it to {@code RUN_DIR/IFNAME.restart}).
 */
@Command(name = "restart", sortOptions = false,
        description = {
                "Restart a running interface without dropping a tunnel: a new process, started from the program "
                        + "installed now and the same configuration file, takes over the interface, its sockets and "
                        + "its sessions; peers see no new handshake. If the new process fails, the running one carries "
                        + "on and this command says why. The same as SIGUSR2 to the process; systemd's "
                        + "'systemctl reload patchcord@IFNAME' runs it.",
                "The plain modes on an interface (tinyvpn, tap2tap, udptun) restart the same way, with the same "
                        + "command line: the new process takes over the interface and the UDP socket."},
        footer = {"", "Examples:",
                "  patchcord restart wg0     # after an upgrade: the new program, no drop"})
final class RestartCommand implements Callable<Integer> {
    /** SIGUSR2 on Linux. */
    static final int SIGUSR2 = 12;
    /** A successor's JVM start, configuration and warm-up on a loaded machine, and the hand-over itself. */
    static final long WAIT_MILLIS = 120_000;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Parameters(paramLabel = "IFNAME", description = "The interface, as given to 'patchcord up' (or made by a plain mode).")
    String ifname;

    @Override
    public Integer call() throws IOException, InterruptedException {
        ProcessHandle process = RunDir.running(ifname).orElseThrow(
                () -> new UserError(ifname + " is not up (no running process in " + RunDir.pidFile(ifname) + ")"));
        Path result = Restart.resultPath(ifname);
        Files.deleteIfExists(result);
        int r = Libc.kill(process.pid(), SIGUSR2);
        if (r < 0) {
            throw new UserError("cannot signal pid " + process.pid() + ": " + Libc.strerror(-r));
        }
        long deadline = System.nanoTime() + WAIT_MILLIS * 1_000_000;
        Optional<String> outcome = Optional.empty();
        while (System.nanoTime() < deadline && (outcome = read(result)).isEmpty()) {
            if (!process.isAlive()) {
                // It may have written its outcome just before it exited.
                outcome = read(result);
                if (outcome.isEmpty()) {
                    throw new UserError(ifname + ": the running process (pid " + process.pid()
                            + ") exited without a hand-over; see its log");
                }
                break;
            }
            Thread.sleep(50);
        }
        String line = outcome.orElseThrow(() -> new UserError(ifname + ": no outcome within " + WAIT_MILLIS / 1000
                + " s; see the log of pid " + process.pid()));
        Files.deleteIfExists(result);
        if (line.startsWith("failed ")) {
            throw new UserError(ifname + ": restart failed, pid " + process.pid() + " carries on: " + line.substring(7));
        }
        String successor = line.substring(line.indexOf(' ') + 1);
        // The successor writes the pid file once the old process has gone; a moment at most.
        long named = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < named && !pidFileNames(successor)) {
            Thread.sleep(20);
        }
        System.err.println("patchcord: " + ifname + ": restarted without a drop: pid " + process.pid() + " handed over to pid "
                + successor);
        return 0;
    }

    private boolean pidFileNames(String pid) {
        try {
            return Files.readString(RunDir.pidFile(ifname)).strip().equals(pid);
        } catch (IOException e) {
            return false;
        }
    }

    private static Optional<String> read(Path result) {
        try {
            String s = Files.readString(result).strip();
            return s.isEmpty() ? Optional.empty() : Optional.of(s);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
