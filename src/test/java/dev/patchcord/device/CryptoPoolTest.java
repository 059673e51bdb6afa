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
 * is done when the call returns, and sealing with a pool gives the same bytes as without one. A
 * lone packet, or a few, never leaves the calling thread, and no batch waits for a worker that has
 * not started its share.
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

    @Test
    void aLonePacketOrAFewAreSealedOnTheCallingThreadWithNoWorkerWoken() {
        for (int n = 0; n < 2 * CryptoPool.MIN_SHARE; n++) {
            assertThat(CryptoPool.parts(n, 3)).as("batch of %d", n).isEqualTo(1);
            try (CryptoPool pool = new CryptoPool(3, "test", DataCipher::new)) {
                byte[][] shared = sealBatch(pool, n);
                assertThat(pool.handedOver()).as("shares handed over for a batch of %d", n).isZero();
                assertThat(shared).isDeepEqualTo(sealBatch(0, n));
            }
        }
        // The counter does count: a batch large enough is shared.
        try (CryptoPool pool = new CryptoPool(3, "test", DataCipher::new)) {
            sealBatch(pool, 2 * CryptoPool.MIN_SHARE);
            assertThat(pool.handedOver()).isEqualTo(1);
        }
        assertThat(CryptoPool.parts(100, 0)).isEqualTo(1);
        assertThat(CryptoPool.parts(100, 3)).isEqualTo(4);
    }

    @Test
    void aShareNoWorkerHasTakenIsDoneByTheCallerRatherThanWaitedFor() {
        // Workers that never run: without taking shares back, the call would never return.
        try (CryptoPool pool = new CryptoPool(2, "test", DataCipher::new, false)) {
            for (int round = 0; round < 3; round++) {
                byte[][] shared = sealBatch(pool, 100);
                assertThat(pool.handedOver()).isEqualTo(2L * (round + 1));
                assertThat(shared).isDeepEqualTo(sealBatch(0, 100));
            }
        }
    }

    /** Seals {@code n} packets to one peer with a pool of {@code threads}; same keys and counters every time. */
    private static byte[][] sealBatch(int threads, int n) {
        try (CryptoPool pool = new CryptoPool(threads, "test", DataCipher::new)) {
            return sealBatch(pool, n);
        }
    }

    /** As above, with {@code pool}. */
    private static byte[][] sealBatch(CryptoPool pool, int n) {
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
        pool.runAll(jobs, n, new DataCipher());
        byte[][] out = new byte[n][];
        for (int i = 0; i < n; i++) {
            out[i] = new byte[lens[i]];
            buf.get(i * 2048, out[i]);
        }
        return out;
    }
}
