package dev.patchcord.sys;

import dev.patchcord.core.wg.PacketAead;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

import javax.crypto.SecretKey;

/**
 * ChaCha20-Poly1305 for transport messages with OpenSSL's EVP cipher, at the cost of the cipher
 * alone: one {@code EVP_CIPHER_CTX} per thread, keyed once per session key, and per packet only
 * the nonce set and four calls made (set the nonce, [set the tag,] encrypt or decrypt in place,
 * finish [, get the tag]). Nothing is allocated per packet.
 *
 * <p>The packet buffer is worked on where it lies: the pooled buffers are off-heap, so the library
 * reads and writes them directly, without the copy in and out that the JDK's cipher needs. A heap
 * buffer (tests) goes through a native work area instead.
 *
 * <p><b>Key material.</b> The context keeps the expanded key of the last session key it was given,
 * as the JDK's cipher does, until it is given another or {@link #forgetKey} sets an all-zero one.
 * The key bytes pass through a native scratch area that is wiped as soon as the library has taken
 * them. A key destroyed by another thread is read through {@link SecretKey#getEncoded()}, which
 * gives either the whole key or null, never a half-wiped one; once a key reads as destroyed, no
 * packet is sealed or opened with it.
 *
 * <p>Owned by one thread (see {@link PacketAead}); the context is freed when this object is
 * collected.
 */
public final class OpenSslPacketAead implements PacketAead {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final int TAG = 16;
    private static final int MAX_CONTENT = 65536 + TAG;
    private static final ValueLayout.OfLong COUNTER = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    // Scratch layout: the 12-byte nonce, the 32-byte key, the int the library writes lengths to.
    private static final int NONCE_AT = 0;
    private static final int KEY_AT = 16;
    private static final int OUTL_AT = 48;

    private final long ctx;
    private final MemorySegment scratch;
    private final long scratchAddress;
    /** For heap buffers only: allocated on first use. */
    private MemorySegment work;
    /** The key the context holds, or null (none yet, or wiped by {@link #forgetKey}). */
    private SecretKey current;
    private ByteBuffer lastBuffer;
    private long lastBase;

    /**
     * @throws IllegalStateException if this system has no usable libcrypto ({@link LibCrypto#version()}
     *         is empty)
     */
    public OpenSslPacketAead() {
        if (LibCrypto.version().isEmpty()) {
            throw new IllegalStateException("no usable libcrypto.so.3 on this system");
        }
        Arena arena = Arena.ofAuto();
        scratch = arena.allocate(64, 16);
        scratchAddress = scratch.address();
        try {
            ctx = (long) LibCrypto.CTX_NEW.invokeExact();
            if (ctx == 0) {
                throw new OutOfMemoryError("EVP_CIPHER_CTX_new");
            }
            CLEANER.register(this, new Free(ctx));
            // Bind the cipher once, without a key: passing the cipher again later would make the
            // library tear the context down and build a new one.
            check((int) LibCrypto.CIPHER_INIT.invokeExact(ctx, LibCrypto.CHACHA20_POLY1305, 0L, 0L, 1, 0L), "init");
        } catch (Error | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("libcrypto: " + t, t);
        }
    }

    /** Frees the context; holds no reference to the engine, which would keep it alive. */
    private record Free(long ctx) implements Runnable {
        @Override
        public void run() {
            try {
                LibCrypto.CTX_FREE.invokeExact(ctx);
            } catch (Throwable t) {
                // nothing more can be done for a context that will not be freed
            }
        }
    }

    @Override
    public boolean seal(SecretKey key, long counter, ByteBuffer buf, int off, int len) {
        if (off < 0 || len < 0 || len > MAX_CONTENT - TAG || off + len + TAG > buf.capacity()) {
            throw new IndexOutOfBoundsException("seal " + off + "+" + len + " in " + buf.capacity());
        }
        if (!start(key, counter, 1)) {
            return false;
        }
        long at = address(buf, off, len);
        try {
            if (len > 0) {
                check((int) LibCrypto.CIPHER_UPDATE.invokeExact(ctx, at, scratchAddress + OUTL_AT, at, len), "seal");
            }
            check((int) LibCrypto.CIPHER_FINAL.invokeExact(ctx, at + len, scratchAddress + OUTL_AT), "seal");
            check((int) LibCrypto.CTX_CTRL.invokeExact(ctx, LibCrypto.CTRL_AEAD_GET_TAG, TAG, at + len), "tag");
        } catch (Error | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("libcrypto: " + t, t);
        }
        if (!buf.isDirect()) {
            MemorySegment.copy(work, ValueLayout.JAVA_BYTE, 0, buf.array(), buf.arrayOffset() + off, len + TAG);
        }
        return true;
    }

    @Override
    public int open(SecretKey key, long counter, ByteBuffer buf, int off, int len) {
        if (off < 0 || len < TAG || len > MAX_CONTENT || off + len > buf.capacity()) {
            return -1;
        }
        if (!start(key, counter, 0)) {
            return -1;
        }
        long at = address(buf, off, len);
        int plain = len - TAG;
        int ok;
        try {
            check((int) LibCrypto.CTX_CTRL.invokeExact(ctx, LibCrypto.CTRL_AEAD_SET_TAG, TAG, at + plain), "tag");
            if (plain > 0) {
                check((int) LibCrypto.CIPHER_UPDATE.invokeExact(ctx, at, scratchAddress + OUTL_AT, at, plain), "open");
            }
            ok = (int) LibCrypto.CIPHER_FINAL.invokeExact(ctx, at + plain, scratchAddress + OUTL_AT);
        } catch (Error | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("libcrypto: " + t, t);
        }
        if (ok != 1) {
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
     * Sets the nonce and direction, and the key if it is not the one the context holds.
     *
     * @return false if the key is destroyed
     */
    private boolean start(SecretKey key, long counter, int encrypt) {
        scratch.set(ValueLayout.JAVA_INT_UNALIGNED, NONCE_AT, 0);
        scratch.set(COUNTER, NONCE_AT + 4, counter);
        long keyAddress = 0;
        if (key != current || key.isDestroyed()) {
            byte[] bytes = key.getEncoded();
            if (bytes == null) {
                return false;
            }
            MemorySegment.copy(bytes, 0, scratch, ValueLayout.JAVA_BYTE, KEY_AT, bytes.length);
            Arrays.fill(bytes, (byte) 0);
            keyAddress = scratchAddress + KEY_AT;
        }
        try {
            int r = (int) LibCrypto.CIPHER_INIT.invokeExact(ctx, 0L, keyAddress, scratchAddress + NONCE_AT, encrypt, 0L);
            if (keyAddress != 0) {
                scratch.asSlice(KEY_AT, 32).fill((byte) 0);
                current = r == 1 ? key : null;
            }
            check(r, "init");
        } catch (Error | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("libcrypto: " + t, t);
        }
        return true;
    }

    /** The native address of {@code buf[off]}: the buffer's own for a direct one, else the work area's. */
    private long address(ByteBuffer buf, int off, int len) {
        if (!buf.isDirect()) {
            if (work == null) {
                work = Arena.ofAuto().allocate(MAX_CONTENT, 16);
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

    private static void check(int result, String what) {
        if (result != 1) {
            throw new IllegalStateException("libcrypto refused to " + what);
        }
    }

    @Override
    public void forgetKey() {
        scratch.asSlice(KEY_AT, 32).fill((byte) 0);
        try {
            check((int) LibCrypto.CIPHER_INIT.invokeExact(ctx, 0L, scratchAddress + KEY_AT, scratchAddress + NONCE_AT, 0, 0L),
                    "forget the key");
        } catch (Error | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("libcrypto: " + t, t);
        }
        current = null;
    }

    @Override
    public String name() {
        String version = LibCrypto.version().orElseThrow();
        String[] words = version.split(" ");
        return words.length >= 2 ? words[0] + " " + words[1] : version;
    }
}
