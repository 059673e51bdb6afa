package dev.patchcord.device;

import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;
import dev.patchcord.core.wg.Outcome;
import dev.patchcord.core.wg.Protocol;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.patchcord.core.wg.Pair.ipv4;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The batched interface-to-network path ({@link BatchOutbound}) on loopback, no root
 * ({@link LoopbackTunnel}): B's in-memory interface reads in batches, so the tunnel runs its batched
 * loops; what it sends, peer A opens from an ordinary socket. Run with batches alone, and with UDP
 * GSO, GRO and the cipher pool's worker threads as well (what the kernel grants of GSO and GRO on
 * loopback; the interface has no virtio-net header, so no TSO or coalescing).
 */
@Timeout(30)
class BatchOutboundTest {
    private LoopbackTunnel t;

    @AfterEach
    void stop() throws Exception {
        if (t != null) {
            t.stop();
        }
    }

    @LoopbackTunnel.EachBatchingOffloads
    void aBurstLeavesSealedInOrderAndAPacketNoPeerCoversIsCountedAndAnswered(String offloads) throws Exception {
        t = new LoopbackTunnel(true);
        t.start(Offloads.parse(offloads), new PeerEndpoints());
        t.handshakeFromA();

        // Runs of equal sizes, so that with GSO several segments leave as one message.
        List<byte[]> toA = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            toA.add(ipv4(2, 1, 100 + (i / 10) * 50 + (i % 10 == 9 ? 1 : 0)));
            toA.get(i)[toA.get(i).length - 1] = (byte) i;
        }
        byte[] nowhere = ipv4(2, 9, 64); // 10.0.0.9: no peer's allowed IPs
        List<byte[]> burst = new ArrayList<>(toA);
        burst.add(30, nowhere);
        t.device.burst(burst);

        List<byte[]> opened = t.openedAt(t.here, toA.size());
        for (int i = 0; i < toA.size(); i++) {
            assertThat(opened.get(i)).as("packet %d at A", i).isEqualTo(toA.get(i));
        }
        assertThat(t.device.tryReads.get()).as("the burst was read as one batch").isEqualTo(burst.size() - 1);
        Counters counters = t.p.b.counters();
        assertThat(counters.dropped(Drop.NO_ROUTE)).isEqualTo(1);
        assertThat(counters.droppedTotal()).as("nothing else dropped").isEqualTo(1);

        byte[] icmp = t.next();
        assertThat(icmp[9]).as("ICMP").isEqualTo((byte) 1);
        assertThat(icmp[20]).as("destination unreachable").isEqualTo((byte) 3);
        assertThat(Arrays.copyOfRange(icmp, 16, 20)).as("back to the sender").isEqualTo(new byte[]{10, 0, 0, 2});
        assertThat(Arrays.copyOfRange(icmp, 28, 48)).as("quoting the packet's header")
                .isEqualTo(Arrays.copyOf(nowhere, 20));
        assertThat(t.device.received).as("nothing else written to the interface").isEmpty();
    }

    @LoopbackTunnel.EachBatchingOffloads
    void packetsForAPeerWithoutASessionAreStagedAndLeaveInOrderAfterTheHandshake(String offloads) throws Exception {
        t = new LoopbackTunnel(true);
        PeerEndpoints endpoints = new PeerEndpoints();
        endpoints.put(t.p.aAtB, new PeerAddress(new InetSocketAddress(t.loopback, LoopbackTunnel.port(t.here)), true));
        t.start(Offloads.parse(offloads), endpoints);

        List<byte[]> toA = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            toA.add(ipv4(2, 1, 200 + i));
        }
        t.device.burst(toA);

        byte[] initiation = LoopbackTunnel.receive(t.here);
        assertThat(initiation).as("B initiates").hasSize(Protocol.INITIATION_SIZE);
        t.p.now = System.nanoTime();
        t.p.offer(t.p.a, initiation);
        assertThat(t.p.kind()).as("A answers: %s", t.p.drop()).isEqualTo(Outcome.Kind.REPLY);
        t.send(t.here, t.p.reply());

        List<byte[]> opened = t.openedAt(t.here, toA.size());
        for (int i = 0; i < toA.size(); i++) {
            assertThat(opened.get(i)).as("staged packet %d at A", i).isEqualTo(toA.get(i));
        }
        assertThat(t.device.tryReads.get()).as("the burst was read as one batch").isEqualTo(toA.size() - 1);
        assertThat(t.p.b.counters().droppedTotal()).as("none lost").isZero();
    }
}
