package dev.patchcord.transport;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;

import static org.assertj.core.api.Assertions.assertThat;

/** Which way a message to a peer goes is decided behind {@link Transport}, never by the tunnel. */
class TransportTest {
    private final Arena arena = Arena.ofAuto();
    private final MemorySegment message = arena.allocate(64);

    /** A UDP side that records what it was asked to send and answers with a set result. */
    private static final class FakeUdp implements Transport {
        int sent;
        MemorySegment lastTo;
        int result;

        @Override
        public int receive(UdpBatch batch) {
            return -1;
        }

        @Override
        public int send(UdpBatch batch, int count) {
            return count;
        }

        @Override
        public int send(MemorySegment buf, long off, int len, MemorySegment to) {
            sent++;
            lastTo = to;
            return result;
        }

        @Override
        public int port() {
            return 51820;
        }

        @Override
        public void close() {
        }
    }

    /** A peer's endpoint with an address (or none) and no TCP connection. */
    private static final class FakePeer implements PeerEndpoint {
        MemorySegment current;
        MemorySegment forgotten;

        @Override
        public MemorySegment current() {
            return current;
        }

        @Override
        public void forgetSource(MemorySegment seen) {
            forgotten = seen;
        }

        @Override
        public boolean observe(MemorySegment from) {
            return false;
        }

        @Override
        public TcpLink tcp() {
            return null;
        }

        @Override
        public boolean observeTcp(TcpLink link) {
            return false;
        }

        @Override
        public InetSocketAddress describe() {
            return null;
        }
    }

    private FakePeer peerAt() {
        FakePeer p = new FakePeer();
        p.current = arena.allocate(Endpoint.SIZE, 8);
        return p;
    }

    @Test
    void overUdpAPeerWithoutAnEndpointIsNowhereAndARefusedSourceIsForgotten() {
        FakeUdp udp = new FakeUdp();
        assertThat(udp.send(new FakePeer(), message, 0, 32)).isEqualTo(Transport.NO_ENDPOINT);
        assertThat(udp.sent).isZero();
        FakePeer p = peerAt();
        udp.result = UdpSocket.SENT_WITHOUT_SOURCE;
        assertThat(udp.send(p, message, 0, 32)).isGreaterThanOrEqualTo(0);
        assertThat(udp.lastTo).isSameAs(p.current);
        assertThat(p.forgotten).as("the source the kernel refused").isSameAs(p.current);
        assertThat(udp.batchAddress(p)).isSameAs(p.current);
    }

    @Test
    void tcpOnlySendsNothingToPeersOverUdp() {
        FakeUdp udp = new FakeUdp();
        TcpTransport tcp = new TcpTransport(null, () -> udp, TcpTransport.Mode.TCP, 0, null);
        FakePeer p = peerAt();
        assertThat(tcp.send(p, message, 0, 32)).isEqualTo(Transport.NO_ENDPOINT);
        assertThat(udp.sent).isZero();
        assertThat(tcp.batchAddress(p)).as("never in a UDP batch").isNull();
    }

    @Test
    void udpThenTcpUsesUdpUntilThePeerHasAConnection() {
        FakeUdp udp = new FakeUdp();
        TcpTransport tcp = new TcpTransport(null, () -> udp, TcpTransport.Mode.UDP_THEN_TCP, 0, null);
        FakePeer p = peerAt();
        assertThat(tcp.send(p, message, 0, 32)).isGreaterThanOrEqualTo(0);
        assertThat(udp.sent).isEqualTo(1);
        assertThat(tcp.batchAddress(p)).isSameAs(p.current);
        assertThat(tcp.port()).isEqualTo(51820);
    }
}
