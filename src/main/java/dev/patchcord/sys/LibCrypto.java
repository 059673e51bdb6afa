package dev.patchcord.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The few calls patchcord makes into OpenSSL's libcrypto (3.0 or later, which every Debian system
 * has as {@code libcrypto.so.3}), bound through the Foreign Function & Memory API: its EVP
 * ChaCha20-Poly1305, which seals a packet with one context kept per thread and only the nonce
 * changed per packet, where the JDK's JCA API makes a new cipher engine for each; and its X25519
 * ({@link OpenSslCurve25519}), several times faster than the JDK's XDH.
 *
 * <p>If the library or a symbol is missing, {@link #version()} is empty and the callers use the
 * JDK.
 *
 * <p>The handles are static finals, so that the JIT compiles each call to a direct one; held in
 * an instance's fields, every call would go through the generic method-handle invoker, which
 * costs several times what OpenSSL spends on a small packet. The per-packet calls are bound as
 * <em>critical</em>: they run without the thread-state changes of an ordinary downcall. That is
 * allowed because they never block, never call back into Java and finish in microseconds (tens of
 * them for a 64 KiB buffer). Pointers into packet buffers are passed as raw addresses, so that a
 * slice needs no segment object.
 */
public final class LibCrypto {
    private LibCrypto() {}

    /** {@code EVP_CTRL_AEAD_GET_TAG} and {@code EVP_CTRL_AEAD_SET_TAG} from {@code <openssl/evp.h>}. */
    static final int CTRL_AEAD_GET_TAG = 0x10;
    static final int CTRL_AEAD_SET_TAG = 0x11;

    private static final Linker.Option CRITICAL = OptionalLibrary.CRITICAL;
    private static final OptionalLibrary LIB = OptionalLibrary.open("libcrypto.so.3");

    /** {@code EVP_CIPHER_CTX *EVP_CIPHER_CTX_new(void)}, as an address. */
    static final MethodHandle CTX_NEW = LIB.bind("EVP_CIPHER_CTX_new", FunctionDescriptor.of(JAVA_LONG));
    static final MethodHandle CTX_FREE = LIB.bind("EVP_CIPHER_CTX_free", FunctionDescriptor.ofVoid(JAVA_LONG));
    /** {@code EVP_CipherInit_ex2(ctx, cipher, key, iv, enc, params)}, all pointers as addresses. */
    static final MethodHandle CIPHER_INIT = LIB.bind("EVP_CipherInit_ex2",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG), CRITICAL);
    /** {@code EVP_CipherUpdate(ctx, out, &outl, in, inl)}. */
    static final MethodHandle CIPHER_UPDATE = LIB.bind("EVP_CipherUpdate",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT), CRITICAL);
    /** {@code EVP_CipherFinal_ex(ctx, out, &outl)}. */
    static final MethodHandle CIPHER_FINAL = LIB.bind("EVP_CipherFinal_ex",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG), CRITICAL);
    /** {@code EVP_CIPHER_CTX_ctrl(ctx, type, arg, ptr)}. */
    static final MethodHandle CTX_CTRL = LIB.bind("EVP_CIPHER_CTX_ctrl",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG), CRITICAL);
    /** {@code EVP_PKEY_X25519} ({@code NID_X25519}) from {@code <openssl/evp.h>}. */
    static final int PKEY_X25519 = 1034;
    // X25519 for the handshake. Ordinary downcalls, not critical: they allocate, and a scalar
    // multiplication takes some 30 µs, long enough that a safepoint should not wait for it.
    /** {@code EVP_PKEY *EVP_PKEY_new_raw_private_key(int type, ENGINE *e, const unsigned char *key, size_t len)}. */
    static final MethodHandle PKEY_NEW_PRIVATE = LIB.bind("EVP_PKEY_new_raw_private_key",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    static final MethodHandle PKEY_NEW_PUBLIC = LIB.bind("EVP_PKEY_new_raw_public_key",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    /** {@code int EVP_PKEY_get_raw_public_key(const EVP_PKEY *pkey, unsigned char *pub, size_t *len)}. */
    static final MethodHandle PKEY_GET_PUBLIC = LIB.bind("EVP_PKEY_get_raw_public_key",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    static final MethodHandle PKEY_FREE = LIB.bind("EVP_PKEY_free", FunctionDescriptor.ofVoid(JAVA_LONG));
    /** {@code EVP_PKEY_CTX *EVP_PKEY_CTX_new_from_name(OSSL_LIB_CTX *libctx, const char *name, const char *propquery)}. */
    static final MethodHandle PKEY_CTX_NEW_FROM_NAME = LIB.bind("EVP_PKEY_CTX_new_from_name",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    static final MethodHandle FROMDATA_INIT = LIB.bind("EVP_PKEY_fromdata_init",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
    /** {@code int EVP_PKEY_fromdata(EVP_PKEY_CTX *ctx, EVP_PKEY **ppkey, int selection, OSSL_PARAM params[])}. */
    static final MethodHandle FROMDATA = LIB.bind("EVP_PKEY_fromdata",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG));
    /** {@code EVP_PKEY_CTX *EVP_PKEY_CTX_new(EVP_PKEY *pkey, ENGINE *e)}. */
    static final MethodHandle PKEY_CTX_NEW = LIB.bind("EVP_PKEY_CTX_new",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG));
    static final MethodHandle PKEY_CTX_FREE = LIB.bind("EVP_PKEY_CTX_free", FunctionDescriptor.ofVoid(JAVA_LONG));
    static final MethodHandle DERIVE_INIT = LIB.bind("EVP_PKEY_derive_init",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
    /** {@code int EVP_PKEY_derive_set_peer_ex(EVP_PKEY_CTX *ctx, EVP_PKEY *peer, int validate_peer)}. */
    static final MethodHandle DERIVE_SET_PEER = LIB.bind("EVP_PKEY_derive_set_peer_ex",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    /** {@code int EVP_PKEY_derive(EVP_PKEY_CTX *ctx, unsigned char *key, size_t *keylen)}. */
    static final MethodHandle DERIVE = LIB.bind("EVP_PKEY_derive",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    /** {@code void ERR_clear_error(void)}: a refused derivation leaves an error on the thread's queue. */
    static final MethodHandle CLEAR_ERRORS = LIB.bind("ERR_clear_error", FunctionDescriptor.ofVoid());

    /** The fetched {@code EVP_CIPHER} for ChaCha20-Poly1305 (never freed: one per process), or 0. */
    static final long CHACHA20_POLY1305;
    private static final String VERSION;

    static {
        long cipher = 0;
        String version = null;
        MethodHandle fetch = LIB.bind("EVP_CIPHER_fetch", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG));
        MethodHandle versionOf = LIB.bind("OpenSSL_version", FunctionDescriptor.of(
                ADDRESS.withTargetLayout(MemoryLayout.sequenceLayout(256, ValueLayout.JAVA_BYTE)), JAVA_INT));
        if (fetch != null && versionOf != null && CTX_NEW != null && CTX_FREE != null && CIPHER_INIT != null
                && CIPHER_UPDATE != null && CIPHER_FINAL != null && CTX_CTRL != null) {
            try (Arena names = Arena.ofConfined()) {
                cipher = (long) fetch.invokeExact(0L, names.allocateFrom("ChaCha20-Poly1305"), 0L);
                // OPENSSL_VERSION (0): "OpenSSL 3.0.x  <date>".
                MemorySegment text = (MemorySegment) versionOf.invokeExact(0);
                version = text.getString(0);
            } catch (Throwable t) {
                cipher = 0;
            }
        }
        CHACHA20_POLY1305 = cipher;
        VERSION = cipher != 0 ? version : null;
    }

    /**
     * The library's version line ("OpenSSL 3.0.x …") if this system has a usable libcrypto (3.0 or
     * later, with ChaCha20-Poly1305), else empty.
     */
    public static Optional<String> version() {
        return Optional.ofNullable(VERSION);
    }

    /** "OpenSSL 3.0.x", for the start-up line (the version line also has the build date). */
    static String shortVersion() {
        String[] words = VERSION.split(" ");
        return words.length >= 2 ? words[0] + " " + words[1] : VERSION;
    }

    /** Whether the library is usable and has every call X25519 needs. */
    static boolean hasX25519() {
        return VERSION != null && PKEY_NEW_PRIVATE != null && PKEY_NEW_PUBLIC != null && PKEY_GET_PUBLIC != null
                && PKEY_FREE != null && PKEY_CTX_NEW != null && PKEY_CTX_FREE != null && DERIVE_INIT != null
                && DERIVE_SET_PEER != null && DERIVE != null && CLEAR_ERRORS != null && PKEY_CTX_NEW_FROM_NAME != null
                && FROMDATA_INIT != null && FROMDATA != null;
    }
}
