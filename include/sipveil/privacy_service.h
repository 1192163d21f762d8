/**
 * @file privacy_service.h  The privacy service of one node: the pure engine (privacy.h) put
 * to work in the proxy's pipeline hooks, with the trust domain, the dialog store and the LI
 * sink around it.
 *
 * For every request a node forwards (per target) and every response it relays, the service
 * works out what the engine needs to know — is the peer it came from in the trust domain T,
 * is the hop it goes to, which session case it is, which rules its dialog already has, does it
 * concern a lawful-interception target — asks the engine, and carries the verdict out:
 * records the edits, refuses with the engine's code, writes the LI record first (and refuses
 * with 500 when that fails), stores the dialog's rules after a dialog-creating request and
 * ends them with the dialog. Nothing is forwarded whose privacy could not be decided.
 *
 * Trust (RFC 3324, requirements §0.4): a peer is trusted only when a `peers` entry of the
 * node says so; the first entry that matches the peer's address, port and transport (and, for
 * TLS, its verified certificate subject) decides; an unknown peer is untrusted. A message that
 * arrived on a listener whose face is `ue` or `external` is untrusted whatever the peers say.
 *
 * Threads: a service belongs to one worker; the dialog store and the LI sink it is given may be
 * shared by every worker (they lock, or write atomically, themselves).
 */
#ifndef SIPVEIL_PRIVACY_SERVICE_H
#define SIPVEIL_PRIVACY_SERVICE_H

#include <sipveil/net.h>
#include <sipveil/privacy.h>
#include <sipveil/txn.h>

#ifdef __cplusplus
extern "C" {
#endif

struct privdlg_store;
struct li_sink;
struct li_targets;
struct privsvc;

/** One entry of the trust table. */
struct privsvc_peer {
    struct net_addr net; /* address (its port ignored) */
    uint8_t prefix;      /* CIDR prefix length: 32 or 128 for one host */
    uint16_t port;       /* 0: any */
    int transport;       /* -1: any; else enum net_tp */
    const char *subject; /* TLS: the certificate subject must contain this; NULL/"": no check */
    bool trusted;
};

/** A served subscriber known statically (until registration provides them, issue 5). */
struct privsvc_subscriber {
    struct net_addr flow; /* the UE's address; port 0: any port of that address */
    struct privacy_subscriber sub;
};

struct privsvc_conf {
    const char *node; /* for logs and LI records; borrowed */
    enum privacy_role role;
    struct privacy_knobs knobs;
    const struct privsvc_peer *peers; /* borrowed for the service's life */
    size_t npeers;
    const bool *untrusted_face; /* by net listener index: a `ue` or `external` face */
    const int8_t *face_policy;  /* by net listener index: the anonymity policy of requests
                                   arriving there (enum privacy_li_policy), -1: the node's;
                                   may be NULL */
    size_t nfaces;
    const struct privsvc_subscriber *subs; /* borrowed */
    size_t nsubs;
    struct privdlg_store *dialogs;       /* may be NULL: then `user` is not performable (R76) */
    struct li_sink *li;                  /* may be NULL: no LI */
    const struct li_targets *li_targets; /* may be NULL */
};

/** Counters of one service (exported with the proxy's). */
struct privsvc_stats {
    unsigned long decided, refused, performed_id, performed_user, pai_removed_untrusted,
        pai_invalid, dialogs_stored, dialog_hits, dialog_full;
};

/** @return 0, EINVAL or ENOMEM. The conf is copied; what it points to stays borrowed. */
int privsvc_alloc(struct privsvc **sp, const struct privsvc_conf *c);
void privsvc_free(struct privsvc *s);
/** A reload: new knobs, peers, faces and subscribers (borrowed, as for alloc). */
int privsvc_conf_update(struct privsvc *s, const struct privsvc_conf *c);
/**
 * Subscribers known by registration, looked up before the static `subscribers` table: the one
 * registered from a UE's flow (P-CSCF: R27 asserts its identity), the one owning an asserted
 * IMPU (S-CSCF, AS: R46, R47, R51). Each fills *@p out with texts in @p a and returns 0 when
 * found, ENOENT when not. Called on the service's worker thread.
 */
struct privsvc_lookup {
    int (*by_flow)(void *arg, enum net_tp tp, const struct net_addr *ue, struct sv_arena *a,
                   struct privacy_subscriber *out);
    int (*by_impu)(void *arg, const struct sip_uri *impu, struct sv_arena *a,
                   struct privacy_subscriber *out);
    void *arg;
};

/** Install (or clear with NULL) the registration lookups; they survive reloads. */
void privsvc_lookup_set(struct privsvc *s, const struct privsvc_lookup *l);

/** The proxy hooks that run this service (arg is @p s). */
void privsvc_hooks(struct privsvc *s, struct proxy_hooks *h);
const struct privsvc_stats *privsvc_stats_get(const struct privsvc *s);

/**
 * LI for a request the node answers itself rather than forwards: the PS hides an anonymous
 * watcher's identity in what it sends (R99), so when @p m names an LI target, its record is
 * written here as a forwarding node writes it before its privacy edits (R62).
 * @param src        where @p m came from (NULL: unknown)
 * @param performed  the SIP_PRIV_* functions the node performs for @p m
 * @return 0 (written, or not a target, or no LI configured), or an errno: then the request
 *         must not go on.
 */
int privsvc_li_local(struct privsvc *s, const struct sip_msg *m, const struct net_addr *src,
                     unsigned performed);

/** Whether the trust table and faces make the peer of @p hop's ingress trusted. */
bool privsvc_trusts(const struct privsvc *s, enum net_tp tp, const struct net_addr *a, int listener,
                    const struct net_conn *conn);

/**
 * Parse "10.0.0.0/8", "127.0.0.1", "::1", "[2001:db8::]/32" into @p peer's net and prefix.
 * @return 0 or EINVAL.
 */
int privsvc_cidr_parse(const char *s, struct privsvc_peer *peer);

#ifdef __cplusplus
}
#endif
#endif
