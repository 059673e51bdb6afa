package dev.patchcord.cli;

import dev.patchcord.control.InterfaceSession;
import dev.patchcord.device.Tunnel;
import dev.patchcord.sys.Wakeup;

import java.io.PrintStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The life of a running tunnel process: start the loops, report readiness, wait for SIGINT,
 * SIGTERM or SIGHUP (or a fatal loop error), then stop the loops and run the clean-up steps in
 * order. SIGUSR1 prints the counters without stopping. With a reload action, SIGHUP runs it
 * instead of stopping, as daemons do. With a restart action, SIGUSR2 runs it (a hand-over to a
 * successor process, {@link Restart}).
 */
final class TunnelSession implements InterfaceSession.Stop {
    private final String label;
    private final PrintStream err;
    private final CountDownLatch stop = new CountDownLatch(1);
    private final List<Runnable> cleanups = new ArrayList<>();

    TunnelSession(String label, PrintStream err) {
        this.label = label;
        this.err = err;
    }

    private Runnable onReady = () -> { };
    private Runnable onReload;
    private Runnable onRestart;
    /**
     * Held while the clean-up steps run, and by a hand-over from its first step to its outcome: a
     * stop asked for meanwhile waits, and never runs once the successor has the interface.
     */
    private final java.util.concurrent.locks.Lock cleanupLock = new java.util.concurrent.locks.ReentrantLock();

    /**
     * Makes SIGUSR2 run {@code action} (a hand-over to a successor process); {@code arm} runs once
     * the process is up, from when on the action may go ahead (before, it says it cannot yet).
     */
    void onRestart(Runnable action, Runnable arm) {
        onRestart = action;
        onRestartArmed = arm;
    }

    private Runnable onRestartArmed = () -> { };

    /** The lock the clean-up steps take; see {@link #cleanupLock}. */
    java.util.concurrent.locks.Lock cleanupLock() {
        return cleanupLock;
    }

    /** Makes SIGHUP run {@code action} (e.g. reload the peers file) instead of stopping. */
    void onReload(Runnable action) {
        onReload = action;
    }

    private volatile boolean ready;

    /** Whether the tunnel has said it is ready (later events are news, earlier ones part of the start). */
    boolean ready() {
        return ready;
    }

    /** Whether a stop was asked for (by a signal, a failure or {@link #requestStop()}). */
    @Override
    public boolean stopRequested() {
        return stop.getCount() == 0;
    }

    /** Stops the tunnel as a signal would (e.g. when its configuration socket is deleted). */
    @Override
    public void requestStop() {
        stop.countDown();
    }

    /** Runs once the tunnel is carrying packets (e.g. to write a pid file). */
    void onReady(Runnable action) {
        onReady = action;
    }

    /** Adds a clean-up step; steps run in reverse order of registration. */
    void onStop(Runnable cleanup) {
        cleanups.add(0, cleanup);
    }

    /**
     * Runs {@code tunnel} until a stop signal.
     *
     * @return the process exit code: 0 after a signal, 1 after a fatal error
     */
    int run(Tunnel tunnel, Wakeup wakeup, String readyMessage) {
        for (String name : List.of("INT", "TERM")) {
            Signals.on(name, stop::countDown);
        }
        Runnable reload = onReload;
        Signals.on("HUP", reload == null ? stop::countDown : () -> Thread.ofVirtual().name("reload").start(reload));
        Signals.on("USR1", () -> err.println("patchcord: " + label + ": " + tunnel.summary()));
        tunnel.onFailure(stop::countDown);
        tunnel.start();
        err.println("patchcord: " + label + ": " + readyMessage + " (ready " + sinceStart() + " ms after start)");
        Runnable restart = onRestart;
        if (restart != null) {
            Signals.on("USR2", restart);
        }
        ready = true;
        onReady.run();
        // Only now may a restart begin: a successor still taking over (onReady) must not start one.
        onRestartArmed.run();
        try {
            stop.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        wakeup.signal();
        try {
            tunnel.awaitStopped(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        cleanupLock.lock(); // a hand-over in progress ends first (and if it succeeded, this process with it)
        int code = 0;
        Throwable failure = tunnel.failure();
        if (failure != null) {
            err.println(Journal.prefix(Journal.ERROR) + "patchcord: " + label + ": " + Main.describe(failure));
            code = 1;
        }
        for (Runnable c : cleanups) {
            try {
                c.run();
            } catch (UserError e) {
                err.println(Journal.prefix(Journal.ERROR) + "patchcord: " + label + ": " + e.getMessage());
                code = 1;
            }
        }
        err.println("patchcord: " + label + ": stopped; " + tunnel.summary());
        return code;
    }

    /**
     * Milliseconds since this process started (10 ms resolution), for the readiness line. Both
     * numbers are read relative to boot; {@code ProcessHandle.startInstant} is anchored to the boot
     * time in whole seconds and can be off by up to a second.
     */
    static long sinceStart() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            // Field 22 (starttime, clock ticks since boot) counts from after the ")" that ends field 2.
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long startTicks = Long.parseLong(fields[19]);
            double uptime = Double.parseDouble(Files.readString(Path.of("/proc/uptime")).split(" ")[0]);
            return Math.round(uptime * 1000 - startTicks * 10.0); // USER_HZ is 100 on Linux
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
