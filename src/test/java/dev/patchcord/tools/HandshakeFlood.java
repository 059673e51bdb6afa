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
import java.util.ArrayList;
import java.util.List;
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
 * (about 17 ms). Each source sends its keys' initiations and nothing else.
 *
 * <p>Open loop: initiations go out at the planned rate (or as fast as this side makes them),
 * whether or not the earlier ones were answered; a responder that cannot keep up drops the rest
 * (its socket's queue overflows), and the responses it sends are its capacity. Counting runs in
 * two windows, a warm-up (the responder's JIT compiles, every key gets its cookie) and the
 * measurement, at whose two ends the responder's CPU time is read from {@code /proc/PID/stat}.
 */
public final class HandshakeFlood {
    /** The least time between two initiations of one key (and so of one source address). */
    static final Duration KEY_GAP = Duration.ofMillis(100);
    /** The responder's per-source rate under load (the core's RateLimiter, as the kernel's). */
    static final int LIMITER_PER_SECOND = 20;
    private static final int MAX_SOURCES = 65_536;

    private HandshakeFlood() {}

    /**
     * What to send.
     *
     * @param firstSource the first of {@code sources} consecutive source addresses, or null for
     *                    one socket whose address the kernel picks
     * @param perSecond   initiations a second, all keys together; 0 for as fast as they are made
     * @param responderPid the responder's process, whose CPU time is read; 0 for none
     * @param clockTicks  the unit of {@code /proc/PID/stat}'s times (getconf CLK_TCK)
     */
    public record Plan(InetSocketAddress target, byte[] responderPublicKey, List<byte[]> keys, InetAddress firstSource,
                       int sources, int perSecond, Duration warmUp, Duration measure, long responderPid, int clockTicks) {
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
    public record Window(double seconds, long sent, long withCookie, long sendErrors, long responses, long cookies,
                         long cookiesRefused, long unmatched, long other, double responderCpuSeconds) {
        @Override
        public String toString() {
            String cpu = Double.isNaN(responderCpuSeconds) ? ""
                    : String.format(" responder-cpu-seconds=%.2f responder-cpu-per-second=%.3f handshakes-per-cpu-second=%.0f",
                            responderCpuSeconds, responderCpuSeconds / seconds, responses / responderCpuSeconds);
            return String.format("seconds=%.3f sent=%d with-cookie=%d send-errors=%d responses=%d cookie-replies=%d "
                    + "cookies-refused=%d unmatched=%d other=%d responses-per-second=%.0f%s",
                    seconds, sent, withCookie, sendErrors, responses, cookies, cookiesRefused, unmatched, other,
                    responses / seconds, cpu);
        }
    }

    public record Report(String initiatorCurve, int keys, int sources, Window warmUp, Window measured) {}

    /** The counters both threads add to, read at the windows' ends. */
    private static final class Counts {
        final LongAdder sent = new LongAdder(), withCookie = new LongAdder(), sendErrors = new LongAdder();
        final LongAdder responses = new LongAdder(), cookies = new LongAdder(), cookiesRefused = new LongAdder();
        final LongAdder unmatched = new LongAdder(), other = new LongAdder();

        long[] snapshot() {
            return new long[] {sent.sum(), withCookie.sum(), sendErrors.sum(), responses.sum(), cookies.sum(),
                    cookiesRefused.sum(), unmatched.sum(), other.sum()};
        }

        static Window between(long[] a, long[] b, double seconds, double cpu) {
            return new Window(seconds, b[0] - a[0], b[1] - a[1], b[2] - a[2], b[3] - a[3], b[4] - a[4], b[5] - a[5],
                    b[6] - a[6], b[7] - a[7], cpu);
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
            Thread reader = Thread.ofPlatform().name("replies").daemon().start(() -> readReplies(selector, peers, counts));
            Sender sender = new Sender(plan, peers, channels, counts);
            Thread sending = Thread.ofPlatform().name("initiations").daemon().start(sender);

            long t0 = System.nanoTime();
            double cpu0 = cpuSeconds(plan);
            long[] c0 = counts.snapshot();
            sleepUntil(t0 + plan.warmUp().toNanos());
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

    /** Round-robin over the keys, each on its source, paced by the plan and by {@link #KEY_GAP}. */
    private static final class Sender implements Runnable {
        private final Plan plan;
        private final KnownPeers peers;
        private final List<DatagramChannel> channels;
        private final Counts counts;
        volatile boolean stop;
        volatile Exception failure;

        Sender(Plan plan, KnownPeers peers, List<DatagramChannel> channels, Counts counts) {
            this.plan = plan;
            this.peers = peers;
            this.channels = channels;
            this.counts = counts;
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
            boolean[] sent = new boolean[n];
            long gap = KEY_GAP.toNanos();
            long interval = plan.perSecond() == 0 ? 0 : 1_000_000_000L / plan.perSecond();
            ByteBuffer buf = ByteBuffer.allocateDirect(Protocol.INITIATION_SIZE);
            long start = System.nanoTime();
            for (long i = 0; !stop; i++) {
                int k = (int) (i % n);
                long due = start + i * interval;
                if (sent[k] && last[k] + gap - due > 0) {
                    due = last[k] + gap;
                }
                long now;
                while ((now = System.nanoTime()) - due < 0 && !stop) {
                    LockSupport.parkNanos(Math.min(due - now, 10_000_000L));
                }
                if (stop) {
                    return;
                }
                buf.clear();
                boolean mac2 = peers.initiation(k, buf, now, epochNanos());
                last[k] = now;
                sent[k] = true;
                buf.limit(Protocol.INITIATION_SIZE);
                try {
                    if (channels.get(k % channels.size()).write(buf) == Protocol.INITIATION_SIZE) {
                        counts.sent.increment();
                        if (mac2) {
                            counts.withCookie.increment();
                        }
                    } else {
                        counts.sendErrors.increment(); // the socket's send queue is full
                    }
                } catch (PortUnreachableException e) {
                    counts.sendErrors.increment(); // an ICMP error for an earlier datagram
                }
            }
        }
    }

    private static void readReplies(Selector selector, KnownPeers peers, Counts counts) {
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
                        counts.count(peers.reply(in, n, System.nanoTime(), epochNanos()));
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
