package dev.patchcord.device;

import dev.patchcord.core.simplevpn.KeepaliveTimer;

import dev.patchcord.transport.StreamSocket;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A simplevpn client's TCP connection to its server, once the server has assigned an address on
 * it. Packets from the interface and keepalives are written from two threads, so writes take a
 * lock: each packet or message goes out whole, with its own write.
 */
final class ServerConnection {
    final StreamSocket socket;
    /** The address the server assigned on this connection. */
    final int address;
    final KeepaliveTimer timer;
    private final ReentrantLock writeLock = new ReentrantLock();
    /** Set by whoever closes the connection on purpose, so the reader can say why it ended. */
    private volatile String closeReason;

    ServerConnection(StreamSocket socket, int address, KeepaliveTimer timer) {
        this.socket = socket;
        this.address = address;
        this.timer = timer;
    }

    /** Writes all of {@code data[0, len)} (native memory), waiting while the socket's buffer is full. */
    void send(MemorySegment data, int len) throws IOException {
        writeLock.lock();
        try {
            socket.writeFully(data, 0, len);
        } finally {
            writeLock.unlock();
        }
    }

    /**
     * As {@link #send}, unless a write is in progress (then nothing is sent and false is returned):
     * for keepalives, which are pointless while a packet is being sent and must not leave their
     * thread stuck behind a write that the server does not drain.
     */
    boolean trySend(MemorySegment data, int len) throws IOException {
        if (!writeLock.tryLock()) {
            return false;
        }
        try {
            socket.writeFully(data, 0, len);
            return true;
        } finally {
            writeLock.unlock();
        }
    }

    /**
     * Closes the socket, shutting it down, which ends a read or write waiting on it; the first
     * reason given is kept.
     */
    void close(String reason) {
        if (closeReason == null) {
            closeReason = reason;
        }
        socket.close();
    }

    /** Why {@link #close} was called, or null if it was not. */
    String closeReason() {
        return closeReason;
    }
}
