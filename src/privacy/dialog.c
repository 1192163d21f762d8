/**
 * @file dialog.c  The dialog privacy store (R74-R79): a striped hash table keyed by Call-ID,
 * shared by the worker threads. include/sipveil/privacy_dialog.h explains why it is shared
 * and how it keeps contention low; this file keeps to those rules:
 *   - a stripe's lock is held only to walk one chain (or, in a sweep, one stripe);
 *   - entries are allocated before a lock is taken, and entries that go are unlinked onto a
 *     local list under the lock and freed after it is released;
 *   - the bucket arrays are fixed at alloc (at most PRIVDLG_MAX_CHAINS heads in all), so
 *     nothing is ever resized under a lock.
 */
#include <errno.h>
#include <pthread.h>

#include <sipveil/privacy_dialog.h>

const struct privdlg_conf privdlg_conf_default = {
    .max_dialogs = 100000,
    .lifetime_ms = 12u * 3600u * 1000u,
    .linger_ms = 64u * 500u, /* 64*T1: how long a UAS retransmits a final response */
};

#define STRIPE_BITS 8
_Static_assert(PRIVDLG_STRIPES == 1u << STRIPE_BITS, "stripes and STRIPE_BITS must agree");
_Static_assert(PRIVDLG_TAG_MAX <= UINT8_MAX, "tag_len is a uint8_t");
_Static_assert(PRIVDLG_CALLID_MAX <= UINT16_MAX, "cid_len is a uint16_t");

/* One dialog: the Call-ID and the anonymous tag live in key[], in that order. Owned by the
 * chain that links it; only code holding its stripe's lock reads or writes it. */
struct privdlg_ent {
    struct privdlg_ent *next;
    uint64_t hash;    /* of the Call-ID: compared before the bytes */
    uint64_t expires; /* absolute ms; the entry is dead from then on */
    unsigned funcs;
    bool ended;     /* an end event was seen: expires is the linger, never extended */
    bool confirmed; /* a 2xx answered the creating request: a branch's failure is no end */
    uint16_t cid_len;
    uint8_t tag_len;
    char key[];
};

/* Padded to a cache line of its own, so that two workers locking neighbouring stripes do not
 * bounce one line between their cores. */
#define LINE 64
struct stripe {
    pthread_mutex_t mu;
    struct privdlg_ent **buckets; /* nbuckets chains; points into the store's one array */
    size_t n;                     /* entries in this stripe */
    char pad[LINE - (sizeof(pthread_mutex_t) + sizeof(void *) + sizeof(size_t)) % LINE];
};

struct privdlg_store {
    struct stripe *stripes;       /* PRIVDLG_STRIPES of them, LINE-aligned inside stripes_mem */
    void *stripes_mem;            /* owned */
    struct privdlg_ent **buckets; /* owned: PRIVDLG_STRIPES * nbuckets chain heads */
    size_t nbuckets;              /* per stripe; a power of two */
    uint64_t k0, k1;              /* the SipHash key */
    struct privdlg_conf conf;
    /* The one word every put and reap writes, kept off the line of the read-mostly fields
     * above, which every find of every worker reads. */
    char pad[LINE];
    size_t count; /* entries in all stripes; atomic */
};

/* ---- the hash ---------------------------------------------------------------------------- */

/*
 * SipHash-1-3 (Aumasson and Bernstein, "SipHash: a fast short-input PRF"): one compression
 * and three finalisation rounds, the variant hash tables use, since a keyed PRF is what stops
 * a peer from steering Call-IDs into one chain and 1-3 is fast for 20-60 octet inputs.
 */
static inline uint64_t rotl(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64 - b));
}

static inline void sip_round(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = rotl(v[1], 13);
    v[1] ^= v[0];
    v[0] = rotl(v[0], 32);
    v[2] += v[3];
    v[3] = rotl(v[3], 16);
    v[3] ^= v[2];
    v[0] += v[3];
    v[3] = rotl(v[3], 21);
    v[3] ^= v[0];
    v[2] += v[1];
    v[1] = rotl(v[1], 17);
    v[1] ^= v[2];
    v[2] = rotl(v[2], 32);
}

static inline uint64_t load_le64(const unsigned char *p)
{
    uint64_t x = 0;

    for (unsigned i = 0; i < 8; i++)
        x |= (uint64_t)p[i] << (8 * i);
    return x;
}

/* Exposed to the unit test (privacy__siphash) with the round counts as parameters, so that
 * it can check the implementation against the published SipHash-2-4 vectors. */
uint64_t privacy__siphash(uint64_t k0, uint64_t k1, const void *data, size_t len, unsigned c,
                          unsigned d);

uint64_t privacy__siphash(uint64_t k0, uint64_t k1, const void *data, size_t len, unsigned c,
                          unsigned d)
{
    const unsigned char *p = data;
    uint64_t v[4] = {
        k0 ^ UINT64_C(0x736f6d6570736575),
        k1 ^ UINT64_C(0x646f72616e646f6d),
        k0 ^ UINT64_C(0x6c7967656e657261),
        k1 ^ UINT64_C(0x7465646279746573),
    };
    uint64_t m, last = (uint64_t)len << 56;
    size_t i, full = len & ~(size_t)7;

    for (i = 0; i < full; i += 8) {
        m = load_le64(p + i);
        v[3] ^= m;
        for (unsigned r = 0; r < c; r++)
            sip_round(v);
        v[0] ^= m;
    }
    for (unsigned j = 0; i + j < len; j++)
        last |= (uint64_t)p[i + j] << (8 * j);
    v[3] ^= last;
    for (unsigned r = 0; r < c; r++)
        sip_round(v);
    v[0] ^= last;
    v[2] ^= 0xff;
    for (unsigned r = 0; r < d; r++)
        sip_round(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static uint64_t hash_callid(const struct privdlg_store *s, struct sv_slice call_id)
{
    return privacy__siphash(s->k0, s->k1, call_id.p, call_id.l, 1, 3);
}

/* The low bits choose the stripe, the next ones the chain inside it. */
static struct stripe *stripe_of(const struct privdlg_store *s, uint64_t h)
{
    return &s->stripes[h & (PRIVDLG_STRIPES - 1)];
}

static struct privdlg_ent **chain_of(const struct privdlg_store *s, const struct stripe *st,
                                     uint64_t h)
{
    return &st->buckets[(h >> STRIPE_BITS) & (s->nbuckets - 1)];
}

/* ---- entries ------------------------------------------------------------------------------ */

static struct sv_slice ent_callid(const struct privdlg_ent *e)
{
    return sv_slice_make(e->key, e->cid_len);
}

static struct sv_slice ent_tag(const struct privdlg_ent *e)
{
    return sv_slice_make(e->key + e->cid_len, e->tag_len);
}

static bool ent_live(const struct privdlg_ent *e, uint64_t now_ms)
{
    return now_ms < e->expires;
}

static bool ent_is_call(const struct privdlg_ent *e, uint64_t h, struct sv_slice call_id)
{
    return e->hash == h && sv_slice_eq(ent_callid(e), call_id);
}

/* Tags are tokens: case-insensitive (RFC 3261 §7.3.1). An absent tag matches nothing. */
static bool tag_is(const struct privdlg_ent *e, struct sv_slice tag)
{
    return tag.p && sv_slice_caseeq(ent_tag(e), tag);
}

static void free_list(struct privdlg_ent *e)
{
    while (e) {
        struct privdlg_ent *next = e->next;
        sv_free(e);
        e = next;
    }
}

/*
 * Move *pp onto *dead; *pp then names the entry that followed it. The caller holds the
 * stripe's lock; the count goes down here, the memory is freed after the unlock.
 */
static void unlink_dead(struct privdlg_store *s, struct stripe *st, struct privdlg_ent **pp,
                        struct privdlg_ent **dead)
{
    struct privdlg_ent *e = *pp;

    *pp = e->next;
    e->next = *dead;
    *dead = e;
    st->n--;
    __atomic_fetch_sub(&s->count, 1, __ATOMIC_RELAXED);
}

/* Count one more entry if that stays within max_dialogs. */
static bool reserve(struct privdlg_store *s)
{
    if (__atomic_fetch_add(&s->count, 1, __ATOMIC_RELAXED) < s->conf.max_dialogs)
        return true;
    __atomic_fetch_sub(&s->count, 1, __ATOMIC_RELAXED);
    return false;
}

/* Unlink every expired entry of @p st onto *dead. @return how many. Lock held. */
static size_t stripe_reap(struct privdlg_store *s, struct stripe *st, uint64_t now_ms,
                          struct privdlg_ent **dead)
{
    size_t n = 0;

    for (size_t b = 0; b < s->nbuckets && st->n; b++) {
        struct privdlg_ent **pp = &st->buckets[b];
        while (*pp) {
            if (ent_live(*pp, now_ms)) {
                pp = &(*pp)->next;
                continue;
            }
            unlink_dead(s, st, pp, dead);
            n++;
        }
    }
    return n;
}

/*
 * The entry of the message on chain @p pp: the Call-ID matches and the stored tag is the
 * From tag or, failing that, the To tag. Expired entries met on the way are unlinked onto
 * *dead, so a busy chain cleans itself between sweeps. When nothing matches by From tag,
 * *ncall is the number of live entries of the Call-ID. Lock held.
 */
static struct privdlg_ent *chain_find(struct privdlg_store *s, struct stripe *st,
                                      struct privdlg_ent **pp, uint64_t h, struct sv_slice call_id,
                                      struct sv_slice from_tag, struct sv_slice to_tag,
                                      uint64_t now_ms, struct privdlg_ent **dead,
                                      enum privdlg_side *side, size_t *ncall)
{
    struct privdlg_ent *by_to = NULL;
    size_t n = 0;

    while (*pp) {
        struct privdlg_ent *e = *pp;
        if (!ent_live(e, now_ms)) {
            unlink_dead(s, st, pp, dead);
            continue;
        }
        if (ent_is_call(e, h, call_id)) {
            n++;
            if (tag_is(e, from_tag)) {
                *side = PRIVDLG_SIDE_FROM;
                return e;
            }
            if (!by_to && tag_is(e, to_tag))
                by_to = e;
        }
        pp = &e->next;
    }
    *side = PRIVDLG_SIDE_TO;
    *ncall = n;
    return by_to;
}

static bool slice_ok(struct sv_slice sl)
{
    return sl.p && sl.l;
}

/* ---- the store ---------------------------------------------------------------------------- */

/**
 * Make a store.
 * @param sp  out: the store, set only on success.
 * @param c   limits; NULL: privdlg_conf_default; a field left 0 takes its default.
 * @return 0, EINVAL, ENOMEM, or the error of the kernel's random source.
 */
int privdlg_store_alloc(struct privdlg_store **sp, const struct privdlg_conf *c)
{
    struct privdlg_store *s = NULL;
    unsigned char key[16];
    size_t per, i = 0;
    int err;

    if (!sp)
        return EINVAL;
    s = sv_calloc(1, sizeof(*s));
    if (!s)
        return ENOMEM;
    s->conf = c ? *c : privdlg_conf_default;
    if (!s->conf.max_dialogs)
        s->conf.max_dialogs = privdlg_conf_default.max_dialogs;
    if (!s->conf.lifetime_ms)
        s->conf.lifetime_ms = privdlg_conf_default.lifetime_ms;
    if (!s->conf.linger_ms)
        s->conf.linger_ms = privdlg_conf_default.linger_ms;

    err = sv_random(key, sizeof(key));
    if (err)
        goto out;
    s->k0 = load_le64(key);
    s->k1 = load_le64(key + 8);

    /* About one chain per dialog at the limit, capped: see privacy_dialog.h. */
    per = s->conf.max_dialogs < PRIVDLG_MAX_CHAINS ? s->conf.max_dialogs : PRIVDLG_MAX_CHAINS;
    per = (per + PRIVDLG_STRIPES - 1) / PRIVDLG_STRIPES;
    for (s->nbuckets = 1; s->nbuckets < per; s->nbuckets <<= 1) {
    }
    s->buckets = sv_calloc(PRIVDLG_STRIPES * s->nbuckets, sizeof(*s->buckets));
    s->stripes_mem = sv_malloc(PRIVDLG_STRIPES * sizeof(struct stripe) + LINE - 1);
    if (!s->buckets || !s->stripes_mem) {
        err = ENOMEM;
        goto out;
    }
    s->stripes = (struct stripe *)(((uintptr_t)s->stripes_mem + LINE - 1) & ~(uintptr_t)(LINE - 1));
    for (i = 0; i < PRIVDLG_STRIPES; i++) {
        struct stripe *st = &s->stripes[i];
        err = pthread_mutex_init(&st->mu, NULL);
        if (err)
            goto out;
        st->buckets = &s->buckets[i * s->nbuckets];
        st->n = 0;
    }

out:
    if (err) {
        while (i--)
            pthread_mutex_destroy(&s->stripes[i].mu);
        sv_free(s->stripes_mem);
        sv_free(s->buckets);
        sv_free(s);
        return err;
    }
    *sp = s;
    return 0;
}

/**
 * Free a store and every entry in it.
 * @param s  the store; NULL: nothing to do. No other call may run on it now or later.
 */
void privdlg_store_free(struct privdlg_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < PRIVDLG_STRIPES; i++) {
        struct stripe *st = &s->stripes[i];
        for (size_t b = 0; b < s->nbuckets; b++)
            free_list(st->buckets[b]);
        pthread_mutex_destroy(&st->mu);
    }
    sv_free(s->stripes_mem);
    sv_free(s->buckets);
    sv_free(s);
}

/*
 * privdlg_put and privdlg_confirm: store or refresh the entry of (call_id, anon_tag). A known
 * entry gets the functions ORed in, its lifetime restarted, and is revived if it had ended
 * (a revived entry is a new attempt, so it is unconfirmed again unless @p confirm says so).
 */
static int store_put(struct privdlg_store *s, struct sv_slice call_id, struct sv_slice anon_tag,
                     unsigned funcs, uint64_t now_ms, bool confirm)
{
    struct privdlg_ent *e, *fresh = NULL, *dead = NULL;
    enum privdlg_side side;
    size_t ncall;
    struct stripe *st;
    uint64_t h;
    int err = 0;

    if (!s || !slice_ok(call_id) || !slice_ok(anon_tag))
        return EINVAL;
    if (call_id.l > PRIVDLG_CALLID_MAX || anon_tag.l > PRIVDLG_TAG_MAX)
        return EMSGSIZE;

    /* Allocated and filled before the lock; freed after it when the dialog was known. */
    fresh = sv_malloc(sizeof(*fresh) + call_id.l + anon_tag.l);
    if (!fresh)
        return ENOMEM;
    h = hash_callid(s, call_id);
    fresh->next = NULL;
    fresh->hash = h;
    fresh->expires = now_ms + s->conf.lifetime_ms;
    fresh->funcs = funcs;
    fresh->ended = false;
    fresh->confirmed = confirm;
    fresh->cid_len = (uint16_t)call_id.l;
    fresh->tag_len = (uint8_t)anon_tag.l;
    memcpy(fresh->key, call_id.p, call_id.l);
    memcpy(fresh->key + call_id.l, anon_tag.p, anon_tag.l);

    st = stripe_of(s, h);
    pthread_mutex_lock(&st->mu);
    struct privdlg_ent **chain = chain_of(s, st, h);
    /* Only a From-side match is the same dialog-creating request. */
    e = chain_find(s, st, chain, h, call_id, anon_tag, sv_slice_make(NULL, 0), now_ms, &dead, &side,
                   &ncall);
    if (e) {
        e->funcs |= funcs;
        e->confirmed = confirm || (e->confirmed && !e->ended);
        e->ended = false;
        e->expires = fresh->expires;
        goto unlock;
    }
    /* All dialogs of a Call-ID share one chain: cap them, or one peer could make a chain
     * of thousands that every message of the Call-ID walks under the stripe's lock. */
    if (ncall >= PRIVDLG_PER_CALLID_MAX) {
        err = ENOSPC;
        goto unlock;
    }
    if (!reserve(s)) {
        /* Full: the dead entries of this stripe may make room before giving up. */
        stripe_reap(s, st, now_ms, &dead);
        if (!reserve(s)) {
            err = ENOSPC;
            goto unlock;
        }
    }
    fresh->next = *chain;
    *chain = fresh;
    st->n++;
    fresh = NULL;

unlock:
    pthread_mutex_unlock(&st->mu);
    sv_free(fresh);
    free_list(dead);
    return err;
}

/**
 * Store the privacy state of a dialog-creating request; see privacy_dialog.h.
 * @param s         the store
 * @param call_id   the request's Call-ID; copied
 * @param anon_tag  its From tag; copied
 * @param funcs     the functions performed
 * @param now_ms    the current time
 * @return 0, EINVAL, EMSGSIZE, ENOSPC or ENOMEM.
 */
int privdlg_put(struct privdlg_store *s, struct sv_slice call_id, struct sv_slice anon_tag,
                unsigned funcs, uint64_t now_ms)
{
    return store_put(s, call_id, anon_tag, funcs, now_ms, false);
}

/**
 * A 2xx to the creating request: store or revive the entry and mark it confirmed.
 * @param s         the store
 * @param call_id   the response's Call-ID; copied if the entry is made again
 * @param anon_tag  its From tag
 * @param funcs     the functions performed on the request
 * @param now_ms    the current time
 * @return as privdlg_put().
 */
int privdlg_confirm(struct privdlg_store *s, struct sv_slice call_id, struct sv_slice anon_tag,
                    unsigned funcs, uint64_t now_ms)
{
    return store_put(s, call_id, anon_tag, funcs, now_ms, true);
}

/**
 * Find the dialog of a message; see privacy_dialog.h.
 * @param s         the store
 * @param call_id   the message's Call-ID
 * @param from_tag  its From tag (unset: none)
 * @param to_tag    its To tag (unset: none)
 * @param now_ms    the current time
 * @param out       out: the state (may be NULL)
 * @return whether it was found.
 */
bool privdlg_find(struct privdlg_store *s, struct sv_slice call_id, struct sv_slice from_tag,
                  struct sv_slice to_tag, uint64_t now_ms, struct privdlg_found *out)
{
    struct privdlg_ent *e, *dead = NULL;
    enum privdlg_side side;
    size_t ncall;
    struct stripe *st;
    uint64_t h;

    if (!s || !slice_ok(call_id))
        return false;
    h = hash_callid(s, call_id);
    st = stripe_of(s, h);
    pthread_mutex_lock(&st->mu);
    e = chain_find(s, st, chain_of(s, st, h), h, call_id, from_tag, to_tag, now_ms, &dead, &side,
                   &ncall);
    if (e) {
        if (!e->ended)
            e->expires = now_ms + s->conf.lifetime_ms;
        if (out) {
            out->funcs = e->funcs;
            out->side = side;
            out->tag_len = e->tag_len;
            memcpy(out->tag_buf, ent_tag(e).p, e->tag_len);
        }
    }
    pthread_mutex_unlock(&st->mu);
    free_list(dead);
    return e != NULL;
}

/* Start the linger of the entry of a message, unless @p failure and it is confirmed. */
static bool store_end(struct privdlg_store *s, struct sv_slice call_id, struct sv_slice from_tag,
                      struct sv_slice to_tag, uint64_t now_ms, bool failure)
{
    struct privdlg_ent *e, *dead = NULL;
    enum privdlg_side side;
    size_t ncall;
    struct stripe *st;
    uint64_t h;

    if (!s || !slice_ok(call_id))
        return false;
    h = hash_callid(s, call_id);
    st = stripe_of(s, h);
    pthread_mutex_lock(&st->mu);
    e = chain_find(s, st, chain_of(s, st, h), h, call_id, from_tag, to_tag, now_ms, &dead, &side,
                   &ncall);
    if (e && !e->ended && !(failure && e->confirmed)) {
        uint64_t until = now_ms + s->conf.linger_ms;
        e->ended = true;
        if (until < e->expires)
            e->expires = until;
    }
    pthread_mutex_unlock(&st->mu);
    free_list(dead);
    return e != NULL;
}

/**
 * An end event of the dialog of a message; see privacy_dialog.h.
 * @param s         the store
 * @param call_id   the message's Call-ID
 * @param from_tag  its From tag
 * @param to_tag    its To tag
 * @param now_ms    the current time
 * @return whether an entry was found.
 */
bool privdlg_end(struct privdlg_store *s, struct sv_slice call_id, struct sv_slice from_tag,
                 struct sv_slice to_tag, uint64_t now_ms)
{
    return store_end(s, call_id, from_tag, to_tag, now_ms, false);
}

/**
 * A final non-2xx to the creating request, from one branch; see privacy_dialog.h.
 * @param s         the store
 * @param call_id   the response's Call-ID
 * @param anon_tag  its From tag
 * @param now_ms    the current time
 * @return whether an entry was found.
 */
bool privdlg_fail(struct privdlg_store *s, struct sv_slice call_id, struct sv_slice anon_tag,
                  uint64_t now_ms)
{
    return store_end(s, call_id, anon_tag, sv_slice_make(NULL, 0), now_ms, true);
}

/**
 * Remove the expired entries, one stripe at a time.
 * @param s       the store
 * @param now_ms  the current time
 * @return how many went.
 */
size_t privdlg_sweep(struct privdlg_store *s, uint64_t now_ms)
{
    size_t n = 0;

    if (!s)
        return 0;
    for (size_t i = 0; i < PRIVDLG_STRIPES; i++) {
        struct stripe *st = &s->stripes[i];
        struct privdlg_ent *dead = NULL;

        pthread_mutex_lock(&st->mu);
        n += stripe_reap(s, st, now_ms, &dead);
        pthread_mutex_unlock(&st->mu);
        free_list(dead);
    }
    return n;
}

/**
 * Entries in the store, expired ones not yet swept included.
 * @param s  the store
 * @return the count (0 for NULL).
 */
size_t privdlg_count(const struct privdlg_store *s)
{
    return s ? __atomic_load_n(&s->count, __ATOMIC_RELAXED) : 0;
}
