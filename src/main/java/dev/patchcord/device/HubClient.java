package dev.patchcord.device;

import dev.patchcord.core.simplevpn.ControlMessage;
import dev.patchcord.core.simplevpn.KeepaliveTimer;
import dev.patchcord.core.simplevpn.PacketRing;

import dev.patchcord.transport.StreamSocket;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One client connection of the simplevpn hub: its TCP socket, the tunnel address it was given,
 * its idle timer, and its send queue with the writer that drains it.
 *
 * <p>Packets for this client are copied into its {@link PacketRing} by whichever client's reader
 * routed them, and written out by this client's own writer thread, one packet per write. So a
 * client that reads slowly (or not at all) fills only its own queue: the others' readers never
 * block on it, its packets are dropped and counted ({@code queue-full}), and the idle timer or a
 * write error ends it. The original held one global lock while writing to any client's socket, so
 * a single stalled client stopped the whole hub for up to its 30 s send time-out.
 */
final class HubClient {
    /** The send queue's bound: about 85 full-size (1500-byte) packets, and room for one of 64 KiB. */
    static final int QUEUE_BYTES = 128 * 1024;

    final StreamSocket socket;
    /** The client's TCP address, for log lines. */
    final String peer;
    final KeepaliveTimer timer;
    /** Its tunnel address, or {@link ControlMessage#NONE} until a request was granted; guarded by the hub. */
    volatile int address = ControlMessage.NONE;

    private final PacketRing queue;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition notEmpty = lock.newCondition();
    private volatile boolean closed;
    private volatile String closeReason;
    /** Set while the hub's threads stop for a hand-over: the writer returns between packets. */
    private volatile boolean paused;
    /** Whether the writer runs now (it may be stuck in a write to a client that does not read). */
    volatile boolean writing;
    /** Whether this client's reader and writer were started since the last pause. */
    private final AtomicBoolean threads = new AtomicBoolean();
    /**
     * Bytes read from the client past the last whole item, for the next reader (after a pause, or
     * in a successor); null when there are none. Only the reader (or a paused hub) touches it.
     */
    byte[] unread;
    /** Bytes to write before anything queued: what a predecessor's queue held; guarded by the writer. */
    private byte[] unsent;

    HubClient(StreamSocket socket, String peer, long now) {
        this.socket = socket;
        this.peer = peer;
        this.timer = new KeepaliveTimer(now);
        this.queue = new PacketRing(ByteBuffer.allocateDirect(QUEUE_BYTES));
    }

    /** A client taken over from another process: {@code unsent} goes out before anything queued here. */
    HubClient(StreamSocket socket, String peer, long now, byte[] unread, byte[] unsent) {
        this(socket, peer, now);
        this.unread = unread.length == 0 ? null : unread;
        this.unsent = unsent.length == 0 ? null : unsent;
    }

    /** True once per start: whoever gets it starts this client's reader and writer. */
    boolean claimThreads() {
        return threads.compareAndSet(false, true);
    }

    /** Makes the writer return between packets (a hand-over); see {@link #drainForHandover}. */
    void pauseWriter() {
        lock.lock();
        try {
            paused = true;
            notEmpty.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Once the writer has returned: everything queued and not written, whole packets and messages
     * back to back, taken out of the queue; kept here too, so that a writer started again after a
     * failed hand-over writes it first.
     */
    byte[] drainForHandover() {
        lock.lock();
        try {
            ByteBuffer ring = queue.storage();
            byte[] before = unsent == null ? new byte[0] : unsent;
            int total = before.length;
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(total + 4096);
            out.write(before, 0, before.length);
            while (!queue.isEmpty()) {
                int off = queue.peek();
                int len = queue.peekLength();
                byte[] b = new byte[len];
                ring.get(off, b);
                out.write(b, 0, len);
                queue.remove();
            }
            byte[] all = out.toByteArray();
            unsent = all.length == 0 ? null : all;
            return all;
        } finally {
            lock.unlock();
        }
    }

    /** Ready to be started again after a pause. */
    void resumeWriter() {
        paused = false;
        threads.set(false);
    }

    /**
     * Queues a copy of a packet or control message for this client.
     *
     * @return false if the queue is full (the caller counts the drop); true if queued, or if the
     *         client is closing and it no longer matters
     */
    boolean enqueue(ByteBuffer src, int off, int len) {
        lock.lock();
        try {
            if (closed) {
                return true;
            }
            if (!queue.offer(src, off, len)) {
                return false;
            }
            if (queue.size() == 1) {
                notEmpty.signal();
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Listener for what the writer sent, for counters and verbose output. */
    interface Sent {
        void sent(ByteBuffer buf, int off, int len);
    }

    /** The writer: takes packets from the queue and writes each with its own write, until closed. */
    void writeLoop(Sent sent) {
        ByteBuffer view = queue.storage().duplicate();
        // The same direct memory as the ring, for the socket's writes (made once, not per packet).
        MemorySegment ring = MemorySegment.ofBuffer(view.clear());
        writing = true;
        try {
            byte[] first = unsent;
            if (first != null) {
                // What the previous process had queued: written before anything this one queued.
                try (Arena arena = Arena.ofConfined()) {
                    socket.writeFully(arena.allocateFrom(java.lang.foreign.ValueLayout.JAVA_BYTE, first), 0, first.length);
                }
                unsent = null;
            }
            while (true) {
                int off;
                int len;
                lock.lock();
                try {
                    while (queue.isEmpty() && !closed && !paused) {
                        notEmpty.await();
                    }
                    if (closed || paused) {
                        return;
                    }
                    off = queue.peek();
                    len = queue.peekLength();
                } finally {
                    lock.unlock();
                }
                // The entry stays in the ring, untouched by producers, until it is removed below.
                socket.writeFully(ring, off, len);
                sent.sent(view, off, len);
                lock.lock();
                try {
                    queue.remove();
                } finally {
                    lock.unlock();
                }
            }
        } catch (IOException e) {
            close(closed ? null : "cannot send to it: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close("interrupted");
        } finally {
            writing = false;
        }
    }

    /**
     * Ends the connection (idempotent): closes the socket (shutting it down, which ends a read or
     * write waiting on it), and
     * stops the writer. The first reason given is the one reported.
     */
    void close(String reason) {
        lock.lock();
        try {
            if (closeReason == null && reason != null) {
                closeReason = reason;
            }
            closed = true;
            notEmpty.signalAll();
        } finally {
            lock.unlock();
        }
        socket.close();
    }

    boolean closed() {
        return closed;
    }

    String closeReason() {
        return closeReason == null ? "connection closed" : closeReason;
    }

    /** {@code 198.18.1.2:40000 (10.0.254.254)}, or the TCP address alone before one was assigned. */
    String describe() {
        int a = address;
        return a == ControlMessage.NONE ? peer : peer + " (" + ControlMessage.format(a) + ")";
    }
}
