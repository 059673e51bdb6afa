package dev.patchcord.device;

import dev.patchcord.core.Drop;
import dev.patchcord.sys.SysException;
import dev.patchcord.transport.Endpoint;
import dev.patchcord.transport.UdpSocket;

import java.lang.foreign.MemorySegment;

/**
 * The loop of the {@code net-to-device} thread without batches: one datagram at a time is
 * received, with its source and the local address it was sent to, and handed to a
 * {@link Receiver}. A new socket (the listen port changed) is picked up when the old one closes.
 */
final class InboundLoop implements Loops.Loop {
    private final WgTunnel tunnel;

    InboundLoop(WgTunnel tunnel) {
        this.tunnel = tunnel;
    }

    @Override
    public void run() throws SysException {
        Buffers b = new Buffers(tunnel.arena(), tunnel.newCipher());
        Receiver receiver = new Receiver(tunnel, b, tunnel.verbose());
        MemorySegment from = tunnel.arena().allocate(Endpoint.SIZE, 8);
        UdpOrigin udp = new UdpOrigin(tunnel, tunnel.arena());
        udp.from = from;
        while (true) {
            UdpSocket s = tunnel.socket();
            int n = s.receiveWithSource(b.seg, from);
            if (n < 0) {
                if (s != tunnel.socket() && !tunnel.stopping()) {
                    continue; // moved to a new port
                }
                return;
            }
            if (n > Buffers.SIZE) {
                tunnel.node().counters().drop(Drop.OVERSIZE);
                continue;
            }
            receiver.handle(n, udp);
        }
    }
}
