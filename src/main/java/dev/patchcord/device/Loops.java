package dev.patchcord.device;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The threads of a tunnel: each loop runs on its own platform thread; the first loop to fail
 * records why and tells the listener, so the process can stop cleanly instead of running on
 * half-dead.
 */
abstract class Loops implements Tunnel {
    /** A loop body; returning ends the loop normally (the tunnel is stopping). */
    interface Loop {
        void run() throws Exception;
    }

    private record Named(String name, Loop loop) {}

    private final List<Named> loops = new ArrayList<>();
    private CountDownLatch stopped;
    private volatile Throwable failure;
    private volatile Runnable onFailure = () -> { };

    /** Declares a loop; call from the constructor, before {@link #start}. */
    protected final void loop(String name, Loop loop) {
        loops.add(new Named(name, loop));
    }

    /** Whether the tunnel is being stopped, so that errors caused by closing are not failures. */
    protected abstract boolean stopping();

    @Override
    public final void onFailure(Runnable listener) {
        this.onFailure = listener;
    }

    @Override
    public final void start() {
        stopped = new CountDownLatch(loops.size());
        for (Named n : loops) {
            Thread.ofPlatform().name(n.name()).daemon().start(() -> run(n.loop()));
        }
    }

    private void run(Loop loop) {
        try {
            loop.run();
        } catch (Throwable t) {
            if (!stopping() && failure == null) {
                failure = t;
                onFailure.run();
            }
        } finally {
            stopped.countDown();
        }
    }

    /** How long {@link #startAgain} waits for a loop a pause has not yet reached (stuck in a system call). */
    private static final long START_AGAIN_SECONDS = 30;

    /**
     * Starts the loops again after a pause (a hand-over that failed), only once every one has
     * returned: two threads must never run one loop on one descriptor and one set of buffers.
     *
     * @param loops the wake-up the pause signalled; cleared here
     * @throws IllegalStateException if a loop has not returned within 30 s (then none is started)
     */
    protected final void startAgain(dev.patchcord.sys.Wakeup loops) {
        try {
            if (!awaitStopped(START_AGAIN_SECONDS, TimeUnit.SECONDS)) {
                throw new IllegalStateException("a packet loop did not stop within " + START_AGAIN_SECONDS
                        + " s; not starting the loops twice");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the packet loops to stop");
        }
        loops.clear();
        start();
    }

    @Override
    public final boolean awaitStopped(long timeout, TimeUnit unit) throws InterruptedException {
        return stopped.await(timeout, unit);
    }

    @Override
    public final Throwable failure() {
        return failure;
    }
}
