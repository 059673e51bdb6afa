package dev.patchcord.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A unix stream socket ({@code AF_UNIX}, {@code SOCK_STREAM}) that carries framed messages and
 * open file descriptors between two local processes: each message is a 4-byte big-endian length
 * and that many bytes, and the descriptors sent with it ride as {@code SCM_RIGHTS} with its first
 * bytes, so the receiver knows which message they belong to.
 *
 * <p>The socket blocks on sends (a slow reader slows the sender); receives and accepts wait with
 * poll, under a deadline. Every descriptor this class makes or receives is close-on-exec, so none
 * leaks into a process either side starts. One thread sends and one receives at a time.
 */
public final class UnixSocket implements AutoCloseable {
    /** Descriptors per message; the kernel takes at most {@code SCM_MAX_FD}, 253, per sendmsg. */
    public static final int MAX_FDS = 250;
    /**
     * The largest message either side accepts: far above any real state snapshot, and low enough
     * that a corrupt length cannot make the receiver allocate gigabytes.
     */
    public static final int MAX_MESSAGE = 64 << 20;

    /** The identity of the process at the other end, as the kernel recorded it at connect time. */
    public record Credentials(int pid, int uid, int gid) {}

    /** One received message and the descriptors that came with it (now open in this process). */
    public record Message(byte[] data, int[] fds) {}

    private static final ValueLayout.OfInt BE32 = JAVA_INT.withOrder(ByteOrder.BIG_ENDIAN);
    private static final int HEADER = 4;
    /** Room for as many descriptors as the kernel passes in one message, so none is ever cut. */
    private static final int SCM_MAX_FD = 253;
    /** Pending connections: the hand-over expects exactly one. */
    private static final int BACKLOG = 4;
    /** {@code sizeof(struct msghdr)}, {@code sizeof(struct iovec)} and {@code sizeof(struct cmsghdr)}. */
    private static final int MSGHDR_SIZE = 56;
    private static final int IOVEC_SIZE = 16;
    private static final int CMSGHDR_SIZE = 16;
    private static final int CONTROL_SIZE = cmsgSpace(SCM_MAX_FD * 4);
    /** Owner read and write only: whoever may connect may take over the interface. */
    private static final int SOCKET_FILE_MODE = 0600;

    private final int fd;
    /** The socket file a listener made, removed by {@link #close()}; null otherwise. */
    private final Path boundPath;
    private final AtomicBoolean closed = new AtomicBoolean();

    private UnixSocket(int fd, Path boundPath) {
        this.fd = fd;
        this.boundPath = boundPath;
    }

    /**
     * A listening socket at {@code path}, mode 0600. An existing file at the path is never
     * replaced: that fails with EADDRINUSE (a stale socket is for the caller to judge and remove).
     */
    public static UnixSocket listen(Path path) throws SysException {
        int fd = newSocket();
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment sa = tmp.allocate(UnixAddress.SIZE);
            int len = UnixAddress.encode(path.toString(), sa);
            int r = Libc.bind(fd, sa, len);
            if (r < 0) {
                String hint = r == -Linux.EADDRINUSE ? " (the path exists: another listener, or a stale socket file)" : "";
                throw new SysException("cannot bind unix socket " + path + hint, -r);
            }
            MemorySegment cPath = tmp.allocateFrom(path.toString());
            // bind made the file with the umask's mode; nobody can connect before listen, so
            // tightening it now leaves no window.
            r = Libc.chmod(cPath, SOCKET_FILE_MODE);
            if (r >= 0) {
                r = Libc.listen(fd, BACKLOG);
            }
            if (r < 0) {
                Libc.unlink(cPath);
                throw new SysException("cannot listen on unix socket " + path, -r);
            }
            return new UnixSocket(fd, path);
        } catch (SysException | RuntimeException e) {
            Libc.close(fd);
            throw e;
        }
    }

    /**
     * The next connection, waiting up to {@code timeoutMillis} (negative: without limit).
     *
     * @return the connected socket, or null if none came in time
     */
    public UnixSocket accept(long timeoutMillis) throws SysException {
        long deadline = deadline(timeoutMillis);
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment pollfd = tmp.allocate(Libc.POLLFD);
            while (true) {
                if (!awaitReadable(pollfd, deadline)) {
                    return null;
                }
                int c = Libc.accept4(fd, Linux.SOCK_CLOEXEC);
                if (c >= 0) {
                    return new UnixSocket(c, null);
                }
                // EAGAIN: the connection was withdrawn between poll and accept.
                if (c != -Linux.EINTR && c != -Linux.EAGAIN && c != -Linux.ECONNRESET) {
                    throw new SysException("cannot accept on unix socket " + boundPath, -c);
                }
            }
        }
    }

    /** A socket connected to the listener at {@code path}. */
    public static UnixSocket connect(Path path) throws SysException {
        int fd = newSocket();
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment sa = tmp.allocate(UnixAddress.SIZE);
            int len = UnixAddress.encode(path.toString(), sa);
            int r;
            do {
                r = Libc.connect(fd, sa, len);
            } while (r == -Linux.EINTR);
            if (r < 0) {
                throw new SysException("cannot connect to unix socket " + path, -r);
            }
            return new UnixSocket(fd, null);
        } catch (SysException | RuntimeException e) {
            Libc.close(fd);
            throw e;
        }
    }

    private static int newSocket() throws SysException {
        return (int) SysException.check(Libc.socket(Linux.AF_UNIX, Linux.SOCK_STREAM | Linux.SOCK_CLOEXEC, 0),
                "cannot open a unix socket");
    }

    /** The process at the other end: the connecting one for an accepted socket, the listener for a connected one. */
    public Credentials peerCredentials() throws SysException {
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment ucred = tmp.allocate(12, 4);
            MemorySegment len = tmp.allocateFrom(JAVA_INT, 12);
            SysException.check(Libc.getsockopt(fd, Linux.SOL_SOCKET, Linux.SO_PEERCRED, ucred, len), "SO_PEERCRED");
            return new Credentials(ucred.get(JAVA_INT, 0), ucred.get(JAVA_INT, 4), ucred.get(JAVA_INT, 8));
        }
    }

    /**
     * Sends one message, and {@code fds} (0 to {@link #MAX_FDS}) with it; they stay open here. Blocks
     * until every byte is with the kernel.
     *
     * @throws IllegalArgumentException for more than {@link #MAX_FDS} descriptors or more than
     *     {@link #MAX_MESSAGE} bytes
     */
    public void send(byte[] data, int[] fds) throws SysException {
        if (fds.length > MAX_FDS) {
            throw new IllegalArgumentException(fds.length + " descriptors in one message, at most " + MAX_FDS);
        }
        if (data.length > MAX_MESSAGE) {
            throw new IllegalArgumentException("message of " + data.length + " bytes, at most " + MAX_MESSAGE);
        }
        try (Arena tmp = Arena.ofConfined()) {
            long total = HEADER + (long) data.length;
            MemorySegment frame = tmp.allocate(total);
            frame.set(BE32, 0, data.length);
            MemorySegment.copy(data, 0, frame, JAVA_BYTE, HEADER, data.length);
            MemorySegment iov = tmp.allocate(IOVEC_SIZE, 8);
            MemorySegment msg = tmp.allocate(MSGHDR_SIZE, 8);
            MemorySegment control = MemorySegment.NULL;
            if (fds.length > 0) {
                control = tmp.allocate(cmsgSpace(fds.length * 4), 8);
                control.set(JAVA_LONG, 0, CMSGHDR_SIZE + fds.length * 4L);
                control.set(JAVA_INT, 8, Linux.SOL_SOCKET);
                control.set(JAVA_INT, 12, Linux.SCM_RIGHTS);
                MemorySegment.copy(fds, 0, control, JAVA_INT, CMSGHDR_SIZE, fds.length);
            }
            long sent = 0;
            while (sent < total) {
                iov.set(JAVA_LONG, 0, frame.address() + sent);
                iov.set(JAVA_LONG, 8, total - sent);
                msg.fill((byte) 0);
                msg.set(JAVA_LONG, 16, iov.address());
                msg.set(JAVA_LONG, 24, 1L);
                // The descriptors go with the first bytes only; after a partial send they are sent.
                if (sent == 0 && fds.length > 0) {
                    msg.set(JAVA_LONG, 32, control.address());
                    msg.set(JAVA_LONG, 40, control.byteSize());
                }
                long n = Libc.sendmsgAt(fd, msg.address(), Linux.MSG_NOSIGNAL);
                if (n == -Linux.EINTR) {
                    continue;
                }
                SysException.check(n, "cannot send a message of " + data.length + " bytes on a unix socket");
                sent += n;
            }
        }
    }

    /**
     * Receives one message, waiting up to {@code timeoutMillis} for all of it (negative: without
     * limit). The descriptors are the caller's to close.
     *
     * @throws SysException on timeout (ETIMEDOUT), when the peer closes the connection before a
     *     whole message (ECONNRESET), for a length over {@link #MAX_MESSAGE} (EMSGSIZE) or when the
     *     kernel had to drop descriptors (ENOBUFS: none of the descriptors received so far stays open)
     */
    public Message receive(long timeoutMillis) throws SysException {
        long deadline = deadline(timeoutMillis);
        Received fds = new Received();
        try (Arena tmp = Arena.ofConfined()) {
            Receiver r = new Receiver(tmp, deadline, fds, timeoutMillis);
            MemorySegment header = tmp.allocate(HEADER);
            r.readFully(header, true);
            int length = header.get(BE32, 0);
            if (length < 0 || length > MAX_MESSAGE) {
                throw new SysException("unix socket message announces " + Integer.toUnsignedString(length)
                        + " bytes, more than the " + MAX_MESSAGE + " allowed", Linux.EMSGSIZE);
            }
            MemorySegment body = tmp.allocate(Math.max(length, 1));
            r.readFully(body.asSlice(0, length), false);
            byte[] data = body.asSlice(0, length).toArray(JAVA_BYTE);
            return new Message(data, fds.toArray());
        } catch (SysException | RuntimeException e) {
            fds.closeAll();
            throw e;
        }
    }

    /** One message's reads: recvmsg under a deadline, gathering every descriptor that arrives. */
    private final class Receiver {
        private final long deadline;
        private final long timeoutMillis;
        private final Received fds;
        private final MemorySegment pollfd;
        private final MemorySegment iov;
        private final MemorySegment msg;
        private final MemorySegment control;

        Receiver(Arena tmp, long deadline, Received fds, long timeoutMillis) {
            this.deadline = deadline;
            this.timeoutMillis = timeoutMillis;
            this.fds = fds;
            this.pollfd = tmp.allocate(Libc.POLLFD);
            this.iov = tmp.allocate(IOVEC_SIZE, 8);
            this.msg = tmp.allocate(MSGHDR_SIZE, 8);
            this.control = tmp.allocate(CONTROL_SIZE, 8);
        }

        void readFully(MemorySegment into, boolean atMessageStart) throws SysException {
            long got = 0;
            long want = into.byteSize();
            while (got < want) {
                if (!awaitReadable(pollfd, deadline)) {
                    throw new SysException("no whole message on the unix socket within " + timeoutMillis + " ms",
                            Linux.ETIMEDOUT);
                }
                iov.set(JAVA_LONG, 0, into.address() + got);
                iov.set(JAVA_LONG, 8, want - got);
                msg.fill((byte) 0);
                msg.set(JAVA_LONG, 16, iov.address());
                msg.set(JAVA_LONG, 24, 1L);
                msg.set(JAVA_LONG, 32, control.address());
                msg.set(JAVA_LONG, 40, control.byteSize());
                long n = Libc.recvmsgAt(fd, msg.address(), Linux.MSG_CMSG_CLOEXEC | Linux.MSG_DONTWAIT);
                if (n == -Linux.EINTR || n == -Linux.EAGAIN) {
                    continue;
                }
                SysException.check(n, "cannot receive on a unix socket");
                // Descriptors first: even with the data cut short they are open here now.
                collect(msg.get(JAVA_LONG, 40));
                if ((msg.get(JAVA_INT, 48) & Linux.MSG_CTRUNC) != 0) {
                    throw new SysException("descriptors sent on the unix socket were lost (MSG_CTRUNC: too many"
                            + " for one message, or this process's open-file limit reached)", Linux.ENOBUFS);
                }
                if (n == 0) {
                    String where = atMessageStart && got == 0 ? "before a message"
                            : "in the middle of a message (" + got + " of " + want + " bytes of its "
                            + (atMessageStart ? "header" : "body") + ")";
                    throw new SysException("the peer closed the unix socket " + where, Linux.ECONNRESET);
                }
                got += n;
            }
        }

        private void collect(long controlLength) {
            long at = 0;
            while (at + CMSGHDR_SIZE <= controlLength) {
                long len = control.get(JAVA_LONG, at);
                if (len < CMSGHDR_SIZE || at + len > controlLength) {
                    return;
                }
                if (control.get(JAVA_INT, at + 8) == Linux.SOL_SOCKET
                        && control.get(JAVA_INT, at + 12) == Linux.SCM_RIGHTS) {
                    int count = (int) ((len - CMSGHDR_SIZE) / 4);
                    for (int k = 0; k < count; k++) {
                        fds.add(control.get(JAVA_INT, at + CMSGHDR_SIZE + 4L * k));
                    }
                }
                at += align(len);
            }
        }
    }

    /** The descriptors of the message being received, closed if it fails. */
    private static final class Received {
        private int[] fds = new int[8];
        private int count;

        void add(int fd) {
            if (count == fds.length) {
                fds = Arrays.copyOf(fds, count * 2);
            }
            fds[count++] = fd;
        }

        int[] toArray() {
            return Arrays.copyOf(fds, count);
        }

        void closeAll() {
            for (int k = 0; k < count; k++) {
                Libc.close(fds[k]);
            }
            count = 0;
        }
    }

    /** Waits until the socket is readable (or hung up, which the next read reports); false at the deadline. */
    private boolean awaitReadable(MemorySegment pollfd, long deadline) throws SysException {
        while (true) {
            int wait;
            if (deadline == Long.MAX_VALUE) {
                wait = -1;
            } else {
                long left = deadline - System.nanoTime();
                // Rounded up, so a wait never ends a fraction of a millisecond early; at the
                // deadline one look (0) still takes what is already there.
                wait = left <= 0 ? 0 : (int) Math.min(Integer.MAX_VALUE, (left + 999_999) / 1_000_000);
            }
            pollfd.set(JAVA_INT, 0, fd);
            pollfd.set(JAVA_SHORT, 4, Linux.POLLIN);
            pollfd.set(JAVA_SHORT, 6, (short) 0);
            int n = Libc.poll(pollfd, 1, wait);
            if (n == -Linux.EINTR) {
                continue;
            }
            SysException.check(n, "poll on a unix socket");
            if (n > 0) {
                if ((pollfd.get(JAVA_SHORT, 6) & Linux.POLLNVAL) != 0) {
                    throw new SysException("poll on a unix socket", Linux.EBADF);
                }
                return true;
            }
            if (wait == 0) {
                return false;
            }
        }
    }

    private static long deadline(long timeoutMillis) {
        if (timeoutMillis < 0) {
            return Long.MAX_VALUE;
        }
        long now = System.nanoTime();
        long d = now + Math.min(timeoutMillis, Long.MAX_VALUE / 4 / 1_000_000) * 1_000_000;
        return d == Long.MAX_VALUE ? d - 1 : d;
    }

    private static long align(long n) {
        return (n + 7) & ~7L;
    }

    private static int cmsgSpace(int dataLength) {
        return CMSGHDR_SIZE + (int) align(dataLength);
    }

    public int fd() {
        return fd;
    }

    /** Closes the socket; a listener also removes its socket file. Later calls do nothing. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (boundPath != null) {
            try (Arena tmp = Arena.ofConfined()) {
                Libc.unlink(tmp.allocateFrom(boundPath.toString()));
            }
        }
        Libc.close(fd);
    }
}
