/**
 * @file sqlite.c  The SQLite backend of struct store_api: the embedded default store. This
 * file opens it, holds the schema and the statement cache; sqlite_sub.c has the subscriptions
 * and lookups, sqlite_binding.c the registrations, sqlite_xcap.c the XCAP documents.
 *
 * One connection per store, guarded by one mutex: the store is called from several worker
 * threads, and SQLite connections must not be used by two threads at once. Statements are
 * prepared once, on first use, and kept for the life of the store (the cache is indexed by
 * enum stmt_id). The file is WAL-journalled with synchronous=NORMAL: a power cut may lose the
 * last transactions but never corrupts the file, which is the right trade for registrations
 * that a UE refreshes anyway.
 *
 * Callbacks (sub_each, binding_each) are never called with the mutex held: the rows are read
 * in batches under the lock and handed out after it is released, so a callback may call the
 * store again without deadlocking.
 *
 * The schema is versioned with PRAGMA user_version. Each migration runs in a transaction of its
 * own at open; a file written by a newer binary (a higher version) is refused with EPROTO
 * rather than misread.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

#define SQLITE_BUSY_MS 5000

/* Version 1 is the whole schema. Every child row goes with its parent (ON DELETE CASCADE), so
 * deleting the subscription row deletes its IMPIs, AKA keys, sets, IMPUs, iFC and bindings. */
static const char *const migrations[] = {
    NULL, /* version 0: the empty file */
    "CREATE TABLE subscription ("
    "  id INTEGER PRIMARY KEY,"
    "  identity_blocking INTEGER NOT NULL DEFAULT 0,"
    "  user_by_policy INTEGER NOT NULL DEFAULT 0,"
    "  scscf TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE impi ("
    "  id INTEGER PRIMARY KEY,"
    "  subscription_id INTEGER NOT NULL REFERENCES subscription(id) ON DELETE CASCADE,"
    "  position INTEGER NOT NULL,"
    "  impi TEXT NOT NULL UNIQUE,"
    "  realm TEXT NOT NULL,"
    "  ha1_md5 TEXT NOT NULL DEFAULT '',"
    "  ha1_sha256 TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX impi_sub ON impi(subscription_id);"
    /* The AKA keys sit in a table of their own: only AKA IMPIs have a row, and the one
     * column that changes at each authentication (sqn) is not in the IMPI row. */
    "CREATE TABLE aka ("
    "  impi_id INTEGER PRIMARY KEY REFERENCES impi(id) ON DELETE CASCADE,"
    "  k BLOB NOT NULL, opc BLOB NOT NULL, amf BLOB NOT NULL, sqn INTEGER NOT NULL);"
    "CREATE TABLE irs ("
    "  id INTEGER PRIMARY KEY,"
    "  subscription_id INTEGER NOT NULL REFERENCES subscription(id) ON DELETE CASCADE,"
    "  position INTEGER NOT NULL);"
    "CREATE INDEX irs_sub ON irs(subscription_id);"
    "CREATE TABLE impu ("
    "  id INTEGER PRIMARY KEY,"
    "  irs_id INTEGER NOT NULL REFERENCES irs(id) ON DELETE CASCADE,"
    "  uri TEXT NOT NULL UNIQUE,"
    "  display TEXT NOT NULL DEFAULT '',"
    "  barred INTEGER NOT NULL DEFAULT 0,"
    "  pseudonym INTEGER NOT NULL DEFAULT 0,"
    "  position INTEGER NOT NULL);"
    "CREATE INDEX impu_irs ON impu(irs_id);"
    "CREATE TABLE ifc ("
    "  subscription_id INTEGER NOT NULL REFERENCES subscription(id) ON DELETE CASCADE,"
    "  position INTEGER NOT NULL,"
    "  priority INTEGER NOT NULL,"
    "  method TEXT NOT NULL, event TEXT NOT NULL, scase INTEGER NOT NULL,"
    "  as_uri TEXT NOT NULL);"
    "CREATE INDEX ifc_sub ON ifc(subscription_id);"
    "CREATE TABLE binding ("
    "  irs_id INTEGER NOT NULL REFERENCES irs(id) ON DELETE CASCADE,"
    "  contact TEXT NOT NULL,"
    "  impu TEXT NOT NULL, path TEXT NOT NULL, callid TEXT NOT NULL,"
    "  cseq INTEGER NOT NULL, expires_at INTEGER NOT NULL, flow TEXT NOT NULL,"
    "  PRIMARY KEY (irs_id, contact)) WITHOUT ROWID;",
    /* Version 2: XCAP documents (sqlite_xcap.c). They are keyed by their XUI as text, not tied
     * to a subscription: the XCAP server decides who may touch which XUI. */
    "CREATE TABLE xcap_doc ("
    "  auid TEXT NOT NULL, xui TEXT NOT NULL, doc TEXT NOT NULL,"
    "  etag TEXT NOT NULL, body BLOB NOT NULL,"
    "  PRIMARY KEY (auid, xui, doc)) WITHOUT ROWID;",
    /* Version 3: the nodes' state that survives a restart (sqlite_kv.c): the presence
     * server's subscriptions and publications. */
    "CREATE TABLE kv ("
    "  ns TEXT NOT NULL, key TEXT NOT NULL, expires_at INTEGER NOT NULL, val BLOB NOT NULL,"
    "  PRIMARY KEY (ns, key)) WITHOUT ROWID;",
    /* Version 4: the child indexes carry the order the profile read asks for (ORDER BY
     * position, or priority), so that the read of every REGISTER walks an index instead of
     * sorting the rows in a temporary b-tree. They still serve the foreign keys' cascades. */
    "DROP INDEX IF EXISTS impi_sub;"
    "CREATE INDEX IF NOT EXISTS impi_sub_pos ON impi(subscription_id, position);"
    "DROP INDEX IF EXISTS irs_sub;"
    "CREATE INDEX IF NOT EXISTS irs_sub_pos ON irs(subscription_id, position);"
    "DROP INDEX IF EXISTS impu_irs;"
    "CREATE INDEX IF NOT EXISTS impu_irs_pos ON impu(irs_id, position);"
    "DROP INDEX IF EXISTS ifc_sub;"
    "CREATE INDEX IF NOT EXISTS ifc_sub_prio ON ifc(subscription_id, priority, position);",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])) - 1)

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SUB_BY_IMPI] = "SELECT subscription_id FROM impi WHERE impi = ?1",
    [ST_SUB_DEL] = "DELETE FROM subscription WHERE id = ?1",
    [ST_SUB_INS] = "INSERT INTO subscription (identity_blocking, user_by_policy, scscf) "
                   "VALUES (?1, ?2, ?3)",
    [ST_IMPI_INS] = "INSERT INTO impi (subscription_id, position, impi, realm, ha1_md5, "
                    "ha1_sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_AKA_INS] = "INSERT INTO aka (impi_id, k, opc, amf, sqn) VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_IRS_INS] = "INSERT INTO irs (subscription_id, position) VALUES (?1, ?2)",
    [ST_IMPU_INS] = "INSERT INTO impu (irs_id, uri, display, barred, pseudonym, position) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_IFC_INS] = "INSERT INTO ifc (subscription_id, position, priority, method, event, scase, "
                   "as_uri) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_SUB_ROW] = "SELECT identity_blocking, user_by_policy, scscf FROM subscription "
                   "WHERE id = ?1",
    [ST_IMPIS_OF_SUB] = "SELECT impi.impi, impi.realm, impi.ha1_md5, impi.ha1_sha256, aka.k, "
                        "aka.opc, aka.amf, aka.sqn FROM impi LEFT JOIN aka ON aka.impi_id = "
                        "impi.id WHERE impi.subscription_id = ?1 ORDER BY impi.position",
    [ST_SETS_OF_SUB] = "SELECT id FROM irs WHERE subscription_id = ?1 ORDER BY position",
    [ST_IMPUS_OF_IRS] = "SELECT uri, display, barred, pseudonym FROM impu WHERE irs_id = ?1 "
                        "ORDER BY position",
    [ST_IFC_OF_SUB] = "SELECT priority, method, event, scase, as_uri FROM ifc "
                      "WHERE subscription_id = ?1 ORDER BY priority, position",
    [ST_SUB_IDS] = "SELECT subscription_id FROM impi WHERE position = 0 ORDER BY impi",
    /* the IMPU's set and subscription, with the subscription row (the head of a profile),
       once per IMPU of that set, in order: one statement where two were */
    [ST_IMPU_FIND] = "SELECT me.irs_id, irs.subscription_id, sub.identity_blocking, "
                     "sub.user_by_policy, sub.scscf, sib.uri, sib.display, sib.barred, "
                     "sib.pseudonym FROM impu AS me JOIN irs ON irs.id = me.irs_id "
                     "JOIN subscription AS sub ON sub.id = irs.subscription_id "
                     "JOIN impu AS sib ON sib.irs_id = me.irs_id "
                     "WHERE me.uri = ?1 ORDER BY sib.position",
    [ST_CRED] = "SELECT impi.impi, impi.realm, impi.ha1_md5, impi.ha1_sha256, aka.k, aka.opc, "
                "aka.amf, aka.sqn, impi.subscription_id FROM impi LEFT JOIN aka ON "
                "aka.impi_id = impi.id WHERE impi.impi = ?1",
    [ST_SQN_SET] = "UPDATE aka SET sqn = ?2 WHERE impi_id = (SELECT id FROM impi WHERE impi = ?1)",
    [ST_BIND_PUT] = "INSERT OR REPLACE INTO binding (irs_id, contact, impu, path, callid, cseq, "
                    "expires_at, flow) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_BIND_DEL] = "DELETE FROM binding WHERE irs_id = ?1 AND contact = ?2",
    [ST_BIND_DEL_ALL] = "DELETE FROM binding WHERE irs_id = ?1",
    /* Keyset paging: each batch starts after the last (irs_id, contact) of the previous one,
     * which the primary key index serves directly, so the whole walk is linear. */
    [ST_BIND_PAGE] = "SELECT irs_id, contact, impu, path, callid, cseq, expires_at, flow "
                     "FROM binding WHERE (irs_id, contact) > (?1, ?2) "
                     "ORDER BY irs_id, contact LIMIT ?3",
    [ST_XCAP_GET] = "SELECT etag, body FROM xcap_doc WHERE auid = ?1 AND xui = ?2 AND doc = ?3",
    [ST_XCAP_PUT] = "INSERT OR REPLACE INTO xcap_doc (auid, xui, doc, etag, body) "
                    "VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_XCAP_DEL] = "DELETE FROM xcap_doc WHERE auid = ?1 AND xui = ?2 AND doc = ?3",
    /* a read of several statements in one transaction: one snapshot, and one round of the
       WAL's read locks (each autocommit statement would take its own) */
    [ST_BEGIN_READ] = "BEGIN",
    [ST_KV_PUT] = "INSERT OR REPLACE INTO kv (ns, key, expires_at, val) VALUES (?1, ?2, ?3, ?4)",
    [ST_KV_DEL] = "DELETE FROM kv WHERE ns = ?1 AND key = ?2",
    [ST_KV_PAGE] = "SELECT key, expires_at, val FROM kv WHERE ns = ?1 AND key > ?2 "
                   "ORDER BY key LIMIT ?3",
};

static const struct store_api sqlite_api;

int store_schema_version(void)
{
    return SCHEMA_VERSION;
}

/* An SQLite result code as an errno. Constraint violations are mapped by the callers, which
 * know what the constraint means. */
int store__errno_of(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_NOMEM:
        return ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return EBUSY;
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_AUTH:
        return EACCES;
    case SQLITE_CONSTRAINT:
        return EEXIST;
    case SQLITE_TOOBIG:
        return ENAMETOOLONG;
    case SQLITE_FULL:
        return ENOSPC;
    default: /* SQLITE_CORRUPT, SQLITE_NOTADB, SQLITE_IOERR, ... */
        return EIO;
    }
}

/* The cached statement @p id, reset and unbound, or NULL (the error is in *err). */
sqlite3_stmt *store__stmt(struct sqlite_store *ss, enum stmt_id id, int *err)
{
    sqlite3_stmt *s = ss->st[id];
    if (!s) {
        int rc = sqlite3_prepare_v3(ss->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    &ss->st[id], NULL);
        if (rc != SQLITE_OK) {
            *err = store__errno_of(rc);
            return NULL;
        }
        return ss->st[id];
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

/* Run a statement that returns no rows; @return an errno. The statement is reset, so that
 * it holds no read lock past this call. */
int store__step_done(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : store__errno_of(rc);
}

int store__exec(struct sqlite_store *ss, enum stmt_id id)
{
    int err = 0;
    sqlite3_stmt *s = store__stmt(ss, id, &err);
    return s ? store__step_done(s) : err;
}

/* ---- the group commit ------------------------------------------------------------------ */

/*
 * A worker defers its writes for one read pass (store_api.defer): the binding that the
 * S-CSCF saves and the flow that the P-CSCF saves when the 200 passes it, for every REGISTER
 * of the pass, go into one transaction, committed when the pass ends and before anything it
 * answered leaves the process (the worker holds those datagrams back until then). One commit
 * instead of two per registration: half the WAL's locks (fcntl) and frames (pwrite).
 *
 * Threads share the one connection, so they share the group too: a deferring thread that
 * finds a group open joins it, and a thread that does not defer commits the group after its
 * write. Which thread commits does not matter; what matters is that each thread's writes are
 * committed before its defer ends, which the generation numbers let it check.
 */
static _Thread_local struct sqlite_store *defer_of; /* the store this thread defers, or NULL */
static _Thread_local uint64_t defer_gen;            /* the group its last write joined (0: none) */

/* Commit the open group. Lock held. */
static int group_commit(struct sqlite_store *ss)
{
    int err = store__exec(ss, ST_COMMIT);

    if (err) {
        if (!sqlite3_get_autocommit(ss->db))
            store__exec(ss, ST_ROLLBACK);
        ss->grp_failed_gen = ss->grp_gen;
        ss->grp_failed_err = err;
    }
    ss->grp_open = false;
    return err;
}

void store__group_close(struct sqlite_store *ss)
{
    if (ss->grp_open)
        group_commit(ss);
}

int store__write(struct sqlite_store *ss, sqlite3_stmt *s)
{
    bool mine = defer_of == ss;

    if (mine && !ss->grp_open && store__exec(ss, ST_BEGIN) == 0) {
        ss->grp_open = true;
        ss->grp_gen++;
    }
    int err = store__step_done(s);
    if (!ss->grp_open)
        return err;
    if (sqlite3_get_autocommit(ss->db)) {
        /* SQLite rolled the whole group back (SQLITE_FULL, SQLITE_IOERR, ...): every write
           in it is lost, not only this one */
        ss->grp_open = false;
        ss->grp_failed_gen = ss->grp_gen;
        ss->grp_failed_err = err ? err : EIO;
        return ss->grp_failed_err;
    }
    if (!mine) {
        int cerr = group_commit(ss);
        return err ? err : cerr;
    }
    defer_gen = ss->grp_gen;
    return err;
}

static int sq_defer(struct store *st, bool on)
{
    struct sqlite_store *ss = ss_of(st);
    int err = 0;

    if (!ss)
        return EINVAL;
    if (on) {
        defer_of = ss;
        defer_gen = 0;
        return 0;
    }
    if (defer_of != ss)
        return 0;
    defer_of = NULL;
    if (!defer_gen)
        return 0;
    pthread_mutex_lock(&ss->mu);
    if (ss->grp_open && ss->grp_gen == defer_gen)
        err = group_commit(ss);
    else if (ss->grp_failed_gen == defer_gen)
        err = ss->grp_failed_err; /* another thread's commit of the group failed */
    pthread_mutex_unlock(&ss->mu);
    defer_gen = 0;
    return err;
}

static bool sq_deferred(struct store *st)
{
    return st && defer_of == ss_of(st) && defer_gen != 0;
}

/* Copy column @p i into a fixed-size field; a stored value too long for it is EIO (a file
 * written by something else), never a silent truncation. */
int store__col_text(sqlite3_stmt *s, int i, char *dst, size_t sz)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    size_t n = t ? (size_t)sqlite3_column_bytes(s, i) : 0;
    if (n >= sz)
        return EIO;
    if (n)
        memcpy(dst, t, n);
    dst[n] = '\0';
    return 0;
}

int store__col_blob(sqlite3_stmt *s, int i, uint8_t *dst, size_t sz)
{
    const void *b = sqlite3_column_blob(s, i);
    if (!b || (size_t)sqlite3_column_bytes(s, i) != sz)
        return EIO;
    memcpy(dst, b, sz);
    return 0;
}

/* ---- open and close -------------------------------------------------------------------- */

static void sq_close(struct store *st)
{
    struct sqlite_store *ss = ss_of(st);
    if (!ss)
        return;
    store__group_close(ss);
    if (defer_of == ss)
        defer_of = NULL;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(ss->st[i]);
    sqlite3_close_v2(ss->db);
    pthread_mutex_destroy(&ss->mu);
    free(ss->pcache);
    if (ss->ccache)
        explicit_bzero(ss->ccache, PCACHE_SLOTS * sizeof(*ss->ccache));
    free(ss->ccache);
    free(ss);
}

static void set_err(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;
    if (!err || !errsz)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}

/* Create @p path 0600 if it is missing, and take away group and other rights if it has any:
 * the file holds HA1 values and AKA keys. */
static int file_private(const char *path)
{
    struct stat sb;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    int err = 0;
    if (fd < 0)
        return errno;
    if (fstat(fd, &sb) != 0)
        err = errno;
    else if ((sb.st_mode & 077) && fchmod(fd, sb.st_mode & 0700) != 0)
        err = errno;
    close(fd);
    return err;
}

/* The -wal and -shm files exist once the first transaction has run; SQLite gives them the
 * database file's mode, and this makes sure of it in case the file was made by hand. */
static void side_files_private(const char *path)
{
    static const char *const sfx[] = {"-wal", "-shm"};
    char p[4096];
    for (size_t i = 0; i < 2; i++) {
        struct stat sb;
        if (snprintf(p, sizeof(p), "%s%s", path, sfx[i]) >= (int)sizeof(p))
            return;
        if (stat(p, &sb) == 0 && (sb.st_mode & 077))
            (void)chmod(p, sb.st_mode & 0700);
    }
}

static int user_version(sqlite3 *db, int *v)
{
    sqlite3_stmt *s;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);
    if (rc != SQLITE_OK)
        return store__errno_of(rc);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : store__errno_of(rc);
}

static int migrate(sqlite3 *db, char *errbuf, size_t errsz)
{
    int v = 0, err;

    if ((err = user_version(db, &v))) {
        set_err(errbuf, errsz, "not a readable sipveil store: %s", sqlite3_errmsg(db));
        return err;
    }
    if (v > SCHEMA_VERSION) {
        set_err(errbuf, errsz, "schema version %d is newer than this sipveil knows (%d)", v,
                SCHEMA_VERSION);
        return EPROTO;
    }
    for (int to = v + 1; to <= SCHEMA_VERSION; to++) {
        char sql[64];
        int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", to);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(db, migrations[to], NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            set_err(errbuf, errsz, "migration to schema version %d failed: %s", to,
                    sqlite3_errmsg(db));
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return store__errno_of(rc);
        }
    }
    return 0;
}

/**
 * Open (creating if needed, mode 0600) the SQLite store at @p path and run its migrations.
 * @param stp    set to the store on success
 * @param path   the database file
 * @param err    a reason on failure (never a secret), may be NULL
 * @param errsz  its size
 * @return 0, EACCES, EIO (not a database, or corrupt), EPROTO (a newer schema), ENOMEM
 */
int store_open_sqlite(struct store **stp, const char *path, char *err, size_t errsz)
{
    /* cache_size and mmap_size: the lookups of every REGISTER read pages the page cache of
       the default 2 MiB no longer holds at some thousands of subscribers; from memory (mmap)
       they cost no read() each */
    static const char pragmas[] = "PRAGMA journal_mode = WAL;"
                                  "PRAGMA synchronous = NORMAL;"
                                  "PRAGMA foreign_keys = ON;"
                                  "PRAGMA cache_size = -65536;"
                                  "PRAGMA mmap_size = 268435456;";
    struct sqlite_store *ss = NULL;
    mode_t old_mask;
    int rc, e;

    if (!stp || !path || !*path) {
        set_err(err, errsz, "no database path");
        return EINVAL;
    }
    if ((e = file_private(path))) {
        set_err(err, errsz, "%s: %s", path, strerror(e));
        return e;
    }
    if (!(ss = calloc(1, sizeof(*ss)))) {
        set_err(err, errsz, "out of memory");
        return ENOMEM;
    }
    ss->base.api = &sqlite_api;
    if ((e = pthread_mutex_init(&ss->mu, NULL))) {
        free(ss);
        set_err(err, errsz, "mutex: %s", strerror(e));
        return e;
    }
    /* Whatever SQLite creates next to the file (-wal, -shm, -journal) is private too. umask
     * is process-wide; stores are opened at start-up, before the worker threads run. */
    old_mask = umask(077);
    rc = sqlite3_open_v2(path, &ss->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(ss->db, SQLITE_BUSY_MS);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(ss->db, pragmas, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        umask(old_mask);
        e = store__errno_of(rc);
        set_err(err, errsz, "%s: %s", path, ss->db ? sqlite3_errmsg(ss->db) : "cannot open");
        goto fail;
    }
    e = migrate(ss->db, err, errsz);
    umask(old_mask);
    if (e)
        goto fail;
    side_files_private(path);
    *stp = &ss->base;
    return 0;
fail:
    sq_close(&ss->base);
    return e;
}

static const struct store_api sqlite_api = {
    .name = "sqlite",
    .close = sq_close,
    .sub_put = store__sq_sub_put,
    .sub_del = store__sq_sub_del,
    .sub_get = store__sq_sub_get,
    .sub_each = store__sq_sub_each,
    .profile_get = store__sq_profile_get,
    .cred_get = store__sq_cred_get,
    .aka_sqn_set = store__sq_aka_sqn_set,
    .binding_put = store__sq_binding_put,
    .binding_del = store__sq_binding_del,
    .binding_each = store__sq_binding_each,
    .xcap_get = store__sq_xcap_get,
    .xcap_put = store__sq_xcap_put,
    .xcap_del = store__sq_xcap_del,
    .kv_put = store__sq_kv_put,
    .kv_del = store__sq_kv_del,
    .kv_each = store__sq_kv_each,
    .defer = sq_defer,
    .deferred = sq_deferred,
};
