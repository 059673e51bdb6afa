package dev.patchcord.device;

import dev.patchcord.core.Drop;
import dev.patchcord.transport.Endpoint;
import dev.patchcord.transport.Origin;
import dev.patchcord.transport.PeerEndpoint;
import dev.patchcord.transport.SockAddr;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Where a datagram came from, for a {@link Receiver}: its source address and the local address it
 * was sent to (an {@link dev.patchcord.transport.Endpoint} the receive call filled in), which
 * handshake answers go back to (from that local address) and a peer's roaming follows. One per
 * receiving thread; {@link #from} is pointed at each datagram's endpoint in turn.
 */
final class UdpOrigin implements Origin {
    private final WgTunnel tunnel;
    private final MemorySegment reply;
    MemorySegment from;

    UdpOrigin(WgTunnel tunnel, Arena arena) {
        this.tunnel = tunnel;
        this.reply = arena.allocate(256, 8);
    }

    @Override
    public byte[] sourceBytes() {
        return from.asSlice(8, 18).toArray(ValueLayout.JAVA_BYTE);
    }

    @Override
    public void reply(byte[] message) {
        MemorySegment.copy(message, 0, reply, ValueLayout.JAVA_BYTE, 0, message.length);
        if (tunnel.socket().send(reply, 0, message.length, from) < 0) {
            tunnel.node().counters().drop(Drop.SEND_ERROR);
        }
    }

    @Override
    public boolean observe(PeerEndpoint endpoint) {
        return endpoint.observe(from);
    }

    @Override
    public String describe() {
        java.net.InetAddress local = Endpoint.source(from);
        String peer = SockAddr.format(SockAddr.decode(from));
        return local == null ? peer : peer + " (to " + local.getHostAddress() + ")";
    }
}
