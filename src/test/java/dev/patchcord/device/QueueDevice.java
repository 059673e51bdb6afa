package dev.patchcord.device;

import dev.patchcord.sys.Wakeup;
import dev.patchcord.tun.PacketDevice;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * An interface in memory for the tunnels' tests: what a test puts in {@link #toSend} the tunnel
 * reads; what the tunnel writes lands in {@link #received}. Reads end when the wake-up is signalled.
 */
final class QueueDevice implements PacketDevice {
    final BlockingQueue<byte[]> toSend = new LinkedBlockingQueue<>();
    final BlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
    private final Wakeup wakeup;

    QueueDevice(Wakeup wakeup) {
        this.wakeup = wakeup;
    }

    @Override
    public String name() {
        return "mem0";
    }

    @Override
    public int read(MemorySegment buf) {
        try {
            while (!wakeup.signalled()) {
                byte[] p = toSend.poll(50, TimeUnit.MILLISECONDS);
                if (p != null) {
                    MemorySegment.copy(p, 0, buf, ValueLayout.JAVA_BYTE, 0, p.length);
                    return p.length;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return -1;
    }

    @Override
    public int write(MemorySegment buf, long off, int len) {
        received.add(buf.asSlice(off, len).toArray(ValueLayout.JAVA_BYTE));
        return 0;
    }

    @Override
    public void close() {
    }
}
