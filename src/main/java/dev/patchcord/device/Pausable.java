package dev.patchcord.device;

/**
 * A tunnel whose packet loops can stop for a while and start again, for a hand-over to another
 * process ({@code patchcord restart}): they wait on a {@link dev.patchcord.sys.Wakeup#child() child}
 * wake-up of the session's, so that stopping them leaves the session running, and the session's
 * own signal (a shutdown) still ends them for good.
 */
public interface Pausable {

    /**
     * Stops the packet loops: each returns at its next wait, between packets or batches, so that
     * nothing is half-sent, and what the kernel still queues (the interface's queue, the socket's
     * buffer) stays there for whoever reads next.
     *
     * @return whether every loop returned within {@code millis}
     */
    boolean pause(long millis) throws InterruptedException;

    /** Starts the loops again after {@link #pause} (the hand-over failed); the tunnel carries on. */
    void resume();
}
