package dev.patchcord.transport;

import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * The server side of a {@link TcpTransport}: accepts connections on its listening socket, admits
 * them through its {@link TcpAdmission} (few and short-lived until they carry an authenticated
 * message, closed once their peer stops using them), starts a reader for each
 * ({@link TcpConn#read}), sweeps out the expired ones once a second, and reports refusals and
 * closings on the verbose stream at most every {@link #REPORT_NANOS}.
 *
 * <p><b>Concurrency.</b> Accepting runs on one platform thread (it blocks in {@code poll}), the
 * sweep on a virtual one. A new connection is registered before the acceptor can hold, so a
 * suspension sees it. When the transport's {@link TcpGate} wake-up fires during a suspension the
 * acceptor waits on the gate with {@link #held} set (under the gate); {@link #stopped()} tells a
 * suspension whether it did. The sweep closes nothing while suspended: those connections may be
 * handed on. {@link #report()} is synchronized on this object.
 */
final class TcpAcceptor {
    /** A flood of connections is reported, not each connection of it. */
    private static final long REPORT_NANOS = 10_000_000_000L;

    private final TcpTransport owner;
    private final StreamSocket server;
    private final TcpAdmission admission;
    private final TcpGate gate;
    private volatile Thread thread;
    /** The acceptor waits out the suspension (under the gate). */
    private boolean held;
    private String reported = "";
    private long lastReport = Long.MIN_VALUE;

    TcpAcceptor(TcpTransport owner, StreamSocket server) {
        this.owner = owner;
        this.server = server;
        this.admission = owner.admission;
        this.gate = owner.gate;
    }

    /** Starts accepting and sweeping; returns both threads, for the transport to interrupt. */
    Thread[] start() {
        thread = TcpTransport.platform("tcp-accept", this::acceptLoop);
        return new Thread[] {thread, Thread.ofVirtual().name("tcp-sweep").start(this::sweepLoop)};
    }

    /** Whether the acceptor waits out the suspension or has ended (under the gate). */
    boolean stopped() {
        Thread t = thread;
        return t == null || held || !t.isAlive();
    }

    private void acceptLoop() {
        gate.entered();
        try {
            while (!gate.closed()) {
                StreamSocket s;
                try {
                    s = server.accept(gate.pause());
                } catch (IOException e) {
                    if (!gate.closed()) {
                        owner.log("accepting TCP: " + e.getMessage());
                        TcpTransport.sleep(100); // out of file descriptors and the like: do not spin
                    }
                    continue;
                }
                if (s == null) {
                    if (!hold()) {
                        return;
                    }
                    continue;
                }
                admit(s);
            }
        } finally {
            synchronized (gate) {
                gate.notifyAll(); // a suspension waits for the acceptor no longer
            }
            gate.left();
        }
    }

    private void admit(StreamSocket s) {
        TcpAdmission.Slot slot = null;
        try {
            InetSocketAddress from = s.remote();
            slot = from != null ? admission.admit(from.getAddress(), System.nanoTime(), s::close) : null;
            if (slot == null) {
                s.close();
                report();
                return;
            }
            TcpConn c = new TcpConn(new TcpLink(s), slot, null, System.nanoTime(), null);
            owner.conns.add(c); // before the acceptor can hold: a suspension sees it
            TcpTransport.platform("tcp-read", () -> c.read(owner));
        } catch (IOException e) {
            // Reset before it could be set up: nothing to keep.
            if (slot != null) {
                admission.closed(slot);
            }
            s.close();
        }
    }

    /** Waits out a suspension; false if the acceptor is to end. */
    private boolean hold() {
        synchronized (gate) {
            held = true;
            gate.notifyAll();
            try {
                return gate.awaitRunning();
            } finally {
                held = false;
            }
        }
    }

    /** Closes connections that did not authenticate in time or went idle, once a second. */
    private void sweepLoop() {
        while (!gate.closed() && !gate.abandoned() && TcpTransport.sleep(1_000)) {
            synchronized (gate) {
                if (!gate.paused()) { // a suspended transport closes nothing: its connections may be handed on
                    admission.sweep(System.nanoTime());
                }
            }
            report();
        }
    }

    /** Says what the admission refused or closed since the last report, at most every REPORT_NANOS. */
    private synchronized void report() {
        long now = System.nanoTime();
        if (lastReport != Long.MIN_VALUE && now - lastReport < REPORT_NANOS) {
            return;
        }
        String summary = admission.summary();
        if (!summary.equals(reported)) {
            reported = summary;
            lastReport = now;
            owner.log("TCP connections refused or closed so far: " + summary + "; " + admission.open() + " open, "
                    + admission.unauthenticated() + " not yet authenticated");
        }
    }
}
