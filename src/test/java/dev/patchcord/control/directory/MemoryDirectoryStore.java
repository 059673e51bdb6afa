package dev.patchcord.control.directory;

import dev.patchcord.cluster.ClusterStore;
import dev.patchcord.cluster.DirectoryStore;
import dev.patchcord.cluster.StoreException;
import dev.patchcord.cluster.StoreKeys;
import dev.patchcord.cluster.StoreValues;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The directory part of a store in memory, for tests without etcd: values go through their stored
 * form ({@link StoreValues}), every write has a revision, and watches are told of each write on
 * the writing thread (and of past writes from the revision a watch starts at). {@link #down} makes every call fail as an unreachable store does, and ends
 * the watches, as a store that goes away may.
 */
final class MemoryDirectoryStore implements DirectoryStore {
    private final StoreKeys keys = new StoreKeys("mesh");
    private final Map<String, byte[]> values = new TreeMap<>();
    private final List<DirectoryListener> watches = new ArrayList<>();
    /** Every write, for watches that start from a past revision (as etcd replays them). */
    private final List<Write> history = new ArrayList<>();
    private long revision = 1;

    private record Write(long revision, String key, byte[] value) {
    }
    private volatile boolean down;
    int puts;

    synchronized void down(boolean down) {
        this.down = down;
        if (down) {
            List<DirectoryListener> ended = List.copyOf(watches);
            watches.clear();
            ended.forEach(l -> l.failed(new StoreException("etcd at memory did not answer a watch")));
        }
    }

    private void check(String what) throws StoreException {
        if (down) {
            throw new StoreException("etcd at memory did not answer " + what + " within 0 ms");
        }
    }

    /** Writes a raw value, as an operator with etcdctl could. */
    synchronized void putRaw(byte[] memberKey, byte[] value) {
        String key = keys.directory(memberKey);
        values.put(key, value);
        revision++;
        history.add(new Write(revision, key, value));
        for (DirectoryListener l : List.copyOf(watches)) {
            deliver(key, value, revision, l);
        }
    }

    synchronized byte[] value(byte[] memberKey) {
        return values.get(keys.directory(memberKey));
    }

    @Override
    public void putDirectoryEntry(byte[] memberKey, dev.patchcord.cluster.DirectoryEntry entry) throws StoreException {
        check("a directory entry put");
        synchronized (this) {
            puts++;
        }
        putRaw(memberKey, StoreValues.directoryEntry(entry));
    }

    @Override
    public synchronized long readDirectory(DirectoryListener listener) throws StoreException {
        check("the directory entries");
        values.forEach((k, v) -> deliver(k, v, revision, listener));
        return revision;
    }

    @Override
    public synchronized ClusterStore.Subscription watchDirectory(long fromRevision, DirectoryListener listener)
            throws StoreException {
        check("a watch");
        history.stream().filter(w -> w.revision() >= fromRevision).forEach(w -> deliver(w.key(), w.value(), w.revision(), listener));
        watches.add(listener);
        return () -> {
            synchronized (MemoryDirectoryStore.this) {
                watches.remove(listener);
            }
        };
    }

    private void deliver(String key, byte[] value, long at, DirectoryListener l) {
        try {
            l.changed(StoreKeys.keyAfter(keys.directoryPrefix(), key), StoreValues.readDirectoryEntry(value), at);
        } catch (IllegalArgumentException e) {
            l.unreadable(key, e.getMessage());
        }
    }
}
