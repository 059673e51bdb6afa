package dev.patchcord.transport;

import dev.patchcord.sys.Libc;
import dev.patchcord.sys.Linux;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.EOFException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link StreamSocket} on loopback: no root, no namespace. */
@Timeout(30)
class StreamSocketTest {
    private final Arena arena = Arena.ofAuto();

    /** A listener on loopback and a connection to it, both ends. */
    private record Pair(StreamSocket listener, StreamSocket client, StreamSocket server) implements AutoCloseable {
        @Override
        public void close() {
            client.close();
            server.close();
            listener.close();
        }
    }

    private static Pair pair() throws Exception {
        StreamSocket listener = StreamSocket.listen(InetAddress.getLoopbackAddress(), 0);
        StreamSocket client = StreamSocket.connect(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.localPort()), 5_000);
        StreamSocket server = listener.accept(null);
        return new Pair(listener, client, server);
    }

    private MemorySegment bytes(String s) {
        return arena.allocateFrom(s).asSlice(0, s.length());
    }

    private String readString(StreamSocket s, int len) throws Exception {
        MemorySegment buf = arena.allocate(len);
        int got = 0;
        while (got < len) {
            got += s.read(buf, got, len - got, null);
        }
        return new String(buf.toArray(ValueLayout.JAVA_BYTE));
    }

    @Test
    void connectAcceptReadAndGatheringWrite() throws Exception {
        try (Pair p = pair()) {
            p.client().setNoDelay(true);
            assertThat(p.server().remote().getAddress().isLoopbackAddress()).isTrue();
            assertThat(p.client().remote().getPort()).isEqualTo(p.listener().localPort());
            MemorySegment a = bytes("hello, ");
            MemorySegment b = bytes("world");
            assertThat(p.client().write(a, 0, 7, b, 0, 5, -1)).isEqualTo(12);
            assertThat(readString(p.server(), 12)).isEqualTo("hello, world");
            p.server().writeFully(bytes("back"), 0, 4);
            assertThat(readString(p.client(), 4)).isEqualTo("back");
        }
    }

    @Test
    void aReadWithATimeOutGivesUpOnSilenceAndTakesWhatComesInTime() throws Exception {
        try (Pair p = pair()) {
            MemorySegment buf = arena.allocate(16);
            long start = System.nanoTime();
            assertThatThrownBy(() -> p.server().read(buf, 0, 16, null, 200))
                    .isInstanceOf(java.net.SocketTimeoutException.class);
            assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(200));
            p.client().writeFully(bytes("late"), 0, 4);
            int n = p.server().read(buf, 0, 16, null, 5_000);
            assertThat(new String(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE))).isEqualTo("late".substring(0, n));
        }
    }

    @Test
    void closeFromAnotherThreadWakesABlockedReader() throws Exception {
        try (Pair p = pair()) {
            CompletableFuture<Throwable> reader = CompletableFuture.supplyAsync(() -> {
                try {
                    p.server().read(arena.allocate(16), 0, 16, null);
                    return null;
                } catch (Throwable t) {
                    return t;
                }
            }, own());
            awaitBlocked(reader);
            p.server().close();
            assertThat(reader.get(10, TimeUnit.SECONDS)).isInstanceOf(EOFException.class);
            // The far end saw the shutdown.
            assertThatThrownBy(() -> p.client().read(arena.allocate(1), 0, 1, null)).isInstanceOf(EOFException.class);
        }
    }

    @Test
    void aWakeupStopsAReaderWithoutTouchingTheConnection() throws Exception {
        try (Pair p = pair(); Wakeup stop = new Wakeup()) {
            CompletableFuture<Integer> reader = CompletableFuture.supplyAsync(() -> {
                try {
                    return p.server().read(arena.allocate(16), 0, 16, stop);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, own());
            awaitBlocked(reader);
            stop.signal();
            assertThat(reader.get(10, TimeUnit.SECONDS)).isEqualTo(StreamSocket.STOPPED);
            // Nothing was consumed or shut down: the connection carries on both ways.
            p.client().writeFully(bytes("still"), 0, 5);
            assertThat(p.server().read(arena.allocate(16), 0, 16, stop)).as("a fired wake-up reads nothing")
                    .isEqualTo(StreamSocket.STOPPED);
            assertThat(readString(p.server(), 5)).isEqualTo("still");
            p.server().writeFully(bytes("here"), 0, 4);
            assertThat(readString(p.client(), 4)).isEqualTo("here");
        }
    }

    @Test
    void aDuplicatedDescriptorIsAdoptedAndOutlivesTheOriginalReleased() throws Exception {
        try (Pair p = pair()) {
            int copy = (int) SysException.check(Libc.dup(p.server().fd()), "dup");
            try (StreamSocket adopted = StreamSocket.adopt(copy)) {
                p.server().release(); // no shutdown: the connection lives on in the copy
                assertThat(p.server().closed()).isTrue();
                p.client().writeFully(bytes("to the copy"), 0, 11);
                assertThat(readString(adopted, 11)).isEqualTo("to the copy");
                adopted.writeFully(bytes("from it"), 0, 7);
                assertThat(readString(p.client(), 7)).isEqualTo("from it");
                assertThat(adopted.remote()).isNotNull();
            }
        }
    }

    @Test
    void anAdoptedListenerAccepts() throws Exception {
        try (StreamSocket listener = StreamSocket.listen(null, 0)) {
            int copy = (int) SysException.check(Libc.dup(listener.fd()), "dup");
            try (StreamSocket adopted = StreamSocket.adopt(copy);
                    StreamSocket client = StreamSocket.connect(
                            new InetSocketAddress(InetAddress.getByName("127.0.0.1"), listener.localPort()), 5_000);
                    StreamSocket server = adopted.accept(null)) {
                assertThat(server.remote().getAddress().getHostAddress()).as("IPv4 through the dual-stack listener")
                        .isEqualTo("127.0.0.1");
            }
        }
    }

    @Test
    void aWakeupStopsAnAccept() throws Exception {
        try (StreamSocket listener = StreamSocket.listen(InetAddress.getLoopbackAddress(), 0); Wakeup stop = new Wakeup()) {
            stop.signal();
            assertThat(listener.accept(stop)).isNull();
        }
    }

    @Test
    void refusedConnectionsAndNonSocketsAreClearErrors() throws Exception {
        int port;
        try (StreamSocket listener = StreamSocket.listen(InetAddress.getLoopbackAddress(), 0)) {
            port = listener.localPort();
        }
        assertThatThrownBy(() -> StreamSocket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5_000))
                .isInstanceOfSatisfying(SysException.class, e -> assertThat(e.errno()).isEqualTo(Linux.ECONNREFUSED));
        try (Wakeup notASocket = new Wakeup()) {
            assertThatThrownBy(() -> StreamSocket.adopt(notASocket.fd()))
                    .isInstanceOfSatisfying(SysException.class, e -> assertThat(e.errno()).isEqualTo(Linux.ENOTSOCK));
        }
        assertThatThrownBy(() -> StreamSocket.adopt(-1)).isInstanceOf(SysException.class);
    }

    /** Runs {@code task} on a platform thread of its own, which {@link #awaitBlocked} watches. */
    private volatile Thread readerThread;

    private java.util.concurrent.Executor own() {
        return r -> readerThread = Thread.ofPlatform().start(r);
    }

    /** Waits until the reader thread is inside poll(2), waiting for the socket. */
    private void awaitBlocked(CompletableFuture<?> reader) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < end && !reader.isDone()) {
            Thread t = readerThread;
            if (t != null && java.util.Arrays.stream(t.getStackTrace())
                    .anyMatch(f -> f.getClassName().equals(Libc.class.getName()) && f.getMethodName().equals("poll"))) {
                return;
            }
            Thread.sleep(1);
        }
        throw new AssertionError("the reader did not wait in poll");
    }
}
