package dev.patchcord.transport;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One TCP connection carrying WireGuard messages, each framed by a 2-byte big-endian length (TCP is
 * a byte stream; the messages themselves are unchanged, so the protocol's security is too).
 *
 * <p>Sending never blocks the caller: messages go into a bounded queue that this link's own
 * writer thread drains, and a full queue drops the message (the caller counts it). A stalled or
 * slow peer therefore costs only its own queue, never another peer's traffic.
 */
public final class TcpLink implements AutoCloseable {
    /** Frames are at most 65535 bytes: every WireGuard message fits. */
    public static final int MAX_MESSAGE = 0xffff;
    public static final int QUEUE = 1024;
    /**
     * Bytes waiting in the queue at most. 1024 full-size messages (MTU 1420) are 1.5 MiB; without a
     * byte bound, 1024 messages of up to 64 KiB could hold 64 MiB per connection.
     */
    public static final int QUEUE_BYTES = 2 << 20;

    private final SocketChannel channel;
    private final String peerName;
    private final BlockingQueue<byte[]> queue = new ArrayBlockingQueue<>(QUEUE);
    private final java.util.concurrent.atomic.AtomicInteger queuedBytes = new java.util.concurrent.atomic.AtomicInteger();
    private volatile boolean closed;

    public TcpLink(SocketChannel channel) throws IOException {
        this.channel = channel;
        channel.configureBlocking(true);
        channel.socket().setTcpNoDelay(true);
        this.peerName = String.valueOf(channel.getRemoteAddress());
        Thread.ofVirtual().name("tcp-writer " + peerName).start(this::writeLoop);
    }

    public String describe() {
        return "tcp:" + peerName;
    }

    public boolean isOpen() {
        return !closed;
    }

    /** Queues {@code len} bytes at the start of {@code seg}; false if the link is closed or its queue is full. */
    public boolean send(MemorySegment seg, int len) {
        if (closed || len > MAX_MESSAGE) {
            return false;
        }
        if (queuedBytes.get() + len > QUEUE_BYTES) {
            return false;
        }
        return enqueue(seg.asSlice(0, len).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
    }

    /** Queues a message given as bytes. */
    public boolean send(byte[] message) {
        return !closed && message.length <= MAX_MESSAGE && queuedBytes.get() + message.length <= QUEUE_BYTES
                && enqueue(message.clone());
    }

    /** Within both bounds: {@link #QUEUE} messages and (give or take concurrent senders) {@link #QUEUE_BYTES}. */
    private boolean enqueue(byte[] m) {
        queuedBytes.addAndGet(m.length);
        if (queue.offer(m)) {
            return true;
        }
        queuedBytes.addAndGet(-m.length);
        return false;
    }

    /** Bytes queued and not yet written. */
    public int queuedBytes() {
        return queuedBytes.get();
    }

    private void writeLoop() {
        ByteBuffer header = ByteBuffer.allocate(2);
        try {
            while (!closed) {
                byte[] m = queue.poll(1, TimeUnit.SECONDS);
                if (m == null) {
                    continue;
                }
                queuedBytes.addAndGet(-m.length);
                header.clear();
                header.putShort(0, (short) m.length);
                ByteBuffer[] frame = {header, ByteBuffer.wrap(m)};
                while (frame[1].hasRemaining()) {
                    channel.write(frame);
                }
            }
        } catch (IOException | InterruptedException e) {
            close();
        }
    }

    /**
     * Reads the next message into {@code buf} from position 0, waiting for it.
     *
     * @return its length
     * @throws EOFException when the peer closed the connection
     */
    public int read(ByteBuffer buf) throws IOException {
        buf.clear().limit(2);
        readFully(buf);
        int len = Short.toUnsignedInt(buf.getShort(0));
        if (len == 0 || len > buf.capacity()) {
            throw new IOException("bad frame length " + len + " from " + peerName);
        }
        buf.clear().limit(len);
        readFully(buf);
        buf.clear(); // callers use absolute indices over the whole buffer
        return len;
    }

    private void readFully(ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            if (channel.read(buf) < 0) {
                throw new EOFException(peerName + " closed the connection");
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing: nothing more to do
        }
    }
}
