package dev.patchcord.sys;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Framed messages and descriptors over a unix socket between two ends in this process (no root needed). */
@Timeout(60)
class UnixSocketTest {
    @TempDir
    Path dir;

    private final List<UnixSocket> sockets = new ArrayList<>();
    private final List<Integer> fds = new ArrayList<>();
    private final Arena arena = Arena.ofAuto();

    @AfterEach
    void closeEverything() {
        sockets.reversed().forEach(UnixSocket::close);
        fds.forEach(Libc::close);
    }

    private UnixSocket keep(UnixSocket s) {
        if (s != null) {
            sockets.add(s);
        }
        return s;
    }

    private int keep(int fd) {
        assertThat(fd).as("a descriptor").isNotNegative();
        fds.add(fd);
        return fd;
    }

    /** A listener, a client connected to it, and the accepted end: {client, server}. */
    private UnixSocket[] pair() throws SysException {
        return pair("s");
    }

    private UnixSocket[] pair(String name) throws SysException {
        UnixSocket listener = keep(UnixSocket.listen(dir.resolve(name)));
        UnixSocket client = keep(UnixSocket.connect(dir.resolve(name)));
        UnixSocket server = keep(listener.accept(5_000));
        assertThat(server).isNotNull();
        return new UnixSocket[] {client, server};
    }

    /** A non-blocking pipe: {read end, write end}. */
    private int[] pipe() {
        MemorySegment two = arena.allocate(JAVA_INT, 2);
        assertThat(Libc.pipe2(two, Linux.O_NONBLOCK | Linux.O_CLOEXEC)).isZero();
        return new int[] {keep(two.getAtIndex(JAVA_INT, 0)), keep(two.getAtIndex(JAVA_INT, 1))};
    }

    private void writeLong(int fd, long value) {
        MemorySegment v = arena.allocate(JAVA_LONG);
        v.set(JAVA_LONG, 0, value);
        assertThat(Libc.write(fd, v, 8)).isEqualTo(8);
    }

    private long readLong(int fd) {
        MemorySegment v = arena.allocate(JAVA_LONG);
        assertThat(Libc.read(fd, v, 8)).isEqualTo(8);
        return v.get(JAVA_LONG, 0);
    }

    /** Writes bytes (each int's low byte) straight to the socket, past the framing. */
    private void writeRaw(UnixSocket s, int... bytes) {
        MemorySegment b = arena.allocate(bytes.length);
        for (int k = 0; k < bytes.length; k++) {
            b.set(JAVA_BYTE, k, (byte) bytes[k]);
        }
        assertThat(Libc.write(s.fd(), b, bytes.length)).isEqualTo(bytes.length);
    }

    @Test
    void messagesGoBothWaysInOrder() throws Exception {
        UnixSocket[] p = pair();
        p[0].send("hello".getBytes(), new int[0]);
        p[0].send(new byte[0], new int[0]);
        p[1].send("back".getBytes(), new int[0]);
        UnixSocket.Message m = p[1].receive(5_000);
        assertThat(new String(m.data())).isEqualTo("hello");
        assertThat(m.fds()).isEmpty();
        assertThat(p[1].receive(5_000).data()).isEmpty();
        assertThat(new String(p[0].receive(5_000).data())).isEqualTo("back");
    }

    @Test
    void descriptorsArriveOpenAndWorkInTheReceiver() throws Exception {
        UnixSocket[] p = pair();
        int[] pipe = pipe();
        int event = keep(Libc.eventfd(0, Linux.EFD_NONBLOCK | Linux.EFD_CLOEXEC));
        p[0].send("fds".getBytes(), new int[] {pipe[0], pipe[1], event});
        UnixSocket.Message m = p[1].receive(5_000);
        for (int fd : m.fds()) {
            keep(fd);
            assertThat(Libc.fcntl(fd, Linux.F_GETFD, 0) & Linux.FD_CLOEXEC).as("close-on-exec").isNotZero();
        }
        assertThat(m.fds()).hasSize(3).doesNotContain(pipe[0], pipe[1], event);
        // The received write end feeds the original read end, and the other way round.
        writeLong(m.fds()[1], 0x1122334455667788L);
        assertThat(readLong(pipe[0])).isEqualTo(0x1122334455667788L);
        writeLong(pipe[1], 42);
        assertThat(readLong(m.fds()[0])).isEqualTo(42);
        // Both descriptors name the one eventfd.
        writeLong(m.fds()[2], 5);
        assertThat(readLong(event)).isEqualTo(5);
    }

    @Test
    void eachMessageGetsItsOwnDescriptors() throws Exception {
        UnixSocket[] p = pair();
        int[] first = pipe();
        int[] second = pipe();
        p[0].send("one".getBytes(), new int[] {first[1]});
        p[0].send("two".getBytes(), new int[] {second[1], second[1]});
        p[0].send("three".getBytes(), new int[0]);
        UnixSocket.Message one = p[1].receive(5_000);
        UnixSocket.Message two = p[1].receive(5_000);
        UnixSocket.Message three = p[1].receive(5_000);
        Arrays.stream(one.fds()).forEach(this::keep);
        Arrays.stream(two.fds()).forEach(this::keep);
        assertThat(one.fds()).hasSize(1);
        assertThat(two.fds()).hasSize(2);
        assertThat(three.fds()).isEmpty();
        writeLong(one.fds()[0], 1);
        writeLong(two.fds()[1], 2);
        assertThat(readLong(first[0])).isEqualTo(1);
        assertThat(readLong(second[0])).isEqualTo(2);
    }

    @Test
    void asManyDescriptorsAsAllowedPassButNoMore() throws Exception {
        UnixSocket[] p = pair();
        int event = keep(Libc.eventfd(0, Linux.EFD_NONBLOCK | Linux.EFD_CLOEXEC));
        int[] many = new int[UnixSocket.MAX_FDS];
        Arrays.fill(many, event);
        p[0].send(new byte[] {1}, many);
        UnixSocket.Message m = p[1].receive(5_000);
        Arrays.stream(m.fds()).forEach(this::keep);
        assertThat(m.fds()).hasSize(UnixSocket.MAX_FDS);

        int[] tooMany = new int[UnixSocket.MAX_FDS + 1];
        Arrays.fill(tooMany, event);
        assertThatThrownBy(() -> p[0].send(new byte[] {1}, tooMany))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at most " + UnixSocket.MAX_FDS);
    }

    @Test
    void aMessageOfSeveralMegabytesRoundTrips() throws Exception {
        UnixSocket[] p = pair();
        byte[] big = new byte[6 << 20];
        new Random(19).nextBytes(big);
        int event = keep(Libc.eventfd(0, Linux.EFD_NONBLOCK | Linux.EFD_CLOEXEC));
        // Far more than the socket buffer: the sender blocks until the receiver reads.
        CompletableFuture<Void> sent = new CompletableFuture<>();
        Thread sender = Thread.ofPlatform().name("unix-sender").start(() -> {
            try {
                p[0].send(big, new int[] {event});
                sent.complete(null);
            } catch (Throwable t) {
                sent.completeExceptionally(t);
            }
        });
        UnixSocket.Message m = p[1].receive(30_000);
        sent.get(30, TimeUnit.SECONDS);
        sender.join();
        Arrays.stream(m.fds()).forEach(this::keep);
        assertThat(m.fds()).hasSize(1);
        assertThat(m.data()).isEqualTo(big);
    }

    @Test
    void peerCredentialsAreThisProcess() throws Exception {
        UnixSocket[] p = pair();
        UnixSocket.Credentials expected = new UnixSocket.Credentials(
                (int) ProcessHandle.current().pid(), Libc.getuid(), Libc.getgid());
        assertThat(p[1].peerCredentials()).isEqualTo(expected);
        assertThat(p[0].peerCredentials()).isEqualTo(expected);
    }

    @Test
    void theSocketFileIsTheOwnersAloneAndGoesWithTheListener() throws Exception {
        Path path = dir.resolve("private.sock");
        UnixSocket listener = keep(UnixSocket.listen(path));
        assertThat(Files.getPosixFilePermissions(path))
                .isEqualTo(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE));
        listener.close();
        listener.close();
        assertThat(path).doesNotExist();
    }

    @Test
    void anExistingPathIsNeverReplaced() throws Exception {
        Path path = dir.resolve("taken");
        Files.writeString(path, "mine");
        assertThatThrownBy(() -> UnixSocket.listen(path))
                .isInstanceOfSatisfying(SysException.class, e -> assertThat(e.errno()).isEqualTo(Linux.EADDRINUSE))
                .hasMessageContaining(path.toString());
        assertThat(Files.readString(path)).isEqualTo("mine");
    }

    @Test
    void connectingToNothingAndOverlongPathsFailClearly() {
        assertThatThrownBy(() -> UnixSocket.connect(dir.resolve("absent")))
                .isInstanceOfSatisfying(SysException.class, e -> assertThat(e.errno()).isEqualTo(Linux.ENOENT));
        Path tooLong = dir.resolve("x".repeat(120));
        assertThatThrownBy(() -> UnixSocket.listen(tooLong))
                .isInstanceOfSatisfying(SysException.class, e -> assertThat(e.errno()).isEqualTo(Linux.ENAMETOOLONG));
    }

    @Test
    void acceptAndReceiveGiveUpAtTheirTimeout() throws Exception {
        UnixSocket listener = keep(UnixSocket.listen(dir.resolve("idle")));
        long start = System.nanoTime();
        assertThat(listener.accept(50)).isNull();
        assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(50));
        UnixSocket client = keep(UnixSocket.connect(dir.resolve("idle")));
        UnixSocket server = keep(listener.accept(0));
        assertThat(server).as("a pending connection is taken even with no time to wait").isNotNull();
        assertThatThrownBy(() -> server.receive(50))
                .isInstanceOfSatisfying(SysException.class, e -> assertThat(e.errno()).isEqualTo(Linux.ETIMEDOUT));
        // Half a message is no message either.
        writeRaw(client, 0, 0, 0, 9, 'a');
        assertThatThrownBy(() -> server.receive(50))
                .isInstanceOfSatisfying(SysException.class, e -> assertThat(e.errno()).isEqualTo(Linux.ETIMEDOUT));
    }

    @Test
    void endOfStreamBeforeOrInsideAMessageIsAnError() throws Exception {
        UnixSocket[] p = pair();
        p[0].close();
        assertThatThrownBy(() -> p[1].receive(5_000)).hasMessageContaining("before a message");

        UnixSocket[] q = pair("inside-header");
        writeRaw(q[0], 0, 0);
        q[0].close();
        assertThatThrownBy(() -> q[1].receive(5_000)).hasMessageContaining("middle of a message (2 of 4 bytes of its header)");

        UnixSocket[] r = pair("inside-body");
        writeRaw(r[0], 0, 0, 0, 10, 'a', 'b', 'c');
        r[0].close();
        assertThatThrownBy(() -> r[1].receive(5_000))
                .isInstanceOfSatisfying(SysException.class, e -> assertThat(e.errno()).isEqualTo(Linux.ECONNRESET))
                .hasMessageContaining("3 of 10 bytes of its body");
    }

    @Test
    void descriptorsOfAFailedMessageAreClosed() throws Exception {
        UnixSocket[] p = pair();
        int[] pipe = pipe();
        // A header that announces 100 bytes, with the pipe's write end, then the end of the stream.
        MemorySegment frame = arena.allocate(4);
        frame.set(JAVA_INT.withOrder(java.nio.ByteOrder.BIG_ENDIAN), 0, 100);
        MemorySegment iov = arena.allocate(16, 8);
        iov.set(JAVA_LONG, 0, frame.address());
        iov.set(JAVA_LONG, 8, 4);
        MemorySegment control = arena.allocate(24, 8);
        control.set(JAVA_LONG, 0, 20);
        control.set(JAVA_INT, 8, Linux.SOL_SOCKET);
        control.set(JAVA_INT, 12, Linux.SCM_RIGHTS);
        control.set(JAVA_INT, 16, pipe[1]);
        MemorySegment msg = arena.allocate(56, 8);
        msg.set(JAVA_LONG, 16, iov.address());
        msg.set(JAVA_LONG, 24, 1);
        msg.set(JAVA_LONG, 32, control.address());
        msg.set(JAVA_LONG, 40, 24);
        assertThat(Libc.sendmsgAt(p[0].fd(), msg.address(), 0)).isEqualTo(4);
        p[0].close();
        Libc.close(pipe[1]);
        fds.remove((Integer) pipe[1]);

        assertThatThrownBy(() -> p[1].receive(5_000)).hasMessageContaining("0 of 100 bytes");
        // Only the receiver's copy of the write end was left: closed with the failure, the pipe ends.
        MemorySegment b = arena.allocate(1);
        assertThat(Libc.read(pipe[0], b, 1)).as("end of file, not EAGAIN").isZero();
    }

    @Test
    void anOversizedLengthIsRefusedBeforeAnyAllocation() throws Exception {
        UnixSocket[] p = pair();
        writeRaw(p[0], 0x04, 0, 0, 1); // 64 MiB + 1
        assertThatThrownBy(() -> p[1].receive(5_000))
                .isInstanceOfSatisfying(SysException.class, e -> assertThat(e.errno()).isEqualTo(Linux.EMSGSIZE));
        UnixSocket[] q = pair("negative");
        writeRaw(q[0], 0xff, 0xff, 0xff, 0xff);
        assertThatThrownBy(() -> q[1].receive(5_000)).hasMessageContaining("4294967295 bytes");
    }
}
