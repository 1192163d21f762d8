/**
 * @file pres.h  Presence layer, pure part: safe XML, PIDF, pres-rules, watcherinfo, grants.
 *
 * Nothing here touches a socket, a clock or the store: the Presence Server reads the time,
 * the subscriber data and the SIP message, and asks this layer what to answer and what to
 * send. Functions return 0 or a positive errno and hand results out through pointers.
 *
 * - Safe XML. Every document from the network (PIDF, pres-rules) goes through one parse
 *   function over libxml2: no network, no entity substitution, no DTD at all, a size cap and a
 *   depth cap, so that entity bombs, external entities and deep nesting are refused before or
 *   while they are parsed, never expanded.
 *
 * - PIDF (RFC 3863, data model of RFC 4479). A published document is validated (root, entity,
 *   tuples) into a refcounted `struct pres_pidf`. Publications of one presentity are composed
 *   in a `struct pres_compose` that remembers which publication (ETag) each tuple came from,
 *   so a publication can only replace or remove its own tuples (R90). The composed document
 *   is rendered per watcher through the transformations of the rules that matched.
 *
 * - pres-rules (RFC 4745 common-policy, RFC 5025, the OMA extensions, and our watcher-auth
 *   extension for R102/R103). Evaluation takes every matching rule and combines them: the
 *   sub-handling is the maximum, transformations are the union (RFC 4745 §10), never the first
 *   match. Identity conditions see only the asserted identity; an anonymous watcher is
 *   evaluated as anonymous by default (R100, OP-9).
 *
 * - watcherinfo (RFC 3857/3858) rendering, where an anonymous watcher is only
 *   `sip:anonymous@anonymous.invalid` with a random per-subscription id (R99).
 *
 * - Grants (R103): Ed25519-signed tokens binding watcher, presentity, expiry and a nonce.
 *
 * Documents rendered here are written into a caller's arena and handed out as slices.
 * See docs/presence.md for the formats and the security reasoning.
 */
#ifndef SIPVEIL_PRES_H
#define SIPVEIL_PRES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sipveil/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------- */
/* Safe XML                                                                                   */

/* libxml2's document type, declared here so this header needs no libxml2 include path. */
struct _xmlDoc;

/** Largest document accepted, octets. */
#define PRES_XML_MAX_SIZE (64 * 1024)
/** Deepest element nesting accepted (the root is depth 1). */
#define PRES_XML_MAX_DEPTH 32

/**
 * Parse @p body as an XML document with the safe options: no network access, no entity
 * substitution, no DTD (a document type declaration, internal or external, is refused before
 * libxml2 sees it), no NUL octet (so the check for a declaration cannot be dodged by UTF-16),
 * at most PRES_XML_MAX_SIZE octets and PRES_XML_MAX_DEPTH levels.
 * @param body the document (not owned; need not be NUL-terminated)
 * @param docp receives the tree on success; free it with pres_xml_free
 * @return 0, EMSGSIZE when too large, EBADMSG when not well-formed or refused (DTD, entity,
 *         depth, NUL), ENOMEM
 */
int pres_xml_parse(struct sv_slice body, struct _xmlDoc **docp);
/** Free a tree from pres_xml_parse (NULL is fine). */
void pres_xml_free(struct _xmlDoc *doc);

#define PRES_NS_PIDF "urn:ietf:params:xml:ns:pidf"
#define PRES_NS_DM "urn:ietf:params:xml:ns:pidf:data-model"
#define PRES_NS_RPID "urn:ietf:params:xml:ns:pidf:rpid"
#define PRES_NS_CP "urn:ietf:params:xml:ns:common-policy"
#define PRES_NS_PR "urn:ietf:params:xml:ns:pres-rules"
#define PRES_NS_OCP "urn:oma:xml:xdm:common-policy"
#define PRES_NS_WAUTH "urn:sipveil:params:xml:ns:watcher-auth"
#define PRES_NS_WINFO "urn:ietf:params:xml:ns:watcherinfo"

/* ---------------------------------------------------------------------------------------- */
/* PIDF                                                                                       */

enum pres_basic {
    PRES_BASIC_NONE = 0, /* the tuple's status has no <basic> */
    PRES_BASIC_OPEN,
    PRES_BASIC_CLOSED,
};

/** A validated PIDF document. Refcounted (sv_ref/sv_deref); owns its tree. */
struct pres_pidf;

/** What a tuple says. Slices point into the document and live as long as it does. */
struct pres_tuple_info {
    struct sv_slice id;
    enum pres_basic basic;
    struct sv_slice contact;   /* unset if absent */
    struct sv_slice timestamp; /* unset if absent */
    unsigned nnotes;
};

/**
 * Parse and validate an application/pidf+xml body: root `presence` in the PIDF namespace with
 * an `entity` attribute that names the presentity; tuples with a unique `id`, a `status` whose
 * `basic` (if present) is open or closed, a well-formed `timestamp`; data-model persons and
 * devices with an `id`. Unknown extension elements are kept as they are.
 * @param pp receives the document (one reference) on success
 * @param body the body (not owned)
 * @param aors the presentity's URIs, any of which the entity may name (a `pres:` entity
 *        matches a sip/sips AOR with the same user and host)
 * @param naors how many
 * @return 0, EBADMSG not well-formed or not PIDF (the PS answers 400), EPERM well-formed PIDF
 *         whose entity is not the presentity (R90, also 400, but told apart for the log),
 *         EMSGSIZE too large, EINVAL, ENOMEM
 */
int pres_pidf_parse(struct pres_pidf **pp, struct sv_slice body, const struct sv_slice *aors,
                    size_t naors);
/** The document's `entity` attribute. */
struct sv_slice pres_pidf_entity(const struct pres_pidf *d);
size_t pres_pidf_tuple_count(const struct pres_pidf *d);
/** Tuple @p i (document order). @return 0 or ENOENT. */
int pres_pidf_tuple(const struct pres_pidf *d, size_t i, struct pres_tuple_info *ti);

/** The publications of one presentity, composed. Refcounted. */
struct pres_compose;

/**
 * @param cp receives the composition
 * @param entity the `entity` of rendered documents, e.g. "pres:alice@home1.net" (copied)
 * @return 0, EINVAL, ENOMEM
 */
int pres_compose_alloc(struct pres_compose **cp, struct sv_slice entity);
/**
 * Set publication @p etag to @p doc: a new publication is appended, an existing one has all
 * its tuples replaced (in place, other publications untouched).
 * @param etag the publication's entity-tag (copied)
 * @param doc taken with a new reference
 * @return 0, EINVAL, ENOMEM
 */
int pres_compose_put(struct pres_compose *c, struct sv_slice etag, struct pres_pidf *doc);
/** Rename publication @p old_etag (a refresh gives a new ETag). @return 0, ENOENT, ENOMEM */
int pres_compose_retag(struct pres_compose *c, struct sv_slice old_etag, struct sv_slice new_etag);
/** Remove publication @p etag and everything it brought. @return 0 or ENOENT */
int pres_compose_remove(struct pres_compose *c, struct sv_slice etag);
/** Number of publications. */
size_t pres_compose_count(const struct pres_compose *c);
/**
 * The publication the tuple @p tuple_id of the composed document comes from. When two
 * publications carry the same tuple id, the older publication keeps it and the newer one's
 * copy is left out of the rendering: one source cannot overwrite another's tuple (R90).
 * @param etag receives the publication's ETag (owned by the composition)
 * @return 0 or ENOENT
 */
int pres_compose_source(const struct pres_compose *c, struct sv_slice tuple_id,
                        struct sv_slice *etag);

struct pres_rules;
struct pres_decision;

/**
 * Render the composed document for one watcher.
 * @param rs the rules that were evaluated, or NULL for the whole document unfiltered (the
 *        presentity watching itself)
 * @param d the decision pres_rules_eval gave for this watcher (ignored when @p rs is NULL)
 * @param a the arena the document is written into
 * @param out receives the document (application/pidf+xml), in @p a
 * @return 0, EINVAL, ENOMEM
 */
int pres_compose_render(const struct pres_compose *c, const struct pres_rules *rs,
                        const struct pres_decision *d, struct sv_arena *a, struct sv_slice *out);

/**
 * The polite-block document (R95, TC-31): one tuple with a random id, basic closed, nothing
 * else, so that the watcher cannot tell it from a presentity that is offline.
 * @return 0, EINVAL, ENOMEM
 */
int pres_pidf_polite_block(struct sv_slice entity, struct sv_arena *a, struct sv_slice *out);

/* ---------------------------------------------------------------------------------------- */
/* pres-rules                                                                                 */

/** RFC 5025 §3.2.1 values: a larger value is more permissive and wins the combination. */
enum pres_sub_handling {
    PRES_SH_BLOCK = 0,
    PRES_SH_CONFIRM = 10,
    PRES_SH_POLITE_BLOCK = 20,
    PRES_SH_ALLOW = 30,
};

const char *pres_sub_handling_name(enum pres_sub_handling sh);

/* The simple provide-* transformations (RFC 5025 §3.3), a bit each. */
enum pres_provide {
    PRES_PROVIDE_ALL_ATTRIBUTES = 1u << 0,
    PRES_PROVIDE_NOTE = 1u << 1,
    PRES_PROVIDE_ACTIVITIES = 1u << 2,
    PRES_PROVIDE_CLASS = 1u << 3,
    PRES_PROVIDE_DEVICEID = 1u << 4,
    PRES_PROVIDE_MOOD = 1u << 5,
    PRES_PROVIDE_PLACE_IS = 1u << 6,
    PRES_PROVIDE_PLACE_TYPE = 1u << 7,
    PRES_PROVIDE_PRIVACY = 1u << 8,
    PRES_PROVIDE_RELATIONSHIP = 1u << 9,
    PRES_PROVIDE_STATUS_ICON = 1u << 10,
    PRES_PROVIDE_SPHERE = 1u << 11,
    PRES_PROVIDE_TIME_OFFSET = 1u << 12,
    PRES_PROVIDE_USER_INPUT = 1u << 13,
    PRES_PROVIDE_ALL_SERVICES = 1u << 14,
    PRES_PROVIDE_ALL_PERSONS = 1u << 15,
    PRES_PROVIDE_ALL_DEVICES = 1u << 16,
};

/** Most rules in one ruleset (a decision records the matching ones as bits of a uint64_t). */
#define PRES_RULES_MAX 64
/** SHA-256 HA1 in hex, the content of <wa:password>. */
#define PRES_HA1_HEX_LEN 64
/** An Ed25519 public key, the content of <wa:grant-key> once base64-decoded. */
#define PRES_GRANT_KEY_LEN 32

/**
 * A parsed, validated ruleset (application/auth-policy+xml). Refcounted; owns its tree.
 * Validation refuses (EBADMSG) what the schemas refuse and what evaluation could not honour:
 * a sub-handling value outside the four, a validity time that is not an xs:dateTime, an
 * `except` outside `many`, a password that is not a SHA-256 HA1, a grant key that is not 32
 * octets, duplicate rule ids, more than PRES_RULES_MAX rules.
 */
struct pres_rules;

/**
 * @param rp receives the ruleset (one reference)
 * @param body the document (not owned)
 * @return 0, EBADMSG (not well-formed or not valid: XCAP answers 409), EMSGSIZE, ENOMEM
 */
int pres_rules_parse(struct pres_rules **rp, struct sv_slice body);
size_t pres_rules_count(const struct pres_rules *rs);
/** The id of rule @p i, or an unset slice. */
struct sv_slice pres_rules_id(const struct pres_rules *rs, size_t i);

/** How an anonymous watcher whose asserted identity is known is evaluated (R100, OP-9). */
enum pres_anon_matching {
    PRES_ANON_AS_ANONYMOUS = 0, /* identity conditions do not match; anonymous-request does */
    PRES_ANON_BY_ASSERTED_ID,   /* identity conditions see the asserted identity too */
};

/**
 * Proof callbacks for the watcher-auth extension. @p ha1 is a rule's <wa:password> (hex);
 * @p key a rule's <wa:grant-key>. Return true when the watcher proved knowledge of it (a
 * Digest response computed with that HA1; a grant signed by that key and valid now).
 */
typedef bool(pres_password_h)(void *arg, struct sv_slice ha1);
typedef bool(pres_grant_h)(void *arg, const uint8_t key[PRES_GRANT_KEY_LEN]);

/** What evaluation knows of the watcher and the moment. */
struct pres_watcher {
    struct sv_slice identity; /* asserted identity (PAI from a trusted CSCF, or our own
                                 authentication), never From; unset: not authenticated */
    bool anonymous;           /* the SUBSCRIBE asked for Privacy: id or user */
    enum pres_anon_matching anon_matching;
    int64_t now;                 /* Unix seconds, for <validity> */
    struct sv_slice sphere;      /* the presentity's current sphere; unset if unknown */
    pres_password_h *password_h; /* NULL: no password was presented */
    pres_grant_h *grant_h;       /* NULL: no grant was presented */
    void *arg;                   /* for both */
};

/* What kind of proof would have made a more permissive rule match (pres_decision.need). */
enum pres_need {
    PRES_NEED_PASSWORD = 1u << 0, /* challenge with Digest, realm = the presentity (R102) */
    PRES_NEED_GRANT = 1u << 1,    /* challenge with Bearer (R103) */
};

/** The combined result of every matching rule. */
struct pres_decision {
    enum pres_sub_handling sh; /* the maximum over matching rules, or the default */
    bool sh_default;           /* no matching rule supplied a sub-handling */
    unsigned provide;          /* union of the simple provide-* bits (enum pres_provide) */
    uint64_t rules;            /* bit i: rule i matched (selective provide-* are looked up) */
    unsigned need;             /* enum pres_need: a rule whose sub-handling is above sh
                                  failed only for want of this proof */
};

/**
 * Evaluate @p rs for watcher @p w (RFC 4745 §10): every rule whose conditions all hold
 * matches; sub-handling is the maximum over them, transformations the union.
 * @param rs the presentity's rules, or NULL when it has none
 * @param dflt the sub-handling when no matching rule supplies one (R93: PRES_SH_BLOCK; a
 *        deployment may choose PRES_SH_CONFIRM)
 * @param d receives the decision
 * @return 0 or EINVAL
 */
int pres_rules_eval(const struct pres_rules *rs, const struct pres_watcher *w,
                    enum pres_sub_handling dflt, struct pres_decision *d);

/* ---------------------------------------------------------------------------------------- */
/* watcherinfo (RFC 3857, RFC 3858)                                                           */

enum pres_winfo_status {
    PRES_WINFO_PENDING = 0,
    PRES_WINFO_ACTIVE,
    PRES_WINFO_WAITING,
    PRES_WINFO_TERMINATED,
};

enum pres_winfo_event {
    PRES_WINFO_EV_SUBSCRIBE = 0,
    PRES_WINFO_EV_APPROVED,
    PRES_WINFO_EV_DEACTIVATED,
    PRES_WINFO_EV_PROBATION,
    PRES_WINFO_EV_REJECTED,
    PRES_WINFO_EV_TIMEOUT,
    PRES_WINFO_EV_GIVEUP,
    PRES_WINFO_EV_NORESOURCE,
};

/** The URI an anonymous watcher is shown as (R99). */
#define PRES_ANON_URI "sip:anonymous@anonymous.invalid"
/** Length of an id from pres_winfo_id_make. */
#define PRES_WINFO_ID_LEN 16

/** One watcher, as the presentity may see it. Slices are not owned. */
struct pres_winfo_watcher {
    struct sv_slice id;           /* per subscription; for an anonymous watcher a random one
                                     from pres_winfo_id_make, never derived from the identity */
    struct sv_slice uri;          /* the watcher's identity; not used when anonymous */
    struct sv_slice display_name; /* unset: none; not used when anonymous */
    bool anonymous;
    enum pres_winfo_status status;
    enum pres_winfo_event event;
    uint32_t duration_s; /* duration-subscribed; 0: left out */
};

/** The watchers of one resource and package. */
struct pres_winfo_list {
    struct sv_slice resource; /* the presentity URI */
    struct sv_slice package;  /* "presence" */
    const struct pres_winfo_watcher *w;
    size_t n;
};

/**
 * Render an application/watcherinfo+xml document.
 * @param version the winfo subscription's version counter (the caller increments it for
 *        every document it sends on that subscription, from 0)
 * @param full full state (every watcher) or partial (only those that changed)
 * @return 0, EINVAL (an anonymous watcher without id, bad enum), ENOMEM
 */
int pres_winfo_render(uint32_t version, bool full, const struct pres_winfo_list *lists,
                      size_t nlists, struct sv_arena *a, struct sv_slice *out);
/**
 * A random watcher id: PRES_WINFO_ID_LEN characters of [a-z0-9] starting with a letter (an
 * XML ID), NUL-terminated. 80 bits of randomness, so ids never collide in practice and say
 * nothing about the watcher.
 * @return 0 or the errno of sv_random
 */
int pres_winfo_id_make(char out[PRES_WINFO_ID_LEN + 1]);

/* ---------------------------------------------------------------------------------------- */
/* Grants (R103)                                                                              */
/*                                                                                            */
/* token = b64url(payload) "." b64url(Ed25519 signature of payload), no padding, where        */
/* payload = "v1" LF watcher LF presentity LF expiry LF nonce: expiry in decimal Unix seconds, */
/* nonce 32 lower-case hex digits (16 random octets). LF cannot occur in a URI, so the fields */
/* split one way only. See docs/presence.md.                                                  */

#define PRES_GRANT_PRIV_LEN 32
#define PRES_GRANT_NONCE_HEX 32
/** Longest token accepted or made, octets. */
#define PRES_GRANT_MAX 1024

enum pres_grant_result {
    PRES_GRANT_OK = 0,
    PRES_GRANT_MALFORMED,
    PRES_GRANT_BAD_SIGNATURE,
    PRES_GRANT_EXPIRED,
    PRES_GRANT_WRONG_WATCHER,
    PRES_GRANT_WRONG_PRESENTITY,
    PRES_GRANT_REPLAYED,
};

const char *pres_grant_result_name(enum pres_grant_result r);

/** A new Ed25519 key pair (raw private seed and public key). @return 0, EIO, ENOMEM */
int pres_grant_keypair(uint8_t priv[PRES_GRANT_PRIV_LEN], uint8_t pub[PRES_GRANT_KEY_LEN]);
/** The public key of @p priv. @return 0, EIO, ENOMEM */
int pres_grant_pubkey(const uint8_t priv[PRES_GRANT_PRIV_LEN], uint8_t pub[PRES_GRANT_KEY_LEN]);

/**
 * Make a grant (for `sipveil ua grant`).
 * @param watcher the watcher's IMPU; @param presentity the presentity's AOR (neither may
 *        contain LF or be empty)
 * @param expires expiry, Unix seconds
 * @param buf receives the NUL-terminated token; @param sz its size; @param n the length
 * @return 0, EINVAL, ENOSPC, EIO (OpenSSL), ENOMEM
 */
int pres_grant_make(const uint8_t priv[PRES_GRANT_PRIV_LEN], struct sv_slice watcher,
                    struct sv_slice presentity, int64_t expires, char *buf, size_t sz, size_t *n);

/**
 * The nonces of grants already accepted, so that a grant works once. Bounded: a grant whose
 * expiry has passed can go (verify refuses it anyway); when full of live entries the one that
 * expires first is evicted and a floor is raised to its expiry, below which every grant is
 * refused as replayed, so eviction never opens a replay. Not locked: one per worker or lock.
 */
struct pres_grant_replay;

int pres_grant_replay_alloc(struct pres_grant_replay **rp, size_t capacity);
void pres_grant_replay_free(struct pres_grant_replay *r);
size_t pres_grant_replay_count(const struct pres_grant_replay *r);

/**
 * Verify @p token for this watcher and presentity at @p now. A grant that verifies is entered
 * into @p replay and refused the next time.
 * @param replay the replay set, or NULL not to keep one (tests only)
 * @param res receives the verdict
 * @return 0 (the verdict is in @p res), EINVAL, ENOMEM
 */
int pres_grant_verify(const uint8_t pub[PRES_GRANT_KEY_LEN], struct sv_slice token,
                      struct sv_slice watcher, struct sv_slice presentity, int64_t now,
                      struct pres_grant_replay *replay, enum pres_grant_result *res);

/**
 * base64 (RFC 4648 §4, padding optional) or base64url (§5, no padding) decoding, strict: no
 * white space, no stray padding. Used for grant keys in rules and for tokens.
 * @return 0, EBADMSG, ENOSPC
 */
int pres_b64_decode(struct sv_slice in, bool url, uint8_t *out, size_t sz, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
