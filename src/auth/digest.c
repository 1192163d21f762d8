/**
 * @file digest.c  Digest algorithms, HA1, the response, and the WWW-Authenticate value
 * (RFC 3261 §22.4, RFC 7616 §3.4, RFC 8760; RFC 3310 §3 for AKAv1-MD5).
 *
 * With qop=auth, for an algorithm whose hash is H:
 *
 *     HA1      = H(username ":" realm ":" password)                  (stored, as hex)
 *     HA1-sess = H(HA1 ":" nonce ":" cnonce)                          (-sess algorithms)
 *     HA2      = H(method ":" digest-uri)
 *     response = H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2)
 *
 * A -sess algorithm stores the same HA1 as its base algorithm; the session step needs the
 * nonce and cnonce and so happens when the response is computed. For AKAv1-MD5 the password
 * is the AKA RES as raw octets (RFC 3310 §3.1), and the rest is MD5 Digest.
 */
#include <stdio.h>

#include <openssl/crypto.h>

#include "auth_int.h"

static const char *const alg_names[AUTH_DIGEST_ALG_COUNT] = {
    [AUTH_DIGEST_MD5] = "MD5",
    [AUTH_DIGEST_MD5_SESS] = "MD5-sess",
    [AUTH_DIGEST_SHA256] = "SHA-256",
    [AUTH_DIGEST_SHA256_SESS] = "SHA-256-sess",
    [AUTH_DIGEST_AKAV1_MD5] = "AKAv1-MD5",
};

/**
 * Decode an algorithm parameter (case-insensitive, as RFC 7616 tokens compare).
 * @param s    the value; unset means MD5 (RFC 7616 §3.3: the default).
 * @param alg  out: the algorithm.
 * @return 0, or ENOTSUP for an algorithm this layer does not implement (SHA-512-256,
 *         AKAv2-MD5, an unknown token).
 */
int auth_digest_alg_parse(struct sv_slice s, enum auth_digest_alg *alg)
{
    if (!s.p) {
        *alg = AUTH_DIGEST_MD5;
        return 0;
    }
    for (int i = 0; i < AUTH_DIGEST_ALG_COUNT; i++) {
        if (sv_slice_caseeq_cstr(s, alg_names[i])) {
            *alg = (enum auth_digest_alg)i;
            return 0;
        }
    }
    return ENOTSUP;
}

/**
 * The token of an algorithm, as it goes on the wire.
 * @param alg  the algorithm.
 * @return the name, or "?" for a value out of range.
 */
const char *auth_digest_alg_name(enum auth_digest_alg alg)
{
    return (unsigned)alg < AUTH_DIGEST_ALG_COUNT ? alg_names[alg] : "?";
}

/**
 * Hex length of the algorithm's hashes (HA1 and response).
 * @param alg  the algorithm.
 * @return 32 for the MD5 family, 64 for SHA-256.
 */
size_t auth_digest_hex_len(enum auth_digest_alg alg)
{
    return (size_t)EVP_MD_get_size(auth__digest_md(alg)) * 2;
}

/**
 * HA1 = H(username ":" realm ":" password), the value a registrar stores instead of the
 * password (RFC 7616 §3.4.2).
 *
 * @param alg       the algorithm; a -sess one yields its base HA1.
 * @param username  the username, as the client sends it.
 * @param realm     the realm.
 * @param password  the password; any octets (for AKAv1-MD5, RES).
 * @param ha1       out: lower-case hex, NUL-terminated.
 * @return 0, EINVAL, ENOMEM or EIO.
 */
int auth_digest_ha1(enum auth_digest_alg alg, struct sv_slice username, struct sv_slice realm,
                    struct sv_slice password, char ha1[AUTH_DIGEST_HEX_MAX + 1])
{
    struct sv_slice p[3] = {username, realm, password};

    if ((unsigned)alg >= AUTH_DIGEST_ALG_COUNT || !ha1)
        return EINVAL;
    return auth__hash_join(auth__digest_md(alg), p, 3, ha1);
}

static bool alg_is_sess(enum auth_digest_alg alg)
{
    return alg == AUTH_DIGEST_MD5_SESS || alg == AUTH_DIGEST_SHA256_SESS;
}

/**
 * The response a client with @p ha1 sends for qop=auth (RFC 7616 §3.4.1).
 *
 * @param alg     the algorithm.
 * @param ha1     the stored HA1, hex of the algorithm's length.
 * @param cred    nonce, nc, cnonce, qop and uri are used; the rest is ignored.
 * @param method  the request method.
 * @param out     out: lower-case hex, NUL-terminated.
 * @return 0, EINVAL (bad algorithm, HA1 of the wrong length), ENOMEM or EIO.
 */
int auth_digest_response(enum auth_digest_alg alg, struct sv_slice ha1,
                         const struct auth_digest_resp *cred, struct sv_slice method,
                         char out[AUTH_DIGEST_HEX_MAX + 1])
{
    const EVP_MD *md;
    char a1[AUTH_DIGEST_HEX_MAX + 1], ha2[AUTH_DIGEST_HEX_MAX + 1];
    int err;

    if ((unsigned)alg >= AUTH_DIGEST_ALG_COUNT || !cred || !out ||
        !auth__is_hex(ha1, auth_digest_hex_len(alg)))
        return EINVAL;
    md = auth__digest_md(alg);
    /* HA1 enters the next hash as text: a store that kept it in upper case still works. */
    for (size_t i = 0; i < ha1.l; i++) {
        char c = ha1.p[i];
        a1[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
    a1[ha1.l] = '\0';
    if (alg_is_sess(alg)) {
        struct sv_slice s[3] = {sv_slice_make(a1, ha1.l), cred->nonce, cred->cnonce};
        err = auth__hash_join(md, s, 3, ha2); /* ha2 as scratch: it is computed below */
        if (err)
            goto out;
        memcpy(a1, ha2, ha1.l);
    }
    {
        struct sv_slice h2[2] = {method, cred->uri};
        err = auth__hash_join(md, h2, 2, ha2);
        if (err)
            goto out;
    }
    {
        struct sv_slice r[6] = {
            sv_slice_make(a1, ha1.l), cred->nonce, cred->nc, cred->cnonce, cred->qop,
            sv_slice_make(ha2, ha1.l)};
        err = auth__hash_join(md, r, 6, out);
    }
out:
    OPENSSL_cleanse(a1, sizeof(a1));
    return err;
}

/**
 * Compare the received response with the expected one in constant time. The received hex is
 * folded to lower case first: RFC 7616 asks for lower case, some clients send upper.
 *
 * @param alg     the algorithm of the credentials.
 * @param ha1     the stored HA1.
 * @param cred    the credentials; response must already have the algorithm's hex length.
 * @param method  the request method.
 * @param match   out: whether they are equal.
 * @return 0, or an errno of auth_digest_response.
 */
int auth__digest_response_ok(enum auth_digest_alg alg, struct sv_slice ha1,
                             const struct auth_digest_resp *cred, struct sv_slice method,
                             bool *match)
{
    char want[AUTH_DIGEST_HEX_MAX + 1], got[AUTH_DIGEST_HEX_MAX + 1];
    size_t len = auth_digest_hex_len(alg);
    int err;

    *match = false;
    if (cred->response.l != len)
        return 0;
    err = auth_digest_response(alg, ha1, cred, method, want);
    if (err)
        return err;
    for (size_t i = 0; i < len; i++) {
        char c = cred->response.p[i];
        got[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
    *match = CRYPTO_memcmp(want, got, len) == 0;
    OPENSSL_cleanse(want, sizeof(want));
    return 0;
}

/* A value that can sit between double quotes without escaping: no '"', '\', nor controls. */
static bool quotable(struct sv_slice s)
{
    if (!s.p)
        return false;
    for (size_t i = 0; i < s.l; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c == '"' || c == '\\' || c < 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

/**
 * Write one challenge value: realm, nonce, algorithm, qop="auth", then @p extra verbatim.
 * @return 0, EINVAL for a realm or nonce that would need escaping, or ENOSPC.
 */
int auth__challenge_print(struct sv_slice realm, struct sv_slice nonce, enum auth_digest_alg alg,
                          const char *extra, char *buf, size_t sz, size_t *n)
{
    int w;

    if (!quotable(realm) || !quotable(nonce) || (unsigned)alg >= AUTH_DIGEST_ALG_COUNT || !buf)
        return EINVAL;
    if (realm.l > INT32_MAX || nonce.l > INT32_MAX)
        return EINVAL;
    w = snprintf(buf, sz, "Digest realm=\"%.*s\", nonce=\"%.*s\", algorithm=%s, qop=\"auth\"%s",
                 SV_FMT(realm), SV_FMT(nonce), alg_names[alg], extra);
    if (w < 0 || (size_t)w >= sz)
        return ENOSPC;
    if (n)
        *n = (size_t)w;
    return 0;
}

/**
 * Write the value of a WWW-Authenticate (or Proxy-Authenticate) header:
 * `Digest realm="…", nonce="…", algorithm=…, qop="auth"` and `, stale=true` when asked
 * (RFC 7616 §3.3). RFC 8760 §2.4 lets a server send one such header per algorithm it offers,
 * each with its own nonce, SHA-256 first.
 *
 * @param realm  the realm (no '"', '\' or control characters: it comes from configuration).
 * @param nonce  the nonce.
 * @param alg    the algorithm.
 * @param stale  add stale=true: the previous answer was right but its nonce had expired.
 * @param buf    out: the value, NUL-terminated.
 * @param sz     size of @p buf.
 * @param n      out: characters written without the NUL; may be NULL.
 * @return 0, EINVAL or ENOSPC.
 */
int auth_digest_challenge_print(struct sv_slice realm, struct sv_slice nonce,
                                enum auth_digest_alg alg, bool stale, char *buf, size_t sz,
                                size_t *n)
{
    return auth__challenge_print(realm, nonce, alg, stale ? ", stale=true" : "", buf, sz, n);
}

/**
 * A result's name, for debug logs and test output.
 * @param r  the result.
 * @return a constant string.
 */
const char *auth_digest_result_name(enum auth_digest_result r)
{
    static const char *const names[] = {
        [AUTH_DIGEST_OK] = "ok",
        [AUTH_DIGEST_STALE] = "stale",
        [AUTH_DIGEST_BAD_RESPONSE] = "bad-response",
        [AUTH_DIGEST_BAD_NONCE] = "bad-nonce",
        [AUTH_DIGEST_REPLAY] = "replay",
        [AUTH_DIGEST_ALG_MISMATCH] = "algorithm-mismatch",
        [AUTH_DIGEST_MALFORMED] = "malformed",
    };

    return (unsigned)r < SV_ARRAY_SIZE(names) ? names[r] : "?";
}
