package dev.patchcord.sys;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Wake-ups and their children: pausing loops alone, while shutdown still reaches them. */
@Timeout(30)
class WakeupTest {
    private final Arena arena = Arena.ofShared();
    private final List<AutoCloseable> opened = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : opened.reversed()) {
            c.close();
        }
        arena.close();
    }

    private Wakeup root() throws SysException {
        Wakeup w = new Wakeup();
        opened.add(w);
        return w;
    }

    private Wakeup childOf(Wakeup parent) throws SysException {
        Wakeup w = parent.child();
        opened.add(w);
        return w;
    }

    /** Whether the eventfd itself is readable now, which is what a loop's poll sees. */
    private boolean readable(Wakeup w) {
        MemorySegment pollfd = arena.allocate(Libc.POLLFD);
        pollfd.set(JAVA_INT, 0, w.fd());
        pollfd.set(JAVA_SHORT, 4, Linux.POLLIN);
        return Libc.poll(pollfd, 1, 0) == 1;
    }

    /** A descriptor that is always readable: an eventfd holding a count. */
    private int readyFd() {
        int fd = Libc.eventfd(1, Linux.EFD_NONBLOCK | Linux.EFD_CLOEXEC);
        assertThat(fd).isNotNegative();
        opened.add(() -> Libc.close(fd));
        return fd;
    }

    @Test
    void aParentsSignalReachesItsChildren() throws Exception {
        Wakeup parent = root();
        Wakeup a = childOf(parent);
        Wakeup b = childOf(parent);
        parent.signal();
        assertThat(a.signalled()).isTrue();
        assertThat(b.signalled()).isTrue();
        assertThat(readable(a)).isTrue();
        assertThat(readable(b)).isTrue();
    }

    @Test
    void aChildSignalledAloneLeavesItsParentAndSiblingsAlone() throws Exception {
        Wakeup parent = root();
        Wakeup a = childOf(parent);
        Wakeup b = childOf(parent);
        a.signal();
        assertThat(a.signalled()).isTrue();
        assertThat(readable(a)).isTrue();
        assertThat(parent.signalled()).isFalse();
        assertThat(readable(parent)).isFalse();
        assertThat(b.signalled()).isFalse();
    }

    @Test
    void aClearedChildRunsAgainAndStillHearsItsParent() throws Exception {
        Wakeup parent = root();
        Wakeup child = childOf(parent);
        child.signal();
        child.clear();
        assertThat(child.signalled()).isFalse();
        assertThat(readable(child)).as("eventfd drained").isFalse();
        child.clear(); // clearing a clear child is harmless
        assertThat(child.signalled()).isFalse();

        parent.signal();
        assertThat(child.signalled()).isTrue();
        assertThat(readable(child)).isTrue();
        child.clear();
        assertThat(child.signalled()).as("the parent's signal cannot be cleared").isTrue();
        assertThat(readable(child)).isTrue();
    }

    @Test
    void aChildOfASignalledParentIsBornSignalled() throws Exception {
        Wakeup parent = root();
        parent.signal();
        Wakeup child = childOf(parent);
        assertThat(child.signalled()).isTrue();
        assertThat(readable(child)).isTrue();
    }

    @Test
    void onlyAChildCanBeCleared() throws Exception {
        Wakeup parent = root();
        assertThatThrownBy(parent::clear).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void pollerStopsForASignalledChildAndRunsAgainAfterClear() throws Exception {
        Wakeup parent = root();
        Wakeup child = childOf(parent);
        Poller poller = new Poller(readyFd(), child, arena);
        assertThat(poller.await(Linux.POLLIN, 1_000)).isTrue();
        child.signal();
        assertThat(poller.await(Linux.POLLIN, 1_000)).isFalse();
        child.clear();
        assertThat(poller.await(Linux.POLLIN, 1_000)).isTrue();
        parent.signal();
        assertThat(poller.await(Linux.POLLIN, 1_000)).isFalse();
        child.clear();
        assertThat(poller.await(Linux.POLLIN, 1_000)).as("still stopped: the parent was signalled").isFalse();
    }

    @Test
    void aPollerWaitingOnAChildIsReleasedByTheParent() throws Exception {
        Wakeup parent = root();
        Wakeup child = childOf(parent);
        // A pipe that never becomes readable: only the wake-up can end the wait.
        MemorySegment two = arena.allocate(JAVA_INT, 2);
        assertThat(Libc.pipe2(two, Linux.O_NONBLOCK | Linux.O_CLOEXEC)).isZero();
        int readEnd = two.getAtIndex(JAVA_INT, 0);
        int writeEnd = two.getAtIndex(JAVA_INT, 1);
        opened.add(() -> Libc.close(readEnd));
        opened.add(() -> Libc.close(writeEnd));
        Poller poller = new Poller(readEnd, child, arena);
        var result = new java.util.concurrent.CompletableFuture<Boolean>();
        Thread waiter = Thread.ofPlatform().start(() -> {
            try {
                result.complete(poller.await(Linux.POLLIN, -1));
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        parent.signal();
        assertThat(result.get(10, java.util.concurrent.TimeUnit.SECONDS)).isFalse();
        waiter.join();
    }

    @Test
    void closingTheParentLeavesChildrenOpenAndAClosedChildIsPassedBy() throws Exception {
        Wakeup parent = new Wakeup();
        Wakeup kept = childOf(parent);
        Wakeup gone = parent.child();
        gone.close();
        gone.close(); // idempotent
        parent.signal(); // must not write to the closed child's descriptor number
        assertThat(gone.signalled()).isFalse();
        parent.close();
        assertThat(Libc.fcntl(kept.fd(), Linux.F_GETFL, 0)).as("child's eventfd still open").isNotNegative();
        assertThat(kept.signalled()).isTrue();
        MemorySegment v = arena.allocate(JAVA_LONG);
        assertThat(Libc.read(kept.fd(), v, 8)).isEqualTo(8);
    }
}
