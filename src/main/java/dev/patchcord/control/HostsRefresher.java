package dev.patchcord.control;

import dev.patchcord.core.udptun.HostsException;
import dev.patchcord.core.udptun.HostsTable;

import java.io.PrintStream;
import java.util.function.Consumer;

/**
 * Keeps a hosts table fresh from {@code --hosts-url}, as udptun does: every interval the whole
 * table is fetched again and replaces the old one; a failure keeps the old one. Unlike udptun, a
 * failed first fetch does not end the process: it is retried after 1 s, doubling up to 60 s (never
 * longer than the interval), until one succeeds.
 */
public final class HostsRefresher implements AutoCloseable {
    /** Loads a complete, resolved table. */
    public interface Loader {
        HostsTable load() throws HostsException;
    }

    static final long FIRST_BACKOFF_MS = 1000, MAX_BACKOFF_MS = 60_000;

    private final Loader loader;
    private final Consumer<HostsTable> install;
    private final long intervalMs;
    private final PrintStream err;
    private final String label;
    private boolean loadedOnce;
    private long backoffMs = FIRST_BACKOFF_MS;
    private Thread thread;

    public HostsRefresher(Loader loader, Consumer<HostsTable> install, double intervalSeconds, PrintStream err, String label) {
        if (!(intervalSeconds > 0) || Double.isInfinite(intervalSeconds)) {
            throw new IllegalArgumentException("hosts URL interval must be a positive number of seconds");
        }
        this.loader = loader;
        this.install = install;
        this.intervalMs = Math.max(1, Math.round(intervalSeconds * 1000));
        this.err = err;
        this.label = label;
    }

    /** One attempt: installs the new table and returns true, or reports the error in one line and returns false. */
    public synchronized boolean refresh() {
        try {
            HostsTable t = loader.load();
            install.accept(t);
            loadedOnce = true;
            return true;
        } catch (HostsException e) {
            err.println("patchcord: " + label + ": could not load the hosts table: " + e.getMessage()
                    + (loadedOnce ? "; keeping the previous table" : "; retrying in " + fmt(nextDelayMs()) + " s"));
            return false;
        }
    }

    /** How long to wait before the next attempt. */
    synchronized long nextDelayMs() {
        return loadedOnce ? intervalMs : Math.min(backoffMs, intervalMs);
    }

    private synchronized long takeDelayMs() {
        long d = nextDelayMs();
        if (!loadedOnce) {
            backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
        }
        return d;
    }

    /** Starts refreshing in the background; the first attempt is one delay from now. */
    public void start() {
        thread = Thread.ofPlatform().name("hosts-url").daemon().start(() -> {
            try {
                while (true) {
                    Thread.sleep(takeDelayMs());
                    refresh();
                }
            } catch (InterruptedException e) {
                // stopping
            }
        });
    }

    @Override
    public void close() {
        if (thread != null) {
            thread.interrupt();
        }
    }

    private static String fmt(long ms) {
        return ms % 1000 == 0 ? String.valueOf(ms / 1000) : String.valueOf(ms / 1000.0);
    }
}
