package dev.patchcord.device;

import dev.patchcord.transport.SockAddr;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;

/**
 * The one peer a point-to-point tunnel sends to: fixed, or learned from where valid datagrams come
 * from (tap2tap's roaming). The receive thread publishes a new address and the send thread reads it
 * without locks; each address lives in its own immutable segment, so a reader never sees half of
 * one. A new segment is made only when the address changes, not per packet.
 */
public final class PeerAddress {
    private final boolean learn;
    private volatile MemorySegment current;
    /** The TCP connection the peer last spoke over, preferred while open (WireGuard over TCP). */
    private volatile dev.patchcord.transport.TcpLink tcp;

    public PeerAddress(InetSocketAddress initial, boolean learn) {
        this.learn = learn;
        if (initial != null) {
            MemorySegment s = Arena.ofAuto().allocate(SockAddr.SIZE);
            SockAddr.encode(initial, s);
            current = s;
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

    /** Sets the address outright (configuration), whether or not this peer learns. */
    public void set(InetSocketAddress address) {
        MemorySegment s = Arena.ofAuto().allocate(SockAddr.SIZE);
        SockAddr.encode(address, s);
        current = s;
    }

    /** The address to send to, or null while none is known. */
    public MemorySegment current() {
        return current;
    }

    /**
     * Called for each valid datagram with its source; adopts the source if learning is on and it
     * differs from the current address.
     *
     * @return true if the address changed
     */
    public boolean observe(MemorySegment from) {
        if (!learn) {
            return false;
        }
        if (tcp != null) {
            tcp = null; // the peer spoke over UDP: it has moved off TCP
        }
        MemorySegment cur = current;
        if (cur != null && cur.mismatch(from.asSlice(0, SockAddr.SIZE)) == -1) {
            return false;
        }
        MemorySegment s = Arena.ofAuto().allocate(SockAddr.SIZE);
        MemorySegment.copy(from, 0, s, 0, SockAddr.SIZE);
        current = s;
        return true;
    }

    /** The open TCP connection to prefer, or null. */
    public dev.patchcord.transport.TcpLink tcp() {
        dev.patchcord.transport.TcpLink t = tcp;
        return t != null && t.isOpen() ? t : null;
    }

    /** The peer spoke over {@code link}; returns true if that changed where it is. */
    public boolean observeTcp(dev.patchcord.transport.TcpLink link) {
        if (tcp == link) {
            return false;
        }
        tcp = link;
        return true;
    }

    /** The current address for display, or null. */
    public InetSocketAddress describe() {
        MemorySegment cur = current;
        return cur == null ? null : SockAddr.decode(cur);
    }
}
