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
import java.util.Arrays;

/**
 * Interface to network in batches (TUN mode): the first packet is waited for, the rest of the
 * batch is whatever else the interface already holds (so a lone packet is never held back). With
 * TSO the interface hands over TCP super-packets of up to 64 KiB, cut here into MTU-sized
 * segments. Each segment is routed and gets its counter in order ({@link Peer#prepareSeal}); the
 * cipher work of the whole batch is then shared with the {@link CryptoPool}; last, runs of
 * segments to one peer leave as one UDP GSO message each, in one sendmmsg for the batch.
 *
 * <p>Segments are sealed in slots of a fixed stride and moved together (left, in order) just
 * before sending, because GSO wants the datagrams of one message back to back.
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
    private final DataCipher cipher = new DataCipher();
    private final Buffers control;
    private final boolean vnet;
    private final int stride;
    private final MemorySegment in;
    private final ByteBuffer inView;
    private final MemorySegment out;
    /** Slot k's view of {@code out}: plaintext at 16, the sealed message from 0. */
    private final ByteBuffer[] views = new ByteBuffer[MAX_SEGMENTS];
    /** {@code views} from index k on, so the splitter can fill slots k, k+1, … without copying the array. */
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

    BatchOutbound(WgTunnel tunnel, TunDevice tun, CryptoPool pool, Arena arena) {
        this.tunnel = tunnel;
        this.node = tunnel.node();
        this.tun = tun;
        this.pool = pool;
        this.vnet = tun.vnetHeader();
        this.control = new Buffers(arena);
        // Room for the header, the MTU-sized plaintext, padding and tag, rounded to a cache line.
        this.stride = (WgTunnel.HEADROOM + node.mtu() + 16 + 16 + 63) & ~63;
        this.in = arena.allocate(16 + 10 + 65535 + 64, 64);
        this.inView = in.asByteBuffer();
        this.out = arena.allocate((long) stride * MAX_SEGMENTS, 64);
        for (int k = 0; k < MAX_SEGMENTS; k++) {
            views[k] = out.asSlice((long) k * stride, stride).asByteBuffer();
            plainSlots[k] = out.asSlice((long) k * stride + WgTunnel.HEADROOM, node.mtu());
            jobs[k] = new CryptoJob();
        }
        for (int k = 0; k < MAX_SEGMENTS; k++) {
            viewsFrom[k] = Arrays.copyOfRange(views, k, MAX_SEGMENTS);
            lengthsFrom[k] = new int[MAX_SEGMENTS - k];
        }
        this.batch = new UdpBatch(MAX_SEGMENTS, 16);
        for (int k = 0; k < MAX_SEGMENTS; k++) {
            batch.attach(k, out);
        }
    }

    void run() throws SysException {
        while (true) {
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
            if (r < 0) {
                node.counters().drop(Drop.UNSPLITTABLE);
                return count;
            }
            System.arraycopy(lengthsFrom[first], 0, lengths, first, r);
            count += r;
        } else {
            lengths[count++] = n;
        }
        long now = System.nanoTime();
        for (int k = first; k < count; k++) {
            Peer peer = node.allowedIps().forDestination(views[k], WgTunnel.HEADROOM, lengths[k]);
            peers[k] = peer;
            if (peer == null) {
                sealed[k] = 0;
                node.counters().drop(Drop.NO_ROUTE);
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
            PeerAddress endpoint = WgTunnel.endpointOf(peer);
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
    }
}
