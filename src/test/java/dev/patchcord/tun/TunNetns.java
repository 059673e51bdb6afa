package dev.patchcord.tun;

import dev.patchcord.core.offload.VirtioNetHdr;
import dev.patchcord.sys.Libc;
import dev.patchcord.sys.Linux;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A private network namespace for TUN tests, and the IPv4 packets they exchange with its kernel.
 * Each test body runs on a thread of its own that unshares its network namespace (only that thread
 * moves), so the interface, its address and route exist only there and vanish with the thread and
 * the descriptor. Needs root.
 *
 * <p>Every thread created from that thread is born in its namespace too, and so it must start only
 * platform threads it ends itself: a virtual thread started there may make the virtual-thread
 * scheduler's carriers (and its sleep timer) there, and they outlive the test. Every later virtual
 * thread that lands on such a carrier opens its sockets in a namespace whose loopback is down, so
 * that a connect to 127.0.0.1 fails with "Network is unreachable" (it made TcpRedialTest fail in
 * the full suite). After each body, every thread of the JVM is checked to be back in its namespace.
 */
final class TunNetns {
    private TunNetns() {}

    static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfInt BE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final int OUR_ADDRESS = 0x0a4d0001; // 10.77.0.1, the interface's
    static final int PEER_ADDRESS = 0x0a4d0002; // 10.77.0.2, "behind" the interface

    interface NetnsBody {
        void run(Wakeup wakeup) throws Exception;
    }

    /**
     * Runs {@code body} on a new thread inside a new, empty network namespace; bounded to 30 s.
     * Then checks that no thread of the JVM stayed in that namespace.
     */
    static void inPrivateNetns(NetnsBody body) throws Exception {
        CompletableFuture<Void> done = new CompletableFuture<>();
        Thread inside = Thread.ofPlatform().name("tun-netns-test").daemon(true).start(() -> {
            try (Wakeup wakeup = new Wakeup()) {
                int r = Libc.unshare(Linux.CLONE_NEWNET);
                if (r < 0) {
                    done.completeExceptionally(new org.opentest4j.TestAbortedException(
                            "cannot unshare the network namespace: " + Libc.strerror(-r)));
                    return;
                }
                // A platform thread, ended before this one ends: not a virtual thread (see above).
                Thread stopper = Thread.ofPlatform().name("tun-netns-stopper").daemon(true).start(() -> {
                    try {
                        Thread.sleep(20_000);
                        wakeup.signal(); // a read waiting for a packet that never comes ends here
                    } catch (InterruptedException ignored) {
                        // the body finished in time
                    }
                });
                try {
                    body.run(wakeup);
                } finally {
                    stopper.interrupt();
                    stopper.join();
                }
                done.complete(null);
            } catch (Throwable t) {
                done.completeExceptionally(t);
            }
        });
        try {
            done.get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof Exception ex) {
                throw ex;
            }
            throw e;
        }
        inside.join(5_000);
        assertNoThreadInAnotherNetns();
    }

    /**
     * Every thread of the JVM is in the JVM's network namespace. A thread that has just ended may
     * still be listed for a moment, so this waits up to 2 s for the list to clear; one that stays
     * (a carrier of virtual threads) fails the test that left it there.
     */
    private static void assertNoThreadInAnotherNetns() throws Exception {
        Path own = Files.readSymbolicLink(Path.of("/proc/self/ns/net"));
        long deadline = System.nanoTime() + 2_000_000_000L;
        List<String> elsewhere = threadsInOtherNetns(own);
        while (!elsewhere.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(20);
            elsewhere = threadsInOtherNetns(own);
        }
        assertThat(elsewhere).as("threads left in the test's private network namespace").isEmpty();
    }

    private static List<String> threadsInOtherNetns(Path own) throws IOException {
        List<String> elsewhere = new ArrayList<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path task : tasks) {
                try {
                    Path netns = Files.readSymbolicLink(task.resolve("ns/net"));
                    if (!netns.equals(own)) {
                        elsewhere.add(Files.readString(task.resolve("comm")).strip() + " (" + netns + ")");
                    }
                } catch (IOException ended) {
                    // The thread ended while the list was read: its entry is gone (ENOENT), or
                    // is going and its files answer ESRCH ("No such process").
                }
            }
        }
        return elsewhere;
    }

    /** 10.77.0.1/24 on the interface (which routes 10.77.0.0/24 into it), then up. */
    static void addressAndUp(String ifname) throws SysException {
        int fd = (int) SysException.check(Libc.socket(Linux.AF_INET, Linux.SOCK_DGRAM | Linux.SOCK_CLOEXEC, 0), "socket");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ifr = arena.allocate(Linux.IFREQ_SIZE);
            ifr.setString(0, ifname);
            sockaddrIn(ifr, OUR_ADDRESS);
            SysException.check(Libc.ioctl(fd, Linux.SIOCSIFADDR, ifr), "SIOCSIFADDR");
            sockaddrIn(ifr, 0xffffff00);
            SysException.check(Libc.ioctl(fd, Linux.SIOCSIFNETMASK, ifr), "SIOCSIFNETMASK");
        } finally {
            Libc.close(fd);
        }
        Link.setUp(ifname);
    }

    private static void sockaddrIn(MemorySegment ifr, int address) {
        ifr.set(JAVA_SHORT, Linux.IFNAMSIZ, (short) Linux.AF_INET);
        ifr.set(BE16, Linux.IFNAMSIZ + 2, (short) 0);
        ifr.set(BE32, Linux.IFNAMSIZ + 4, address);
    }

    static byte[] intToBytes(int a) {
        return new byte[] {(byte) (a >>> 24), (byte) (a >>> 16), (byte) (a >>> 8), (byte) a};
    }

    /** An ICMP echo request from 10.77.0.2 to 10.77.0.1 at {@code off}; returns its length. */
    static int echoRequest(MemorySegment p, long off, int seq) {
        int payload = 32;
        int len = 20 + 8 + payload;
        ipv4Header(p, off, len, 1, PEER_ADDRESS, OUR_ADDRESS);
        long icmp = off + 20;
        p.set(JAVA_BYTE, icmp, (byte) 8);
        p.set(JAVA_BYTE, icmp + 1, (byte) 0);
        p.set(BE16, icmp + 2, (short) 0);
        p.set(BE16, icmp + 4, (short) 0x4d31);
        p.set(BE16, icmp + 6, (short) seq);
        for (int k = 0; k < payload; k++) {
            p.set(JAVA_BYTE, icmp + 8 + k, (byte) (seq + k));
        }
        p.set(BE16, icmp + 2, (short) checksum(p, icmp, 8 + payload));
        return len;
    }

    private static void ipv4Header(MemorySegment p, long off, int totalLength, int protocol, int src, int dst) {
        p.set(JAVA_BYTE, off, (byte) 0x45);
        p.set(JAVA_BYTE, off + 1, (byte) 0);
        p.set(BE16, off + 2, (short) totalLength);
        p.set(BE16, off + 4, (short) 0x1234);
        p.set(BE16, off + 6, (short) 0x4000); // DF
        p.set(JAVA_BYTE, off + 8, (byte) 64);
        p.set(JAVA_BYTE, off + 9, (byte) protocol);
        p.set(BE16, off + 10, (short) 0);
        p.set(BE32, off + 12, src);
        p.set(BE32, off + 16, dst);
        p.set(BE16, off + 10, (short) checksum(p, off, 20));
    }

    /** The Internet checksum (RFC 1071). */
    private static int checksum(MemorySegment p, long off, int len) {
        long sum = 0;
        for (int k = 0; k + 1 < len; k += 2) {
            sum += Short.toUnsignedInt(p.get(BE16, off + k));
        }
        if ((len & 1) != 0) {
            sum += Byte.toUnsignedInt(p.get(JAVA_BYTE, off + len - 1)) << 8;
        }
        while ((sum >> 16) != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (int) (~sum & 0xffff);
    }

    /** Reads until an IPv4 packet of {@code protocol} (the kernel also sends IPv6 chatter); returns the read length. */
    static int readIpv4(TunDevice tun, MemorySegment buf, int protocol) throws SysException {
        while (true) {
            int n = tun.read(buf);
            assertThat(n).as("a packet before the deadline").isPositive();
            int h = VirtioNetHdr.SIZE;
            if (n > h + 20 && (buf.get(JAVA_BYTE, h) & 0xf0) == 0x40 && buf.get(JAVA_BYTE, h + 9) == protocol) {
                return n;
            }
        }
    }

    static void assertEchoReply(TunDevice tun, MemorySegment buf, int seq) throws SysException {
        int n = readIpv4(tun, buf, 1);
        int h = VirtioNetHdr.SIZE;
        assertThat(n).isEqualTo(h + 20 + 8 + 32);
        assertThat(VirtioNetHdr.gsoType(buf.asByteBuffer(), 0)).isEqualTo(VirtioNetHdr.GSO_NONE);
        assertThat(buf.get(BE32, h + 12)).as("from").isEqualTo(OUR_ADDRESS);
        assertThat(buf.get(BE32, h + 16)).as("to").isEqualTo(PEER_ADDRESS);
        assertThat(buf.get(JAVA_BYTE, h + 20)).as("echo reply").isEqualTo((byte) 0);
        assertThat(buf.get(BE16, h + 20 + 4)).isEqualTo((short) 0x4d31);
        assertThat(buf.get(BE16, h + 20 + 6)).isEqualTo((short) seq);
        for (int k = 0; k < 32; k++) {
            assertThat(buf.get(JAVA_BYTE, h + 28 + k)).isEqualTo((byte) (seq + k));
        }
    }
}
