package dev.patchcord.device;

import dev.patchcord.core.Drop;
import dev.patchcord.core.wg.CryptoJob;
import dev.patchcord.core.wg.DataCipher;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Outcome;
import dev.patchcord.transport.Origin;
import dev.patchcord.transport.TcpFrames;
import dev.patchcord.tun.PacketDevice;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The batched way in for WireGuard over TCP (TUN mode): the messages of one read from a
 * connection are opened as {@link BatchInbound} opens a batch of datagrams: prepared in order
 * ({@link Node#prepareOpen}), decrypted together, completed in order ({@link Node#completeOpen}),
 * and the packets merged ({@link CoalescingWriter}) into a few large writes to the interface.
 *
 * <p>An opener's staging memory is large (8 MiB with coalescing), so the tunnel keeps a few,
 * shared by all its connections' readers, made as they are first needed: a reader borrows one
 * for a read's messages and gives it back. A reader that finds none free takes its messages one
 * by one ({@link TcpInbound}): correct, just slower, and only when more connections than
 * {@link #MAX} are busy at the same moment. The cipher work runs on the reader's own thread:
 * each connection has one, and a connection's messages must be taken in order anyway.
 */
final class TcpOpeners {
    /** Openers at most: enough for the cores a busy tunnel has to spare. */
    static final int MAX = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
    /** Messages decrypted per round, as {@link BatchInbound#ROUND}. */
    static final int ROUND = BatchInbound.ROUND;

    private final WgTunnel tunnel;
    private final PacketDevice tun;
    private final boolean coalesce;
    private final Arena arena;
    private final ArrayBlockingQueue<Opener> free = new ArrayBlockingQueue<>(MAX);
    private final AtomicInteger made = new AtomicInteger();

    TcpOpeners(WgTunnel tunnel, PacketDevice tun, boolean coalesce, Arena arena) {
        this.tunnel = tunnel;
        this.tun = tun;
        this.coalesce = coalesce && tun.vnetHeader();
        this.arena = arena;
    }

    /** A free opener, or null if {@link #MAX} are in use. */
    Opener borrow() {
        Opener o = free.poll();
        if (o != null) {
            return o;
        }
        if (made.incrementAndGet() > MAX) {
            made.decrementAndGet();
            return null;
        }
        return new Opener();
    }

    void giveBack(Opener o) {
        free.offer(o);
    }

    /**
     * Forgets an opener that must not be used again (its read failed part-way, which only a fault
     * does); another may be made. Its memory stays with the tunnel's arena.
     */
    void discard(Opener o) {
        made.decrementAndGet();
    }

    /** One batch opener: jobs, a cipher, a receiver that delivers into a coalescing writer (or writes each packet). */
    final class Opener {
        private final Node node = tunnel.node();
        private final DataCipher cipher = tunnel.newCipher();
        private final Buffers b;
        private final Receiver receiver;
        private final CoalescingWriter writer;
        private final CryptoJob[] jobs = new CryptoJob[ROUND];
        private final int[] jobBase = new int[ROUND];
        private final int[] jobLen = new int[ROUND];
        private int pending;

        private Opener() {
            b = new Buffers(arena, tunnel.newCipher());
            writer = coalesce ? new CoalescingWriter(tun, node.counters(), arena) : null;
            receiver = new Receiver(tunnel, b, tunnel.verbose());
            if (writer != null) {
                receiver.setDelivery((seg, view, off, len) -> writer.add(view, off, len));
            }
            for (int i = 0; i < ROUND; i++) {
                jobs[i] = new CryptoJob();
            }
        }

        /** Opens and delivers the messages {@code frames} found in {@code chunk}. */
        void open(MemorySegment chunk, ByteBuffer view, TcpFrames frames, Origin from) {
            long now = System.nanoTime();
            Outcome out = receiver.outcome();
            pending = 0;
            for (int i = 0; i < frames.count(); i++) {
                int off = frames.offset(i);
                int len = frames.length(i);
                if (pending == ROUND) {
                    complete(chunk, view, from);
                }
                if (node.prepareOpen(view, off, len, now, jobs[pending], out)) {
                    jobBase[pending] = off;
                    jobLen[pending] = len;
                    pending++;
                } else if (out.kind() == Outcome.Kind.NONE) {
                    // A handshake message: after everything that came before it, on its own.
                    complete(chunk, view, from);
                    handshake(chunk, off, len, from);
                } else if (out.kind() == Outcome.Kind.DROP && tunnel.verbose() != null) {
                    tunnel.verbose().println("dropped " + len + " bytes from " + from.describe() + ": "
                            + out.drop().label());
                }
            }
            complete(chunk, view, from);
            if (writer != null) {
                writer.flush();
            }
        }

        private void complete(MemorySegment chunk, ByteBuffer view, Origin from) {
            for (int j = 0; j < pending; j++) {
                jobs[j].run(cipher);
            }
            long now = System.nanoTime();
            Outcome out = receiver.outcome();
            for (int j = 0; j < pending; j++) {
                node.completeOpen(jobs[j], now, out);
                receiver.act(jobLen[j], from, chunk, view, jobBase[j]);
                jobs[j].clear();
            }
            pending = 0;
        }

        private void handshake(MemorySegment chunk, int off, int len, Origin from) {
            if (len > Buffers.SIZE) {
                node.counters().drop(Drop.OVERSIZE);
                return;
            }
            MemorySegment.copy(chunk, off, b.seg, 0, len);
            receiver.handle(len, from);
        }
    }
}
