/**
 * @file aka.c  IMS AKA over SIP Digest: AKAv1-MD5 (RFC 3310; TS 33.102 §6.3; TS 33.203 §6.1).
 *
 * The S-CSCF makes a vector from the subscriber's K/OPc, a random RAND and the next SQN:
 *
 *     AUTN  = (SQN ^ AK) || AMF || MAC-A           AK = f5(RAND), MAC-A = f1(SQN, RAND, AMF)
 *     nonce = base64(RAND || AUTN)                 RFC 3310 §3.2
 *     XRES = f2(RAND), CK = f3(RAND), IK = f4(RAND)
 *
 * The UE checks MAC-A, answers Digest with RES as the password, and installs IPsec with CK
 * and IK. If its SQN check fails it sends `auts` = base64(SQN_MS ^ AK* || MAC-S) instead
 * (RFC 3310 §3.4), where AK* = f5*(RAND) and MAC-S = f1*(SQN_MS, RAND, AMF = 0x0000)
 * (TS 33.102 §6.3.3, §6.3.5): the network recovers SQN_MS, checks MAC-S and restarts its own
 * SQN after it.
 */
#include <stdio.h>

#include <openssl/crypto.h>

#include "auth_int.h"

static const uint8_t amf_resync[AUTH_AMF_LEN] = {0, 0};

/* ---------------------------------------------------------------------------------------- */
/* SQN                                                                                        */

/**
 * The next SQN of the home network (TS 33.102 Annex C.1.1, C.3.2 with a fixed IND):
 * SEQ + 1 with IND kept, that is + 2^5, modulo 2^48.
 * @param sqn  the last SQN used (or SQN_MS after a resync).
 * @return the SQN of the next vector.
 */
uint64_t auth_sqn_next(uint64_t sqn)
{
    return (sqn + (UINT64_C(1) << AUTH_SQN_IND_BITS)) & AUTH_SQN_MAX;
}

/**
 * Write an SQN as 6 octets, big-endian.
 * @param out  out: the octets.
 * @param sqn  the SQN; bits above 48 are dropped.
 */
void auth_sqn_put(uint8_t out[AUTH_SQN_LEN], uint64_t sqn)
{
    for (int i = AUTH_SQN_LEN - 1; i >= 0; i--, sqn >>= 8)
        out[i] = (uint8_t)sqn;
}

/**
 * Read an SQN from 6 octets, big-endian.
 * @param in  the octets.
 * @return the SQN.
 */
uint64_t auth_sqn_get(const uint8_t in[AUTH_SQN_LEN])
{
    uint64_t v = 0;

    for (int i = 0; i < AUTH_SQN_LEN; i++)
        v = v << 8 | in[i];
    return v;
}

/* ---------------------------------------------------------------------------------------- */
/* The network side                                                                           */

/**
 * Make a vector from a given RAND (tests; auth_aka_vector_gen draws RAND).
 *
 * @param av    out: RAND, AUTN, XRES, CK, IK and the nonce; not yet used.
 * @param m     the subscriber's K and OPc.
 * @param rand  RAND.
 * @param sqn   the SQN to send (auth_sqn_next of the last one).
 * @param amf   AMF (TS 33.102 Annex H: the separation bit is 0 for IMS).
 * @return 0, EINVAL (SQN above 48 bits), ENOMEM or EIO.
 */
int auth_aka_vector_make(struct auth_aka_vector *av, const struct auth_milenage *m,
                         const uint8_t rand[AUTH_RAND_LEN], uint64_t sqn,
                         const uint8_t amf[AUTH_AMF_LEN])
{
    uint8_t sq[AUTH_SQN_LEN], ak[AUTH_AK_LEN], both[AUTH_RAND_LEN + AUTH_AUTN_LEN];
    int err;

    if (!av || !m || !rand || !amf || sqn > AUTH_SQN_MAX)
        return EINVAL;
    memset(av, 0, sizeof(*av));
    memcpy(av->rand, rand, AUTH_RAND_LEN);
    auth_sqn_put(sq, sqn);
    err = auth_milenage_f1(m, rand, sq, amf, av->autn + 8, NULL);
    if (!err)
        err = auth_milenage_f2345(m, rand, av->xres, av->ck, av->ik, ak, NULL);
    if (err)
        goto out;
    for (int i = 0; i < AUTH_SQN_LEN; i++)
        av->autn[i] = sq[i] ^ ak[i];
    memcpy(av->autn + AUTH_SQN_LEN, amf, AUTH_AMF_LEN);
    memcpy(both, av->rand, AUTH_RAND_LEN);
    memcpy(both + AUTH_RAND_LEN, av->autn, AUTH_AUTN_LEN);
    err = auth__b64_encode(both, sizeof(both), av->nonce, sizeof(av->nonce));
out:
    OPENSSL_cleanse(ak, sizeof(ak));
    if (err)
        OPENSSL_cleanse(av, sizeof(*av));
    return err;
}

/**
 * Make a vector with a fresh random RAND (TS 33.102 §6.3.2).
 * @param av   out: the vector.
 * @param m    the subscriber's K and OPc.
 * @param sqn  the SQN to send.
 * @param amf  AMF.
 * @return as auth_aka_vector_make, or the errno of sv_random.
 */
int auth_aka_vector_gen(struct auth_aka_vector *av, const struct auth_milenage *m, uint64_t sqn,
                        const uint8_t amf[AUTH_AMF_LEN])
{
    uint8_t rand[AUTH_RAND_LEN];
    int err = sv_random(rand, sizeof(rand));

    return err ? err : auth_aka_vector_make(av, m, rand, sqn, amf);
}

/**
 * Split an AKA nonce into RAND and AUTN. Server data after AUTN (RFC 3310 §3.2 allows it) is
 * ignored.
 * @param nonce  the nonce parameter.
 * @param rand   out: RAND.
 * @param autn   out: AUTN.
 * @return 0 or EBADMSG (not base64, or shorter than 32 octets).
 */
int auth_aka_nonce_decode(struct sv_slice nonce, uint8_t rand[AUTH_RAND_LEN],
                          uint8_t autn[AUTH_AUTN_LEN])
{
    uint8_t raw[96];
    size_t n = 0;

    if (auth__b64_decode(nonce, raw, sizeof(raw), &n) || n < AUTH_RAND_LEN + AUTH_AUTN_LEN)
        return EBADMSG;
    memcpy(rand, raw, AUTH_RAND_LEN);
    memcpy(autn, raw + AUTH_RAND_LEN, AUTH_AUTN_LEN);
    return 0;
}

/**
 * HA1 of AKAv1-MD5: MD5(username ":" realm ":" RES), RES as raw octets (RFC 3310 §3.1).
 * @param username  the private user identity, as in the Authorization header.
 * @param realm     the realm.
 * @param res       RES (the network uses XRES).
 * @param res_len   its length (8 for Milenage).
 * @param ha1       out: 32 hex characters and a NUL.
 * @return 0, EINVAL, ENOMEM or EIO.
 */
int auth_aka_ha1(struct sv_slice username, struct sv_slice realm, const uint8_t *res,
                 size_t res_len, char ha1[AUTH_DIGEST_HEX_MAX + 1])
{
    if (!res)
        return EINVAL;
    return auth_digest_ha1(AUTH_DIGEST_AKAV1_MD5, username, realm,
                           sv_slice_make((const char *)res, res_len), ha1);
}

/**
 * Verify the answer to an AKA challenge: the Digest response computed with XRES as the
 * password. A vector verifies once; the S-CSCF then drops it. The caller finds the vector by
 * the private identity in cred->username; username and realm enter HA1, so an answer under
 * another identity is a bad response.
 *
 * @param av      the vector of the challenge; marked used on success.
 * @param cred    the decoded Authorization parameters.
 * @param method  the request method (REGISTER).
 * @param res     out: OK; ALG_MISMATCH (not AKAv1-MD5); BAD_NONCE (not this vector's nonce);
 *                MALFORMED; BAD_RESPONSE (RES wrong: TS 24.229 answers 403); REPLAY (the
 *                vector has already been used).
 * @return 0 whatever the verdict; EINVAL, ENOMEM or EIO.
 */
int auth_aka_verify(struct auth_aka_vector *av, const struct auth_digest_resp *cred,
                    struct sv_slice method, enum auth_digest_result *res)
{
    enum auth_digest_alg alg;
    char ha1[AUTH_DIGEST_HEX_MAX + 1];
    uint32_t nc = 0;
    bool match = false;
    int err;

    if (!av || !cred || !res)
        return EINVAL;
    *res = AUTH_DIGEST_ALG_MISMATCH;
    if (auth_digest_alg_parse(cred->algorithm, &alg) || alg != AUTH_DIGEST_AKAV1_MD5)
        return 0;
    *res = AUTH_DIGEST_MALFORMED;
    if (!auth__digest_form_ok(cred, alg, &nc))
        return 0;
    *res = AUTH_DIGEST_BAD_NONCE;
    if (!sv_slice_eq(cred->nonce, sv_slice_cstr(av->nonce)))
        return 0;
    *res = AUTH_DIGEST_BAD_RESPONSE;
    err = auth_aka_ha1(cred->username, cred->realm, av->xres, sizeof(av->xres), ha1);
    if (!err)
        err = auth__digest_response_ok(alg, sv_slice_make(ha1, 32), cred, method, &match);
    OPENSSL_cleanse(ha1, sizeof(ha1));
    if (err || !match)
        return err;
    *res = av->used ? AUTH_DIGEST_REPLAY : AUTH_DIGEST_OK;
    av->used = true;
    return 0;
}

/**
 * Write the WWW-Authenticate value of an AKA challenge (TS 24.229 §5.4.1.2.1): realm, nonce,
 * algorithm=AKAv1-MD5, qop="auth", and with @p with_keys the ck and ik parameters that the
 * S-CSCF passes to the P-CSCF for the IPsec SAs (the P-CSCF removes them before the UE).
 *
 * @param av         the vector.
 * @param realm      the realm.
 * @param with_keys  add ck="…" and ik="…" (hex).
 * @param buf        out: the value, NUL-terminated.
 * @param sz         size of @p buf.
 * @param n          out: characters written; may be NULL.
 * @return 0, EINVAL or ENOSPC.
 */
int auth_aka_challenge_print(const struct auth_aka_vector *av, struct sv_slice realm,
                             bool with_keys, char *buf, size_t sz, size_t *n)
{
    char extra[96] = "", ck[2 * AUTH_CK_LEN + 1], ik[2 * AUTH_IK_LEN + 1];
    int err;

    if (!av)
        return EINVAL;
    if (with_keys) {
        auth__hex(av->ck, AUTH_CK_LEN, ck);
        auth__hex(av->ik, AUTH_IK_LEN, ik);
        snprintf(extra, sizeof(extra), ", ck=\"%s\", ik=\"%s\"", ck, ik);
    }
    err = auth__challenge_print(realm, sv_slice_cstr(av->nonce), AUTH_DIGEST_AKAV1_MD5, extra, buf,
                                sz, n);
    OPENSSL_cleanse(extra, sizeof(extra));
    OPENSSL_cleanse(ck, sizeof(ck));
    OPENSSL_cleanse(ik, sizeof(ik));
    return err;
}

/**
 * Handle a synchronisation failure (TS 33.102 §6.3.5; RFC 3310 §3.4): recover SQN_MS from
 * `auts` and check MAC-S.
 *
 * @param m       the subscriber's K and OPc.
 * @param rand    the RAND of the challenge that failed (auth_aka_nonce_decode of its nonce).
 * @param auts    the auts parameter: base64 of 14 octets.
 * @param sqn_ms  out: the UE's highest accepted SQN; the next vector uses
 *                auth_sqn_next(*sqn_ms). Set only on success.
 * @return 0; EBADMSG when auts is not base64 of exactly 14 octets; EACCES when MAC-S is wrong
 *         (not from this subscriber's USIM: answer 403, keep the HE SQN); EINVAL, ENOMEM, EIO.
 */
int auth_aka_resync(const struct auth_milenage *m, const uint8_t rand[AUTH_RAND_LEN],
                    struct sv_slice auts, uint64_t *sqn_ms)
{
    uint8_t raw[AUTH_AUTS_LEN + 2], ak_star[AUTH_AK_LEN], sq[AUTH_SQN_LEN], mac[AUTH_MAC_LEN];
    size_t n = 0;
    int err;

    if (!m || !rand || !sqn_ms)
        return EINVAL;
    if (auth__b64_decode(auts, raw, sizeof(raw), &n) || n != AUTH_AUTS_LEN)
        return EBADMSG;
    err = auth_milenage_f2345(m, rand, NULL, NULL, NULL, NULL, ak_star);
    if (err)
        goto out;
    for (int i = 0; i < AUTH_SQN_LEN; i++)
        sq[i] = raw[i] ^ ak_star[i];
    err = auth_milenage_f1(m, rand, sq, amf_resync, NULL, mac);
    if (err)
        goto out;
    if (CRYPTO_memcmp(mac, raw + AUTH_SQN_LEN, AUTH_MAC_LEN) != 0) {
        err = EACCES;
        goto out;
    }
    *sqn_ms = auth_sqn_get(sq);
out:
    OPENSSL_cleanse(ak_star, sizeof(ak_star));
    return err;
}

/* ---------------------------------------------------------------------------------------- */
/* The UE side                                                                                */

/**
 * What a USIM does with a challenge (TS 33.102 §6.3.3), minus the SQN range check, which is
 * the caller's: recover SQN, check MAC-A, compute RES, CK and IK.
 *
 * @param m      the subscriber's K and OPc.
 * @param nonce  the nonce of the challenge.
 * @param sqn    out: the SQN the network sent.
 * @param res    out: RES (the Digest password); may be NULL, as may @p ck and @p ik.
 * @param ck     out: CK.
 * @param ik     out: IK.
 * @return 0; EBADMSG for a nonce that is not an AKA nonce; EACCES when MAC-A is wrong (the
 *         challenge is not from the subscriber's home network); EINVAL, ENOMEM, EIO.
 */
int auth_aka_ue_check(const struct auth_milenage *m, struct sv_slice nonce, uint64_t *sqn,
                      uint8_t res[AUTH_RES_LEN], uint8_t ck[AUTH_CK_LEN], uint8_t ik[AUTH_IK_LEN])
{
    uint8_t rand[AUTH_RAND_LEN], autn[AUTH_AUTN_LEN], ak[AUTH_AK_LEN], sq[AUTH_SQN_LEN];
    uint8_t xmac[AUTH_MAC_LEN];
    int err;

    if (!m || !sqn)
        return EINVAL;
    if (auth_aka_nonce_decode(nonce, rand, autn))
        return EBADMSG;
    err = auth_milenage_f2345(m, rand, res, ck, ik, ak, NULL);
    if (err)
        goto out;
    for (int i = 0; i < AUTH_SQN_LEN; i++)
        sq[i] = autn[i] ^ ak[i];
    err = auth_milenage_f1(m, rand, sq, autn + AUTH_SQN_LEN, xmac, NULL);
    if (err)
        goto out;
    if (CRYPTO_memcmp(xmac, autn + AUTH_SQN_LEN + AUTH_AMF_LEN, AUTH_MAC_LEN) != 0) {
        err = EACCES;
        goto out;
    }
    *sqn = auth_sqn_get(sq);
out:
    OPENSSL_cleanse(ak, sizeof(ak));
    return err;
}

/**
 * Build AUTS as a USIM does on a synchronisation failure (TS 33.102 §6.3.3).
 * @param m       the subscriber's K and OPc.
 * @param rand    the RAND of the challenge being refused.
 * @param sqn_ms  the highest SQN the USIM has accepted.
 * @param out     out: base64 of the 14 octets, 20 characters and a NUL.
 * @return 0, EINVAL, ENOMEM or EIO.
 */
int auth_aka_ue_auts(const struct auth_milenage *m, const uint8_t rand[AUTH_RAND_LEN],
                     uint64_t sqn_ms, char out[AUTH_AKA_AUTS_B64_LEN + 1])
{
    uint8_t ak_star[AUTH_AK_LEN], sq[AUTH_SQN_LEN], raw[AUTH_AUTS_LEN];
    int err;

    if (!m || !rand || !out || sqn_ms > AUTH_SQN_MAX)
        return EINVAL;
    auth_sqn_put(sq, sqn_ms);
    err = auth_milenage_f2345(m, rand, NULL, NULL, NULL, NULL, ak_star);
    if (!err)
        err = auth_milenage_f1(m, rand, sq, amf_resync, NULL, raw + AUTH_SQN_LEN);
    if (err)
        goto out;
    for (int i = 0; i < AUTH_SQN_LEN; i++)
        raw[i] = sq[i] ^ ak_star[i];
    err = auth__b64_encode(raw, sizeof(raw), out, AUTH_AKA_AUTS_B64_LEN + 1);
out:
    OPENSSL_cleanse(ak_star, sizeof(ak_star));
    return err;
}
