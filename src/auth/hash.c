/**
 * @file hash.c  The hash and HMAC calls of the layer, over lists of parts.
 *
 * Digest hashes are always H of values joined by ':'; hashing the parts in turn, with the
 * colons fed between them, spares a buffer whose size would depend on the peer's input.
 *
 * The digests are fetched from OpenSSL once. EVP_md5() and EVP_sha256() hand out methods that
 * OpenSSL 3 fetches again at every EVP_DigestInit (a lookup in the provider store, under its
 * lock), and an EVP_MAC is fetched and given its parameters per use: together a tenth of the
 * CPU of a registration through three nodes (bench/register). HMAC is therefore RFC 2104 over
 * the fetched SHA-256 itself.
 */
#include <pthread.h>
#include <openssl/crypto.h>

#include "auth_int.h"

static EVP_MD *md_md5, *md_sha256; /* fetched once, kept for the process's life */
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_fetch(void)
{
    md_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/**
 * The hash function of a Digest algorithm (RFC 7616 §3.3; RFC 3310 §3.1 for AKAv1-MD5).
 * @param alg  the algorithm.
 * @return the OpenSSL digest; MD5 for the MD5 family.
 */
const EVP_MD *auth__digest_md(enum auth_digest_alg alg)
{
    pthread_once(&md_once, md_fetch);
    switch (alg) {
    case AUTH_DIGEST_SHA256:
    case AUTH_DIGEST_SHA256_SESS:
        return md_sha256 ? md_sha256 : EVP_sha256();
    default:
        return md_md5 ? md_md5 : EVP_md5();
    }
}

/**
 * Hex of H(p[0] ":" ... ":" p[n-1]).
 * @param md   the hash.
 * @param p    the parts; unset slices hash as empty strings.
 * @param n    how many.
 * @param out  out: lower-case hex, NUL-terminated.
 * @return 0, ENOMEM or EIO.
 */
int auth__hash_join(const EVP_MD *md, const struct sv_slice *p, size_t n,
                    char out[AUTH_DIGEST_HEX_MAX + 1])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t h[EVP_MAX_MD_SIZE];
    unsigned hl = 0;
    int err = EIO;

    if (!ctx)
        return ENOMEM;
    if (EVP_DigestInit_ex(ctx, md, NULL) != 1)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (i && EVP_DigestUpdate(ctx, ":", 1) != 1)
            goto out;
        if (p[i].l && EVP_DigestUpdate(ctx, p[i].p, p[i].l) != 1)
            goto out;
    }
    if (EVP_DigestFinal_ex(ctx, h, &hl) != 1 || hl * 2 > AUTH_DIGEST_HEX_MAX)
        goto out;
    auth__hex(h, hl, out);
    err = 0;
out:
    EVP_MD_CTX_free(ctx);
    OPENSSL_cleanse(h, sizeof(h));
    return err;
}

/* H(a || parts) with @p md into @p out (its size). @return 0, ENOMEM or EIO. */
static int hash_parts(EVP_MD_CTX *ctx, const EVP_MD *md, const uint8_t *a, size_t al,
                      const struct sv_slice *p, size_t n, uint8_t *out)
{
    unsigned ol = 0;

    if (EVP_DigestInit_ex(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, a, al) != 1)
        return EIO;
    for (size_t i = 0; i < n; i++)
        if (p[i].l && EVP_DigestUpdate(ctx, p[i].p, p[i].l) != 1)
            return EIO;
    return EVP_DigestFinal_ex(ctx, out, &ol) == 1 && ol == 32 ? 0 : EIO;
}

/**
 * HMAC-SHA-256 (RFC 2104) over the concatenation of the parts.
 * @param key   the key.
 * @param klen  its length.
 * @param p     the parts.
 * @param n     how many.
 * @param out   out: the 32-octet tag.
 * @return 0, ENOMEM or EIO.
 */
int auth__hmac_sha256(const uint8_t *key, size_t klen, const struct sv_slice *p, size_t n,
                      uint8_t out[32])
{
    enum { B = 64 }; /* SHA-256's block */
    const EVP_MD *md = auth__digest_md(AUTH_DIGEST_SHA256);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t k[B] = {0}, pad[B], inner[32];
    int err = ENOMEM;

    if (!ctx)
        return ENOMEM;
    if (klen > B) { /* a longer key is hashed first */
        struct sv_slice kp = sv_slice_make((const char *)key, klen);
        if ((err = hash_parts(ctx, md, NULL, 0, &kp, 1, k)))
            goto out;
    } else if (klen) {
        memcpy(k, key, klen);
    }
    for (int i = 0; i < B; i++)
        pad[i] = k[i] ^ 0x36;
    if ((err = hash_parts(ctx, md, pad, B, p, n, inner)))
        goto out;
    for (int i = 0; i < B; i++)
        pad[i] = k[i] ^ 0x5c;
    struct sv_slice ip = sv_slice_make((const char *)inner, sizeof(inner));
    err = hash_parts(ctx, md, pad, B, &ip, 1, out);
out:
    EVP_MD_CTX_free(ctx);
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(inner, sizeof(inner));
    return err;
}
