package dev.patchcord.sys;

import dev.patchcord.core.wg.Curve25519;
import dev.patchcord.core.wg.JdkCurve25519;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * X25519 with OpenSSL's EVP interface ({@link LibCrypto}): per operation the raw keys become
 * {@code EVP_PKEY}s, a derivation context is made, the secret derived, and all of it freed again.
 * OpenSSL 3 has no call that multiplies raw bytes directly; the set-up is a small part of the
 * scalar multiplication.
 *
 * <p>A private key for a derivation is imported with a placeholder (all-zero) public key beside
 * it. {@code EVP_PKEY_new_raw_private_key} would compute the real one, a second scalar
 * multiplication that the derivation never reads (X25519 derives from the private key and the
 * peer's public key only), and that doubles the cost. Should a library refuse the import (one that
 * checks that the two keys match), the ordinary call is used instead, from then on for that
 * thread. Measured by hand on the development machine with a C loop: a shared
 * secret about 32 µs this way, 62 µs with the ordinary call; libgcrypt's
 * {@code gcry_ecc_mul_point} about 108 µs, libsodium's {@code crypto_scalarmult_curve25519} (not
 * on every system) 32 µs. From Java ({@code Curve25519Bench}) this engine takes about 32 µs, the
 * JDK's XDH about 117 µs.
 *
 * <p><b>Key material.</b> Keys pass to the library through a per-thread native scratch area that
 * is wiped as soon as the library has copied them, and the result is wiped from it once copied
 * out. The library's own copy of a private key is wiped by {@code EVP_PKEY_free}, which clears
 * the key before freeing it.
 *
 * <p>Thread-safe: each thread has its own scratch area and import context, and every key and
 * derivation context lives only for one call.
 */
public final class OpenSslCurve25519 implements Curve25519 {
    // Scratch layout: the private key, the public key, the result, the result's length, the
    // placeholder public key (zeros), where the import writes its key, the import's parameters.
    private static final int PRIVATE_AT = 0;
    private static final int PUBLIC_AT = 32;
    private static final int OUT_AT = 64;
    private static final int LENGTH_AT = 96;
    private static final int PLACEHOLDER_AT = 104;
    private static final int IMPORTED_AT = 136;
    private static final int PARAMS_AT = 144;
    /** {@code OSSL_PARAM}: key name, data type (an int, padded), data, data size, return size. */
    private static final int PARAM_SIZE = 40;
    private static final int SCRATCH = PARAMS_AT + 3 * PARAM_SIZE;
    /** Where the scratch is wiped after each call: everything before the parameters. */
    private static final int SECRETS = PARAMS_AT;
    /** {@code OSSL_PARAM_OCTET_STRING} from {@code <openssl/core.h>}. */
    private static final int OCTET_STRING = 5;
    /**
     * {@code OSSL_KEYMGMT_SELECT_KEYPAIR} from {@code <openssl/core_dispatch.h>} (the private and
     * the public key), which is what {@code EVP_PKEY_fromdata} takes as its selection; not
     * {@code EVP_PKEY_KEYPAIR} (0x87), which adds the domain parameters.
     */
    private static final int SELECT_KEYPAIR = 3;
    private static final MemorySegment NAMES = names();

    /** One thread's scratch area and its import context (0 if the library would not make one). */
    private static final class State {
        final MemorySegment scratch = Arena.ofAuto().allocate(SCRATCH, 16);
        final long base = scratch.address();
        final long importer;
        /**
         * Set when the library refused the placeholder import once: a library that checks that
         * the two keys match refuses every such import, so it is not tried again.
         */
        boolean placeholderRefused;

        State() {
            long ctx = 0;
            try {
                ctx = (long) LibCrypto.PKEY_CTX_NEW_FROM_NAME.invokeExact(0L, NAMES.address(), 0L);
                if (ctx != 0 && (int) LibCrypto.FROMDATA_INIT.invokeExact(ctx) != 1) {
                    LibCrypto.PKEY_CTX_FREE.invokeExact(ctx);
                    ctx = 0;
                }
            } catch (Throwable t) {
                ctx = 0;
            }
            importer = ctx;
            if (ctx != 0) {
                NativePacketAead.releaseWhenCollected(this, LibCrypto.PKEY_CTX_FREE, ctx);
                param(0, NAMES.address() + 7, PRIVATE_AT);
                param(1, NAMES.address() + 12, PLACEHOLDER_AT);
                // The third stays all zeros: the list's end.
            }
        }

        private void param(int i, long name, int data) {
            long at = PARAMS_AT + (long) i * PARAM_SIZE;
            scratch.set(ValueLayout.JAVA_LONG, at, name);
            scratch.set(ValueLayout.JAVA_INT, at + 8, OCTET_STRING);
            scratch.set(ValueLayout.JAVA_LONG, at + 16, base + data);
            scratch.set(ValueLayout.JAVA_LONG, at + 24, KEY_SIZE);
            scratch.set(ValueLayout.JAVA_LONG, at + 32, -1L); // OSSL_PARAM_UNMODIFIED
        }
    }

    private final ThreadLocal<State> states = ThreadLocal.withInitial(State::new);

    /** "X25519", "priv" and "pub", each NUL-terminated, at offsets 0, 7 and 12; never freed. */
    private static MemorySegment names() {
        MemorySegment m = Arena.global().allocate(16);
        m.setString(0, "X25519");
        m.setString(7, "priv");
        m.setString(12, "pub");
        return m;
    }

    /** The key types of the private and the peer's key: X25519's, but for tests that make the library fail. */
    private final int privateType;
    private final int peerType;

    /** @throws IllegalStateException if this system has no usable libcrypto with X25519 */
    public OpenSslCurve25519() {
        this(LibCrypto.PKEY_X25519, LibCrypto.PKEY_X25519);
    }

    /**
     * For tests: the keys are made as these {@code EVP_PKEY} types, so that a type the library
     * refuses for 32 raw bytes, or one that does not derive with X25519, makes its calls fail.
     * The placeholder import (by name, X25519) is used only for X25519's own type.
     */
    OpenSslCurve25519(int privateType, int peerType) {
        if (!LibCrypto.hasX25519()) {
            throw new IllegalStateException("no usable libcrypto.so.3 with X25519 on this system");
        }
        this.privateType = privateType;
        this.peerType = peerType;
    }

    /** The library's, or the JDK's where the library fails (which the start-up self-test makes rare). */
    @Override
    public byte[] publicKey(byte[] privateKey) {
        Curve25519.requireKey(privateKey, "private");
        byte[] out = new byte[KEY_SIZE];
        return nativePublicKey(privateKey, out) ? out : JdkCurve25519.INSTANCE.publicKey(privateKey);
    }

    private boolean nativePublicKey(byte[] privateKey, byte[] out) {
        State st = states.get();
        MemorySegment s = st.scratch;
        long key = 0;
        boolean ok = false;
        try {
            key = privateKey(st, privateKey, false);
            if (key != 0) {
                s.set(ValueLayout.JAVA_LONG, LENGTH_AT, KEY_SIZE);
                ok = (int) LibCrypto.PKEY_GET_PUBLIC.invokeExact(key, st.base + OUT_AT, st.base + LENGTH_AT) == 1
                        && s.get(ValueLayout.JAVA_LONG, LENGTH_AT) == KEY_SIZE;
                if (ok) {
                    MemorySegment.copy(s, ValueLayout.JAVA_BYTE, OUT_AT, out, 0, KEY_SIZE);
                }
            }
        } catch (Throwable t) {
            ok = false;
        } finally {
            free(key, 0, 0);
            s.asSlice(0, SECRETS).fill((byte) 0);
            if (!ok) {
                clearErrors();
            }
        }
        return ok;
    }

    /**
     * The library's result where it derives one. OpenSSL refuses the all-zero result itself (its
     * derivation fails), but so it does for other reasons (no memory, a provider that will not);
     * rather than tell these apart, any failure is handed to the JDK, whose answer is then the
     * result: a refusal of a point of small order, the secret otherwise. That costs the JDK's
     * scalar multiplication for each refused point, which only a broken or hostile peer sends, and
     * it never leaves a peer's secret missing because the library failed.
     */
    @Override
    public boolean sharedSecret(byte[] privateKey, byte[] publicKey, byte[] out) {
        Curve25519.requireKey(privateKey, "private");
        Curve25519.requireKey(publicKey, "public");
        if (out.length < KEY_SIZE) {
            throw new IllegalArgumentException("a shared secret needs 32 bytes, got " + out.length);
        }
        if (!nativeSharedSecret(privateKey, publicKey, out)) {
            return JdkCurve25519.INSTANCE.sharedSecret(privateKey, publicKey, out);
        }
        if (!Curve25519.nonZero(out)) {
            Arrays.fill(out, 0, KEY_SIZE, (byte) 0);
            return false;
        }
        return true;
    }

    /** Whether the library derived a secret into {@code out}; if not, {@code out} is untouched. */
    private boolean nativeSharedSecret(byte[] privateKey, byte[] publicKey, byte[] out) {
        State st = states.get();
        MemorySegment s = st.scratch;
        long key = 0, peer = 0, ctx = 0;
        boolean derived = false;
        try {
            key = privateKey(st, privateKey, true);
            MemorySegment.copy(publicKey, 0, s, ValueLayout.JAVA_BYTE, PUBLIC_AT, KEY_SIZE);
            peer = (long) LibCrypto.PKEY_NEW_PUBLIC.invokeExact(peerType, 0L, st.base + PUBLIC_AT, (long) KEY_SIZE);
            if (key != 0 && peer != 0) {
                ctx = (long) LibCrypto.PKEY_CTX_NEW.invokeExact(key, 0L);
            }
            // No validation of the peer's key: X25519 has none to do beyond the zero check.
            if (ctx != 0 && (int) LibCrypto.DERIVE_INIT.invokeExact(ctx) == 1
                    && (int) LibCrypto.DERIVE_SET_PEER.invokeExact(ctx, peer, 0) == 1) {
                s.set(ValueLayout.JAVA_LONG, LENGTH_AT, KEY_SIZE);
                derived = (int) LibCrypto.DERIVE.invokeExact(ctx, st.base + OUT_AT, st.base + LENGTH_AT) == 1
                        && s.get(ValueLayout.JAVA_LONG, LENGTH_AT) == KEY_SIZE;
                if (derived) {
                    MemorySegment.copy(s, ValueLayout.JAVA_BYTE, OUT_AT, out, 0, KEY_SIZE);
                }
            }
        } catch (Throwable t) {
            derived = false;
        } finally {
            free(key, peer, ctx);
            s.asSlice(0, SECRETS).fill((byte) 0);
            if (!derived) {
                clearErrors();
            }
        }
        return derived;
    }

    /**
     * The private key as an {@code EVP_PKEY}, or 0 if the library made none: for a derivation
     * ({@code placeholder}) imported beside the placeholder public key where the library takes
     * that, else with its real public key computed. The scratch copy is wiped as soon as the
     * library has its own.
     */
    private long privateKey(State st, byte[] privateKey, boolean placeholder) throws Throwable {
        MemorySegment s = st.scratch;
        MemorySegment.copy(privateKey, 0, s, ValueLayout.JAVA_BYTE, PRIVATE_AT, KEY_SIZE);
        long key = 0;
        try {
            if (placeholder && st.importer != 0 && !st.placeholderRefused && privateType == LibCrypto.PKEY_X25519) {
                s.set(ValueLayout.JAVA_LONG, IMPORTED_AT, 0L);
                if ((int) LibCrypto.FROMDATA.invokeExact(st.importer, st.base + IMPORTED_AT, SELECT_KEYPAIR,
                        st.base + PARAMS_AT) == 1) {
                    key = s.get(ValueLayout.JAVA_LONG, IMPORTED_AT);
                } else {
                    st.placeholderRefused = true;
                    clearErrors();
                }
            }
            if (key == 0) {
                key = (long) LibCrypto.PKEY_NEW_PRIVATE.invokeExact(privateType, 0L, st.base + PRIVATE_AT,
                        (long) KEY_SIZE);
            }
        } finally {
            s.asSlice(PRIVATE_AT, KEY_SIZE).fill((byte) 0);
        }
        return key;
    }

    /**
     * Empties the thread's OpenSSL error queue, which a failed call leaves its reason on; left
     * there, it would grow with each failure and be misread by a later call that checks it.
     */
    private static void clearErrors() {
        try {
            LibCrypto.CLEAR_ERRORS.invokeExact();
        } catch (Throwable t) {
            // Only a handle of the wrong type throws, and this one is bound with the right one.
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
            // Only a handle of the wrong type throws, and these are bound with the right ones.
        }
    }

    @Override
    public String name() {
        return LibCrypto.shortVersion();
    }
}
