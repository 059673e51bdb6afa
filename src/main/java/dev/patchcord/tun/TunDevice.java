package dev.patchcord.tun;

import dev.patchcord.sys.Libc;
import dev.patchcord.sys.Linux;
import dev.patchcord.sys.Poller;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A Linux TUN (IP packets) or TAP (Ethernet frames) interface, opened through {@code /dev/net/tun}.
 *
 * <p>The interface is not persistent: it exists while this object is open and the kernel removes it
 * when the file descriptor closes, so a crash never leaves an interface behind.
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

    private final Arena arena = Arena.ofShared();
    private final int fd;
    private final String name;
    private final Kind kind;
    private final Poller readPoller;
    private final String readWhat;
    private volatile boolean closed;

    private TunDevice(int fd, String name, Kind kind, Wakeup wakeup) {
        this.fd = fd;
        this.name = name;
        this.kind = kind;
        this.readPoller = new Poller(fd, wakeup, arena);
        this.readWhat = "read from " + name;
    }

    /**
     * Creates the interface. {@code requestedName} may be null or contain {@code %d} to let the
     * kernel choose.
     */
    public static TunDevice open(Kind kind, String requestedName, Wakeup wakeup) throws SysException {
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
            ifr.set(JAVA_SHORT, Linux.IFNAMSIZ, (short) (kind.flag | Linux.IFF_NO_PI));
            int r = Libc.ioctl(fd, Linux.TUNSETIFF, ifr);
            if (r < 0) {
                Libc.close(fd);
                throw new SysException(explainSetIff(kind, pattern, -r), -r);
            }
            String actual = ifr.getString(0);
            return new TunDevice(fd, actual, kind, wakeup);
        }
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
        String what = "cannot create " + kind + " interface '" + name + "'";
        return switch (errno) {
            case Linux.EPERM, Linux.EACCES -> what + " (run as root or with CAP_NET_ADMIN)";
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

    @Override
    public int write(MemorySegment buf, long off, int len) {
        long n = Libc.writeAt(fd, buf.address() + off, len);
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
