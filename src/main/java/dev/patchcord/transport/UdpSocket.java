package dev.patchcord.transport;

import dev.patchcord.sys.Libc;
import dev.patchcord.sys.Linux;
import dev.patchcord.sys.Poller;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * One dual-stack UDP socket (IPv6 with {@code IPV6_V6ONLY} off, so IPv4 peers arrive as
 * IPv4-mapped addresses). One thread receives and any number may send.
 *
 * <p>The socket stays blocking for sends (a full send buffer then slows the sender instead of
 * dropping), while receives use {@code MSG_DONTWAIT} and a {@link Poller}, so that the receive loop
 * can be woken for shutdown.
 */
public final class UdpSocket implements AutoCloseable {
    /** 7 MiB, as wireguard-go: small buffers are the first limit on throughput. */
    private static final int SOCKET_BUFFER = 7 << 20;

    private final Arena arena = Arena.ofShared();
    private final int fd;
    private final int port;
    private final Poller recvPoller;
    private final MemorySegment recvAddrLen;
    private final String receiveWhat;
    private volatile boolean closed;

    private UdpSocket(int fd, int port, Wakeup wakeup) {
        this.fd = fd;
        this.port = port;
        this.recvPoller = new Poller(fd, wakeup, arena);
        this.recvAddrLen = arena.allocate(JAVA_INT);
        this.receiveWhat = "receive on UDP port " + port;
    }

    /**
     * Binds a socket to {@code bindAddress} (null: every address, IPv4 and IPv6) and {@code port}
     * (0: the kernel picks).
     */
    public static UdpSocket bind(InetAddress bindAddress, int port, Wakeup wakeup) throws SysException {
        int fd = Libc.socket(Linux.AF_INET6, Linux.SOCK_DGRAM | Linux.SOCK_CLOEXEC, 0);
        if (fd == -Linux.EAFNOSUPPORT) {
            throw new SysException("cannot open a UDP socket (IPv6 is disabled in this kernel;"
                    + " patchcord's socket is dual-stack)", -fd);
        }
        SysException.check(fd, "cannot open a UDP socket");
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment zero = tmp.allocateFrom(JAVA_INT, 0);
            SysException.check(Libc.setsockopt(fd, Linux.IPPROTO_IPV6, Linux.IPV6_V6ONLY, zero, 4),
                    "cannot make the UDP socket dual-stack");
            setBuffer(fd, Linux.SO_RCVBUFFORCE, Linux.SO_RCVBUF, tmp);
            setBuffer(fd, Linux.SO_SNDBUFFORCE, Linux.SO_SNDBUF, tmp);
            MemorySegment sa = tmp.allocate(SockAddr.SIZE);
            InetSocketAddress local = bindAddress == null
                    ? new InetSocketAddress(InetAddress.getByAddress(new byte[16]), port)
                    : new InetSocketAddress(bindAddress, port);
            SockAddr.encode(local, sa);
            int r = Libc.bind(fd, sa, SockAddr.SIZE);
            if (r < 0) {
                String where = bindAddress == null ? "port " + port : SockAddr.format(local);
                String hint = r == -Linux.EADDRINUSE ? " (another program is using it)"
                        : r == -Linux.EACCES ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" : "";
                throw new SysException("cannot bind UDP " + where + hint, -r);
            }
            MemorySegment len = tmp.allocateFrom(JAVA_INT, SockAddr.SIZE);
            SysException.check(Libc.getsockname(fd, sa, len), "getsockname");
            int bound = SockAddr.decode(sa).getPort();
            return new UdpSocket(fd, bound, wakeup);
        } catch (SysException e) {
            Libc.close(fd);
            throw e;
        } catch (java.net.UnknownHostException e) {
            Libc.close(fd);
            throw new IllegalStateException(e);
        }
    }

    /** Asks for large buffers; the FORCE variants need CAP_NET_ADMIN, the plain ones are capped by sysctl. */
    private static void setBuffer(int fd, int force, int plain, Arena tmp) {
        MemorySegment size = tmp.allocateFrom(JAVA_INT, SOCKET_BUFFER);
        if (Libc.setsockopt(fd, Linux.SOL_SOCKET, force, size, 4) < 0) {
            Libc.setsockopt(fd, Linux.SOL_SOCKET, plain, size, 4);
        }
    }

    public int port() {
        return port;
    }

    /**
     * Receives one datagram into {@code buf}, waiting for one; the sender's address goes to
     * {@code from} ({@link SockAddr#SIZE} bytes). Only the receiving thread may call this.
     *
     * @return the datagram's real length (larger than {@code buf} if it was cut), or -1 to stop
     */
    public int receive(MemorySegment buf, MemorySegment from) throws SysException {
        while (!closed) {
            recvAddrLen.set(JAVA_INT, 0, SockAddr.SIZE);
            long n = Libc.recvfrom(fd, buf, buf.byteSize(), Linux.MSG_DONTWAIT | Linux.MSG_TRUNC,
                    from, recvAddrLen);
            if (n >= 0) {
                return (int) n;
            }
            // ECONNREFUSED reports an ICMP port unreachable for an earlier send, not a receive error.
            if (n != -Linux.ECONNREFUSED && (closed || !recvPoller.readAgain(n, receiveWhat))) {
                return -1;
            }
        }
        return -1;
    }

    /**
     * Sends {@code len} bytes at {@code buf + off} to {@code to} (a {@link SockAddr}).
     *
     * @return 0, or the negated errno (no route, message too long, …), which the caller counts
     */
    public int send(MemorySegment buf, long off, int len, MemorySegment to) {
        while (true) {
            long n = Libc.sendtoAt(fd, buf.address() + off, len, 0, to, SockAddr.SIZE);
            if (n != -Linux.EINTR) {
                return n < 0 ? (int) n : 0;
            }
        }
    }

    /**
     * Marks every packet this socket sends ({@code SO_MARK}, needs CAP_NET_ADMIN), so policy routing
     * can keep the tunnel's own packets out of the tunnel. 0 clears the mark.
     */
    public void setMark(int mark) throws SysException {
        try (Arena tmp = Arena.ofConfined()) {
            SysException.check(Libc.setsockopt(fd, Linux.SOL_SOCKET, Linux.SO_MARK, tmp.allocateFrom(JAVA_INT, mark), 4),
                    "cannot set fwmark " + mark + " on UDP port " + port);
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            // shutdown wakes a thread polling this socket; close alone would leave it asleep.
            Libc.shutdown(fd, Linux.SHUT_RDWR);
            Libc.close(fd);
        }
    }
}
