/**
 * @file nonce.c  Self-validating server nonces (RFC 7616 §3.3 leaves the format to the server).
 *
 * A nonce is base64 of 39 octets:
 *
 *     version (1) | algorithm (1) | issued, seconds, big-endian (8) | random (13) | tag (16)
 *
 * where tag is the first 16 octets of HMAC-SHA-256(key, the first 23 octets || realm). The tag
 * lets any worker holding the key tell, with no table, that the nonce is ours, that it was
 * issued for this realm and this algorithm, and when. The random part keeps two nonces of the
 * same second apart, so that the replay table sees distinct nonces. 39 octets encode to 52
 * characters without padding.
 */
#include <openssl/crypto.h>

#include "auth_int.h"

enum {
    NONCE_VERSION = 1,
    NONCE_RAW = 39,
    NONCE_SIGNED = 23, /* version, algorithm, time, random */
    NONCE_RANDOM = 13,
    NONCE_TAG = 16,
};

/**
 * A fresh random key.
 * @param nk          out: the key.
 * @param lifetime_s  how long a nonce stays fresh, seconds (RFC 7616 leaves it to the server;
 *                    a few minutes suits SIP, whose clients answer within one transaction).
 * @return 0, EINVAL for a zero lifetime, or the errno of sv_random.
 */
int auth_nonce_key_init(struct auth_nonce_key *nk, uint32_t lifetime_s)
{
    if (!nk || !lifetime_s)
        return EINVAL;
    nk->lifetime_s = lifetime_s;
    return sv_random(nk->key, sizeof(nk->key));
}

/**
 * A given key: for a cluster whose nodes must accept each other's nonces, and for tests.
 * @param nk          out: the key.
 * @param key         the key octets.
 * @param lifetime_s  as for auth_nonce_key_init.
 */
void auth_nonce_key_set(struct auth_nonce_key *nk, const uint8_t key[AUTH_NONCE_KEY_LEN],
                        uint32_t lifetime_s)
{
    memcpy(nk->key, key, AUTH_NONCE_KEY_LEN);
    nk->lifetime_s = lifetime_s;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static int nonce_tag(const struct auth_nonce_key *nk, const uint8_t *raw, struct sv_slice realm,
                     uint8_t tag[32])
{
    struct sv_slice p[2] = {sv_slice_make((const char *)raw, NONCE_SIGNED), realm};

    return auth__hmac_sha256(nk->key, sizeof(nk->key), p, 2, tag);
}

/**
 * Issue a nonce.
 * @param nk     the server key.
 * @param alg    the algorithm of the challenge that carries it.
 * @param realm  the realm of that challenge.
 * @param now_s  the current time, seconds (any epoch, the same as auth_nonce_check's).
 * @param out    out: 52 characters and a NUL.
 * @return 0, EINVAL, ENOMEM, EIO, or the errno of sv_random.
 */
int auth_nonce_make(const struct auth_nonce_key *nk, enum auth_digest_alg alg,
                    struct sv_slice realm, uint64_t now_s, char out[AUTH_NONCE_LEN + 1])
{
    uint8_t raw[NONCE_RAW], tag[32];
    int err;

    if (!nk || !out || (unsigned)alg >= AUTH_DIGEST_ALG_COUNT)
        return EINVAL;
    raw[0] = NONCE_VERSION;
    raw[1] = (uint8_t)alg;
    put_u64(raw + 2, now_s);
    err = sv_random(raw + 10, NONCE_RANDOM);
    if (!err)
        err = nonce_tag(nk, raw, realm, tag);
    if (err)
        return err;
    memcpy(raw + NONCE_SIGNED, tag, NONCE_TAG);
    return auth__b64_encode(raw, sizeof(raw), out, AUTH_NONCE_LEN + 1);
}

/**
 * Tell whether a nonce is ours and fresh.
 *
 * @param nk        the server key.
 * @param nonce     the nonce of the credentials.
 * @param realm     the realm of the credentials: a nonce issued for another realm is foreign.
 * @param now_s     the current time, seconds.
 * @param st        out: fresh, expired (ours but older than the lifetime: answer stale=true)
 *                  or foreign (not ours: a new challenge without stale).
 * @param alg       out: the algorithm it was issued for (when not foreign); may be NULL.
 * @param issued_s  out: when it was issued (when not foreign); may be NULL.
 * @return 0, EINVAL, ENOMEM or EIO.
 */
int auth_nonce_check(const struct auth_nonce_key *nk, struct sv_slice nonce, struct sv_slice realm,
                     uint64_t now_s, enum auth_nonce_state *st, enum auth_digest_alg *alg,
                     uint64_t *issued_s)
{
    uint8_t raw[NONCE_RAW], tag[32];
    size_t n = 0;
    uint64_t issued;
    int err;

    if (!nk || !st)
        return EINVAL;
    *st = AUTH_NONCE_FOREIGN;
    if (nonce.l != AUTH_NONCE_LEN || auth__b64_decode(nonce, raw, sizeof(raw), &n) ||
        n != NONCE_RAW || raw[0] != NONCE_VERSION || raw[1] >= AUTH_DIGEST_ALG_COUNT)
        return 0;
    err = nonce_tag(nk, raw, realm, tag);
    if (err)
        return err;
    if (CRYPTO_memcmp(tag, raw + NONCE_SIGNED, NONCE_TAG) != 0)
        return 0;
    issued = get_u64(raw + 2);
    /* A time stamp ahead of ours is a peer node's clock running fast: fresh, not foreign. */
    *st = now_s > issued && now_s - issued > nk->lifetime_s ? AUTH_NONCE_EXPIRED : AUTH_NONCE_FRESH;
    if (alg)
        *alg = (enum auth_digest_alg)raw[1];
    if (issued_s)
        *issued_s = issued;
    return 0;
}
