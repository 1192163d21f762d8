/**
 * @file store.h  The subscriber store (the HSS's role) and the registrar's persistent bindings,
 * behind one function table, struct store_api.
 *
 * The data model (TS 23.228 §5.2, TS 29.228 in spirit):
 * - a subscription holds one or more private identities (IMPIs) and its public identities;
 * - an IMPI has its credentials: Digest HA1 values (MD5 and SHA-256, never the password), or
 *   the IMS AKA keys K, OPc, AMF and the sequence number SQN (kept in a table of their own);
 * - public identities (IMPUs) are grouped in implicit registration sets (IRS): registering one
 *   registers the whole set; each IMPU has a barring flag, a pseudonym flag and a display name;
 * - the service profile of the subscription: the identity-blocking agreement (R46, R51) and the
 *   initial filter criteria that route methods and event packages to an AS or the PS;
 * - the default IMPU (the first of the first set), and the S-CSCF assignment.
 * Registrations (bindings of an IRS to contacts) are stored too, so that they survive a restart.
 *
 * Backends: SQLite (store_open_sqlite, the embedded default: WAL mode, a versioned schema whose
 * migrations run at open, the file created 0600). Every backend is safe to call from several
 * threads at once. Results are copied into the caller's structs (fixed-size fields, so no
 * ownership questions); strings longer than their field are refused with ENAMETOOLONG when
 * written, never truncated.
 *
 * Secrets (HA1, K, OPc) never appear in logs or in error texts.
 */
#ifndef SIPVEIL_STORE_H
#define SIPVEIL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STORE_URI_MAX 256  /* an IMPU, an AS or S-CSCF URI, with its NUL */
#define STORE_ID_MAX 128   /* an IMPI ("user@realm"), a realm, with its NUL */
#define STORE_NAME_MAX 128 /* a display name, with its NUL */
#define STORE_IRS_MAX 16   /* IMPUs in one implicit registration set */
#define STORE_SETS_MAX 8   /* implicit registration sets of one subscription */
#define STORE_IMPI_MAX 4   /* IMPIs of one subscription */
#define STORE_IFC_MAX 8    /* initial filter criteria of one subscription */
#define STORE_CONTACT_MAX 512
#define STORE_PATH_MAX 512

/** One public user identity. */
struct store_impu {
    char uri[STORE_URI_MAX]; /* "sip:alice@ims.example", "tel:+15551000001" */
    char display[STORE_NAME_MAX];
    bool barred;
    bool pseudonym;
};

/** An implicit registration set, in provisioning order. */
struct store_irs {
    int64_t id; /* the store's; set by reads, ignored by writes */
    struct store_impu impus[STORE_IRS_MAX];
    size_t nimpus;
};

enum store_case {
    STORE_CASE_ORIG = 0, /* originating requests of the served user */
    STORE_CASE_TERM,     /* terminating requests to the served user */
    STORE_CASE_BOTH,
};

/** One initial filter criterion: requests of @p method (and @p event) go to @p as. */
struct store_ifc {
    int priority;     /* lower first */
    char method[32];  /* "MESSAGE", "SUBSCRIBE", "" = any */
    char event[64];   /* the Event package, "presence", "presence.winfo"; "" = any */
    unsigned scase;   /* enum store_case */
    char as[STORE_URI_MAX]; /* "sip:127.0.0.1:7060" */
};

/** An IMPI's credentials. */
struct store_cred {
    char impi[STORE_ID_MAX];
    char realm[STORE_ID_MAX];
    char ha1_md5[33];     /* lower-case hex of MD5(impi:realm:password); "" when not set */
    char ha1_sha256[65];  /* lower-case hex of SHA-256(impi:realm:password); "" when not set */
    bool aka;             /* K, OPc, AMF and SQN are set */
    uint8_t k[16], opc[16], amf[2];
    uint64_t sqn;         /* the next SQN the home network will use (48 bits) */
};

/** A whole subscription, as provisioned (sipveil sub add/show/import). */
struct store_sub {
    int64_t id; /* set by reads */
    struct store_cred impis[STORE_IMPI_MAX];
    size_t nimpis;
    struct store_irs sets[STORE_SETS_MAX]; /* the default IMPU is sets[0].impus[0] */
    size_t nsets;
    bool identity_blocking; /* R46, R51: the home network hides the identity by default */
    bool user_by_policy;    /* R51, R52: and asks for `user` too */
    char scscf[STORE_URI_MAX]; /* the S-CSCF assigned, as a SIP URI; "" = the I-CSCF's default */
    struct store_ifc ifc[STORE_IFC_MAX];
    size_t nifc;
};

/**
 * What a CSCF needs about one public identity: the set it belongs to and its subscription's
 * profile (the Cx Server-Assignment answer, in spirit). Never the other sets (R82).
 */
struct store_profile {
    int64_t sub_id;
    struct store_irs irs;       /* the IMPU's own set; the subscription's default IMPU first
                                   when it is in this set, else provisioning order */
    size_t index;               /* the position of the IMPU asked for in irs.impus */
    char impi[STORE_ID_MAX];    /* the subscription's first IMPI */
    bool identity_blocking, user_by_policy;
    char scscf[STORE_URI_MAX];
    struct store_ifc ifc[STORE_IFC_MAX]; /* sorted by priority */
    size_t nifc;
};

/** One registered contact of an implicit registration set (the registrar's binding). */
struct store_binding {
    int64_t irs_id;
    char impu[STORE_URI_MAX];       /* the IMPU the REGISTER named (its To) */
    char contact[STORE_CONTACT_MAX]; /* the Contact URI, as sent */
    char path[STORE_PATH_MAX];      /* the Path header values, comma-separated; "" = none */
    char callid[STORE_URI_MAX];
    uint32_t cseq;
    int64_t expires_at; /* absolute, Unix seconds */
    char flow[80];      /* where it came from at the registrar: "udp:127.0.0.1:5060" */
};

#define STORE_XCAP_DOC_MAX 65536 /* the largest XCAP document kept, in octets */
#define STORE_XCAP_ETAG_MAX 33   /* an XCAP ETag (32 hex digits), with its NUL */
#define STORE_XCAP_NAME_MAX 64   /* an AUID or a document name, with its NUL */

/** One XCAP document as stored: its bytes (not NUL-terminated) and its strong ETag. */
struct store_xcap_doc {
    char etag[STORE_XCAP_ETAG_MAX]; /* unquoted */
    size_t len;
    char body[STORE_XCAP_DOC_MAX];
};

struct store;

/** The function table a backend implements. Every function returns 0 or a positive errno. */
struct store_api {
    const char *name; /* "sqlite" */
    void (*close)(struct store *st);

    /* --- provisioning ------------------------------------------------------------------- */
    /**
     * Create or replace the subscription that holds sub->impis[0].impi. Every IMPU must be
     * unique across subscriptions (EEXIST if another subscription holds one). One transaction:
     * all of it or nothing.
     */
    int (*sub_put)(struct store *st, const struct store_sub *sub);
    /** Delete the subscription holding @p impi, its bindings too. ENOENT if none. */
    int (*sub_del)(struct store *st, const char *impi);
    /** The subscription holding IMPI @p impi. ENOENT if none. */
    int (*sub_get)(struct store *st, const char *impi, struct store_sub *out);
    /** Call @p cb for each subscription in IMPI order; a nonzero return stops and is returned. */
    int (*sub_each)(struct store *st, int (*cb)(void *arg, const struct store_sub *sub),
                    void *arg);

    /* --- lookups (the CSCFs) ------------------------------------------------------------ */
    /** The profile of public identity @p impu (URI compared as stored). ENOENT if unknown. */
    int (*profile_get)(struct store *st, const char *impu, struct store_profile *out);
    /** The credentials of @p impi, and the id of its subscription. ENOENT if unknown. */
    int (*cred_get)(struct store *st, const char *impi, struct store_cred *out, int64_t *sub_id);
    /** Store the next SQN of an AKA IMPI. ENOENT if it is not an AKA IMPI. */
    int (*aka_sqn_set)(struct store *st, const char *impi, uint64_t sqn);

    /* --- registrations ------------------------------------------------------------------ */
    /** Insert or replace the binding (irs_id, contact). */
    int (*binding_put)(struct store *st, const struct store_binding *b);
    /** Delete binding (irs_id, contact), or every binding of the set if @p contact is NULL. */
    int (*binding_del)(struct store *st, int64_t irs_id, const char *contact);
    /** Call @p cb for each binding (any order); a nonzero return stops and is returned. */
    int (*binding_each)(struct store *st, int (*cb)(void *arg, const struct store_binding *b),
                        void *arg);

    /* --- XCAP documents (RFC 4825) ------------------------------------------------------ */
    /*
     * A document is named by (AUID, XUI, document name), e.g. ("pres-rules",
     * "sip:alice@ims.example", "index"), and kept as the bytes last written with a strong
     * ETag that the store makes anew at every write. @p expected_etag makes a write a
     * compare-and-set: NULL writes whatever is there; "" requires that no document exists;
     * "*" requires that one exists; anything else requires that the current ETag is exactly
     * it. A failed comparison writes nothing and returns ECANCELED.
     */
    /** Read a document into @p out. ENOENT if there is none. */
    int (*xcap_get)(struct store *st, const char *auid, const char *xui, const char *doc,
                    struct store_xcap_doc *out);
    /**
     * Create or replace a document of @p len (at most STORE_XCAP_DOC_MAX) bytes, if
     * @p expected_etag holds. @p etag receives the new ETag; @p created (may be NULL) whether
     * no document existed before. EFBIG for a body too long.
     */
    int (*xcap_put)(struct store *st, const char *auid, const char *xui, const char *doc,
                    const char *body, size_t len, const char *expected_etag,
                    char etag[STORE_XCAP_ETAG_MAX], bool *created);
    /** Delete a document, if @p expected_etag holds. ENOENT if there is none. */
    int (*xcap_del)(struct store *st, const char *auid, const char *xui, const char *doc,
                    const char *expected_etag);

    /* --- state of the nodes that must survive a restart (the PS's subscriptions and
     *     publications): opaque values under (namespace, key), with an expiry ------------- */
    /** Insert or replace a value of @p len (at most STORE_KV_MAX) octets. */
    int (*kv_put)(struct store *st, const char *ns, const char *key, int64_t expires_at,
                  const void *val, size_t len);
    /** Delete a value; 0 also when there was none. */
    int (*kv_del)(struct store *st, const char *ns, const char *key);
    /** Call @p cb for each value of @p ns (any order; without the store's lock held, so it
     *  may call the store); a nonzero return stops and is returned. */
    int (*kv_each)(struct store *st, const char *ns,
                   int (*cb)(void *arg, const char *key, int64_t expires_at, const void *val,
                             size_t len),
                   void *arg);

    /* --- group commit ------------------------------------------------------------------- */
    /**
     * @p on: from now, the writes of the calling thread (binding_put and _del, kv_put and
     * _del, aka_sqn_set, sub_del) go into one transaction shared with other deferring
     * threads, opened by the first of them. Off: commit what this thread wrote since, unless
     * another thread has committed it already. A write from a thread that does not defer
     * commits the open group with it; an operation with a transaction of its own (sub_put,
     * xcap_put, xcap_del) commits the group first. A worker defers for one read pass and
     * sends nothing that depends on those writes before this returns.
     * @return 0, or the errno of the failed commit: the thread's writes of the pass are not
     *         on disk (what the nodes hold in memory is unchanged)
     */
    int (*defer)(struct store *st, bool on);
    /** Whether the calling thread defers and has written since: its answers must wait. */
    bool (*deferred)(struct store *st);
};

#define STORE_KV_MAX 65536 /* the largest value kv_put keeps */

/** Every backend's handle starts with this. */
struct store {
    const struct store_api *api;
};

/**
 * Open (creating if needed, mode 0600) the SQLite store at @p path and run its migrations.
 * @param err  a human-readable reason on failure (no secrets), may be NULL
 * @return 0, or an errno (EACCES, EIO for a corrupt file, EPROTO for a schema newer than this
 *         binary knows)
 */
int store_open_sqlite(struct store **stp, const char *path, char *err, size_t errsz);
static inline void store_close(struct store *st)
{
    if (st)
        st->api->close(st);
}

/** The schema version this binary writes. */
int store_schema_version(void);

/**
 * Fill @p c's HA1 values from a clear-text password (MD5 and SHA-256 of impi:realm:password,
 * RFC 3261 §22.4, RFC 8760). The password is not kept. @return 0 or EINVAL.
 */
int store_cred_set_password(struct store_cred *c, const char *password);

/**
 * Import subscriptions from YAML (docs/subscribers.md gives the format); each is sub_put, so
 * importing the same file twice is harmless. On error nothing after the failing entry is
 * written, and @p err names the line and key.
 * @param count  the number of subscriptions written, may be NULL
 */
int store_import_yaml(struct store *st, const char *buf, size_t len, size_t *count, char *err,
                      size_t errsz);

#ifdef __cplusplus
}
#endif
#endif
