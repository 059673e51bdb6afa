package dev.patchcord.device;

import dev.patchcord.core.Drop;
import dev.patchcord.core.wg.Pair;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * TAP mode on the batched loops ({@link BatchOutbound}, {@link BatchInbound}) on loopback, no root
 * ({@link LoopbackTunnel}, both nodes in layer 2): frames of any EtherType leave and arrive whole
 * and in order, and a frame too short to have an Ethernet header is counted.
 */
@Timeout(30)
class TapBatchTest {
    private LoopbackTunnel t;

    @AfterEach
    void stop() throws Exception {
        if (t != null) {
            t.stop();
        }
    }

    /** A frame to {@code dst} (last byte of the MAC; 0xff: broadcast) of EtherType {@code type}. */
    static byte[] frame(int dst, int type, byte[] payload) {
        byte[] f = new byte[14 + payload.length];
        for (int i = 0; i < 6; i++) {
            f[i] = (byte) (dst == 0xff ? 0xff : i == 5 ? dst : i == 0 ? 2 : 0);
        }
        f[6] = 2;
        f[11] = 1;
        f[12] = (byte) (type >>> 8);
        f[13] = (byte) type;
        System.arraycopy(payload, 0, f, 14, payload.length);
        return f;
    }

    /** The plaintext of a TAP-mode message: the frame behind its length. */
    static byte[] prefixed(byte[] frame) {
        byte[] p = new byte[frame.length + 2];
        p[0] = (byte) (frame.length >>> 8);
        p[1] = (byte) frame.length;
        System.arraycopy(frame, 0, p, 2, frame.length);
        return p;
    }

    /** Starts B's tunnel in TAP mode and runs the handshake from A, whose first frame reaches B's interface. */
    private void startAndShakeHands(String offloads) throws Exception {
        t = new LoopbackTunnel(true);
        t.p.a.setLayer2(true);
        t.p.b.setLayer2(true);
        t.start(Offloads.parse(offloads), new PeerEndpoints());
        t.p.now = System.nanoTime();
        byte[] first = frame(1, 0x0806, new byte[28]);
        assertThat(t.p.seal(t.p.bAtA, prefixed(first))).as("staged until the handshake").isNull();
        t.send(t.here, t.p.poll(t.p.bAtA));
        t.p.offer(t.p.a, LoopbackTunnel.receive(t.here));
        assertThat(t.p.authenticated()).isTrue();
        t.send(t.here, t.p.poll(t.p.bAtA));
        assertThat(t.next()).as("A's first frame").isEqualTo(first);
    }

    @LoopbackTunnel.EachBatchingOffloads
    void aBurstOfFramesLeavesWholeAndInOrderAndARuntIsCounted(String offloads) throws Exception {
        startAndShakeHands(offloads);
        List<byte[]> toA = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            // Runs of equal sizes, so that with GSO several leave as one message.
            byte[] ip = Pair.ipv4(2, 1, 100 + (i / 8) * 40);
            ip[ip.length - 1] = (byte) i;
            toA.add(frame(0x0a, 0x0800, ip));
        }
        toA.add(12, frame(0xff, 0x0806, new byte[28])); // ARP, broadcast: the only peer gets it
        toA.add(20, frame(0x0a, 0x88cc, new byte[3])); // LLDP, shorter than any minimum
        List<byte[]> burst = new ArrayList<>(toA);
        burst.add(5, new byte[10]); // no room for an Ethernet header
        t.device.burst(burst);

        List<byte[]> opened = t.openedAt(t.here, toA.size());
        for (int i = 0; i < toA.size(); i++) {
            assertThat(opened.get(i)).as("frame %d at A", i).isEqualTo(toA.get(i));
        }
        assertThat(t.device.tryReads.get()).as("the burst was read as one batch").isEqualTo(burst.size() - 1);
        t.assertDroppedOnceEach(Drop.RUNT);
    }

    @LoopbackTunnel.EachBatchingOffloads
    void framesFromThePeerReachTheInterfaceWholeAndInOrder(String offloads) throws Exception {
        startAndShakeHands(offloads);
        List<byte[]> sent = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            byte[] ip = Pair.ipv4(1, 2, 60 + i * 7);
            sent.add(i % 10 == 3 ? frame(0xff, 0x0806, new byte[28 + i]) : frame(0x0b, 0x0800, ip));
            t.send(t.here, t.seal(prefixed(sent.get(i))));
        }
        for (int i = 0; i < sent.size(); i++) {
            assertThat(t.next()).as("frame %d", i).isEqualTo(sent.get(i));
        }
        // A message whose length prefix says more than it holds is malformed, counted, not written.
        byte[] bad = prefixed(frame(0x0b, 0x0800, new byte[40]));
        bad[0] = 0x7f;
        t.send(t.here, t.seal(bad));
        byte[] after = frame(0x0b, 0x0800, Pair.ipv4(1, 2, 50));
        t.send(t.here, t.seal(prefixed(after)));
        assertThat(t.next()).isEqualTo(after);
        t.assertDroppedOnceEach(Drop.MALFORMED);
        assertThat(Arrays.asList(t.device.received.toArray())).isEmpty();
    }
}
