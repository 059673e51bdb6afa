package dev.patchcord.bench;

import dev.patchcord.core.Checksum;
import dev.patchcord.core.offload.GroCoalescer;
import dev.patchcord.core.offload.TsoSplitter;
import dev.patchcord.core.offload.VirtioNetHdr;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;

/**
 * The TUN offload work per 64 KiB: cutting one TCPv4 super-packet of 45 × 1400 bytes of payload
 * into segments ({@link #split}), merging those 45 segments back into one ({@link #coalesce}), and
 * the Internet checksum over the same 63,000 bytes ({@link #checksum}), the floor under both.
 * Buffers are direct and native-order, as the tunnel's FFM-allocated ones are.
 *
 * <p>Run (from the project directory, JDK 25):
 * <pre>
 * mvn -o -q -Pbench test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test
 * java -cp target/classes:target/test-classes:$(cat target/bench.classpath) org.openjdk.jmh.Main OffloadBench
 * </pre>
 * Add e.g. {@code -f 1 -wi 3 -i 5 -w 1s -r 1s} for a shorter run.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class OffloadBench {
    private static final int MSS = 1400;
    private static final int SEGMENTS = 45;
    private static final int HEADERS = 40;
    /** Room in front of every packet for the WireGuard data header. */
    private static final int HEADROOM = 16;
    private static final int SLOT = 65536 + 64;

    private ByteBuffer superPacket;
    private int superLength;
    private ByteBuffer[] out;
    private final int[] lengths = new int[64];

    private ByteBuffer[] segments;
    private int[] segmentLengths;
    private ByteBuffer firstSegment;
    private final GroCoalescer gro = new GroCoalescer(128);

    private static ByteBuffer direct(int size) {
        return ByteBuffer.allocateDirect(size).order(ByteOrder.nativeOrder());
    }

    @Setup
    public void setUp() {
        int ipLen = HEADERS + SEGMENTS * MSS;
        superLength = VirtioNetHdr.SIZE + ipLen;
        superPacket = direct(superLength).order(ByteOrder.BIG_ENDIAN);
        ByteBuffer b = superPacket;
        VirtioNetHdr.write(b, 0, VirtioNetHdr.NEEDS_CSUM, VirtioNetHdr.GSO_TCPV4, HEADERS, MSS, 20, 16);
        int ip = VirtioNetHdr.SIZE;
        b.put(ip, (byte) 0x45);
        b.putShort(ip + 2, (short) ipLen);
        b.putShort(ip + 4, (short) 0x1234);
        b.putShort(ip + 6, (short) 0x4000);
        b.put(ip + 8, (byte) 64);
        b.put(ip + 9, (byte) 6);
        b.putInt(ip + 12, 0x0a000001);
        b.putInt(ip + 16, 0x0a000002);
        Checksum.writeIpv4Header(b, ip);
        int tcp = ip + 20;
        b.putShort(tcp, (short) 40000);
        b.putShort(tcp + 2, (short) 5201);
        b.putInt(tcp + 4, 123_456_789);
        b.putInt(tcp + 8, 77);
        b.put(tcp + 12, (byte) 0x50);
        b.put(tcp + 13, (byte) 0x10);
        b.putShort(tcp + 14, (short) 501);
        for (int i = tcp + 20; i < superLength; i++) {
            b.put(i, (byte) (i * 31 + 7));
        }
        b.order(ByteOrder.nativeOrder());
        // What the kernel leaves in the checksum field: the pseudo-header sum.
        int pseudo = Checksum.pseudoHeaderV4(b, ip, 6, ipLen - 20);
        b.put(tcp + 16, (byte) (pseudo >>> 8));
        b.put(tcp + 17, (byte) pseudo);

        out = new ByteBuffer[64];
        segments = new ByteBuffer[64];
        for (int i = 0; i < out.length; i++) {
            out[i] = direct(SLOT);
            segments[i] = direct(SLOT);
        }
        int n = TsoSplitter.split(superPacket, 0, superLength, segments, HEADROOM, lengths);
        if (n != SEGMENTS) {
            throw new IllegalStateException("split gave " + n);
        }
        segmentLengths = lengths.clone();
        firstSegment = direct(segmentLengths[0]);
        firstSegment.put(0, segments[0], HEADROOM, segmentLengths[0]);
        if (coalesce() != 1 || gro.segments(0) != SEGMENTS) {
            throw new IllegalStateException("coalescing did not merge all segments");
        }
    }

    @Benchmark
    public int split() {
        return TsoSplitter.split(superPacket, 0, superLength, out, HEADROOM, lengths);
    }

    /** Includes restoring the first segment's 1440 bytes, which the previous merge rewrote. */
    @Benchmark
    public int coalesce() {
        segments[0].put(HEADROOM, firstSegment, 0, segmentLengths[0]);
        for (int i = 0; i < SEGMENTS; i++) {
            gro.add(segments[i], HEADROOM, segmentLengths[i]);
        }
        return gro.flush();
    }

    @Benchmark
    public int checksum() {
        return Checksum.sum(superPacket, VirtioNetHdr.SIZE + HEADERS, SEGMENTS * MSS, 0);
    }
}
