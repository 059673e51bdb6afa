package dev.patchcord.tun;

import dev.patchcord.core.offload.VirtioNetHdr;
import dev.patchcord.sys.Libc;
import dev.patchcord.sys.Linux;
import dev.patchcord.sys.Poller;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A Linux TUN (IP packets) or TAP (Ethernet frames) interface, opened through {@code /dev/net/tun}.
 *
 * <p>An interface this object creates is not persistent: it exists while this object is open and
 * the kernel removes it when the file descriptor closes, so a crash never leaves an interface
 * behind. An existing persistent interface ({@code ip tuntap add dev X mode tun user U}) is
 * opened instead when the name is taken by one; it stays when this object closes
 * ({@link #persistent()}). Its owner may open it without {@code CAP_NET_ADMIN}, which is how an
 * unprivileged process gets an interface at all.
 *
 * <p><b>Offload mode.</b> {@link #openWithVnetHeader} opens the device with {@code IFF_VNET_HDR}:
 * every packet read or written then starts with a 10-byte {@code struct virtio_net_hdr}
 * ({@link VirtioNetHdr}), and the kernel may, for the offloads accepted, hand over TCP or UDP
 * "super-packets" of up to 64 KiB with their checksum left to finish (reads) and take such packets
 * to cut itself (writes). Buffers must then hold {@code 10 + 65535} bytes. Plain {@link #open}
 * keeps the classic mode: one packet per read, no header.
 */
public final class TunDevice implements PacketDevice {

    /** Layer 3 (TUN) or layer 2 (TAP). */
    public enum Kind {
        TUN(Linux.IFF_TUN), TAP(Linux.IFF_TAP);

        final short flag;

        Kind(short flag) {
            this.flag = flag;
        }
    }

    private static final String CLONE_DEVICE = "/dev/net/tun";
    /** _IOR('T', 210, unsigned int): the attached interface's name and flags. */
    private static final long TUNGETIFF = 0x800454d2L;
    /** Set on an interface made persistent (TUNSETPERSIST, {@code ip tuntap add}). */
    private static final short IFF_PERSIST = 0x0800;

    /** TUN_F_CSUM: the kernel may leave checksums to finish; required by every other offload. */
    public static final int OFFLOAD_CSUM = Linux.TUN_F_CSUM;
    /** Checksum plus TCP segmentation offload for IPv4 and IPv6, as wireguard-go requires. */
    public static final int OFFLOAD_TSO = Linux.TUN_F_CSUM | Linux.TUN_F_TSO4 | Linux.TUN_F_TSO6;
    /** TSO plus UDP segmentation offload (Linux 6.2), which wireguard-go tries and may do without. */
    public static final int OFFLOAD_ALL = OFFLOAD_TSO | Linux.TUN_F_USO4 | Linux.TUN_F_USO6;

    private final Arena arena = Arena.ofShared();
    private final int fd;
    private final String name;
    private final Kind kind;
    private final Poller readPoller;
    private final String readWhat;
    private final boolean vnetHeader;
    private final int offloads;
    private final boolean persistent;
    /** An all-zero header (GSO_NONE, checksum complete) for {@link #writePacket}. */
    private final MemorySegment plainHeader;
    /** Two iovecs per writing thread for {@link #writePacket}: allocated once per thread. */
    private final ThreadLocal<MemorySegment> writeIov;
    private volatile boolean closed;

    private TunDevice(int fd, String name, Kind kind, Wakeup wakeup, boolean vnetHeader, int offloads,
                      boolean persistent) {
        this.fd = fd;
        this.persistent = persistent;
        this.name = name;
        this.kind = kind;
        this.readPoller = new Poller(fd, wakeup, arena);
        this.readWhat = "read from " + name;
        this.vnetHeader = vnetHeader;
        this.offloads = offloads;
        this.plainHeader = arena.allocate(VirtioNetHdr.SIZE, 8);
        this.writeIov = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(32, 8));
    }

    /**
     * Creates the interface. {@code requestedName} may be null or contain {@code %d} to let the
     * kernel choose.
     */
    public static TunDevice open(Kind kind, String requestedName, Wakeup wakeup) throws SysException {
        return open(kind, requestedName, wakeup, false, 0);
    }

    /**
     * Creates the interface with a virtio-net header on every packet, and asks for
     * {@code wantedOffloads} (TUN_F_* bits, e.g. {@link #OFFLOAD_ALL}; 0 for the header alone).
     * What the kernel refuses is dropped in steps: first UDP segmentation (before Linux 6.2), then
     * TCP segmentation, then the checksum offload, so the device always opens; {@link #offloads()}
     * tells what was accepted.
     */
    public static TunDevice openWithVnetHeader(Kind kind, String requestedName, Wakeup wakeup, int wantedOffloads)
            throws SysException {
        return open(kind, requestedName, wakeup, true, wantedOffloads);
    }

    /**
     * A device that stands in for an interface, over one end of a socket pair that keeps packet
     * boundaries ({@code SOCK_SEQPACKET}): what is written to {@link StandIn#kernelSide} it reads,
     * whole, and what it writes arrives there. The start-up warm-up runs the packet path on it
     * before the real interface carries anything; being this same class, with the interface's
     * virtio-net header and offloads, it gives the compiler the profile the interface will.
     */
    public static StandIn standIn(Kind kind, Wakeup wakeup, boolean vnet, int offloads) throws SysException {
        int[] fds = new int[2];
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment pair = tmp.allocate(JAVA_INT, 2);
            int r = Libc.socketpair(Linux.AF_UNIX, Linux.SOCK_SEQPACKET | Linux.SOCK_NONBLOCK | Linux.SOCK_CLOEXEC, 0,
                    pair);
            SysException.check(r, "socketpair");
            fds[0] = pair.getAtIndex(JAVA_INT, 0);
            fds[1] = pair.getAtIndex(JAVA_INT, 1);
        }
        return new StandIn(new TunDevice(fds[0], "stand-in", kind, wakeup, vnet, vnet ? offloads : 0, false), fds[1]);
    }

    /** A {@link #standIn} device and the descriptor of the pair's other end, where the caller plays the kernel. */
    public record StandIn(TunDevice device, int kernelSide) implements AutoCloseable {
        @Override
        public void close() {
            device.close();
            Libc.close(kernelSide);
        }
    }

    private static TunDevice open(Kind kind, String requestedName, Wakeup wakeup, boolean vnet, int wantedOffloads)
            throws SysException {
        String pattern = requestedName == null ? kind.name().toLowerCase() + "%d" : requestedName;
        InterfaceName.require(pattern);
        int fd;
        try (Arena tmp = Arena.ofConfined()) {
            fd = Libc.open(tmp.allocateFrom(CLONE_DEVICE), Linux.O_RDWR | Linux.O_NONBLOCK | Linux.O_CLOEXEC);
            if (fd < 0) {
                throw new SysException(explainOpen(-fd), -fd);
            }
            MemorySegment ifr = tmp.allocate(Linux.IFREQ_SIZE);
            byte[] nameBytes = pattern.getBytes(StandardCharsets.UTF_8);
            MemorySegment.copy(nameBytes, 0, ifr, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, nameBytes.length);
            short flags = (short) (kind.flag | Linux.IFF_NO_PI | (vnet ? Linux.IFF_VNET_HDR : 0));
            ifr.set(JAVA_SHORT, Linux.IFNAMSIZ, flags);
            int r = Libc.ioctl(fd, Linux.TUNSETIFF, ifr);
            if (r < 0) {
                Libc.close(fd);
                throw new SysException(explainSetIff(kind, pattern, -r), -r);
            }
            String actual = ifr.getString(0);
            boolean persistent = Libc.ioctl(fd, TUNGETIFF, ifr) == 0
                    && (ifr.get(JAVA_SHORT, Linux.IFNAMSIZ) & IFF_PERSIST) != 0;
            int offloads = 0;
            if (vnet) {
                MemorySegment size = tmp.allocateFrom(JAVA_INT, VirtioNetHdr.SIZE);
                r = Libc.ioctl(fd, Linux.TUNSETVNETHDRSZ, size);
                if (r < 0) {
                    Libc.close(fd);
                    throw new SysException("cannot set the virtio-net header size on " + actual, -r);
                }
                offloads = negotiateOffloads(fd, wantedOffloads);
            }
            return new TunDevice(fd, actual, kind, wakeup, vnet, offloads, persistent);
        }
    }

    /**
     * A device around a {@code /dev/net/tun} descriptor that is already attached to an interface,
     * such as one another patchcord process passed over a unix socket: nothing about the interface
     * changes, and its name, kind, virtio-net header and persistence are read back from it
     * (TUNGETIFF), and it is made non-blocking as {@link #open} makes it. The descriptor
     * becomes this object's, closed by {@link #close()}; if adopting fails it stays the caller's.
     *
     * <p>The kernel has no call that reads a device's offloads back, so the process that negotiated
     * them passes {@code offloads} (its {@link #offloads()}); they are set again (TUNSETOFFLOAD, which
     * changes nothing when they are the same), with the same fall-back as at open, and
     * {@link #offloads()} says what holds. Without the vnet header they are ignored (0).
     */
    public static TunDevice adopt(int fd, Wakeup wakeup, int offloads) throws SysException {
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment ifr = tmp.allocate(Linux.IFREQ_SIZE);
            int r = Libc.ioctl(fd, TUNGETIFF, ifr);
            if (r < 0) {
                String why = r == -Linux.ENOTTY || r == -Linux.EINVAL ? " (it is no /dev/net/tun descriptor)"
                        : r == -Linux.EBADF ? " (no such descriptor)"
                        : r == -Linux.EBADFD ? " (it is attached to no interface)" : "";
                throw new SysException("cannot adopt descriptor " + fd + " as a TUN/TAP device" + why, -r);
            }
            String name = ifr.getString(0);
            short flags = ifr.get(JAVA_SHORT, Linux.IFNAMSIZ);
            Kind kind = (flags & Linux.IFF_TAP) != 0 ? Kind.TAP : Kind.TUN;
            if ((flags & Linux.IFF_NO_PI) == 0) {
                // Every read and write here assumes no packet-information prefix.
                throw new SysException("cannot adopt " + name + ": it was opened with packet information (no IFF_NO_PI)",
                        Linux.EINVAL);
            }
            boolean vnet = (flags & Linux.IFF_VNET_HDR) != 0;
            boolean persistent = (flags & IFF_PERSIST) != 0;
            int status = (int) SysException.check(Libc.fcntl(fd, Linux.F_GETFL, 0), "fcntl on " + name);
            if ((status & Linux.O_NONBLOCK) == 0) {
                SysException.check(Libc.fcntl(fd, Linux.F_SETFL, status | Linux.O_NONBLOCK),
                        "cannot make " + name + " non-blocking");
            }
            int accepted = 0;
            if (vnet) {
                MemorySegment size = tmp.allocate(JAVA_INT);
                SysException.check(Libc.ioctl(fd, Linux.TUNGETVNETHDRSZ, size), "TUNGETVNETHDRSZ on " + name);
                if (size.get(JAVA_INT, 0) != VirtioNetHdr.SIZE) {
                    size.set(JAVA_INT, 0, VirtioNetHdr.SIZE);
                    SysException.check(Libc.ioctl(fd, Linux.TUNSETVNETHDRSZ, size),
                            "cannot set the virtio-net header size on " + name);
                }
                accepted = negotiateOffloads(fd, offloads);
            }
            return new TunDevice(fd, name, kind, wakeup, vnet, accepted, persistent);
        }
    }

    /**
     * TUNSETOFFLOAD refuses unknown bits as a whole (EINVAL), so each step drops what an older
     * kernel may not know. Segmentation offloads are meaningless without the checksum offload.
     */
    private static int negotiateOffloads(int fd, int wanted) {
        int want = wanted & OFFLOAD_ALL;
        if ((want & ~OFFLOAD_CSUM) != 0) {
            want |= OFFLOAD_CSUM;
        }
        int[] steps = {want, want & OFFLOAD_TSO, want & OFFLOAD_CSUM, 0};
        for (int step : steps) {
            if (Libc.ioctlValue(fd, Linux.TUNSETOFFLOAD, step) == 0) {
                return step;
            }
        }
        return 0;
    }

    /** The TUN_F_* offloads by name, e.g. "csum tso4 tso6 uso4 uso6", or "none". */
    public static String describeOffloads(int offloads) {
        StringBuilder s = new StringBuilder();
        String[] names = {"csum", "tso4", "tso6", "tso_ecn", "ufo", "uso4", "uso6"};
        for (int bit = 0; bit < names.length; bit++) {
            if ((offloads & (1 << bit)) != 0) {
                s.append(s.isEmpty() ? "" : " ").append(names[bit]);
            }
        }
        return s.isEmpty() ? "none" : s.toString();
    }

    private static String explainOpen(int errno) {
        return switch (errno) {
            case Linux.ENOENT, Linux.ENODEV -> "cannot open " + CLONE_DEVICE
                    + " (is the tun module loaded? try 'modprobe tun')";
            case Linux.EACCES, Linux.EPERM -> "cannot open " + CLONE_DEVICE
                    + " (run as root or with CAP_NET_ADMIN)";
            default -> "cannot open " + CLONE_DEVICE;
        };
    }

    private static String explainSetIff(Kind kind, String name, int errno) {
        boolean exists = !name.contains("%") && java.nio.file.Files.exists(java.nio.file.Path.of("/sys/class/net", name));
        String what = (exists ? "cannot open " : "cannot create ") + kind + " interface '" + name + "'";
        return switch (errno) {
            case Linux.EPERM, Linux.EACCES -> what + (exists
                    ? " (it exists and is not this user's: run as its owner, as root or with CAP_NET_ADMIN)"
                    : " (run as root or with CAP_NET_ADMIN)");
            case Linux.EBUSY -> what + " (an interface of that name is already in use)";
            case Linux.EINVAL -> what + " (the name is taken by an interface of another type, or is invalid)";
            default -> what;
        };
    }

    public Kind kind() {
        return kind;
    }

    @Override
    public String name() {
        return name;
    }

    public int fd() {
        return fd;
    }

    /**
     * Whether the interface is persistent, i.e. it was there before and stays after
     * {@link #close()}; what was configured on it (addresses, routes) stays too unless removed.
     */
    public boolean persistent() {
        return persistent;
    }

    @Override
    public boolean batches() {
        return true;
    }

    /** Whether every packet read and written starts with a {@link VirtioNetHdr}. */
    @Override
    public boolean vnetHeader() {
        return vnetHeader;
    }

    /** The TUN_F_* offloads the kernel accepted (0 without the vnet header). */
    @Override
    public int offloads() {
        return offloads;
    }

    /**
     * {@inheritDoc}
     *
     * <p>In vnet-header mode the result counts the 10-byte header at the start of {@code buf}, and
     * with segmentation offloads on the packet after it may be up to 64 KiB: give it a buffer of
     * {@code 10 + 65535} bytes, or a longer packet is lost.
     */
    @Override
    public int read(MemorySegment buf) throws SysException {
        while (!closed) {
            long n = Libc.read(fd, buf, buf.byteSize());
            if (n >= 0) {
                return (int) n;
            }
            if (closed || !readPoller.readAgain(n, readWhat)) {
                return -1;
            }
        }
        return -1;
    }

    /**
     * One read that does not wait: the next packet if one is queued, else {@code -EAGAIN}. A
     * batching reader blocks in {@link #read} for the first packet of a batch and takes the rest
     * with this, so a lone packet is never held back waiting for company.
     *
     * @return the length read, or the negated errno
     */
    @Override
    public int tryRead(MemorySegment buf) {
        long n = Libc.read(fd, buf, buf.byteSize());
        return (int) n;
    }

    /**
     * {@inheritDoc}
     *
     * <p>In vnet-header mode the {@code len} bytes start with the header: a caller lays it right
     * before its packet (see {@link VirtioNetHdr#writeNone}) and writes both at once.
     */
    @Override
    public int write(MemorySegment buf, long off, int len) {
        long n = Libc.writeAt(fd, buf.address() + off, len);
        return n < 0 ? (int) n : 0;
    }

    /**
     * Writes one packet that has no virtio-net header in front of it. In vnet-header mode a
     * header saying "one packet, checksum complete" is put before it by writev, so a caller that
     * has no room before its packet needs no copy; otherwise this is {@link #write}. Any thread may
     * call it.
     *
     * @return 0, or the negated errno
     */
    @Override
    public int writePacket(MemorySegment buf, long off, int len) {
        if (!vnetHeader) {
            return write(buf, off, len);
        }
        MemorySegment iov = writeIov.get();
        iov.set(JAVA_LONG, 0, plainHeader.address());
        iov.set(JAVA_LONG, 8, VirtioNetHdr.SIZE);
        iov.set(JAVA_LONG, 16, buf.address() + off);
        iov.set(JAVA_LONG, 24, len);
        long n = Libc.writev(fd, iov, 2);
        return n < 0 ? (int) n : 0;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Libc.close(fd);
        }
    }
}
