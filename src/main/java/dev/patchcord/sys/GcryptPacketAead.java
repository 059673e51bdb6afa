package dev.patchcord.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * ChaCha20-Poly1305 with libgcrypt ({@link LibGcrypt}): one cipher handle in Poly1305 mode per
 * thread, keyed once per session key; per packet three calls: set the nonce (which starts a new
 * message), encrypt or decrypt in place, take or check the tag. The handle is closed (and its key
 * wiped by the library) when this object is collected.
 */
public final class GcryptPacketAead extends NativePacketAead {
    private final long handle;

    /** @throws IllegalStateException if this system has no usable libgcrypt */
    public GcryptPacketAead() {
        if (LibGcrypt.version().isEmpty()) {
            throw new IllegalStateException("no usable libgcrypt.so.20 on this system");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_LONG);
            check((int) LibGcrypt.CIPHER_OPEN.invokeExact(out.address(), LibGcrypt.CIPHER_CHACHA20,
                    LibGcrypt.CIPHER_MODE_POLY1305, 0), 0, "open a ChaCha20-Poly1305 handle");
            handle = out.get(ValueLayout.JAVA_LONG, 0);
        } catch (Error | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("libgcrypt: " + t, t);
        }
        releaseWhenCollected(this, LibGcrypt.CIPHER_CLOSE, handle);
    }

    @Override
    void setKey(long key) throws Throwable {
        check((int) LibGcrypt.SET_KEY.invokeExact(handle, key, (long) KEY), 0, "set the key");
    }

    @Override
    void sealAt(long at, int len) throws Throwable {
        check((int) LibGcrypt.SET_IV.invokeExact(handle, nonce, 12L), 0, "set the nonce");
        if (len > 0) {
            check((int) LibGcrypt.ENCRYPT.invokeExact(handle, at, (long) len, 0L, 0L), 0, "seal");
        }
        check((int) LibGcrypt.GET_TAG.invokeExact(handle, at + len, (long) TAG), 0, "get the tag");
    }

    @Override
    boolean openAt(long at, int plain) throws Throwable {
        check((int) LibGcrypt.SET_IV.invokeExact(handle, nonce, 12L), 0, "set the nonce");
        if (plain > 0) {
            check((int) LibGcrypt.DECRYPT.invokeExact(handle, at, (long) plain, 0L, 0L), 0, "open");
        }
        return (int) LibGcrypt.CHECK_TAG.invokeExact(handle, at + plain, (long) TAG) == 0;
    }

    @Override
    public String name() {
        return LibGcrypt.version().orElseThrow();
    }
}
