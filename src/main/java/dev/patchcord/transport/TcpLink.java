package dev.patchcord.transport;

import dev.patchcord.sys.Wakeup;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
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
 *
 * <p>For a restart, a link can be {@link #suspend suspended}: it refuses new messages, writes out
 * what is queued (for a bounded time) and stops its writer after a write, wherever in a frame that
 * left the stream; the bytes still queued go to the successor, which writes them first
 * ({@link #TcpLink(StreamSocket, String, byte[])}), so the far end sees one unbroken stream.
 * Writes never block in the kernel (the writer waits for room in short polls) so that a writer
 * facing a full socket buffer still stops at once.
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

    /** A writer with a full socket buffer looks up this often, to notice a suspension. */
    private static final int WRITE_WAIT_MILLIS = 100;
    /** How long a suspension waits for the writer to reach a stop after the flush. */
    private static final long HOLD_NANOS = 2_000_000_000L;

    private final StreamSocket socket;
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
    /** Suspended: messages are refused (set under {@link #sending}). */
    private volatile boolean refusing;
    /** The writer is asked to stop writing until {@link #resume}. */
    private volatile boolean holding;
    /** The writer has stopped (at a write's end: the stream may stop inside a frame). */
    private volatile boolean held;
    /** Handed over: the writer ends without touching the connection. */
    private volatile boolean abandoned;
    /** Where a suspension waits for the writer's progress. */
    private final Object progress = new Object();

    /** A link on a new connection. */
    public TcpLink(StreamSocket socket) throws IOException {
        this(socket, String.valueOf(socket.remote()), null);
    }

    /**
     * A link on a connection taken over from a predecessor.
     *
     * @param peerName the far end, as the predecessor named it
     * @param unsent   bytes the predecessor queued and did not write (they may end or start inside a
     *                 frame): written first, before any message queued here; null for none
     */
    public TcpLink(StreamSocket socket, String peerName, byte[] unsent) throws IOException {
        if (unsent != null && unsent.length > QUEUE_BYTES) {
            throw new IllegalArgumentException(unsent.length + " unsent bytes do not fit the ring");
        }
        this.socket = socket;
        socket.setNoDelay(true);
        this.peerName = peerName;
        if (unsent != null && unsent.length > 0) {
            ring = Arena.ofAuto().allocate(QUEUE_BYTES, 64);
            MemorySegment.copy(unsent, 0, ring, ValueLayout.JAVA_BYTE, 0, unsent.length);
            tail = unsent.length;
        }
        this.writer = Thread.ofPlatform().daemon(true).name("tcp-writer " + peerName).start(this::writeLoop);
    }

    /** The far end, as named when the connection was made. */
    String peerName() {
        return peerName;
    }

    /** The socket, whose descriptor a hand-over passes on. */
    StreamSocket socket() {
        return socket;
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
            if (closed || refusing || t + TcpFrames.HEADER + len - head > QUEUE_BYTES) {
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
        try {
            while (!closed) {
                if (holding) {
                    hold();
                    continue;
                }
                long h = head;
                long t = tail;
                if (h == t) {
                    idle = true;
                    if (tail == h && !closed && !holding) { // looked at again after saying so: a sender either saw idle or is seen here
                        LockSupport.parkNanos(this, IDLE_NANOS);
                    }
                    idle = false;
                    continue;
                }
                int from = index(h);
                int n = (int) (t - h);
                int firstPart = Math.min(n, QUEUE_BYTES - from);
                long written = socket.write(ring, from, firstPart, ring, 0, n - firstPart, WRITE_WAIT_MILLIS);
                if (written > 0) {
                    writes++; // the writer's own field: no other thread moves it
                    head = h + written;
                    if (refusing) {
                        synchronized (progress) {
                            progress.notifyAll();
                        }
                    }
                }
            }
        } catch (IOException e) {
            // The connection broke (or was closed): the reader finds out too.
        } finally {
            if (!abandoned) {
                close();
            }
            synchronized (progress) {
                progress.notifyAll();
            }
        }
    }

    /** Stops writing until {@link #resume} (or the end), saying so to {@link #suspend}. */
    private void hold() {
        synchronized (progress) {
            held = true;
            progress.notifyAll();
            while (holding && !closed) {
                try {
                    progress.wait();
                } catch (InterruptedException e) {
                    // only resume or the end let the writer go on
                }
            }
            held = false;
        }
    }

    /** The first step of {@link #suspend}: refuses new messages, and has the writer write out the rest. */
    void refuse() {
        synchronized (sending) {
            refusing = true;
        }
        LockSupport.unpark(writer);
    }

    /**
     * Suspends the link for a hand-over: refuses new messages, lets the writer write out what is
     * queued until {@code flushDeadline} (a {@link System#nanoTime()}), then stops it.
     *
     * @return the bytes still queued (usually none; they may start inside a frame), for the
     *         successor to write first; or null if the link is closed
     */
    byte[] suspend(long flushDeadline) {
        refuse();
        synchronized (progress) {
            while (head != tail && !closed && writer.isAlive()) {
                long left = flushDeadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                waitOn(left);
            }
            holding = true;
            LockSupport.unpark(writer);
            long end = System.nanoTime() + HOLD_NANOS;
            while (!held && !closed && writer.isAlive()) {
                long left = end - System.nanoTime();
                if (left <= 0) {
                    // Not expected: a writer waits WRITE_WAIT_MILLIS at most between looks.
                    throw new IllegalStateException("the writer of " + describe() + " did not stop");
                }
                waitOn(left);
            }
        }
        if (closed) {
            return null;
        }
        long h = head;
        int n = (int) (tail - h);
        byte[] unsent = new byte[n];
        int from = index(h);
        int first = Math.min(n, QUEUE_BYTES - from);
        if (n > 0) {
            MemorySegment.copy(ring, ValueLayout.JAVA_BYTE, from, unsent, 0, first);
            MemorySegment.copy(ring, ValueLayout.JAVA_BYTE, 0, unsent, first, n - first);
        }
        return unsent;
    }

    private void waitOn(long nanos) {
        try {
            progress.wait(Math.max(1, nanos / 1_000_000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while suspending " + describe(), e);
        }
    }

    /** Carries on after {@link #suspend}: takes messages and writes again. */
    void resume() {
        synchronized (sending) {
            refusing = false;
        }
        synchronized (progress) {
            holding = false;
            progress.notifyAll();
        }
        LockSupport.unpark(writer);
    }

    /**
     * After a hand-over: ends the writer and closes this process's descriptor without shutting the
     * connection down (the successor has it now).
     */
    void abandon() {
        abandoned = true;
        synchronized (sending) {
            closed = true;
        }
        synchronized (progress) {
            progress.notifyAll();
        }
        LockSupport.unpark(writer);
        socket.release();
    }

    /**
     * Reads what has arrived into {@code buf[from, to)}, at least one byte, waiting for it.
     *
     * @param stop ends the wait; nothing is read once it has fired
     * @return how many bytes, or {@link StreamSocket#STOPPED}
     * @throws EOFException when the peer closed the connection
     */
    public int readInto(MemorySegment buf, int from, int to, Wakeup stop) throws IOException {
        return socket.read(buf, from, to - from, stop);
    }

    @Override
    public void close() {
        synchronized (sending) {
            closed = true;
        }
        synchronized (progress) {
            progress.notifyAll(); // a writer held by a suspension ends too
        }
        LockSupport.unpark(writer);
        if (!abandoned) {
            socket.close();
        }
    }
}
