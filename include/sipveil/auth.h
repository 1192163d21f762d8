/**
 * @file auth.h  Auth layer: the crypto and protocol logic of SIP authentication.
 *
 * Everything here is a pure function or a small state object: no I/O, no clock, no SIP
 * transactions. The caller (a registrar, a presence server) reads the clock, looks up the
 * subscriber and decodes the Authorization header with sip_auth_decode(); this layer tells
 * it what to answer. Four pieces:
 *
 * - Milenage (3GPP TS 35.206): the example AKA algorithm set f1..f5*, keyed by the
 *   subscriber's K and OPc. Checked against every test set of TS 35.208.
 *
 * - IMS AKA over SIP Digest, algorithm "AKAv1-MD5" (RFC 3310, TS 33.102 §6.3, TS 33.203):
 *   an authentication vector (RAND, AUTN, XRES, CK, IK) whose nonce is base64(RAND || AUTN);
 *   the Digest password is XRES, as raw octets. A UE that finds the sequence number out of
 *   range answers with `auts`; auth_aka_resync() checks it and recovers the UE's SQN.
 *
 * - Digest (RFC 3261 §22, RFC 7616, RFC 8760) with MD5, SHA-256 and their -sess variants,
 *   qop=auth only. Server nonces are self-validating: a time stamp, the challenged algorithm
 *   and random octets, sealed by an HMAC-SHA-256 under a server key and bound to the realm,
 *   so no per-nonce state is needed to know that a nonce is ours, how old it is, and which
 *   algorithm it was issued for (an answer in another algorithm is a downgrade, refused).
 *
 * - A bounded replay table that remembers the highest nonce-count seen per nonce.
 *
 * Secrets (K, OPc, HA1, the nonce key) are never logged. Functions return 0 or a positive
 * errno; a verdict on credentials is not an error and comes back as an enum through a
 * pointer. See docs/auth.md for the SQN scheme, the nonce format and the table bound.
 */
#ifndef SIPVEIL_AUTH_H
#define SIPVEIL_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sipveil/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------- */
/* Milenage (TS 35.206)                                                                       */

#define AUTH_K_LEN 16
#define AUTH_OP_LEN 16
#define AUTH_RAND_LEN 16
#define AUTH_SQN_LEN 6
#define AUTH_AMF_LEN 2
#define AUTH_MAC_LEN 8
#define AUTH_RES_LEN 8
#define AUTH_CK_LEN 16
#define AUTH_IK_LEN 16
#define AUTH_AK_LEN 6
#define AUTH_AUTN_LEN 16 /* SQN ^ AK || AMF || MAC-A */
#define AUTH_AUTS_LEN 14 /* SQN_MS ^ AK* || MAC-S */

/** A subscriber's Milenage key: K and the operator variant OPc derived from OP. */
struct auth_milenage {
    uint8_t k[AUTH_K_LEN];
    uint8_t opc[AUTH_OP_LEN];
};

int auth_milenage_init(struct auth_milenage *m, const uint8_t k[AUTH_K_LEN],
                       const uint8_t op[AUTH_OP_LEN]);
void auth_milenage_init_opc(struct auth_milenage *m, const uint8_t k[AUTH_K_LEN],
                            const uint8_t opc[AUTH_OP_LEN]);
int auth_milenage_f1(const struct auth_milenage *m, const uint8_t rand[AUTH_RAND_LEN],
                     const uint8_t sqn[AUTH_SQN_LEN], const uint8_t amf[AUTH_AMF_LEN],
                     uint8_t mac_a[AUTH_MAC_LEN], uint8_t mac_s[AUTH_MAC_LEN]);
int auth_milenage_f2345(const struct auth_milenage *m, const uint8_t rand[AUTH_RAND_LEN],
                        uint8_t res[AUTH_RES_LEN], uint8_t ck[AUTH_CK_LEN], uint8_t ik[AUTH_IK_LEN],
                        uint8_t ak[AUTH_AK_LEN], uint8_t ak_star[AUTH_AK_LEN]);

/* ---------------------------------------------------------------------------------------- */
/* Sequence numbers (TS 33.102 Annex C)                                                       */
/*                                                                                            */
/* SQN is 48 bits: SEQ (the upper 43) || IND (the lower 5). The home network keeps one SQN per */
/* subscriber and steps SEQ by one for each new vector, keeping IND: an SQN advances by 32.   */
/* This is the simplest scheme that a USIM following Annex C.2 accepts; after a resync the    */
/* next SQN is auth_sqn_next(SQN_MS).                                                         */

#define AUTH_SQN_MAX ((UINT64_C(1) << 48) - 1)
#define AUTH_SQN_IND_BITS 5

/** The SQN after @p sqn: SEQ + 1, IND kept, modulo 2^48. */
uint64_t auth_sqn_next(uint64_t sqn);
/** Write the low 48 bits of @p sqn big-endian. */
void auth_sqn_put(uint8_t out[AUTH_SQN_LEN], uint64_t sqn);
uint64_t auth_sqn_get(const uint8_t in[AUTH_SQN_LEN]);

/* ---------------------------------------------------------------------------------------- */
/* Digest (RFC 3261 §22, RFC 7616, RFC 8760; AKAv1-MD5 of RFC 3310)                           */

enum auth_digest_alg {
    AUTH_DIGEST_MD5 = 0, /* also when the algorithm parameter is absent */
    AUTH_DIGEST_MD5_SESS,
    AUTH_DIGEST_SHA256,
    AUTH_DIGEST_SHA256_SESS,
    AUTH_DIGEST_AKAV1_MD5, /* MD5 Digest whose password is the AKA RES */
    AUTH_DIGEST_ALG_COUNT,
};

/** Longest hex digest (SHA-256), without the NUL. */
#define AUTH_DIGEST_HEX_MAX 64

/**
 * The Digest parameters of an Authorization header, as sip_auth_decode() leaves them in the
 * fields of struct sip_auth of the same names (values without quotes). Slices, not owned.
 */
struct auth_digest_resp {
    struct sv_slice username, realm, nonce, uri, response, algorithm, cnonce, nc, qop;
};

/** The verdict on one set of credentials. */
enum auth_digest_result {
    AUTH_DIGEST_OK = 0,
    AUTH_DIGEST_STALE,        /* right password, old nonce: challenge again with stale=true */
    AUTH_DIGEST_BAD_RESPONSE, /* wrong password (or wrong HA1 store): 403 or a new 401 */
    AUTH_DIGEST_BAD_NONCE,    /* not a nonce we issued for this realm */
    AUTH_DIGEST_REPLAY,       /* the (nonce, nc) pair was seen before */
    AUTH_DIGEST_ALG_MISMATCH, /* answered in another algorithm than challenged (downgrade) */
    AUTH_DIGEST_MALFORMED,    /* a parameter missing or ill-formed; qop other than auth */
};

const char *auth_digest_result_name(enum auth_digest_result r);
int auth_digest_alg_parse(struct sv_slice s, enum auth_digest_alg *alg);
const char *auth_digest_alg_name(enum auth_digest_alg alg);
size_t auth_digest_hex_len(enum auth_digest_alg alg);
int auth_digest_ha1(enum auth_digest_alg alg, struct sv_slice username, struct sv_slice realm,
                    struct sv_slice password, char ha1[AUTH_DIGEST_HEX_MAX + 1]);
int auth_digest_response(enum auth_digest_alg alg, struct sv_slice ha1,
                         const struct auth_digest_resp *cred, struct sv_slice method,
                         char out[AUTH_DIGEST_HEX_MAX + 1]);
int auth_digest_challenge_print(struct sv_slice realm, struct sv_slice nonce,
                                enum auth_digest_alg alg, bool stale, char *buf, size_t sz,
                                size_t *n);

/* ---------------------------------------------------------------------------------------- */
/* Server nonces                                                                              */
/*                                                                                            */
/* base64 of 39 octets: version (1) || algorithm (1) || issue time, seconds, big-endian (8)   */
/* || random (13) || HMAC-SHA-256(key, the 23 octets before || realm), first 16 octets.       */
/* 52 characters, no padding.                                                                 */

#define AUTH_NONCE_LEN 52
#define AUTH_NONCE_KEY_LEN 32

/** The server's nonce key and nonce lifetime. Plain data: share it across workers. */
struct auth_nonce_key {
    uint8_t key[AUTH_NONCE_KEY_LEN];
    uint32_t lifetime_s;
};

enum auth_nonce_state {
    AUTH_NONCE_FRESH = 0,
    AUTH_NONCE_EXPIRED, /* ours, older than the lifetime */
    AUTH_NONCE_FOREIGN, /* not ours, altered, or issued for another realm */
};

int auth_nonce_key_init(struct auth_nonce_key *nk, uint32_t lifetime_s);
void auth_nonce_key_set(struct auth_nonce_key *nk, const uint8_t key[AUTH_NONCE_KEY_LEN],
                        uint32_t lifetime_s);
int auth_nonce_make(const struct auth_nonce_key *nk, enum auth_digest_alg alg,
                    struct sv_slice realm, uint64_t now_s, char out[AUTH_NONCE_LEN + 1]);
int auth_nonce_check(const struct auth_nonce_key *nk, struct sv_slice nonce, struct sv_slice realm,
                     uint64_t now_s, enum auth_nonce_state *st, enum auth_digest_alg *alg,
                     uint64_t *issued_s);

/* ---------------------------------------------------------------------------------------- */
/* Replay table                                                                               */
/*                                                                                            */
/* Remembers, for each nonce that authenticated a request, the highest nc accepted. Fixed     */
/* size, set-associative (4 entries per bucket). A full bucket evicts its entry with the       */
/* oldest nonce and raises the bucket's eviction mark past that nonce's issue time; a nonce    */
/* then missing from the table but issued no later than the mark may have been evicted, so it */
/* is answered stale (a new challenge) rather than trusted. Internally locked.                */

struct auth_replay;

int auth_replay_alloc(struct auth_replay **rp, size_t capacity);
int auth_replay_check(struct auth_replay *rt, struct sv_slice nonce, uint64_t issued_s,
                      uint32_t nc);
size_t auth_replay_count(struct auth_replay *rt);

/* ---------------------------------------------------------------------------------------- */
/* Digest verification and challenge                                                          */

int auth_digest_verify(const struct auth_nonce_key *nk, struct auth_replay *rt,
                       const struct auth_digest_resp *cred, struct sv_slice method,
                       struct sv_slice ha1, uint64_t now_s, enum auth_digest_result *res);
int auth_digest_challenge_make(const struct auth_nonce_key *nk, enum auth_digest_alg alg,
                               struct sv_slice realm, uint64_t now_s, bool stale, char *buf,
                               size_t sz, size_t *n);

/* ---------------------------------------------------------------------------------------- */
/* IMS AKA (RFC 3310, TS 33.102 §6.3, TS 33.203)                                              */

/** base64 of RAND || AUTN: 32 octets, 44 characters. */
#define AUTH_AKA_NONCE_LEN 44
/** base64 of AUTS: 14 octets, 20 characters. */
#define AUTH_AKA_AUTS_B64_LEN 20

/**
 * One authentication vector and the state of its challenge. The S-CSCF keeps it from the 401
 * until the answer; a vector verifies once (TS 33.203 §6.1: a vector is used once).
 */
struct auth_aka_vector {
    uint8_t rand[AUTH_RAND_LEN];
    uint8_t autn[AUTH_AUTN_LEN];
    uint8_t xres[AUTH_RES_LEN];
    uint8_t ck[AUTH_CK_LEN];
    uint8_t ik[AUTH_IK_LEN];
    char nonce[AUTH_AKA_NONCE_LEN + 1]; /* NUL-terminated */
    bool used;                          /* set by a successful auth_aka_verify */
};

int auth_aka_vector_make(struct auth_aka_vector *av, const struct auth_milenage *m,
                         const uint8_t rand[AUTH_RAND_LEN], uint64_t sqn,
                         const uint8_t amf[AUTH_AMF_LEN]);
int auth_aka_vector_gen(struct auth_aka_vector *av, const struct auth_milenage *m, uint64_t sqn,
                        const uint8_t amf[AUTH_AMF_LEN]);
int auth_aka_nonce_decode(struct sv_slice nonce, uint8_t rand[AUTH_RAND_LEN],
                          uint8_t autn[AUTH_AUTN_LEN]);
int auth_aka_ha1(struct sv_slice username, struct sv_slice realm, const uint8_t *res,
                 size_t res_len, char ha1[AUTH_DIGEST_HEX_MAX + 1]);
int auth_aka_verify(struct auth_aka_vector *av, const struct auth_digest_resp *cred,
                    struct sv_slice method, enum auth_digest_result *res);
int auth_aka_challenge_print(const struct auth_aka_vector *av, struct sv_slice realm,
                             bool with_keys, char *buf, size_t sz, size_t *n);
int auth_aka_resync(const struct auth_milenage *m, const uint8_t rand[AUTH_RAND_LEN],
                    struct sv_slice auts, uint64_t *sqn_ms);

/* The UE side, for tests and test clients: what a USIM computes. */
int auth_aka_ue_check(const struct auth_milenage *m, struct sv_slice nonce, uint64_t *sqn,
                      uint8_t res[AUTH_RES_LEN], uint8_t ck[AUTH_CK_LEN], uint8_t ik[AUTH_IK_LEN]);
int auth_aka_ue_auts(const struct auth_milenage *m, const uint8_t rand[AUTH_RAND_LEN],
                     uint64_t sqn_ms, char out[AUTH_AKA_AUTS_B64_LEN + 1]);

#ifdef __cplusplus
}
#endif
#endif
