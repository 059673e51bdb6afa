package dev.patchcord.tun;

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

    @Override
    void close();
}
