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

    @Override
    public final boolean awaitStopped(long timeout, TimeUnit unit) throws InterruptedException {
        return stopped.await(timeout, unit);
    }

    @Override
    public final Throwable failure() {
        return failure;
    }
}
