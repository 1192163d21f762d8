/**
 * @file sqlite_xcap.c  The SQLite store's XCAP documents (RFC 4825): xcap_get, and xcap_put and
 * xcap_del as compare-and-set writes on the document's ETag.
 *
 * A conditional write reads the current ETag and writes in one IMMEDIATE transaction, under the
 * store's mutex: the mutex keeps out the other threads of this process, the transaction the
 * other processes that share the file (`sipveil sub`, a second node), so that two clients that
 * both saw ETag A cannot both replace it (RFC 4825 §7.11, the lost update).
 *
 * ETags are 128 random bits in hex, new at every write: strong by construction, since any
 * change of the bytes comes with a new ETag, and they reveal nothing about the document.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sipveil/core.h>

#include "store_int.h"

#define ETAG_OCTETS 16

/* The arguments every XCAP entry checks: present, and short enough for the schema's keys. */
static int key_ok(const char *auid, const char *xui, const char *doc)
{
    if (!auid || !xui || !doc || !*auid || !*xui || !*doc)
        return EINVAL;
    if (strlen(auid) >= STORE_XCAP_NAME_MAX || strlen(doc) >= STORE_XCAP_NAME_MAX ||
        strlen(xui) >= STORE_URI_MAX)
        return ENAMETOOLONG;
    return 0;
}

static void bind_key(sqlite3_stmt *s, const char *auid, const char *xui, const char *doc)
{
    bind_text(s, 1, auid);
    bind_text(s, 2, xui);
    bind_text(s, 3, doc);
}

/* The current ETag of a document into @p etag ("" when there is none). Mutex held. */
static int current_etag(struct sqlite_store *ss, const char *auid, const char *xui, const char *doc,
                        char etag[STORE_XCAP_ETAG_MAX])
{
    int err = 0, rc;
    sqlite3_stmt *s = store__stmt(ss, ST_XCAP_GET, &err);

    if (!s)
        return err;
    etag[0] = '\0';
    bind_key(s, auid, xui, doc);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        err = store__col_text(s, 0, etag, STORE_XCAP_ETAG_MAX);
    else if (rc != SQLITE_DONE)
        err = store__errno_of(rc);
    sqlite3_reset(s);
    return err;
}

/* Whether the current ETag @p cur ("" for none) satisfies @p expected (see store.h). */
static bool expected_holds(const char *expected, const char *cur)
{
    if (!expected)
        return true;
    if (!*expected)
        return !*cur;
    if (strcmp(expected, "*") == 0)
        return *cur != '\0';
    return *cur && strcmp(expected, cur) == 0;
}

static int make_etag(char etag[STORE_XCAP_ETAG_MAX])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t r[ETAG_OCTETS];
    int err = sv_random(r, sizeof(r));

    if (err)
        return err;
    for (size_t i = 0; i < sizeof(r); i++) {
        etag[2 * i] = hex[r[i] >> 4];
        etag[2 * i + 1] = hex[r[i] & 15];
    }
    etag[2 * sizeof(r)] = '\0';
    return 0;
}

/**
 * Read an XCAP document.
 * @param st    the store
 * @param auid  the application usage, "pres-rules"
 * @param xui   the user's XUI, "sip:alice@ims.example"
 * @param doc   the document name, "index"
 * @param out   out: the bytes and the ETag
 * @return 0, ENOENT, EINVAL, ENAMETOOLONG, EIO (a stored body too large) or a store errno
 */
int store__sq_xcap_get(struct store *st, const char *auid, const char *xui, const char *doc,
                       struct store_xcap_doc *out)
{
    struct sqlite_store *ss = ss_of(st);
    sqlite3_stmt *s;
    int err, rc;

    if (!st || !out)
        return EINVAL;
    if ((err = key_ok(auid, xui, doc)))
        return err;
    pthread_mutex_lock(&ss->mu);
    if (!(s = store__stmt(ss, ST_XCAP_GET, &err)))
        goto out;
    bind_key(s, auid, xui, doc);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const void *b = sqlite3_column_blob(s, 1);
        size_t n = (size_t)sqlite3_column_bytes(s, 1);
        err = store__col_text(s, 0, out->etag, sizeof(out->etag));
        if (!err && n > sizeof(out->body))
            err = EIO;
        if (!err) {
            if (n)
                memcpy(out->body, b, n);
            out->len = n;
        }
    } else {
        err = rc == SQLITE_DONE ? ENOENT : store__errno_of(rc);
    }
    sqlite3_reset(s);
out:
    pthread_mutex_unlock(&ss->mu);
    return err;
}

/**
 * Create or replace an XCAP document, if @p expected_etag holds.
 * @param st             the store
 * @param auid           the application usage
 * @param xui            the XUI
 * @param doc            the document name
 * @param body           its bytes
 * @param len            how many (at most STORE_XCAP_DOC_MAX)
 * @param expected_etag  NULL, "" (must not exist), "*" (must exist) or the current ETag
 * @param etag           out: the new ETag
 * @param created        out (may be NULL): whether the document is new
 * @return 0, ECANCELED (the comparison failed; nothing written), EFBIG, EINVAL,
 *         ENAMETOOLONG, ENOMEM or a store errno
 */
int store__sq_xcap_put(struct store *st, const char *auid, const char *xui, const char *doc,
                       const char *body, size_t len, const char *expected_etag,
                       char etag[STORE_XCAP_ETAG_MAX], bool *created)
{
    struct sqlite_store *ss = ss_of(st);
    char cur[STORE_XCAP_ETAG_MAX], next[STORE_XCAP_ETAG_MAX];
    sqlite3_stmt *s;
    int err;

    if (!st || (!body && len) || !etag)
        return EINVAL;
    if ((err = key_ok(auid, xui, doc)))
        return err;
    if (len > STORE_XCAP_DOC_MAX)
        return EFBIG;
    if ((err = make_etag(next)))
        return err;
    pthread_mutex_lock(&ss->mu);
    store__group_close(ss);
    if ((err = store__exec(ss, ST_BEGIN)))
        goto out;
    if ((err = current_etag(ss, auid, xui, doc, cur)))
        goto rollback;
    if (!expected_holds(expected_etag, cur)) {
        err = ECANCELED;
        goto rollback;
    }
    if (!(s = store__stmt(ss, ST_XCAP_PUT, &err)))
        goto rollback;
    bind_key(s, auid, xui, doc);
    bind_text(s, 4, next);
    sqlite3_bind_blob(s, 5, len ? body : "", (int)len, SQLITE_STATIC);
    if ((err = store__step_done(s)))
        goto rollback;
    if ((err = store__exec(ss, ST_COMMIT)))
        goto rollback;
    memcpy(etag, next, sizeof(next));
    if (created)
        *created = !*cur;
    goto out;
rollback:
    store__exec(ss, ST_ROLLBACK);
out:
    pthread_mutex_unlock(&ss->mu);
    return err;
}

/**
 * Delete an XCAP document, if @p expected_etag holds.
 * @param st             the store
 * @param auid           the application usage
 * @param xui            the XUI
 * @param doc            the document name
 * @param expected_etag  NULL, "*" or the current ETag ("" never holds for an existing one)
 * @return 0, ENOENT (none, and @p expected_etag NULL), ECANCELED, EINVAL, ENAMETOOLONG or a
 *         store errno
 */
int store__sq_xcap_del(struct store *st, const char *auid, const char *xui, const char *doc,
                       const char *expected_etag)
{
    struct sqlite_store *ss = ss_of(st);
    char cur[STORE_XCAP_ETAG_MAX];
    sqlite3_stmt *s;
    int err;

    if (!st)
        return EINVAL;
    if ((err = key_ok(auid, xui, doc)))
        return err;
    pthread_mutex_lock(&ss->mu);
    store__group_close(ss);
    if ((err = store__exec(ss, ST_BEGIN)))
        goto out;
    if ((err = current_etag(ss, auid, xui, doc, cur)))
        goto rollback;
    if (!*cur && !expected_etag) {
        err = ENOENT;
        goto rollback;
    }
    if (!*cur || !expected_holds(expected_etag, cur)) {
        err = ECANCELED;
        goto rollback;
    }
    if (!(s = store__stmt(ss, ST_XCAP_DEL, &err)))
        goto rollback;
    bind_key(s, auid, xui, doc);
    if ((err = store__step_done(s)))
        goto rollback;
    if ((err = store__exec(ss, ST_COMMIT)))
        goto rollback;
    goto out;
rollback:
    store__exec(ss, ST_ROLLBACK);
out:
    pthread_mutex_unlock(&ss->mu);
    return err;
}
