package dev.patchcord.tun;

import dev.patchcord.sys.Libc;
import dev.patchcord.sys.Linux;
import dev.patchcord.sys.Poller;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.IntConsumer;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Follows an interface's MTU while it runs: {@code ip link set IFACE mtu N} takes effect at once,
 * as it does for the kernel's WireGuard. A routing netlink socket subscribed to the link group
 * hears of every change to any interface; a thread of its own sleeps in poll until one comes and
 * reads the MTU from it ({@link LinkMessages}), so the packet path never asks. If notifications
 * were lost (the socket's queue overflowed) or one was too long for the buffer, the MTU is read
 * with an ioctl instead.
 */
public final class MtuWatch implements AutoCloseable {
    /** Link messages are a few hundred bytes to a few KiB; a longer one is noticed and read otherwise. */
    private static final int BUFFER = 32 * 1024;

    private final String ifname;
    private final int ifindex;
    private final int fd;
    private final IntConsumer listener;
    private final Arena arena = Arena.ofShared();
    private final Poller poller;
    private final Thread thread;
    private volatile boolean closed;
    private int last;

    private MtuWatch(String ifname, int ifindex, int fd, Wakeup wakeup, IntConsumer listener) {
        this.ifname = ifname;
        this.ifindex = ifindex;
        this.fd = fd;
        this.listener = listener;
        this.poller = new Poller(fd, wakeup, arena);
        // A platform thread: it spends its life in a native poll, which would pin a virtual thread's carrier.
        this.thread = Thread.ofPlatform().daemon().name("mtu-" + ifname).unstarted(this::run);
    }

    /**
     * Subscribes to the link notifications, tells {@code listener} the interface's MTU now, and
     * from then on each time it changes (on the watch's own thread). The subscription comes first,
     * so no change between the two is missed.
     *
     * @param wakeup stops the watch when signalled
     */
    public static MtuWatch start(String ifname, Wakeup wakeup, IntConsumer listener) throws SysException {
        int fd = (int) SysException.check(Libc.socket(Linux.AF_NETLINK,
                Linux.SOCK_RAW | Linux.SOCK_CLOEXEC | Linux.SOCK_NONBLOCK, Linux.NETLINK_ROUTE), "netlink socket");
        MtuWatch watch;
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment addr = tmp.allocate(Linux.SOCKADDR_NL_SIZE, 4);
            addr.set(JAVA_SHORT, 0, (short) Linux.AF_NETLINK);
            addr.set(JAVA_INT, 8, Linux.RTMGRP_LINK);
            SysException.check(Libc.bind(fd, addr, Linux.SOCKADDR_NL_SIZE), "cannot listen to link changes");
            watch = new MtuWatch(ifname, Link.index(ifname), fd, wakeup, listener);
            watch.last = Link.mtu(ifname);
        } catch (SysException | RuntimeException e) {
            Libc.close(fd);
            throw e;
        }
        listener.accept(watch.last);
        watch.thread.start();
        return watch;
    }

    private void run() {
        MemorySegment buf = arena.allocate(BUFFER, 8);
        ByteBuffer view = buf.asByteBuffer().order(ByteOrder.nativeOrder());
        try {
            while (!closed) {
                long n = Libc.recvfrom(fd, buf, BUFFER, Linux.MSG_TRUNC, MemorySegment.NULL, MemorySegment.NULL);
                if (n == -Linux.ENOBUFS || n > BUFFER) {
                    // Notifications were dropped, or this one was cut: ask the interface itself.
                    report(Link.mtu(ifname));
                } else if (n >= 0) {
                    int mtu = LinkMessages.mtu(view, 0, (int) n, ifindex);
                    if (mtu != LinkMessages.NONE) {
                        report(mtu);
                    }
                } else if (!poller.readAgain(n, "read link notifications")) {
                    return;
                }
            }
        } catch (SysException e) {
            // The interface is gone or the socket failed: the tunnel keeps the MTU it has.
            if (!closed) {
                System.err.println("patchcord: " + ifname + ": no longer following the MTU: " + e.getMessage());
            }
        }
    }

    private void report(int mtu) {
        if (mtu != last) {
            last = mtu;
            listener.accept(mtu);
        }
    }

    /** Stops the watch (the wake-up must have been signalled first, or the thread waits for the next notification). */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Libc.close(fd);
        if (!thread.isAlive()) {
            arena.close();
        }
    }
}
