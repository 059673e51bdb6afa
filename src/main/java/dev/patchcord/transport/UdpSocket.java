package dev.patchcord.transport;

import dev.patchcord.sys.Libc;
import dev.patchcord.sys.Linux;
import dev.patchcord.sys.Poller;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * One dual-stack UDP socket (IPv6 with {@code IPV6_V6ONLY} off, so IPv4 peers arrive as
 * IPv4-mapped addresses). One thread receives and any number may send.
 *
 * <p>The socket stays blocking for sends (a full send buffer then slows the sender instead of
 * dropping), while receives use {@code MSG_DONTWAIT} and a {@link Poller}, so that the receive loop
 * can be woken for shutdown.
 *
 * <p>Besides one datagram per call, the socket moves whole {@link UdpBatch}es with recvmmsg and
 * sendmmsg, and, once {@link #enable enabled}, the kernel's UDP segmentation offloads: GSO on send
 * (one buffer of equal-size datagrams to one peer, cut by the kernel) and GRO on receive (several
 * datagrams of one flow handed over in one buffer). What the kernel cannot do falls back to
 * one datagram per message, transparently to the batch's user; see {@link UdpFeatures}.
 *
 * <p><b>Source addresses.</b> The kernel tells, for each datagram, which local address it was sent
 * to ({@code IPV6_RECVPKTINFO}, on for every socket); {@link #receiveWithSource} and batch receives
 * keep it in an {@link Endpoint}. A send to an endpoint with a source leaves from that address
 * ({@code IP_PKTINFO} or {@code IPV6_PKTINFO}), so a host with several addresses answers from the
 * one the peer chose. If the kernel refuses the source (the address was removed, or its interface
 * no longer reaches the peer), the datagram goes again from whatever address routing picks, and
 * the caller hears of it ({@link #SENT_WITHOUT_SOURCE}, {@link UdpBatch#sourceDropped}) so that it
 * stops asking for that source.
 */
public final class UdpSocket implements Transport {
    /** 7 MiB, as wireguard-go: small buffers are the first limit on throughput. */
    private static final int SOCKET_BUFFER = 7 << 20;

    /**
     * What {@link #send(MemorySegment, long, int, MemorySegment)} returns when the endpoint's source
     * was refused and the datagram went from another address: sent, but the source should be forgotten.
     */
    public static final int SENT_WITHOUT_SOURCE = 1;

    /** A sendmsg header per sending thread (any thread may send), made on its first send with a source. */
    private static final ThreadLocal<SingleMessage> SEND_MESSAGE =
            ThreadLocal.withInitial(() -> new SingleMessage(Arena.ofAuto()));

    private final Arena arena = Arena.ofShared();
    private final int fd;
    private final int port;
    private final Poller recvPoller;
    private final MemorySegment recvAddrLen;
    /** The receiving thread's recvmsg header. */
    private final SingleMessage recvMessage;
    private final String receiveWhat;
    private volatile boolean closed;

    private volatile boolean batchOn = true;
    private volatile boolean gsoOn;
    private volatile boolean groOn;
    /**
     * The largest datagram a GSO message may carry: lowered when the kernel refuses one with
     * EMSGSIZE (datagrams over the path MTU, which only go as IP fragments, one at a time).
     */
    private volatile int gsoMaxSegment = 65535;
    /** Set once a GSO message went through: from then on EINVAL means a bad message, not "no GSO". */
    private volatile boolean gsoConfirmed;

    /** UDP GRO is used from Linux 5.12 on, the line wireguard-go also draws for it. */
    private static final boolean GRO_KERNEL = kernelAtLeast(5, 12);

    private UdpSocket(int fd, int port, Wakeup wakeup) {
        this.fd = fd;
        this.port = port;
        this.recvPoller = new Poller(fd, wakeup, arena);
        this.recvAddrLen = arena.allocate(JAVA_INT);
        this.recvMessage = new SingleMessage(arena);
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
            // Which local address each datagram was sent to, so that answers can leave from it.
            // Without it (not expected on Linux) routing picks every source, as before.
            Libc.setsockopt(fd, Linux.IPPROTO_IPV6, Linux.IPV6_RECVPKTINFO, tmp.allocateFrom(JAVA_INT, 1), 4);
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

    /**
     * A socket around an open UDP descriptor, such as one another patchcord process passed over a
     * unix socket: it must be an IPv6 datagram socket, as {@link #bind} makes them, and keeps
     * everything set on it (dual stack, source addresses, buffers, mark, GRO); the port is read
     * back from it. The descriptor becomes this object's, closed by {@link #close()}; if adopting
     * fails it stays the caller's.
     *
     * <p>GRO is a socket option, so {@link #features()} reports what the socket has; batching and
     * GSO, which are choices of the sender, start as after {@link #bind} until {@link #enable}.
     */
    public static UdpSocket adopt(int fd, Wakeup wakeup) throws SysException {
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment value = tmp.allocate(JAVA_INT);
            MemorySegment len = tmp.allocateFrom(JAVA_INT, 4);
            int r = Libc.getsockopt(fd, Linux.SOL_SOCKET, Linux.SO_DOMAIN, value, len);
            if (r < 0) {
                String why = r == -Linux.ENOTSOCK ? " (it is no socket)" : "";
                throw new SysException("cannot adopt descriptor " + fd + " as a UDP socket" + why, -r);
            }
            int domain = value.get(JAVA_INT, 0);
            len.set(JAVA_INT, 0, 4);
            SysException.check(Libc.getsockopt(fd, Linux.SOL_SOCKET, Linux.SO_TYPE, value, len), "SO_TYPE");
            int type = value.get(JAVA_INT, 0);
            if (domain != Linux.AF_INET6 || type != Linux.SOCK_DGRAM) {
                throw new SysException("cannot adopt descriptor " + fd + " as a UDP socket (domain " + domain
                        + ", type " + type + "; patchcord's UDP sockets are IPv6 datagram sockets)", Linux.EINVAL);
            }
            MemorySegment sa = tmp.allocate(SockAddr.SIZE);
            len.set(JAVA_INT, 0, SockAddr.SIZE);
            SysException.check(Libc.getsockname(fd, sa, len), "getsockname");
            UdpSocket socket = new UdpSocket(fd, SockAddr.decode(sa).getPort(), wakeup);
            len.set(JAVA_INT, 0, 4);
            // Older kernels than GRO_KERNEL may know the option; patchcord never turned it on there.
            socket.groOn = Libc.getsockopt(fd, Linux.SOL_UDP, Linux.UDP_GRO, value, len) == 0
                    && value.get(JAVA_INT, 0) != 0;
            return socket;
        }
    }

    /** Asks for large buffers; the FORCE variants need CAP_NET_ADMIN, the plain ones are capped by sysctl. */
    private static void setBuffer(int fd, int force, int plain, Arena tmp) {
        MemorySegment size = tmp.allocateFrom(JAVA_INT, SOCKET_BUFFER);
        if (Libc.setsockopt(fd, Linux.SOL_SOCKET, force, size, 4) < 0) {
            Libc.setsockopt(fd, Linux.SOL_SOCKET, plain, size, 4);
        }
    }

    @Override
    public int port() {
        return port;
    }

    /** The socket's descriptor, e.g. to pass to another process; it stays this object's to close. */
    public int fd() {
        return fd;
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
            if (!readAgain(n)) {
                return -1;
            }
        }
        return -1;
    }

    /**
     * After a receive call failed with {@code n}: whether to call it again (the socket has become
     * readable, or ECONNREFUSED reported an ICMP port unreachable for an earlier send, which is no
     * receive error) rather than stop (closed, or the wake-up).
     */
    private boolean readAgain(long n) throws SysException {
        if (n == -Linux.ECONNREFUSED) {
            return true;
        }
        if (closed) {
            return false;
        }
        try {
            return recvPoller.readAgain(n, receiveWhat);
        } catch (SysException e) {
            // close() (a rebind to another port) may free the descriptor while poll is still
            // looking at it (EBADF): the caller moves on to the new socket.
            if (closed) {
                return false;
            }
            throw e;
        }
    }

    /**
     * As {@link #receive(MemorySegment, MemorySegment)}, into an {@link Endpoint}: the sender's
     * address, and as its source the local address the datagram was sent to (none if the kernel
     * did not say). Only the receiving thread may call this.
     */
    public int receiveWithSource(MemorySegment buf, MemorySegment endpoint) throws SysException {
        java.util.Objects.checkFromIndexSize(0, Endpoint.SIZE, endpoint.byteSize());
        while (!closed) {
            recvMessage.prepareReceive(buf, endpoint);
            long n = Libc.recvmsgAt(fd, recvMessage.address(), Linux.MSG_DONTWAIT | Linux.MSG_TRUNC);
            if (n >= 0) {
                recvMessage.completeReceive(endpoint);
                return (int) n;
            }
            if (!readAgain(n)) {
                return -1;
            }
        }
        return -1;
    }

    /**
     * Sends {@code len} bytes at {@code buf + off} to {@code to}: a {@link SockAddr}, or an
     * {@link Endpoint}, from whose source the datagram then leaves. Any thread may send.
     *
     * @return 0; {@link #SENT_WITHOUT_SOURCE} if the endpoint's source was refused and the datagram
     *     went from the address routing picked; or the negated errno (no route, message too long, …),
     *     which the caller counts
     */
    @Override
    public int send(MemorySegment buf, long off, int len, MemorySegment to) {
        if (Endpoint.hasSource(to)) {
            SingleMessage m = SEND_MESSAGE.get();
            m.prepareSend(buf.address() + off, len, to, true);
            long n;
            do {
                n = Libc.sendmsgAt(fd, m.address(), 0);
            } while (n == -Linux.EINTR);
            if (n >= 0) {
                return 0;
            }
            if (!ControlMessages.sourceMayBeAtFault((int) n)) {
                return (int) n;
            }
            int r = sendWithoutSource(buf, off, len, to);
            return r < 0 ? r : SENT_WITHOUT_SOURCE;
        }
        return sendWithoutSource(buf, off, len, to);
    }

    private int sendWithoutSource(MemorySegment buf, long off, int len, MemorySegment to) {
        while (true) {
            long n = Libc.sendtoAt(fd, buf.address() + off, len, 0, to, SockAddr.SIZE);
            if (n != -Linux.EINTR) {
                return n < 0 ? (int) n : 0;
            }
        }
    }

    /**
     * Turns the batch features on or off (call before the loops start) and reports what is on:
     * GSO where the kernel knows {@code UDP_SEGMENT} (Linux 4.18), GRO where it has {@code UDP_GRO}
     * and is 5.12 or newer. GSO may still turn itself off later (see {@link #send(UdpBatch, int)}).
     *
     * <p>With GRO on, {@link #receive(MemorySegment, MemorySegment)} may return several datagrams
     * in one buffer without saying so: turn it on only where every receive goes through a batch.
     */
    public UdpFeatures enable(UdpFeatures wanted) {
        batchOn = wanted.batch();
        gsoOn = wanted.gso() && probeGso();
        boolean gro = wanted.gro() && GRO_KERNEL && setGro(true);
        if (!gro && groOn) {
            setGro(false);
        }
        groOn = gro;
        return features();
    }

    /** What is on now. */
    public UdpFeatures features() {
        return new UdpFeatures(batchOn, gsoOn, groOn);
    }

    /** Whether sends use UDP GSO now; it turns off for good if the kernel refuses it at send time. */
    public boolean gso() {
        return gsoOn;
    }

    /** Whether received slots may hold several datagrams. */
    public boolean gro() {
        return groOn;
    }

    /** A kernel that knows UDP_SEGMENT answers the getsockopt with the socket's default, 0. */
    private boolean probeGso() {
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment value = tmp.allocate(JAVA_INT);
            MemorySegment len = tmp.allocateFrom(JAVA_INT, 4);
            return Libc.getsockopt(fd, Linux.SOL_UDP, Linux.UDP_SEGMENT, value, len) == 0;
        }
    }

    private boolean setGro(boolean on) {
        try (Arena tmp = Arena.ofConfined()) {
            return Libc.setsockopt(fd, Linux.SOL_UDP, Linux.UDP_GRO, tmp.allocateFrom(JAVA_INT, on ? 1 : 0), 4) == 0;
        }
    }

    /**
     * Receives into {@code batch}, waiting until at least one datagram is there, then taking every
     * one already queued up to the batch's size (one, with batching off). Only the receiving thread
     * may call this. Slot i's sender is {@code batch.address(i)} (with the local address it sent to:
     * {@code batch.endpoint(i)}); its data is at offset 0, and with
     * GRO it may hold several datagrams of {@code batch.segmentSize(i)} bytes each.
     *
     * @return the number of slots filled, or -1 to stop (the socket was closed or the wake-up fired)
     */
    @Override
    public int receive(UdpBatch batch) throws SysException {
        int vlen = batchOn ? batch.slots() : 1;
        while (!closed) {
            batch.prepareReceive(vlen);
            int n = Libc.recvmmsgAt(fd, batch.messageAddress(0), vlen, Linux.MSG_DONTWAIT);
            if (n > 0) {
                batch.completeReceive(n);
                return n;
            }
            if (n != 0 && !readAgain(n)) {
                return -1;
            }
        }
        return -1;
    }

    /**
     * Sends slots [0, count) of {@code batch}, as few system calls as the features allow: one
     * sendmmsg for the run, a slot with several segments as one GSO message. Any number of threads
     * may send, each with its own batch.
     *
     * <p>A slot the kernel refuses does not stop the others: its {@link UdpBatch#status} is the
     * -errno and the rest are sent (sendmmsg stops at a failing message, so the remainder is sent
     * again from the one after it). The socket blocks while its send buffer is full, so EAGAIN only
     * appears if a send timeout was set; then the remaining slots fail with it at once. ENOBUFS (a
     * full device queue) is dropped silently by Linux for UDP, as for single sends.
     *
     * <p>GSO falls back by itself: EIO on a GSO message (the route's device cannot checksum, which
     * GSO requires, or an IPsec route) turns GSO off for this socket and the slot is resent one
     * datagram per message. EINVAL (too many segments, or a segment larger than the path MTU) makes
     * just that slot go one datagram per message, and turns GSO off only if those datagrams go
     * through and no GSO message ever has. EMSGSIZE (datagrams over the path MTU, which need IP
     * fragmentation) sends that slot one datagram per message, as every later slot of datagrams
     * that large.
     *
     * @return the number of slots sent completely, or, if none was, the -errno of the first failure
     */
    @Override
    public int send(UdpBatch batch, int count) {
        Objects.checkFromToIndex(0, count, batch.slots());
        batch.clearStatus(count);
        int accepted = 0;
        int firstError = 0;
        int preparedEnd = 0;
        boolean preparedGso = false;
        int i = 0;
        while (i < count) {
            boolean gso = gsoOn;
            int error;
            if (batch.needsSplit(i, gso, gsoMaxSegment)) {
                error = sendSplit(batch, i);
            } else {
                if (i >= preparedEnd || preparedGso != gso) {
                    preparedEnd = batch.prepareSend(i, count, gso, gsoMaxSegment);
                    preparedGso = gso;
                }
                int n = Libc.sendmmsgAt(fd, batch.messageAddress(i), batchOn ? preparedEnd - i : 1, 0);
                if (n > 0) {
                    if (gso && !gsoConfirmed) {
                        confirmGso(batch, i, i + n);
                    }
                    accepted += n;
                    i += n;
                    continue;
                }
                if (n == -Linux.EINTR) {
                    continue;
                }
                if (batch.hasSource(i) && ControlMessages.sourceMayBeAtFault(n)) {
                    batch.dropSource(i); // and send it again from the address routing picks
                    preparedEnd = i;
                    continue;
                }
                if (batch.usesGso(i) && n == -Linux.EIO) {
                    gsoOn = false; // the next turn splits slot i
                    continue;
                }
                if (batch.usesGso(i) && n == -Linux.EMSGSIZE) {
                    // Datagrams longer than the path MTU: the kernel fragments them one by one,
                    // never in a GSO message. Send these alone, and all as large from now on.
                    gsoMaxSegment = Math.min(gsoMaxSegment, batch.segmentSize(i) - 1);
                    error = sendSplit(batch, i);
                } else if (batch.usesGso(i) && n == -Linux.EINVAL) {
                    error = sendSplit(batch, i);
                    if (error == 0 && !gsoConfirmed) {
                        gsoOn = false;
                    }
                } else {
                    error = n == 0 ? -Linux.EAGAIN : n;
                    if (error == -Linux.EAGAIN) {
                        for (int k = i; k < count; k++) {
                            batch.fail(k, error);
                        }
                        return accepted > 0 ? accepted : error;
                    }
                }
            }
            if (error == 0) {
                accepted++;
            } else {
                batch.fail(i, error);
                if (firstError == 0) {
                    firstError = error;
                }
            }
            i++;
        }
        return accepted > 0 || count == 0 ? accepted : firstError;
    }

    private void confirmGso(UdpBatch batch, int from, int to) {
        for (int k = from; k < to; k++) {
            if (batch.usesGso(k)) {
                gsoConfirmed = true;
                return;
            }
        }
    }

    /**
     * Sends slot {@code i} one datagram per message, in runs of up to {@link UdpBatch#MAX_SEGMENTS}.
     * A datagram the kernel refuses is skipped so the others still go.
     *
     * @return 0, or the first -errno
     */
    private int sendSplit(UdpBatch batch, int i) {
        int total = batch.datagrams(i);
        int error = 0;
        for (int done = 0; done < total; ) {
            int n = batch.prepareSplit(i, done);
            int k = 0;
            while (k < n) {
                int r = Libc.sendmmsgAt(fd, batch.splitAddress(k), batchOn ? n - k : 1, 0);
                if (r > 0) {
                    k += r;
                } else if (r == -Linux.EINTR) {
                    continue;
                } else if (batch.hasSource(i) && ControlMessages.sourceMayBeAtFault(r)) {
                    batch.dropSource(i);
                    break; // laid out again from datagram k, without the source
                } else {
                    if (error == 0) {
                        error = r == 0 ? -Linux.EAGAIN : r;
                    }
                    k++;
                }
            }
            done += k;
        }
        return error;
    }

    /** Whether the running kernel's release is at least {@code major.minor}; false if unreadable. */
    static boolean kernelAtLeast(int major, int minor) {
        try {
            String release = Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();
            String[] parts = release.split("[.-]", 3);
            int maj = Integer.parseInt(parts[0]);
            int min = parts.length > 1 ? Integer.parseInt(parts[1].replaceAll("\\D.*", "")) : 0;
            return maj > major || (maj == major && min >= minor);
        } catch (IOException | RuntimeException e) {
            return false;
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
