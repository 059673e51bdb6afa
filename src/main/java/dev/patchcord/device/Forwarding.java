package dev.patchcord.device;

import dev.patchcord.core.Drop;
import dev.patchcord.core.l2.MacTable;
import dev.patchcord.core.wg.DataCipher;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Peer;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * Packets from one peer to another, and TAP mode's switch. {@code hub}: re-encrypted to the other
 * peer right here, without a trip through the kernel; otherwise they go to the interface and the
 * kernel routes them (if IP forwarding is on); {@code isolate}: dropped either way. In TAP mode
 * the table of which peer each MAC address is behind, and flooding to every peer.
 */
final class Forwarding {
    private final WgTunnel tunnel;
    private final Node node;
    private volatile boolean hub;
    private volatile boolean isolate;
    /** TAP mode: which peer each MAC address is behind. */
    private final MacTable<Peer> macs = new MacTable<>(MacTable.DEFAULT_CAPACITY, MacTable.DEFAULT_AGEING);

    Forwarding(WgTunnel tunnel) {
        this.tunnel = tunnel;
        this.node = tunnel.node();
    }

    void set(boolean hub, boolean isolate) {
        this.hub = hub;
        this.isolate = isolate;
    }

    boolean hub() {
        return hub;
    }

    boolean isolate() {
        return isolate;
    }

    MacTable<Peer> macs() {
        return macs;
    }

    /**
     * A packet from one peer for another: re-encrypted in place (it already sits after the
     * headroom, where sealing wants it: {@code base} is where its message was) and sent on,
     * unless isolation forbids it.
     */
    void forward(Peer to, int plain, MemorySegment seg, ByteBuffer view, int base, Buffers b) {
        if (isolate) {
            node.counters().drop(Drop.ISOLATED);
            return;
        }
        int n = to.seal(view, base, plain, System.nanoTime(), b.cipher);
        if (n > 0) {
            tunnel.sendTo(to, seg, base, n);
        } else {
            tunnel.drain(to, b.control, b.controlView, b.cipher);
        }
    }

    /**
     * Sends the plaintext at the headroom to every peer but {@code except}: broadcast, multicast
     * and unknown destinations, as a switch floods. Sealing works in place, so the plaintext is
     * kept aside and put back before each copy.
     */
    void flood(Peer except, int plain, MemorySegment seg, ByteBuffer view, DataCipher cipher, byte[] scratch) {
        view.get(WgTunnel.HEADROOM, scratch, 0, plain);
        for (Peer p : node.peers()) {
            if (p != except) {
                view.put(WgTunnel.HEADROOM, scratch, 0, plain);
                tunnel.sealAndSend(p, plain, seg, view, cipher);
            }
        }
        view.put(WgTunnel.HEADROOM, scratch, 0, plain);
    }
}
