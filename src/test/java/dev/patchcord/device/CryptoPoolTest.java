package dev.patchcord.device;

import dev.patchcord.core.wg.CryptoJob;
import dev.patchcord.core.wg.DataCipher;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Pair;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;

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
        Pair p = new Pair(null, Node.DEFAULT_LOAD_THRESHOLD, 1);
        p.handshake();
        ByteBuffer buf = ByteBuffer.allocateDirect(2048 * Math.max(1, n));
        CryptoJob[] jobs = new CryptoJob[n];
        int[] lens = new int[n];
        for (int i = 0; i < n; i++) {
            jobs[i] = new CryptoJob();
            buf.put(i * 2048 + 16, Pair.ipv4(1, i, 0));
            lens[i] = p.bAtA.prepareSeal(buf, i * 2048, 20, p.now, jobs[i]);
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
        return out;
    }
}
