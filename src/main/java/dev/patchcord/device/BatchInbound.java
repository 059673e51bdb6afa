package dev.patchcord.device;

import dev.patchcord.core.Drop;
import dev.patchcord.core.wg.CryptoJob;
import dev.patchcord.core.wg.DataCipher;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Outcome;
import dev.patchcord.sys.SysException;
import dev.patchcord.transport.BatchReceiver;
import dev.patchcord.transport.UdpSocket;
import dev.patchcord.tun.PacketDevice;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Network to interface in batches (TUN and TAP mode): the {@link BatchReceiver} fills up to
 * {@link #SLOTS} buffers, each holding one datagram or (with UDP GRO) several of one peer.
 * Transport messages are
 * prepared in arrival order ({@link Node#prepareOpen}), decrypted in place with the
 * {@link CryptoPool}, and completed in arrival order ({@link Node#completeOpen}: replay window,
 * source check), then delivered. Handshake messages go through the {@link Receiver} one by one,
 * after everything that arrived before them.
 *
 * <p>With coalescing, delivered TCP segments (and equal-size UDP datagrams) of one flow are
 * merged ({@link CoalescingWriter}) and the batch reaches the interface in a few large writes.
 */
final class BatchInbound extends BatchReceiver {
    static final int SLOTS = 32;
    /** Packets opened per round of parallel cipher work. */
    static final int ROUND = 128;

    private final WgTunnel tunnel;
    private final Node node;
    private final PacketDevice tun;
    private final CryptoPool pool;
    private final DataCipher cipher;
    private final Buffers b;
    private final Receiver receiver;
    private final UdpOrigin origin;
    private final CryptoJob[] jobs = new CryptoJob[ROUND];
    private final int[] jobSlot = new int[ROUND];
    private final int[] jobBase = new int[ROUND];
    private final int[] jobLen = new int[ROUND];
    /** Merges delivered TCP segments before they reach the interface, or null to write each as it comes. */
    private final CoalescingWriter writer;
    /** The socket the last receive waited on, to tell a port change from the end. */
    private UdpSocket receivingOn;
    /** Jobs prepared and not yet completed, and the batch's time and outcome. */
    private int pending;
    private long now;
    private Outcome out;

    BatchInbound(WgTunnel tunnel, PacketDevice tun, CryptoPool pool, boolean coalesce, Arena arena, PrintStream verbose) {
        super(SLOTS, tunnel.node().counters());
        this.cipher = tunnel.newCipher();
        this.tunnel = tunnel;
        this.node = tunnel.node();
        this.tun = tun;
        this.pool = pool;
        this.b = new Buffers(arena, tunnel.newCipher());
        this.receiver = new Receiver(tunnel, b, verbose);
        this.origin = new UdpOrigin(tunnel, arena);
        for (int i = 0; i < ROUND; i++) {
            jobs[i] = new CryptoJob();
        }
        if (coalesce && tun.vnetHeader()) {
            writer = new CoalescingWriter(tun, node.counters(), arena, node.layer2());
            receiver.setDelivery((seg, view, off, len) -> writer.add(view, off, len));
        } else {
            writer = null;
        }
    }

    @Override
    protected int receive() throws SysException {
        receivingOn = tunnel.socket();
        return tunnel.transport().receive(batch);
    }

    @Override
    protected boolean replaced() {
        return receivingOn != tunnel.socket() && !tunnel.stopping(); // moved to a new port
    }

    @Override
    protected void batchStarting(int m) {
        pending = 0;
        now = System.nanoTime();
        out = receiver.outcome();
    }

    @Override
    protected void buffer(int i, int total, int seg) {
        int step = seg > 0 ? seg : total;
        for (int off = 0; off < total; off += step) {
            int len = Math.min(step, total - off);
            if (pending == ROUND) {
                complete(pending);
                pending = 0;
            }
            if (node.prepareOpen(views[i], off, len, now, jobs[pending], out)) {
                jobSlot[pending] = i;
                jobBase[pending] = off;
                jobLen[pending] = len;
                pending++;
            } else if (out.kind() == Outcome.Kind.NONE) {
                // A handshake message: after everything that came before it, on its own.
                complete(pending);
                pending = 0;
                handshake(i, off, len);
            } else if (out.kind() == Outcome.Kind.DROP && tunnel.verbose() != null) {
                origin.from = batch.endpoint(i);
                tunnel.verbose().println("dropped " + len + " bytes from " + origin.describe() + ": "
                        + out.drop().label());
            }
        }
    }

    @Override
    protected void batchDone() {
        complete(pending);
        pending = 0;
        if (writer != null) {
            writer.flush();
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
            origin.from = batch.endpoint(slot);
            receiver.act(jobLen[j], origin, batch.buffer(slot), views[slot], jobBase[j]);
            jobs[j].clear();
        }
    }

    private void handshake(int slot, int off, int len) {
        if (len > Buffers.SIZE) {
            node.counters().drop(Drop.OVERSIZE);
            return;
        }
        MemorySegment.copy(batch.buffer(slot), off, b.seg, 0, len);
        origin.from = batch.endpoint(slot);
        receiver.handle(len, origin);
    }

    /** The loop of the batched {@code net-to-device} thread: a cipher pool of its own, and this. */
    static final class Runner implements Loops.Loop {
        private final WgTunnel tunnel;
        private final PacketDevice device;
        private final int threads;
        private final boolean coalesce;

        Runner(WgTunnel tunnel, PacketDevice device, int threads, boolean coalesce) {
            this.tunnel = tunnel;
            this.device = device;
            this.threads = threads;
            this.coalesce = coalesce;
        }

        @Override
        public void run() throws Exception {
            try (CryptoPool pool = new CryptoPool(threads, "open", tunnel::newCipher)) {
                BatchInbound b = new BatchInbound(tunnel, device, pool, coalesce, tunnel.arena(), tunnel.verbose());
                try {
                    b.run();
                } finally {
                    b.close();
                }
            }
        }
    }
}
