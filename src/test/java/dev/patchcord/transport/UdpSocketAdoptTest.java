package dev.patchcord.transport;

import dev.patchcord.sys.Libc;
import dev.patchcord.sys.Linux;
import dev.patchcord.sys.SysException;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A UDP socket taken over from its descriptor, as a successor process does with the one it is
 * handed: a duplicate of a bound socket's descriptor stands in for the passed one (no root needed).
 */
class UdpSocketAdoptTest extends LoopbackSockets {
    private final Arena arena = Arena.ofAuto();

    private MemorySegment bytes(String text) {
        MemorySegment s = arena.allocate(text.length());
        MemorySegment.copy(text.getBytes(), 0, s, JAVA_BYTE, 0, text.length());
        return s;
    }

    @Test
    void theAdoptedSocketHasThePortAndSendsAndReceives() throws Exception {
        UdpSocket original = socket(UdpFeatures.ALL);
        int copy = Libc.dup(original.fd());
        assertThat(copy).isNotNegative();
        UdpSocket adopted = later(UdpSocket.adopt(copy, wakeup));
        assertThat(adopted.port()).isEqualTo(original.port());
        assertThat(adopted.gro()).as("GRO is read back from the socket").isEqualTo(original.gro());
        assertThat(adopted.enable(UdpFeatures.ALL)).isEqualTo(original.features());

        DatagramSocket peer = peer(V4);
        peer.send(new DatagramPacket("in".getBytes(), 2, new InetSocketAddress(V4, adopted.port())));
        MemorySegment buf = arena.allocate(2048);
        MemorySegment from = arena.allocate(SockAddr.SIZE, 8);
        assertThat(adopted.receive(buf, from)).isEqualTo(2);
        assertThat(SockAddr.decode(from)).isEqualTo(peer.getLocalSocketAddress());

        SockAddr.encode((InetSocketAddress) peer.getLocalSocketAddress(), from);
        assertThat(adopted.send(bytes("out"), 0, 3, from)).isZero();
        DatagramPacket got = new DatagramPacket(new byte[64], 64);
        peer.receive(got);
        assertThat(new String(got.getData(), 0, got.getLength())).isEqualTo("out");
        assertThat(got.getPort()).isEqualTo(original.port());
    }

    @Test
    void onlyAnIpv6DatagramSocketIsAdopted() throws Exception {
        int event = Libc.eventfd(0, Linux.EFD_CLOEXEC);
        int v4 = Libc.socket(Linux.AF_INET, Linux.SOCK_DGRAM | Linux.SOCK_CLOEXEC, 0);
        try {
            assertThatThrownBy(() -> UdpSocket.adopt(event, wakeup))
                    .isInstanceOfSatisfying(SysException.class, e -> assertThat(e.errno()).isEqualTo(Linux.ENOTSOCK))
                    .hasMessageContaining("no socket");
            assertThatThrownBy(() -> UdpSocket.adopt(v4, wakeup)).hasMessageContaining("IPv6 datagram");
        } finally {
            Libc.close(event);
            Libc.close(v4);
        }
    }
}
