package dev.patchcord.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Waits until one file descriptor is ready or the shared {@link Wakeup} fires. One instance per
 * thread: its two {@code struct pollfd} entries are allocated once, so waiting allocates nothing.
 *
 * <p>Loops read non-blocking until EAGAIN and only then poll, so under load the poll call is
 * amortised over every packet that was already queued.
 */
public final class Poller {
    private final MemorySegment fds;
    private final Wakeup wakeup;

    public Poller(int fd, Wakeup wakeup, Arena arena) {
        this.wakeup = wakeup;
        this.fds = arena.allocate(Libc.POLLFD, 2);
        fds.set(JAVA_INT, 0, fd);
        fds.set(JAVA_INT, 8, wakeup.fd());
        fds.set(JAVA_SHORT, 12, Linux.POLLIN);
    }

    /**
     * Handles the failed result of a non-blocking read: waits for the descriptor on EAGAIN, retries
     * on EINTR, and throws for any other error.
     *
     * @param result the call's negative result (-errno)
     * @return true to call again, false if the loop should stop
     */
    public boolean readAgain(long result, String what) throws SysException {
        if (result == -Linux.EAGAIN) {
            return await(Linux.POLLIN, -1);
        }
        if (result == -Linux.EINTR) {
            return true;
        }
        throw new SysException(what, (int) -result);
    }

    /**
     * Blocks until the descriptor has one of {@code events} or the wake-up fired.
     *
     * @return true if the descriptor is ready, false if the loop should stop
     */
    public boolean await(short events, int timeoutMillis) throws SysException {
        fds.set(JAVA_SHORT, 4, events);
        while (true) {
            if (wakeup.signalled()) {
                return false;
            }
            fds.set(JAVA_SHORT, 6, (short) 0);
            fds.set(JAVA_SHORT, 14, (short) 0);
            int n = Libc.poll(fds, 2, timeoutMillis);
            if (n == -Linux.EINTR) {
                continue;
            }
            SysException.check(n, "poll");
            if (fds.get(JAVA_SHORT, 14) != 0 || wakeup.signalled()) {
                return false;
            }
            short revents = fds.get(JAVA_SHORT, 6);
            if ((revents & Linux.POLLNVAL) != 0) {
                throw new SysException("poll", Linux.EBADF);
            }
            // Timeout (n == 0) also returns true: the caller re-checks and decides.
            return true;
        }
    }
}
