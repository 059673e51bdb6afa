package dev.patchcord.device;

import dev.patchcord.core.Counters;
import dev.patchcord.sys.Wakeup;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The loops of a tunnel that one call, {@link #shutdown}, ends from any thread: it raises the
 * stopping flag (so that errors caused by closing are not failures), wakes every timed wait on the
 * stop signal, and closes what the loops block on. The stop-watch loop calls it when the process
 * is told to stop. The simplevpn client and hub are built this way: their loops block on sockets
 * and sleep between retries and checks, so closing the device alone would not end them.
 */
abstract class StoppableLoops extends Loops {
    /** What {@link #summary} reports. */
    protected final Counters counters;
    private final CountDownLatch stopSignal = new CountDownLatch(1);
    private volatile boolean stopping;

    protected StoppableLoops(Counters counters) {
        this.counters = counters;
    }

    /**
     * Declares the stop-watch loop, which calls {@link #shutdown} once {@code wakeup} fires; call
     * from the constructor after the other loops.
     */
    protected final void stopOn(Wakeup wakeup) {
        loop("stop-watch", () -> {
            WakeupWatch.await(wakeup);
            shutdown();
        });
    }

    @Override
    protected final boolean stopping() {
        return stopping;
    }

    @Override
    public final String summary() {
        return counters.summary();
    }

    public final Counters counters() {
        return counters;
    }

    /** Ends every loop (also usable before {@link #start}); see {@link #closeAll} for what closes. */
    public final void shutdown() {
        stopping = true;
        stopSignal.countDown();
        closeAll();
    }

    /** Closes what the loops block on, once {@link #stopping} is true, so that they return. */
    protected abstract void closeAll();

    /**
     * Waits {@code nanos}, or less if {@link #shutdown} is called.
     *
     * @return whether it was
     */
    protected final boolean awaitStop(long nanos) throws InterruptedException {
        return stopSignal.await(nanos, TimeUnit.NANOSECONDS);
    }

    /** As {@link #awaitStop}, for a thread that has no use for an interrupt but to stop. */
    protected final void sleepUnlessStopped(long nanos) {
        try {
            stopSignal.await(nanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopping = true;
        }
    }
}
