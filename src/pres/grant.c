/**
 * @file grant.c  Watcher grants (R103): tokens a presentity signs with Ed25519 to let one
 * watcher in until an expiry, each usable once.
 *
 * token   = b64url(payload) "." b64url(signature)        (RFC 4648 §5, no padding)
 * payload = "v1" LF watcher LF presentity LF expiry LF nonce
 *
 * The fields are not JSON (no parser to trust) and not dot-separated inside the payload (a
 * URI has dots; it cannot have a line feed). The signature covers the payload octets exactly
 * as decoded, so there is no canonicalisation to get wrong. The nonce makes every grant
 * distinct, and the replay set makes each one work once.
 */
#include <errno.h>
#include <stdio.h>

#include <openssl/evp.h>

#include <sipveil/sip.h>

#include "pres_int.h"

#define SIG_LEN 64
#define NONCE_LEN 16

const char *pres_grant_result_name(enum pres_grant_result r)
{
    switch (r) {
    case PRES_GRANT_OK:
        return "ok";
    case PRES_GRANT_MALFORMED:
        return "malformed";
    case PRES_GRANT_BAD_SIGNATURE:
        return "bad-signature";
    case PRES_GRANT_EXPIRED:
        return "expired";
    case PRES_GRANT_WRONG_WATCHER:
        return "wrong-watcher";
    case PRES_GRANT_WRONG_PRESENTITY:
        return "wrong-presentity";
    case PRES_GRANT_REPLAYED:
        return "replayed";
    }
    return "?";
}

/* ---- base64 ------------------------------------------------------------------------------ */

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t pres__b64url_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        size_t left = n - i;

        if (left > 1)
            v |= (uint32_t)in[i + 1] << 8;
        if (left > 2)
            v |= in[i + 2];
        out[o++] = b64_url[(v >> 18) & 63];
        out[o++] = b64_url[(v >> 12) & 63];
        if (left > 1)
            out[o++] = b64_url[(v >> 6) & 63];
        if (left > 2)
            out[o++] = b64_url[v & 63];
    }
    out[o] = '\0';
    return o;
}

static int b64_val(char c, bool url)
{
    const char *alpha = url ? b64_url : b64_std;
    const char *p = c ? memchr(alpha, c, 64) : NULL;

    return p ? (int)(p - alpha) : -1;
}

/**
 * @param in the text
 * @param url base64url without padding, or standard base64 with optional padding
 * @param out receives the octets; @param sz its size; @param n how many
 * @return 0, EBADMSG, ENOSPC
 */
int pres_b64_decode(struct sv_slice in, bool url, uint8_t *out, size_t sz, size_t *n)
{
    size_t l = in.l, o = 0, rem;
    uint32_t acc = 0;

    if (!in.p && in.l)
        return EBADMSG;
    if (!url && l % 4 == 0 && l >= 2 && in.p[l - 1] == '=')
        l -= in.p[l - 2] == '=' ? 2 : 1;
    rem = l % 4;
    if (rem == 1)
        return EBADMSG;
    if (l / 4 * 3 + (rem ? rem - 1 : 0) > sz)
        return ENOSPC;
    for (size_t i = 0; i < l; i++) {
        int v = b64_val(in.p[i], url);

        if (v < 0)
            return EBADMSG;
        acc = acc << 6 | (uint32_t)v;
        if (i % 4 == 3) {
            out[o++] = (uint8_t)(acc >> 16);
            out[o++] = (uint8_t)(acc >> 8);
            out[o++] = (uint8_t)acc;
            acc = 0;
        }
    }
    /* Trailing bits that a canonical encoder leaves zero must be zero: one text per value. */
    if (rem == 2) {
        if (acc & 0xf)
            return EBADMSG;
        out[o++] = (uint8_t)(acc >> 4);
    } else if (rem == 3) {
        if (acc & 0x3)
            return EBADMSG;
        out[o++] = (uint8_t)(acc >> 10);
        out[o++] = (uint8_t)(acc >> 2);
    }
    *n = o;
    return 0;
}

/* ---- keys -------------------------------------------------------------------------------- */

int pres_grant_keypair(uint8_t priv[PRES_GRANT_PRIV_LEN], uint8_t pub[PRES_GRANT_KEY_LEN])
{
    int err;

    if ((err = sv_random(priv, PRES_GRANT_PRIV_LEN)) != 0)
        return err;
    return pres_grant_pubkey(priv, pub);
}

/**
 * @param priv a private key (seed)
 * @param pub receives its public key
 * @return 0 or EIO
 */
int pres_grant_pubkey(const uint8_t priv[PRES_GRANT_PRIV_LEN], uint8_t pub[PRES_GRANT_KEY_LEN])
{
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv, PRES_GRANT_PRIV_LEN);
    size_t n = PRES_GRANT_KEY_LEN;
    int err = 0;

    if (!k)
        return EIO;
    if (EVP_PKEY_get_raw_public_key(k, pub, &n) != 1 || n != PRES_GRANT_KEY_LEN)
        err = EIO;
    EVP_PKEY_free(k);
    return err;
}

/* ---- make -------------------------------------------------------------------------------- */

static bool field_ok(struct sv_slice s)
{
    return s.p && s.l > 0 && !memchr(s.p, '\n', s.l) && !memchr(s.p, '\0', s.l);
}

/**
 * @param priv the presentity's private key
 * @param watcher the watcher's IMPU
 * @param presentity the presentity's AOR
 * @param expires Unix seconds
 * @param buf receives the token; @param sz its size; @param n its length
 * @return 0, EINVAL, ENOSPC, EIO, ENOMEM
 */
int pres_grant_make(const uint8_t priv[PRES_GRANT_PRIV_LEN], struct sv_slice watcher,
                    struct sv_slice presentity, int64_t expires, char *buf, size_t sz, size_t *n)
{
    char payload[PRES_GRANT_MAX], nonce_hex[2 * NONCE_LEN + 1];
    uint8_t nonce[NONCE_LEN], sig[SIG_LEN];
    size_t siglen = SIG_LEN, pl, o;
    EVP_MD_CTX *ctx = NULL;
    EVP_PKEY *k = NULL;
    int len, err;

    if (!priv || !buf || !n || !field_ok(watcher) || !field_ok(presentity) || expires < 0)
        return EINVAL;
    if ((err = sv_random(nonce, sizeof(nonce))) != 0)
        return err;
    for (size_t i = 0; i < NONCE_LEN; i++)
        snprintf(nonce_hex + 2 * i, 3, "%02x", nonce[i]);
    len = snprintf(payload, sizeof(payload), "v1\n%.*s\n%.*s\n%lld\n%s", SV_FMT(watcher),
                   SV_FMT(presentity), (long long)expires, nonce_hex);
    if (len < 0 || (size_t)len >= sizeof(payload))
        return ENOSPC;
    pl = (size_t)len;
    /* Both parts, a dot and the NUL must fit, and the whole must be acceptable to verify. */
    o = (pl + 2) / 3 * 4 + 1 + (SIG_LEN + 2) / 3 * 4 + 1;
    if (o > sz || o > PRES_GRANT_MAX + 1)
        return ENOSPC;
    err = EIO;
    k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv, PRES_GRANT_PRIV_LEN);
    ctx = EVP_MD_CTX_new();
    if (!k || !ctx)
        goto out;
    if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, k) != 1 ||
        EVP_DigestSign(ctx, sig, &siglen, (const uint8_t *)payload, pl) != 1 || siglen != SIG_LEN)
        goto out;
    o = pres__b64url_encode((const uint8_t *)payload, pl, buf);
    buf[o++] = '.';
    o += pres__b64url_encode(sig, SIG_LEN, buf + o);
    *n = o;
    err = 0;
out:
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k);
    return err;
}

/* ---- replay set -------------------------------------------------------------------------- */

struct grant_seen {
    uint8_t nonce[NONCE_LEN];
    int64_t exp;
};

struct pres_grant_replay {
    struct grant_seen *e;
    size_t n, cap;
    int64_t floor; /* grants expiring at or before this may have been evicted: refused */
};

/**
 * @param rp receives the set
 * @param capacity most nonces kept (> 0)
 * @return 0, EINVAL, ENOMEM
 */
int pres_grant_replay_alloc(struct pres_grant_replay **rp, size_t capacity)
{
    struct pres_grant_replay *r;

    if (!rp || capacity == 0)
        return EINVAL;
    if (!(r = sv_calloc(1, sizeof(*r))))
        return ENOMEM;
    if (!(r->e = sv_calloc(capacity, sizeof(*r->e)))) {
        sv_free(r);
        return ENOMEM;
    }
    r->cap = capacity;
    r->floor = INT64_MIN;
    *rp = r;
    return 0;
}

void pres_grant_replay_free(struct pres_grant_replay *r)
{
    if (r) {
        sv_free(r->e);
        sv_free(r);
    }
}

size_t pres_grant_replay_count(const struct pres_grant_replay *r)
{
    return r ? r->n : 0;
}

/* Whether the grant (nonce, exp) was seen, or may have been; if not, remember it. */
static bool replay_check_add(struct pres_grant_replay *r, const uint8_t nonce[NONCE_LEN],
                             int64_t exp, int64_t now)
{
    size_t i, first = 0;

    if (exp <= r->floor)
        return true;
    for (i = 0; i < r->n; i++)
        if (memcmp(r->e[i].nonce, nonce, NONCE_LEN) == 0)
            return true;
    /* Expired entries go first: verify refuses their grants anyway. */
    for (i = 0; i < r->n;) {
        if (r->e[i].exp <= now)
            r->e[i] = r->e[--r->n];
        else
            i++;
    }
    if (r->n == r->cap) {
        for (i = 1; i < r->n; i++)
            if (r->e[i].exp < r->e[first].exp)
                first = i;
        if (r->e[first].exp > r->floor)
            r->floor = r->e[first].exp;
        r->e[first] = r->e[--r->n];
        if (exp <= r->floor)
            return true; /* this grant would itself be below the floor */
    }
    memcpy(r->e[r->n].nonce, nonce, NONCE_LEN);
    r->e[r->n++].exp = exp;
    return false;
}

/* ---- verify ------------------------------------------------------------------------------ */

/* Whether a URI from the token names the same identity as @p want. */
static bool same_uri(struct sv_slice got, struct sv_slice want)
{
    struct sip_uri a, b;

    if (sip_uri_decode(&a, got) == 0 && sip_uri_decode(&b, want) == 0 &&
        a.scheme != SIP_URI_OTHER && b.scheme != SIP_URI_OTHER)
        return sip_uri_equal(&a, &b);
    return sv_slice_eq(got, want);
}

static bool sig_ok(const uint8_t pub[PRES_GRANT_KEY_LEN], const uint8_t *msg, size_t l,
                   const uint8_t sig[SIG_LEN], int *err)
{
    EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, PRES_GRANT_KEY_LEN);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = false;

    *err = 0;
    if (!k || !ctx)
        *err = ENOMEM;
    else if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k) != 1)
        *err = EIO;
    else
        ok = EVP_DigestVerify(ctx, sig, SIG_LEN, msg, l) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k);
    return ok;
}

/* The value of a lower-case hex digit (make writes lower case; one text per grant). */
static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Split the next LF-terminated field off @p cur (the last one runs to the end). */
static struct sv_slice next_field(struct sv_slice *cur, bool last)
{
    const char *lf = last ? NULL : sv_slice_chr(*cur, '\n');
    struct sv_slice f;

    if (!last && !lf)
        return sv_slice_make(NULL, 0);
    f = sv_slice_make(cur->p, last ? cur->l : (size_t)(lf - cur->p));
    cur->p += f.l + !last;
    cur->l -= f.l + !last;
    return f;
}

/**
 * @param pub the key of the rule being checked
 * @param token the token as presented
 * @param watcher the watcher's asserted identity
 * @param presentity the presentity being watched
 * @param now Unix seconds
 * @param replay the replay set, or NULL
 * @param res receives the verdict
 * @return 0, EINVAL, ENOMEM, EIO
 */
int pres_grant_verify(const uint8_t pub[PRES_GRANT_KEY_LEN], struct sv_slice token,
                      struct sv_slice watcher, struct sv_slice presentity, int64_t now,
                      struct pres_grant_replay *replay, enum pres_grant_result *res)
{
    uint8_t payload[PRES_GRANT_MAX], sig[SIG_LEN + 3], nonce[NONCE_LEN];
    struct sv_slice cur, ver, fw, fp, fe, fn;
    const char *dot;
    size_t pl, sl;
    uint64_t exp = 0;
    int err;

    if (!pub || !res || (!token.p && token.l))
        return EINVAL;
    *res = PRES_GRANT_MALFORMED;
    if (!token.p || token.l > PRES_GRANT_MAX)
        return 0;
    dot = NULL;
    for (const char *p = token.p + token.l; p > token.p; p--)
        if (p[-1] == '.') {
            dot = p - 1;
            break;
        }
    if (!dot ||
        pres_b64_decode(sv_slice_make(token.p, (size_t)(dot - token.p)), true, payload,
                        sizeof(payload), &pl) ||
        pres_b64_decode(sv_slice_make(dot + 1, (size_t)(token.p + token.l - dot - 1)), true, sig,
                        sizeof(sig), &sl) ||
        sl != SIG_LEN)
        return 0;
    if (!sig_ok(pub, payload, pl, sig, &err)) {
        if (err)
            return err;
        *res = PRES_GRANT_BAD_SIGNATURE;
        return 0;
    }
    /* Signed by the key: now the fields can be believed, and must still be well-formed. */
    cur = sv_slice_make((const char *)payload, pl);
    ver = next_field(&cur, false);
    fw = next_field(&cur, false);
    fp = next_field(&cur, false);
    fe = next_field(&cur, false);
    fn = next_field(&cur, true);
    if (!pres__eq(ver, "v1") || !fw.l || !fp.l || !fe.l || fe.l > 19 || fn.l != 2 * NONCE_LEN ||
        sv_slice_chr(fn, '\n'))
        return 0;
    for (size_t i = 0; i < fe.l; i++) {
        if (fe.p[i] < '0' || fe.p[i] > '9')
            return 0;
        exp = exp * 10 + (uint64_t)(fe.p[i] - '0');
    }
    if (exp > INT64_MAX)
        return 0;
    for (size_t i = 0; i < NONCE_LEN; i++) {
        int hi = hex_val(fn.p[2 * i]), lo = hex_val(fn.p[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return 0;
        nonce[i] = (uint8_t)(hi << 4 | lo);
    }
    if (!same_uri(fw, sv_slice_trim(watcher)))
        *res = PRES_GRANT_WRONG_WATCHER;
    else if (!same_uri(fp, sv_slice_trim(presentity)))
        *res = PRES_GRANT_WRONG_PRESENTITY;
    else if ((int64_t)exp <= now)
        *res = PRES_GRANT_EXPIRED;
    else if (replay && replay_check_add(replay, nonce, (int64_t)exp, now))
        *res = PRES_GRANT_REPLAYED;
    else
        *res = PRES_GRANT_OK;
    return 0;
}
