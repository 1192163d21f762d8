/**
 * @file hash.c  The hash and HMAC calls of the layer, over lists of parts.
 *
 * Digest hashes are always H of values joined by ':'; hashing the parts in turn, with the
 * colons fed between them, spares a buffer whose size would depend on the peer's input.
 */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include "auth_int.h"

/**
 * The hash function of a Digest algorithm (RFC 7616 §3.3; RFC 3310 §3.1 for AKAv1-MD5).
 * @param alg  the algorithm.
 * @return the OpenSSL digest; MD5 for the MD5 family.
 */
const EVP_MD *auth__digest_md(enum auth_digest_alg alg)
{
    switch (alg) {
    case AUTH_DIGEST_SHA256:
    case AUTH_DIGEST_SHA256_SESS:
        return EVP_sha256();
    default:
        return EVP_md5();
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
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[2];
    size_t ol = 0;
    int err = EIO;

    if (!ctx) {
        err = ENOMEM;
        goto out;
    }
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_MAC_init(ctx, key, klen, params) != 1)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (p[i].l && EVP_MAC_update(ctx, (const unsigned char *)p[i].p, p[i].l) != 1)
            goto out;
    }
    if (EVP_MAC_final(ctx, out, &ol, 32) != 1 || ol != 32)
        goto out;
    err = 0;
out:
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return err;
}
