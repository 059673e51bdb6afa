package dev.patchcord.transport;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Sticky source addresses on loopback, where every 127.x.y.z is a local address (no root needed):
 * the socket reports which local address a datagram was sent to, sends from the address it is
 * told, and when that address is not one of the host's, sends from the one routing picks and says so.
 */
class SourceAddressTest extends LoopbackSockets {
    /** Documentation ranges (RFC 5737, RFC 3849): never an address of this host. */
    private static final InetAddress GONE_V4 = ip("192.0.2.77");
    private static final InetAddress GONE_V6 = ip("2001:db8::77");
    private final Arena arena = Arena.ofAuto();

    private static void send(DatagramSocket from, InetAddress to, int port, String text) throws Exception {
        byte[] b = text.getBytes();
        from.send(new DatagramPacket(b, b.length, new InetSocketAddress(to, port)));
    }

    /** Receives one datagram at {@code p}; returns "text from address". */
    private static String receive(DatagramSocket p) throws Exception {
        DatagramPacket packet = new DatagramPacket(new byte[65536], 65536);
        p.receive(packet);
        return new String(packet.getData(), 0, packet.getLength()) + " from " + packet.getAddress().getHostAddress();
    }

    /** An endpoint for {@code peer}'s address with {@code source} (null: none). */
    private MemorySegment endpoint(DatagramSocket peer, InetAddress source) {
        MemorySegment e = arena.allocate(Endpoint.SIZE, 8);
        SockAddr.encode((InetSocketAddress) peer.getLocalSocketAddress(), e.asSlice(0, SockAddr.SIZE));
        if (source != null) {
            Endpoint.setSource(e, source);
        }
        return e;
    }

    private MemorySegment bytes(String text) {
        MemorySegment s = arena.allocate(Math.max(1, text.length()));
        MemorySegment.copy(text.getBytes(), 0, s, JAVA_BYTE, 0, text.length());
        return s;
    }

    @Test
    void aSingleReceiveTellsWhichLocalAddressWasUsed() throws Exception {
        UdpSocket socket = socket(UdpFeatures.NONE);
        DatagramSocket p4 = peer(V4);
        DatagramSocket p6 = peer(V6);
        MemorySegment buf = arena.allocate(2048);
        MemorySegment from = arena.allocate(Endpoint.SIZE, 8);

        send(p4, ip("127.0.0.3"), socket.port(), "to .3");
        assertThat(socket.receiveWithSource(buf, from)).isEqualTo(5);
        assertThat(SockAddr.decode(from)).isEqualTo(p4.getLocalSocketAddress());
        assertThat(Endpoint.source(from)).isEqualTo(ip("127.0.0.3"));

        send(p6, V6, socket.port(), "to ::1");
        socket.receiveWithSource(buf, from);
        assertThat(SockAddr.decode(from)).isEqualTo(p6.getLocalSocketAddress());
        assertThat(Endpoint.source(from)).isEqualTo(V6);
    }

    @Test
    void aBatchReceiveTellsEachSlotsLocalAddressEvenWithGro() throws Exception {
        for (UdpFeatures f : List.of(UdpFeatures.BATCH_ONLY, UdpFeatures.ALL)) {
            UdpSocket socket = socket(f);
            DatagramSocket p4 = peer(V4);
            DatagramSocket p6 = peer(V6);
            send(p4, ip("127.0.0.3"), socket.port(), "a");
            send(p6, V6, socket.port(), "b");
            send(p4, ip("127.0.0.4"), socket.port(), "c");
            List<String> got = new ArrayList<>();
            try (UdpBatch b = new UdpBatch(8, 2048)) {
                while (got.size() < 3) {
                    int n = socket.receive(b);
                    assertThat(n).as("receive before the deadline").isPositive();
                    for (int i = 0; i < n; i++) {
                        got.add(new String(b.buffer(i).asSlice(0, b.length(i)).toArray(JAVA_BYTE))
                                + " to " + Endpoint.source(b.endpoint(i)).getHostAddress());
                    }
                }
            }
            assertThat(got).as(f.toString()).containsExactly("a to 127.0.0.3", "b to 0:0:0:0:0:0:0:1", "c to 127.0.0.4");
        }
    }

    @Test
    void aSingleSendLeavesFromTheSourceItNames() throws Exception {
        UdpSocket socket = socket(UdpFeatures.NONE);
        DatagramSocket p4 = peer(V4);
        DatagramSocket p6 = peer(V6);
        MemorySegment data = bytes("hello");
        assertThat(socket.send(data, 0, 5, endpoint(p4, ip("127.0.0.5")))).isZero();
        assertThat(receive(p4)).isEqualTo("hello from 127.0.0.5");
        assertThat(socket.send(data, 0, 5, endpoint(p4, ip("127.0.0.6")))).isZero();
        assertThat(receive(p4)).isEqualTo("hello from 127.0.0.6");
        assertThat(socket.send(data, 0, 5, endpoint(p6, V6))).isZero();
        assertThat(receive(p6)).isEqualTo("hello from 0:0:0:0:0:0:0:1");
        assertThat(socket.send(data, 1, 4, endpoint(p4, null))).as("no source: routing picks").isZero();
        assertThat(receive(p4)).isEqualTo("ello from 127.0.0.1");
    }

    @Test
    void aSingleSendFromAnAddressTheHostLacksGoesFromAnotherAndSaysSo() throws Exception {
        UdpSocket socket = socket(UdpFeatures.NONE);
        DatagramSocket p4 = peer(V4);
        DatagramSocket p6 = peer(V6);
        MemorySegment data = bytes("again");
        assertThat(socket.send(data, 0, 5, endpoint(p4, GONE_V4))).isEqualTo(UdpSocket.SENT_WITHOUT_SOURCE);
        assertThat(receive(p4)).isEqualTo("again from 127.0.0.1");
        assertThat(socket.send(data, 0, 5, endpoint(p6, GONE_V6))).isEqualTo(UdpSocket.SENT_WITHOUT_SOURCE);
        assertThat(receive(p6)).isEqualTo("again from 0:0:0:0:0:0:0:1");
    }

    @Test
    void aBatchLeavesFromEachSlotsSourceAndFallsOverPerSlot() throws Exception {
        for (UdpFeatures f : List.of(UdpFeatures.NONE, UdpFeatures.BATCH_ONLY)) {
            UdpSocket socket = socket(f);
            DatagramSocket p4 = peer(V4);
            DatagramSocket p6 = peer(V6);
            try (UdpBatch b = new UdpBatch(4, 2048)) {
                String[] texts = {"one", "two", "three", "four"};
                MemorySegment[] to = {endpoint(p4, ip("127.0.0.7")), endpoint(p4, GONE_V4),
                        endpoint(p6, GONE_V6), endpoint(p4, null)};
                for (int i = 0; i < 4; i++) {
                    MemorySegment.copy(texts[i].getBytes(), 0, b.buffer(i), JAVA_BYTE, 0, texts[i].length());
                    b.set(i, 0, texts[i].length(), 0);
                    b.setEndpoint(i, to[i]);
                }
                assertThat(socket.send(b, 4)).as(f.toString()).isEqualTo(4);
                assertThat(new boolean[]{b.sourceDropped(0), b.sourceDropped(1), b.sourceDropped(2), b.sourceDropped(3)})
                        .containsExactly(false, true, true, false);
            }
            assertThat(List.of(receive(p4), receive(p4), receive(p4)))
                    .containsExactly("one from 127.0.0.7", "two from 127.0.0.1", "four from 127.0.0.1");
            assertThat(receive(p6)).isEqualTo("three from 0:0:0:0:0:0:0:1");
        }
    }

    @Test
    void segmentedSlotsCarryTheSourceWithGsoAndWithout() throws Exception {
        for (UdpFeatures f : List.of(UdpFeatures.ALL, UdpFeatures.BATCH_ONLY)) {
            UdpSocket socket = socket(f);
            assumeTrue(socket.gso() || !f.gso(), "the kernel has no UDP GSO");
            DatagramSocket p4 = peer(V4);
            try (UdpBatch b = new UdpBatch(2, 65536)) {
                for (int k = 0; k < 3 * 100; k++) {
                    b.buffer(0).set(JAVA_BYTE, k, (byte) ('a' + k / 100));
                    b.buffer(1).set(JAVA_BYTE, k, (byte) ('x' + k / 100));
                }
                b.set(0, 0, 300, 100); // three datagrams of 100 bytes
                b.setEndpoint(0, endpoint(p4, ip("127.0.0.8")));
                b.set(1, 0, 300, 100);
                b.setEndpoint(1, endpoint(p4, GONE_V4));
                assertThat(socket.send(b, 2)).as(f.toString()).isEqualTo(2);
                assertThat(b.sourceDropped(0)).isFalse();
                assertThat(b.sourceDropped(1)).isTrue();
            }
            List<String> got = new ArrayList<>();
            for (int d = 0; d < 6; d++) {
                String r = receive(p4);
                got.add(r.charAt(0) + r.substring(100));
            }
            assertThat(got).as(f.toString()).containsExactly("a from 127.0.0.8", "b from 127.0.0.8", "c from 127.0.0.8",
                    "x from 127.0.0.1", "y from 127.0.0.1", "z from 127.0.0.1");
        }
    }

    @Test
    void anAnswerFromTheReceivingBatchLeavesFromTheAddressThatWasAsked() throws Exception {
        UdpSocket socket = socket(UdpFeatures.BATCH_ONLY);
        DatagramSocket p4 = peer(V4);
        send(p4, ip("127.0.0.9"), socket.port(), "ping");
        try (UdpBatch b = new UdpBatch(4, 2048)) {
            assertThat(socket.receive(b)).isEqualTo(1);
            MemorySegment.copy("pong".getBytes(), 0, b.buffer(0), JAVA_BYTE, 0, 4);
            b.set(0, 0, 4, 0);
            assertThat(socket.send(b, 1)).isEqualTo(1);
        }
        assertThat(receive(p4)).isEqualTo("pong from 127.0.0.9");
    }
}
