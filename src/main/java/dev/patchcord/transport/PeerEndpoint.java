package dev.patchcord.transport;

import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;

/**
 * Where one peer is, as a transport needs to know it: the address its datagrams go to, and the TCP
 * connection it last spoke over. The tunnel keeps one per peer and moves it as authenticated
 * messages arrive (roaming).
 */
public interface PeerEndpoint {
    /** The {@link Endpoint} to send to (address and source), or null while none is known. */
    MemorySegment current();

    /** Forgets the source of {@code seen} (a segment {@link #current()} returned) if it is still current. */
    void forgetSource(MemorySegment seen);

    /** An authenticated datagram came from {@code from}; true if that moved the peer. */
    boolean observe(MemorySegment from);

    /** The open TCP connection to prefer, or null. */
    TcpLink tcp();

    /** The peer spoke over {@code link}; true if that moved it. */
    boolean observeTcp(TcpLink link);

    /** The current address for display, or null. */
    InetSocketAddress describe();
}
