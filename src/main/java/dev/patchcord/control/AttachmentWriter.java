package dev.patchcord.control;

import dev.patchcord.cluster.Attachment;
import dev.patchcord.cluster.ClusterStore;
import dev.patchcord.cluster.StoreException;
import dev.patchcord.core.wg.Keys;

import java.io.PrintStream;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Writes a hub's attachments to the store on a thread of its own, so that a store that is slow or
 * away never holds up the hub's thread. Only the latest attachment of each client is kept; one
 * that fails stays and is tried again every second until the store answers, which is how a hub
 * that kept serving through an outage puts its clients back on record.
 */
final class AttachmentWriter implements AutoCloseable {
    private static final long RETRY_MILLIS = 1000;

    private record Pending(byte[] key, Attachment attachment, boolean ifAbsent) {}

    private final ClusterStore store;
    private final ClusterStats stats;
    private final PrintStream err;
    private final String label;
    private final Map<String, Pending> pending = new ConcurrentHashMap<>();
    private final Semaphore work = new Semaphore(0);
    private volatile boolean closed;
    private Thread thread;

    AttachmentWriter(ClusterStore store, ClusterStats stats, PrintStream err, String label) {
        this.store = store;
        this.stats = stats;
        this.err = err;
        this.label = label;
    }

    void start() {
        thread = Thread.ofPlatform().name("cluster-store").daemon().start(this::run);
    }

    /** Records (later, on the writer's thread) that the client is attached as {@code a}. */
    void write(byte[] clientKey, Attachment a) {
        pending.put(Keys.toBase64(clientKey), new Pending(clientKey.clone(), a, false));
        work.release();
    }

    /** As {@link #write}, but only if the client has no attachment in the store by then. */
    void writeIfAbsent(byte[] clientKey, Attachment a) {
        pending.put(Keys.toBase64(clientKey), new Pending(clientKey.clone(), a, true));
        work.release();
    }

    /** Forgets a write not made yet (another hub has the client now). */
    void cancel(byte[] clientKey) {
        pending.remove(Keys.toBase64(clientKey));
    }

    /** Attachments not written yet. */
    int backlog() {
        return pending.size();
    }

    private void run() {
        boolean failing = false;
        while (!closed) {
            try {
                work.tryAcquire(RETRY_MILLIS, TimeUnit.MILLISECONDS);
                work.drainPermits();
                for (Map.Entry<String, Pending> e : pending.entrySet()) {
                    Pending p = e.getValue();
                    long t0 = System.nanoTime();
                    if (p.ifAbsent()) {
                        store.attachIfAbsent(p.key(), p.attachment());
                    } else {
                        store.attach(p.key(), p.attachment());
                    }
                    stats.storeAnswered(System.nanoTime() - t0);
                    pending.remove(e.getKey(), p); // unless a newer one came meanwhile
                }
                if (failing) {
                    err.println("patchcord: " + label + ": the cluster store answers again; attachments written");
                    failing = false;
                }
            } catch (StoreException e) {
                stats.storeFailed();
                if (!failing) {
                    err.println("patchcord: " + label + ": cannot record attachments: " + e.getMessage()
                            + "; the hub goes on serving the clients it knows and tries again every second");
                    failing = true;
                }
                sleep();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                // Not the store's refusal but something unexpected: say it, keep the thread.
                stats.storeFailed();
                err.println("patchcord: " + label + ": writing attachments: " + e);
                sleep();
            }
        }
    }

    private void sleep() {
        try {
            Thread.sleep(RETRY_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closed = true;
        }
    }

    @Override
    public void close() {
        closed = true;
        if (thread != null) {
            thread.interrupt();
            try {
                thread.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
