package dev.patchcord.cluster;

/**
 * The part of the store that the mesh directory servers of a cluster share: one {@link
 * DirectoryEntry} per member under {@code directory/<member key>} ({@link StoreKeys}). Every
 * server writes what it recorded and keeps a copy of all entries, read once and then followed by a
 * watch, so that answering a node makes no store request. Entries are not bound to a lease: a
 * server that stops does not take with it what its nodes told it, and the entries' times age
 * them. The concurrency contract is {@link ClusterStore}'s.
 */
public interface DirectoryStore {

    /** Writes (replaces) the entry of one member. */
    void putDirectoryEntry(byte[] memberKey, DirectoryEntry entry) throws StoreException;

    /**
     * Reads every entry at one revision, calling {@code listener.changed} (or {@code unreadable})
     * for each on the calling thread before it returns.
     *
     * @return the revision of the read: {@link #watchDirectory} from it + 1 misses nothing
     */
    long readDirectory(DirectoryListener listener) throws StoreException;

    /** Calls {@code listener} for every change to the entries from {@code fromRevision} on (inclusive). */
    ClusterStore.Subscription watchDirectory(long fromRevision, DirectoryListener listener) throws StoreException;

    /** Receives directory entries; on a watch, from a thread of the store's client, one call at a time. */
    interface DirectoryListener {
        /** A member's entry was written. */
        void changed(byte[] memberKey, DirectoryEntry entry, long revision);

        /** A member's entry was deleted (by an operator: servers never delete). */
        void removed(byte[] memberKey, long revision);

        /** The watch ended; nothing follows: read again and watch from there. */
        void failed(StoreException problem);

        /** A stored entry this version cannot read was skipped. */
        default void unreadable(String key, String problem) {
        }
    }
}
