package dev.patchcord.device;

import dev.patchcord.core.Checksum;
import dev.patchcord.core.Cidr;
import dev.patchcord.core.Counters;
import dev.patchcord.core.offload.VirtioNetHdr;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.core.wg.X25519;
import dev.patchcord.sys.Libc;
import dev.patchcord.sys.Linux;
import dev.patchcord.sys.Poller;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.UdpSocket;
import dev.patchcord.tun.TunDevice;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;

/**
 * Runs the encrypted packet path on synthetic round trips before the interface is declared
 * ready, so that the first real packets find it compiled. The JIT compiles a method once it has
 * run often enough; without this, a fresh tunnel's first few hundred packets run interpreted or
 * at the first tier while the compiler threads take the cores, and its first round trips take
 * twice a warm one's time (docs/performance.md, "Warm from the first packet"). JDK 25's AOT cache
 * brings the method profiles but no compiled code.
 *
 * <ol>
 * <li>Two throwaway WireGuard nodes, A and B, with fresh keys, each the other's only peer
 *     (192.0.2.1 and 192.0.2.2, a documentation range), each with a {@link WgTunnel} of the
 *     interface's offloads on a UDP socket of its own on 127.0.0.1.
 * <li>Their devices are {@link TunDevice#standIn stand-ins}: the class of the real interface, with
 *     its virtio-net header and offloads, over a socket pair. So the call sites see the receiver
 *     classes and branches the interface will, and little is compiled for a case the tunnel
 *     never meets again (code that meets one is thrown away and compiled anew).
 * <li>This thread plays both kernels: it writes an echo request into A's device, reads it where
 *     B's tunnel delivered it, writes the reply into B's device, and reads it at A's. Every
 *     {@link #BURST_EVERY}th round trip is a burst of {@link #BURST} requests, which the tunnels
 *     seal and open as one batch on their cipher threads. Sizes cycle from a ping's to the MTU.
 * <li>The tunnels stop, everything is closed and the nodes are forgotten. The first round trip
 *     is a real handshake, so the handshake's code is warm too.
 * </ol>
 *
 * <p>Nothing leaves the loopback interface, and nothing of the interface being started is used
 * or touched. Every wait is bounded by the deadline; a warm-up that cannot finish (loopback
 * down in a fresh network namespace, say) stops there, and the interface starts as it would
 * have without it.
 */
public final class Warmup {
    /** How long the throwaway tunnels' loops may take to end once told to (they wake at once; a busy machine). */
    public static final long STOP_MILLIS = 1_000;
    /** Round trips by default: after about 500 real ones a fresh tunnel's round trip is a warm one's (performance.md). */
    public static final int ROUND_TRIPS = 600;
    /** Requests in a burst: more than CryptoPool's inline limit, so the cipher threads run too. */
    static final int BURST = 16;
    /** One round trip in this many is a burst. */
    static final int BURST_EVERY = 25;
    private static final int HEADER = 20;
    private static final int ICMP_HEADER = 8;
    private static final byte[] ADDRESS_A = {(byte) 192, 0, 2, 1};
    private static final byte[] ADDRESS_B = {(byte) 192, 0, 2, 2};

    /** What a warm-up did: round trips completed, and why it stopped early (null if it did not). */
    public record Result(int roundTrips, long millis, String stoppedEarly) {}

    private Warmup() {}

    /**
     * Runs up to {@code roundTrips} round trips through two throwaway tunnels shaped like the
     * interface ({@code vnet}, {@code deviceOffloads}: what its device has; {@code offloads}: how
     * its packet path runs; {@code mtu}: its MTU), for at most {@code deadlineMillis}, and then at
     * most {@link #STOP_MILLIS} for their loops to end. Never throws for a failure of its own:
     * the result says why it stopped.
     */
    public static Result run(boolean vnet, int deviceOffloads, Offloads offloads, int mtu, int roundTrips,
            long deadlineMillis) {
        long start = System.nanoTime();
        long deadline = start + TimeUnit.MILLISECONDS.toNanos(deadlineMillis);
        int done = 0;
        String stoppedEarly = null;
        Wakeup wakeup = null;
        End a = null;
        End b = null;
        try (Arena arena = Arena.ofConfined()) {
            try {
                wakeup = new Wakeup();
                a = new End(wakeup, vnet, deviceOffloads, offloads, mtu, arena);
                b = new End(wakeup, vnet, deviceOffloads, offloads, mtu, arena);
                a.peerWith(b, ADDRESS_B);
                b.peerWith(a, ADDRESS_A);
                a.start();
                b.start();
                Driver driver = new Driver(a, b, vnet, mtu, deadline, arena);
                while (done < roundTrips && stoppedEarly == null) {
                    if (System.nanoTime() - deadline >= 0) {
                        stoppedEarly = "out of time";
                        break;
                    }
                    int n = done % BURST_EVERY == BURST_EVERY - 1 ? Math.min(BURST, roundTrips - done) : 1;
                    stoppedEarly = driver.roundTrips(done, n);
                    if (stoppedEarly == null) {
                        done += n;
                    }
                }
            } catch (SysException | RuntimeException e) {
                stoppedEarly = e.getMessage() == null ? e.toString() : e.getMessage();
            } finally {
                if (!stop(wakeup, a, b)) {
                    stoppedEarly = (stoppedEarly == null ? "" : stoppedEarly + "; ")
                            + "its loops did not end within " + STOP_MILLIS + " ms and were left running";
                }
            }
        }
        return new Result(done, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start), stoppedEarly);
    }

    /**
     * Ends the throwaway tunnels and closes what they used. A loop that has not ended within
     * {@link #STOP_MILLIS} keeps its descriptors: closed under it, their numbers could be given
     * to the interface being built at that moment, which the loop would then read and write.
     *
     * @return whether everything ended and was closed
     */
    private static boolean stop(Wakeup wakeup, End a, End b) {
        if (wakeup == null) {
            return true;
        }
        wakeup.signal();
        long stopBy = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(STOP_MILLIS);
        boolean stopped = true;
        for (End e : new End[]{a, b}) {
            if (e != null && e.started) {
                try {
                    stopped &= e.tunnel.awaitStopped(Math.max(0, stopBy - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    stopped = false;
                }
            }
        }
        if (!stopped) {
            return false;
        }
        for (End e : new End[]{a, b}) {
            if (e != null) {
                e.close();
            }
        }
        wakeup.close();
        return true;
    }

    /** One throwaway tunnel: its node, its stand-in device and its socket. */
    private static final class End {
        final Node node;
        final TunDevice.StandIn device;
        final UdpSocket socket;
        final PeerEndpoints endpoints = new PeerEndpoints();
        final WgTunnel tunnel;
        final Poller kernelPoller;
        boolean started;

        End(Wakeup wakeup, boolean vnet, int deviceOffloads, Offloads offloads, int mtu, Arena arena)
                throws SysException {
            SecureRandom random = new SecureRandom();
            node = new Node(X25519.generatePrivate(random), random, new Counters(), Node.DEFAULT_LOAD_THRESHOLD,
                    offloads.curve25519());
            node.setMtu(mtu);
            device = TunDevice.standIn(TunDevice.Kind.TUN, wakeup, vnet, deviceOffloads);
            UdpSocket s = null;
            WgTunnel t = null;
            try {
                s = UdpSocket.bind(InetAddress.getLoopbackAddress(), 0, wakeup);
                t = new WgTunnel(device.device(), s, node, endpoints, wakeup, null, offloads);
                kernelPoller = new Poller(device.kernelSide(), wakeup, arena);
            } catch (SysException | RuntimeException e) {
                if (t != null) {
                    t.release();
                }
                if (s != null) {
                    s.close();
                }
                device.close();
                throw e;
            }
            socket = s;
            tunnel = t;
        }

        void start() {
            started = true; // set first: a start that fails part-way may have started a loop
            tunnel.start();
        }

        void peerWith(End other, byte[] address) {
            Peer peer = node.addPeer(other.node.publicKey(), null);
            endpoints.put(peer, new PeerAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(),
                    other.socket.port()), true));
            node.allowedIps().add(new Cidr(address(address), 32), peer);
        }

        private static InetAddress address(byte[] bytes) {
            try {
                return InetAddress.getByAddress(bytes);
            } catch (java.net.UnknownHostException e) {
                throw new IllegalArgumentException(e); // four bytes are always an address
            }
        }

        /** Once the loops have ended (or never started). */
        void close() {
            tunnel.release();
            socket.close();
            device.close();
        }
    }

    /** This thread's part: the two kernels, writing requests and replies and reading them back. */
    private static final class Driver {
        private final End a;
        private final End b;
        private final int prefix;
        private final int mtu;
        private final long deadline;
        private final MemorySegment packet;
        private final ByteBuffer view;

        Driver(End a, End b, boolean vnet, int mtu, long deadline, Arena arena) {
            this.a = a;
            this.b = b;
            this.prefix = vnet ? VirtioNetHdr.SIZE : 0;
            this.mtu = mtu;
            this.deadline = deadline;
            this.packet = arena.allocate(prefix + 65_536, 8);
            this.view = packet.asByteBuffer().order(ByteOrder.BIG_ENDIAN);
        }

        /** {@code n} requests from A, echoed at B, back at A; null, or why they did not all come back. */
        String roundTrips(int first, int n) throws SysException {
            for (int i = 0; i < n; i++) {
                int len = HEADER + ICMP_HEADER + payload(first + i);
                echoRequest(len, first + i);
                if (!write(a, prefix + len)) {
                    return "a stand-in device refused a packet";
                }
            }
            for (int i = 0; i < n; i++) {
                int got = read(b);
                String wrong = unlessWhole(got);
                if (wrong != null) {
                    return wrong;
                }
                swapAddresses(); // B's kernel answers: the reply goes back the same way
                clearVnetHeader();
                if (!write(b, got)) {
                    return "a stand-in device refused a packet";
                }
            }
            for (int i = 0; i < n; i++) {
                String wrong = unlessWhole(read(a));
                if (wrong != null) {
                    return wrong;
                }
            }
            return null;
        }

        /** Why a read of {@code got} bytes is no packet, or null if it is one. */
        private String unlessWhole(int got) {
            if (got < 0) {
                return "out of time";
            }
            return got < prefix + HEADER ? "a packet arrived cut short" : null;
        }

        /** A zero virtio-net header, as the kernel hands a lone packet over: GSO none, no flags. */
        private void clearVnetHeader() {
            for (int k = 0; k < prefix; k++) {
                view.put(k, (byte) 0);
            }
        }

        /** Payload sizes from a ping's 56 bytes up to what the MTU allows, in 97-byte steps. */
        private int payload(int k) {
            int max = mtu - HEADER - ICMP_HEADER;
            return 56 + (k * 97) % Math.max(1, max - 56);
        }

        /** An IPv4 ICMP echo request from A to B, after a zero virtio-net header (GSO none). */
        private void echoRequest(int len, int sequence) {
            clearVnetHeader();
            int ip = prefix;
            view.put(ip, (byte) 0x45);
            view.put(ip + 1, (byte) 0);
            view.putShort(ip + 2, (short) len);
            view.putShort(ip + 4, (short) sequence);
            view.putShort(ip + 6, (short) 0x4000); // don't fragment
            view.put(ip + 8, (byte) 64);
            view.put(ip + 9, (byte) 1); // ICMP
            view.put(ip + 12, ADDRESS_A);
            view.put(ip + 16, ADDRESS_B);
            Checksum.writeIpv4Header(view, ip);
            int icmp = ip + HEADER;
            view.put(icmp, (byte) 8);
            view.put(icmp + 1, (byte) 0);
            view.putShort(icmp + 2, (short) 0);
            view.putInt(icmp + 4, sequence);
            for (int i = icmp + ICMP_HEADER; i < ip + len; i++) {
                view.put(i, (byte) i);
            }
            view.putShort(icmp + 2, (short) Checksum.finish(Checksum.sum(view, icmp, len - HEADER, 0)));
        }

        /** Swaps the source and destination addresses; the header checksum stays right. */
        private void swapAddresses() {
            int ip = prefix;
            int src = view.getInt(ip + 12);
            view.putInt(ip + 12, view.getInt(ip + 16));
            view.putInt(ip + 16, src);
        }

        private boolean write(End end, int len) {
            return Libc.write(end.device.kernelSide(), packet, len) == len;
        }

        /** The next packet the tunnel wrote to {@code end}'s device, or -1 past the deadline. */
        private int read(End end) throws SysException {
            while (true) {
                long n = Libc.read(end.device.kernelSide(), packet, packet.byteSize());
                if (n >= 0) {
                    return (int) n;
                }
                if (n != -Linux.EAGAIN && n != -Linux.EINTR) {
                    throw new SysException("read from a warm-up device", (int) -n);
                }
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0) {
                    return -1;
                }
                end.kernelPoller.await(Linux.POLLIN, (int) Math.min(left, 100));
            }
        }
    }
}
