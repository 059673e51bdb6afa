package dev.patchcord.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A bound unix datagram socket standing in for systemd's notify socket ({@code NOTIFY_SOCKET}), for
 * the tests of {@link SdNotify} and of the processes that speak to it.
 */
public final class NotifyListener implements AutoCloseable {
    private final int fd;
    private final Arena arena = Arena.ofConfined();

    public NotifyListener(String address) throws SysException {
        fd = (int) SysException.check(
                Libc.socket(Linux.AF_UNIX, Linux.SOCK_DGRAM | Linux.SOCK_CLOEXEC, 0), "socket");
        MemorySegment sa = arena.allocate(UnixAddress.SIZE);
        int len = UnixAddress.encode(address, sa);
        SysException.check(Libc.bind(fd, sa, len), "bind " + address);
    }

    /** The next datagram, waiting up to 5 s. */
    public String receive() throws SysException {
        return receive(5_000);
    }

    /** The next datagram, waiting up to {@code millis}. */
    public String receive(int millis) throws SysException {
        MemorySegment pollfd = arena.allocate(Libc.POLLFD);
        pollfd.set(JAVA_INT, 0, fd);
        pollfd.set(JAVA_SHORT, 4, Linux.POLLIN);
        assertThat(Libc.poll(pollfd, 1, millis)).as("a datagram within " + millis + " ms").isEqualTo(1);
        MemorySegment buf = arena.allocate(4096);
        long n = SysException.check(Libc.recvfrom(fd, buf, buf.byteSize(), Linux.MSG_DONTWAIT,
                MemorySegment.NULL, MemorySegment.NULL), "recvfrom");
        return new String(buf.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        Libc.close(fd);
        arena.close();
    }
}
