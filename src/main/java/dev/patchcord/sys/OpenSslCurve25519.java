package dev.patchcord.sys;

import dev.patchcord.core.wg.Curve25519;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * X25519 with OpenSSL's EVP interface ({@link LibCrypto}): per operation the raw keys become
 * {@code EVP_PKEY}s, a derivation context is made, the secret derived, and all of it freed again.
 * OpenSSL 3 has no call that multiplies raw bytes directly; the set-up is a small part of the
 * scalar multiplication, which takes about 30 µs against some 200 µs for the JDK's XDH.
 *
 * <p>Measured on the development machine with a C loop: a shared secret this way (two key objects,
 * a context, the derivation) about 64 µs, half of it spent by {@code EVP_PKEY_new_raw_private_key}
 * computing the private key's public key, which the derivation does not need; a public key about
 * 33 µs. libgcrypt's {@code gcry_ecc_mul_point} took about 108 µs for either, so OpenSSL's is the
 * one used.
 *
 * <p><b>Key material.</b> Keys pass to the library through a per-thread native scratch area that
 * is wiped as soon as the library has copied them, and the result is wiped from it once copied
 * out. The library's own copy of a private key is wiped by {@code EVP_PKEY_free}, which clears
 * the key before freeing it.
 *
 * <p>Thread-safe: each thread has its own scratch area, and every library object lives only for
 * one call.
 */
public final class OpenSslCurve25519 implements Curve25519 {
    // Scratch layout: the private key, the public key, the result, the result's length.
    private static final int PRIVATE_AT = 0;
    private static final int PUBLIC_AT = 32;
    private static final int OUT_AT = 64;
    private static final int LENGTH_AT = 96;
    private static final int SCRATCH = 104;

    private final ThreadLocal<MemorySegment> scratch =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(SCRATCH, 16));

    /** @throws IllegalStateException if this system has no usable libcrypto with X25519 */
    public OpenSslCurve25519() {
        if (!LibCrypto.hasX25519()) {
            throw new IllegalStateException("no usable libcrypto.so.3 with X25519 on this system");
        }
    }

    @Override
    public byte[] publicKey(byte[] privateKey) {
        Curve25519.requireKey(privateKey, "private");
        MemorySegment s = scratch.get();
        long key = 0;
        try {
            key = privateKey(s, privateKey);
            s.set(ValueLayout.JAVA_LONG, LENGTH_AT, KEY_SIZE);
            NativePacketAead.check((int) LibCrypto.PKEY_GET_PUBLIC.invokeExact(key, s.address() + OUT_AT,
                    s.address() + LENGTH_AT), 1, "give a public key");
            checkLength(s);
            byte[] out = new byte[KEY_SIZE];
            MemorySegment.copy(s, ValueLayout.JAVA_BYTE, OUT_AT, out, 0, KEY_SIZE);
            return out;
        } catch (Error | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("libcrypto: " + t, t);
        } finally {
            free(key, 0, 0);
            s.fill((byte) 0);
        }
    }

    /**
     * OpenSSL refuses the all-zero result itself (its derivation fails); that failure, and any
     * other of the derivation, counts as a refusal here. The start-up self-test
     * ({@link NativeCurve25519#best}) makes sure that the library derives at all.
     */
    @Override
    public boolean sharedSecret(byte[] privateKey, byte[] publicKey, byte[] out) {
        Curve25519.requireKey(privateKey, "private");
        Curve25519.requireKey(publicKey, "public");
        if (out.length < KEY_SIZE) {
            throw new IllegalArgumentException("a shared secret needs 32 bytes, got " + out.length);
        }
        MemorySegment s = scratch.get();
        long key = 0, peer = 0, ctx = 0;
        boolean derived;
        try {
            key = privateKey(s, privateKey);
            MemorySegment.copy(publicKey, 0, s, ValueLayout.JAVA_BYTE, PUBLIC_AT, KEY_SIZE);
            peer = (long) LibCrypto.PKEY_NEW_PUBLIC.invokeExact(LibCrypto.PKEY_X25519, 0L, s.address() + PUBLIC_AT,
                    (long) KEY_SIZE);
            if (peer == 0) {
                throw new IllegalStateException("the cipher library refused a public key");
            }
            ctx = (long) LibCrypto.PKEY_CTX_NEW.invokeExact(key, 0L);
            if (ctx == 0) {
                throw new OutOfMemoryError("EVP_PKEY_CTX_new");
            }
            NativePacketAead.check((int) LibCrypto.DERIVE_INIT.invokeExact(ctx), 1, "start a derivation");
            // No validation of the peer's key: X25519 has none to do beyond the zero check below.
            NativePacketAead.check((int) LibCrypto.DERIVE_SET_PEER.invokeExact(ctx, peer, 0), 1, "take a peer key");
            s.set(ValueLayout.JAVA_LONG, LENGTH_AT, KEY_SIZE);
            derived = (int) LibCrypto.DERIVE.invokeExact(ctx, s.address() + OUT_AT, s.address() + LENGTH_AT) == 1;
            if (derived) {
                checkLength(s);
                MemorySegment.copy(s, ValueLayout.JAVA_BYTE, OUT_AT, out, 0, KEY_SIZE);
            } else {
                LibCrypto.CLEAR_ERRORS.invokeExact();
            }
        } catch (Error | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("libcrypto: " + t, t);
        } finally {
            free(key, peer, ctx);
            s.fill((byte) 0);
        }
        if (!derived || !Curve25519.nonZero(out)) {
            Arrays.fill(out, 0, KEY_SIZE, (byte) 0);
            return false;
        }
        return true;
    }

    /** The private key as an {@code EVP_PKEY}; the scratch copy is wiped as soon as the library has its own. */
    private static long privateKey(MemorySegment s, byte[] privateKey) throws Throwable {
        MemorySegment.copy(privateKey, 0, s, ValueLayout.JAVA_BYTE, PRIVATE_AT, KEY_SIZE);
        long key;
        try {
            key = (long) LibCrypto.PKEY_NEW_PRIVATE.invokeExact(LibCrypto.PKEY_X25519, 0L, s.address() + PRIVATE_AT,
                    (long) KEY_SIZE);
        } finally {
            s.asSlice(PRIVATE_AT, KEY_SIZE).fill((byte) 0);
        }
        if (key == 0) {
            throw new IllegalStateException("the cipher library refused a private key");
        }
        return key;
    }

    private static void checkLength(MemorySegment s) {
        long n = s.get(ValueLayout.JAVA_LONG, LENGTH_AT);
        if (n != KEY_SIZE) {
            throw new IllegalStateException("the cipher library gave " + n + " bytes for an X25519 key");
        }
    }

    private static void free(long key, long peer, long ctx) {
        try {
            if (ctx != 0) {
                LibCrypto.PKEY_CTX_FREE.invokeExact(ctx);
            }
            if (peer != 0) {
                LibCrypto.PKEY_FREE.invokeExact(peer);
            }
            if (key != 0) {
                LibCrypto.PKEY_FREE.invokeExact(key);
            }
        } catch (Throwable t) {
            throw new IllegalStateException("libcrypto: " + t, t);
        }
    }

    @Override
    public String name() {
        return LibCrypto.shortVersion();
    }
}
