package dev.patchcord.device;

import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.SockAddr;
import dev.patchcord.transport.UdpFeatures;
import dev.patchcord.transport.UdpSocket;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;

/**
 * The tunnel's UDP socket and what is set on it: the port, which the UAPI may move (a new socket;
 * the receive loops notice it, and the old one is closed, which wakes them), the firewall mark,
 * and the batching features, which a new socket gets too.
 */
final class UdpBinding {
    private final Wakeup wakeup;
    private volatile UdpSocket socket;
    private int fwmark;
    /** The UDP features the batched loops asked for, or null. */
    private UdpFeatures features;

    UdpBinding(UdpSocket socket, Wakeup wakeup) {
        this.socket = socket;
        this.wakeup = wakeup;
    }

    UdpSocket socket() {
        return socket;
    }

    synchronized void enable(UdpFeatures wanted) {
        features = wanted;
        socket.enable(wanted);
    }

    synchronized int fwmark() {
        return fwmark;
    }

    /** Moves to another UDP port (0: the kernel picks). */
    synchronized void rebind(int port) throws SysException {
        UdpSocket old = socket;
        if (port != 0 && port == old.port()) {
            return;
        }
        UdpSocket fresh = UdpSocket.bind(null, port, wakeup);
        if (features != null) {
            fresh.enable(features);
        }
        if (fwmark != 0) {
            try {
                fresh.setMark(fwmark);
            } catch (SysException e) {
                fresh.close();
                throw e;
            }
        }
        socket = fresh;
        old.close();
    }

    /** Sets (or with 0 clears) the firewall mark on everything the tunnel sends. */
    synchronized void setFwmark(int mark) throws SysException {
        socket.setMark(mark);
        fwmark = mark;
    }

    /**
     * Sends a datagram of patchcord's own (the mesh directory's probe) from the socket, so that it
     * leaves through the same NAT mapping as the WireGuard traffic. Any thread; rare, so it may
     * allocate.
     *
     * @return false if the socket refused it
     */
    boolean sendDatagram(byte[] data, InetSocketAddress to) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(Math.max(1, data.length));
            MemorySegment.copy(data, 0, seg, ValueLayout.JAVA_BYTE, 0, data.length);
            MemorySegment addr = a.allocate(SockAddr.SIZE, 8);
            SockAddr.encode(to, addr);
            return socket.send(seg, 0, data.length, addr) >= 0;
        }
    }
}
