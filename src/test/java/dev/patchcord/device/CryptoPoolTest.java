package dev.patchcord.device;

import dev.patchcord.core.Counters;
import dev.patchcord.core.wg.CryptoJob;
import dev.patchcord.core.wg.DataCipher;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.core.wg.X25519;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The cipher work of a batch shared with worker threads: every job runs exactly once, the batch
 * is done when the call returns, and sealing with a pool gives the same bytes as without one.
 */
@Timeout(60)
class CryptoPoolTest {
    @Test
    void aPoolSealsExactlyWhatTheCallerAloneWouldHave() {
        for (int threads : new int[]{0, 1, 3}) {
            byte[][] alone = sealBatch(0, 100);
            byte[][] shared = sealBatch(threads, 100);
            for (int i = 0; i < alone.length; i++) {
                assertThat(shared[i]).as("threads %d, message %d", threads, i).isEqualTo(alone[i]);
            }
        }
    }

    @Test
    void batchesOfEverySizeComeBackComplete() {
        // Below, at and above the size that is split, and shares that do not divide evenly.
        for (int n = 0; n <= 3 * CryptoPool.MIN_SHARE + 1; n++) {
            byte[][] alone = sealBatch(0, n);
            byte[][] shared = sealBatch(2, n);
            assertThat(shared.length).isEqualTo(n);
            for (int i = 0; i < n; i++) {
                assertThat(shared[i]).as("batch of %d, message %d", n, i).isEqualTo(alone[i]);
            }
        }
    }

    /** Seals {@code n} packets to one peer with a pool of {@code threads}; same keys and counters every time. */
    private static byte[][] sealBatch(int threads, int n) {
        SplittableRandom rng = new SplittableRandom(1);
        Node a = new Node(X25519.generatePrivate(rng), rng.split(), new Counters(), Node.DEFAULT_LOAD_THRESHOLD);
        Node b = new Node(X25519.generatePrivate(rng), rng.split(), new Counters(), Node.DEFAULT_LOAD_THRESHOLD);
        Peer bAtA = a.addPeer(b.publicKey(), null);
        Peer aAtB = b.addPeer(a.publicKey(), null);
        handshake(a, b, bAtA);
        ByteBuffer buf = ByteBuffer.allocateDirect(2048 * Math.max(1, n));
        CryptoJob[] jobs = new CryptoJob[n];
        int[] lens = new int[n];
        for (int i = 0; i < n; i++) {
            jobs[i] = new CryptoJob();
            buf.put(i * 2048 + 16, new byte[]{0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, (byte) i});
            lens[i] = bAtA.prepareSeal(buf, i * 2048, 20, 1_000_000_000_000L, jobs[i]);
            assertThat(lens[i]).isPositive();
        }
        try (CryptoPool pool = new CryptoPool(threads, "test", DataCipher::new)) {
            pool.runAll(jobs, n, new DataCipher());
        }
        byte[][] out = new byte[n][];
        for (int i = 0; i < n; i++) {
            out[i] = new byte[lens[i]];
            buf.get(i * 2048, out[i]);
        }
        assertThat(aAtB).isNotNull();
        return out;
    }

    /** A handshake between two in-memory nodes, so that A has a session with B. */
    private static void handshake(Node a, Node b, Peer bAtA) {
        long now = 1_000_000_000_000L;
        long epoch = 1_700_000_000_000_000_000L;
        DataCipher c = new DataCipher();
        dev.patchcord.core.wg.Outcome out = new dev.patchcord.core.wg.Outcome();
        ByteBuffer m = ByteBuffer.allocateDirect(4096);
        bAtA.kick();
        int n = bAtA.poll(m, now, epoch, c);
        b.receive(m, 0, n, () -> new byte[]{1, 2, 3, 4}, now, epoch, c, out);
        byte[] response = out.reply();
        m.clear();
        m.put(0, response);
        a.receive(m, 0, response.length, () -> new byte[]{5, 6, 7, 8}, now, epoch, c, out);
        assertThat(bAtA.hasSession(now)).isTrue();
    }
}
