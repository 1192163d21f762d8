/**
 * @file ims_int.h  Private to the IMS layer: the shared state of one node (state.c), the
 * registrar (registrar.c) and the route hooks (route.c) meet here.
 *
 * Locking: one mutex per ims_state guards everything in it. Every critical section is a hash
 * lookup or an insert plus a copy out; store calls (SQLite) are made outside it, except the
 * binding writes that must stay in order with the table.
 */
#ifndef IMS_INT_H
#define IMS_INT_H

#include <pthread.h>

#include <sipveil/ims.h>
#include <sipveil/net.h>
#include <sipveil/sip.h>

#define MOD "ims"

/* ---- S-CSCF: the registered implicit registration sets and their contacts ---------------- */

struct loc_binding {
    struct loc_binding *next;
    char *contact; /* owned */
    char *path;    /* owned; "" when none */
    char *callid;  /* owned */
    uint32_t cseq;
    int64_t expires_at; /* Unix seconds */
};

struct loc_id {
    const char *uri;     /* canonical; in the set's blob */
    const char *display; /* in the blob; "" when none */
    bool barred, pseudonym;
};

/*
 * A registered set: what the registration downloaded of its profile, compactly (one
 * allocation: the struct, the identities, the iFC and their texts), and its contacts.
 */
struct loc_irs {
    struct loc_irs *next; /* hash chain by id */
    int64_t id, sub_id;
    bool identity_blocking, user_by_policy;
    size_t nids, nifc;
    struct loc_id *ids;    /* the set, default first */
    struct store_ifc *ifc; /* sorted by priority */
    struct loc_binding *b;
    size_t nb;
};

/* IMPU (canonical text) -> registered set, for the terminating lookup. */
struct loc_impu {
    struct loc_impu *next;
    struct loc_irs *irs;
    char uri[]; /* canonical */
};

/* ---- S-CSCF: authentication in progress ---------------------------------------------------- */

/* Per IMPI: failed answers, and the AKA vector of the last challenge. */
struct auth_slot {
    struct auth_slot *next;
    char impi[STORE_ID_MAX];
    uint32_t failures;
    int64_t last_s; /* last touched, Unix seconds: swept after a while */
    bool has_av;
    struct auth_aka_vector av;
    int64_t av_issued_s;
};

/* ---- P-CSCF: registrations learnt from the 200 OK to REGISTER ----------------------------- */

struct preg {
    struct preg *next;
    enum net_tp tp;
    struct net_addr flow; /* the UE's source address and port */
    bool confirmed;       /* a 200 OK came: the flow may send requests */
    int64_t expires_at;
    uint32_t want_expires; /* what the pending REGISTER asked for */
    char contact[STORE_CONTACT_MAX]; /* the pending REGISTER's first Contact URI */
    char *impus;         /* owned; P-Associated-URI values, comma-separated, default first */
    char *service_route; /* owned; the Service-Route values, comma-separated */
};

struct ps_state;

/* One worker's IMS node (route.c). */
struct ims_node {
    struct ims_state *s;
    struct proxy *px;
    struct privsvc *ps;
    struct proxy_hooks priv; /* the privacy service's own hooks */
    struct sv_timer ps_tick; /* PS: the look at changed rules */
};

/* I-CSCF: the S-CSCF assigned to an IMPU, remembered a short while (the store is asked again
 * after SCSCF_CACHE_S: a change made with `sipveil sub` takes effect within that time). */
struct scscf_memo {
    struct scscf_memo *next;
    int64_t until;
    bool known;      /* the IMPU is provisioned */
    char *scscf;     /* "" when the store assigns none */
    char impu[];
};
#define SCSCF_CACHE_S 30

#define IMS_HASH_BITS 16
#define IMS_RATE_SLOTS 4096
#define IMS_MAX_SLOTS 200000 /* authentication slots (IMPIs being challenged) */

/* A token bucket per source address (hashed; a collision shares a bucket, erring strict). */
/* A token bucket: `rate` per second, twice that as a burst (ims__bucket_take). */
struct ims_bucket {
    double tokens;
    uint64_t last_ms; /* 0: never used, full */
};

/** One token from @p b at @p rate per second (burst 2 * rate); a rate of 0 is no limit.
    @return whether there was one. Callers serialise the bucket's use. */
bool ims__bucket_take(struct ims_bucket *b, double rate, uint64_t now_ms);

struct rate_slot {
    struct net_addr ip; /* port zeroed */
    struct ims_bucket b;
};

struct ims_state {
    struct ims_conf c;
    char *domain, *uri, *realm, *default_scscf, *visited; /* owned copies */
    pthread_mutex_t mu;
    struct ims_stats st;
    /* S-CSCF */
    struct auth_nonce_key nk;
    struct auth_replay *replay;
    struct auth_slot *slots[1u << 10];
    size_t nslots;
    struct loc_irs *irs[1u << IMS_HASH_BITS];
    struct loc_impu *impus[1u << IMS_HASH_BITS];
    size_t nirs, nbindings;
    /* I-CSCF */
    struct scscf_memo *memo[1u << IMS_HASH_BITS];
    size_t nmemo;
    /* P-CSCF */
    struct preg *pregs[1u << IMS_HASH_BITS];
    size_t npregs;
    struct rate_slot rate[IMS_RATE_SLOTS];
    /* PS (ps.c) */
    struct ps_state *ps;
    struct ps_source *sources; /* nsources, owned (ps_source.c) */
    size_t nsources;
};

uint32_t ims__hash(const void *p, size_t n);
int64_t ims__now_s(void);
/** strdup through the project's allocator (sv_malloc; sv_free it). */
char *ims__strdup(const char *s);

/* state.c: the location service (callers hold s->mu) */
struct loc_irs *ims__irs_find(struct ims_state *s, int64_t id);
struct loc_irs *ims__irs_by_impu(struct ims_state *s, const char *canon);
/** Put the registered set (a copy of @p prof) in the tables, or refresh its profile. */
struct loc_irs *ims__irs_upsert(struct ims_state *s, const struct store_profile *prof);
/** Add or replace the binding @p contact of @p irs. @return 0 or ENOMEM. */
int ims__binding_set(struct ims_state *s, struct loc_irs *irs, const char *contact,
                     const char *path, const char *callid, uint32_t cseq, int64_t expires_at);
void ims__binding_del(struct ims_state *s, struct loc_irs *irs, const char *contact);
/** Drop a set without bindings from the tables. */
void ims__irs_drop_if_empty(struct ims_state *s, struct loc_irs *irs);
struct auth_slot *ims__slot(struct ims_state *s, const char *impi, bool create);

/* state.c: the P-CSCF's registrations (callers hold s->mu) */
struct preg *ims__preg_find(struct ims_state *s, enum net_tp tp, const struct net_addr *flow,
                            bool create);
void ims__preg_del(struct ims_state *s, struct preg *r);
/** Keep a confirmed registration in the store (when the P-CSCF has one). */
void ims__preg_save(struct ims_state *s, const struct preg *r);
/** Whether one more REGISTER from @p peer's address fits its rate (callers hold s->mu). */
bool ims__rate_ok(struct ims_state *s, const struct net_addr *peer, int64_t now_ms);

/* registrar.c */
/** The S-CSCF's answer to REGISTER. */
enum proxy_route_verdict ims__register(struct ims_state *s, const struct sip_msg *req,
                                       const struct net_flow *flow, bool from_trusted,
                                       struct sv_arena *a, struct proxy_route_res *res);

/* ps_source.c: the PS's presence sources (R91) */
struct ps_source {
    char *name, *subject, *presentities, *domains; /* owned copies */
    uint32_t rate;                                 /* PUBLISHes per second; 0: no limit */
    struct ims_bucket b;                           /* under the state's mutex */
};
/** Copy s->c.sources into s->sources. @return 0, ENOMEM, or EINVAL (a source without subject). */
int ims__ps_sources_init(struct ims_state *s);
void ims__ps_sources_free(struct ims_state *s);
/** Whether @p subject (RFC 2253) is @p want or has @p want as one of its RDNs. */
bool ims__ps_subject_has(const char *subject, const char *want);
/** The source that the verified client certificate of @p flow names; NULL: none. */
struct ps_source *ims__ps_source_of(struct ims_state *s, const struct net_flow *flow);
const char *ims__ps_source_name(const struct ps_source *src);
/** Whether @p src may publish for @p presentity (canonical). */
bool ims__ps_source_may(const struct ps_source *src, const char *presentity);
/** One more PUBLISH from @p src within its rate? Callers hold s->mu. */
bool ims__ps_source_rate_ok(struct ps_source *src, uint64_t now_ms);

/* ps.c: the Presence Server (callers do not hold s->mu) */
enum proxy_route_verdict ims__ps_route(struct ims_node *n, const struct sip_msg *req,
                                       const struct net_flow *flow, struct sv_arena *a,
                                       struct proxy_route_res *res);
/** A request at the PS from outside the trust domain: a presence source's PUBLISH, or 403. */
enum proxy_route_verdict ims__ps_untrusted(struct ims_node *n, const struct sip_msg *req,
                                           const struct net_flow *flow, struct sv_arena *a,
                                           struct proxy_route_res *res);
void ims__ps_sweep(struct ims_state *s, int64_t now); /* callers hold s->mu */
void ims__ps_free(struct ims_state *s);
void ims__ps_node_start(struct ims_node *n);
/** Reload the subscriptions and publications the store kept (at start). */
int ims__ps_load(struct ims_state *s);
void ims__ps_node_stop(struct ims_node *n);

/** Count one under the state's lock. */
void ims__count(struct ims_state *s, unsigned long *c);

/* util */
/** The numeric host:port (and transport parameter) of a SIP URI as a proxy target. */
bool ims__uri_target(const struct sip_uri *u, struct proxy_target *t);
bool ims__text_target(const char *uri, struct proxy_target *t);
/** printf into the arena. @return the NUL-terminated text, or NULL (ENOMEM). */
char *ims__afmt(struct sv_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** A copy of @p str in @p a (ims__afmt without the formatting); NULL when it is full. */
char *ims__astrdup(struct sv_arena *a, const char *str);

#endif
