package dev.patchcord.transport;

import org.junit.jupiter.api.Test;

import java.io.DataInputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class TcpLinkTest {
    @Test
    void aPeerThatDoesNotReadCostsAtMostTheQueueBound() throws Exception {
        try (ServerSocketChannel server = ServerSocketChannel.open()) {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            try (StreamSocket client = StreamSocket.connect((InetSocketAddress) server.getLocalAddress(), 5_000);
                    SocketChannel stalled = server.accept()) {
                TcpLink link = new TcpLink(client);
                byte[] big = new byte[TcpLink.MAX_MESSAGE];
                int accepted = 0, refused = 0;
                // Enough to fill the socket buffers (a few MiB on loopback) and then the queue.
                for (int i = 0; i < 2_000; i++) {
                    if (link.send(big)) {
                        accepted++;
                    } else {
                        refused++;
                    }
                    assertThat(link.queuedBytes()).isLessThanOrEqualTo(TcpLink.QUEUE_BYTES);
                }
                assertThat(refused).as("messages refused once the queue is full").isPositive();
                assertThat(accepted).isPositive();
                assertThat(stalled.isOpen()).isTrue();
                link.close();
            }
        }
    }

    /** A message whose bytes say who sent it and which it is: sender, sequence, then a pattern. */
    private static void fill(MemorySegment seg, long off, int len, int sender, int seq) {
        seg.set(ValueLayout.JAVA_BYTE, off, (byte) 4);
        seg.set(ValueLayout.JAVA_BYTE, off + 1, (byte) sender);
        seg.set(ValueLayout.JAVA_INT_UNALIGNED, off + 4, seq);
        for (int i = 8; i < len; i++) {
            seg.set(ValueLayout.JAVA_BYTE, off + i, (byte) (sender + seq + i));
        }
    }

    private static void check(byte[] m, int sender, int seq) {
        assertThat(m[0]).isEqualTo((byte) 4);
        assertThat(m[1]).isEqualTo((byte) sender);
        assertThat(java.nio.ByteBuffer.wrap(m, 4, 4).order(java.nio.ByteOrder.nativeOrder()).getInt()).isEqualTo(seq);
        for (int i = 8; i < m.length; i++) {
            if (m[i] != (byte) (sender + seq + i)) {
                throw new AssertionError("message " + seq + " of sender " + sender + " is corrupt at byte " + i);
            }
        }
    }

    private static boolean await(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < end) {
            if (condition.getAsBoolean()) {
                return true;
            }
            Thread.sleep(1);
        }
        return false;
    }

    @Test
    void aBatchQueuedTogetherLeavesInOneWriteAndArrivesIntact() throws Exception {
        try (ServerSocketChannel server = ServerSocketChannel.open()) {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            try (StreamSocket client = StreamSocket.connect((InetSocketAddress) server.getLocalAddress(), 5_000);
                    SocketChannel far = server.accept(); Arena arena = Arena.ofConfined()) {
                TcpLink link = new TcpLink(client);
                int count = 200;
                int stride = 1500;
                MemorySegment batch = arena.allocate((long) count * stride);
                for (int k = 0; k < count; k++) {
                    fill(batch, (long) k * stride, 100 + k * 7, 0, k);
                }
                assertThat(await(link::idle)).as("the writer waits").isTrue();
                long before = link.writes();
                for (int k = 0; k < count; k++) {
                    assertThat(link.send(batch, (long) k * stride, 100 + k * 7, k + 1 < count)).isTrue();
                }
                DataInputStream in = new DataInputStream(Channels.newInputStream(far));
                for (int k = 0; k < count; k++) {
                    byte[] m = new byte[in.readUnsignedShort()];
                    assertThat(m.length).isEqualTo(100 + k * 7);
                    in.readFully(m);
                    check(m, 0, k);
                }
                // The writer counts a write once the call returns, which may be after the bytes arrived.
                assertThat(await(() -> link.queuedBytes() == 0)).isTrue();
                // One write, or two if the writer's idle timeout came in the middle of the batch
                // (and more if the socket took the batch in parts, which loopback's buffer does not need).
                assertThat(link.writes() - before).isBetween(1L, 2L);
                link.close();
            }
        }
    }

    @Test
    void messagesFromSeveralThreadsNeverInterleaveAndWrapTheRingIntact() throws Exception {
        try (ServerSocketChannel server = ServerSocketChannel.open()) {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            try (StreamSocket client = StreamSocket.connect((InetSocketAddress) server.getLocalAddress(), 5_000);
                    SocketChannel far = server.accept()) {
                TcpLink link = new TcpLink(client);
                int senders = 4;
                int each = 3000; // 4 x 3000 x ~1 KB: the 512 KiB ring wraps many times
                List<Thread> threads = new ArrayList<>();
                int[] sent = new int[senders];
                for (int s = 0; s < senders; s++) {
                    int sender = s;
                    threads.add(Thread.ofPlatform().start(() -> {
                        try (Arena arena = Arena.ofConfined()) {
                            MemorySegment seg = arena.allocate(2000);
                            int seq = 0;
                            for (int i = 0; i < each; i++) {
                                int len = 33 + (i * 37 + sender * 101) % 1900; // odd lengths: prefixes wrap too
                                fill(seg, 0, len, sender, seq);
                                // A full ring refuses (as for a slow peer): wait for room (the reader
                                // is slower than the senders under load), a bounded time.
                                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                                boolean queued;
                                while (!(queued = link.send(seg, 0, len, (i & 7) != 7)) && System.nanoTime() < end) {
                                    link.send(seg, 0, 0, false); // refused (empty), but wakes the writer
                                    Thread.yield();
                                }
                                if (queued) {
                                    seq++;
                                }
                            }
                            link.send(seg, 0, 0, false); // refused (empty), but wakes the writer for the tail
                            sent[sender] = seq;
                        }
                    }));
                }
                int[] next = new int[senders];
                DataInputStream in = new DataInputStream(Channels.newInputStream(far));
                for (Thread t : threads) {
                    while (t.isAlive()) {
                        readSome(in, next, link);
                    }
                }
                while (java.util.Arrays.stream(next).sum() < java.util.Arrays.stream(sent).sum()) {
                    readOne(in, next);
                }
                assertThat(next).isEqualTo(sent);
                assertThat(sent).containsOnly(each);
                link.close();
            }
        }
    }

    private static void readSome(DataInputStream in, int[] next, TcpLink link) throws Exception {
        if (link.queuedBytes() > 0 || in.available() > 0) {
            readOne(in, next);
        } else {
            Thread.sleep(1);
        }
    }

    private static void readOne(DataInputStream in, int[] next) throws Exception {
        byte[] m = new byte[in.readUnsignedShort()];
        in.readFully(m);
        int sender = m[1];
        check(m, sender, next[sender]++);
    }

    @Test
    void aSuspendedLinksUnsentBytesAreWrittenFirstByItsSuccessor() throws Exception {
        try (ServerSocketChannel server = ServerSocketChannel.open()) {
            // Small socket buffers, so that most of a full ring is still in it at the suspension.
            server.setOption(java.net.StandardSocketOptions.SO_RCVBUF, 4096);
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            try (StreamSocket client = StreamSocket.connect((InetSocketAddress) server.getLocalAddress(), 5_000);
                    SocketChannel far = server.accept(); Arena arena = Arena.ofConfined()) {
                dev.patchcord.sys.Libc.setsockopt(client.fd(), dev.patchcord.sys.Linux.SOL_SOCKET,
                        dev.patchcord.sys.Linux.SO_SNDBUF, arena.allocateFrom(java.lang.foreign.ValueLayout.JAVA_INT, 4096), 4);
                TcpLink link = new TcpLink(client);
                MemorySegment seg = arena.allocate(TcpLink.MAX_MESSAGE);
                int queued = 0;
                // The far end does not read: the socket buffers fill, then the ring.
                while (true) {
                    fill(seg, 0, 1000 + queued % 3000, 0, queued);
                    if (!link.send(seg, 0, 1000 + queued % 3000, false)) {
                        break;
                    }
                    queued++;
                }
                byte[] unsent = link.suspend(System.nanoTime() + 50_000_000L);
                assertThat(unsent).as("what the socket did not take").isNotEmpty();
                assertThat(link.send(seg, 0, 100, false)).as("refused while suspended").isFalse();
                int copy = dev.patchcord.sys.Libc.dup(client.fd());
                link.abandon();
                TcpLink next = new TcpLink(StreamSocket.adopt(copy), "far", unsent);
                DataInputStream in = new DataInputStream(Channels.newInputStream(far));
                for (int k = 0; k < queued; k++) {
                    byte[] m = new byte[in.readUnsignedShort()];
                    in.readFully(m);
                    check(m, 0, k);
                }
                for (int k = queued; k < queued + 10; k++) { // after the handed-on bytes, as one stream
                    fill(seg, 0, 200, 0, k);
                    assertThat(next.send(seg, 0, 200, false)).isTrue();
                }
                for (int k = queued; k < queued + 10; k++) {
                    byte[] m = new byte[in.readUnsignedShort()];
                    in.readFully(m);
                    check(m, 0, k);
                }
                next.close();
            }
        }
    }
}
