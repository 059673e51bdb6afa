package dev.patchcord.sys;

import dev.patchcord.core.wg.JdkPacketAead;
import dev.patchcord.core.wg.PacketAead;
import dev.patchcord.core.wg.Protocol;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Optional;
import java.util.function.Supplier;

import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;

/**
 * What a ChaCha20-Poly1305 from a native library needs around it to serve as a {@link PacketAead}:
 * bounds checked before the library sees an address, the nonce written where the library reads
 * it, the key handed over only when it changes, the packet worked on where it lies. A subclass
 * says only how its library keys, seals and opens at raw addresses.
 *
 * <p>The pooled packet buffers are off-heap, so the library reads and writes them directly,
 * without the copy in and out that the JDK's cipher needs; a heap buffer (tests) goes through a
 * native work area instead. Nothing is allocated per packet.
 *
 * <p><b>Key material.</b> The library's context keeps the expanded key of the last session key
 * it was given, as the JDK's cipher does, until it is given another or {@link #forgetKey} sets an
 * all-zero one. The key bytes pass through a native scratch area that is wiped as soon as the
 * library has taken them. A key destroyed by another thread is read through
 * {@link SecretKey#getEncoded()}, which gives either the whole key or null, never a half-wiped one;
 * once a key reads as destroyed, nothing is sealed or opened with it.
 *
 * <p>Owned by one thread (see {@link PacketAead}).
 */
public abstract class NativePacketAead implements PacketAead {
    static final int TAG = Protocol.TAG_SIZE;
    static final int KEY = Protocol.KEY_SIZE;
    private static final ValueLayout.OfLong COUNTER = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    // Scratch layout: the 12-byte nonce, the 32-byte key, an int the library may write a length to.
    private static final int NONCE_AT = 0;
    private static final int KEY_AT = 16;
    private static final int OUT_AT = 48;

    /** One thread for every engine's clean-up, which is rare: an engine lives as long as its loop thread. */
    private static final Cleaner CLEANER = Cleaner.create();

    private final MemorySegment scratch;
    /** Where the nonce, the key and the library's length output are. */
    final long nonce;
    final long outLength;
    private final long key;
    /** For heap buffers only: allocated on first use. */
    private MemorySegment work;
    /** The key the library's context holds, or null (none yet, or wiped by {@link #forgetKey}). */
    private SecretKey current;
    private ByteBuffer lastBuffer;
    private long lastBase;

    NativePacketAead() {
        scratch = Arena.ofAuto().allocate(64, 16);
        nonce = scratch.address() + NONCE_AT;
        key = scratch.address() + KEY_AT;
        outLength = scratch.address() + OUT_AT;
    }

    /**
     * The fastest native ChaCha20-Poly1305 this system has, as a maker of one engine per thread:
     * libgcrypt's, else OpenSSL's; empty if neither library is usable. A library counts as usable
     * only if an engine can be made and seals a test message exactly as the JDK does: a library
     * that is present but refuses the cipher (a FIPS-only build) or computes it wrongly is passed
     * over at start-up, not discovered by the first packet.
     */
    public static Optional<Supplier<PacketAead>> best() {
        if (LibGcrypt.version().isPresent() && agreesWithTheJdk(GcryptPacketAead::new)) {
            return Optional.of(GcryptPacketAead::new);
        }
        if (LibCrypto.version().isPresent() && agreesWithTheJdk(OpenSslPacketAead::new)) {
            return Optional.of(OpenSslPacketAead::new);
        }
        return Optional.empty();
    }

    /** Whether an engine from {@code maker} seals and opens a 100-byte message as the JDK's cipher does. */
    static boolean agreesWithTheJdk(Supplier<PacketAead> maker) {
        byte[] keyBytes = new byte[KEY];
        for (int i = 0; i < KEY; i++) {
            keyBytes[i] = (byte) (i * 7 + 1);
        }
        SecretKey key = new SecretKeySpec(keyBytes, "ChaCha20");
        ByteBuffer expected = ByteBuffer.allocate(100 + TAG);
        ByteBuffer actual = ByteBuffer.allocateDirect(100 + TAG);
        for (int i = 0; i < 100; i++) {
            expected.put(i, (byte) i);
            actual.put(i, (byte) i);
        }
        try {
            PacketAead engine = maker.get();
            if (!new JdkPacketAead().seal(key, 42, expected, 0, 100) || !engine.seal(key, 42, actual, 0, 100)
                    || actual.mismatch(expected) >= 0 || engine.open(key, 42, actual, 0, 100 + TAG) != 100) {
                return false;
            }
            engine.forgetKey();
            return actual.get(99) == 99;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** Gives the library the 32-byte key at {@code key}. */
    abstract void setKey(long key) throws Throwable;

    /** Encrypts {@code len} bytes at {@code at} in place under the nonce and writes the tag after them. */
    abstract void sealAt(long at, int len) throws Throwable;

    /** Decrypts {@code plain} bytes at {@code at} in place; whether the tag after them is right. */
    abstract boolean openAt(long at, int plain) throws Throwable;

    @Override
    public final boolean seal(SecretKey key, long counter, ByteBuffer buf, int off, int len) {
        if (off < 0 || len < 0 || len > MAX_SEALED - TAG || off + len + TAG > buf.capacity()) {
            throw new IndexOutOfBoundsException("seal " + off + "+" + len + " in " + buf.capacity());
        }
        if (!start(key, counter)) {
            return false;
        }
        try {
            sealAt(address(buf, off, len), len);
        } catch (Error | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(name() + ": " + t, t);
        }
        if (!buf.isDirect()) {
            MemorySegment.copy(work, ValueLayout.JAVA_BYTE, 0, buf.array(), buf.arrayOffset() + off, len + TAG);
        }
        return true;
    }

    @Override
    public final int open(SecretKey key, long counter, ByteBuffer buf, int off, int len) {
        if (off < 0 || len < TAG || len > MAX_SEALED || off + len > buf.capacity() || !start(key, counter)) {
            return -1;
        }
        int plain = len - TAG;
        boolean ok;
        try {
            ok = openAt(address(buf, off, len), plain);
        } catch (Error | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(name() + ": " + t, t);
        }
        if (!ok) {
            // Forged, corrupted or the wrong key. The buffer now holds a decryption that did not
            // authenticate; the caller drops it, as it would drop the ciphertext.
            return -1;
        }
        if (!buf.isDirect()) {
            MemorySegment.copy(work, ValueLayout.JAVA_BYTE, 0, buf.array(), buf.arrayOffset() + off, plain);
        }
        return plain;
    }

    /**
     * Writes the nonce, and gives the library the key if it is not the one it holds.
     *
     * @return false if the key is destroyed
     */
    private boolean start(SecretKey key, long counter) {
        scratch.set(ValueLayout.JAVA_INT_UNALIGNED, NONCE_AT, 0);
        scratch.set(COUNTER, NONCE_AT + 4, counter);
        if (key != current || key.isDestroyed()) {
            byte[] bytes = key.getEncoded();
            if (bytes == null) {
                return false;
            }
            MemorySegment.copy(bytes, 0, scratch, ValueLayout.JAVA_BYTE, KEY_AT, KEY);
            Arrays.fill(bytes, (byte) 0);
            current = null;
            try {
                setKey(this.key);
            } catch (Error | RuntimeException e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(name() + ": " + t, t);
            } finally {
                scratch.asSlice(KEY_AT, KEY).fill((byte) 0);
            }
            current = key;
        }
        return true;
    }

    /** The native address of {@code buf[off]}: the buffer's own for a direct one, else the work area's. */
    private long address(ByteBuffer buf, int off, int len) {
        if (!buf.isDirect()) {
            if (work == null) {
                work = Arena.ofAuto().allocate(MAX_SEALED, 16);
            }
            MemorySegment.copy(buf.array(), buf.arrayOffset() + off, work, ValueLayout.JAVA_BYTE, 0, len);
            return work.address();
        }
        if (buf != lastBuffer) {
            // A segment over a direct buffer starts at its position; the base is where index 0 is.
            lastBase = MemorySegment.ofBuffer(buf).address() - buf.position();
            lastBuffer = buf;
        }
        return lastBase + off;
    }

    /** Sets an all-zero key, which overwrites the library's copy of the last one. */
    @Override
    public final void forgetKey() {
        scratch.asSlice(KEY_AT, KEY).fill((byte) 0);
        current = null;
        try {
            setKey(key);
        } catch (Error | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(name() + ": " + t, t);
        }
    }

    /**
     * Calls {@code release(handle)} (a {@code void f(long)} downcall that frees or closes it) once
     * {@code owner} has been collected.
     */
    static void releaseWhenCollected(Object owner, MethodHandle release, long handle) {
        CLEANER.register(owner, new Release(release, handle));
    }

    /** Holds no reference to the engine, which would keep it alive. */
    private record Release(MethodHandle release, long handle) implements Runnable {
        @Override
        public void run() {
            try {
                release.invokeExact(handle);
            } catch (Throwable t) {
                // nothing more can be done for a handle that will not be released
            }
        }
    }

    /** Throws unless a library call returned {@code expected}. */
    static void check(int result, int expected, String what) {
        if (result != expected) {
            throw new IllegalStateException("the cipher library refused to " + what + " (" + result + ")");
        }
    }
}
