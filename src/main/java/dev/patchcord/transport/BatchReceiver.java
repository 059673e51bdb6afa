package dev.patchcord.transport;

import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;
import dev.patchcord.sys.SysException;

import java.nio.ByteBuffer;

/**
 * Receives batches from a transport for the encrypted and the plain paths alike: one receive
 * fills up to {@code slots} buffers, each holding one datagram or (with UDP GRO) several of one
 * sender; a buffer the kernel cut short is counted and skipped; the subclass takes each buffer
 * ({@link #buffer}) and ends the batch ({@link #batchDone}). Everything runs on the one thread
 * that calls {@link #run}.
 */
public abstract class BatchReceiver {
    protected final UdpBatch batch;
    /** Buffer i's view. */
    protected final ByteBuffer[] views;
    private final Counters counters;

    protected BatchReceiver(int slots, Counters counters) {
        this.batch = new UdpBatch(slots, 65536);
        this.views = new ByteBuffer[slots];
        this.counters = counters;
        for (int i = 0; i < slots; i++) {
            views[i] = batch.buffer(i).asByteBuffer();
        }
    }

    /** Receives the next batch into {@link #batch}: how many buffers, or -1 once closed. */
    protected abstract int receive() throws SysException;

    /** After a receive returned -1: whether to go on, because the transport was replaced. */
    protected boolean replaced() {
        return false;
    }

    /** A batch of {@code m} buffers has arrived (before the first {@link #buffer}). */
    protected void batchStarting(int m) {
    }

    /**
     * Takes buffer {@code i}: {@code total} bytes, in datagrams of {@code segment} bytes (the last
     * may be shorter), or one datagram if {@code segment} is 0.
     */
    protected abstract void buffer(int i, int total, int segment);

    /** Every buffer of the batch has been taken. */
    protected abstract void batchDone();

    /** Receives and hands over batches until the transport is closed or the loop must stop. */
    public final void run() throws SysException {
        while (true) {
            int m = receive();
            if (m < 0) {
                if (replaced()) {
                    continue;
                }
                return;
            }
            batchStarting(m);
            for (int i = 0; i < m; i++) {
                if (batch.truncated(i)) {
                    counters.drop(Drop.OVERSIZE);
                    continue;
                }
                buffer(i, batch.length(i), batch.segmentSize(i));
            }
            batchDone();
        }
    }

    public void close() {
        batch.close();
    }
}
