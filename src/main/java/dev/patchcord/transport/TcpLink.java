package dev.patchcord.transport;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.util.concurrent.locks.LockSupport;

/**
 * One TCP connection carrying WireGuard messages, each framed by a 2-byte big-endian length (TCP is
 * a byte stream; the messages themselves are unchanged, so the protocol's security is too).
 *
 * <p>Sending never blocks the caller: a message is copied, with its length in front, into this
 * link's ring of {@link #QUEUE_BYTES}, and the link's own writer thread writes everything queued
 * in one (gathering) write, so a batch of messages costs one system call, not one each. A full
 * ring drops the message (the caller counts it): a stalled or slow peer costs only its own ring,
 * never another peer's traffic. Any thread may send: a message is copied whole under a lock, so
 * the messages of several senders never interleave; only the writer thread writes to the socket.
 *
 * <p>Receiving is for one reader thread ({@link #readInto}): large reads, which the reader cuts
 * into messages with {@link TcpFrames}.
 */
public final class TcpLink implements AutoCloseable {
    /** Frames are at most 65535 bytes: every WireGuard message fits. */
    public static final int MAX_MESSAGE = 0xffff;
    /**
     * Bytes waiting to be written at most, length prefixes included: 360 full-size messages (MTU
     * 1420), more than a batch, behind the kernel's socket buffer. A power of two (the ring).
     */
    public static final int QUEUE_BYTES = 1 << 19;
    /** Idle writers look at the ring at least this often, to notice a closed link. */
    private static final long IDLE_NANOS = 1_000_000_000L;
    private static final ValueLayout.OfShort LENGTH =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final SocketChannel channel;
    private final String peerName;
    /**
     * The ring: bytes [head, tail) (positions that only grow; the index is modulo its size) wait to
     * be written. Made by the first message out, so that a connection that never gets one (not
     * authenticated) holds none; published to the writer by the move of {@link #tail}.
     */
    private MemorySegment ring;
    /** Serialises senders: each copies a whole frame and moves the tail. */
    private final Object sending = new Object();
    /** Written up to here; moved by the writer only. */
    private volatile long head;
    /** Queued up to here; moved by senders, under {@link #sending}. */
    private volatile long tail;
    /** The writer found nothing to write and waits to be woken. */
    private volatile boolean idle;
    private final Thread writer;
    /** Writes made to the socket (for tests: a batch should cost one). */
    private volatile long writes;
    private volatile boolean closed;

    public TcpLink(SocketChannel channel) throws IOException {
        this.channel = channel;
        channel.configureBlocking(true);
        channel.socket().setTcpNoDelay(true);
        this.peerName = String.valueOf(channel.getRemoteAddress());
        this.writer = Thread.ofVirtual().name("tcp-writer " + peerName).start(this::writeLoop);
    }

    public String describe() {
        return "tcp:" + peerName;
    }

    public boolean isOpen() {
        return !closed;
    }

    /**
     * Queues the message at {@code seg[off, off + len)}.
     *
     * @param more more messages to this link follow at once (the rest of a batch): the writer is
     *             woken by the last, so that the batch leaves in one write
     * @return false if the link is closed or its queue is full (the message is dropped)
     */
    public boolean send(MemorySegment seg, long off, int len, boolean more) {
        boolean queued = enqueue(seg, off, len, null);
        if (!more) {
            wake();
        }
        return queued;
    }

    /** Queues a message given as bytes. */
    public boolean send(byte[] message) {
        boolean queued = enqueue(null, 0, message.length, message);
        wake();
        return queued;
    }

    /** Copies one frame into the ring, whole or not at all: from {@code seg} or else from {@code bytes}. */
    private boolean enqueue(MemorySegment seg, long off, int len, byte[] bytes) {
        if (len <= 0 || len > MAX_MESSAGE) {
            return false;
        }
        synchronized (sending) {
            long t = tail;
            if (closed || t + TcpFrames.HEADER + len - head > QUEUE_BYTES) {
                return false;
            }
            if (ring == null) {
                // Freed once the link is unreachable: a sender that raced with close() may still copy into it.
                ring = Arena.ofAuto().allocate(QUEUE_BYTES, 64);
            }
            int at = index(t);
            if (at + TcpFrames.HEADER <= QUEUE_BYTES) {
                ring.set(LENGTH, at, (short) len);
            } else {
                ring.set(ValueLayout.JAVA_BYTE, at, (byte) (len >>> 8)); // the prefix wraps
                ring.set(ValueLayout.JAVA_BYTE, 0, (byte) len);
            }
            int body = index(t + TcpFrames.HEADER);
            int before = Math.min(len, QUEUE_BYTES - body);
            copy(seg, off, bytes, 0, body, before);
            if (before < len) {
                copy(seg, off, bytes, before, 0, len - before);
            }
            tail = t + TcpFrames.HEADER + len; // publishes the bytes to the writer
            return true;
        }
    }

    private void copy(MemorySegment seg, long off, byte[] bytes, int from, int to, int n) {
        if (seg != null) {
            MemorySegment.copy(seg, off + from, ring, to, n);
        } else {
            MemorySegment.copy(bytes, from, ring, ValueLayout.JAVA_BYTE, to, n);
        }
    }

    private static int index(long position) {
        return (int) (position & (QUEUE_BYTES - 1));
    }

    /** Wakes the writer if it waits (once per wait: a writer at work looks at the ring again anyway). */
    private void wake() {
        if (idle) {
            idle = false;
            LockSupport.unpark(writer);
        }
    }

    /** Bytes queued and not yet written (length prefixes included). */
    public int queuedBytes() {
        return (int) (tail - head);
    }

    /** System calls that wrote to the socket so far. */
    long writes() {
        return writes;
    }

    /** Whether the writer waits for something to write. */
    boolean idle() {
        return idle;
    }

    private void writeLoop() {
        // The ring twice as buffers, for a write that wraps around its end; made with the ring.
        ByteBuffer first = null;
        ByteBuffer second = null;
        ByteBuffer[] both = null;
        try {
            while (!closed) {
                long h = head;
                long t = tail;
                if (h == t) {
                    idle = true;
                    if (tail == h && !closed) { // looked at again after saying so: a sender either saw idle or is seen here
                        LockSupport.parkNanos(this, IDLE_NANOS);
                    }
                    idle = false;
                    continue;
                }
                if (first == null) {
                    first = ring.asByteBuffer(); // the ring exists: a sender moved the tail after making it
                    second = ring.asByteBuffer();
                    both = new ByteBuffer[] {first, second};
                }
                int from = index(h);
                int n = (int) (t - h);
                int firstPart = Math.min(n, QUEUE_BYTES - from);
                first.limit(from + firstPart).position(from);
                if (firstPart < n) {
                    second.limit(n - firstPart).position(0);
                    channel.write(both);
                } else {
                    channel.write(first);
                }
                writes++; // the writer's own field: no other thread moves it
                long written = (first.position() - from) + (firstPart < n ? second.position() : 0);
                head = h + written;
            }
        } catch (IOException e) {
            // The connection broke (or was closed): the reader finds out too.
        } finally {
            close();
        }
    }

    /**
     * Reads what has arrived into {@code buf[from, buf.limit())}, at least one byte, waiting for it.
     *
     * @return how many bytes
     * @throws EOFException when the peer closed the connection
     */
    public int readInto(ByteBuffer buf, int from) throws IOException {
        buf.position(from);
        int n = channel.read(buf);
        if (n < 0) {
            throw new EOFException(peerName + " closed the connection");
        }
        return n;
    }

    @Override
    public void close() {
        synchronized (sending) {
            closed = true;
        }
        LockSupport.unpark(writer);
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing: nothing more to do
        }
    }
}
