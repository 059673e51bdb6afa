package dev.patchcord.transport;

import dev.patchcord.sys.Libc;
import dev.patchcord.sys.Linux;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;

import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteOrder;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A TCP socket on a raw file descriptor: a listener or a connection. Unlike a JDK channel, its
 * descriptor can be handed to another process ({@link #fd()}) and taken over from one
 * ({@link #adopt}), which is how a restarting tunnel keeps its connections.
 *
 * <p>Every wait is a {@code poll} on the socket and, optionally, a {@link Wakeup}: reads and accepts
 * never block inside the kernel call itself ({@code MSG_DONTWAIT}, a non-blocking listener), so a
 * reader can be told to stop with the wake-up alone, without {@link #shutdown()}. That matters
 * after a hand-over: the connection is then shared with the successor, and a shutdown would end it
 * for both. {@link #close()} does shut the connection down, which wakes any thread waiting on it;
 * the descriptor itself is closed only once no call is using it any more, so that its number is
 * never reused under a thread still polling it.
 *
 * <p>One thread may read (or accept) while another writes; each direction has its own preallocated
 * system-call memory, so reads and writes allocate nothing.
 */
public final class StreamSocket implements AutoCloseable {
    /** {@link #read}: the stop wake-up fired before anything was read. */
    public static final int STOPPED = 0;
    /**
     * Connections waiting to be accepted: many peers reconnect at once when the far end of their
     * connections restarts. The kernel caps it at {@code net.core.somaxconn}.
     */
    private static final int BACKLOG = 1024;
    /** {@code sizeof(struct sockaddr_in)}. */
    private static final int SOCKADDR_IN_SIZE = 16;
    /** {@code sizeof(struct msghdr)} on 64-bit Linux. */
    private static final int MSGHDR_SIZE = 56;
    /** {@code sizeof(struct iovec)}. */
    private static final int IOVEC_SIZE = 16;
    /** In {@link #state}: closed; the bits below count the calls using the descriptor. */
    private static final int CLOSED = 1 << 30;
    private static final ValueLayout.OfShort PORT = JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN);

    private final int fd;
    private final AtomicInteger state = new AtomicInteger();
    /** Whether close() shuts the connection down (not after {@link #release()}). */
    private volatile boolean shutDownOnClose = true;
    /** The reading (or accepting) thread's poll entries: the socket, then the wake-up. */
    private MemorySegment readPoll;
    /** The writing thread's poll entries, iovecs and message header. */
    private MemorySegment writePoll;
    private MemorySegment iov;
    private MemorySegment msg;
    private volatile InetSocketAddress remote;
    /** The listener is known to be non-blocking (the accepting thread's own field). */
    private boolean nonBlocking;

    private StreamSocket(int fd) {
        this.fd = fd;
    }

    /**
     * Listens on {@code port} (0: the kernel picks) at every address, IPv4 and IPv6 (dual-stack, as
     * the UDP socket), or at {@code bindAddress} if not null.
     */
    public static StreamSocket listen(InetAddress bindAddress, int port) throws IOException {
        int fd = open(Linux.AF_INET6, Linux.SOCK_NONBLOCK);
        try (Arena tmp = Arena.ofConfined()) {
            SysException.check(Libc.setsockopt(fd, Linux.SOL_SOCKET, Linux.SO_REUSEADDR, tmp.allocateFrom(JAVA_INT, 1), 4),
                    "SO_REUSEADDR");
            MemorySegment sa = tmp.allocate(SockAddr.SIZE);
            InetSocketAddress local = new InetSocketAddress(
                    bindAddress != null ? bindAddress : InetAddress.getByAddress(new byte[16]), port);
            SockAddr.encode(local, sa);
            int r = Libc.bind(fd, sa, SockAddr.SIZE);
            if (r < 0) {
                String hint = r == -Linux.EADDRINUSE ? " (another program is using it)"
                        : r == -Linux.EACCES ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" : "";
                throw new SysException("cannot bind TCP " + SockAddr.format(local) + hint, -r);
            }
            SysException.check(Libc.listen(fd, BACKLOG), "listen on TCP port " + port);
            return new StreamSocket(fd);
        } catch (IOException | RuntimeException e) {
            Libc.close(fd);
            throw e;
        }
    }

    /**
     * Connects to {@code to}, waiting at most {@code timeoutMillis}.
     *
     * @throws SocketTimeoutException if the far end did not answer in time
     */
    public static StreamSocket connect(InetSocketAddress to, int timeoutMillis) throws IOException {
        return connect(to, timeoutMillis, null);
    }

    /**
     * As {@link #connect(InetSocketAddress, int)}, ending the wait early when {@code stop} fires (a
     * client that is told to stop while its server does not answer).
     *
     * @param stop may be null
     * @throws InterruptedIOException if {@code stop} fired first
     */
    public static StreamSocket connect(InetSocketAddress to, int timeoutMillis, Wakeup stop) throws IOException {
        if (to.isUnresolved()) {
            throw new IOException("cannot resolve " + to.getHostString());
        }
        boolean v4 = to.getAddress() instanceof java.net.Inet4Address;
        int fd = Libc.socket(Linux.AF_INET6, Linux.SOCK_STREAM | Linux.SOCK_CLOEXEC | Linux.SOCK_NONBLOCK, 0);
        boolean six = fd >= 0;
        if (fd == -Linux.EAFNOSUPPORT && v4) {
            fd = open(Linux.AF_INET, Linux.SOCK_NONBLOCK); // a kernel without IPv6 still reaches IPv4
        }
        SysException.check(fd, "cannot open a TCP socket");
        StreamSocket s = new StreamSocket(fd);
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment sa = tmp.allocate(SockAddr.SIZE);
            int len;
            if (six) {
                Libc.setsockopt(fd, Linux.IPPROTO_IPV6, Linux.IPV6_V6ONLY, tmp.allocateFrom(JAVA_INT, 0), 4);
                SockAddr.encode(to, sa);
                len = SockAddr.SIZE;
            } else {
                sa.set(JAVA_SHORT, 0, (short) Linux.AF_INET);
                sa.set(PORT, 2, (short) to.getPort());
                MemorySegment.copy(to.getAddress().getAddress(), 0, sa, ValueLayout.JAVA_BYTE, 4, 4);
                len = SOCKADDR_IN_SIZE;
            }
            int r = Libc.connect(fd, sa, len);
            if (r == -Linux.EINPROGRESS || r == -Linux.EINTR) {
                long end = System.nanoTime() + timeoutMillis * 1_000_000L;
                while (true) {
                    long left = (end - System.nanoTime()) / 1_000_000L;
                    if (left <= 0) {
                        throw new SocketTimeoutException("connect to " + SockAddr.format(to) + " timed out");
                    }
                    Ready ready = s.await(Linux.POLLOUT, stop, (int) Math.min(left, Integer.MAX_VALUE));
                    if (ready == Ready.READY) {
                        break;
                    }
                    if (ready == Ready.STOPPED) {
                        throw new InterruptedIOException("connect to " + SockAddr.format(to) + " stopped");
                    }
                }
                MemorySegment err = tmp.allocateFrom(JAVA_INT, 0);
                SysException.check(Libc.getsockopt(fd, Linux.SOL_SOCKET, Linux.SO_ERROR, err,
                        tmp.allocateFrom(JAVA_INT, 4)), "SO_ERROR");
                r = -err.get(JAVA_INT, 0);
            }
            if (r < 0) {
                throw new SysException("connect to " + SockAddr.format(to), -r);
            }
            s.remote = to;
            return s;
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /**
     * Takes over a TCP socket (listener or connection) that another process or object opened, such
     * as one received in a hand-over. This object owns the descriptor from now on.
     *
     * @throws SysException if {@code fd} is not an open stream socket
     */
    public static StreamSocket adopt(int fd) throws IOException {
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment type = tmp.allocateFrom(JAVA_INT, 0);
            SysException.check(Libc.getsockopt(fd, Linux.SOL_SOCKET, Linux.SO_TYPE, type, tmp.allocateFrom(JAVA_INT, 4)),
                    "adopt descriptor " + fd);
            if (type.get(JAVA_INT, 0) != Linux.SOCK_STREAM) {
                throw new SysException("adopt descriptor " + fd + " (not a stream socket)", Linux.ENOTSOCK);
            }
        }
        return new StreamSocket(fd);
    }

    private static int open(int family, int flags) throws SysException {
        int fd = Libc.socket(family, Linux.SOCK_STREAM | Linux.SOCK_CLOEXEC | flags, 0);
        if (fd == -Linux.EAFNOSUPPORT && family == Linux.AF_INET6) {
            throw new SysException("cannot open a TCP socket (IPv6 is disabled in this kernel;"
                    + " patchcord's listener is dual-stack)", -fd);
        }
        SysException.check(fd, "cannot open a TCP socket");
        if (family == Linux.AF_INET6) {
            try (Arena tmp = Arena.ofConfined()) {
                int r = Libc.setsockopt(fd, Linux.IPPROTO_IPV6, Linux.IPV6_V6ONLY, tmp.allocateFrom(JAVA_INT, 0), 4);
                if (r < 0) {
                    Libc.close(fd);
                    throw new SysException("cannot make the TCP socket dual-stack", -r);
                }
            }
        }
        return fd;
    }

    /** The descriptor, to hand to another process; this object still owns it. */
    public int fd() {
        return fd;
    }

    /** The port this socket is bound to. */
    public int localPort() throws SysException {
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment sa = tmp.allocate(SockAddr.SIZE);
            SysException.check(Libc.getsockname(fd, sa, tmp.allocateFrom(JAVA_INT, SockAddr.SIZE)), "getsockname");
            return Short.toUnsignedInt(sa.get(PORT, 2));
        }
    }

    /** The far end of a connection, or null if it is not connected (any more). */
    public InetSocketAddress remote() {
        InetSocketAddress r = remote;
        if (r == null) {
            try (Arena tmp = Arena.ofConfined()) {
                MemorySegment sa = tmp.allocate(SockAddr.SIZE);
                if (Libc.getpeername(fd, sa, tmp.allocateFrom(JAVA_INT, SockAddr.SIZE)) < 0) {
                    return null;
                }
                r = decode(sa);
                remote = r;
            }
        }
        return r;
    }

    private static InetSocketAddress decode(MemorySegment sa) {
        if (sa.get(JAVA_SHORT, 0) == Linux.AF_INET6) {
            return SockAddr.decode(sa);
        }
        byte[] raw = new byte[4];
        MemorySegment.copy(sa, ValueLayout.JAVA_BYTE, 4, raw, 0, 4);
        try {
            return new InetSocketAddress(InetAddress.getByAddress(raw), Short.toUnsignedInt(sa.get(PORT, 2)));
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException("4-byte address rejected", e);
        }
    }

    /** Sends small messages at once instead of waiting to merge them (every WireGuard message is one). */
    public void setNoDelay(boolean on) throws SysException {
        try (Arena tmp = Arena.ofConfined()) {
            SysException.check(Libc.setsockopt(fd, Linux.IPPROTO_TCP, Linux.TCP_NODELAY,
                    tmp.allocateFrom(JAVA_INT, on ? 1 : 0), 4), "TCP_NODELAY");
        }
    }

    /**
     * Accepts a connection, waiting for one.
     *
     * @param stop ends the wait (may be null)
     * @return the connection, or null if {@code stop} fired or the listener was closed
     */
    public StreamSocket accept(Wakeup stop) throws IOException {
        if (!enter()) {
            return null;
        }
        try {
            if (!nonBlocking) {
                // An adopted listener may be a blocking one: accept must only ever return at once.
                try (Arena tmp = Arena.ofConfined()) {
                    SysException.check(Libc.ioctl(fd, Linux.FIONBIO, tmp.allocateFrom(JAVA_INT, 1)), "FIONBIO");
                }
                nonBlocking = true;
            }
            while (true) {
                if (stop != null && stop.signalled()) {
                    return null;
                }
                int c = Libc.accept4(fd, MemorySegment.NULL, MemorySegment.NULL, Linux.SOCK_CLOEXEC);
                if (c >= 0) {
                    return new StreamSocket(c);
                }
                if (c == -Linux.EAGAIN) {
                    if (closed() || await(Linux.POLLIN, stop, -1) == Ready.STOPPED) {
                        return null;
                    }
                } else if (c != -Linux.EINTR && c != -Linux.ECONNABORTED) {
                    if (closed()) {
                        return null; // shut down by close(): EINVAL
                    }
                    throw new SysException("accept", -c);
                }
            }
        } finally {
            leave();
        }
    }

    /**
     * Reads what has arrived into {@code buf[off, off + len)}, at least one byte, waiting for it.
     *
     * @param stop ends the wait (may be null); once it has fired nothing more is read
     * @return how many bytes, or {@link #STOPPED}
     * @throws EOFException when the far end closed the connection (or this side shut it down)
     */
    public int read(MemorySegment buf, long off, int len, Wakeup stop) throws IOException {
        return read(buf, off, len, stop, -1);
    }

    /**
     * As {@link #read(MemorySegment, long, int, Wakeup)}, waiting at most {@code timeoutMillis}
     * (-1: for ever) for the first byte: for a reply that must come within a time.
     *
     * @throws SocketTimeoutException if nothing arrived in time
     */
    public int read(MemorySegment buf, long off, int len, Wakeup stop, int timeoutMillis) throws IOException {
        Objects.checkFromIndexSize(off, len, buf.byteSize());
        if (!buf.isNative() || len <= 0) {
            throw new IllegalArgumentException("read into " + len + " bytes of a " + (buf.isNative() ? "" : "heap ") + "segment");
        }
        if (!enter()) {
            throw new EOFException("the socket is closed");
        }
        try {
            while (true) {
                if (stop != null && stop.signalled()) {
                    return STOPPED;
                }
                long n = Libc.recvAt(fd, buf.address() + off, len, Linux.MSG_DONTWAIT);
                if (n > 0) {
                    return (int) n;
                }
                if (n == 0) {
                    throw new EOFException(remote() + " closed the connection");
                }
                if (n == -Linux.EAGAIN) {
                    Ready ready = await(Linux.POLLIN, stop, timeoutMillis);
                    if (ready == Ready.STOPPED) {
                        return STOPPED;
                    }
                    if (ready == Ready.TIMEOUT) {
                        throw new SocketTimeoutException("nothing from " + remote() + " within " + timeoutMillis + " ms");
                    }
                } else if (n != -Linux.EINTR) {
                    throw new SysException("read from " + remote(), (int) -n);
                }
            }
        } finally {
            leave();
        }
    }

    /**
     * Writes {@code a[aOff, aOff + aLen)} and then {@code b[bOff, bOff + bLen)} (bLen may be 0) in
     * one gathering call, as much as the socket takes, waiting up to {@code waitMillis} (-1: for
     * ever) for room.
     *
     * @return how many bytes were written: 0 if no room came within the wait
     */
    public long write(MemorySegment a, long aOff, int aLen, MemorySegment b, long bOff, int bLen, int waitMillis)
            throws IOException {
        Objects.checkFromIndexSize(aOff, aLen, a.byteSize());
        if (bLen > 0) {
            Objects.checkFromIndexSize(bOff, bLen, b.byteSize());
        }
        if (!a.isNative() || (bLen > 0 && !b.isNative())) {
            throw new IllegalArgumentException("write from a heap segment");
        }
        if (!enter()) {
            throw new SysException("write to a closed socket", Linux.EPIPE);
        }
        try {
            if (msg == null) {
                MemorySegment m = Arena.ofAuto().allocate(MSGHDR_SIZE + 2 * IOVEC_SIZE, 8);
                msg = m.asSlice(0, MSGHDR_SIZE);
                iov = m.asSlice(MSGHDR_SIZE, 2 * IOVEC_SIZE);
                msg.set(JAVA_LONG, 16, iov.address());
            }
            iov.set(JAVA_LONG, 0, a.address() + aOff);
            iov.set(JAVA_LONG, 8, aLen);
            iov.set(JAVA_LONG, 16, bLen > 0 ? b.address() + bOff : 0);
            iov.set(JAVA_LONG, 24, bLen);
            msg.set(JAVA_LONG, 24, bLen > 0 ? 2 : 1);
            while (true) {
                long n = Libc.sendmsgAt(fd, msg.address(), Linux.MSG_DONTWAIT | Linux.MSG_NOSIGNAL);
                if (n >= 0) {
                    return n;
                }
                if (n == -Linux.EAGAIN) {
                    if (await(Linux.POLLOUT, null, waitMillis) != Ready.READY) {
                        return 0;
                    }
                } else if (n != -Linux.EINTR) {
                    throw new SysException("write to " + remote(), (int) -n);
                }
            }
        } finally {
            leave();
        }
    }

    /** Writes all of {@code buf[off, off + len)}, waiting for room as long as it takes. */
    public void writeFully(MemorySegment buf, long off, int len) throws IOException {
        while (len > 0) {
            int n = (int) write(buf, off, len, buf, 0, 0, -1);
            off += n;
            len -= n;
        }
    }

    private enum Ready { READY, STOPPED, TIMEOUT }

    /** Waits until the socket has one of {@code events} (or an error), {@code stop} fires, or the time is up. */
    private Ready await(short events, Wakeup stop, int timeoutMillis) throws SysException {
        MemorySegment fds;
        if (events == Linux.POLLIN) {
            if (readPoll == null) {
                readPoll = Arena.ofAuto().allocate(Libc.POLLFD, 2);
            }
            fds = readPoll;
        } else {
            if (writePoll == null) {
                writePoll = Arena.ofAuto().allocate(Libc.POLLFD, 2);
            }
            fds = writePoll;
        }
        fds.set(JAVA_INT, 0, fd);
        fds.set(JAVA_SHORT, 4, events);
        fds.set(JAVA_SHORT, 6, (short) 0);
        int count = 1;
        if (stop != null) {
            fds.set(JAVA_INT, 8, stop.fd());
            fds.set(JAVA_SHORT, 12, Linux.POLLIN);
            fds.set(JAVA_SHORT, 14, (short) 0);
            count = 2;
        }
        while (true) {
            if (stop != null && stop.signalled()) {
                return Ready.STOPPED;
            }
            int n = Libc.poll(fds, count, timeoutMillis);
            if (n == -Linux.EINTR) {
                continue;
            }
            SysException.check(n, "poll");
            if (stop != null && (fds.get(JAVA_SHORT, 14) != 0 || stop.signalled())) {
                return Ready.STOPPED;
            }
            return n == 0 ? Ready.TIMEOUT : Ready.READY;
        }
    }

    /** Shuts the connection down both ways: ends it for every process that holds it. */
    public void shutdown() {
        if (enter()) {
            try {
                Libc.shutdown(fd, Linux.SHUT_RDWR);
            } finally {
                leave();
            }
        }
    }

    /**
     * Closes the socket: shuts it down, which wakes any thread waiting on it, and closes the
     * descriptor once no call uses it.
     */
    @Override
    public void close() {
        int s = state.getAndUpdate(x -> x | CLOSED);
        if ((s & CLOSED) != 0) {
            return;
        }
        if (shutDownOnClose) {
            Libc.shutdown(fd, Linux.SHUT_RDWR);
        }
        if (s == 0) {
            Libc.close(fd);
        }
    }

    /**
     * Closes this process's descriptor without shutting the connection down: another process holds
     * it now. Threads using the socket must have been stopped another way first (their wake-up).
     */
    public void release() {
        shutDownOnClose = false;
        close();
    }

    /** Whether {@link #close} or {@link #release} was called. */
    public boolean closed() {
        return (state.get() & CLOSED) != 0;
    }

    private boolean enter() {
        while (true) {
            int s = state.get();
            if ((s & CLOSED) != 0) {
                return false;
            }
            if (state.compareAndSet(s, s + 1)) {
                return true;
            }
        }
    }

    /** The last call out of a closed socket closes its descriptor. */
    private void leave() {
        if (state.decrementAndGet() == CLOSED) {
            Libc.close(fd);
        }
    }
}
