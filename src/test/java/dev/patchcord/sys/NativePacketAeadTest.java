package dev.patchcord.sys;

import dev.patchcord.core.wg.JdkPacketAead;
import dev.patchcord.core.wg.PacketAead;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import javax.crypto.SecretKey;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The native ChaCha20-Poly1305 engines (libgcrypt's and OpenSSL's) against the JDK's, which is
 * the reference: for random keys, counters and every length from 0 to 65535, each must write the
 * same ciphertext and tag, open the others' messages, and refuse the same tampered ones. An engine
 * whose library this system lacks is left out (the tunnel then does without it); with neither,
 * the tests are skipped.
 */
class NativePacketAeadTest {
    private static final int TAG = 16;

    /** Every native engine this system can run, made fresh for each test. */
    private static List<PacketAead> engines() {
        List<PacketAead> engines = new ArrayList<>();
        if (LibGcrypt.version().isPresent()) {
            engines.add(new GcryptPacketAead());
        }
        if (LibCrypto.version().isPresent()) {
            engines.add(new OpenSslPacketAead());
        }
        return engines;
    }

    @BeforeAll
    static void needsALibrary() {
        Assumptions.assumeFalse(engines().isEmpty(), "neither libgcrypt.so.20 nor libcrypto.so.3 on this system");
    }

    /** A key that can be destroyed, as the protocol's session keys can. */
    static final class Key implements SecretKey {
        private final byte[] bytes;
        private volatile boolean destroyed;

        Key(byte[] bytes) {
            this.bytes = bytes.clone();
        }

        @Override
        public String getAlgorithm() {
            return "ChaCha20";
        }

        @Override
        public String getFormat() {
            return "RAW";
        }

        @Override
        public byte[] getEncoded() {
            return destroyed ? null : bytes.clone();
        }

        @Override
        public void destroy() {
            destroyed = true;
            Arrays.fill(bytes, (byte) 0);
        }

        @Override
        public boolean isDestroyed() {
            return destroyed;
        }
    }

    private final PacketAead jdk = new JdkPacketAead();
    private final List<PacketAead> natives = engines();

    private static Key key(SplittableRandom r) {
        byte[] k = new byte[32];
        r.nextBytes(k);
        return new Key(k);
    }

    /** The sealed message of {@code plain} at {@code off} in a direct buffer, as bytes. */
    private static byte[] seal(PacketAead aead, SecretKey key, long counter, byte[] plain, int off, boolean direct) {
        ByteBuffer buf = direct ? ByteBuffer.allocateDirect(off + plain.length + TAG) : ByteBuffer.allocate(off + plain.length + TAG);
        buf.put(off, plain);
        assertTrue(aead.seal(key, counter, buf, off, plain.length));
        byte[] out = new byte[plain.length + TAG];
        buf.get(off, out);
        return out;
    }

    /** The plaintext of {@code sealed}, or null if it does not open. */
    private static byte[] open(PacketAead aead, SecretKey key, long counter, byte[] sealed, int off, boolean direct) {
        ByteBuffer buf = direct ? ByteBuffer.allocateDirect(off + sealed.length) : ByteBuffer.allocate(off + sealed.length);
        buf.put(off, sealed);
        int n = aead.open(key, counter, buf, off, sealed.length);
        if (n < 0) {
            return null;
        }
        byte[] out = new byte[n];
        buf.get(off, out);
        return out;
    }

    @Provide
    Arbitrary<Integer> lengths() {
        // Every size class: empty (a keepalive), below, at and across the 64-byte ChaCha20 and
        // 16-byte Poly1305 blocks, typical MTUs, and up to a GSO super-packet's 64 KiB.
        return Arbitraries.oneOf(Arbitraries.integers().between(0, 300),
                Arbitraries.integers().between(1300, 1500), Arbitraries.integers().between(0, 65535));
    }

    @Property(tries = 300)
    void sameMessagesAsTheJdk(@ForAll long seed, @ForAll("lengths") int len, @ForAll long counter,
            @ForAll @IntRange(max = 64) int off, @ForAll boolean direct) {
        SplittableRandom r = new SplittableRandom(seed);
        Key key = key(r);
        byte[] plain = new byte[len];
        r.nextBytes(plain);
        byte[] reference = seal(jdk, key, counter, plain, off, true);
        for (PacketAead engine : natives) {
            byte[] ours = seal(engine, key, counter, plain, off, direct);
            assertArrayEquals(reference, ours, engine.name());
            assertArrayEquals(plain, open(engine, key, counter, reference, off, direct), engine.name());
            assertArrayEquals(plain, open(jdk, key, counter, ours, off, true), engine.name());
        }
    }

    @Property(tries = 200)
    void refusesWhatTheJdkRefuses(@ForAll long seed, @ForAll @IntRange(max = 2000) int len, @ForAll long counter) {
        SplittableRandom r = new SplittableRandom(seed);
        Key key = key(r);
        byte[] plain = new byte[len];
        r.nextBytes(plain);
        byte[] sealed = seal(jdk, key, counter, plain, 0, true);
        byte[] tampered = sealed.clone();
        tampered[r.nextInt(tampered.length)] ^= (byte) (1 << r.nextInt(8));
        assertEquals(null, open(jdk, key, counter, tampered, 0, true));
        Key wrong = key(r);
        for (PacketAead engine : natives) {
            assertEquals(null, open(engine, key, counter, tampered, 0, true), engine.name());
            // The wrong counter, and the wrong key.
            assertEquals(null, open(engine, key, counter + 1, sealed, 0, true), engine.name());
            assertEquals(null, open(engine, wrong, counter, sealed, 0, true), engine.name());
            // After the refusals, the context still opens the genuine message.
            assertArrayEquals(plain, open(engine, key, counter, sealed, 0, true), engine.name());
        }
    }

    @Test
    void keysAndDirectionsInterleaved() {
        // One thread's context serves every session it meets, sealing and opening in any order:
        // a key or direction left over from the previous call must never leak into the next.
        SplittableRandom r = new SplittableRandom(7);
        Key[] keys = {key(r), key(r), key(r)};
        for (int i = 0; i < 500; i++) {
            Key k = keys[r.nextInt(keys.length)];
            long counter = r.nextLong(1000);
            byte[] plain = new byte[r.nextInt(1500)];
            r.nextBytes(plain);
            // A fresh JDK cipher for the reference: one instance refuses to seal twice with the
            // same key and nonce, which this test does on purpose.
            byte[] reference = seal(new JdkPacketAead(), k, counter, plain, 0, true);
            for (PacketAead engine : natives) {
                byte[] sealed = seal(engine, k, counter, plain, 0, true);
                assertArrayEquals(reference, sealed, engine.name() + ", message " + i);
                assertArrayEquals(plain, open(engine, k, counter, sealed, 0, true), engine.name() + ", message " + i);
            }
        }
    }

    @Test
    void destroyedKeyIsNeverUsed() {
        SplittableRandom r = new SplittableRandom(3);
        for (PacketAead engine : natives) {
            Key key = key(r);
            byte[] sealed = seal(engine, key, 1, new byte[100], 0, true);
            key.destroy();
            ByteBuffer buf = ByteBuffer.allocateDirect(200);
            assertFalse(engine.seal(key, 2, buf, 0, 100), engine.name() + ": a destroyed key must not seal, although the context still holds it");
            buf.put(0, sealed);
            assertEquals(-1, engine.open(key, 1, buf, 0, sealed.length), engine.name());
        }
    }

    @Test
    void forgottenKeyIsTakenAgainWhenNeeded() {
        SplittableRandom r = new SplittableRandom(5);
        Key key = key(r);
        byte[] plain = new byte[64];
        for (PacketAead engine : natives) {
            byte[] before = seal(engine, key, 9, plain, 0, true);
            engine.forgetKey();
            assertArrayEquals(before, seal(engine, key, 9, plain, 0, true), engine.name());
        }
    }

    @Test
    void aLibraryIsChosenOnlyIfItAgreesWithTheJdk() {
        for (PacketAead engine : natives) {
            assertTrue(NativePacketAead.agreesWithTheJdk(() -> engine), engine.name());
        }
        assertTrue(NativePacketAead.best().isPresent());
        // An engine that seals wrongly, and one that cannot be made, are passed over.
        JdkPacketAead jdkCipher = new JdkPacketAead();
        PacketAead wrong = new PacketAead() {
            @Override
            public boolean seal(SecretKey key, long counter, ByteBuffer buf, int off, int len) {
                return jdkCipher.seal(key, counter + 1, buf, off, len); // the wrong nonce
            }

            @Override
            public int open(SecretKey key, long counter, ByteBuffer buf, int off, int len) {
                return jdkCipher.open(key, counter + 1, buf, off, len);
            }

            @Override
            public void forgetKey() {
                jdkCipher.forgetKey();
            }

            @Override
            public String name() {
                return "wrong";
            }
        };
        assertFalse(NativePacketAead.agreesWithTheJdk(() -> wrong));
        assertFalse(NativePacketAead.agreesWithTheJdk(() -> {
            throw new IllegalStateException("cipher refused");
        }));
    }

    @Test
    void outOfBoundsIsRefusedBeforeTheLibrarySeesIt() {
        Key k = new Key(new byte[32]);
        ByteBuffer small = ByteBuffer.allocateDirect(64);
        for (PacketAead engine : natives) {
            assertThrows(IndexOutOfBoundsException.class, () -> engine.seal(k, 0, small, 40, 10), engine.name());
            assertEquals(-1, engine.open(k, 0, small, 40, 30), engine.name());
            assertEquals(-1, engine.open(k, 0, small, 0, 15), engine.name());
        }
    }
}
