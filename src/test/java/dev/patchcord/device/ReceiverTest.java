package dev.patchcord.device;

import dev.patchcord.core.Drop;
import dev.patchcord.core.wg.Pair;
import dev.patchcord.testing.QueueDevice;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.List;

import static dev.patchcord.core.wg.Pair.ipv4;
import static dev.patchcord.lab.Lab.await;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The receiving side of the encrypted tunnel ({@link Receiver} behind the one-packet UDP loop) on
 * loopback, no root ({@link LoopbackTunnel}): node B of a {@link Pair} in a real {@link WgTunnel},
 * peer A the pair's in-memory node on ordinary sockets (two of them, for roaming).
 */
@Timeout(30)
class ReceiverTest {
    private LoopbackTunnel t;
    private Pair p;
    private QueueDevice device;
    private DatagramChannel here;
    private DatagramChannel there;

    /**
     * Starts B's tunnel, one packet per system call, and runs the handshake from A's socket
     * {@code here}: A's first packet reaches B's interface.
     */
    private void start() throws Exception {
        t = new LoopbackTunnel(false);
        p = t.p;
        device = t.device;
        here = t.here;
        there = t.there;
        t.start(Offloads.NONE, new PeerEndpoints());
        t.handshakeFromA();
    }

    @AfterEach
    void stop() throws Exception {
        if (t != null) {
            t.stop();
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
        t.assertDroppedOnceEach(Drop.REPLAYED, Drop.UNKNOWN_INDEX, Drop.BAD_AUTH, Drop.NOT_ALLOWED, Drop.BAD_MESSAGE);
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
        assertThat(await(LoopbackTunnel.WAIT, () -> p.b.counters().droppedTotal() == 2)).isTrue();
        assertThat(answerArrivesAt(here)).as("unauthenticated datagrams do not move A").isTrue();

        byte[] moved = ipv4(1, 2, 21);
        send(there, seal(moved));
        assertThat(next()).isEqualTo(moved);
        assertThat(answerArrivesAt(there)).as("an authenticated datagram from elsewhere moves A").isTrue();
    }

    private boolean answerArrivesAt(DatagramChannel at) throws Exception {
        return t.answerArrivesAt(at);
    }

    private byte[] next() throws InterruptedException {
        return t.next();
    }

    private byte[] seal(byte[] packet) {
        return t.seal(packet);
    }

    private void send(DatagramChannel from, byte[] datagram) throws Exception {
        t.send(from, datagram);
    }
}
