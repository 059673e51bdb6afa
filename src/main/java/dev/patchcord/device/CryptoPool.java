package dev.patchcord.device;

import dev.patchcord.core.wg.CryptoJob;
import dev.patchcord.core.wg.DataCipher;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

/**
 * Runs the cipher work of a batch on several cores: the calling thread takes one share of the
 * jobs and worker threads the others, and the call returns when all are done, so the caller then
 * sends (or delivers) the batch in its original order. Order is kept per batch, so per peer; the
 * protocol's own state changes stay with the caller ({@link CryptoJob}).
 *
 * <p>Nothing is allocated per batch: the tasks are preallocated and handed over through a bounded
 * array queue, one hand-over per share rather than per packet. Small batches (fewer than
 * {@code 2 * MIN_SHARE} jobs, so a lone packet always) run on the caller alone, with no wake-up of
 * any worker: waking one costs more than the work, and on a busy machine the worker may not get a
 * core for a while. For the same reason no batch waits for a worker that has not started its
 * share: once the caller is done with its own, it takes back every share still queued and runs
 * it itself, and waits only for shares already being worked on.
 */
final class CryptoPool implements AutoCloseable {
    /** Jobs per share below which a batch is not split: about 5 µs of cipher work. */
    static final int MIN_SHARE = 4;

    private final Worker[] workers;
    private final ArrayBlockingQueue<Share> queue;
    private final Share[] shares;
    private final AtomicInteger pending = new AtomicInteger();
    private volatile Thread waiter;
    private volatile boolean closed;
    /** Shares handed to the queue so far (the caller's thread only): tells the tests who did the work. */
    private long handedOver;

    /** One contiguous range of a batch's jobs. */
    private static final class Share {
        CryptoJob[] jobs;
        int from;
        int to;
    }

    private final class Worker implements Runnable {
        final DataCipher cipher;

        Worker(DataCipher cipher) {
            this.cipher = cipher;
        }

        @Override
        public void run() {
            try {
                while (!closed) {
                    Share s = queue.take();
                    if (s.jobs == null) {
                        return; // the poison share from close()
                    }
                    for (int i = s.from; i < s.to; i++) {
                        s.jobs[i].run(cipher);
                    }
                    if (pending.decrementAndGet() == 0) {
                        LockSupport.unpark(waiter);
                    }
                }
            } catch (InterruptedException e) {
                // closing
            }
        }
    }

    /**
     * @param threads worker threads besides the callers; 0 runs everything on the caller
     * @param name thread name prefix
     * @param ciphers makes each worker's cipher
     */
    CryptoPool(int threads, String name, Supplier<DataCipher> ciphers) {
        this(threads, name, ciphers, true);
    }

    /** As above; {@code start} false leaves the workers unstarted (tests: a share nobody takes). */
    CryptoPool(int threads, String name, Supplier<DataCipher> ciphers, boolean start) {
        workers = new Worker[threads];
        queue = new ArrayBlockingQueue<>(Math.max(1, threads + 1));
        shares = new Share[threads];
        for (int i = 0; i < threads; i++) {
            shares[i] = new Share();
            workers[i] = new Worker(ciphers.get());
            if (start) {
                Thread.ofPlatform().name(name + "-" + i).daemon().start(workers[i]);
            }
        }
    }

    int threads() {
        return workers.length;
    }

    /**
     * Into how many shares a batch of {@code n} jobs is cut with {@code workers} worker threads: 1
     * (the caller alone) below {@code 2 * MIN_SHARE} jobs, so a lone packet, or a few, is sealed or
     * opened on the thread that read it.
     */
    static int parts(int n, int workers) {
        return Math.max(1, Math.min(workers + 1, n / MIN_SHARE));
    }

    /** Shares handed over to the workers' queue so far (read on the caller's thread). */
    long handedOver() {
        return handedOver;
    }

    /**
     * Runs {@code jobs[0..n)}; the caller's own share uses {@code cipher}. One caller at a time
     * per pool (each direction of a tunnel has its own).
     */
    void runAll(CryptoJob[] jobs, int n, DataCipher cipher) {
        int parts = parts(n, workers.length);
        if (parts == 1 || closed) {
            for (int i = 0; i < n; i++) {
                jobs[i].run(cipher);
            }
            return;
        }
        waiter = Thread.currentThread();
        int per = (n + parts - 1) / parts;
        pending.set(parts - 1);
        // The workers take the later shares, the caller the first: it is already running.
        for (int p = 1; p < parts; p++) {
            Share s = shares[p - 1];
            s.jobs = jobs;
            s.from = p * per;
            s.to = Math.min(n, (p + 1) * per);
            if (queue.offer(s)) {
                handedOver++;
            } else {
                // Cannot happen with one caller (the queue holds every share), but never lose work.
                runShare(s, cipher);
            }
        }
        for (int i = 0; i < Math.min(n, per); i++) {
            jobs[i].run(cipher);
        }
        // A share no worker has taken yet (its thread not woken, or waiting for a core) is done
        // here rather than waited for; only this caller's shares are ever in the queue.
        for (Share s; (s = queue.poll()) != null; ) {
            runShare(s, cipher);
        }
        // The workers' shares are about as long as ours: spin briefly, then park until the last one unparks us.
        for (int spins = 0; pending.get() > 0; spins++) {
            if (spins < 200) {
                Thread.onSpinWait();
            } else {
                LockSupport.parkNanos(this, 100_000);
            }
        }
    }

    private void runShare(Share s, DataCipher cipher) {
        for (int i = s.from; i < s.to; i++) {
            s.jobs[i].run(cipher);
        }
        pending.decrementAndGet();
    }

    @Override
    public void close() {
        closed = true;
        for (int i = 0; i < workers.length; i++) {
            Share poison = new Share();
            queue.offer(poison);
        }
    }
}
