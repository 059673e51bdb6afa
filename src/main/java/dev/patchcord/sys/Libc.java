package dev.patchcord.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The few C library calls patchcord makes, bound through the Foreign Function & Memory API.
 *
 * <p>Every call returns what the kernel returns, except that a failure comes back as the negated
 * errno ({@code -EAGAIN}, …) instead of -1, in the style of raw Linux system calls. That keeps the
 * hot path free of exceptions and allocation: errno is captured into a per-thread segment that is
 * allocated once per thread.
 */
public final class Libc {
    private Libc() {}

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE = Linker.Option.captureCallState("errno");

    /** One errno capture area per thread; allocated on a thread's first call, then reused. */
    private static final ThreadLocal<MemorySegment> CAPTURED =
            ThreadLocal.withInitial(() -> Arena.global().allocate(CAPTURE_LAYOUT));

    private static MethodHandle bind(String name, FunctionDescriptor fd, Linker.Option... options) {
        MemorySegment symbol = LIBC.find(name).orElseThrow(
                () -> new UnsatisfiedLinkError("libc has no symbol " + name));
        return LINKER.downcallHandle(symbol, fd, options);
    }

    private static MethodHandle withErrno(String name, FunctionDescriptor fd) {
        return bind(name, fd, CAPTURE);
    }

    private static final MethodHandle OPEN = withErrno("open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle CLOSE = withErrno("close",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle KILL = withErrno("kill",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle READ = withErrno("read",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle WRITE = withErrno("write",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    /** write/sendto with the buffer as a raw address, so that a slice needs no segment object. */
    private static final MethodHandle WRITE_AT = withErrno("write",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle SENDTO_AT = withErrno("sendto",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    /** ioctl is variadic; its third argument is always a pointer here. */
    private static final MethodHandle IOCTL = bind("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS),
            CAPTURE, Linker.Option.firstVariadicArg(2));
    /** ioctl whose third argument is a plain integer (TUNSETOFFLOAD reads its argument by value). */
    private static final MethodHandle IOCTL_VALUE = bind("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG),
            CAPTURE, Linker.Option.firstVariadicArg(2));
    /**
     * recvmmsg/sendmmsg take the message vector as a raw address: the batch loops restart part-way
     * through the vector after a partial send, and an address needs no slice object for that.
     */
    private static final MethodHandle RECVMMSG_AT = withErrno("recvmmsg",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle SENDMMSG_AT = withErrno("sendmmsg",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT));
    /** sendmsg/recvmsg with the {@code struct msghdr} as a raw address (preallocated, reused per call). */
    private static final MethodHandle SENDMSG_AT = withErrno("sendmsg",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT));
    private static final MethodHandle RECVMSG_AT = withErrno("recvmsg",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT));
    private static final MethodHandle WRITEV = withErrno("writev",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle UNSHARE = withErrno("unshare",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle SOCKET = withErrno("socket",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle SOCKETPAIR = withErrno("socketpair",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle CONNECT = withErrno("connect",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle LISTEN = withErrno("listen",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle ACCEPT4 = withErrno("accept4",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    /** fcntl is variadic; every command used here takes an int (or nothing, which an ignored 0 fills). */
    private static final MethodHandle FCNTL = bind("fcntl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT),
            CAPTURE, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle CHMOD = withErrno("chmod",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle UNLINK = withErrno("unlink",
            FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle PIPE2 = withErrno("pipe2",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle SETSOCKOPT = withErrno("setsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle GETSOCKOPT = withErrno("getsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle BIND = withErrno("bind",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle GETSOCKNAME = withErrno("getsockname",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle SENDTO = withErrno("sendto",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle RECVFROM = withErrno("recvfrom",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle SHUTDOWN = withErrno("shutdown",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle GETPEERNAME = withErrno("getpeername",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    /** recv(2) into a raw address, so that a reader's buffer at any offset needs no slice object. */
    private static final MethodHandle RECV_AT = withErrno("recv",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    private static final MethodHandle POLL = withErrno("poll",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle EVENTFD = withErrno("eventfd",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle SETUID = withErrno("setuid",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle SETGID = withErrno("setgid",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle SETGROUPS = withErrno("setgroups",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
    private static final MethodHandle GETEUID = bind("geteuid", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle GETUID = bind("getuid", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle GETGID = bind("getgid", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle STRERROR = bind("strerror",
            FunctionDescriptor.of(ADDRESS, JAVA_INT));

    /** Forces the bindings to be made now (they are made on first use otherwise). */
    public static void link() {
        // Class initialisation has already bound every function by the time this runs.
    }

    /** Turns a C-style result into the raw-syscall style: the value, or -errno on failure. */
    private static long result(long r, MemorySegment captured) {
        return r == -1 ? -(int) ERRNO.get(captured, 0L) : r;
    }

    private static MemorySegment captured() {
        return CAPTURED.get();
    }

    private static RuntimeException unexpected(Throwable t) {
        return t instanceof RuntimeException re ? re : new IllegalStateException(t);
    }

    public static int open(MemorySegment path, int flags) {
        try {
            MemorySegment c = captured();
            return (int) result((int) OPEN.invokeExact(c, path, flags), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    public static int close(int fd) {
        try {
            MemorySegment c = captured();
            return (int) result((int) CLOSE.invokeExact(c, fd), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    public static long read(int fd, MemorySegment buf, long count) {
        try {
            MemorySegment c = captured();
            return result((long) READ.invokeExact(c, fd, buf, count), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    public static long write(int fd, MemorySegment buf, long count) {
        try {
            MemorySegment c = captured();
            return result((long) WRITE.invokeExact(c, fd, buf, count), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    /** write(2) of {@code count} bytes at native address {@code address}. */
    public static long writeAt(int fd, long address, long count) {
        try {
            MemorySegment c = captured();
            return result((long) WRITE_AT.invokeExact(c, fd, address, count), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    /** sendto(2) of {@code len} bytes at native address {@code address}. */
    public static long sendtoAt(int fd, long address, long len, int flags, MemorySegment addr, int addrLen) {
        try {
            MemorySegment c = captured();
            return result((long) SENDTO_AT.invokeExact(c, fd, address, len, flags, addr, addrLen), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    public static int ioctl(int fd, long request, MemorySegment arg) {
        try {
            MemorySegment c = captured();
            return (int) result((int) IOCTL.invokeExact(c, fd, request, arg), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    /** ioctl(2) with an integer argument passed by value. */
    public static int ioctlValue(int fd, long request, long value) {
        try {
            MemorySegment c = captured();
            return (int) result((int) IOCTL_VALUE.invokeExact(c, fd, request, value), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    /**
     * recvmmsg(2) into the {@code struct mmsghdr} vector at native address {@code msgvec}, without
     * a timeout (non-blocking callers pass MSG_DONTWAIT).
     *
     * @return the number of messages received, or -errno
     */
    public static int recvmmsgAt(int fd, long msgvec, int vlen, int flags) {
        try {
            MemorySegment c = captured();
            return (int) result((int) RECVMMSG_AT.invokeExact(c, fd, msgvec, vlen, flags, 0L), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    /**
     * sendmsg(2) of the {@code struct msghdr} at native address {@code msg}.
     *
     * @return the number of bytes sent, or -errno
     */
    public static long sendmsgAt(int fd, long msg, int flags) {
        try {
            MemorySegment c = captured();
            return result((long) SENDMSG_AT.invokeExact(c, fd, msg, flags), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    /**
     * recvmsg(2) into the {@code struct msghdr} at native address {@code msg}.
     *
     * @return the number of bytes received, or -errno
     */
    public static long recvmsgAt(int fd, long msg, int flags) {
        try {
            MemorySegment c = captured();
            return result((long) RECVMSG_AT.invokeExact(c, fd, msg, flags), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    /**
     * sendmmsg(2) of the {@code struct mmsghdr} vector at native address {@code msgvec}.
     *
     * @return the number of messages sent (the kernel stops at the first failing one and reports
     *     its error only if it was the first of the vector), or -errno
     */
    public static int sendmmsgAt(int fd, long msgvec, int vlen, int flags) {
        try {
            MemorySegment c = captured();
            return (int) result((int) SENDMMSG_AT.invokeExact(c, fd, msgvec, vlen, flags), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    /** writev(2) of {@code count} {@code struct iovec}s. */
    public static long writev(int fd, MemorySegment iov, int count) {
        try {
            MemorySegment c = captured();
            return result((long) WRITEV.invokeExact(c, fd, iov, count), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    /**
     * unshare(2). With {@code CLONE_NEWNET} only the calling thread moves to the new network
     * namespace, which is how a test gets a private network of its own inside one JVM. Threads it
     * creates afterwards are born there too; a virtual thread it starts may make the JVM's shared
     * carrier threads there, for good, so such a thread starts only platform threads of its own.
     */
    public static int unshare(int flags) {
        try {
            MemorySegment c = captured();
            return (int) result((int) UNSHARE.invokeExact(c, flags), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    public static int socket(int domain, int type, int protocol) {
        try {
            MemorySegment c = captured();
            return (int) result((int) SOCKET.invokeExact(c, domain, type, protocol), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    /** Two connected sockets; their descriptors go to {@code fds[0]} and {@code fds[1]} (two ints). */
    public static int socketpair(int domain, int type, int protocol, MemorySegment fds) {
        try {
            MemorySegment c = captured();
            return (int) result((int) SOCKETPAIR.invokeExact(c, domain, type, protocol, fds), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    public static int connect(int fd, MemorySegment addr, int len) {
        try {
            MemorySegment c = captured();
            return (int) result((int) CONNECT.invokeExact(c, fd, addr, len), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    public static int listen(int fd, int backlog) {
        try {
            MemorySegment c = captured();
            return (int) result((int) LISTEN.invokeExact(c, fd, backlog), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    /** accept4(2) without the peer's address (unix peers have none worth reading). */
    public static int accept4(int fd, int flags) {
        try {
            MemorySegment c = captured();
            return (int) result((int) ACCEPT4.invokeExact(c, fd, MemorySegment.NULL, MemorySegment.NULL, flags), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    /** fcntl(2) with an integer argument (F_GETFL ignores it). */
    public static int fcntl(int fd, int cmd, int arg) {
        try {
            MemorySegment c = captured();
            return (int) result((int) FCNTL.invokeExact(c, fd, cmd, arg), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    /**
     * A second descriptor for the same open file, close-on-exec (as every descriptor patchcord
     * opens is, so that none leaks into a process it starts).
     */
    public static int dup(int fd) {
        return fcntl(fd, Linux.F_DUPFD_CLOEXEC, 0);
    }

    public static int chmod(MemorySegment path, int mode) {
        try {
            MemorySegment c = captured();
            return (int) result((int) CHMOD.invokeExact(c, path, mode), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    public static int unlink(MemorySegment path) {
        try {
            MemorySegment c = captured();
            return (int) result((int) UNLINK.invokeExact(c, path), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    /** pipe2(2): the read end goes to {@code fds[0]}, the write end to {@code fds[1]} (two ints). */
    public static int pipe2(MemorySegment fds, int flags) {
        try {
            MemorySegment c = captured();
            return (int) result((int) PIPE2.invokeExact(c, fds, flags), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    public static int setsockopt(int fd, int level, int name, MemorySegment value, int len) {
        try {
            MemorySegment c = captured();
            return (int) result((int) SETSOCKOPT.invokeExact(c, fd, level, name, value, len), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    public static int getsockopt(int fd, int level, int name, MemorySegment value, MemorySegment lenPtr) {
        try {
            MemorySegment c = captured();
            return (int) result((int) GETSOCKOPT.invokeExact(c, fd, level, name, value, lenPtr), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    public static int bind(int fd, MemorySegment addr, int len) {
        try {
            MemorySegment c = captured();
            return (int) result((int) BIND.invokeExact(c, fd, addr, len), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    public static int getsockname(int fd, MemorySegment addr, MemorySegment lenPtr) {
        try {
            MemorySegment c = captured();
            return (int) result((int) GETSOCKNAME.invokeExact(c, fd, addr, lenPtr), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    public static long sendto(int fd, MemorySegment buf, long len, int flags, MemorySegment addr, int addrLen) {
        try {
            MemorySegment c = captured();
            return result((long) SENDTO.invokeExact(c, fd, buf, len, flags, addr, addrLen), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    public static long recvfrom(int fd, MemorySegment buf, long len, int flags, MemorySegment addr, MemorySegment addrLen) {
        try {
            MemorySegment c = captured();
            return result((long) RECVFROM.invokeExact(c, fd, buf, len, flags, addr, addrLen), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    public static int shutdown(int fd, int how) {
        try {
            MemorySegment c = captured();
            return (int) result((int) SHUTDOWN.invokeExact(c, fd, how), c);
        } catch (Throwable t) { throw unexpected(t); }
    }


    /** accept4(2); {@code addr} and {@code lenPtr} may be {@link MemorySegment#NULL}. */
    public static int accept4(int fd, MemorySegment addr, MemorySegment lenPtr, int flags) {
        try {
            MemorySegment c = captured();
            return (int) result((int) ACCEPT4.invokeExact(c, fd, addr, lenPtr, flags), c);
        } catch (Throwable t) { throw unexpected(t); }
    }


    public static int getpeername(int fd, MemorySegment addr, MemorySegment lenPtr) {
        try {
            MemorySegment c = captured();
            return (int) result((int) GETPEERNAME.invokeExact(c, fd, addr, lenPtr), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    /** recv(2) of up to {@code len} bytes into native address {@code address}. */
    public static long recvAt(int fd, long address, long len, int flags) {
        try {
            MemorySegment c = captured();
            return result((long) RECV_AT.invokeExact(c, fd, address, len, flags), c);
        } catch (Throwable t) { throw unexpected(t); }
    }


    public static int poll(MemorySegment fds, long nfds, int timeoutMillis) {
        try {
            MemorySegment c = captured();
            return (int) result((int) POLL.invokeExact(c, fds, nfds, timeoutMillis), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    public static int eventfd(int initval, int flags) {
        try {
            MemorySegment c = captured();
            return (int) result((int) EVENTFD.invokeExact(c, initval, flags), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    public static int setuid(int uid) {
        try {
            MemorySegment c = captured();
            return (int) result((int) SETUID.invokeExact(c, uid), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    public static int setgid(int gid) {
        try {
            MemorySegment c = captured();
            return (int) result((int) SETGID.invokeExact(c, gid), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    /** Drops every supplementary group. */
    public static int clearGroups() {
        try {
            MemorySegment c = captured();
            return (int) result((int) SETGROUPS.invokeExact(c, 0L, MemorySegment.NULL), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    /** Sends signal {@code sig} to process {@code pid}: 0 or -errno (ESRCH: no such process). */
    public static int kill(long pid, int sig) {
        try {
            MemorySegment c = captured();
            return (int) result((int) KILL.invokeExact(c, (int) pid, sig), c);
        } catch (Throwable t) { throw unexpected(t); }
    }

    public static int geteuid() {
        try {
            return (int) GETEUID.invokeExact();
        } catch (Throwable t) { throw unexpected(t); }
    }

    public static int getuid() {
        try {
            return (int) GETUID.invokeExact();
        } catch (Throwable t) { throw unexpected(t); }
    }

    public static int getgid() {
        try {
            return (int) GETGID.invokeExact();
        } catch (Throwable t) { throw unexpected(t); }
    }

    /** The C library's message for an errno value, e.g. "Operation not permitted". */
    public static String strerror(int errno) {
        try {
            MemorySegment s = (MemorySegment) STRERROR.invokeExact(errno);
            return s.reinterpret(256).getString(0);
        } catch (Throwable t) { throw unexpected(t); }
    }

    /** Layout of {@code struct pollfd}. */
    public static final StructLayout POLLFD = MemoryLayout.structLayout(
            JAVA_INT.withName("fd"), JAVA_SHORT.withName("events"), JAVA_SHORT.withName("revents"));
}
