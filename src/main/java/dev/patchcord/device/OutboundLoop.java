package dev.patchcord.device;

import dev.patchcord.core.Drop;
import dev.patchcord.core.l2.MacTable;
import dev.patchcord.core.l2.TapFrames;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.sys.SysException;
import dev.patchcord.tun.PacketDevice;

import java.lang.foreign.MemorySegment;

/**
 * The loop of the {@code device-to-net} thread without batches ({@code Offloads = none}): one
 * packet or frame at a time is read, routed, sealed and sent.
 */
final class OutboundLoop implements Loops.Loop {
    private final WgTunnel tunnel;
    private final Node node;
    private final PacketDevice device;

    OutboundLoop(WgTunnel tunnel) {
        this.tunnel = tunnel;
        this.node = tunnel.node();
        this.device = tunnel.device();
    }

    @Override
    public void run() throws SysException {
        Buffers b = new Buffers(tunnel.arena(), tunnel.newCipher());
        boolean layer2 = node.layer2();
        int start = layer2 ? WgTunnel.HEADROOM + TapFrames.PREFIX : WgTunnel.HEADROOM;
        // The interface writes after the headroom; the tail leaves room for padding and the tag. The
        // buffer holds the largest packet or frame a TUN or TAP can give, whatever the MTU is now
        // (it may change at any time, and packets queued before a change keep their size).
        MemorySegment packet = b.seg.asSlice(start, Buffers.SIZE - start - WgTunnel.TAIL);
        LoopGuard loopGuard = new LoopGuard(node, tunnel.endpoints(), () -> tunnel.socket().port());
        Unreachables unreachables = new Unreachables(tunnel, tunnel.arena());
        while (true) {
            int n = device.read(packet);
            if (n < 0) {
                return;
            }
            if (layer2) {
                frame(n, b);
                continue;
            }
            Peer peer = node.allowedIps().forDestination(b.view, WgTunnel.HEADROOM, n);
            if (loopGuard.looped(b.view, WgTunnel.HEADROOM, n, peer)) {
                node.counters().drop(Drop.ROUTING_LOOP);
                continue;
            }
            if (peer == null) {
                node.counters().drop(Drop.NO_ROUTE);
                unreachables.answer(b.view, WgTunnel.HEADROOM, n, System.nanoTime());
                continue;
            }
            tunnel.sealAndSend(peer, n, b.seg, b.view, b.cipher);
        }
    }

    /** A frame from the TAP: to the peer its destination is behind, or to every peer. */
    private void frame(int n, Buffers b) {
        if (n < TapFrames.ETHERNET_HEADER) {
            node.counters().drop(Drop.RUNT);
            return;
        }
        TapFrames.writePrefix(b.view, WgTunnel.HEADROOM, n);
        int plain = n + TapFrames.PREFIX;
        var peers = node.peers();
        Peer to = peers.size() == 1 ? peers.iterator().next()
                : tunnel.forwarding().macs().lookup(MacTable.mac(b.view, WgTunnel.HEADROOM + TapFrames.PREFIX), System.nanoTime());
        if (to != null) {
            tunnel.sealAndSend(to, plain, b.seg, b.view, b.cipher);
        } else {
            tunnel.forwarding().flood(null, plain, b.seg, b.view, b.cipher, b.scratch);
        }
    }
}
