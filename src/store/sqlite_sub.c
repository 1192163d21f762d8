/**
 * @file sqlite_sub.c  The SQLite store's subscriptions: sub_put (one transaction), sub_del,
 * sub_get, sub_each, and the lookups of the CSCFs (profile_get, cred_get, aka_sqn_set).
 *
 * A subscription is read statement by statement (its row, its IMPIs, its set ids, each set's
 * IMPUs, its iFC), one statement stepped at a time, all under the store's mutex.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sipveil/core.h>

#include "store_int.h"

/* ---- reading a subscription ------------------------------------------------------------ */

/* Fill the credential columns c0.. of a ST_IMPIS_OF_SUB or ST_CRED row. */
static int read_cred(sqlite3_stmt *s, struct store_cred *c)
{
    int err;
    memset(c, 0, sizeof(*c));
    if ((err = store__col_text(s, 0, c->impi, sizeof(c->impi))) ||
        (err = store__col_text(s, 1, c->realm, sizeof(c->realm))) ||
        (err = store__col_text(s, 2, c->ha1_md5, sizeof(c->ha1_md5))) ||
        (err = store__col_text(s, 3, c->ha1_sha256, sizeof(c->ha1_sha256))))
        return err;
    if (sqlite3_column_type(s, 4) != SQLITE_NULL) {
        if ((err = store__col_blob(s, 4, c->k, sizeof(c->k))) ||
            (err = store__col_blob(s, 5, c->opc, sizeof(c->opc))) ||
            (err = store__col_blob(s, 6, c->amf, sizeof(c->amf))))
            return err;
        c->sqn = (uint64_t)sqlite3_column_int64(s, 7);
        c->aka = true;
    }
    return 0;
}

static int read_irs(struct sqlite_store *ss, int64_t irs_id, struct store_irs *out)
{
    int rc, err = 0;
    sqlite3_stmt *s = store__stmt(ss, ST_IMPUS_OF_IRS, &err);
    if (!s)
        return err;
    memset(out, 0, sizeof(*out));
    out->id = irs_id;
    sqlite3_bind_int64(s, 1, irs_id);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_impu *u;
        if (out->nimpus == STORE_IRS_MAX) {
            err = EIO;
            goto out;
        }
        u = &out->impus[out->nimpus++];
        if ((err = store__col_text(s, 0, u->uri, sizeof(u->uri))) ||
            (err = store__col_text(s, 1, u->display, sizeof(u->display))))
            goto out;
        u->barred = sqlite3_column_int(s, 2) != 0;
        u->pseudonym = sqlite3_column_int(s, 3) != 0;
    }
    if (rc != SQLITE_DONE)
        err = store__errno_of(rc);
out:
    sqlite3_reset(s);
    return err;
}

static int read_ifc(struct sqlite_store *ss, int64_t sub_id, struct store_ifc *ifc, size_t *n)
{
    int rc, err = 0;
    sqlite3_stmt *s = store__stmt(ss, ST_IFC_OF_SUB, &err);
    if (!s)
        return err;
    *n = 0;
    sqlite3_bind_int64(s, 1, sub_id);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_ifc *f;
        if (*n == STORE_IFC_MAX) {
            err = EIO;
            goto out;
        }
        f = &ifc[(*n)++];
        memset(f, 0, sizeof(*f));
        f->priority = sqlite3_column_int(s, 0);
        f->scase = (unsigned)sqlite3_column_int(s, 3);
        if ((err = store__col_text(s, 1, f->method, sizeof(f->method))) ||
            (err = store__col_text(s, 2, f->event, sizeof(f->event))) ||
            (err = store__col_text(s, 4, f->as, sizeof(f->as))))
            goto out;
    }
    if (rc != SQLITE_DONE)
        err = store__errno_of(rc);
out:
    sqlite3_reset(s);
    return err;
}

/* The subscription row @p id: flags and S-CSCF. ENOENT if none. */
static int read_sub_row(struct sqlite_store *ss, int64_t id, bool *ib, bool *ubp, char *scscf)
{
    int rc, err = 0;
    sqlite3_stmt *s = store__stmt(ss, ST_SUB_ROW, &err);
    if (!s)
        return err;
    sqlite3_bind_int64(s, 1, id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *ib = sqlite3_column_int(s, 0) != 0;
        *ubp = sqlite3_column_int(s, 1) != 0;
        err = store__col_text(s, 2, scscf, STORE_URI_MAX);
    } else {
        err = rc == SQLITE_DONE ? ENOENT : store__errno_of(rc);
    }
    sqlite3_reset(s);
    return err;
}

static int read_sub(struct sqlite_store *ss, int64_t id, struct store_sub *out)
{
    int64_t irs_ids[STORE_SETS_MAX];
    size_t nsets = 0;
    int rc, err = 0;
    sqlite3_stmt *s;

    memset(out, 0, sizeof(*out));
    out->id = id;
    if ((err = read_sub_row(ss, id, &out->identity_blocking, &out->user_by_policy, out->scscf)))
        return err;

    if (!(s = store__stmt(ss, ST_IMPIS_OF_SUB, &err)))
        return err;
    sqlite3_bind_int64(s, 1, id);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (out->nimpis == STORE_IMPI_MAX) {
            err = EIO;
            break;
        }
        if ((err = read_cred(s, &out->impis[out->nimpis++])))
            break;
    }
    if (!err && rc != SQLITE_DONE)
        err = store__errno_of(rc);
    sqlite3_reset(s);
    if (err)
        return err;

    /* The set ids first, then each set's IMPUs: one statement is stepped at a time. */
    if (!(s = store__stmt(ss, ST_SETS_OF_SUB, &err)))
        return err;
    sqlite3_bind_int64(s, 1, id);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (nsets == STORE_SETS_MAX) {
            err = EIO;
            break;
        }
        irs_ids[nsets++] = sqlite3_column_int64(s, 0);
    }
    if (!err && rc != SQLITE_DONE)
        err = store__errno_of(rc);
    sqlite3_reset(s);
    if (err)
        return err;
    for (size_t i = 0; i < nsets; i++)
        if ((err = read_irs(ss, irs_ids[i], &out->sets[i])))
            return err;
    out->nsets = nsets;
    return read_ifc(ss, id, out->ifc, &out->nifc);
}

/* The id of the subscription holding @p impi: ENOENT if none. */
static int sub_id_of(struct sqlite_store *ss, const char *impi, int64_t *id)
{
    int rc, err = 0;
    sqlite3_stmt *s = store__stmt(ss, ST_SUB_BY_IMPI, &err);
    if (!s)
        return err;
    bind_text(s, 1, impi);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(s, 0);
    else
        err = rc == SQLITE_DONE ? ENOENT : store__errno_of(rc);
    sqlite3_reset(s);
    return err;
}

/* ---- writing a subscription ------------------------------------------------------------ */

/* Check what SQL cannot: NUL-terminated fields, counts in range, no IMPU or IMPI twice. */
static int sub_check(const struct store_sub *sub)
{
    if (sub->nimpis < 1 || sub->nimpis > STORE_IMPI_MAX || sub->nsets < 1 ||
        sub->nsets > STORE_SETS_MAX || sub->nifc > STORE_IFC_MAX)
        return EINVAL;
    if (!FITS(sub->scscf))
        return ENAMETOOLONG;
    for (size_t i = 0; i < sub->nimpis; i++) {
        const struct store_cred *c = &sub->impis[i];
        if (!FITS(c->impi) || !FITS(c->realm) || !FITS(c->ha1_md5) || !FITS(c->ha1_sha256))
            return ENAMETOOLONG;
        if (!c->impi[0] || (c->sqn >> 48) != 0)
            return EINVAL;
        for (size_t j = 0; j < i; j++)
            if (strcmp(sub->impis[j].impi, c->impi) == 0)
                return EINVAL;
    }
    for (size_t i = 0; i < sub->nsets; i++) {
        const struct store_irs *set = &sub->sets[i];
        if (set->nimpus < 1 || set->nimpus > STORE_IRS_MAX)
            return EINVAL;
        for (size_t j = 0; j < set->nimpus; j++) {
            const struct store_impu *u = &set->impus[j];
            if (!FITS(u->uri) || !FITS(u->display))
                return ENAMETOOLONG;
            if (!u->uri[0])
                return EINVAL;
            /* The same IMPU twice in one subscription is a provisioning error, not a clash
             * with another subscription. */
            for (size_t a = 0; a <= i; a++)
                for (size_t b = 0; b < (a == i ? j : sub->sets[a].nimpus); b++)
                    if (strcmp(sub->sets[a].impus[b].uri, u->uri) == 0)
                        return EINVAL;
        }
    }
    for (size_t i = 0; i < sub->nifc; i++) {
        const struct store_ifc *f = &sub->ifc[i];
        if (!FITS(f->method) || !FITS(f->event) || !FITS(f->as))
            return ENAMETOOLONG;
        if (f->scase > STORE_CASE_BOTH || !f->as[0])
            return EINVAL;
    }
    return 0;
}

/* Insert with statement @p s and return the new row's id through @p id. */
static int insert(struct sqlite_store *ss, sqlite3_stmt *s, int64_t *id)
{
    int err = store__step_done(s);
    if (!err && id)
        *id = sqlite3_last_insert_rowid(ss->db);
    return err;
}

static int put_cred(struct sqlite_store *ss, int64_t sub_id, size_t pos, const struct store_cred *c)
{
    const char *realm = c->realm;
    int64_t impi_id;
    int err = 0;
    sqlite3_stmt *s;

    if (!*realm) {
        const char *at = strchr(c->impi, '@');
        realm = at ? at + 1 : "";
    }
    if (!(s = store__stmt(ss, ST_IMPI_INS, &err)))
        return err;
    sqlite3_bind_int64(s, 1, sub_id);
    sqlite3_bind_int64(s, 2, (int64_t)pos);
    bind_text(s, 3, c->impi);
    bind_text(s, 4, realm);
    bind_text(s, 5, c->ha1_md5);
    bind_text(s, 6, c->ha1_sha256);
    if ((err = insert(ss, s, &impi_id)) || !c->aka)
        return err;
    if (!(s = store__stmt(ss, ST_AKA_INS, &err)))
        return err;
    sqlite3_bind_int64(s, 1, impi_id);
    sqlite3_bind_blob(s, 2, c->k, sizeof(c->k), SQLITE_STATIC);
    sqlite3_bind_blob(s, 3, c->opc, sizeof(c->opc), SQLITE_STATIC);
    sqlite3_bind_blob(s, 4, c->amf, sizeof(c->amf), SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, (int64_t)c->sqn);
    return insert(ss, s, NULL);
}

static int put_set(struct sqlite_store *ss, int64_t sub_id, size_t pos, const struct store_irs *set)
{
    int64_t irs_id;
    int err = 0;
    sqlite3_stmt *s = store__stmt(ss, ST_IRS_INS, &err);
    if (!s)
        return err;
    sqlite3_bind_int64(s, 1, sub_id);
    sqlite3_bind_int64(s, 2, (int64_t)pos);
    if ((err = insert(ss, s, &irs_id)))
        return err;
    for (size_t i = 0; i < set->nimpus; i++) {
        const struct store_impu *u = &set->impus[i];
        if (!(s = store__stmt(ss, ST_IMPU_INS, &err)))
            return err;
        sqlite3_bind_int64(s, 1, irs_id);
        bind_text(s, 2, u->uri);
        bind_text(s, 3, u->display);
        sqlite3_bind_int(s, 4, u->barred);
        sqlite3_bind_int(s, 5, u->pseudonym);
        sqlite3_bind_int64(s, 6, (int64_t)i);
        if ((err = insert(ss, s, NULL)))
            return err; /* EEXIST: the URI is another subscription's (ours were deleted) */
    }
    return 0;
}

static int put_sub(struct sqlite_store *ss, const struct store_sub *sub)
{
    int64_t old_id = 0, id = 0;
    int err = 0;
    sqlite3_stmt *s;

    err = sub_id_of(ss, sub->impis[0].impi, &old_id);
    if (!err) {
        if (!(s = store__stmt(ss, ST_SUB_DEL, &err)))
            return err;
        sqlite3_bind_int64(s, 1, old_id);
        if ((err = store__step_done(s)))
            return err;
    } else if (err != ENOENT) {
        return err;
    }
    if (!(s = store__stmt(ss, ST_SUB_INS, &err)))
        return err;
    sqlite3_bind_int(s, 1, sub->identity_blocking);
    sqlite3_bind_int(s, 2, sub->user_by_policy);
    bind_text(s, 3, sub->scscf);
    if ((err = insert(ss, s, &id)))
        return err;
    for (size_t i = 0; i < sub->nimpis; i++)
        if ((err = put_cred(ss, id, i, &sub->impis[i])))
            return err; /* EEXIST: a second IMPI is another subscription's */
    for (size_t i = 0; i < sub->nsets; i++)
        if ((err = put_set(ss, id, i, &sub->sets[i])))
            return err;
    for (size_t i = 0; i < sub->nifc; i++) {
        const struct store_ifc *f = &sub->ifc[i];
        if (!(s = store__stmt(ss, ST_IFC_INS, &err)))
            return err;
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, (int64_t)i);
        sqlite3_bind_int(s, 3, f->priority);
        bind_text(s, 4, f->method);
        bind_text(s, 5, f->event);
        sqlite3_bind_int(s, 6, (int)f->scase);
        bind_text(s, 7, f->as);
        if ((err = insert(ss, s, NULL)))
            return err;
    }
    return 0;
}

int store__sq_sub_put(struct store *st, const struct store_sub *sub)
{
    struct sqlite_store *ss = ss_of(st);
    int err;

    if (!st || !sub)
        return EINVAL;
    if ((err = sub_check(sub)))
        return err;
    pthread_mutex_lock(&ss->mu);
    store__pcache_clear(ss);
    store__group_close(ss);
    if ((err = store__exec(ss, ST_BEGIN)))
        goto out;
    err = put_sub(ss, sub);
    if (!err)
        err = store__exec(ss, ST_COMMIT);
    if (err)
        store__exec(ss, ST_ROLLBACK);
out:
    pthread_mutex_unlock(&ss->mu);
    return err;
}

int store__sq_sub_del(struct store *st, const char *impi)
{
    struct sqlite_store *ss = ss_of(st);
    int64_t id = 0;
    int err;
    sqlite3_stmt *s;

    if (!st || !impi)
        return EINVAL;
    pthread_mutex_lock(&ss->mu);
    store__pcache_clear(ss);
    if ((err = sub_id_of(ss, impi, &id)))
        goto out;
    if (!(s = store__stmt(ss, ST_SUB_DEL, &err)))
        goto out;
    sqlite3_bind_int64(s, 1, id);
    err = store__write(ss, s);
out:
    pthread_mutex_unlock(&ss->mu);
    return err;
}

int store__sq_sub_get(struct store *st, const char *impi, struct store_sub *out)
{
    struct sqlite_store *ss = ss_of(st);
    int64_t id = 0;
    int err;

    if (!st || !impi || !out)
        return EINVAL;
    pthread_mutex_lock(&ss->mu);
    if (!(err = sub_id_of(ss, impi, &id)))
        err = read_sub(ss, id, out);
    pthread_mutex_unlock(&ss->mu);
    return err;
}

int store__sq_sub_each(struct store *st, int (*cb)(void *arg, const struct store_sub *sub),
                       void *arg)
{
    struct sqlite_store *ss = ss_of(st);
    struct store_sub *sub = NULL;
    int64_t *ids = NULL;
    size_t n = 0, cap = 0;
    int rc, err = 0;
    sqlite3_stmt *s;

    if (!st || !cb)
        return EINVAL;
    /* The ids first, under the lock; each subscription is then read under the lock and given
     * to the callback without it. One deleted in between is skipped. */
    pthread_mutex_lock(&ss->mu);
    if ((s = store__stmt(ss, ST_SUB_IDS, &err))) {
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 64;
                int64_t *p = realloc(ids, nc * sizeof(*ids));
                if (!p) {
                    err = ENOMEM;
                    break;
                }
                ids = p;
                cap = nc;
            }
            ids[n++] = sqlite3_column_int64(s, 0);
        }
        if (!err && rc != SQLITE_DONE)
            err = store__errno_of(rc);
        sqlite3_reset(s);
    }
    pthread_mutex_unlock(&ss->mu);
    if (err)
        goto out;
    if (!(sub = malloc(sizeof(*sub)))) {
        err = ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n && !err; i++) {
        pthread_mutex_lock(&ss->mu);
        err = read_sub(ss, ids[i], sub);
        pthread_mutex_unlock(&ss->mu);
        if (err == ENOENT) {
            err = 0;
            continue;
        }
        if (!err)
            err = cb(arg, sub);
    }
out:
    free(sub);
    free(ids);
    return err;
}

/* ---- lookups --------------------------------------------------------------------------- */

/* The direct-mapped slot of @p key (FNV-1a). */
static size_t cache_index(const char *key)
{
    uint64_t h = 1469598103934665603ull;

    for (const char *p = key; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return (size_t)(h % PCACHE_SLOTS);
}

/* The cache slot of @p impu, and whether it holds a live answer for it. Lock held. */
static struct pcache_ent *pcache_slot(struct sqlite_store *ss, const char *impu, uint64_t now,
                                      bool *hit)
{
    *hit = false;
    if (!ss->pcache && !(ss->pcache = calloc(PCACHE_SLOTS, sizeof(*ss->pcache))))
        return NULL;
    if (!ss->ccache && !(ss->ccache = calloc(PCACHE_SLOTS, sizeof(*ss->ccache))))
        return NULL;
    struct pcache_ent *e = &ss->pcache[cache_index(impu)];
    *hit = e->until_ms > now && strcmp(e->impu, impu) == 0;
    return e;
}

/* Keep Digest credentials @p c of subscription @p sub_id for cred_get. Lock held. */
static void ccache_put(struct sqlite_store *ss, const struct store_cred *c, int64_t sub_id)
{
    if (!ss->ccache || c->aka)
        return;
    struct ccache_ent *e = &ss->ccache[cache_index(c->impi)];
    e->cred = *c;
    e->sub_id = sub_id;
    e->until_ms = sv_now_ms() + PCACHE_TTL_MS;
}

/* The kept credentials of @p impi into @p out. @return whether there were any. Lock held. */
static bool ccache_get(struct sqlite_store *ss, const char *impi, struct store_cred *out,
                       int64_t *sub_id)
{
    if (!ss->ccache)
        return false;
    struct ccache_ent *e = &ss->ccache[cache_index(impi)];
    if (e->until_ms <= sv_now_ms() || strcmp(e->cred.impi, impi) != 0)
        return false;
    *out = e->cred;
    if (sub_id)
        *sub_id = e->sub_id;
    return true;
}

static int profile_read(struct sqlite_store *ss, const char *impu, struct store_profile *out);

int store__sq_profile_get(struct store *st, const char *impu, struct store_profile *out)
{
    struct sqlite_store *ss = ss_of(st);
    uint64_t now = sv_now_ms();
    bool hit;
    int err;

    if (!st || !impu || !out)
        return EINVAL;
    pthread_mutex_lock(&ss->mu);
    struct pcache_ent *e = strlen(impu) < sizeof(e->impu) ? pcache_slot(ss, impu, now, &hit)
                                                          : NULL;
    if (e && hit) {
        err = e->err;
        if (!err)
            memcpy(out, &e->prof, sizeof(*out));
    } else {
        err = profile_read(ss, impu, out);
        if (e && (err == 0 || err == ENOENT)) {
            e->until_ms = now + PCACHE_TTL_MS;
            e->err = err;
            strcpy(e->impu, impu);
            if (!err)
                memcpy(&e->prof, out, sizeof(*out));
        }
    }
    pthread_mutex_unlock(&ss->mu);
    if (err)
        memset(out, 0, sizeof(*out));
    return err;
}

/* One row of ST_IMPU_FIND: the head of the profile from the first, an IMPU of the set from
 * each. */
static int impu_find_row(sqlite3_stmt *s, struct store_profile *out, int64_t *irs_id,
                         int64_t *sub_id)
{
    struct store_impu *u;
    int err;

    if (out->irs.nimpus == 0) {
        *irs_id = sqlite3_column_int64(s, 0);
        *sub_id = sqlite3_column_int64(s, 1);
        out->identity_blocking = sqlite3_column_int(s, 2) != 0;
        out->user_by_policy = sqlite3_column_int(s, 3) != 0;
        if ((err = store__col_text(s, 4, out->scscf, sizeof(out->scscf))))
            return err;
    }
    if (out->irs.nimpus == STORE_IRS_MAX)
        return EIO;
    u = &out->irs.impus[out->irs.nimpus++];
    if ((err = store__col_text(s, 5, u->uri, sizeof(u->uri))) ||
        (err = store__col_text(s, 6, u->display, sizeof(u->display))))
        return err;
    u->barred = sqlite3_column_int(s, 7) != 0;
    u->pseudonym = sqlite3_column_int(s, 8) != 0;
    return 0;
}

/* profile_get from the tables, in one read transaction. Lock held. */
static int profile_read(struct sqlite_store *ss, const char *impu, struct store_profile *out)
{
    int64_t irs_id = 0, sub_id = 0;
    int rc = SQLITE_DONE, err = 0;
    sqlite3_stmt *s;

    memset(out, 0, sizeof(*out));
    /* inside an open group commit, the group's transaction is the snapshot */
    bool txn = !ss->grp_open && store__exec(ss, ST_BEGIN_READ) == 0;
    if (!(s = store__stmt(ss, ST_IMPU_FIND, &err)))
        goto out;
    bind_text(s, 1, impu);
    while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW)
        err = impu_find_row(s, out, &irs_id, &sub_id);
    if (!err && rc != SQLITE_DONE)
        err = store__errno_of(rc);
    if (!err && out->irs.nimpus == 0)
        err = ENOENT;
    sqlite3_reset(s);
    if (err)
        goto out;
    out->sub_id = sub_id;
    out->irs.id = irs_id;
    /* Only the IMPU's own set (R82). The default IMPU is sets[0].impus[0], so provisioning
     * order already puts it first whenever it belongs to this set. */
    out->index = out->irs.nimpus;
    for (size_t i = 0; i < out->irs.nimpus; i++)
        if (strcmp(out->irs.impus[i].uri, impu) == 0)
            out->index = i;
    if (out->index == out->irs.nimpus) {
        err = EIO;
        goto out;
    }
    if (!(s = store__stmt(ss, ST_IMPIS_OF_SUB, &err)))
        goto out;
    sqlite3_bind_int64(s, 1, sub_id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        struct store_cred c;
        if (!(err = read_cred(s, &c))) {
            memcpy(out->impi, c.impi, sizeof(out->impi));
            ccache_put(ss, &c, sub_id);
        }
        explicit_bzero(&c, sizeof(c));
    } else {
        err = rc == SQLITE_DONE ? EIO : store__errno_of(rc);
    }
    sqlite3_reset(s);
    if (err)
        goto out;
    err = read_ifc(ss, sub_id, out->ifc, &out->nifc);
out:
    if (txn)
        store__exec(ss, ST_COMMIT);
    return err;
}

int store__sq_cred_get(struct store *st, const char *impi, struct store_cred *out, int64_t *sub_id)
{
    struct sqlite_store *ss = ss_of(st);
    int rc, err = 0;
    sqlite3_stmt *s;

    if (!st || !impi || !out)
        return EINVAL;
    pthread_mutex_lock(&ss->mu);
    if (ccache_get(ss, impi, out, sub_id))
        goto out;
    if (!(s = store__stmt(ss, ST_CRED, &err)))
        goto out;
    bind_text(s, 1, impi);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        err = read_cred(s, out);
        if (!err && sub_id)
            *sub_id = sqlite3_column_int64(s, 8);
    } else {
        err = rc == SQLITE_DONE ? ENOENT : store__errno_of(rc);
    }
    sqlite3_reset(s);
out:
    pthread_mutex_unlock(&ss->mu);
    return err;
}

int store__sq_aka_sqn_set(struct store *st, const char *impi, uint64_t sqn)
{
    struct sqlite_store *ss = ss_of(st);
    int err = 0;
    sqlite3_stmt *s;

    if (!st || !impi || (sqn >> 48) != 0)
        return EINVAL;
    pthread_mutex_lock(&ss->mu);
    if (!(s = store__stmt(ss, ST_SQN_SET, &err)))
        goto out;
    bind_text(s, 1, impi);
    sqlite3_bind_int64(s, 2, (int64_t)sqn);
    if (!(err = store__write(ss, s)) && sqlite3_changes(ss->db) == 0)
        err = ENOENT;
out:
    pthread_mutex_unlock(&ss->mu);
    return err;
}
