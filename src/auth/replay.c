/**
 * @file replay.c  The bounded replay table: highest nonce-count per nonce (RFC 7616 §3.4.5,
 * §5.12: a server that checks nc detects a replayed request).
 *
 * Entries are kept in buckets of WAYS, chosen by a fingerprint of the nonce (the first octets
 * of its SHA-256: nonces are only recorded after a correct response, so no stranger chooses
 * them, and a plain hash suffices). Memory is fixed at allocation: capacity entries of 32
 * octets plus one mark per bucket.
 *
 * Eviction rule: a full bucket drops the entry whose nonce was issued first (the oldest is the
 * nearest to expiry anyway) and raises the bucket's mark past that nonce's issue time. Once a
 * nonce has been dropped it must never look new, so a nonce missing from its bucket and
 * issued no later than the mark is answered ESTALE: the client gets a new challenge, which
 * costs one round trip and never admits a replay.
 */
#include <pthread.h>

#include "auth_int.h"

enum { WAYS = 4, FP_LEN = 16, MAX_CAPACITY = 1 << 24 };

struct slot {
    uint8_t fp[FP_LEN];
    uint64_t issued;
    uint32_t nc; /* highest accepted; 0: the slot is free (nc starts at 1) */
};

struct auth_replay {
    pthread_mutex_t lock;
    struct slot *slots; /* nbuckets * WAYS, owned */
    uint64_t *mark;     /* per bucket: issue times below this may have been evicted; owned */
    size_t nbuckets;    /* a power of two */
    size_t count;
    bool lock_ready;
};

static void replay_destroy(void *arg)
{
    struct auth_replay *rt = arg;

    sv_free(rt->slots);
    sv_free(rt->mark);
    if (rt->lock_ready)
        pthread_mutex_destroy(&rt->lock);
}

/**
 * Allocate a table; free it with sv_deref.
 * @param rp        out: the table, set only on success.
 * @param capacity  entries to hold, rounded up to a power of two, at least 4, at most 2^24.
 * @return 0, EINVAL or ENOMEM.
 */
int auth_replay_alloc(struct auth_replay **rp, size_t capacity)
{
    struct auth_replay *rt;
    size_t nb = 1;

    if (!rp || !capacity || capacity > MAX_CAPACITY)
        return EINVAL;
    while (nb * WAYS < capacity)
        nb <<= 1;
    rt = sv_zalloc(sizeof(*rt), replay_destroy);
    if (!rt)
        return ENOMEM;
    rt->nbuckets = nb;
    rt->slots = sv_calloc(nb * WAYS, sizeof(*rt->slots));
    rt->mark = sv_calloc(nb, sizeof(*rt->mark));
    if (!rt->slots || !rt->mark) {
        sv_deref(rt);
        return ENOMEM;
    }
    if (pthread_mutex_init(&rt->lock, NULL) != 0) {
        sv_deref(rt);
        return ENOMEM;
    }
    rt->lock_ready = true;
    *rp = rt;
    return 0;
}

static int fingerprint(struct sv_slice nonce, uint8_t fp[FP_LEN])
{
    uint8_t h[32];
    unsigned hl = 0;

    if (EVP_Digest(nonce.p, nonce.l, h, &hl, auth__digest_md(AUTH_DIGEST_SHA256), NULL) != 1 ||
        hl != 32)
        return EIO;
    memcpy(fp, h, FP_LEN);
    return 0;
}

static size_t bucket_of(const struct auth_replay *rt, const uint8_t fp[FP_LEN])
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | fp[i];
    return (size_t)(v & (rt->nbuckets - 1));
}

/* The way to overwrite: a free one, else the one with the oldest nonce (raising the mark). */
static struct slot *victim(struct auth_replay *rt, size_t b)
{
    struct slot *s = rt->slots + b * WAYS, *v = s;

    for (int i = 0; i < WAYS; i++) {
        if (!s[i].nc)
            return &s[i];
        if (s[i].issued < v->issued)
            v = &s[i];
    }
    if (v->issued + 1 > rt->mark[b])
        rt->mark[b] = v->issued + 1;
    rt->count--;
    return v;
}

static int check_locked(struct auth_replay *rt, const uint8_t fp[FP_LEN], uint64_t issued,
                        uint32_t nc)
{
    size_t b = bucket_of(rt, fp);
    struct slot *s = rt->slots + b * WAYS;

    for (int i = 0; i < WAYS; i++) {
        if (s[i].nc && memcmp(s[i].fp, fp, FP_LEN) == 0) {
            if (nc <= s[i].nc)
                return EALREADY;
            s[i].nc = nc;
            return 0;
        }
    }
    if (issued < rt->mark[b])
        return ESTALE;
    s = victim(rt, b);
    memcpy(s->fp, fp, FP_LEN);
    s->issued = issued;
    s->nc = nc;
    rt->count++;
    return 0;
}

/**
 * Accept (and record) or refuse one use of a nonce. Call it only for credentials whose
 * response was right, so that failed guesses cannot fill the table.
 *
 * @param rt        the table.
 * @param nonce     the nonce.
 * @param issued_s  when the nonce was issued (auth_nonce_check tells).
 * @param nc        the nonce-count of the request, at least 1.
 * @return 0 (accepted: nc is above every nc seen for this nonce); EALREADY (a replay: nc not
 *         above the highest seen); ESTALE (the nonce may have been evicted: challenge again);
 *         EINVAL; EIO.
 */
int auth_replay_check(struct auth_replay *rt, struct sv_slice nonce, uint64_t issued_s, uint32_t nc)
{
    uint8_t fp[FP_LEN];
    int err;

    if (!rt || !nonce.p || !nc)
        return EINVAL;
    err = fingerprint(nonce, fp);
    if (err)
        return err;
    pthread_mutex_lock(&rt->lock);
    err = check_locked(rt, fp, issued_s, nc);
    pthread_mutex_unlock(&rt->lock);
    return err;
}

/**
 * Entries in use.
 * @param rt  the table.
 * @return the count.
 */
size_t auth_replay_count(struct auth_replay *rt)
{
    size_t n;

    pthread_mutex_lock(&rt->lock);
    n = rt->count;
    pthread_mutex_unlock(&rt->lock);
    return n;
}
