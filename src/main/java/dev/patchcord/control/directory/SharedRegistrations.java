package dev.patchcord.control.directory;

import dev.patchcord.cluster.ClusterStore;
import dev.patchcord.cluster.DirectoryEntry;
import dev.patchcord.cluster.DirectoryStore;
import dev.patchcord.cluster.StoreException;
import dev.patchcord.control.Endpoint;
import dev.patchcord.control.PeerList;
import dev.patchcord.core.wg.Keys;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Lets several directory servers serve one mesh through a cluster store (docs/cluster.md, "Several
 * directory servers"): what this server records goes to the store, and what every server wrote
 * comes back into the {@link DirectoryState} through a watch, so that an answer is made from
 * memory alone.
 *
 * <p>One thread of its own does all store work. The state hands records over under its lock
 * ({@link #share}), which only puts them in a map, one per member, so a newer record replaces one
 * not yet written and a slow or dead store never holds up an answer. When the store fails, the
 * thread says so once, keeps what it had to write and tries again, less and less often (up to
 * every {@value #MAX_BACKOFF_MILLIS} ms); when a write or a read succeeds again, it says so once.
 * A watch that ends makes it read all entries again and watch from there.
 */
public final class SharedRegistrations implements DirectoryState.Sharing, AutoCloseable {
    private static final String PREFIX = "patchcord: directory: ";
    static final long MIN_BACKOFF_MILLIS = 250;
    static final long MAX_BACKOFF_MILLIS = 8_000;

    private final DirectoryStore store;
    private final DirectoryState state;
    private final String where;
    private final PrintStream log;
    private final Thread worker;

    /** Records not yet written, by member (canonical base64); guarded by this. */
    private final Map<String, DirectoryState.Registration> pending = new LinkedHashMap<>();
    /** Whether all entries must be read (again) and a watch started; guarded by this. */
    private boolean reload = true;
    private boolean closed;
    /** Whether the thread is working on what it took; guarded by this. */
    private boolean busy;
    /** Whether the store was last seen failing (said once); guarded by this. */
    private boolean down;
    private volatile ClusterStore.Subscription watch;

    private SharedRegistrations(DirectoryStore store, DirectoryState state, String where, PrintStream log) {
        this.store = store;
        this.state = state;
        this.where = where;
        this.log = log;
        this.worker = Thread.ofPlatform().name("directory-store").daemon().unstarted(this::run);
    }

    /**
     * Starts sharing {@code state}'s records through {@code store}. Returns at once: the first
     * read of the store happens on the thread, so a store that is down delays nothing.
     *
     * @param where the store as messages name it, e.g. "cluster mesh in etcd at 10.0.0.5:2379"
     */
    public static SharedRegistrations start(DirectoryStore store, DirectoryState state, String where, PrintStream log) {
        SharedRegistrations s = new SharedRegistrations(store, state, where, log);
        state.shareWith(s);
        s.worker.start();
        return s;
    }

    @Override
    public synchronized void share(String publicKey, DirectoryState.Registration registration) {
        if (!closed) {
            pending.put(publicKey, registration);
            notifyAll();
        }
    }

    /** Whether everything handed over has been written and the store's entries are being followed (for tests). */
    synchronized boolean settled() {
        return pending.isEmpty() && !reload && !down && !busy;
    }

    private void run() {
        long backoff = MIN_BACKOFF_MILLIS;
        while (true) {
            boolean load;
            Map<String, DirectoryState.Registration> batch;
            synchronized (this) {
                while (!closed && !reload && pending.isEmpty()) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (closed) {
                    return;
                }
                load = reload;
                reload = false;
                batch = new LinkedHashMap<>(pending);
                pending.clear();
                busy = true;
            }
            try {
                if (load) {
                    load();
                }
                var it = batch.entrySet().iterator();
                while (it.hasNext()) {
                    var e = it.next();
                    store.putDirectoryEntry(Keys.fromBase64(e.getKey()), toEntry(e.getValue()));
                    it.remove();
                }
                up();
                backoff = MIN_BACKOFF_MILLIS;
                synchronized (this) {
                    busy = false;
                }
            } catch (StoreException e) {
                synchronized (this) {
                    busy = false;
                    if (closed) {
                        return;
                    }
                    reload |= load && watch == null;
                    batch.forEach(pending::putIfAbsent); // a record handed over since is newer
                }
                down(e);
                if (!pause(backoff)) {
                    return;
                }
                backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
            }
        }
    }

    /** Reads every entry into the state and watches from there; a watch already running is replaced. */
    private void load() throws StoreException {
        ClusterStore.Subscription old = watch;
        if (old != null) {
            watch = null;
            old.close();
        }
        Map<String, DirectoryState.Registration> all = new HashMap<>();
        long revision = store.readDirectory(new Listener() {
            @Override
            public void changed(byte[] memberKey, DirectoryEntry entry, long revision) {
                readable(memberKey, entry, r -> all.put(Keys.toBase64(memberKey), r));
            }
        });
        state.replaceShared(all);
        watch = store.watchDirectory(revision + 1, new Listener() {
            @Override
            public void changed(byte[] memberKey, DirectoryEntry entry, long revision) {
                readable(memberKey, entry, r -> state.shared(Keys.toBase64(memberKey), r));
            }

            @Override
            public void removed(byte[] memberKey, long revision) {
                state.shared(Keys.toBase64(memberKey), null);
            }

            @Override
            public void failed(StoreException problem) {
                synchronized (SharedRegistrations.this) {
                    watch = null;
                    reload = true;
                    SharedRegistrations.this.notifyAll();
                }
                down(problem);
            }
        });
    }

    /** What both listeners share: nothing to remove on a read, and a line for an entry that cannot be read. */
    private abstract class Listener implements DirectoryStore.DirectoryListener {
        @Override
        public void removed(byte[] memberKey, long revision) {
        }

        @Override
        public void failed(StoreException problem) {
        }

        @Override
        public void unreadable(String key, String problem) {
            log.println(PREFIX + where + ": skipped " + key + ": " + problem);
        }

        void readable(byte[] memberKey, DirectoryEntry entry, java.util.function.Consumer<DirectoryState.Registration> to) {
            try {
                to.accept(toRegistration(entry));
            } catch (IllegalArgumentException e) {
                unreadable(Keys.toBase64(memberKey), e.getMessage());
            }
        }
    }

    /**
     * A stored entry in the directory's types; an endpoint that is not {@code HOST:PORT} makes it
     * unreadable. Declared endpoints beyond what one answer carries are dropped, as answers would.
     */
    static DirectoryState.Registration toRegistration(DirectoryEntry e) {
        List<Endpoint> declared = new ArrayList<>();
        for (String text : e.declared()) {
            if (declared.size() < PeerList.MAX_ENDPOINTS) {
                declared.add(Endpoint.parse(text));
            }
        }
        return new DirectoryState.Registration(declared, e.declaredAt(),
                e.observed() == null ? null : Endpoint.parse(e.observed()), e.observedAt());
    }

    static DirectoryEntry toEntry(DirectoryState.Registration r) {
        return new DirectoryEntry(r.declared().stream().map(Endpoint::toString).toList(), r.declaredAt(),
                r.observed() == null ? null : r.observed().toString(), r.observedAt());
    }

    private void down(StoreException e) {
        synchronized (this) {
            if (down || closed) {
                return;
            }
            down = true;
        }
        log.println(PREFIX + where + ": " + e.getMessage() + "; answering from what this server knows until the store is back");
    }

    private void up() {
        synchronized (this) {
            if (!down) {
                return;
            }
            down = false;
        }
        log.println(PREFIX + where + ": the store answers again; registrations are shared again");
    }

    /** Waits {@code millis} unless closed first; whether still open. */
    private synchronized boolean pause(long millis) {
        long end = System.nanoTime() + millis * 1_000_000;
        long left;
        while (!closed && (left = end - System.nanoTime()) > 0) {
            try {
                wait(Math.max(1, left / 1_000_000));
            } catch (InterruptedException e) {
                return false;
            }
        }
        return !closed;
    }

    /**
     * Stops sharing: records not yet written are dropped (the nodes tell them again within the
     * TTL). Interrupts a store call in progress and waits up to two seconds for the thread. The
     * store itself is the caller's to close.
     */
    @Override
    public void close() {
        state.shareWith(null);
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            notifyAll();
        }
        worker.interrupt();
        try {
            worker.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        ClusterStore.Subscription w = watch;
        if (w != null) {
            w.close();
        }
    }
}
