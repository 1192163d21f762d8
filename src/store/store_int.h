/**
 * @file store_int.h  Private to the store layer: the SQLite store's handle, its statement
 * cache and the helpers that sqlite.c (open, schema, statements), sqlite_sub.c (subscriptions
 * and lookups) and sqlite_binding.c (registrations) share. Every function here expects the
 * store's mutex to be held by its caller.
 */
#ifndef SIPVEIL_STORE_INT_H
#define SIPVEIL_STORE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include <sipveil/store.h>

/* The statements of the cache; their SQL is stmt_sql[] in sqlite.c. */
enum stmt_id {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_SUB_BY_IMPI,
    ST_SUB_DEL,
    ST_SUB_INS,
    ST_IMPI_INS,
    ST_AKA_INS,
    ST_IRS_INS,
    ST_IMPU_INS,
    ST_IFC_INS,
    ST_SUB_ROW,
    ST_IMPIS_OF_SUB,
    ST_SETS_OF_SUB,
    ST_IMPUS_OF_IRS,
    ST_IFC_OF_SUB,
    ST_SUB_IDS,
    ST_IMPU_FIND,
    ST_CRED,
    ST_SQN_SET,
    ST_BIND_PUT,
    ST_BIND_DEL,
    ST_BIND_DEL_ALL,
    ST_BIND_PAGE,
    ST_XCAP_GET,
    ST_XCAP_PUT,
    ST_XCAP_DEL,
    ST_BEGIN_READ,
    ST_KV_PUT,
    ST_KV_DEL,
    ST_KV_PAGE,
    ST_COUNT
};

/*
 * Profiles read lately (profile_get), so that the I-CSCF and the S-CSCF of one process, and a
 * UE's challenge and its answer, do not read the same five tables again within a moment: the
 * read is six statements in a transaction, the largest store cost of a registration
 * (bench/register). Direct-mapped by the IMPU's hash; an entry is good for PCACHE_TTL_MS.
 * This process's provisioning (sub_put, sub_del) empties it; another process's (`sipveil sub`
 * while nodes run) is seen within PCACHE_TTL_MS.
 */
#define PCACHE_SLOTS 256
#define PCACHE_TTL_MS 2000
struct pcache_ent {
    uint64_t until_ms; /* 0: empty */
    int err;           /* 0 or ENOENT: what profile_get answered */
    char impu[STORE_URI_MAX];
    struct store_profile prof;
};

/*
 * The Digest credentials that a profile read met on its way (the subscription's first IMPI,
 * in the same statement), so that the S-CSCF's cred_get for the REGISTER the I-CSCF has just
 * routed costs no transaction of its own. Direct-mapped by the IMPI's hash, good for
 * PCACHE_TTL_MS, emptied with the profiles. AKA credentials are never kept: their SQN moves
 * at every challenge and is read from the table each time.
 */
struct ccache_ent {
    uint64_t until_ms; /* 0: empty */
    int64_t sub_id;
    struct store_cred cred;
};

struct sqlite_store {
    struct store base; /* first: the public handle */
    sqlite3 *db;
    pthread_mutex_t mu; /* guards db, every statement, pcache and ccache */
    sqlite3_stmt *st[ST_COUNT];
    struct pcache_ent *pcache; /* PCACHE_SLOTS, allocated at the first profile_get */
    struct ccache_ent *ccache; /* PCACHE_SLOTS, allocated with pcache */
    /* The group commit (store_api.defer): the transaction that the writes of deferring
     * threads share, from the first of them to the commit. */
    bool grp_open;
    uint64_t grp_gen;        /* the group now or last open: 1, 2, ... */
    uint64_t grp_failed_gen; /* the last group that could not be committed (0: none) */
    int grp_failed_err;      /* and why */
};

/** Forget every cached profile and credential (a write to the subscriber tables). Lock held. */
static inline void store__pcache_clear(struct sqlite_store *ss)
{
    if (ss->pcache)
        for (size_t i = 0; i < PCACHE_SLOTS; i++)
            ss->pcache[i].until_ms = 0;
    if (ss->ccache)
        explicit_bzero(ss->ccache, PCACHE_SLOTS * sizeof(*ss->ccache));
}

static inline struct sqlite_store *ss_of(struct store *st)
{
    return (struct sqlite_store *)st;
}

static inline void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* A fixed-size string field is valid when it holds its NUL. */
static inline bool fits(const char *f, size_t sz)
{
    return memchr(f, '\0', sz) != NULL;
}
#define FITS(f) fits((f), sizeof(f))

/** An SQLite result code as an errno (SQLITE_CONSTRAINT is EEXIST; callers refine it). */
int store__errno_of(int rc);
/** The cached statement @p id, reset and unbound; NULL with *err set if it cannot be made. */
sqlite3_stmt *store__stmt(struct sqlite_store *ss, enum stmt_id id, int *err);
/** Step a statement that returns no rows, then reset it. @return 0 or an errno. */
int store__step_done(sqlite3_stmt *s);
/** Run cached statement @p id (BEGIN, COMMIT, ROLLBACK). @return 0 or an errno. */
int store__exec(struct sqlite_store *ss, enum stmt_id id);
/**
 * Run write statement @p s: in the group commit when this thread defers (opening the group if
 * none is open); otherwise on its own, or, when a group is open, in it, and then commit the
 * group, so that the write is on disk when this returns. @return an errno.
 */
int store__write(struct sqlite_store *ss, sqlite3_stmt *s);
/** Commit the open group, if any, before an operation with a transaction of its own. */
void store__group_close(struct sqlite_store *ss);
/** Copy text column @p i into a field of @p sz bytes; EIO if it does not fit. */
int store__col_text(sqlite3_stmt *s, int i, char *dst, size_t sz);
/** Copy blob column @p i of exactly @p sz bytes; EIO otherwise. */
int store__col_blob(sqlite3_stmt *s, int i, uint8_t *dst, size_t sz);

/* The function table's entries (sqlite_sub.c, sqlite_binding.c). */
int store__sq_sub_put(struct store *st, const struct store_sub *sub);
int store__sq_sub_del(struct store *st, const char *impi);
int store__sq_sub_get(struct store *st, const char *impi, struct store_sub *out);
int store__sq_sub_each(struct store *st, int (*cb)(void *arg, const struct store_sub *sub),
                       void *arg);
int store__sq_profile_get(struct store *st, const char *impu, struct store_profile *out);
int store__sq_cred_get(struct store *st, const char *impi, struct store_cred *out, int64_t *sub_id);
int store__sq_aka_sqn_set(struct store *st, const char *impi, uint64_t sqn);
int store__sq_binding_put(struct store *st, const struct store_binding *b);
int store__sq_binding_del(struct store *st, int64_t irs_id, const char *contact);
int store__sq_binding_each(struct store *st, int (*cb)(void *arg, const struct store_binding *b),
                           void *arg);
/* sqlite_xcap.c */
int store__sq_xcap_get(struct store *st, const char *auid, const char *xui, const char *doc,
                       struct store_xcap_doc *out);
int store__sq_xcap_put(struct store *st, const char *auid, const char *xui, const char *doc,
                       const char *body, size_t len, const char *expected_etag,
                       char etag[STORE_XCAP_ETAG_MAX], bool *created);
int store__sq_xcap_del(struct store *st, const char *auid, const char *xui, const char *doc,
                       const char *expected_etag);
/* sqlite_kv.c */
int store__sq_kv_put(struct store *st, const char *ns, const char *key, int64_t expires_at,
                     const void *val, size_t len);
int store__sq_kv_del(struct store *st, const char *ns, const char *key);
int store__sq_kv_each(struct store *st, const char *ns,
                      int (*cb)(void *arg, const char *key, int64_t expires_at, const void *val,
                                size_t len),
                      void *arg);

#endif
