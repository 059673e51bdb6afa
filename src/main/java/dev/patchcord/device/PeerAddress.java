package dev.patchcord.device;

import dev.patchcord.transport.Endpoint;
import dev.patchcord.transport.PeerEndpoint;
import dev.patchcord.transport.TcpLink;
import dev.patchcord.transport.SockAddr;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.InetSocketAddress;

/**
 * The one peer a point-to-point tunnel sends to: fixed, or learned from where valid datagrams come
 * from (tap2tap's roaming). The receive thread publishes a new address and the send thread reads it
 * without locks; each address lives in its own immutable segment, so a reader never sees half of
 * one. A new segment is made only when the address changes, not per packet.
 *
 * <p>Each segment is an {@link Endpoint}: with the peer's address goes the local address its last
 * authenticated datagram was sent to, so that what goes back leaves from that address (as Linux's
 * WireGuard does). A configured address has no source until the peer is heard from.
 */
public final class PeerAddress implements PeerEndpoint {
    private static final VarHandle CURRENT;

    static {
        try {
            CURRENT = MethodHandles.lookup().findVarHandle(PeerAddress.class, "current", MemorySegment.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final boolean learn;
    private volatile MemorySegment current;
    /** The TCP connection the peer last spoke over, preferred while open (WireGuard over TCP). */
    private volatile TcpLink tcp;

    public PeerAddress(InetSocketAddress initial, boolean learn) {
        this.learn = learn;
        if (initial != null) {
            current = encode(initial);
        }
    }

    /** The endpoint's host name and port as configured, for looking it up again; null for a literal. */
    private volatile String host;
    private volatile int hostPort;
    private volatile long lastLookup = Long.MIN_VALUE;

    /** Remembers that the endpoint was given as a host name, so it can be looked up again later. */
    public void setHost(String host, int port) {
        this.host = host;
        this.hostPort = port;
    }

    public String host() {
        return host;
    }

    /** Nanoseconds since the last lookup, or -1 if never. */
    public long sinceLookup(long now) {
        return lastLookup == Long.MIN_VALUE ? -1 : now - lastLookup;
    }

    /** Records that a lookup starts now (before it runs elsewhere, so it is not started twice). */
    public void lookupStarting(long now) {
        lastLookup = now;
    }

    /**
     * Looks the host name up again; if it now names another address, sends there from now on.
     * If the peer moved to another entry of its {@link EndpointList} while the lookup ran, the
     * answer is for an entry no longer in use and is dropped.
     *
     * @return the new address if it changed, null otherwise (also when the lookup failed)
     */
    public InetSocketAddress reresolve() {
        String h;
        int port;
        synchronized (this) {
            h = host;
            port = hostPort;
        }
        if (h == null) {
            return null;
        }
        InetSocketAddress fresh;
        try {
            fresh = new InetSocketAddress(java.net.InetAddress.getByName(h), port);
        } catch (java.net.UnknownHostException e) {
            return null;
        }
        synchronized (this) {
            if (host != h) {
                return null; // moved on (or replaced) meanwhile
            }
            EndpointList l = list;
            if (l != null) {
                l.resolved(l.index(), fresh);
            }
            if (fresh.equals(describe())) {
                return null;
            }
            current = encode(fresh);
            return fresh;
        }
    }

    /** patchcord's list of endpoints, or null for one endpoint (or none). */
    private volatile EndpointList list;

    /**
     * Gives the peer a list of endpoints and starts it on the list's current entry: its address if
     * one is known, and its host name to look up again as for a lone endpoint.
     */
    public synchronized void setList(EndpointList endpoints) {
        list = endpoints;
        moveTo(endpoints, endpoints.index());
    }

    /** The list of endpoints, or null when there is one endpoint or none. */
    public EndpointList list() {
        return list;
    }

    /**
     * Told of each handshake initiation as it goes out (under the peer's send-order lock): with a
     * list of endpoints, moves to the next entry once the current one has left enough initiations
     * unanswered, so that this one already goes there. Without a list this reads one field and
     * returns; neither way allocates unless it moves.
     *
     * @param unanswered the peer's {@code unansweredInitiations()}, counting this initiation
     * @return the entry moved to, or null if the peer stays where it is
     */
    public EndpointList.Entry initiation(int unanswered) {
        EndpointList l = list;
        if (l == null) {
            return null;
        }
        synchronized (this) {
            if (list != l) {
                return null; // replaced meanwhile
            }
            int next = l.initiation(unanswered);
            if (next < 0) {
                return null;
            }
            moveTo(l, next);
            return l.entry(next);
        }
    }

    /**
     * Points the peer at entry {@code i}: its last known address (if none is known yet, the old
     * address stays until the lookup, due at once, finds one), and its host name for lookups.
     */
    private void moveTo(EndpointList l, int i) {
        EndpointList.Entry e = l.entry(i);
        InetSocketAddress a = l.address(i);
        if (a != null) {
            current = encode(a);
        }
        tcp = null; // a connection to the entry given up on is no way to the next one
        host = e.host();
        hostPort = e.port();
        lastLookup = Long.MIN_VALUE; // a name is looked up when its turn comes, not from a minute ago
    }

    /**
     * Sets the endpoint as {@code wg set ... endpoint} does: a list of endpoints is replaced by this
     * one (with its host names: there is nothing left to look up). A peer without a list keeps its
     * host name, as before lists existed.
     */
    public synchronized void replace(InetSocketAddress address) {
        if (list != null) {
            list = null;
            host = null;
        }
        current = encode(address);
    }

    private static MemorySegment encode(InetSocketAddress address) {
        MemorySegment s = Arena.ofAuto().allocate(Endpoint.SIZE, 8);
        SockAddr.encode(address, s.asSlice(0, SockAddr.SIZE));
        return s;
    }

    /**
     * Sets the address outright (configuration), whether or not this peer learns; the source is
     * forgotten, so routing picks it until the peer is heard from.
     */
    public void set(InetSocketAddress address) {
        current = encode(address);
    }

    /** The {@link Endpoint} to send to (address and source), or null while none is known. */
    @Override
    public MemorySegment current() {
        return current;
    }

    /**
     * Called for each valid datagram with where it came from: an {@link Endpoint} (the source and
     * the local address it was sent to), or a bare {@link SockAddr}. Adopts it if learning is on
     * and it differs from the current one.
     *
     * @return true if the address or the source changed
     */
    @Override
    public boolean observe(MemorySegment from) {
        if (!learn) {
            return false;
        }
        if (tcp != null) {
            tcp = null; // the peer spoke over UDP: it has moved off TCP
        }
        MemorySegment cur = current;
        long size = from.byteSize() >= Endpoint.SIZE ? Endpoint.SIZE : SockAddr.SIZE;
        if (cur != null && MemorySegment.mismatch(cur, 0, size, from, 0, size) == -1
                && (size == Endpoint.SIZE || !Endpoint.hasSource(cur))) {
            return false;
        }
        MemorySegment s = Arena.ofAuto().allocate(Endpoint.SIZE, 8);
        MemorySegment.copy(from, 0, s, 0, size);
        current = s;
        return true;
    }

    /**
     * Forgets the source of {@code seen} (a segment {@link #current()} returned) because the kernel
     * refused to send from it, or because a handshake is being retried: from now on routing picks
     * the source, until the peer is heard from again. Does nothing if the endpoint has changed
     * since, so that a newer one is never lost.
     */
    @Override
    public void forgetSource(MemorySegment seen) {
        if (seen == null || !Endpoint.hasSource(seen)) {
            return;
        }
        MemorySegment s = Arena.ofAuto().allocate(Endpoint.SIZE, 8);
        MemorySegment.copy(seen, 0, s, 0, SockAddr.SIZE);
        CURRENT.compareAndSet(this, seen, s);
    }

    /** Forgets the current source, whatever it is (a handshake retry). */
    public void forgetSource() {
        forgetSource(current);
    }

    /** The local address replies to the peer leave from, or null if routing picks it. */
    public java.net.InetAddress source() {
        MemorySegment cur = current;
        return cur == null ? null : Endpoint.source(cur);
    }

    /** The open TCP connection to prefer, or null. */
    @Override
    public TcpLink tcp() {
        TcpLink t = tcp;
        return t != null && t.isOpen() ? t : null;
    }

    /** The peer spoke over {@code link}; returns true if that changed where it is. */
    @Override
    public boolean observeTcp(TcpLink link) {
        if (tcp == link) {
            return false;
        }
        tcp = link;
        return true;
    }

    /** The current address for display, or null. */
    @Override
    public InetSocketAddress describe() {
        MemorySegment cur = current;
        return cur == null ? null : SockAddr.decode(cur.asSlice(0, SockAddr.SIZE));
    }
}
