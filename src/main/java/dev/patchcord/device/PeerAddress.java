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
     *
     * @return the new address if it changed, null otherwise (also when the lookup failed)
     */
    public InetSocketAddress reresolve() {
        String h = host;
        if (h == null) {
            return null;
        }
        try {
            InetSocketAddress fresh = new InetSocketAddress(java.net.InetAddress.getByName(h), hostPort);
            if (fresh.equals(describe())) {
                return null;
            }
            set(fresh);
            return fresh;
        } catch (java.net.UnknownHostException e) {
            return null;
        }
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
