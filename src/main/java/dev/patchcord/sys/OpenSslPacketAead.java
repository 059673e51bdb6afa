package dev.patchcord.sys;

/**
 * ChaCha20-Poly1305 with OpenSSL's EVP cipher ({@link LibCrypto}): one {@code EVP_CIPHER_CTX} per
 * thread, keyed once per session key; per packet the nonce is set and the packet encrypted or
 * decrypted in place, then finished, with the tag taken or checked. The context is freed when
 * this object is collected.
 */
public final class OpenSslPacketAead extends NativePacketAead {
    private final long ctx;

    /** @throws IllegalStateException if this system has no usable libcrypto */
    public OpenSslPacketAead() {
        if (LibCrypto.version().isEmpty()) {
            throw new IllegalStateException("no usable libcrypto.so.3 on this system");
        }
        try {
            ctx = (long) LibCrypto.CTX_NEW.invokeExact();
            if (ctx == 0) {
                throw new OutOfMemoryError("EVP_CIPHER_CTX_new");
            }
            releaseWhenCollected(this, LibCrypto.CTX_FREE, ctx);
            // Bind the cipher once, without a key: passing the cipher again later would make the
            // library tear the context down and build a new one.
            check((int) LibCrypto.CIPHER_INIT.invokeExact(ctx, LibCrypto.CHACHA20_POLY1305, 0L, 0L, 1, 0L), 1, "init");
        } catch (Error | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("libcrypto: " + t, t);
        }
    }

    @Override
    void setKey(long key) throws Throwable {
        // enc -1: the direction stays; each packet sets it with its nonce.
        check((int) LibCrypto.CIPHER_INIT.invokeExact(ctx, 0L, key, 0L, -1, 0L), 1, "set the key");
    }

    @Override
    void sealAt(long at, int len) throws Throwable {
        check((int) LibCrypto.CIPHER_INIT.invokeExact(ctx, 0L, 0L, nonce, 1, 0L), 1, "set the nonce");
        if (len > 0) {
            check((int) LibCrypto.CIPHER_UPDATE.invokeExact(ctx, at, outLength, at, len), 1, "seal");
        }
        check((int) LibCrypto.CIPHER_FINAL.invokeExact(ctx, at + len, outLength), 1, "seal");
        check((int) LibCrypto.CTX_CTRL.invokeExact(ctx, LibCrypto.CTRL_AEAD_GET_TAG, TAG, at + len), 1, "get the tag");
    }

    @Override
    boolean openAt(long at, int plain) throws Throwable {
        check((int) LibCrypto.CIPHER_INIT.invokeExact(ctx, 0L, 0L, nonce, 0, 0L), 1, "set the nonce");
        check((int) LibCrypto.CTX_CTRL.invokeExact(ctx, LibCrypto.CTRL_AEAD_SET_TAG, TAG, at + plain), 1, "set the tag");
        if (plain > 0) {
            check((int) LibCrypto.CIPHER_UPDATE.invokeExact(ctx, at, outLength, at, plain), 1, "open");
        }
        return (int) LibCrypto.CIPHER_FINAL.invokeExact(ctx, at + plain, outLength) == 1;
    }

    @Override
    public String name() {
        return LibCrypto.shortVersion();
    }
}
