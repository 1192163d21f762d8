/**
 * @file ims.h  The IMS roles on top of the proxy core: the S-CSCF's registrar and location
 * service, the P-CSCF's view of registrations, the I-CSCF's choice of S-CSCF, Service-Route,
 * Path and initial filter criteria (TS 24.229, in the subset docs/ims.md describes).
 *
 * A node of role pcscf, icscf, scscf or as gets an ims_node per worker: it installs the
 * proxy's route hook (requests this node answers or routes itself) and wraps the privacy
 * service's hooks (so that the P-CSCF learns registrations from the 200 OK to REGISTER
 * before privacy runs on it). What the workers of one node share — the registrations, the
 * authentication state, the store — is one struct ims_state, created by the main thread and
 * internally locked.
 */
#ifndef SIPVEIL_IMS_H
#define SIPVEIL_IMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sipveil/auth.h>
#include <sipveil/privacy_service.h>
#include <sipveil/store.h>
#include <sipveil/txn.h>

#ifdef __cplusplus
extern "C" {
#endif

enum ims_role {
    IMS_ROLE_PCSCF = 0,
    IMS_ROLE_ICSCF,
    IMS_ROLE_SCSCF,
    IMS_ROLE_AS,
    IMS_ROLE_PS, /* the Presence Server: SUBSCRIBE/NOTIFY and PUBLISH (first cut) */
};

/** The configuration of one IMS node (borrowed strings must outlive the state). */
struct ims_conf {
    const char *node;   /* for logs */
    enum ims_role role;
    const char *domain; /* the home domain, "ims.example" */
    /*
     * This node's SIP URI as others reach it: the P-CSCF's Path, the S-CSCF's Service-Route,
     * "sip:127.0.0.1:6060". Without parameters.
     */
    const char *uri;
    struct store *store;   /* borrowed; NULL for a P-CSCF */
    /* S-CSCF */
    const char *realm;           /* Digest realm; NULL/"": the domain */
    unsigned digest_algs;        /* bit per enum auth_digest_alg (MD5, SHA256); 0: both */
    bool sha256_first;           /* challenge with SHA-256 first (RFC 8760 §3) */
    uint32_t nonce_lifetime_s;   /* 0: 300 */
    uint32_t auth_retries;       /* failed answers before 403; 0: 3 */
    uint32_t min_expires, max_expires, default_expires; /* s; 0: 60, 7200, 3600 */
    bool pseudonym_requires_protected_register; /* R83 */
    /* I-CSCF */
    const char *default_scscf; /* "sip:127.0.0.1:6060" when the store assigns none */
    /* P-CSCF */
    const char *visited_network; /* P-Visited-Network-ID; NULL/"": the domain */
    bool pcscf_flow_check;       /* R30: only a registered UE's flow may send (default on) */
    uint32_t register_rate;      /* REGISTERs per second from one IP address before 503
                                    (twice that as a burst); 0: no limit */
    /* PS */
    uint32_t ps_notify_interval_ms; /* at most one NOTIFY per subscription this often, the
                                       changes between coalesced (RFC 6665 §4.1.2.4); 0: off */
    uint32_t ps_subscribe_rate;     /* SUBSCRIBEs per second from one watcher before 503
                                       (twice that as a burst); 0: no limit */
    const struct ims_pres_source *sources; /* nsources; copied at ims_state_alloc */
    size_t nsources;
};

/**
 * A presence source of the PS (R91): a network agent or external source that publishes
 * directly over mutually authenticated TLS, named by its client certificate.
 */
struct ims_pres_source {
    const char *name;         /* for logs; NULL/"": the subject */
    const char *subject;      /* an RDN its verified certificate carries, "CN=agent.example",
                                 or its whole subject (RFC 2253); required */
    const char *presentities; /* comma-separated IMPUs it may publish for */
    const char *domains;      /* comma-separated domains whose presentities it may publish for */
    uint32_t rate;            /* PUBLISHes per second (twice that as a burst); 0: no limit */
};

struct ims_state;
struct ims_node;

/**
 * The state one node's workers share. For an S-CSCF it reloads the registrations the store
 * kept (their remaining lifetime), so they survive a restart.
 * @return 0, EINVAL, ENOMEM, or the store's errno
 */
int ims_state_alloc(struct ims_state **sp, const struct ims_conf *c);
void ims_state_free(struct ims_state *s);
/** Expire bindings and forget old challenges (call about once a second). */
void ims_state_sweep(struct ims_state *s, uint64_t now_ms);

/** Counters of one node (all workers). */
struct ims_stats {
    unsigned long reg_ok, reg_challenged, reg_failed, reg_forbidden, dereg, bindings,
        flow_refused, loc_found, loc_missing, reg_rate_limited, ps_subscriptions, ps_publications,
        ps_notifies, ps_refused, ps_ended_by_notify;
};
void ims_state_stats(struct ims_state *s, struct ims_stats *out);

/**
 * One worker's IMS node: installs the route hook on @p px and, when @p ps is given, the
 * privacy service's hooks wrapped with the node's own (the P-CSCF's registration learning),
 * and the subscriber lookups the privacy service needs (registered flows, asserted IMPUs).
 */
int ims_node_alloc(struct ims_node **np, struct ims_state *s, struct proxy *px,
                   struct privsvc *ps);
void ims_node_free(struct ims_node *n);

/**
 * The presentity @p xui's pres-rules were written (XCAP): a PS node re-evaluates its watchers
 * within 100 ms (R105). Any thread; a no-op for other roles.
 */
void ims_ps_rules_changed(struct ims_state *s, const char *xui);

/* ---------------------------------------------------------------------------------------- */
/* Small pieces, public for their unit tests                                                  */

/**
 * The canonical text of an IMPU as the store keeps it: "sip:user@host" (scheme, user and
 * host lower-cased host, no port, no parameters) or "tel:+number" (no visual separators).
 * @return 0, EINVAL (not a SIP/SIPS/tel URI), or ENAMETOOLONG
 */
int ims_impu_canon(const struct sip_uri *u, char *out, size_t sz);

#ifdef __cplusplus
}
#endif
#endif
