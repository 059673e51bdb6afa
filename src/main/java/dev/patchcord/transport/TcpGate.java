package dev.patchcord.transport;

import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;

import java.io.UncheckedIOException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The suspension gate of a {@link TcpTransport}: whether it runs, is suspended for a hand-over,
 * was handed over ({@link #abandoned()}) or is closed, and the {@link Wakeup} that stops its
 * readers and its acceptor in their system calls.
 *
 * <p><b>Concurrency.</b> The gate object itself is the lock: the state changes under it, and a
 * thread that waits out a suspension waits on it ({@link #awaitRunning()}); whoever changes what a
 * suspension waits for (a reader or the acceptor holding or ending) calls {@code notifyAll()} on
 * it. The flags are volatile so that the loops may read them without the lock. The wake-up is
 * replaced after each {@link #resume()}; a thread that may wait on it counts itself in with
 * {@link #entered()} and out with {@link #left()}, so that it is closed only by the last one once
 * the transport is closed (its descriptor number could belong to another socket by then).
 */
final class TcpGate {
    /**
     * Fires to stop the readers and the acceptor (a suspension, or the end); a new one after each
     * {@link #resume()}. Closed by the last thread that may wait on it once the transport is closed.
     */
    private volatile Wakeup pause;
    /** Threads that may wait on {@link #pause}. */
    private final AtomicInteger pollers = new AtomicInteger();
    private final AtomicBoolean pauseClosed = new AtomicBoolean();
    private volatile boolean paused;
    private volatile boolean abandoned;
    private volatile boolean closed;

    /** Makes the first wake-up, before any thread runs ({@code start} or {@code adopt}). */
    void open() throws SysException {
        pause = new Wakeup();
    }

    /** The wake-up that stops the readers and the acceptor now (a new one after a resumption). */
    Wakeup pause() {
        return pause;
    }

    boolean paused() {
        return paused;
    }

    boolean abandoned() {
        return abandoned;
    }

    boolean closed() {
        return closed;
    }

    /** Waits (under the gate) while suspended; false if the transport ended or was handed over. */
    boolean awaitRunning() {
        synchronized (this) {
            while (paused && !closed && !abandoned) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    return false;
                }
            }
            return !closed && !abandoned;
        }
    }

    /**
     * Begins a suspension: from now on the threads hold once the wake-up fires.
     *
     * @throws IllegalStateException if the transport is closed or suspended already
     */
    synchronized void suspend() {
        if (closed || abandoned || paused) {
            throw new IllegalStateException(paused ? "TCP transport already suspended" : "TCP transport closed");
        }
        paused = true;
    }

    /** @throws IllegalStateException unless suspended (and neither handed over nor closed) */
    synchronized void checkSuspended() {
        if (!paused || abandoned || closed) {
            throw new IllegalStateException("TCP transport not suspended");
        }
    }

    /**
     * Ends a suspension: a fresh wake-up, then every held thread runs again. The old wake-up stays
     * signalled until it is closed, so it must be replaced before anyone runs; every thread that
     * waited on it waits on the gate instead by then, so closing it cannot pull it from under one.
     */
    void resume() {
        Wakeup fresh;
        try {
            fresh = new Wakeup();
        } catch (SysException e) {
            throw new UncheckedIOException(e);
        }
        Wakeup old;
        synchronized (this) {
            old = pause;
            pause = fresh;
            paused = false;
            notifyAll();
        }
        if (old != null) {
            old.close();
        }
    }

    /**
     * Marks the transport handed over (it stays suspended, and every held thread ends).
     *
     * @return false if it was handed over or closed already
     */
    synchronized boolean abandon() {
        if (closed || abandoned) {
            return false;
        }
        abandoned = true;
        paused = true;
        notifyAll();
        return true;
    }

    /**
     * Marks the transport closed (every held thread ends).
     *
     * @return false if it was closed already
     */
    synchronized boolean close() {
        if (closed) {
            return false;
        }
        closed = true;
        notifyAll();
        return true;
    }

    /** A thread that may wait on {@link #pause()} starts. */
    void entered() {
        pollers.incrementAndGet();
    }

    /** A thread that may wait on {@link #pause()} ends: the last one after close() closes it. */
    void left() {
        if (pollers.decrementAndGet() == 0 && closed) {
            closePause();
        }
    }

    /**
     * Fires the wake-up, counted as one of its users so that it cannot be closed under the write
     * (its number could belong to another descriptor by then).
     */
    void signal() {
        pollers.incrementAndGet();
        try {
            Wakeup w = pause;
            if (w != null && !pauseClosed.get()) {
                w.signal();
            }
        } finally {
            left();
        }
    }

    /** After close(): closes the wake-up now if no thread may wait on it (else the last one does). */
    void closeIfIdle() {
        if (pollers.get() == 0) {
            closePause();
        }
    }

    private void closePause() {
        Wakeup w = pause;
        if (w != null && pauseClosed.compareAndSet(false, true)) {
            w.close();
        }
    }
}
