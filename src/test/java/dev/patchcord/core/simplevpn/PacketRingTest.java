package dev.patchcord.core.simplevpn;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PacketRingTest {
    private static final int CAPACITY = 4 + StreamSplitter.MAX_PACKET;

    private static byte[] packet(int len, int fill) {
        byte[] b = new byte[len];
        Arrays.fill(b, (byte) fill);
        return b;
    }

    private static boolean offer(PacketRing ring, byte[] p) {
        return ring.offer(ByteBuffer.wrap(p), 0, p.length);
    }

    private static byte[] poll(PacketRing ring) {
        int off = ring.peek();
        byte[] b = new byte[ring.peekLength()];
        ring.storage().get(off, b);
        ring.remove();
        return b;
    }

    @Test
    void firstInFirstOutWithinTheByteBound() {
        PacketRing ring = new PacketRing(ByteBuffer.allocate(CAPACITY));
        assertThat(ring.peek()).isEqualTo(-1);
        assertThat(offer(ring, packet(30_000, 1))).isTrue();
        assertThat(offer(ring, packet(30_000, 2))).isTrue();
        assertThat(offer(ring, packet(6_000, 3))).as("over the bound").isFalse();
        assertThat(ring.size()).isEqualTo(2);
        assertThat(poll(ring)).isEqualTo(packet(30_000, 1));
        // Room at the front now: this one wraps.
        assertThat(offer(ring, packet(6_000, 3))).isTrue();
        assertThat(poll(ring)).isEqualTo(packet(30_000, 2));
        assertThat(poll(ring)).isEqualTo(packet(6_000, 3));
        assertThat(ring.isEmpty()).isTrue();
        assertThatThrownBy(ring::remove).hasMessageContaining("empty");
    }

    @Test
    void theLargestPacketAlwaysFitsAnEmptyRing() {
        PacketRing ring = new PacketRing(ByteBuffer.allocate(CAPACITY));
        assertThat(offer(ring, packet(100, 1))).isTrue();
        assertThat(poll(ring)).hasSize(100);
        assertThat(offer(ring, packet(StreamSplitter.MAX_PACKET, 9))).isTrue();
        assertThat(offer(ring, packet(1, 1))).isFalse();
        assertThat(poll(ring)).isEqualTo(packet(StreamSplitter.MAX_PACKET, 9));
        assertThatThrownBy(() -> new PacketRing(ByteBuffer.allocate(1000))).hasMessageContaining("cannot hold");
    }

    /** Against a plain queue: same order, and a packet is refused only when it really does not fit. */
    @Property(tries = 1000)
    void behavesLikeABoundedQueue(@ForAll @Size(max = 200) List<@IntRange(min = -1, max = 30_000) Integer> ops) {
        PacketRing ring = new PacketRing(ByteBuffer.allocate(CAPACITY));
        ArrayDeque<byte[]> model = new ArrayDeque<>();
        int fill = 0;
        for (int op : ops) {
            if (op < 0 || op % 3 == 0) {
                if (!model.isEmpty()) {
                    assertThat(poll(ring)).isEqualTo(model.removeFirst());
                }
            } else {
                byte[] p = packet(op, ++fill);
                boolean accepted = offer(ring, p);
                int queuedBytes = model.stream().mapToInt(b -> 4 + b.length).sum();
                if (accepted) {
                    model.addLast(p);
                } else {
                    // Refused only if it could not fit even without fragmentation at the end.
                    assertThat(queuedBytes + 4 + p.length).isGreaterThan(CAPACITY - 4 - 30_000);
                }
                if (model.isEmpty()) {
                    assertThat(accepted).isTrue();
                }
            }
            assertThat(ring.size()).isEqualTo(model.size());
        }
        while (!model.isEmpty()) {
            assertThat(poll(ring)).isEqualTo(model.removeFirst());
        }
    }
}
