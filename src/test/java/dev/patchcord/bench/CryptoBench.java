package dev.patchcord.bench;

import dev.patchcord.core.wg.DataCipher;
import dev.patchcord.core.wg.JdkPacketAead;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Outcome;
import dev.patchcord.core.wg.PacketAead;
import dev.patchcord.core.wg.Pair;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.sys.GcryptPacketAead;
import dev.patchcord.sys.OpenSslPacketAead;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

import javax.crypto.spec.SecretKeySpec;

/**
 * The data path's cipher work per packet, through the protocol core as the tunnel calls it: {@link #seal}
 * (counter, padding, header and ChaCha20-Poly1305, with the JDK's cipher or a native library's) and {@link #sealAndOpen} (the
 * same, then the receiving node's index lookup, decryption, replay window and source check), for
 * a full-size packet and a small one. Two in-memory nodes with an established session; no I/O.
 *
 * <p>Run (from the project directory, JDK 25):
 * <pre>
 * mvn -o -q -Pbench test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test
 * java -cp target/classes:target/test-classes:$(cat target/bench.classpath) org.openjdk.jmh.Main CryptoBench
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class CryptoBench {
    static final long SECOND = 1_000_000_000L;
    private static final long EPOCH = 1_700_000_000L * SECOND;

    /** IP packet size: the tunnel's MTU, and a small packet (a TCP ACK with options). */
    @Param({"1420", "64"})
    int size;

    private Node b;
    private Peer bAtA;
    /** Who does the ChaCha20-Poly1305: the JDK's JCA cipher, or OpenSSL's libcrypto or libgcrypt through FFM. */
    @Param({"jdk", "openssl", "gcrypt"})
    String engine;

    private DataCipher cipher;
    /** The engine alone, for {@link #aeadSeal}: what the protocol around it costs is the difference. */
    private PacketAead aead;
    private final SecretKeySpec key = new SecretKeySpec(new byte[32], "ChaCha20");
    private long counter;
    private final Outcome out = new Outcome();
    private final ByteBuffer buf = ByteBuffer.allocateDirect(2048);
    private final Node.Source source = () -> new byte[] {10, 0, 0, 1};
    private byte[] packet;
    private long now = 1_000 * SECOND;

    @Setup
    public void setUp() {
        Pair s = new Pair(null, Node.DEFAULT_LOAD_THRESHOLD, 1);
        s.now = now;
        s.handshake();
        b = s.b;
        bAtA = s.bAtA;
        packet = Pair.ipv4(1, 2, size - 20);
        aead = switch (engine) {
            case "jdk" -> new JdkPacketAead();
            case "openssl" -> new OpenSslPacketAead();
            default -> new GcryptPacketAead();
        };
        // The JDK's cipher refuses to seal twice with one key and nonce, as aeadSeal's would after a
        // wrap of its counter: the protocol's benchmarks get their own.
        cipher = new DataCipher(engine.equals("jdk") ? new JdkPacketAead() : aead);
    }

    @Benchmark
    public int seal() {
        buf.put(16, packet);
        return bAtA.seal(buf, 0, packet.length, now, cipher);
    }

    /** ChaCha20-Poly1305 of the packet in place, nothing else: the engine's own cost per packet. */
    @Benchmark
    public boolean aeadSeal() {
        return aead.seal(key, counter++, buf, 16, size);
    }

    @Benchmark
    public int sealAndOpen() {
        buf.put(16, packet);
        int n = bAtA.seal(buf, 0, packet.length, now, cipher);
        b.receive(buf, 0, n, source, now, EPOCH + now, cipher, out);
        if (out.kind() != Outcome.Kind.DELIVER) {
            throw new IllegalStateException("not delivered: " + out.drop());
        }
        return out.length();
    }
}
