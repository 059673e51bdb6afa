package dev.patchcord.control;

import java.util.concurrent.atomic.LongAdder;

/**
 * What a cluster hub counts, for its metrics: written by the hub's threads, read by the metrics
 * server at any time (each value is read on its own; together they are not one snapshot).
 */
public final class ClusterStats {
    private volatile int clients;
    private volatile int hubs;
    private volatile int attachedHere;
    private volatile long storeLatencyNanos = -1;
    private volatile boolean storeReachable;
    private final LongAdder storeErrors = new LongAdder();
    private final LongAdder takeovers = new LongAdder();
    private final LongAdder sessionsDropped = new LongAdder();
    private final LongAdder takeoversDeclined = new LongAdder();

    void clients(int n) {
        clients = n;
    }

    void hubs(int n) {
        hubs = n;
    }

    void attachedHere(int n) {
        attachedHere = n;
    }

    void storeAnswered(long nanos) {
        storeLatencyNanos = nanos;
        storeReachable = true;
    }

    void storeFailed() {
        storeErrors.increment();
        storeReachable = false;
    }

    void takeover() {
        takeovers.increment();
    }

    void takeoverDeclined() {
        takeoversDeclined.increment();
    }

    void sessionDropped() {
        sessionsDropped.increment();
    }

    /** Clients in the store that are peers of this hub. */
    public int clients() {
        return clients;
    }

    /** Live hubs, this one included. */
    public int hubs() {
        return hubs;
    }

    /** Clients attached to this hub. */
    public int attachedHere() {
        return attachedHere;
    }

    /** How long the last answered store request took, or -1 before the first. */
    public long storeLatencyNanos() {
        return storeLatencyNanos;
    }

    /** Whether the last store request was answered. */
    public boolean storeReachable() {
        return storeReachable;
    }

    public long storeErrors() {
        return storeErrors.sum();
    }

    /** Orphaned clients this hub called back after their hub died. */
    public long takeovers() {
        return takeovers.sum();
    }

    /** Orphans not called back because their hub, its lease expired, was still heard on the backplane. */
    public long takeoversDeclined() {
        return takeoversDeclined.sum();
    }

    /** Sessions this hub dropped because its client was attached to another hub. */
    public long sessionsDropped() {
        return sessionsDropped.sum();
    }
}
