package dev.patchcord.bench;

import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Pair;
import dev.patchcord.core.wg.X25519;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * One complete Noise_IKpsk2 handshake through the protocol core, both sides' CPU together: the
 * initiation (ephemeral key, two Diffie-Hellman operations, TAI64N, MAC1), the responder's check
 * and response (four more), the initiator's check of the response, and the first transport
 * message. Each measured handshake starts from two fresh nodes (made, with their keys, outside
 * the measurement), since a second handshake between the same nodes would be a replay.
 *
 * <p>Run (from the project directory, JDK 25):
 * <pre>
 * mvn -o -q -Pbench test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test
 * java -cp target/classes:target/test-classes:$(cat target/bench.classpath) org.openjdk.jmh.Main HandshakeBench
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class HandshakeBench {
    private final SplittableRandom rng = new SplittableRandom(2);
    private final byte[] keyA = X25519.generatePrivate(new SplittableRandom(3));
    private final byte[] keyB = X25519.generatePrivate(new SplittableRandom(4));
    private final ByteBuffer buf = ByteBuffer.allocateDirect(4096);
    private Pair pair;

    @Setup(Level.Invocation)
    public void freshNodes() {
        pair = new Pair(rng.split(), keyA, keyB, null, Node.DEFAULT_LOAD_THRESHOLD, buf);
    }

    @Benchmark
    public Object handshake() {
        pair.handshake();
        return pair.out;
    }
}
