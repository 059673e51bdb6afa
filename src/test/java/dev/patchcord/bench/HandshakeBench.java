package dev.patchcord.bench;

import dev.patchcord.core.wg.Curve25519;
import dev.patchcord.core.wg.JdkCurve25519;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Outcome;
import dev.patchcord.core.wg.Pair;
import dev.patchcord.core.wg.Protocol;
import dev.patchcord.core.wg.X25519;
import dev.patchcord.sys.NativeCurve25519;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Handshakes through the protocol core, with the X25519 of either engine ({@code engine}: the
 * JDK's XDH, or the native one the tunnel chooses under the {@code native} offload).
 *
 * <ul>
 *   <li>{@code handshake}: one complete Noise_IKpsk2 handshake, both sides' CPU together: the
 *       initiation (ephemeral key, two Diffie-Hellman operations, TAI64N, MAC1), the responder's
 *       check and response (four more), the initiator's check of the response, and the first
 *       transport message;
 *   <li>{@code respond}: the responder's part alone, what bounds how fast a hub takes back its
 *       clients: an initiation (made outside the measurement) checked and answered.
 * </ul>
 * Each measured handshake starts from two fresh nodes (made, with their keys, outside the
 * measurement), since a second handshake between the same nodes would be a replay.
 *
 * <p>Run (from the project directory, JDK 25):
 * <pre>
 * mvn -o -q -Pbench test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test
 * java -cp target/classes:target/test-classes:$(cat target/bench.classpath) org.openjdk.jmh.Main HandshakeBench
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class HandshakeBench {
    /** The X25519 engine both nodes use. */
    @State(Scope.Benchmark)
    public static class Engine {
        @Param({"jdk", "native"})
        public String engine;
        Curve25519 dh;

        @Setup(Level.Trial)
        public void choose() {
            dh = switch (engine) {
                case "jdk" -> JdkCurve25519.INSTANCE;
                case "native" -> NativeCurve25519.best().orElseThrow(() -> new IllegalStateException("no native X25519 here"));
                default -> throw new IllegalArgumentException("engine: jdk or native, not " + engine);
            };
        }
    }

    /** Two fresh nodes for each handshake. */
    @State(Scope.Thread)
    public static class Fresh {
        final SplittableRandom rng = new SplittableRandom(2);
        final byte[] keyA = X25519.generatePrivate(new SplittableRandom(3));
        final byte[] keyB = X25519.generatePrivate(new SplittableRandom(4));
        final ByteBuffer buf = ByteBuffer.allocateDirect(4096);
        Pair pair;

        @Setup(Level.Invocation)
        public void freshNodes(Engine e) {
            pair = new Pair(rng.split(), keyA, keyB, null, Node.DEFAULT_LOAD_THRESHOLD, buf, e.dh, e.dh);
        }
    }

    /** Two fresh nodes, and A's initiation to B, made outside the measurement. */
    @State(Scope.Thread)
    public static class Initiated extends Fresh {
        byte[] initiation;

        @Setup(Level.Invocation)
        public void initiate() {
            pair.seal(pair.bAtA, Pair.ipv4(1, 2, 100));
            initiation = pair.poll(pair.bAtA);
        }
    }

    @Benchmark
    public Object handshake(Fresh s) {
        s.pair.handshake();
        return s.pair.out;
    }

    @Benchmark
    public Object respond(Initiated s) {
        Pair pair = s.pair;
        pair.offer(pair.b, s.initiation);
        if (pair.kind() != Outcome.Kind.REPLY || pair.reply().length != Protocol.RESPONSE_SIZE) {
            throw new IllegalStateException("B did not answer: " + pair.kind() + " " + pair.drop());
        }
        return pair.out;
    }
}
