/**
 * @file sqlite_binding.c  The SQLite store's registrations: binding_put, binding_del and
 * binding_each, which a restarted registrar uses to reload every binding.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define BINDING_BATCH 512

/* ---- registrations --------------------------------------------------------------------- */

int store__sq_binding_put(struct store *st, const struct store_binding *b)
{
    struct sqlite_store *ss = ss_of(st);
    int err = 0;
    sqlite3_stmt *s;

    if (!st || !b)
        return EINVAL;
    if (!FITS(b->impu) || !FITS(b->contact) || !FITS(b->path) || !FITS(b->callid) || !FITS(b->flow))
        return ENAMETOOLONG;
    if (!b->contact[0])
        return EINVAL;
    pthread_mutex_lock(&ss->mu);
    if (!(s = store__stmt(ss, ST_BIND_PUT, &err)))
        goto out;
    sqlite3_bind_int64(s, 1, b->irs_id);
    bind_text(s, 2, b->contact);
    bind_text(s, 3, b->impu);
    bind_text(s, 4, b->path);
    bind_text(s, 5, b->callid);
    sqlite3_bind_int64(s, 6, b->cseq);
    sqlite3_bind_int64(s, 7, b->expires_at);
    bind_text(s, 8, b->flow);
    err = store__write(ss, s);
    if (err == EEXIST) /* the only constraint REPLACE leaves: the set's foreign key */
        err = ENOENT;
out:
    pthread_mutex_unlock(&ss->mu);
    return err;
}

int store__sq_binding_del(struct store *st, int64_t irs_id, const char *contact)
{
    struct sqlite_store *ss = ss_of(st);
    int err = 0;
    sqlite3_stmt *s;

    if (!st)
        return EINVAL;
    pthread_mutex_lock(&ss->mu);
    if (!(s = store__stmt(ss, contact ? ST_BIND_DEL : ST_BIND_DEL_ALL, &err)))
        goto out;
    sqlite3_bind_int64(s, 1, irs_id);
    if (contact)
        bind_text(s, 2, contact);
    err = store__write(ss, s);
out:
    pthread_mutex_unlock(&ss->mu);
    return err;
}

int store__sq_binding_each(struct store *st, int (*cb)(void *arg, const struct store_binding *b),
                           void *arg)
{
    struct sqlite_store *ss = ss_of(st);
    struct store_binding *batch;
    int64_t last_irs = INT64_MIN;
    char *last_contact;
    int err = 0;

    if (!st || !cb)
        return EINVAL;
    batch = malloc(BINDING_BATCH * sizeof(*batch));
    last_contact = calloc(1, STORE_CONTACT_MAX);
    if (!batch || !last_contact) {
        err = ENOMEM;
        goto out;
    }
    for (;;) {
        size_t n = 0;
        int rc = SQLITE_DONE;
        sqlite3_stmt *s;

        pthread_mutex_lock(&ss->mu);
        if ((s = store__stmt(ss, ST_BIND_PAGE, &err))) {
            sqlite3_bind_int64(s, 1, last_irs);
            bind_text(s, 2, last_contact);
            sqlite3_bind_int(s, 3, BINDING_BATCH);
            while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW) {
                struct store_binding *b = &batch[n++];
                b->irs_id = sqlite3_column_int64(s, 0);
                b->cseq = (uint32_t)sqlite3_column_int64(s, 5);
                b->expires_at = sqlite3_column_int64(s, 6);
                if ((err = store__col_text(s, 1, b->contact, sizeof(b->contact))) ||
                    (err = store__col_text(s, 2, b->impu, sizeof(b->impu))) ||
                    (err = store__col_text(s, 3, b->path, sizeof(b->path))) ||
                    (err = store__col_text(s, 4, b->callid, sizeof(b->callid))) ||
                    (err = store__col_text(s, 7, b->flow, sizeof(b->flow))))
                    break;
            }
            if (!err && rc != SQLITE_DONE)
                err = store__errno_of(rc);
            sqlite3_reset(s);
        }
        pthread_mutex_unlock(&ss->mu);
        if (err)
            goto out;
        for (size_t i = 0; i < n; i++)
            if ((err = cb(arg, &batch[i])))
                goto out;
        if (n < BINDING_BATCH)
            break;
        last_irs = batch[n - 1].irs_id;
        memcpy(last_contact, batch[n - 1].contact, STORE_CONTACT_MAX);
    }
out:
    free(last_contact);
    free(batch);
    return err;
}
