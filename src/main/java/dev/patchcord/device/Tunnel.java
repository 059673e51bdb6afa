package dev.patchcord.device;

import java.util.concurrent.TimeUnit;

/** A running tunnel as the process sees it: loops to start and stop, and counters to report. */
public interface Tunnel {
    /** Called (from a loop thread) when a loop ends with a fatal error. Set before {@link #start}. */
    void onFailure(Runnable listener);

    void start();

    /** Waits until every loop has ended, or the timeout passes. */
    boolean awaitStopped(long timeout, TimeUnit unit) throws InterruptedException;

    /** A loop's fatal error, if one ended it. */
    Throwable failure();

    /** The counters on one line (see {@link dev.patchcord.core.Counters#summary()}). */
    String summary();
}
