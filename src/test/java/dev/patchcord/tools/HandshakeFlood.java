package dev.patchcord.tools;

import dev.patchcord.core.wg.Curve25519;
import dev.patchcord.core.wg.JdkCurve25519;
import dev.patchcord.core.wg.Protocol;
import dev.patchcord.sys.NativeCurve25519;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * A flood of valid handshake initiations from many keys a responder knows, to measure how many
 * handshakes a second it completes: each initiation it answers costs it a whole responder
 * handshake (four X25519 operations, BLAKE2s, two AEADs), not just a MAC check. The initiators
 * are the protocol core's own ({@link KnownPeers}), so they behave as real peers: a cookie reply
 * is kept and the key's next initiation carries MAC2.
 *
 * <p>The responder's DoS rules shape the flood. Above 100 handshake messages a second it is
 * "under load": it answers an initiation without a valid MAC2 with a cookie reply (no
 * Diffie-Hellman), and lets each source <em>address</em> through at 20 handshakes a second (a
 * burst of 5). A flood from one address would so measure the rate limiter, not the handshake: the
 * keys are spread over many source addresses (one socket bound to each; the benchmark routes a
 * whole prefix to the attacker's loopback so that any of its addresses can be bound), and each
 * key sends at most once every {@link #KEY_GAP} (10 a second), half the limiter's rate and well
 * past the responder's per-peer limit (one initiation per 20 ms) and the timestamp's resolution
 * (about 17 ms).
 *
 * <p>Closed loop, as peers are: a key has one initiation outstanding at a time, and sends the
 * next once the last was answered (by a response or a cookie reply) or after {@link #TIMEOUT}
 * (REKEY_TIMEOUT, as a peer retries); at most {@code window} keys are outstanding at once, so
 * that the responder always has work queued but its socket's queue does not overflow (what
 * overflows is lost until its timeout). The responses a second are then the responder's
 * capacity, and this side makes only the initiations that are answered (two X25519 operations
 * each, half the responder's). Counting runs in two windows, a warm-up (the responder's JIT
 * compiles; prolonged until every key was answered and holds its cookie) and the measurement,
 * at whose two ends the responder's CPU time is read from {@code /proc/PID/stat}.
 */
public final class HandshakeFlood {
    /** The least time between two initiations of one key (and so of one source address). */
    static final Duration KEY_GAP = Duration.ofMillis(100);
    /** How long an initiation waits for its answer before its key sends again (REKEY_TIMEOUT). */
    static final Duration TIMEOUT = Duration.ofSeconds(5);
    /** The most the warm-up is prolonged for keys that have not been answered yet. */
    static final Duration WARM_UP_EXTENSION = Duration.ofSeconds(30);
    /** The responder's per-source rate under load (the core's RateLimiter, as the kernel's). */
    static final int LIMITER_PER_SECOND = 20;
    private static final int MAX_SOURCES = 65_536;

    private HandshakeFlood() {}

    /**
     * What to send.
     *
     * @param firstSource the first of {@code sources} consecutive source addresses, or null for
     *                    one socket whose address the kernel picks
     * @param perSecond   initiations a second, all keys together; 0 for as fast as they are answered
     * @param window      the most initiations outstanding at once
     * @param responderPid the responder's process, whose CPU time is read; 0 for none
     * @param clockTicks  the unit of {@code /proc/PID/stat}'s times (getconf CLK_TCK)
     */
    public record Plan(InetSocketAddress target, byte[] responderPublicKey, List<byte[]> keys, InetAddress firstSource,
                       int sources, int perSecond, int window, Duration warmUp, Duration measure, long responderPid, int clockTicks) {
        public Plan {
            keys = List.copyOf(keys);
            if (keys.isEmpty()) {
                throw new IllegalArgumentException("no keys");
            }
            if (sources < 1 || sources > Math.min(keys.size(), MAX_SOURCES)) {
                throw new IllegalArgumentException("sources must be 1 to the number of keys (" + keys.size() + ")");
            }
            if (firstSource == null && sources != 1) {
                throw new IllegalArgumentException("several sources need the first source address");
            }
            if (firstSource != null && (firstSource instanceof Inet6Address) != (target.getAddress() instanceof Inet6Address)) {
                throw new IllegalArgumentException("the source addresses and the target must be of one family");
            }
            if (perSecond < 0 || perSecond > 1_000_000) {
                throw new IllegalArgumentException("the rate must be 0 (as fast as possible) to 1000000 a second");
            }
            if (window < 1 || window > keys.size()) {
                throw new IllegalArgumentException("the window must be 1 to the number of keys (" + keys.size() + ")");
            }
            if (warmUp.isNegative() || measure.isNegative() || measure.isZero()
                    || warmUp.plus(measure).compareTo(Duration.ofMinutes(10)) > 0) {
                throw new IllegalArgumentException("a flood lasts at most 10 minutes, with a measurement");
            }
            if (clockTicks <= 0) {
                throw new IllegalArgumentException("clock ticks must be positive");
            }
        }

        /** The most initiations a second the keys may send ({@link #KEY_GAP} apart each). */
        public long keyCap() {
            return keys.size() * 1_000_000_000L / KEY_GAP.toNanos();
        }

        /** The most initiations a second one source address sends: its share of the keys, at the keys' rate. */
        public double perSourceCap() {
            int keysPerSource = (keys.size() + sources - 1) / sources;
            double rate = perSecond == 0 ? keyCap() : Math.min(perSecond, keyCap());
            return keysPerSource * rate / keys.size();
        }

        /** Why the plan cannot measure the responder's handshakes, or null if it can. */
        public String limitation() {
            if (perSourceCap() > LIMITER_PER_SECOND) {
                return String.format("up to %.0f initiations a second per source address: under load the responder lets "
                        + "%d a second through from each, so the figure is the rate limiter's; give more sources",
                        perSourceCap(), LIMITER_PER_SECOND);
            }
            if (perSecond > keyCap()) {
                return "each key sends at most every " + KEY_GAP.toMillis() + " ms, so " + keys.size()
                        + " keys send at most " + keyCap() + " a second; give more keys";
            }
            return null;
        }
    }

    /** What one window counted. */
    /**
     * What one window counted. {@code meanOutstanding}: initiations waiting for their answer, on
     * average over the window; near the window, the responder always had work queued (it set the
     * pace), well below it, this side did.
     */
    public record Window(double seconds, long sent, long withCookie, long sendErrors, long timeouts, long responses,
                         long cookies, long cookiesRefused, long unmatched, long other, double meanOutstanding,
                         double responderCpuSeconds) {
        @Override
        public String toString() {
            String cpu = Double.isNaN(responderCpuSeconds) ? ""
                    : String.format(" responder-cpu-seconds=%.2f responder-cpu-per-second=%.3f handshakes-per-cpu-second=%.0f",
                            responderCpuSeconds, responderCpuSeconds / seconds, responses / responderCpuSeconds);
            return String.format("seconds=%.3f sent=%d with-cookie=%d send-errors=%d timeouts=%d responses=%d "
                    + "cookie-replies=%d cookies-refused=%d unmatched=%d other=%d mean-outstanding=%.1f "
                    + "responses-per-second=%.0f%s",
                    seconds, sent, withCookie, sendErrors, timeouts, responses, cookies, cookiesRefused, unmatched, other,
                    meanOutstanding, responses / seconds, cpu);
        }
    }

    public record Report(String initiatorCurve, int keys, int sources, Window warmUp, Window measured) {}

    /** The counters both threads add to, read at the windows' ends. */
    private static final class Counts {
        final LongAdder sent = new LongAdder(), withCookie = new LongAdder(), sendErrors = new LongAdder();
        final LongAdder timeouts = new LongAdder();
        /** The integral of the outstanding initiations over time (count x nanoseconds). */
        final AtomicLong outstandingNanos = new AtomicLong();
        /** Keys whose initiations were answered at least once (so under load they hold a cookie). */
        final AtomicInteger keysAnswered = new AtomicInteger();
        /** Keys that sent an initiation with MAC2 (they hold a cookie). */
        final AtomicInteger keysWithCookie = new AtomicInteger();
        final LongAdder responses = new LongAdder(), cookies = new LongAdder(), cookiesRefused = new LongAdder();
        final LongAdder unmatched = new LongAdder(), other = new LongAdder();

        long[] snapshot() {
            return new long[] {sent.sum(), withCookie.sum(), sendErrors.sum(), timeouts.sum(), responses.sum(),
                    cookies.sum(), cookiesRefused.sum(), unmatched.sum(), other.sum(), outstandingNanos.get()};
        }

        static Window between(long[] a, long[] b, double seconds, double cpu) {
            return new Window(seconds, b[0] - a[0], b[1] - a[1], b[2] - a[2], b[3] - a[3], b[4] - a[4], b[5] - a[5],
                    b[6] - a[6], b[7] - a[7], b[8] - a[8], (b[9] - a[9]) / (seconds * 1e9), cpu);
        }

        void count(KnownPeers.Reply r) {
            (switch (r) {
                case RESPONSE -> responses;
                case COOKIE -> cookies;
                case COOKIE_REFUSED -> cookiesRefused;
                case UNMATCHED -> unmatched;
                case OTHER -> other;
            }).increment();
        }
    }

    /** The X25519 the initiators use: the native one where there is one, to stay ahead of the responder. */
    static Curve25519 initiatorCurve() {
        return NativeCurve25519.best().orElse(JdkCurve25519.INSTANCE);
    }

    public static Report run(Plan plan) throws IOException, InterruptedException {
        KnownPeers peers = new KnownPeers(plan.keys(), plan.responderPublicKey(), initiatorCurve(), new SecureRandom());
        List<DatagramChannel> channels = new ArrayList<>();
        try (Selector selector = Selector.open()) {
            StandardProtocolFamily family = plan.target().getAddress() instanceof Inet6Address
                    ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET;
            for (int s = 0; s < plan.sources(); s++) {
                DatagramChannel ch = DatagramChannel.open(family);
                channels.add(ch);
                if (plan.firstSource() != null) {
                    ch.bind(new InetSocketAddress(nth(plan.firstSource(), s), 0));
                }
                ch.connect(plan.target());
                ch.configureBlocking(false);
                ch.register(selector, SelectionKey.OP_READ);
            }
            Counts counts = new Counts();
            Sender sender = new Sender(plan, peers, channels, counts);
            Thread sending = Thread.ofPlatform().name("initiations").daemon().unstarted(sender);
            sender.thread = sending;
            Thread reader = Thread.ofPlatform().name("replies").daemon().start(() -> readReplies(selector, peers, counts, sender));
            sending.start();

            long t0 = System.nanoTime();
            double cpu0 = cpuSeconds(plan);
            long[] c0 = counts.snapshot();
            sleepUntil(t0 + plan.warmUp().toNanos());
            // The warm-up lasts until every key was answered once and, if the responder gave any
            // cookies, every key holds one, so that the measurement does not count the cookie round
            // (the first 100 initiations of a second are answered before the responder is under
            // load; their keys get their cookies a round later). At most WARM_UP_EXTENSION more.
            long cap = System.nanoTime() + WARM_UP_EXTENSION.toNanos();
            while (!settled(counts, peers.size()) && System.nanoTime() - cap < 0 && sending.isAlive()) {
                Thread.sleep(10);
            }
            long t1 = System.nanoTime();
            double cpu1 = cpuSeconds(plan);
            long[] c1 = counts.snapshot();
            sleepUntil(t1 + plan.measure().toNanos());
            long t2 = System.nanoTime();
            double cpu2 = cpuSeconds(plan);
            long[] c2 = counts.snapshot();

            sender.stop = true;
            sending.join(Duration.ofSeconds(5));
            if (sender.failure != null) {
                throw new IOException("sending failed: " + sender.failure.getMessage(), sender.failure);
            }
            // Replies to the last initiations are on their way; they count in no window.
            Thread.sleep(300);
            reader.interrupt();
            selector.wakeup();
            reader.join(Duration.ofSeconds(2));
            return new Report(peers.curveEngine(), peers.size(), plan.sources(),
                    Counts.between(c0, c1, (t1 - t0) / 1e9, cpu1 - cpu0), Counts.between(c1, c2, (t2 - t1) / 1e9, cpu2 - cpu1));
        } finally {
            for (DatagramChannel ch : channels) {
                ch.close();
            }
        }
    }

    /** Every key was answered, and if the responder gives cookies, every key sent one in MAC2. */
    private static boolean settled(Counts counts, int keys) {
        return counts.keysAnswered.get() == keys && (counts.cookies.sum() == 0 || counts.keysWithCookie.get() == keys);
    }

    /**
     * Sends the initiations: the keys whose last initiation was answered or timed out, in the order
     * they became free, each {@link #KEY_GAP} after its last, at most {@code window} outstanding,
     * paced by the plan's rate if it has one.
     */
    private static final class Sender implements Runnable {
        private final Plan plan;
        private final KnownPeers peers;
        private final List<DatagramChannel> channels;
        private final Counts counts;
        /** Answers from the reader: key in the high half, the answered sender index in the low. */
        private final ConcurrentLinkedQueue<Long> answers = new ConcurrentLinkedQueue<>();
        volatile Thread thread;
        volatile boolean stop;
        volatile Exception failure;

        private record Sent(int key, int index, long at) {}

        Sender(Plan plan, KnownPeers peers, List<DatagramChannel> channels, Counts counts) {
            this.plan = plan;
            this.peers = peers;
            this.channels = channels;
            this.counts = counts;
        }

        /** The reader's news: key {@code k}'s initiation {@code index} was answered. */
        void answered(int k, int index) {
            answers.add((long) k << 32 | (index & 0xffff_ffffL));
            LockSupport.unpark(thread);
        }

        @Override
        public void run() {
            try {
                send();
            } catch (Exception e) {
                failure = e;
            }
        }

        private void send() throws IOException {
            int n = peers.size();
            long[] last = new long[n];
            boolean[] open = new boolean[n];
            boolean[] everSent = new boolean[n];
            boolean[] everAnswered = new boolean[n];
            boolean[] everCookie = new boolean[n];
            ArrayDeque<Integer> free = new ArrayDeque<>(n);
            for (int k = 0; k < n; k++) {
                free.add(k);
            }
            ArrayDeque<Sent> inOrder = new ArrayDeque<>();
            int outstanding = 0;
            long gap = KEY_GAP.toNanos(), timeout = TIMEOUT.toNanos();
            long interval = plan.perSecond() == 0 ? 0 : 1_000_000_000L / plan.perSecond();
            long nextDue = System.nanoTime();
            ByteBuffer buf = ByteBuffer.allocateDirect(Protocol.INITIATION_SIZE);
            long counted = System.nanoTime();
            while (!stop) {
                long now = System.nanoTime();
                counts.outstandingNanos.addAndGet(outstanding * (now - counted));
                counted = now;
                for (Long a; (a = answers.poll()) != null; ) {
                    int k = (int) (a >>> 32);
                    if (open[k] && peers.newest(k) == (int) (long) a) {
                        open[k] = false;
                        outstanding--;
                        free.add(k);
                        if (!everAnswered[k]) {
                            everAnswered[k] = true;
                            counts.keysAnswered.incrementAndGet();
                        }
                    }
                }
                // The oldest initiations: answered ones are forgotten, those past the timeout given up.
                for (Sent head; (head = inOrder.peekFirst()) != null; inOrder.pollFirst()) {
                    boolean current = open[head.key()] && peers.newest(head.key()) == head.index();
                    if (current && now - head.at() < timeout) {
                        break;
                    }
                    if (current) {
                        open[head.key()] = false;
                        outstanding--;
                        counts.timeouts.increment();
                        free.add(head.key());
                    }
                }
                long wake = now + 10_000_000L;
                if (!inOrder.isEmpty()) {
                    wake = Math.min(wake, inOrder.peekFirst().at() + timeout);
                }
                if (outstanding < plan.window() && !free.isEmpty()) {
                    int k = free.peekFirst();
                    long due = interval == 0 ? now : nextDue;
                    if (everSent[k] && last[k] + gap - due > 0) {
                        due = last[k] + gap;
                    }
                    if (due - now <= 0) {
                        free.pollFirst();
                        buf.clear();
                        boolean mac2 = peers.initiation(k, buf, now, epochNanos());
                        if (mac2 && !everCookie[k]) {
                            everCookie[k] = true;
                            counts.keysWithCookie.incrementAndGet();
                        }
                        last[k] = now;
                        everSent[k] = true;
                        open[k] = true;
                        outstanding++;
                        inOrder.add(new Sent(k, peers.newest(k), now));
                        // Behind the rate by at most 10 ms: a late wake-up is caught up, a stall is not.
                        nextDue = Math.max(nextDue + interval, now - 10_000_000L);
                        buf.limit(Protocol.INITIATION_SIZE);
                        write(channels.get(k % channels.size()), buf, mac2);
                        continue;
                    }
                    wake = Math.min(wake, due);
                }
                if (wake - now > 0) {
                    LockSupport.parkNanos(wake - now);
                }
            }
        }

        private void write(DatagramChannel ch, ByteBuffer buf, boolean mac2) throws IOException {
            try {
                if (ch.write(buf) == Protocol.INITIATION_SIZE) {
                    counts.sent.increment();
                    if (mac2) {
                        counts.withCookie.increment();
                    }
                    return;
                }
            } catch (PortUnreachableException e) {
                // An ICMP error for an earlier datagram: this one is lost too.
            }
            counts.sendErrors.increment(); // (or the socket's send queue was full); it times out
        }
    }

    private static void readReplies(Selector selector, KnownPeers peers, Counts counts, Sender sender) {
        ByteBuffer in = ByteBuffer.allocateDirect(2048);
        try {
            while (!Thread.currentThread().isInterrupted()) {
                selector.select(100);
                for (SelectionKey key : selector.selectedKeys()) {
                    DatagramChannel ch = (DatagramChannel) key.channel();
                    for (int i = 0; i < 64; i++) {
                        in.clear();
                        int n;
                        try {
                            n = ch.read(in);
                        } catch (PortUnreachableException e) {
                            continue;
                        }
                        if (n <= 0) {
                            break;
                        }
                        KnownPeers.Answer a = peers.reply(in, n, System.nanoTime(), epochNanos());
                        counts.count(a.reply());
                        if (a.key() >= 0) {
                            sender.answered(a.key(), a.index());
                        }
                    }
                }
                selector.selectedKeys().clear();
            }
        } catch (IOException | java.nio.channels.ClosedSelectorException e) {
            // Closed at the end of the flood.
        }
    }

    /** The {@code n}th address after {@code first} (n = 0 is {@code first}). */
    static InetAddress nth(InetAddress first, int n) throws IOException {
        byte[] a = first.getAddress();
        long carry = n;
        for (int i = a.length - 1; i >= 0 && carry != 0; i--) {
            long v = (a[i] & 0xff) + carry;
            a[i] = (byte) v;
            carry = v >>> 8;
        }
        if (carry != 0) {
            throw new IOException("no " + n + "th address after " + first.getHostAddress());
        }
        return InetAddress.getByAddress(a);
    }

    /** The responder's CPU time so far (user and system, all its threads), or NaN without a process. */
    static double cpuSeconds(Plan plan) throws IOException {
        if (plan.responderPid() == 0) {
            return Double.NaN;
        }
        return cpuTicks(Files.readString(Path.of("/proc", Long.toString(plan.responderPid()), "stat")))
                / (double) plan.clockTicks();
    }

    /** utime + stime from the text of {@code /proc/PID/stat} (fields 14 and 15; the name may hold spaces). */
    static long cpuTicks(String stat) {
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
        // f[0] is field 3 (the state).
        return Long.parseLong(f[14 - 3]) + Long.parseLong(f[15 - 3]);
    }

    private static void sleepUntil(long deadline) throws InterruptedException {
        long now;
        while ((now = System.nanoTime()) - deadline < 0) {
            Thread.sleep(Duration.ofNanos(Math.min(deadline - now, 100_000_000L)));
        }
    }

    private static long epochNanos() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }
}
