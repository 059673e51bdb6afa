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
            assertThat(p.out.kind()).as("segment %d: %s", i, p.out.drop()).isEqualTo(Outcome.Kind.DELIVER);
            assertThat(p.out.offset()).isEqualTo(bases[i] + 16);
            assertThat(p.out.length()).isEqualTo(sizes[i]);
            assertThat(big.get(p.out.offset() + 27)).isEqualTo((byte) i);
        }
        // Opened in place, a message is plaintext now: receiving the same bytes again is refused.
        p.b.receive(big, bases[1], bases[2] - bases[1], p.source, p.now, p.epoch(), p.cipher, p.out);
        assertThat(p.out.kind()).isEqualTo(Outcome.Kind.DROP);
    }

    @Test
    void theCipherWorkMayRunInAnyOrderBetweenTheOrderedHalves() {
        Pair p = new Pair();
        p.handshake();
        ByteBuffer big = ByteBuffer.allocateDirect(65536);
        CryptoJob[] jobs = new CryptoJob[5];
        int[] bases = new int[jobs.length + 1];
        for (int i = 0; i < jobs.length; i++) {
            jobs[i] = new CryptoJob();
            byte[] packet = Pair.ipv4(1, 2, 100 + i);
            big.put(bases[i] + 16, packet);
            bases[i + 1] = bases[i] + p.bAtA.prepareSeal(big, bases[i], packet.length, p.now, jobs[i]);
        }
        DataCipher other = new DataCipher();
        for (int i = jobs.length - 1; i >= 0; i--) {
            jobs[i].run(i % 2 == 0 ? p.cipher : other); // any thread's cipher, any order
        }
        Outcome out = new Outcome();
        for (int i = 0; i < jobs.length; i++) {
            assertThat(p.b.prepareOpen(big, bases[i], bases[i + 1] - bases[i], p.now, jobs[i], out)).isTrue();
        }
        for (int i = jobs.length - 1; i >= 0; i--) {
            jobs[i].run(i % 2 == 1 ? p.cipher : other);
        }
        for (int i = 0; i < jobs.length; i++) {
            p.b.completeOpen(jobs[i], p.now, out);
            assertThat(out.kind()).isEqualTo(Outcome.Kind.DELIVER);
            assertThat(out.length()).isEqualTo(120 + i);
        }
        // The same counters again are replays, whichever order their cipher work ran in.
        long before = p.b.counters().dropped(dev.patchcord.core.Drop.REPLAYED);
        for (int i = 0; i < jobs.length; i++) {
            jobs[i].plain = 120 + i; // as if it had authenticated again
            p.b.completeOpen(jobs[i], p.now, out);
            assertThat(out.drop()).isEqualTo(dev.patchcord.core.Drop.REPLAYED);
        }
        assertThat(p.b.counters().dropped(dev.patchcord.core.Drop.REPLAYED)).isEqualTo(before + jobs.length);
        // Not a transport message: left to receive().
        big.put(0, (byte) 1);
        assertThat(p.b.prepareOpen(big, 0, 148, p.now, new CryptoJob(), out)).isFalse();
        assertThat(out.kind()).isEqualTo(Outcome.Kind.NONE);
    }
}
