package dev.patchcord.testing;

import dev.patchcord.sys.Linux;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.tun.PacketDevice;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An interface in memory for the tunnels' and the session builder's tests: what a test puts in {@link #toSend} the tunnel
 * reads; what the tunnel writes lands in {@link #received}. Reads end when the wake-up is signalled.
 * A batching one also serves {@link #tryRead}, as a TUN does (without virtio-net headers), so the
 * encrypted tunnel runs its batched loops on it; a {@link #burst} is then read as one batch.
 */
public final class QueueDevice implements PacketDevice {
    public final BlockingQueue<byte[]> toSend = new LinkedBlockingQueue<>();
    public final BlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
    /** Packets handed over by {@link #tryRead}, the reads that complete a batch. */
    public final AtomicInteger tryReads = new AtomicInteger();
    /** Whether the owner closed it (a session must close its device on every way out). */
    public final AtomicBoolean closed = new AtomicBoolean();
    private final Wakeup wakeup;
    private final boolean batching;
    /** Held while a burst is queued, so that a read of its first packet waits for the rest. */
    private final Object burstLock = new Object();

    public QueueDevice(Wakeup wakeup) {
        this(wakeup, false);
    }

    public QueueDevice(Wakeup wakeup, boolean batching) {
        this.wakeup = wakeup;
        this.batching = batching;
    }

    /** Queues {@code packets} at once: a batching reader takes them in one batch. */
    public void burst(List<byte[]> packets) {
        synchronized (burstLock) {
            toSend.addAll(packets);
        }
    }

    @Override
    public String name() {
        return "mem0";
    }

    @Override
    public boolean batches() {
        return batching;
    }

    @Override
    public int read(MemorySegment buf) {
        try {
            while (!wakeup.signalled()) {
                byte[] p = toSend.poll(50, TimeUnit.MILLISECONDS);
                if (p != null) {
                    synchronized (burstLock) {
                        // a burst being queued is complete before its first packet is handed over
                    }
                    return copy(p, buf);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return -1;
    }

    @Override
    public int tryRead(MemorySegment buf) {
        byte[] p = batching ? toSend.poll() : null;
        if (p == null) {
            return -Linux.EAGAIN;
        }
        tryReads.incrementAndGet();
        return copy(p, buf);
    }

    private static int copy(byte[] p, MemorySegment buf) {
        MemorySegment.copy(p, 0, buf, ValueLayout.JAVA_BYTE, 0, p.length);
        return p.length;
    }

    @Override
    public int write(MemorySegment buf, long off, int len) {
        received.add(buf.asSlice(off, len).toArray(ValueLayout.JAVA_BYTE));
        return 0;
    }

    @Override
    public void close() {
        closed.set(true);
    }
}
