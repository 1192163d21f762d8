/**
 * @file sqlite_kv.c  The SQLite store's opaque values: what nodes keep across a restart (the
 * presence server's subscriptions and publications), under (namespace, key) with an expiry.
 * kv_each reads in keyset pages under the lock and calls back without it, like binding_each.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sipveil/core.h>

#include "store_int.h"

#define PAGE 256

int store__sq_kv_put(struct store *st, const char *ns, const char *key, int64_t expires_at,
                     const void *val, size_t len)
{
    struct sqlite_store *ss = ss_of(st);
    sqlite3_stmt *s;
    int err = 0;

    if (!st || !ns || !key || (!val && len))
        return EINVAL;
    if (len > STORE_KV_MAX)
        return EFBIG;
    pthread_mutex_lock(&ss->mu);
    if ((s = store__stmt(ss, ST_KV_PUT, &err))) {
        bind_text(s, 1, ns);
        bind_text(s, 2, key);
        sqlite3_bind_int64(s, 3, expires_at);
        sqlite3_bind_blob(s, 4, len ? val : "", (int)len, SQLITE_STATIC);
        err = store__write(ss, s);
    }
    pthread_mutex_unlock(&ss->mu);
    return err;
}

int store__sq_kv_del(struct store *st, const char *ns, const char *key)
{
    struct sqlite_store *ss = ss_of(st);
    sqlite3_stmt *s;
    int err = 0;

    if (!st || !ns || !key)
        return EINVAL;
    pthread_mutex_lock(&ss->mu);
    if ((s = store__stmt(ss, ST_KV_DEL, &err))) {
        bind_text(s, 1, ns);
        bind_text(s, 2, key);
        err = store__write(ss, s);
    }
    pthread_mutex_unlock(&ss->mu);
    return err;
}

struct kv_row {
    char *key;
    int64_t exp;
    void *val;
    size_t len;
};

static void rows_free(struct kv_row *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sv_free(r[i].key);
        sv_free(r[i].val);
    }
}

/* One page after @p after, copied out under the lock. */
static int page(struct sqlite_store *ss, const char *ns, const char *after, struct kv_row *r,
                size_t *n)
{
    sqlite3_stmt *s;
    int err = 0, rc;

    *n = 0;
    pthread_mutex_lock(&ss->mu);
    if (!(s = store__stmt(ss, ST_KV_PAGE, &err)))
        goto out;
    bind_text(s, 1, ns);
    bind_text(s, 2, after);
    sqlite3_bind_int(s, 3, PAGE);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(s, 0);
        size_t kl = k ? strlen(k) : 0, vl = (size_t)sqlite3_column_bytes(s, 2);
        struct kv_row *x = &r[*n];
        x->key = sv_malloc(kl + 1);
        x->val = sv_malloc(vl ? vl : 1);
        if (!x->key || !x->val) {
            sv_free(x->key);
            sv_free(x->val);
            err = ENOMEM;
            break;
        }
        memcpy(x->key, k ? k : "", kl + 1);
        if (vl)
            memcpy(x->val, sqlite3_column_blob(s, 2), vl);
        x->len = vl;
        x->exp = sqlite3_column_int64(s, 1);
        (*n)++;
    }
    if (!err && rc != SQLITE_DONE && rc != SQLITE_ROW)
        err = store__errno_of(rc);
    sqlite3_reset(s);
out:
    pthread_mutex_unlock(&ss->mu);
    return err;
}

int store__sq_kv_each(struct store *st, const char *ns,
                      int (*cb)(void *arg, const char *key, int64_t expires_at, const void *val,
                                size_t len),
                      void *arg)
{
    struct sqlite_store *ss = ss_of(st);
    struct kv_row *r;
    char *after = NULL;
    int err = 0;

    if (!st || !ns || !cb)
        return EINVAL;
    if (!(r = sv_calloc(PAGE, sizeof(*r))))
        return ENOMEM;
    for (;;) {
        size_t n;
        if ((err = page(ss, ns, after ? after : "", r, &n))) {
            rows_free(r, n);
            break;
        }
        if (!n)
            break;
        for (size_t i = 0; i < n && !err; i++)
            err = cb(arg, r[i].key, r[i].exp, r[i].val, r[i].len);
        sv_free(after);
        after = r[n - 1].key;
        r[n - 1].key = NULL;
        rows_free(r, n);
        if (err || n < PAGE)
            break;
    }
    sv_free(after);
    sv_free(r);
    return err;
}
