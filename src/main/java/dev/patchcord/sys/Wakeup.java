package dev.patchcord.sys;

/**
 * An eventfd that, once signalled, stays readable: every I/O loop polls it beside its own file
 * descriptor, so one {@link #signal()} releases every loop blocked in {@link Poller#await}.
 */
public final class Wakeup implements AutoCloseable {
    private final int fd;
    private volatile boolean signalled;

    public Wakeup() throws SysException {
        this.fd = (int) SysException.check(
                Libc.eventfd(0, Linux.EFD_CLOEXEC | Linux.EFD_NONBLOCK), "eventfd");
    }

    public int fd() {
        return fd;
    }

    public boolean signalled() {
        return signalled;
    }

    public void signal() {
        signalled = true;
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            var one = arena.allocate(java.lang.foreign.ValueLayout.JAVA_LONG);
            one.set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, 1L);
            Libc.write(fd, one, 8);
        }
    }

    @Override
    public void close() {
        Libc.close(fd);
    }
}
