package dev.patchcord.tools;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A bad network in user space, for kernels without the netem queueing discipline: a UDP relay
 * between a client and a server that loses, duplicates, delays and reorders datagrams in both
 * directions with netem's meaning of its parameters. Each datagram is lost with probability
 * {@code loss}; a survivor is sent twice with probability {@code duplicate}; it is held for
 * {@code delay}, except that with probability {@code reorder} it goes at once, overtaking the
 * datagrams held before it. At most {@code limit} datagrams are held per direction (netem's
 * queue limit); more are dropped, as a full queue drops them.
 *
 * <p>The client is whoever sent to the listening address last; the server sees the relay's own
 * address as the client's.
 */
public final class Impair {
    private Impair() {}

    /** Probabilities in [0, 1]. */
    public record Settings(double loss, double duplicate, double reorder, Duration delay, int limit) {
        public Settings {
            for (double p : new double[]{loss, duplicate, reorder}) {
                if (!(p >= 0 && p <= 1)) {
                    throw new IllegalArgumentException("probabilities are between 0 and 100 %");
                }
            }
            if (delay.isNegative() || delay.compareTo(Duration.ofSeconds(10)) > 0 || limit < 1) {
                throw new IllegalArgumentException("the delay is 0 to 10 s and the limit at least 1");
            }
        }
    }

    /** What happened to the datagrams, both directions together. */
    public record Report(long received, long lost, long duplicated, long reordered, long overflow) {
        @Override
        public String toString() {
            return "received=" + received + " lost=" + lost + " duplicated=" + duplicated + " reordered=" + reordered
                    + " overflow=" + overflow;
        }
    }

    private record Held(long due, long seq, byte[] data, DatagramChannel via, SocketAddress to) {}

    /** A relay at work; {@link #close()} stops it. */
    public static final class Running implements AutoCloseable {
        private final Relay relay;
        private final DatagramChannel outer, inner;
        private final Thread[] threads;

        private Running(Relay relay, DatagramChannel outer, DatagramChannel inner) {
            this.relay = relay;
            this.outer = outer;
            this.inner = inner;
            this.threads = new Thread[]{
                    Thread.ofPlatform().daemon().name("impair-from-client").start(() -> relay.pump(outer, inner, false)),
                    Thread.ofPlatform().daemon().name("impair-from-server").start(() -> relay.pump(inner, outer, true)),
                    Thread.ofPlatform().daemon().name("impair-send").start(relay::sendDue)};
        }

        public Report report() {
            return relay.report();
        }

        @Override
        public void close() throws IOException {
            relay.stop();
            outer.close();
            inner.close();
            for (Thread t : threads) {
                try {
                    t.join(Duration.ofSeconds(2));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    /** Binds {@code listen} and starts relaying between it and {@code server}. */
    public static Running start(InetSocketAddress listen, InetSocketAddress server, Settings s) throws IOException {
        DatagramChannel outer = DatagramChannel.open().bind(listen);
        DatagramChannel inner;
        try {
            inner = DatagramChannel.open().bind(new InetSocketAddress(listen.getAddress(), 0));
            inner.connect(server);
        } catch (IOException e) {
            outer.close();
            throw e;
        }
        return new Running(new Relay(s), outer, inner);
    }

    private static final class Relay {
        private final Settings s;
        private final SplittableRandom random = new SplittableRandom();
        private final PriorityQueue<Held> held = new PriorityQueue<>((a, b) -> a.due != b.due
                ? Long.compare(a.due, b.due) : Long.compare(a.seq, b.seq));
        private final int[] heldPerDirection = new int[2];
        private long seq;
        private volatile boolean stopped;
        private volatile SocketAddress client;
        private final AtomicLong received = new AtomicLong(), lost = new AtomicLong(), duplicated = new AtomicLong(),
                reordered = new AtomicLong(), overflow = new AtomicLong();

        Relay(Settings s) {
            this.s = s;
        }

        /**
         * Reads datagrams from {@code in} and schedules them out of {@code out}: to the latest
         * client if {@code toClient}, else to the server (the connected socket).
         */
        void pump(DatagramChannel in, DatagramChannel out, boolean toClient) {
            ByteBuffer buf = ByteBuffer.allocate(65536);
            while (!stopped) {
                SocketAddress from;
                try {
                    buf.clear();
                    from = in.receive(buf);
                } catch (PortUnreachableException e) {
                    continue; // the server was not listening for a moment (a restart)
                } catch (ClosedChannelException e) {
                    return;
                } catch (IOException e) {
                    if (!stopped) {
                        System.err.println("impair: " + e.getMessage());
                    }
                    return;
                }
                if (!toClient) {
                    client = from;
                }
                SocketAddress to = toClient ? client : null;
                if (toClient && to == null) {
                    continue;
                }
                byte[] data = new byte[buf.flip().remaining()];
                buf.get(data);
                received.incrementAndGet();
                schedule(data, out, to, toClient ? 1 : 0);
            }
        }

        private synchronized void schedule(byte[] data, DatagramChannel out, SocketAddress to, int direction) {
            if (random.nextDouble() < s.loss()) {
                lost.incrementAndGet();
                return;
            }
            int copies = random.nextDouble() < s.duplicate() ? 2 : 1;
            if (copies == 2) {
                duplicated.incrementAndGet();
            }
            long now = System.nanoTime();
            boolean early = s.reorder() > 0 && random.nextDouble() < s.reorder();
            if (early) {
                reordered.incrementAndGet();
            }
            for (int c = 0; c < copies; c++) {
                if (heldPerDirection[direction] >= s.limit()) {
                    overflow.incrementAndGet();
                    continue;
                }
                heldPerDirection[direction]++;
                held.add(new Held(early ? now : now + s.delay().toNanos(), seq++, data, out, to));
            }
            notifyAll();
        }

        /** Sends every held datagram once its time has come. */
        void sendDue() {
            while (!stopped) {
                Held h;
                synchronized (this) {
                    h = held.peek();
                    long wait = h == null ? 10_000_000 : h.due - System.nanoTime();
                    if (wait > 0) {
                        try {
                            wait(wait / 1_000_000, (int) (wait % 1_000_000));
                        } catch (InterruptedException e) {
                            return;
                        }
                        continue;
                    }
                    held.poll();
                    heldPerDirection[h.to == null ? 0 : 1]--;
                }
                try {
                    if (h.to == null) {
                        h.via.write(ByteBuffer.wrap(h.data));
                    } else {
                        h.via.send(ByteBuffer.wrap(h.data), h.to);
                    }
                } catch (IOException e) {
                    // The server's port may be closed for a moment (a restart): a lost datagram.
                }
            }
        }

        synchronized void stop() {
            stopped = true;
            notifyAll();
        }

        Report report() {
            return new Report(received.get(), lost.get(), duplicated.get(), reordered.get(), overflow.get());
        }
    }
}
