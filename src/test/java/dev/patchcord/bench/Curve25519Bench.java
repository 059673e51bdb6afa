package dev.patchcord.bench;

import dev.patchcord.core.wg.Curve25519;
import dev.patchcord.core.wg.JdkCurve25519;
import dev.patchcord.core.wg.X25519;
import dev.patchcord.sys.OpenSslCurve25519;
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

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * One X25519 operation from Java, through either engine ({@code engine}: the JDK's XDH, or
 * OpenSSL's through FFM), as the handshake calls it: {@code sharedSecret} a Diffie-Hellman
 * derivation into a caller's array, {@code publicKey} a private key's public key. The figures
 * include each engine's own set-up per call (OpenSSL's key objects and derivation context).
 *
 * <p>Run (from the project directory, JDK 25):
 * <pre>
 * mvn -o -q -Pbench test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test
 * java -cp target/classes:target/test-classes:$(cat target/bench.classpath) org.openjdk.jmh.Main Curve25519Bench
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Thread)
public class Curve25519Bench {
    @Param({"jdk", "openssl"})
    public String engine;

    private Curve25519 dh;
    private final byte[] privateKey = X25519.generatePrivate(new SplittableRandom(5));
    private final byte[] peerPublic = X25519.publicKey(X25519.generatePrivate(new SplittableRandom(6)));
    private final byte[] out = new byte[Curve25519.KEY_SIZE];

    @Setup(Level.Trial)
    public void choose() {
        dh = switch (engine) {
            case "jdk" -> JdkCurve25519.INSTANCE;
            case "openssl" -> new OpenSslCurve25519();
            default -> throw new IllegalArgumentException("engine: jdk or openssl, not " + engine);
        };
    }

    @Benchmark
    public byte[] sharedSecret() {
        if (!dh.sharedSecret(privateKey, peerPublic, out)) {
            throw new IllegalStateException("a valid public key was refused");
        }
        return out;
    }

    @Benchmark
    public byte[] publicKey() {
        return dh.publicKey(privateKey);
    }
}
