package dev.patchcord.transport;

import dev.patchcord.core.wg.Protocol;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class TcpFramesTest {
    /** A WireGuard-looking message: type, three zero bytes, then a pattern from {@code seed}. */
    private static byte[] message(int type, int len, int seed) {
        byte[] m = new byte[len];
        m[0] = (byte) type;
        for (int i = 4; i < len; i++) {
            m[i] = (byte) (seed * 31 + i);
        }
        return m;
    }

    private static byte[] framed(byte[]... messages) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] m : messages) {
            out.write(m.length >>> 8);
            out.write(m.length);
            out.writeBytes(m);
        }
        return out.toByteArray();
    }

    /**
     * Feeds {@code stream} to a reader that reads at most {@code step} bytes at a time (steps
     * chosen by {@code cuts}), scanning and keeping partial frames as TcpTransport's reader does.
     *
     * @return the messages found, or null if the stream was found bad
     */
    private static List<byte[]> read(byte[] stream, int[] cuts) {
        return read(stream, cuts, true);
    }

    /** @param whole the stream ends at the end of a frame */
    private static List<byte[]> read(byte[] stream, int[] cuts, boolean whole) {
        List<byte[]> found = new ArrayList<>();
        TcpFrames frames = new TcpFrames(TcpLink.MAX_MESSAGE);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment chunk = arena.allocate(TcpTransport.CHUNK);
            int filled = 0;
            int fed = 0;
            int c = 0;
            while (fed < stream.length) {
                int n = Math.min(Math.min(cuts[c++ % cuts.length], stream.length - fed), TcpTransport.CHUNK - filled);
                MemorySegment.copy(stream, fed, chunk, ValueLayout.JAVA_BYTE, filled, n);
                fed += n;
                filled += n;
                int start = 0;
                while (true) {
                    int next = frames.scan(chunk, start, filled);
                    if (next == TcpFrames.BAD) {
                        return null;
                    }
                    if (frames.count() == 0) {
                        break;
                    }
                    for (int i = 0; i < frames.count(); i++) {
                        found.add(chunk.asSlice(frames.offset(i), frames.length(i)).toArray(ValueLayout.JAVA_BYTE));
                    }
                    start = next;
                }
                MemorySegment.copy(chunk, start, chunk, 0, filled - start);
                filled -= start;
            }
            if (whole) {
                assertThat(filled).as("bytes of a partial frame left at the end").isZero();
            }
        }
        return found;
    }

    @Test
    void aStreamCutAtEveryByteGivesTheSameMessages() {
        byte[][] messages = {
                message(Protocol.MESSAGE_INITIATION, Protocol.INITIATION_SIZE, 1),
                message(Protocol.MESSAGE_RESPONSE, Protocol.RESPONSE_SIZE, 2),
                message(Protocol.MESSAGE_TRANSPORT, 32, 3),
                message(Protocol.MESSAGE_TRANSPORT, 1452, 4),
                message(Protocol.MESSAGE_COOKIE_REPLY, Protocol.COOKIE_REPLY_SIZE, 5),
                message(Protocol.MESSAGE_TRANSPORT, 700, 6),
        };
        byte[] stream = framed(messages);
        for (int cut = 1; cut < stream.length; cut++) {
            // Two reads: the stream split at every byte, the length prefix included.
            List<byte[]> found = read(stream, new int[] {cut, stream.length});
            assertThat(found).as("split at " + cut).isNotNull();
            assertThat(found).as("split at " + cut).hasSize(messages.length);
            for (int i = 0; i < messages.length; i++) {
                assertThat(found.get(i)).isEqualTo(messages[i]);
            }
        }
        // And one byte per read.
        assertThat(read(stream, new int[] {1})).hasSize(messages.length);
    }

    @Test
    void manyFramesInOneReadAreAllFoundInOrderBeyondOneScansWorth() {
        Random r = new Random(7);
        byte[][] messages = new byte[1000][];
        for (int i = 0; i < messages.length; i++) {
            messages[i] = message(Protocol.MESSAGE_TRANSPORT, 32 + r.nextInt(1500), i);
        }
        byte[] stream = framed(messages);
        for (int[] cuts : new int[][] {{TcpTransport.CHUNK}, {65536}, {1}, {3, 1000, 7, 65537}}) {
            List<byte[]> found = read(stream, cuts);
            assertThat(found).hasSize(messages.length);
            for (int i = 0; i < messages.length; i++) {
                assertThat(found.get(i)).as("message " + i + " with reads of " + Arrays.toString(cuts)).isEqualTo(messages[i]);
            }
        }
    }

    @Test
    void theLongestFrameFitsAfterAPartialOne() {
        byte[][] messages = {message(4, 1000, 1), message(4, TcpLink.MAX_MESSAGE, 2), message(4, TcpLink.MAX_MESSAGE, 3),
                message(4, 40, 4)};
        assertThat(read(framed(messages), new int[] {500, 65536, 65536, 70000})).hasSize(4);
    }

    @Test
    void aZeroLengthIsBad() {
        byte[] stream = framed(message(4, 100, 1));
        byte[] bad = Arrays.copyOf(stream, stream.length + 2); // a frame of length 0 after a good one
        assertThat(read(bad, new int[] {bad.length})).isNull();
    }

    @Test
    void aLengthTooShortForAnyMessageIsBad() {
        assertThat(read(framed(message(4, TcpFrames.MIN_MESSAGE - 1, 1)), new int[] {1 << 20})).isNull();
    }

    @Test
    void aLengthOverTheReadersLimitIsBadBeforeItsBytesArrive() {
        TcpFrames frames = new TcpFrames(2000);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(16);
            buf.set(ValueLayout.JAVA_BYTE, 0, (byte) 0x0f); // 4000
            buf.set(ValueLayout.JAVA_BYTE, 1, (byte) 0xa0);
            assertThat(frames.scan(buf, 0, 2)).isEqualTo(TcpFrames.BAD);
            buf.set(ValueLayout.JAVA_BYTE, 0, (byte) 0x07); // 2000: fine, and waits for its bytes
            buf.set(ValueLayout.JAVA_BYTE, 1, (byte) 0xd0);
            buf.set(ValueLayout.JAVA_BYTE, 2, (byte) 4);
            assertThat(frames.scan(buf, 0, 6)).isZero();
            assertThat(frames.count()).isZero();
        }
    }

    @Test
    void garbageIsBadAsSoonAsItsTypeIsSeen() {
        byte[] good = framed(message(4, 64, 1));
        for (byte[] garbage : new byte[][] {
                {0x00, 0x40, 0x05, 0, 0, 0}, // type 5
                {0x00, 0x40, 0x00, 0, 0, 0}, // type 0
                {0x00, 0x40, 0x04, 0, 1, 0}, // reserved byte set
                "GET / HTTP/1.1\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII)}) {
            byte[] stream = Arrays.copyOf(good, good.length + garbage.length);
            System.arraycopy(garbage, 0, stream, good.length, garbage.length);
            assertThat(read(stream, new int[] {stream.length})).as(Arrays.toString(garbage)).isNull();
        }
        Random r = new Random(1);
        for (int i = 0; i < 1000; i++) {
            byte[] noise = new byte[1 + r.nextInt(4000)];
            r.nextBytes(noise);
            List<byte[]> found = read(noise, new int[] {1 + r.nextInt(noise.length)}, false);
            // Random bytes are almost always found bad; whatever passes is whole, well-typed messages.
            if (found != null) {
                for (byte[] m : found) {
                    assertThat(m.length).isBetween(TcpFrames.MIN_MESSAGE, TcpLink.MAX_MESSAGE);
                    assertThat(m[0]).isBetween((byte) 1, (byte) 4);
                }
            }
        }
    }
}
