package dev.patchcord.device;

import dev.patchcord.core.Drop;
import dev.patchcord.core.offload.GroCoalescer;
import dev.patchcord.core.wg.CryptoJob;
import dev.patchcord.core.wg.DataCipher;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Outcome;
import dev.patchcord.sys.SysException;
import dev.patchcord.transport.UdpBatch;
import dev.patchcord.transport.UdpSocket;
import dev.patchcord.tun.TunDevice;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * Network to interface in batches (TUN mode): one recvmmsg fills up to {@link #SLOTS} buffers,
 * each holding one datagram or (with UDP GRO) several of one peer. Transport messages are
 * prepared in arrival order ({@link Node#prepareOpen}), decrypted in place with the
 * {@link CryptoPool}, and completed in arrival order ({@link Node#completeOpen}: replay window,
 * source check), then delivered. Handshake messages go through the {@link Receiver} one by one,
 * after everything that arrived before them.
 *
 * <p>With coalescing, delivered TCP segments of one flow are merged ({@link GroCoalescer}) and
 * the batch reaches the interface in a few large writes. A merged flow grows in a buffer of its
 * own: each delivered packet is first copied to a staging slot with 64 KiB of room, because the
 * datagrams of one received buffer lie too close together to grow in place.
 */
final class BatchInbound {
    static final int SLOTS = 32;
    /** Packets opened per round of parallel cipher work, and staged per coalesced write. */
    static final int ROUND = 128;
    private static final int STAGE_SIZE = 65536 + 64;

    private final WgTunnel tunnel;
    private final Node node;
    private final TunDevice tun;
    private final CryptoPool pool;
    private final DataCipher cipher = new DataCipher();
    private final Buffers b;
    private final Receiver receiver;
    private final UdpOrigin origin;
    private final UdpBatch batch;
    private final ByteBuffer[] slotViews = new ByteBuffer[SLOTS];
    private final CryptoJob[] jobs = new CryptoJob[ROUND];
    private final int[] jobSlot = new int[ROUND];
    private final int[] jobBase = new int[ROUND];
    private final int[] jobLen = new int[ROUND];
    private final GroCoalescer coalescer;
    private final MemorySegment stage;
    private final ByteBuffer[] stageViews;
    private int staged;

    BatchInbound(WgTunnel tunnel, TunDevice tun, CryptoPool pool, boolean coalesce, Arena arena, PrintStream verbose) {
        this.tunnel = tunnel;
        this.node = tunnel.node();
        this.tun = tun;
        this.pool = pool;
        this.b = new Buffers(arena);
        this.receiver = new Receiver(tunnel, b, verbose);
        this.origin = new UdpOrigin(tunnel, arena);
        this.batch = new UdpBatch(SLOTS, 65536);
        for (int i = 0; i < SLOTS; i++) {
            slotViews[i] = batch.buffer(i).asByteBuffer();
        }
        for (int i = 0; i < ROUND; i++) {
            jobs[i] = new CryptoJob();
        }
        if (coalesce && tun.vnetHeader()) {
            coalescer = new GroCoalescer(ROUND);
            stage = arena.allocate((long) STAGE_SIZE * ROUND, 64);
            stageViews = new ByteBuffer[ROUND];
            for (int i = 0; i < ROUND; i++) {
                stageViews[i] = stage.asSlice((long) i * STAGE_SIZE, STAGE_SIZE).asByteBuffer();
            }
            receiver.setDelivery(this::stage);
        } else {
            coalescer = null;
            stage = null;
            stageViews = null;
        }
    }

    void run() throws SysException {
        while (true) {
            UdpSocket s = tunnel.socket();
            int m = s.receive(batch);
            if (m < 0) {
                if (s != tunnel.socket() && !tunnel.stopping()) {
                    continue; // moved to a new port
                }
                return;
            }
            int pending = 0;
            long now = System.nanoTime();
            Outcome out = receiver.outcome();
            for (int i = 0; i < m; i++) {
                if (batch.truncated(i)) {
                    node.counters().drop(Drop.OVERSIZE);
                    continue;
                }
                int total = batch.length(i);
                int seg = batch.segmentSize(i);
                int step = seg > 0 ? seg : total;
                for (int off = 0; off < total; off += step) {
                    int len = Math.min(step, total - off);
                    if (pending == ROUND) {
                        complete(pending);
                        pending = 0;
                    }
                    if (node.prepareOpen(slotViews[i], off, len, now, jobs[pending], out)) {
                        jobSlot[pending] = i;
                        jobBase[pending] = off;
                        jobLen[pending] = len;
                        pending++;
                    } else if (out.kind == Outcome.Kind.NONE) {
                        // A handshake message: after everything that came before it, on its own.
                        complete(pending);
                        pending = 0;
                        handshake(i, off, len);
                    } else if (out.kind == Outcome.Kind.DROP && tunnel.verbose() != null) {
                        origin.from = batch.address(i);
                        tunnel.verbose().println("dropped " + len + " bytes from " + origin.describe() + ": "
                                + out.drop.label());
                    }
                }
            }
            complete(pending);
            writeStaged();
        }
    }

    /** Decrypts the pending jobs together, then finishes and delivers them in arrival order. */
    private void complete(int pending) {
        if (pending == 0) {
            return;
        }
        pool.runAll(jobs, pending, cipher);
        long now = System.nanoTime();
        Outcome out = receiver.outcome();
        for (int j = 0; j < pending; j++) {
            node.completeOpen(jobs[j], now, out);
            int slot = jobSlot[j];
            origin.from = batch.address(slot);
            receiver.act(jobLen[j], origin, batch.buffer(slot), slotViews[slot], jobBase[j]);
            jobs[j].clear();
        }
    }

    private void handshake(int slot, int off, int len) {
        if (len > Buffers.SIZE) {
            node.counters().drop(Drop.OVERSIZE);
            return;
        }
        MemorySegment.copy(batch.buffer(slot), off, b.seg, 0, len);
        origin.from = batch.address(slot);
        receiver.handle(len, origin);
    }

    /** Delivery while coalescing: the packet is copied to a staging slot and offered to the coalescer. */
    private void stage(MemorySegment seg, ByteBuffer view, int off, int len) {
        if (staged == ROUND) {
            writeStaged();
        }
        ByteBuffer to = stageViews[staged++];
        to.put(WgTunnel.HEADROOM, view, off, len);
        // Each staged packet makes at most one output and the coalescer has one per staging slot,
        // so with the flush above it always has room.
        if (!coalescer.add(to, WgTunnel.HEADROOM, len)) {
            throw new IllegalStateException("the coalescer has fewer outputs than staging slots");
        }
        node.counters().received(len);
    }

    /** Writes what the coalescer made of the staged packets: each output one write with its virtio header. */
    private void writeStaged() {
        if (coalescer == null || staged == 0) {
            return;
        }
        int outputs = coalescer.flush();
        for (int i = 0; i < outputs; i++) {
            ByteBuffer buf = coalescer.buffer(i);
            int slot = indexOf(buf);
            if (tun.write(stage, (long) slot * STAGE_SIZE + coalescer.offset(i), coalescer.length(i)) < 0) {
                for (int k = 0; k < coalescer.segments(i); k++) {
                    node.counters().drop(Drop.DEVICE_ERROR);
                }
            }
        }
        coalescer.clear();
        staged = 0;
    }

    private int indexOf(ByteBuffer buf) {
        for (int i = 0; i < staged; i++) {
            if (stageViews[i] == buf) {
                return i;
            }
        }
        throw new IllegalStateException("an output of the coalescer is not in a staging slot");
    }

    void close() {
        batch.close();
    }
}
