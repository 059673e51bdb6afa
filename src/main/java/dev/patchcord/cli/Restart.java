package dev.patchcord.cli;

import dev.patchcord.control.Handover;
import dev.patchcord.control.handover.HandoverLink;
import dev.patchcord.lab.Self;
import dev.patchcord.sys.SdNotify;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.UnixSocket;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The running process's side of {@code patchcord restart} (SIGUSR2), in the numbered steps of
 * its flow:
 *
 * <ol>
 *   <li>listen on {@code RUN_DIR/IFNAME.handover} (0600) and start the successor from the
 *       program installed now, with the same configuration and options;</li>
 *   <li>accept its connection (its pid checked with {@code SO_PEERCRED}) and wait for its
 *       {@code HELLO}: it has read the configuration and warmed up, while this process carried
 *       the traffic all along;</li>
 *   <li>under the configuration socket's lock, stop the loops and send the snapshot with the
 *       descriptors ({@link Handover#pause});</li>
 *   <li>on {@code RUNNING}: tell systemd the new main pid, wipe the keys, say {@code BYE} and exit
 *       at once, without the clean-up steps (the interface and the sockets are the successor's);</li>
 *   <li>on anything else (a failure it reports, its exit, a timeout): resume the loops, end the
 *       successor (SIGKILL: it must not run clean-up steps on an interface that is not its own)
 *       and say why.</li>
 * </ol>
 *
 * Every step is one line in the log; the outcome also goes to {@code RUN_DIR/IFNAME.restart},
 * where {@code patchcord restart} waits for it.
 */
final class Restart {
    /** The successor's start, configuration and warm-up: a JVM on a busy machine. */
    static final long HELLO_MILLIS = 60_000;
    /** From the snapshot to its loops running: an adopted interface needs no handshake. */
    static final long RUNNING_MILLIS = 30_000;

    private final String ifname;
    private final Function<Path, List<String>> successorArgs;
    private final Handover handover;
    private final Consumer<Runnable> exclusive;
    private final Lock cleanups;
    private final BooleanSupplier stopRequested;
    private final PrintStream err;
    private boolean running;

    /**
     * @param successorArgs the successor's command line after the program, given the hand-over
     *                      socket (for {@code up}: {@code up --foreground --take-over SOCKET}, the
     *                      options it was started with, and the file)
     * @param exclusive runs its argument under the configuration socket's lock
     * @param cleanups  held by the process's clean-up steps: a stop asked for during the hand-over
     *                  waits for its outcome (after a commit, the steps must never run here)
     * @param stopRequested whether this process was asked to stop: a hand-over then gives up
     *                      rather than leave a successor running what was to be stopped
     */
    Restart(String ifname, Function<Path, List<String>> successorArgs, Handover handover, Consumer<Runnable> exclusive,
            Lock cleanups, BooleanSupplier stopRequested, PrintStream err) {
        this.ifname = ifname;
        this.successorArgs = successorArgs;
        this.handover = handover;
        this.exclusive = exclusive;
        this.cleanups = cleanups;
        this.stopRequested = stopRequested;
        this.err = err;
    }

    static Path socketPath(String ifname) {
        return RunDir.dir().resolve(ifname + ".handover");
    }

    static Path resultPath(String ifname) {
        return RunDir.dir().resolve(ifname + ".restart");
    }

    /** Set once the process is up (a successor: once it has taken over): restarts may begin. */
    private volatile boolean armed;

    /** Lets restarts begin; see {@link #armed}. */
    void arm() {
        armed = true;
    }

    /** Starts a hand-over on a thread of its own, unless one is running; for the signal handler. */
    synchronized void requested() {
        if (!armed) {
            failed("the process is still starting or taking over; ask again once it is up");
            return;
        }
        if (running) {
            say("a restart is already in progress");
            return;
        }
        running = true;
        Thread.ofPlatform().name("restart").start(() -> {
            try {
                run();
            } finally {
                synchronized (this) {
                    running = false;
                }
            }
        });
    }

    private void run() {
        String refusal = handover.refusal();
        if (refusal != null) {
            failed(refusal);
            return;
        }
        SdNotify.send("RELOADING=1\nMONOTONIC_USEC=" + System.nanoTime() / 1000);
        Path socket = socketPath(ifname);
        Process successor = null;
        try (UnixSocket listener = listen(socket)) {
            successor = start(socket);
            say("restart: successor pid " + successor.pid() + " started from " + String.join(" ", Self.command()));
            try (HandoverLink link = connect(listener, successor)) {
                link.expect(HandoverLink.Kind.HELLO, HELLO_MILLIS);
                say("restart: successor ready for the hand-over; stopping the packet loops");
                handOver(link, successor);
            }
        } catch (IOException | RuntimeException e) {
            if (successor != null) {
                stop(successor);
            }
            failed(e.getMessage());
        }
    }

    private static UnixSocket listen(Path socket) throws IOException {
        try {
            Files.deleteIfExists(socket); // a crashed restart's; the run directory is this user's
            return UnixSocket.listen(socket);
        } catch (SysException e) {
            throw new IOException("cannot listen on " + socket + ": " + e.getMessage());
        }
    }

    private Process start(Path socket) throws IOException {
        List<String> cmd = new ArrayList<>(Self.command());
        cmd.addAll(successorArgs.apply(socket));
        // The successor writes where this process writes (the log file, or systemd's journal).
        return new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.INHERIT).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    /** Accepts the successor's connection, giving up early if it exits. */
    private static HandoverLink connect(UnixSocket listener, Process successor) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(HELLO_MILLIS);
        while (System.nanoTime() < deadline) {
            if (!successor.isAlive()) {
                throw new IOException("the successor exited with status " + successor.exitValue()
                        + " before it connected (its reason is in the log above)");
            }
            try {
                return HandoverLink.accept(listener, successor.pid(), 500);
            } catch (IOException e) {
                if (!e.getMessage().contains("did not connect")) {
                    throw e;
                }
            }
        }
        throw new IOException("the successor did not connect within " + HELLO_MILLIS / 1000 + " s");
    }

    /** Steps 3 to 5, under the configuration socket's lock and the clean-up steps' lock. */
    private void handOver(HandoverLink link, Process successor) throws IOException {
        IOException[] failure = {null};
        cleanups.lock();
        try {
            exclusive.accept(() -> failure[0] = step3to5(link, successor));
        } finally {
            cleanups.unlock();
        }
        if (failure[0] != null) {
            throw failure[0];
        }
    }

    /** The outcome of steps 3 to 5, decided once: by the commit, or by the watchdog or a failure. */
    private enum Outcome { WAITING, COMMITTING, ABANDONED }

    /** Steps 3 to 5; null once committed (never, in fact: the process halts), or why it failed. */
    private IOException step3to5(HandoverLink link, Process successor) {
        if (stopRequested.getAsBoolean()) {
            return new IOException("a stop was asked for");
        }
        Handover.Outgoing out;
        try {
            out = handover.pause(); // resumes by itself if it fails
        } catch (IOException | RuntimeException e) {
            return e instanceof IOException io ? io : new IOException(String.valueOf(e.getMessage()), e);
        }
        long paused = System.nanoTime();
        AtomicReference<Outcome> outcome = new AtomicReference<>(Outcome.WAITING);
        // A successor that stops reading would hold this process in a send with its loops
        // stopped: past the time the steps may take (from the pause on), it is ended, which ends
        // the send, unless the commit has begun.
        Thread watchdog = Thread.ofVirtual().name("restart-watchdog").start(() -> {
            try {
                Thread.sleep(RUNNING_MILLIS + 5_000);
                if (outcome.compareAndSet(Outcome.WAITING, Outcome.ABANDONED)) {
                    say("restart: the successor did not finish within " + (RUNNING_MILLIS + 5_000) / 1000
                            + " s; ending it");
                    successor.destroyForcibly();
                }
            } catch (InterruptedException e) {
                // The outcome was decided.
            }
        });
        boolean stateSent = false;
        try {
            byte[] bytes = out.snapshot().toBytes();
            if (bytes.length + 1 > UnixSocket.MAX_MESSAGE) {
                throw new IOException("the snapshot is " + bytes.length / (1 << 20) + " MiB, more than a hand-over carries ("
                        + UnixSocket.MAX_MESSAGE / (1 << 20) + " MiB)");
            }
            try {
                stateSent = true; // from here the successor may hold the sessions, even if the send fails
                link.sendState(bytes, out.fds());
            } finally {
                java.util.Arrays.fill(bytes, (byte) 0);
                out.snapshot().wipe(); // copies: the node keeps its own until the commit
            }
            say("restart: sent the interface, " + out.fds().length + " descriptors and "
                    + out.snapshot().sessions().size() + " peers' sessions");
            link.expect(HandoverLink.Kind.RUNNING, RUNNING_MILLIS);
            if (stopRequested.getAsBoolean()) {
                throw new IOException("a stop was asked for during the hand-over");
            }
            if (!outcome.compareAndSet(Outcome.WAITING, Outcome.COMMITTING)) {
                throw new IOException("the successor was ended for taking too long");
            }
        } catch (Throwable e) { // anything at all: this process must carry on
            outcome.set(Outcome.ABANDONED);
            watchdog.interrupt();
            // First the successor goes, then this process reads again: never both at once.
            stop(successor);
            try {
                handover.resume(stateSent);
            } catch (RuntimeException r) {
                e.addSuppressed(r);
            }
            return e instanceof IOException io ? io : new IOException(e.toString(), e);
        }
        watchdog.interrupt();
        commit(link, successor, (System.nanoTime() - paused) / 1_000_000);
        return null;
    }

    /** Ends a successor that failed, without its clean-up steps, and waits for it to be gone. */
    private static void stop(Process successor) {
        successor.destroyForcibly();
        try {
            successor.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The successor runs the interface: this process leaves no trace and does not come back. */
    private void commit(HandoverLink link, Process successor, long pausedMillis) {
        SdNotify.send("MAINPID=" + successor.pid());
        handover.wipe();
        try {
            Files.deleteIfExists(socketPath(ifname)); // the listener's name: this process will not close it
        } catch (IOException e) {
            // A stale name is removed by the next restart before it listens.
        }
        writeResult("ok " + successor.pid());
        say("restart: pid " + successor.pid() + " carries " + ifname + " now (the packet loops paused " + pausedMillis
                + " ms); keys wiped; exiting");
        err.flush();
        try {
            link.send(HandoverLink.Kind.BYE, "");
        } catch (IOException e) {
            // It may have gone on already; either way this process must not stay.
        }
        // No clean-up step, no shutdown hook: they would take down what the successor runs now.
        Runtime.getRuntime().halt(0);
    }

    private void failed(String why) {
        say("restart failed, this process carries on: " + why);
        writeResult("failed " + why);
        SdNotify.send("READY=1");
    }

    private void writeResult(String line) {
        try {
            Path tmp = RunDir.dir().resolve(ifname + ".restart.tmp");
            Files.writeString(tmp, line + "\n");
            Files.move(tmp, resultPath(ifname), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            say("cannot write " + resultPath(ifname) + ": " + e.getMessage());
        }
    }

    private void say(String line) {
        err.println("patchcord: " + ifname + ": " + line);
    }
}
