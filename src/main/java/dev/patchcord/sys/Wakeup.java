package dev.patchcord.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CopyOnWriteArrayList;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * An eventfd that, once signalled, stays readable: every I/O loop polls it beside its own file
 * descriptor, so one {@link #signal()} releases every loop blocked in {@link Poller#await}.
 *
 * <p>A {@link #child()} is a wake-up of its own that its parent's signal reaches too: loops that
 * wait on a child can be stopped alone (the child's signal) and started again after
 * {@link #clear()}, while the parent's signal, which means shutdown, still stops them for good.
 */
public final class Wakeup implements AutoCloseable {
    private final int fd;
    /** Null for a root wake-up. */
    private final Wakeup parent;
    private final CopyOnWriteArrayList<Wakeup> children = new CopyOnWriteArrayList<>();
    private volatile boolean signalled;
    /** Guarded by this: a closed wake-up's descriptor number may already belong to another file. */
    private boolean closed;

    public Wakeup() throws SysException {
        this(null);
    }

    private Wakeup(Wakeup parent) throws SysException {
        this.parent = parent;
        this.fd = (int) SysException.check(
                Libc.eventfd(0, Linux.EFD_CLOEXEC | Linux.EFD_NONBLOCK), "eventfd");
    }

    /**
     * A wake-up that is signalled whenever this one is, now (if this one already is) or later, and
     * can also be signalled alone. Closing this one does not close it: its owner closes it.
     */
    public Wakeup child() throws SysException {
        Wakeup child = new Wakeup(this);
        // Under this lock, so that a concurrent signal() either sees the child in the list or has
        // already set the flag this reads.
        synchronized (this) {
            children.add(child);
            if (signalled) {
                child.signal();
            }
        }
        return child;
    }

    public int fd() {
        return fd;
    }

    public boolean signalled() {
        return signalled;
    }

    public void signal() {
        synchronized (this) {
            if (closed) {
                return;
            }
            signalled = true;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment one = arena.allocate(JAVA_LONG);
                one.set(JAVA_LONG, 0, 1L);
                Libc.write(fd, one, 8);
            }
            for (Wakeup child : children) {
                child.signal();
            }
        }
    }

    /**
     * Makes this child unsignalled again (its eventfd drained), unless its parent has been signalled:
     * then the child stays signalled and this does nothing. Loops waiting on it must have returned
     * first; a signal of the child's own that races with this may be lost.
     *
     * @throws IllegalStateException on a wake-up that is no child
     */
    public void clear() {
        if (parent == null) {
            throw new IllegalStateException("only a child wake-up can be cleared");
        }
        synchronized (this) {
            if (closed || parent.signalled()) {
                return;
            }
            signalled = false;
            try (Arena arena = Arena.ofConfined()) {
                // A read empties an eventfd (no EFD_SEMAPHORE); EAGAIN when it was empty already.
                Libc.read(fd, arena.allocate(JAVA_LONG), 8);
            }
            // The parent's signal sets its flag before it signals the children, which needs this
            // lock: a signal that began before the check above is seen there, one that begins
            // after it reaches this child after the drain.
        }
    }

    /** Closes the eventfd; a child also leaves its parent, whose later signals then pass it by. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            Libc.close(fd);
        }
        if (parent != null) {
            parent.children.remove(this);
        }
    }
}
