package dev.patchcord.control;

import java.io.PrintStream;
import java.util.function.Consumer;

/**
 * Keeps a table fresh from a source that may fail: udptun's {@code --hosts-url}, a peers file, the
 * mesh directory. Every interval the whole table is loaded again and replaces the old one; a
 * failure keeps the old one. Unlike udptun, a failed first load does not end the process: it is
 * retried after 1 s, doubling up to 60 s (never longer than the interval), until one succeeds.
 * Once a table is in force, a failure is reported when it starts or its reason changes, and the
 * recovery once.
 *
 * @param <T> the table
 */
public final class Refresher<T> implements AutoCloseable {
    /** Loads a complete table, or says in its exception's message why it cannot. */
    public interface Loader<T> {
        T load() throws Exception;
    }

    static final long FIRST_BACKOFF_MS = 1000, MAX_BACKOFF_MS = 60_000;

    private final Loader<T> loader;
    private final Consumer<T> install;
    private final long intervalMs;
    private final PrintStream err;
    private final String label;
    private final String what;
    private boolean loadedOnce;
    private String lastError;
    private long backoffMs = FIRST_BACKOFF_MS;
    private Thread thread;

    /**
     * @param label who is speaking, e.g. the interface name
     * @param what what is loaded, for messages: "hosts table", "peer list"
     */
    public Refresher(Loader<T> loader, Consumer<T> install, double intervalSeconds, PrintStream err, String label,
            String what) {
        if (!(intervalSeconds > 0) || Double.isInfinite(intervalSeconds)) {
            throw new IllegalArgumentException("refresh interval must be a positive number of seconds");
        }
        this.what = what;
        this.loader = loader;
        this.install = install;
        this.intervalMs = Math.max(1, Math.round(intervalSeconds * 1000));
        this.err = err;
        this.label = label;
    }

    /** One attempt: installs the new table and returns true, or reports the error in one line and returns false. */
    public synchronized boolean refresh() {
        T t;
        try {
            t = loader.load();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (Exception e) {
            // Once a table is in force, the same failure again (a directory that stays down) is said
            // once, not every interval; before that every attempt is said, as they back off anyway.
            String reason = java.util.Objects.toString(e.getMessage(), e.getClass().getSimpleName());
            if (!loadedOnce || !reason.equals(lastError)) {
                lastError = reason;
                err.println("patchcord: " + label + ": could not load the " + what + ": " + reason
                        + (loadedOnce ? "; keeping the previous one" : "; retrying in " + fmt(nextDelayMs()) + " s"));
            }
            return false;
        }
        install.accept(t);
        if (lastError != null && loadedOnce) {
            err.println("patchcord: " + label + ": " + what + " loaded again");
        }
        lastError = null;
        loadedOnce = true;
        return true;
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
        thread = Thread.ofPlatform().name("refresh-" + what.replace(' ', '-')).daemon().start(() -> {
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
