package dev.patchcord.core.wg;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Messages sealed back to back in one buffer (as one GSO send carries them) and opened where a
 * coalesced receive leaves them: at offsets other than 0, without copying.
 */
class BackToBackTest {
    @Test
    void segmentsSealedBackToBackOpenInPlaceAtTheirOffsets() {
        Pair p = new Pair();
        p.handshake();
        ByteBuffer big = ByteBuffer.allocateDirect(65536);
        int[] sizes = {1400, 1400, 1400, 333};
        int[] bases = new int[sizes.length];
        int at = 7; // not aligned on purpose
        for (int i = 0; i < sizes.length; i++) {
            byte[] packet = Pair.ipv4(1, 2, sizes[i] - 20);
            packet[27] = (byte) i;
            bases[i] = at;
            big.put(at + 16, packet);
            int n = p.bAtA.seal(big, at, packet.length, p.now, p.cipher);
            assertThat(n).isEqualTo(p.bAtA.sealedLength(packet.length));
            at += n;
        }
        // All but the last have one length: what UDP GSO needs.
        assertThat(bases[1] - bases[0]).isEqualTo(bases[2] - bases[1]).isEqualTo(bases[3] - bases[2]);
        for (int i = 0; i < sizes.length; i++) {
            int len = (i + 1 < sizes.length ? bases[i + 1] : at) - bases[i];
            p.b.receive(big, bases[i], len, p.source, p.now, p.epoch(), p.cipher, p.out);
            assertThat(p.out.kind).as("segment %d: %s", i, p.out.drop).isEqualTo(Outcome.Kind.DELIVER);
            assertThat(p.out.offset).isEqualTo(bases[i] + 16);
            assertThat(p.out.length).isEqualTo(sizes[i]);
            assertThat(big.get(p.out.offset + 27)).isEqualTo((byte) i);
        }
        // Opened in place, a message is plaintext now: receiving the same bytes again is refused.
        p.b.receive(big, bases[1], bases[2] - bases[1], p.source, p.now, p.epoch(), p.cipher, p.out);
        assertThat(p.out.kind).isEqualTo(Outcome.Kind.DROP);
    }
}
