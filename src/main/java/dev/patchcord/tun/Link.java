package dev.patchcord.tun;

import dev.patchcord.sys.Libc;
import dev.patchcord.sys.Linux;
import dev.patchcord.sys.SysException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Link-level settings of an interface (MTU, up/down), through the classic SIOC* ioctls. Changing
 * either needs CAP_NET_ADMIN; a setting that is already as wanted is left alone, so that a process
 * without the capability can use a persistent interface prepared for it.
 */
public final class Link {
    private Link() {}

    public static void setMtu(String ifname, int mtu) throws SysException {
        withIfreq(ifname, (fd, ifr) -> {
            if (Libc.ioctl(fd, Linux.SIOCGIFMTU, ifr) == 0 && ifr.get(JAVA_INT, Linux.IFNAMSIZ) == mtu) {
                return;
            }
            ifr.set(JAVA_INT, Linux.IFNAMSIZ, mtu);
            check(Libc.ioctl(fd, Linux.SIOCSIFMTU, ifr), "cannot set MTU " + mtu + " on " + ifname);
        });
    }

    public static int mtu(String ifname) throws SysException {
        int[] out = new int[1];
        withIfreq(ifname, (fd, ifr) -> {
            check(Libc.ioctl(fd, Linux.SIOCGIFMTU, ifr), "cannot read the MTU of " + ifname);
            out[0] = ifr.get(JAVA_INT, Linux.IFNAMSIZ);
        });
        return out[0];
    }

    /** The interface's index, which stays while it exists, whatever it is renamed to. */
    public static int index(String ifname) throws SysException {
        int[] out = new int[1];
        withIfreq(ifname, (fd, ifr) -> {
            check(Libc.ioctl(fd, Linux.SIOCGIFINDEX, ifr), "cannot find interface " + ifname);
            out[0] = ifr.get(JAVA_INT, Linux.IFNAMSIZ);
        });
        return out[0];
    }

    public static void setUp(String ifname) throws SysException {
        withIfreq(ifname, (fd, ifr) -> {
            check(Libc.ioctl(fd, Linux.SIOCGIFFLAGS, ifr), "cannot read the flags of " + ifname);
            short flags = ifr.get(JAVA_SHORT, Linux.IFNAMSIZ);
            if ((flags & Linux.IFF_UP) != 0) {
                return;
            }
            ifr.set(JAVA_SHORT, Linux.IFNAMSIZ, (short) (flags | Linux.IFF_UP));
            check(Libc.ioctl(fd, Linux.SIOCSIFFLAGS, ifr), "cannot bring " + ifname + " up");
        });
    }

    private interface IfreqAction {
        void apply(int controlFd, MemorySegment ifr) throws SysException;
    }

    /** A refusal names what is missing, in the one line patchcord prints for it. */
    private static void check(int r, String what) throws SysException {
        SysException.check(r, r == -Linux.EPERM || r == -Linux.EACCES ? what + " (needs CAP_NET_ADMIN)" : what);
    }

    /** Any socket can carry interface ioctls; an AF_INET datagram socket is the customary one. */
    private static void withIfreq(String ifname, IfreqAction action) throws SysException {
        int fd = (int) SysException.check(
                Libc.socket(Linux.AF_INET, Linux.SOCK_DGRAM | Linux.SOCK_CLOEXEC, 0), "socket");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ifr = arena.allocate(Linux.IFREQ_SIZE);
            byte[] name = ifname.getBytes(StandardCharsets.UTF_8);
            MemorySegment.copy(name, 0, ifr, ValueLayout.JAVA_BYTE, 0, name.length);
            action.apply(fd, ifr);
        } finally {
            Libc.close(fd);
        }
    }
}
