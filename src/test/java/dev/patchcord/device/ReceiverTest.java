package dev.patchcord.device;

import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;
import dev.patchcord.core.wg.Outcome;
import dev.patchcord.core.wg.Pair;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.UdpSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

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
 * The receiving side of the encrypted tunnel ({@link Receiver} behind the one-packet UDP loop) on
 * loopback, no root: node B runs in a real {@link WgTunnel} with a real UDP socket and an
 * in-memory interface ({@link QueueDevice}); peer A is the in-memory node of a {@link Pair},
 * whose datagrams leave from ordinary sockets (two of them, for roaming).
 */
@Timeout(30)
class ReceiverTest {
    private static final Duration WAIT = Duration.ofSeconds(5);
    private final InetAddress loopback = InetAddress.getLoopbackAddress();
    private final Pair p = new Pair();
    private Wakeup wakeup;
    private QueueDevice device;
    /** Packets put on B's interface for A so far. */
    private int injected;
    private UdpSocket socket;
    private WgTunnel tunnel;
    /** Two sockets of peer A: where it is first, and where it roams to. */
    private DatagramChannel here;
    private DatagramChannel there;

    /**
     * Starts B's tunnel and runs the handshake from A's socket {@link #here}, over the tunnel's
     * UDP socket: A's first packet reaches B's interface.
     */
    private void start() throws Exception {
        wakeup = new Wakeup();
        device = new QueueDevice(wakeup);
        socket = UdpSocket.bind(loopback, 0, wakeup);
        here = DatagramChannel.open(StandardProtocolFamily.INET).bind(new InetSocketAddress(loopback, 0));
        there = DatagramChannel.open(StandardProtocolFamily.INET).bind(new InetSocketAddress(loopback, 0));
        tunnel = new WgTunnel(device, socket, p.b, new PeerEndpoints(), wakeup, null, Offloads.NONE);
        tunnel.start();

        // A runs on this machine's clock too, so that its timers and B's agree.
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

    @AfterEach
    void stop() throws Exception {
        if (wakeup != null) {
            wakeup.signal();
            assertThat(tunnel.awaitStopped(5, TimeUnit.SECONDS)).as("the loops stop").isTrue();
            assertThat(tunnel.failure()).isNull();
            socket.close();
            wakeup.close();
            here.close();
            there.close();
        }
    }

    @Test
    void packetsReachTheInterfaceInTheOrderTheyCame() throws Exception {
        start();
        List<byte[]> sent = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            byte[] packet = ipv4(1, 2, 10 + i);
            sent.add(packet);
            send(here, seal(packet));
        }
        for (int i = 0; i < sent.size(); i++) {
            assertThat(next()).as("packet %d", i).isEqualTo(sent.get(i));
        }
        assertThat(p.b.counters().droppedTotal()).isZero();
    }

    @Test
    void dropsAreCountedByReasonAndTheTunnelDeliversWhatFollows() throws Exception {
        start();
        Counters counters = p.b.counters();
        byte[] good = ipv4(1, 2, 30);
        byte[] message = seal(good);
        send(here, message);
        send(here, message); // again: a replay
        byte[] otherIndex = message.clone();
        otherIndex[4] ^= 0x5a; // a receiver index B never gave out
        send(here, otherIndex);
        byte[] forged = seal(ipv4(1, 2, 30));
        forged[forged.length - 1] ^= 1; // the tag no longer matches
        send(here, forged);
        send(here, seal(ipv4(7, 2, 30))); // from an address A may not use
        send(here, new byte[]{1, 2, 3}); // no message at all
        byte[] last = ipv4(1, 2, 31);
        send(here, seal(last));

        assertThat(next()).isEqualTo(good);
        assertThat(next()).as("the packet after the drops").isEqualTo(last);
        assertThat(counters.dropped(Drop.REPLAYED)).isEqualTo(1);
        assertThat(counters.dropped(Drop.UNKNOWN_INDEX)).isEqualTo(1);
        assertThat(counters.dropped(Drop.BAD_AUTH)).isEqualTo(1);
        assertThat(counters.dropped(Drop.NOT_ALLOWED)).isEqualTo(1);
        assertThat(counters.dropped(Drop.BAD_MESSAGE)).isEqualTo(1);
        assertThat(counters.droppedTotal()).as("each drop counted once, for one reason").isEqualTo(5);
        assertThat(device.received).as("nothing else delivered").isEmpty();
    }

    @Test
    void anAuthenticatedDatagramFromANewAddressMovesThePeerThereAndNothingElseDoes() throws Exception {
        start();
        assertThat(answerArrivesAt(here)).as("B answers where A's handshake came from").isTrue();

        byte[] old = seal(ipv4(1, 2, 20));
        send(here, old);
        assertThat(next()).isNotNull();
        // From the other socket: a replay and a datagram with a bad tag prove nothing about A.
        send(there, old);
        byte[] forged = seal(ipv4(1, 2, 20));
        forged[forged.length - 1] ^= 1;
        send(there, forged);
        assertThat(await(WAIT, () -> p.b.counters().droppedTotal() == 2)).isTrue();
        assertThat(answerArrivesAt(here)).as("unauthenticated datagrams do not move A").isTrue();

        byte[] moved = ipv4(1, 2, 21);
        send(there, seal(moved));
        assertThat(next()).isEqualTo(moved);
        assertThat(answerArrivesAt(there)).as("an authenticated datagram from elsewhere moves A").isTrue();
    }

    /**
     * Whether a packet from B's interface to A reaches A at {@code at}: sealed by the tunnel and
     * sent to A's endpoint as B knows it (the keepalives B's timers may send are passed over).
     */
    private boolean answerArrivesAt(DatagramChannel at) throws Exception {
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

    /** The next packet the tunnel wrote to B's interface; fails the test if none comes. */
    private byte[] next() throws InterruptedException {
        byte[] packet = device.received.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(packet).as("a packet reaches the interface").isNotNull();
        return packet;
    }

    /** A transport message from A to B with {@code packet}, counted and sealed now. */
    private byte[] seal(byte[] packet) {
        p.now = System.nanoTime();
        byte[] message = p.seal(p.bAtA, packet);
        assertThat(message).as("A has a session").isNotNull();
        return message;
    }

    private void send(DatagramChannel from, byte[] datagram) throws Exception {
        from.send(ByteBuffer.wrap(datagram), new InetSocketAddress(loopback, socket.port()));
    }

    /** The next datagram on {@code ch}; fails the test if none comes. */
    private static byte[] receive(DatagramChannel ch) throws Exception {
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
}
