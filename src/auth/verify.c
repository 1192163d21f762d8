/**
 * @file verify.c  Checking Digest credentials against our nonces (RFC 7616 §3.4, §5).
 *
 * The checks run in an order chosen so that each verdict tells the registrar what to answer
 * and leaks nothing it should not:
 *
 *  1. form (all parameters, qop=auth, nc, cnonce, response length)      -> MALFORMED
 *  2. the nonce is ours, for this realm                                  -> BAD_NONCE
 *  3. the answer's algorithm is the one the nonce was issued for         -> ALG_MISMATCH
 *  4. the response, compared in constant time                            -> BAD_RESPONSE
 *  5. the nonce is within its lifetime                                   -> STALE
 *  6. (nonce, nc) not seen before                                        -> REPLAY (or STALE)
 *
 * Staleness comes after the response so that stale=true is only ever said to a client that
 * knows the password (RFC 7616 §3.3: the client retries without asking its user). The replay
 * table is touched last, after a correct response, so that failed guesses cannot fill it.
 * Step 3 closes the downgrade hole of answering a SHA-256 challenge in MD5: the algorithm is
 * sealed inside the nonce, so a stateless server still knows what it asked for.
 */
#include "auth_int.h"

static bool present(struct sv_slice s)
{
    return s.p && s.l;
}

static bool nc_decode(struct sv_slice s, uint32_t *nc)
{
    uint32_t v = 0;

    if (!auth__is_hex(s, 8))
        return false;
    for (size_t i = 0; i < 8; i++) {
        char c = s.p[i];
        unsigned d = c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
        v = v << 4 | d;
    }
    *nc = v;
    return v != 0;
}

/**
 * The checks of step 1 above.
 * @param cred  the credentials.
 * @param alg   their algorithm, for the response length.
 * @param nc    out: the nonce-count.
 * @return whether they are well formed.
 */
bool auth__digest_form_ok(const struct auth_digest_resp *cred, enum auth_digest_alg alg,
                          uint32_t *nc)
{
    if (!present(cred->username) || !present(cred->realm) || !present(cred->nonce) ||
        !present(cred->uri) || !present(cred->cnonce))
        return false;
    if (!cred->qop.p || !sv_slice_caseeq_cstr(cred->qop, "auth"))
        return false;
    if (!nc_decode(cred->nc, nc))
        return false;
    return auth__is_hex(cred->response, auth_digest_hex_len(alg));
}

/* Steps 2 and 3: the nonce's state, and OK in @p res when ours and in the same algorithm. */
static int check_nonce(const struct auth_nonce_key *nk, const struct auth_digest_resp *cred,
                       enum auth_digest_alg alg, uint64_t now_s, enum auth_nonce_state *st,
                       uint64_t *issued, enum auth_digest_result *res)
{
    enum auth_digest_alg nalg = AUTH_DIGEST_MD5;
    int err;

    *res = AUTH_DIGEST_BAD_NONCE;
    err = auth_nonce_check(nk, cred->nonce, cred->realm, now_s, st, &nalg, issued);
    if (err || *st == AUTH_NONCE_FOREIGN)
        return err;
    *res = nalg == alg ? AUTH_DIGEST_OK : AUTH_DIGEST_ALG_MISMATCH;
    return 0;
}

/* Step 6. */
static int check_replay(struct auth_replay *rt, const struct auth_digest_resp *cred,
                        uint64_t issued, uint32_t nc, enum auth_digest_result *res)
{
    int err = auth_replay_check(rt, cred->nonce, issued, nc);

    *res = AUTH_DIGEST_STALE; /* also when the table fails: never OK on an error */
    if (err == EALREADY)
        *res = AUTH_DIGEST_REPLAY;
    else if (!err)
        *res = AUTH_DIGEST_OK;
    return err == EALREADY || err == ESTALE ? 0 : err;
}

/**
 * Verify Digest credentials answering one of our challenges.
 *
 * The caller decodes the algorithm first (auth_digest_alg_parse on cred->algorithm) to fetch
 * the HA1 stored for it; an algorithm it has no HA1 for is its own refusal.
 *
 * @param nk      the server nonce key.
 * @param rt      the replay table.
 * @param cred    the decoded Authorization parameters.
 * @param method  the method of the request.
 * @param ha1     the stored HA1 of (username, realm) for the credentials' algorithm, hex.
 * @param now_s   the current time, seconds, on the clock that issued the nonces.
 * @param res     out: the verdict.
 * @return 0 whatever the verdict; EINVAL for missing arguments or an HA1 whose length does not
 *         fit the algorithm; ENOMEM or EIO when the crypto fails (then @p res is not OK).
 */
int auth_digest_verify(const struct auth_nonce_key *nk, struct auth_replay *rt,
                       const struct auth_digest_resp *cred, struct sv_slice method,
                       struct sv_slice ha1, uint64_t now_s, enum auth_digest_result *res)
{
    enum auth_digest_alg alg;
    enum auth_nonce_state st;
    uint64_t issued = 0;
    uint32_t nc = 0;
    bool match = false;
    int err;

    if (!nk || !rt || !cred || !res)
        return EINVAL;
    *res = AUTH_DIGEST_MALFORMED;
    if (auth_digest_alg_parse(cred->algorithm, &alg) || alg == AUTH_DIGEST_AKAV1_MD5) {
        *res = AUTH_DIGEST_ALG_MISMATCH; /* never a nonce of ours: AKA has its own */
        return 0;
    }
    if (!auth__is_hex(ha1, auth_digest_hex_len(alg)))
        return EINVAL;
    if (!auth__digest_form_ok(cred, alg, &nc))
        return 0;
    err = check_nonce(nk, cred, alg, now_s, &st, &issued, res);
    if (err || *res != AUTH_DIGEST_OK)
        return err;
    *res = AUTH_DIGEST_BAD_RESPONSE;
    err = auth__digest_response_ok(alg, ha1, cred, method, &match);
    if (err || !match)
        return err;
    if (st == AUTH_NONCE_EXPIRED) {
        *res = AUTH_DIGEST_STALE;
        return 0;
    }
    return check_replay(rt, cred, issued, nc, res);
}

/**
 * Issue a nonce and write the challenge that carries it (auth_digest_challenge_print).
 *
 * @param nk     the server nonce key.
 * @param alg    the algorithm to ask for.
 * @param realm  the realm.
 * @param now_s  the current time, seconds.
 * @param stale  add stale=true.
 * @param buf    out: the header value, NUL-terminated.
 * @param sz     size of @p buf (160 octets plus the realm suffice).
 * @param n      out: characters written; may be NULL.
 * @return 0, EINVAL, ENOSPC, ENOMEM or EIO.
 */
int auth_digest_challenge_make(const struct auth_nonce_key *nk, enum auth_digest_alg alg,
                               struct sv_slice realm, uint64_t now_s, bool stale, char *buf,
                               size_t sz, size_t *n)
{
    char nonce[AUTH_NONCE_LEN + 1];
    int err;

    if (alg == AUTH_DIGEST_AKAV1_MD5)
        return EINVAL; /* an AKA nonce carries RAND and AUTN: auth_aka_challenge_print */
    err = auth_nonce_make(nk, alg, realm, now_s, nonce);
    if (err)
        return err;
    return auth_digest_challenge_print(realm, sv_slice_cstr(nonce), alg, stale, buf, sz, n);
}
