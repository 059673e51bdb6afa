package dev.patchcord.device;

import dev.patchcord.core.Drop;
import dev.patchcord.core.l2.MacTable;
import dev.patchcord.core.l2.TapFrames;
import dev.patchcord.core.wg.CryptoJob;
import dev.patchcord.core.wg.DataCipher;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.transport.UdpBatch;
import dev.patchcord.transport.Transport;
import dev.patchcord.tun.BatchReader;
import dev.patchcord.tun.PacketDevice;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * Interface to network in batches (TUN mode): the {@link BatchReader} reads a batch, cutting TSO
 * super-packets into MTU-sized segments. Each segment is routed (one of the tunnel's own datagrams come back is dropped,
 * {@link LoopGuard}; one that no peer covers is answered, {@link Unreachables}) and gets its
 * counter in order ({@link Peer#prepareSeal}); the
 * cipher work of the whole batch is then shared with the {@link CryptoPool}; last, runs of
 * segments to one peer leave as one UDP GSO message each, in one sendmmsg for the batch.
 *
 * <p>Segments are sealed in slots of a fixed stride and moved together (left, in order) just
 * before sending, because GSO wants the datagrams of one message back to back. The stride follows
 * the interface's MTU, which may change while the tunnel runs: when it grows past what the slots
 * hold they are made anew (between batches, never per packet); when it shrinks they stay, so
 * packets queued before the change still fit.
 *
 * <p>TAP mode: the slots hold frames behind their {@link TapFrames} length prefix, cut from
 * Ethernet super-frames the same way; each goes to the peer its destination MAC address is behind
 * (the only peer, if there is one), and one with no such peer (broadcast, multicast, unknown) is
 * flooded to every peer after the batch, as {@link OutboundLoop} does it one frame at a time.
 */
final class BatchOutbound extends BatchReader {
    /** Segments per batch: two super-packets at the usual MSS. */
    static final int MAX_SEGMENTS = 256;

    private final WgTunnel tunnel;
    private final Node node;
    private final CryptoPool pool;
    private final DataCipher cipher;
    private final Buffers control;
    /** The slots' memory, made anew (and the old freed) when the MTU grows past {@link #capacity}. */
    private Arena slotArena;
    private int stride;
    /** The longest plaintext a slot holds, with room after it for padding and the tag. */
    private int capacity;
    private MemorySegment out;
    /** Slot k's view of {@code out}: plaintext at 16, the sealed message from 0. */
    private final ByteBuffer[] views = new ByteBuffer[MAX_SEGMENTS];
    private final int[] sealed = new int[MAX_SEGMENTS];
    private final Peer[] peers = new Peer[MAX_SEGMENTS];
    private final CryptoJob[] jobs = new CryptoJob[MAX_SEGMENTS];
    private final CryptoJob[] work = new CryptoJob[MAX_SEGMENTS];
    private final Peer[] waiting = new Peer[MAX_SEGMENTS];
    /** Per message of the batch: whose endpoint it went to, and which (to forget a refused source). */
    private final PeerAddress[] messageEndpoint = new PeerAddress[MAX_SEGMENTS];
    private final MemorySegment[] messageTo = new MemorySegment[MAX_SEGMENTS];
    private final UdpBatch batch;
    private final LoopGuard loopGuard;
    private final Unreachables unreachables;
    /** TAP mode: frames (behind their length prefix) instead of IP packets. */
    private final boolean layer2;
    /** Where a read lands in a slot's plaintext: after the length prefix in TAP mode. */
    private final int prefix;
    /** TAP mode: each slot's memory (for flooding), and which slots of the batch are floods. */
    private final MemorySegment[] slotSegs = new MemorySegment[MAX_SEGMENTS];
    private final boolean[] flood = new boolean[MAX_SEGMENTS];
    private int floods;

    BatchOutbound(WgTunnel tunnel, PacketDevice tun, CryptoPool pool, Arena arena) {
        super(tun, MAX_SEGMENTS, WgTunnel.HEADROOM + prefix(tunnel), tunnel.node().counters(), arena,
                tunnel.node().layer2());
        this.layer2 = tunnel.node().layer2();
        this.prefix = prefix(tunnel);
        this.tunnel = tunnel;
        this.cipher = tunnel.newCipher();
        this.loopGuard = new LoopGuard(tunnel.node(), tunnel.endpoints(), () -> tunnel.socket().port());
        this.unreachables = new Unreachables(tunnel, arena);
        this.node = tunnel.node();
        this.pool = pool;
        this.control = new Buffers(arena, tunnel.newCipher());
        for (int k = 0; k < MAX_SEGMENTS; k++) {
            jobs[k] = new CryptoJob();
        }
        this.batch = new UdpBatch(MAX_SEGMENTS, 16);
        layOut(largest());
    }

    private static int prefix(WgTunnel tunnel) {
        return tunnel.node().layer2() ? TapFrames.PREFIX : 0;
    }

    /**
     * The longest plaintext a slot must hold: the MTU's; in TAP mode with room for two VLAN tags,
     * as a frame of a VLAN on the TAP carries its tag beyond the MTU, and a frame of an 802.1ad
     * service VLAN two (the one-frame path took such frames; the batch path must not drop them).
     */
    private int largest() {
        return layer2 ? node.mtu() + 2 * TapFrames.VLAN_TAG : node.mtu();
    }

    /**
     * Makes slots for plaintexts of {@code mtu} bytes: room for the header, the plaintext, padding
     * and tag, rounded to a cache line. Only between batches: no slot may hold anything. The
     * splitter's view of a slot ends before the room for padding and tag, so a segment it accepts
     * can always be sealed in its slot.
     */
    private void layOut(int mtu) {
        int newStride = (WgTunnel.HEADROOM + mtu + WgTunnel.TAIL + 63) & ~63;
        Arena fresh = Arena.ofShared();
        MemorySegment o = fresh.allocate((long) newStride * MAX_SEGMENTS, 64);
        int room = newStride - WgTunnel.HEADROOM - WgTunnel.TAIL;
        for (int k = 0; k < MAX_SEGMENTS; k++) {
            long at = (long) k * newStride;
            views[k] = o.asSlice(at, newStride).asByteBuffer();
            slot(k, o.asSlice(at, newStride - WgTunnel.TAIL).asByteBuffer(),
                    o.asSlice(at + WgTunnel.HEADROOM + prefix, room - prefix));
            slotSegs[k] = o.asSlice(at, newStride);
            batch.attach(k, o);
        }
        Arena old = slotArena;
        slotArena = fresh;
        out = o;
        stride = newStride;
        capacity = room;
        if (old != null) {
            old.close();
        }
    }

    @Override
    protected void beforeBatch() {
        if (largest() > capacity) {
            layOut(largest());
        }
    }

    @Override
    protected boolean slotsGrow() {
        return true;
    }

    /** Whether the interface's MTU (as last told, or as read now) has grown past the slots; if so they grow. */
    @Override
    protected boolean grow() {
        if (largest() <= capacity && !tunnel.refreshMtu()) {
            return false;
        }
        if (largest() <= capacity) {
            return false;
        }
        layOut(largest());
        return true;
    }

    @Override
    protected boolean accept(int n) {
        if (n > capacity - prefix) {
            // The read was cut to the slot (a TUN read tells the whole length): the packet is lost,
            // and the MTU may have been raised a moment ago, so the next batch gets larger slots.
            node.counters().drop(Drop.OVERSIZE);
            tunnel.refreshMtu();
            return false;
        }
        return true;
    }

    /** Routes the new segments and gives each its counter, in the order they will leave. */
    @Override
    protected void took(int first, int count) {
        long now = System.nanoTime();
        if (layer2) {
            tookFrames(first, count, now);
            return;
        }
        for (int k = first; k < count; k++) {
            Peer peer = node.allowedIps().forDestination(views[k], WgTunnel.HEADROOM, lengths[k]);
            if (loopGuard.looped(views[k], WgTunnel.HEADROOM, lengths[k], peer)) {
                peers[k] = null;
                sealed[k] = 0;
                node.counters().drop(Drop.ROUTING_LOOP);
                continue;
            }
            peers[k] = peer;
            if (peer == null) {
                sealed[k] = 0;
                node.counters().drop(Drop.NO_ROUTE);
                unreachables.answer(views[k], WgTunnel.HEADROOM, lengths[k], now);
                continue;
            }
            // Counters are taken here, in the order the segments will leave.
            sealed[k] = peer.prepareSeal(views[k], 0, lengths[k], now, jobs[k]);
        }
    }

    /** Encrypts the batch (in parallel) and sends it: one GSO message per run of segments to one peer. */
    @Override
    protected void flush(int count) {
        int m = 0;
        for (int k = 0; k < count; k++) {
            if (sealed[k] > 0) {
                work[m++] = jobs[k];
            }
        }
        pool.runAll(work, m, cipher);
        Transport transport = tunnel.transport();
        int slots = 0;
        int waitingCount = 0;
        for (int k = 0; k < count; ) {
            Peer peer = peers[k];
            if (sealed[k] == 0) {
                if (peer != null && !contains(waiting, waitingCount, peer)) {
                    waiting[waitingCount++] = peer; // staged until a handshake: send the initiation below
                }
                k++;
                continue;
            }
            PeerAddress endpoint = tunnel.endpoint(peer);
            MemorySegment to = transport.batchAddress(endpoint);
            int limit = k + 1;
            while (limit < count && peers[limit] == peer && sealed[limit] > 0) {
                limit++;
            }
            if (to == null) {
                // Over a TCP connection, or nowhere (counted there): the run goes to the endpoint
                // looked up once, queued together and written at its last message (more = false).
                for (int j = k; j < limit; j++) {
                    tunnel.sendTo(peer, endpoint, out, j * stride, sealed[j], j + 1 < limit);
                }
                k = limit;
                continue;
            }
            int next = GsoMessages.pack(out, stride, sealed, k, limit, batch, slots);
            batch.setEndpoint(slots, to);
            messageEndpoint[slots] = endpoint;
            messageTo[slots] = to;
            slots++;
            k = next;
        }
        GsoMessages.send(transport, batch, slots, node.counters());
        for (int i = 0; i < slots; i++) {
            if (batch.sourceDropped(i)) {
                messageEndpoint[i].forgetSource(messageTo[i]); // the address is gone: routing picks until the peer is heard again
            }
            messageEndpoint[i] = null;
            messageTo[i] = null;
        }
        for (int i = 0; i < count; i++) {
            jobs[i].clear();
            peers[i] = null;
        }
        for (int i = 0; i < waitingCount; i++) {
            tunnel.drain(waiting[i], control.seg, control.view, control.cipher);
            waiting[i] = null;
        }
        if (floods > 0) {
            floodFrames(count);
        }
    }

    /**
     * TAP mode: gives each new frame its length prefix and its peer, as {@link OutboundLoop} does:
     * the only peer, else the one its destination MAC address is behind; a frame with neither is
     * marked to be flooded.
     */
    private void tookFrames(int first, int count, long now) {
        var all = node.peers();
        Peer only = all.size() == 1 ? all.iterator().next() : null;
        // Frames to one address come in runs: one table look-up (a lock) per run of the batch.
        long lastMac = -1;
        Peer lastPeer = null;
        for (int k = first; k < count; k++) {
            int n = lengths[k];
            sealed[k] = 0;
            peers[k] = null;
            if (n < TapFrames.ETHERNET_HEADER) {
                node.counters().drop(Drop.RUNT);
                continue;
            }
            TapFrames.writePrefix(views[k], WgTunnel.HEADROOM, n);
            Peer peer = only;
            if (peer == null) {
                long mac = MacTable.mac(views[k], WgTunnel.HEADROOM + TapFrames.PREFIX);
                peer = mac == lastMac ? lastPeer : tunnel.forwarding().macs().lookup(mac, now);
                lastMac = mac;
                lastPeer = peer;
            }
            if (peer == null) {
                flood[k] = true;
                floods++;
                continue;
            }
            peers[k] = peer;
            sealed[k] = peer.prepareSeal(views[k], 0, n + TapFrames.PREFIX, now, jobs[k]);
        }
    }

    /**
     * TAP mode: sends the batch's frames that go to every peer, in their order, after the rest of
     * the batch (their slots were left alone by the packing of the others).
     */
    private void floodFrames(int count) {
        for (int k = 0; k < count; k++) {
            if (flood[k]) {
                flood[k] = false;
                tunnel.forwarding().flood(null, lengths[k] + TapFrames.PREFIX, slotSegs[k], views[k],
                        control.cipher, control.scratch);
            }
        }
        floods = 0;
    }

    private static boolean contains(Peer[] list, int n, Peer p) {
        for (int i = 0; i < n; i++) {
            if (list[i] == p) {
                return true;
            }
        }
        return false;
    }

    void close() {
        batch.close();
        slotArena.close();
    }

    /** The loop of the batched {@code device-to-net} thread: a cipher pool of its own, and this. */
    static final class Runner implements Loops.Loop {
        private final WgTunnel tunnel;
        private final PacketDevice device;
        private final int threads;

        Runner(WgTunnel tunnel, PacketDevice device, int threads) {
            this.tunnel = tunnel;
            this.device = device;
            this.threads = threads;
        }

        @Override
        public void run() throws Exception {
            try (CryptoPool pool = new CryptoPool(threads, "seal", tunnel::newCipher)) {
                BatchOutbound b = new BatchOutbound(tunnel, device, pool, tunnel.arena());
                try {
                    b.run();
                } finally {
                    b.close();
                }
            }
        }
    }
}
