package dev.patchcord.device;

import dev.patchcord.core.Drop;
import dev.patchcord.transport.Origin;
import dev.patchcord.transport.TcpFrames;
import dev.patchcord.transport.TcpTransport;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * One TCP connection's way into the tunnel: a read's messages together through a batch opener
 * ({@link TcpOpeners}) where the tunnel has them (TUN mode, batching on) and one is free; else
 * one by one through this reader's own {@link Receiver}, each copied to its buffer first.
 */
final class TcpInbound implements TcpTransport.Inbound {
    private final WgTunnel tunnel;
    private final TcpOpeners openers;
    private final Buffers b;
    private final Receiver receiver;

    /** @param openers the tunnel's batch openers, or null: one message at a time */
    TcpInbound(WgTunnel tunnel, TcpOpeners openers, Buffers buffers) {
        this.tunnel = tunnel;
        this.openers = openers;
        this.b = buffers;
        this.receiver = new Receiver(tunnel, buffers, tunnel.verbose());
    }

    @Override
    public void handle(MemorySegment chunk, ByteBuffer view, TcpFrames frames, Origin from) {
        TcpOpeners.Opener opener = openers != null ? openers.borrow() : null;
        if (opener != null) {
            boolean done = false;
            try {
                opener.open(chunk, view, frames, from);
                done = true;
            } finally {
                // An opener that failed part-way may hold staged packets or jobs of this read:
                // it is dropped, not lent to the next reader.
                if (done) {
                    openers.giveBack(opener);
                } else {
                    openers.discard(opener);
                }
            }
            return;
        }
        for (int i = 0; i < frames.count(); i++) {
            int len = frames.length(i);
            MemorySegment.copy(chunk, frames.offset(i), b.seg, 0, len); // frames are at most 64 KiB: they fit
            receiver.handle(len, from);
        }
    }

    @Override
    public void malformed() {
        tunnel.node().counters().drop(Drop.MALFORMED);
    }
}
