package dev.patchcord.device;

import dev.patchcord.core.simplevpn.KeepaliveTimer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A simplevpn client's TCP connection to its server, once the server has assigned an address on
 * it. Packets from the interface and keepalives are written from two threads, so writes take a
 * lock: each packet or message goes out whole, with its own write.
 */
final class ServerConnection {
    final SocketChannel channel;
    /** The address the server assigned on this connection. */
    final int address;
    final KeepaliveTimer timer;
    private final ReentrantLock writeLock = new ReentrantLock();
    /** Set by whoever closes the connection on purpose, so the reader can say why it ended. */
    private volatile String closeReason;

    ServerConnection(SocketChannel channel, int address, KeepaliveTimer timer) {
        this.channel = channel;
        this.address = address;
        this.timer = timer;
    }

    /** Writes all of {@code data}, blocking while the socket's buffer is full. */
    void send(ByteBuffer data) throws IOException {
        writeLock.lock();
        try {
            while (data.hasRemaining()) {
                channel.write(data);
            }
        } finally {
            writeLock.unlock();
        }
    }

    /**
     * As {@link #send}, unless a write is in progress (then nothing is sent and false is returned):
     * for keepalives, which are pointless while a packet is being sent and must not leave their
     * thread stuck behind a write that the server does not drain.
     */
    boolean trySend(ByteBuffer data) throws IOException {
        if (!writeLock.tryLock()) {
            return false;
        }
        try {
            while (data.hasRemaining()) {
                channel.write(data);
            }
            return true;
        } finally {
            writeLock.unlock();
        }
    }

    /** Closes the channel, which ends a read blocked on it; the first reason given is kept. */
    void close(String reason) {
        if (closeReason == null) {
            closeReason = reason;
        }
        try {
            channel.close();
        } catch (IOException ignored) {
            // Closing is all that was wanted.
        }
    }

    /** Why {@link #close} was called, or null if it was not. */
    String closeReason() {
        return closeReason;
    }
}
