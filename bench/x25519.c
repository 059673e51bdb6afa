/*
 * X25519 per operation in the native libraries patchcord could call, without the JVM: what the
 * figures of docs/performance.md ("The handshake's X25519", the C loop's table) come from. A
 * benchmark tool only, not part of the product.
 *
 *   gcc -O2 -o /tmp/x25519 bench/x25519.c -lcrypto -lgcrypt -l:libsodium.so.23 && /tmp/x25519 [N]
 *
 * N operations (default 20000) of each kind, after N/10 unmeasured ones; prints µs per operation
 * and the result's first bytes (the shared secrets alike, and the public keys alike).
 * libsodium is declared here rather than through its header, which is not installed everywhere
 * the library is; build with -DNO_SODIUM (and without -l:libsodium.so.23) where it is missing.
 */
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/params.h>
#include <gcrypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef NO_SODIUM
int sodium_init(void);
int crypto_scalarmult_curve25519(unsigned char *q, const unsigned char *n, const unsigned char *p);
int crypto_scalarmult_curve25519_base(unsigned char *q, const unsigned char *n);
const char *sodium_version_string(void);
#endif

static unsigned char priv[32], peer[32], out[32];
static EVP_PKEY_CTX *importer;

static void die(const char *what) {
    fprintf(stderr, "x25519: %s failed\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

/* The engine's way: the private key imported beside an all-zero placeholder public key. */
static void openssl_placeholder(void) {
    static unsigned char zero[32];
    OSSL_PARAM params[] = {
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, priv, 32),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, zero, 32),
        OSSL_PARAM_END,
    };
    EVP_PKEY *key = NULL;
    if (EVP_PKEY_fromdata(importer, &key, OSSL_KEYMGMT_SELECT_KEYPAIR, params) != 1) die("EVP_PKEY_fromdata");
    EVP_PKEY *p = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, 32);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
    size_t n = 32;
    if (!p || !ctx || EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer_ex(ctx, p, 0) != 1
            || EVP_PKEY_derive(ctx, out, &n) != 1) die("placeholder derive");
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(p);
    EVP_PKEY_free(key);
}

/* The ordinary import, which also computes the private key's public key. */
static void openssl_ordinary(void) {
    EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
    EVP_PKEY *p = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, 32);
    EVP_PKEY_CTX *ctx = key ? EVP_PKEY_CTX_new(key, NULL) : NULL;
    size_t n = 32;
    if (!p || !ctx || EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer_ex(ctx, p, 0) != 1
            || EVP_PKEY_derive(ctx, out, &n) != 1) die("ordinary derive");
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(p);
    EVP_PKEY_free(key);
}

static void openssl_public(void) {
    EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
    size_t n = 32;
    if (!key || EVP_PKEY_get_raw_public_key(key, out, &n) != 1) die("public key");
    EVP_PKEY_free(key);
}

static void gcrypt_shared(void) {
    if (gcry_ecc_mul_point(GCRY_ECC_CURVE25519, out, priv, peer)) die("gcry_ecc_mul_point");
}

static void gcrypt_public(void) {
    if (gcry_ecc_mul_point(GCRY_ECC_CURVE25519, out, priv, NULL)) die("gcry_ecc_mul_point base");
}

#ifndef NO_SODIUM
static void sodium_shared(void) {
    if (crypto_scalarmult_curve25519(out, priv, peer)) die("crypto_scalarmult_curve25519");
}

static void sodium_public(void) {
    if (crypto_scalarmult_curve25519_base(out, priv)) die("crypto_scalarmult_curve25519_base");
}
#endif

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void run(const char *name, void (*op)(void), long n) {
    for (long i = 0; i < n / 10; i++) op();
    double start = now();
    for (long i = 0; i < n; i++) op();
    double us = (now() - start) / n * 1e6;
    /* The result's first bytes, so that the libraries can be seen to compute the same. */
    printf("%-52s %8.1f us  (%02x%02x%02x%02x...)\n", name, us, out[0], out[1], out[2], out[3]);
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 20000;
    for (int i = 0; i < 32; i++) {
        priv[i] = (unsigned char) (i * 7 + 1);
        peer[i] = (unsigned char) (255 - i * 5);
    }
    peer[31] &= 0x7f;
    importer = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
    if (!importer || EVP_PKEY_fromdata_init(importer) != 1) die("import context");
    if (!gcry_check_version(NULL)) die("gcry_check_version");
    gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
    gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    printf("%s, libgcrypt %s, %ld operations each\n", OpenSSL_version(OPENSSL_VERSION), gcry_check_version(NULL), n);
    run("OpenSSL: import with placeholder + derive", openssl_placeholder, n);
    run("OpenSSL: EVP_PKEY_new_raw_private_key + derive", openssl_ordinary, n);
    run("OpenSSL: public key", openssl_public, n);
    run("libgcrypt: gcry_ecc_mul_point, shared secret", gcrypt_shared, n);
    run("libgcrypt: gcry_ecc_mul_point, public key", gcrypt_public, n);
#ifndef NO_SODIUM
    if (sodium_init() < 0) die("sodium_init");
    printf("libsodium %s\n", sodium_version_string());
    run("libsodium: crypto_scalarmult_curve25519", sodium_shared, n);
    run("libsodium: crypto_scalarmult_curve25519_base", sodium_public, n);
#endif
    EVP_PKEY_CTX_free(importer);
    return 0;
}
