package dev.patchcord.device;

import dev.patchcord.core.Drop;
import dev.patchcord.core.offload.TsoSplitter;
import dev.patchcord.core.wg.CryptoJob;
import dev.patchcord.core.wg.DataCipher;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.sys.Linux;
import dev.patchcord.sys.SysException;
import dev.patchcord.transport.UdpBatch;
import dev.patchcord.transport.UdpSocket;
import dev.patchcord.tun.TunDevice;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * Interface to network in batches (TUN mode): the first packet is waited for, the rest of the
 * batch is whatever else the interface already holds (so a lone packet is never held back). With
 * TSO the interface hands over TCP super-packets of up to 64 KiB, cut here into MTU-sized
 * segments. Each segment is routed (one of the tunnel's own datagrams come back is dropped,
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
 */
final class BatchOutbound {
    /** Segments per batch: two super-packets at the usual MSS. */
    static final int MAX_SEGMENTS = 256;
    /** A super-packet is only split into a batch with at least this many free slots (64 KiB at a 536-byte MSS is 123). */
    private static final int ROOM_FOR_ONE = 128;

    private final WgTunnel tunnel;
    private final Node node;
    private final TunDevice tun;
    private final CryptoPool pool;
    private final DataCipher cipher;
    private final Buffers control;
    private final boolean vnet;
    private final MemorySegment in;
    private final ByteBuffer inView;
    /** The slots' memory, made anew (and the old freed) when the MTU grows past {@link #capacity}. */
    private Arena slotArena;
    private int stride;
    /** The longest plaintext a slot holds, with room after it for padding and the tag. */
    private int capacity;
    private MemorySegment out;
    /** Slot k's view of {@code out}: plaintext at 16, the sealed message from 0. */
    private final ByteBuffer[] views = new ByteBuffer[MAX_SEGMENTS];
    /**
     * The splitter's views of the slots from index k on, so it can fill slots k, k+1, … without
     * copying the array; each ends before the room for padding and tag, so a segment the splitter
     * accepts can always be sealed in its slot.
     */
    private final ByteBuffer[][] viewsFrom = new ByteBuffer[MAX_SEGMENTS][];
    private final int[][] lengthsFrom = new int[MAX_SEGMENTS][];
    /** Where a packet read without a virtio header lands: slot k's plaintext. */
    private final MemorySegment[] plainSlots = new MemorySegment[MAX_SEGMENTS];
    private final int[] lengths = new int[MAX_SEGMENTS];
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

    BatchOutbound(WgTunnel tunnel, TunDevice tun, CryptoPool pool, Arena arena) {
        this.tunnel = tunnel;
        this.cipher = tunnel.newCipher();
        this.loopGuard = new LoopGuard(tunnel.node(), tunnel.endpoints(), () -> tunnel.socket().port());
        this.unreachables = new Unreachables(tunnel, arena);
        this.node = tunnel.node();
        this.tun = tun;
        this.pool = pool;
        this.vnet = tun.vnetHeader();
        this.control = new Buffers(arena, tunnel.newCipher());
        this.in = arena.allocate(16 + 10 + 65535 + 64, 64);
        this.inView = in.asByteBuffer();
        for (int k = 0; k < MAX_SEGMENTS; k++) {
            jobs[k] = new CryptoJob();
            viewsFrom[k] = new ByteBuffer[MAX_SEGMENTS - k];
            lengthsFrom[k] = new int[MAX_SEGMENTS - k];
        }
        this.batch = new UdpBatch(MAX_SEGMENTS, 16);
        layOut(node.mtu());
    }

    /**
     * Makes slots for plaintexts of {@code mtu} bytes: room for the header, the plaintext, padding
     * and tag, rounded to a cache line. Only between batches: no slot may hold anything.
     */
    private void layOut(int mtu) {
        int newStride = (WgTunnel.HEADROOM + mtu + WgTunnel.TAIL + 63) & ~63;
        Arena fresh = Arena.ofShared();
        MemorySegment o = fresh.allocate((long) newStride * MAX_SEGMENTS, 64);
        int room = newStride - WgTunnel.HEADROOM - WgTunnel.TAIL;
        for (int k = 0; k < MAX_SEGMENTS; k++) {
            long at = (long) k * newStride;
            views[k] = o.asSlice(at, newStride).asByteBuffer();
            ByteBuffer forSplitter = o.asSlice(at, newStride - WgTunnel.TAIL).asByteBuffer();
            for (int from = 0; from <= k; from++) {
                viewsFrom[from][k - from] = forSplitter;
            }
            plainSlots[k] = o.asSlice(at + WgTunnel.HEADROOM, room);
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

    /** Whether the interface's MTU (as last told, or as read now) has grown past the slots; if so they grow. */
    private boolean grown() {
        if (node.mtu() <= capacity && !tunnel.refreshMtu()) {
            return false;
        }
        if (node.mtu() <= capacity) {
            return false;
        }
        layOut(node.mtu());
        return true;
    }

    void run() throws SysException {
        while (true) {
            if (node.mtu() > capacity) {
                layOut(node.mtu());
            }
            int n = vnet ? tun.read(in) : tun.read(plainSlots[0]);
            if (n < 0) {
                return;
            }
            int count = 0;
            while (true) {
                count = take(n, count);
                if (MAX_SEGMENTS - count < (vnet ? ROOM_FOR_ONE : 1)) {
                    break;
                }
                n = vnet ? tun.tryRead(in) : tun.tryRead(plainSlots[count]);
                if (n == -Linux.EAGAIN) {
                    break;
                }
                if (n < 0) {
                    node.counters().drop(Drop.DEVICE_ERROR);
                    break;
                }
            }
            flush(count);
        }
    }

    /** Adds what one read gave to the batch (splitting it first with virtio headers); returns the new count. */
    private int take(int n, int count) {
        int first = count;
        if (vnet) {
            int r = TsoSplitter.split(inView, 0, n, viewsFrom[count], WgTunnel.HEADROOM, lengthsFrom[count]);
            if (r == TsoSplitter.TOO_MANY_SEGMENTS && count > 0) {
                flush(count); // the batch was too full for this one: send it, then split into an empty one
                count = 0;
                first = 0;
                r = TsoSplitter.split(inView, 0, n, viewsFrom[0], WgTunnel.HEADROOM, lengthsFrom[0]);
            }
            if (r == TsoSplitter.NO_ROOM) {
                // Larger than the slots: the MTU may have been raised a moment ago.
                if (count > 0) {
                    flush(count);
                    count = 0;
                    first = 0;
                }
                if (grown()) {
                    r = TsoSplitter.split(inView, 0, n, viewsFrom[0], WgTunnel.HEADROOM, lengthsFrom[0]);
                }
            }
            if (r < 0) {
                node.counters().drop(r == TsoSplitter.NO_ROOM ? Drop.OVERSIZE : Drop.UNSPLITTABLE);
                return count;
            }
            System.arraycopy(lengthsFrom[first], 0, lengths, first, r);
            count += r;
        } else if (n > capacity) {
            // The read was cut to the slot (a TUN read tells the whole length): the packet is lost,
            // and the MTU may have been raised a moment ago, so the next batch gets larger slots.
            node.counters().drop(Drop.OVERSIZE);
            tunnel.refreshMtu();
            return count;
        } else {
            lengths[count++] = n;
        }
        long now = System.nanoTime();
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
        return count;
    }

    /** Encrypts the batch (in parallel) and sends it: one GSO message per run of segments to one peer. */
    private void flush(int count) {
        int m = 0;
        for (int k = 0; k < count; k++) {
            if (sealed[k] > 0) {
                work[m++] = jobs[k];
            }
        }
        pool.runAll(work, m, cipher);
        UdpSocket socket = tunnel.socket();
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
            MemorySegment to = endpoint.current();
            if (endpoint.tcp() != null || to == null || !tunnel.udpToPeers()) {
                tunnel.sendTo(peer, out, k * stride, sealed[k]); // TCP, or no endpoint (counted there)
                k++;
                continue;
            }
            int limit = k + 1;
            while (limit < count && peers[limit] == peer && sealed[limit] > 0) {
                limit++;
            }
            int next = GsoMessages.pack(out, stride, sealed, k, limit, batch, slots);
            batch.setEndpoint(slots, to);
            messageEndpoint[slots] = endpoint;
            messageTo[slots] = to;
            slots++;
            k = next;
        }
        GsoMessages.send(socket, batch, slots, node.counters());
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
}
