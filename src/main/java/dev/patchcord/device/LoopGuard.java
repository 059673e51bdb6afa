package dev.patchcord.device;

import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.OwnDatagrams;
import dev.patchcord.core.wg.Peer;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.function.IntSupplier;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * Finds the tunnel's own encrypted datagrams among the packets read from its interface: what a
 * route that sends a peer's endpoint into the tunnel hands back ({@link OwnDatagrams}). They are
 * dropped and counted ({@code routing-loop}) instead of being encrypted again, so such a route
 * costs one datagram per packet sent, where encrypting them again would send them round and round.
 *
 * <p>A packet is one of ours when it is UDP from the tunnel's port, carries a WireGuard message,
 * and goes to the current endpoint of a peer. The first two are checked on every packet and cost
 * a few byte reads; only a packet that passes them is compared with endpoints (the peer routing
 * chose first, then the others), and only this host's tunnel sends from that port. Any thread
 * that reads the interface may call it.
 */
final class LoopGuard {
    private final Node node;
    private final PeerEndpoints endpoints;
    private final IntSupplier port;

    /** @param port the tunnel's UDP port now (it moves when the listen port is changed) */
    LoopGuard(Node node, PeerEndpoints endpoints, IntSupplier port) {
        this.node = node;
        this.endpoints = endpoints;
        this.port = port;
    }

    /**
     * Whether the IP packet {@code view[off, off + len)} is one of the tunnel's own datagrams.
     *
     * @param routed the peer whose allowed IPs cover the packet's destination, or null
     */
    boolean looped(ByteBuffer view, int off, int len, Peer routed) {
        int udp = OwnDatagrams.udpHeader(view, off, len, port.getAsInt());
        if (udp < 0) {
            return false;
        }
        if (routed != null && sentTo(routed, view, off, udp)) {
            return true;
        }
        for (Peer p : node.peers()) {
            if (p != routed && sentTo(p, view, off, udp)) {
                return true;
            }
        }
        return false;
    }

    /** Whether the datagram's destination is the peer's current endpoint (a {@code sockaddr_in6}). */
    private boolean sentTo(Peer peer, ByteBuffer view, int ip, int udp) {
        PeerAddress endpoint = endpoints.find(peer);
        if (endpoint == null) {
            return false;
        }
        MemorySegment to = endpoint.current();
        if (to == null) {
            return false;
        }
        int port = OwnDatagrams.destinationPort(view, udp);
        if (to.get(JAVA_BYTE, 2) != (byte) (port >> 8) || to.get(JAVA_BYTE, 3) != (byte) port) {
            return false;
        }
        int dst = OwnDatagrams.destinationAddress(view, ip);
        if ((view.get(ip) & 0xf0) == 0x40) {
            // An IPv4 endpoint is held IPv4-mapped: ::ffff:a.b.c.d.
            for (int i = 8; i < 18; i++) {
                if (to.get(JAVA_BYTE, i) != 0) {
                    return false;
                }
            }
            if (to.get(JAVA_BYTE, 18) != (byte) 0xff || to.get(JAVA_BYTE, 19) != (byte) 0xff) {
                return false;
            }
            return same(to, 20, view, dst, 4);
        }
        return same(to, 8, view, dst, 16);
    }

    private static boolean same(MemorySegment a, int aOff, ByteBuffer b, int bOff, int len) {
        for (int i = 0; i < len; i++) {
            if (a.get(JAVA_BYTE, aOff + i) != b.get(bOff + i)) {
                return false;
            }
        }
        return true;
    }
}
