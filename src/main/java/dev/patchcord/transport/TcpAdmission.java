package dev.patchcord.transport;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Which accepted TCP connections a WireGuard-over-TCP listener keeps. Anyone can connect, and
 * each connection costs a reader with about 200 KiB of buffers, so a connection that has not yet
 * carried an authenticated message is held on a short leash: a few per source address, a bounded
 * number in all (the oldest makes room for a new one), and only for as long as a handshake takes.
 * A connection that authenticated stays while its peer uses it, and is closed after as long
 * without an authenticated message as the peer's session keys would live.
 *
 * <p>No I/O and no clock of its own: the listener passes the time and closes what
 * {@link #sweep} returns. {@link #authenticated} is called for every authenticated message, so
 * its common case is one volatile write.
 */
final class TcpAdmission {
    /**
     * Unauthenticated connections in all, about 26 MiB of buffers at most. A real client
     * authenticates with its first message (the handshake it sends on connecting), so the slots
     * turn over within milliseconds unless someone is flooding; then the oldest goes first, so a
     * flood must keep opening connections faster than a client completes one handshake to crowd
     * it out.
     */
    static final int MAX_UNAUTHENTICATED = 128;
    /** Unauthenticated connections from one address: clients behind one NAT connect a few at a time. */
    static final int MAX_UNAUTHENTICATED_PER_ADDRESS = 8;
    /**
     * Connections in all, authenticated ones included: enough for every peer of a large interface
     * to have one and to reconnect while its old connection times out, and a bound on the file
     * descriptors and memory (some 3 GiB at 200 KiB each) that peers can make the listener hold.
     */
    static final int MAX_CONNECTIONS = 16_384;
    /**
     * How long a connection may stay without an authenticated message at first: a client under a
     * handshake flood gets a cookie and retries after 5 s (REKEY_TIMEOUT) plus jitter, so 15 s
     * leaves room for two tries.
     */
    static final long AUTHENTICATE_WITHIN_NANOS = 15_000_000_000L;
    /**
     * How long an authenticated connection may go quiet: 3 × REJECT_AFTER_TIME, after which the
     * peer's session keys are gone anyway. A peer that still wants the path reconnects.
     */
    static final long IDLE_NANOS = 540_000_000_000L;

    private static final long NEVER = Long.MIN_VALUE;

    /** Why a connection was turned away or closed; each is counted. */
    enum Reason {
        /** {@link #MAX_UNAUTHENTICATED_PER_ADDRESS} unauthenticated connections from its address already. */
        PER_ADDRESS,
        /** {@link #MAX_CONNECTIONS} open already. */
        FULL,
        /** The oldest unauthenticated connection, closed to make room for a new one. */
        EVICTED,
        /** Did not authenticate within {@link #AUTHENTICATE_WITHIN_NANOS}. */
        UNAUTHENTICATED_TIMEOUT,
        /** Authenticated, then nothing authenticated for {@link #IDLE_NANOS}. */
        IDLE_TIMEOUT
    }

    /** One admitted connection. */
    static final class Slot {
        final InetAddress address;
        final long opened;
        final Closeable closer;
        /** When the last authenticated message arrived, or {@link #NEVER}. */
        volatile long lastAuthenticated = NEVER;
        /** Whether it still counts as unauthenticated (guarded by the admission's lock). */
        private boolean pending = true;
        private boolean open = true;

        private Slot(InetAddress address, long opened, Closeable closer) {
            this.address = address;
            this.opened = opened;
            this.closer = closer;
        }
    }

    private final Set<Slot> pending = new LinkedHashSet<>();
    private final Map<InetAddress, Integer> pendingByAddress = new HashMap<>();
    private final Set<Slot> authenticated = new LinkedHashSet<>();
    private final AtomicLong[] counts = new AtomicLong[Reason.values().length];

    TcpAdmission() {
        for (int i = 0; i < counts.length; i++) {
            counts[i] = new AtomicLong();
        }
    }

    /**
     * Admits a new connection from {@code address}, or refuses it (null; the caller closes it).
     * Admitting may close the oldest unauthenticated connection through its closer.
     */
    Slot admit(InetAddress address, long now, Closeable closer) {
        Slot evict = null;
        Slot slot;
        synchronized (this) {
            if (pending.size() + authenticated.size() >= MAX_CONNECTIONS) {
                count(Reason.FULL);
                return null;
            }
            if (pendingByAddress.getOrDefault(address, 0) >= MAX_UNAUTHENTICATED_PER_ADDRESS) {
                count(Reason.PER_ADDRESS);
                return null;
            }
            if (pending.size() >= MAX_UNAUTHENTICATED) {
                evict = pending.iterator().next();
                forget(evict);
                count(Reason.EVICTED);
            }
            slot = new Slot(address, now, closer);
            pending.add(slot);
            pendingByAddress.merge(address, 1, Integer::sum);
        }
        close(evict);
        return slot;
    }

    /**
     * Takes over a connection a predecessor admitted (a restart): counted as open, and as
     * authenticated if its last authenticated message came at {@code lastAuthenticated} (not
     * {@link Long#MIN_VALUE}). No limit turns it away: it was within them where it was admitted.
     */
    Slot adopt(InetAddress address, long opened, long lastAuthenticated, Closeable closer) {
        Slot slot = new Slot(address, opened, closer);
        synchronized (this) {
            if (lastAuthenticated == NEVER) {
                pending.add(slot);
                pendingByAddress.merge(address, 1, Integer::sum);
            } else {
                slot.pending = false;
                slot.lastAuthenticated = lastAuthenticated;
                authenticated.add(slot);
            }
        }
        return slot;
    }

    /** An authenticated message arrived on {@code slot}'s connection. */
    void authenticated(Slot slot, long now) {
        slot.lastAuthenticated = now;
        if (slot.pending) {
            synchronized (this) {
                if (slot.pending && slot.open) {
                    unpend(slot);
                    authenticated.add(slot);
                }
            }
        }
    }

    /** The connection ended (for whatever reason); its slot is free. */
    synchronized void closed(Slot slot) {
        forget(slot);
    }

    /**
     * Closes every connection past its time: unauthenticated ones older than
     * {@link #AUTHENTICATE_WITHIN_NANOS}, authenticated ones quiet for {@link #IDLE_NANOS}.
     *
     * @return how many were closed
     */
    int sweep(long now) {
        List<Slot> expired = new ArrayList<>();
        synchronized (this) {
            for (Iterator<Slot> it = pending.iterator(); it.hasNext(); ) {
                Slot s = it.next();
                if (now - s.opened < AUTHENTICATE_WITHIN_NANOS) {
                    break; // in the order they were opened: the rest are younger
                }
                expired.add(s);
                count(Reason.UNAUTHENTICATED_TIMEOUT);
            }
            for (Slot s : authenticated) {
                if (now - s.lastAuthenticated >= IDLE_NANOS) {
                    expired.add(s);
                    count(Reason.IDLE_TIMEOUT);
                }
            }
            expired.forEach(this::forget);
        }
        expired.forEach(TcpAdmission::close);
        return expired.size();
    }

    synchronized int unauthenticated() {
        return pending.size();
    }

    synchronized int open() {
        return pending.size() + authenticated.size();
    }

    /** How many connections were refused or closed for {@code reason}. */
    long counted(Reason reason) {
        return counts[reason.ordinal()].get();
    }

    /** The counts on one line, e.g. {@code per-address 3, evicted 12}; empty when all are 0. */
    String summary() {
        StringBuilder sb = new StringBuilder();
        for (Reason r : Reason.values()) {
            long n = counted(r);
            if (n > 0) {
                sb.append(sb.isEmpty() ? "" : ", ").append(r.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'))
                        .append(' ').append(n);
            }
        }
        return sb.toString();
    }

    private void count(Reason reason) {
        counts[reason.ordinal()].incrementAndGet();
    }

    private void unpend(Slot s) {
        if (s.pending) {
            s.pending = false;
            pending.remove(s);
            pendingByAddress.computeIfPresent(s.address, (a, n) -> n == 1 ? null : n - 1);
        }
    }

    private void forget(Slot s) {
        if (s.open) {
            s.open = false;
            unpend(s);
            authenticated.remove(s);
        }
    }

    private static void close(Slot s) {
        if (s != null) {
            try {
                s.closer.close();
            } catch (IOException ignored) {
                // it is going away either way
            }
        }
    }
}
