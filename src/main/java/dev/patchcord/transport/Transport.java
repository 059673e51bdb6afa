package dev.patchcord.transport;

import dev.patchcord.sys.SysException;

import java.lang.foreign.MemorySegment;

/**
 * A place WireGuard messages come from and go to: the tunnel's UDP socket ({@link UdpSocket}), or
 * WireGuard over TCP beside it ({@link TcpTransport}). The tunnel holds one and never asks which:
 * it receives and sends batches, and sends a single message to a peer wherever that peer is now
 * ({@link PeerEndpoint}); which path a peer's message takes is the transport's business.
 */
public interface Transport extends AutoCloseable {
    /** {@link #send(PeerEndpoint, MemorySegment, long, int)}: the peer has no endpoint (to this transport). */
    int NO_ENDPOINT = Integer.MIN_VALUE;

    /**
     * Fills the batch's buffers with what arrived, waiting for the first message.
     *
     * @return how many buffers, or -1 once closed
     */
    int receive(UdpBatch batch) throws SysException;

    /**
     * Sends the first {@code count} messages of the batch, each to the address set on it.
     *
     * @return how many were sent
     */
    int send(UdpBatch batch, int count);

    /**
     * Sends one datagram of {@code len} bytes at {@code buf[off]} to an address ({@link Endpoint}
     * or {@link SockAddr}).
     *
     * @return as {@link UdpSocket#send(MemorySegment, long, int, MemorySegment)}
     */
    int send(MemorySegment buf, long off, int len, MemorySegment to);

    /**
     * Sends one message to a peer, wherever it is now. A source address the kernel refused is
     * forgotten on the peer, so routing picks one until the peer is heard from again.
     *
     * @return 0 or more if it went, {@link #NO_ENDPOINT}, or another negative number if it failed
     */
    default int send(PeerEndpoint to, MemorySegment buf, long off, int len) {
        MemorySegment address = to.current();
        if (address == null) {
            return NO_ENDPOINT;
        }
        int r = send(buf, off, len, address);
        if (r == UdpSocket.SENT_WITHOUT_SOURCE) {
            to.forgetSource(address); // the address is gone: let routing pick until the peer is heard again
        }
        return r;
    }

    /**
     * As {@link #send(PeerEndpoint, MemorySegment, long, int)}, as one of several messages to the
     * peer sent one after the other (a batch's messages to a peer that {@link #batchAddress} has no
     * address for): with {@code more}, the transport may hold the message until the last one
     * ({@code more} false) and send them all at once (WireGuard over TCP: one write). The last
     * message of such a run must come with {@code more} false.
     */
    default int send(PeerEndpoint to, MemorySegment buf, long off, int len, boolean more) {
        return send(to, buf, off, len);
    }

    /**
     * Where a message to this peer may go as part of a batch ({@link #send(UdpBatch, int)}), or
     * null: it must go alone, through {@link #send(PeerEndpoint, MemorySegment, long, int)}.
     */
    default MemorySegment batchAddress(PeerEndpoint to) {
        return to.current();
    }

    /** The local port messages are received on. */
    int port();

    @Override
    void close();
}
