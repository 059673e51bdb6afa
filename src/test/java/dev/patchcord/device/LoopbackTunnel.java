package dev.patchcord.device;

import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;
import dev.patchcord.core.wg.Outcome;
import dev.patchcord.core.wg.Pair;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.testing.QueueDevice;
import dev.patchcord.transport.Transport;
import dev.patchcord.transport.UdpSocket;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.patchcord.core.wg.Pair.ipv4;
import static dev.patchcord.lab.Lab.await;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The encrypted tunnel on loopback for the device tests, no root: node B of a {@link Pair} runs in
 * a real {@link WgTunnel} with a real UDP socket and an in-memory interface ({@link QueueDevice});
 * peer A is the pair's in-memory node, whose datagrams leave from ordinary sockets (two of them,
 * {@link #here} and {@link #there}, for roaming). A runs on this machine's clock, so that its
 * timers and B's agree.
 */
final class LoopbackTunnel {
    /** A test run once with batches alone, once with UDP GSO, GRO and the cipher's worker threads too. */
    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.METHOD)
    @ParameterizedTest
    @ValueSource(strings = {"batch", "batch,gso,gro,parallel"})
    @interface EachBatchingOffloads {
    }


    static final Duration WAIT = Duration.ofSeconds(5);
    final InetAddress loopback = InetAddress.getLoopbackAddress();
    final Pair p = new Pair();
    final Wakeup wakeup;
    final QueueDevice device;
    final UdpSocket socket;
    /** Two sockets of peer A: where it is first, and where it roams to. */
    final DatagramChannel here;
    final DatagramChannel there;
    WgTunnel tunnel;
    /** Packets put on B's interface for A so far. */
    private int injected;

    /** @param batching whether the interface reads in batches (so the tunnel may run its batched loops) */
    LoopbackTunnel(boolean batching) throws Exception {
        wakeup = new Wakeup();
        device = new QueueDevice(wakeup, batching);
        socket = UdpSocket.bind(loopback, 0, wakeup);
        here = DatagramChannel.open(StandardProtocolFamily.INET).bind(new InetSocketAddress(loopback, 0));
        there = DatagramChannel.open(StandardProtocolFamily.INET).bind(new InetSocketAddress(loopback, 0));
    }

    /** Starts B's tunnel; {@code endpoints} says where B thinks A is, if anywhere. */
    WgTunnel start(Offloads offloads, PeerEndpoints endpoints) {
        return start(offloads, endpoints, null);
    }

    /** The same with {@code front} standing in front of the socket (null: the socket itself). */
    WgTunnel start(Offloads offloads, PeerEndpoints endpoints, Transport front) {
        tunnel = new WgTunnel(device, socket, p.b, endpoints, wakeup, null, offloads);
        if (front != null) {
            tunnel.setTransport(front);
        }
        tunnel.start();
        p.now = System.nanoTime();
        return tunnel;
    }

    /**
     * Runs the handshake from A's socket {@link #here}, over the tunnel's UDP socket: A's first
     * packet reaches B's interface.
     */
    void handshakeFromA() throws Exception {
        p.now = System.nanoTime();
        byte[] first = ipv4(1, 2, 40);
        assertThat(p.seal(p.bAtA, first)).as("staged until the handshake").isNull();
        send(here, p.poll(p.bAtA));
        byte[] response = receive(here);
        p.offer(p.a, response);
        assertThat(p.kind()).as("A takes B's response: %s", p.drop()).isEqualTo(Outcome.Kind.NONE);
        assertThat(p.authenticated()).isTrue();
        send(here, p.poll(p.bAtA));
        assertThat(next()).as("A's first packet").isEqualTo(first);
    }

    /** Stops the loops (which must not have failed) and closes everything. */
    void stop() throws Exception {
        wakeup.signal();
        if (tunnel != null) {
            assertThat(tunnel.awaitStopped(5, TimeUnit.SECONDS)).as("the loops stop").isTrue();
            assertThat(tunnel.failure()).isNull();
        }
        socket.close();
        wakeup.close();
        here.close();
        there.close();
    }

    /**
     * Whether a packet from B's interface to A reaches A at {@code at}: sealed by the tunnel and
     * sent to A's endpoint as B knows it (the keepalives B's timers may send are passed over).
     */
    boolean answerArrivesAt(DatagramChannel at) throws Exception {
        byte[] answer = ipv4(2, 1, 24 + injected++);
        device.toSend.add(answer);
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            byte[] message = receive(at);
            if (Arrays.equals(p.receive(p.a, message), answer)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The next {@code n} packets A opens from what arrives at {@code at}, in the order they came
     * (keepalives passed over); fails the test if they do not all come.
     */
    List<byte[]> openedAt(DatagramChannel at, int n) throws Exception {
        List<byte[]> packets = new ArrayList<>();
        while (packets.size() < n) {
            p.now = System.nanoTime();
            byte[] packet = p.receive(p.a, receive(at));
            assertThat(p.kind()).as("A opens datagram %d: %s", packets.size(), p.drop())
                    .isIn(Outcome.Kind.DELIVER, Outcome.Kind.NONE);
            if (packet != null && packet.length > 0) {
                packets.add(packet);
            }
        }
        return packets;
    }

    /** The next packet the tunnel wrote to B's interface; fails the test if none comes. */
    byte[] next() throws InterruptedException {
        byte[] packet = device.received.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(packet).as("a packet reaches the interface").isNotNull();
        return packet;
    }

    /** A transport message from A to B with {@code packet}, counted and sealed now. */
    byte[] seal(byte[] packet) {
        p.now = System.nanoTime();
        byte[] message = p.seal(p.bAtA, packet);
        assertThat(message).as("A has a session").isNotNull();
        return message;
    }

    void send(DatagramChannel from, byte[] datagram) throws Exception {
        from.send(ByteBuffer.wrap(datagram), new InetSocketAddress(loopback, socket.port()));
    }

    /** The next datagram on {@code ch}; fails the test if none comes. */
    static byte[] receive(DatagramChannel ch) throws Exception {
        ch.configureBlocking(false);
        ByteBuffer b = ByteBuffer.allocate(2048);
        assertThat(await(WAIT, () -> {
            try {
                return ch.receive(b) != null;
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        })).as("a datagram arrives").isTrue();
        return Arrays.copyOf(b.array(), b.flip().remaining());
    }

    /** B counted one drop for each of {@code reasons} and none other. */
    void assertDroppedOnceEach(Drop... reasons) {
        Counters counters = p.b.counters();
        for (Drop reason : reasons) {
            assertThat(counters.dropped(reason)).as(reason.label()).isEqualTo(1);
        }
        assertThat(counters.droppedTotal()).as("each drop counted once, for one reason").isEqualTo(reasons.length);
    }

    static int port(DatagramChannel ch) throws Exception {
        return ((InetSocketAddress) ch.getLocalAddress()).getPort();
    }
}
