package dev.patchcord.cli;

import dev.patchcord.control.Adoption;
import dev.patchcord.control.handover.HandoverLink;
import dev.patchcord.control.handover.HandoverSnapshot;
import dev.patchcord.sys.SdNotify;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The successor's side of {@code patchcord restart}: it connects to the running process, says
 * {@code HELLO} once configured and warmed up, receives the snapshot and the descriptors
 * ({@link #receive}), and once its own loops run ({@link #running}) says {@code RUNNING}, waits for
 * {@code BYE} and the running process's exit, and only then takes the public names: the
 * configuration socket, the pid file, the metrics port, and systemd's main pid.
 *
 * <p>Until then it owns nothing it may undo: whatever fails ends this process at once
 * ({@link #fail}), without a clean-up step, since the interface, its addresses, routes and DNS
 * are still the running process's.
 */
final class Takeover {
    /** The running process stops its loops and sends at once; this covers a loaded machine. */
    static final long STATE_MILLIS = 30_000;
    /** From RUNNING to BYE, and from BYE to the running process's exit: it only wipes its keys. */
    static final long BYE_MILLIS = 10_000;

    /** The interface: as the command line named it, until {@link #interfaceIs} says what it is. */
    private volatile String ifname;
    private final HandoverLink link;
    private final PrintStream err;
    /** When the snapshot arrived (System.nanoTime): the running process's loops stand still from then. */
    private long received;

    private Takeover(String ifname, HandoverLink link, PrintStream err) {
        this.ifname = ifname;
        this.link = link;
        this.err = err;
    }

    /** Connects to the running process (whose pid must be this process's parent's) and says HELLO. */
    static Takeover connect(String ifname, Path socket, PrintStream err) {
        try {
            HandoverLink link = HandoverLink.connect(socket);
            link.send(HandoverLink.Kind.HELLO, Long.toString(ProcessHandle.current().pid()));
            return new Takeover(ifname, link, err);
        } catch (IOException e) {
            err.println("patchcord: " + ifname + ": restart: " + e.getMessage());
            Runtime.getRuntime().halt(1);
            throw new AssertionError("unreachable");
        }
    }

    /** Receives the snapshot and every descriptor beside it. */
    Adoption receive() {
        int[] fds = new int[0];
        try {
            HandoverLink.Message state = link.expect(HandoverLink.Kind.STATE, STATE_MILLIS);
            received = System.nanoTime();
            fds = state.fds();
            HandoverSnapshot snapshot;
            try {
                snapshot = HandoverSnapshot.fromBytes(state.payload());
            } finally {
                Arrays.fill(state.payload(), (byte) 0);
            }
            while (fds.length < snapshot.roles().size()) {
                HandoverLink.Message more = link.expect(HandoverLink.Kind.FDS, STATE_MILLIS);
                int[] all = Arrays.copyOf(fds, fds.length + more.fds().length);
                System.arraycopy(more.fds(), 0, all, fds.length, more.fds().length);
                fds = all;
            }
            say("restart: received the interface, " + fds.length + " descriptors and " + snapshot.sessions().size()
                    + " peers' sessions (hand-over " + (snapshot.handovers() + 1) + ")");
            return new Adoption(snapshot, fds);
        } catch (IOException | RuntimeException e) {
            HandoverLink.closeAll(fds);
            fail(e.getMessage());
            throw new AssertionError("unreachable");
        }
    }

    /**
     * Names the interface this process received, where the command line let the kernel pick one
     * ({@code tun%d}): the log and the pid file are that interface's.
     */
    void interfaceIs(String name) {
        ifname = name;
    }

    /**
     * The loops run: tells the running process, waits for it to go, then takes the names
     * ({@code afterHandover}: the configuration socket, the metrics port), the pid file and
     * systemd's main pid. On any failure this process ends (the running process resumes, or has
     * already SIGKILLed it).
     */
    void running(Runnable afterHandover) {
        boolean gone = false;
        try {
            link.send(HandoverLink.Kind.RUNNING, "");
            say("restart: loops running " + (System.nanoTime() - received) / 1_000_000 + " ms after the state arrived");
            HandoverLink.Message bye = link.receive(BYE_MILLIS);
            if (bye.kind() != HandoverLink.Kind.BYE) {
                throw new IOException(bye.kind() + " where BYE was due");
            }
        } catch (dev.patchcord.sys.SysException e) {
            if (e.errno() == dev.patchcord.sys.Linux.ETIMEDOUT) {
                // Without BYE the running process may still run the interface: two processes must never.
                fail("no go-ahead from the running process (" + e.getMessage() + ")");
            }
            // Its end closed: it has gone (it ends a failed successor first, so this is not that),
            // and nobody else runs the interface now.
            say("restart: the running process ended without its BYE; this process carries on");
            gone = true;
        } catch (IOException e) {
            fail("no go-ahead from the running process (" + e.getMessage() + ")");
        }
        if (!gone && !link.awaitClosed(BYE_MILLIS)) {
            // After its BYE it has wiped its keys and only exits: this process carries on either way.
            say("restart: the running process has not exited " + BYE_MILLIS / 1000 + " s after its BYE; carrying on");
        }
        link.close();
        afterHandover.run();
        RunDir.writePidOrWarn(ifname, err);
        SdNotify.send("MAINPID=" + ProcessHandle.current().pid() + "\nREADY=1");
        say("restart: done; this process (pid " + ProcessHandle.current().pid() + ") carries the interface");
    }

    /** Says why, tells the running process (which resumes), and ends without any clean-up step. */
    void fail(String why) {
        say("restart failed (the running process carries on): " + why);
        try {
            link.send(HandoverLink.Kind.FAILED, why == null ? "the successor failed" : why);
        } catch (IOException e) {
            // It will see the connection close instead.
        }
        err.flush();
        Runtime.getRuntime().halt(1);
    }

    private void say(String line) {
        err.println("patchcord: " + ifname + ": " + line);
    }
}
