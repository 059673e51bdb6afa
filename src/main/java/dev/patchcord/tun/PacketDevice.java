package dev.patchcord.tun;

import dev.patchcord.sys.Linux;
import dev.patchcord.sys.SysException;

import java.lang.foreign.MemorySegment;

/**
 * Where packets enter and leave the host: a TUN or TAP interface, or (tinyvpn's stdio mode) the
 * process's standard streams. One thread reads and another writes, concurrently.
 */
public interface PacketDevice extends AutoCloseable {

    /** The interface name, or a descriptive name for devices that are not interfaces. */
    String name();

    /**
     * Reads one packet or frame into {@code buf}, waiting until one is available.
     *
     * @return its length, or -1 when the device is closed or the loop must stop
     */
    int read(MemorySegment buf) throws SysException;

    /**
     * Writes one packet or frame of {@code len} bytes starting at {@code buf}'s offset {@code off}.
     *
     * @return 0, or the negated errno when the kernel refused this one packet (the caller counts it)
     */
    int write(MemorySegment buf, long off, int len);

    /**
     * Whether the device can be read in batches: a waiting {@link #read} for the first packet,
     * then {@link #tryRead} for what else it already holds. A TUN or TAP can; stdio cannot.
     */
    default boolean batches() {
        return false;
    }

    /**
     * One read that does not wait: the next packet if one is queued, else {@code -EAGAIN}.
     *
     * @return the length read, or the negated errno
     */
    default int tryRead(MemorySegment buf) {
        return -Linux.EAGAIN;
    }

    /** Whether every packet read and written starts with a virtio-net header. */
    default boolean vnetHeader() {
        return false;
    }

    /** The TUN_F_* offloads the kernel accepted (0 without the virtio-net header). */
    default int offloads() {
        return 0;
    }

    /**
     * Writes one packet that has no virtio-net header in front of it; a device that wants one
     * puts it there itself.
     *
     * @return 0, or the negated errno
     */
    default int writePacket(MemorySegment buf, long off, int len) {
        return write(buf, off, len);
    }

    @Override
    void close();
}
