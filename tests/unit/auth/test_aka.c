/**
 * @file test_aka.c  IMS AKA over SIP Digest (RFC 3310; TS 33.102 §6.3, Annex C; TS 33.203 §6.1):
 * vectors, the AKAv1-MD5 Digest answer, resynchronisation with AUTS, and the SQN helpers.
 *
 * The known values come from TS 35.208 test set 1 (K, OP, RAND, SQN, AMF), so that AUTN can
 * be written down by hand from the specification's f1 and f5 outputs.
 */
#include <errno.h>

#include "svtest_auth.h"

/* TS 35.208 §4.3.1, test set 1. */
#define TS1_K "465b5ce8b199b49faa5f0a2ee238a6bc"
#define TS1_OP "cdc202d5123e20f62b6d676ac72cb318"
#define TS1_RAND "23553cbe9637a89d218ae64dae47bf35"
#define TS1_SQN UINT64_C(0xff9bb4d0b607)
#define TS1_AMF "b9b9"

static const char user[] = "user1_private@home1.net";
static const char realm[] = "home1.net";

static void ts1_key(struct auth_milenage *m)
{
    uint8_t k[16], op[16];

    sv_test_unhex(TS1_K, k, sizeof(k));
    sv_test_unhex(TS1_OP, op, sizeof(op));
    assert_int_equal(auth_milenage_init(m, k, op), 0);
}

static void ts1_vector(struct auth_aka_vector *av, struct auth_milenage *m)
{
    uint8_t rand[16], amf[2];

    ts1_key(m);
    sv_test_unhex(TS1_RAND, rand, sizeof(rand));
    sv_test_unhex(TS1_AMF, amf, sizeof(amf));
    assert_int_equal(auth_aka_vector_make(av, m, rand, TS1_SQN, amf), 0);
}

/*
 * AUTN = (SQN ^ AK) || AMF || MAC-A by hand from TS 35.208 set 1:
 * ff9bb4d0b607 ^ aa689c648370 = 55f328b43577, AMF b9b9, f1 = 4a9ffac354dfafb3.
 * nonce = base64(RAND || AUTN) (RFC 3310 §3.2).
 */
static void aka_vector_matches_hand_computed_autn(void **state)
{
    struct auth_milenage m;
    struct auth_aka_vector av;

    ts1_vector(&av, &m);
    sv_test_expect_hex("AUTN", av.autn, 16, "55f328b43577b9b94a9ffac354dfafb3");
    sv_test_expect_hex("RAND", av.rand, 16, TS1_RAND);
    sv_test_expect_hex("XRES", av.xres, 8, "a54211d5e3ba50bf");
    sv_test_expect_hex("CK", av.ck, 16, "b40ba9a3c58b2a05bbf0d987b21bf8cb");
    sv_test_expect_hex("IK", av.ik, 16, "f769bcd751044604127672711c6d3441");
    assert_string_equal(av.nonce, "I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M=");
    assert_false(av.used);
}

/* The UE side accepts our challenge: MAC-A checks, SQN comes back, RES = XRES, same keys. */
static void aka_ue_accepts_challenge(void **state)
{
    struct auth_milenage m;
    struct auth_aka_vector av;
    uint8_t res[8], ck[16], ik[16];
    uint64_t sqn = 0;

    ts1_vector(&av, &m);
    assert_int_equal(auth_aka_ue_check(&m, sv_slice_cstr(av.nonce), &sqn, res, ck, ik), 0);
    assert_true(sqn == TS1_SQN);
    assert_memory_equal(res, av.xres, 8);
    assert_memory_equal(ck, av.ck, 16);
    assert_memory_equal(ik, av.ik, 16);
}

/* Any altered AUTN octet (SQN, AMF or MAC) fails MAC-A: a forged challenge (EACCES). */
static void aka_ue_refuses_altered_autn(void **state)
{
    struct auth_milenage m, other;
    struct auth_aka_vector av;
    char nonce[AUTH_AKA_NONCE_LEN + 1];
    uint8_t both[32], res[8];
    uint64_t sqn;

    ts1_vector(&av, &m);
    for (int i = 0; i < 16; i++) {
        memcpy(both, av.rand, 16);
        memcpy(both + 16, av.autn, 16);
        both[16 + i] ^= 0x01;
        sv_test_b64(both, sizeof(both), nonce);
        assert_int_equal(auth_aka_ue_check(&m, sv_slice_cstr(nonce), &sqn, res, NULL, NULL),
                         EACCES);
    }
    /* The right challenge under another subscriber's key fails the same way. */
    other = m;
    other.k[0] ^= 1;
    assert_int_equal(auth_aka_ue_check(&other, sv_slice_cstr(av.nonce), &sqn, res, NULL, NULL),
                     EACCES);
}

/* A random RAND per vector (TS 33.102 §6.3.2); the UE accepts each. */
static void aka_vector_gen_draws_rand(void **state)
{
    struct auth_milenage m;
    struct auth_aka_vector a, b;
    uint8_t amf[2] = {0x80, 0x00};
    uint64_t sqn = 0;

    ts1_key(&m);
    assert_int_equal(auth_aka_vector_gen(&a, &m, 0x20, amf), 0);
    assert_int_equal(auth_aka_vector_gen(&b, &m, 0x40, amf), 0);
    assert_memory_not_equal(a.rand, b.rand, 16);
    assert_int_equal(strlen(a.nonce), AUTH_AKA_NONCE_LEN);
    assert_int_equal(auth_aka_ue_check(&m, sv_slice_cstr(b.nonce), &sqn, NULL, NULL, NULL), 0);
    assert_true(sqn == 0x40);
    assert_int_equal(auth_aka_vector_make(&a, &m, a.rand, AUTH_SQN_MAX + 1, amf), EINVAL);
}

/* The Digest answer a UE sends: password = RES octets (RFC 3310 §3.1), qop=auth. */
static void ue_answer(struct auth_digest_resp *cred, char *resp, const struct auth_aka_vector *av,
                      const uint8_t *res)
{
    char ha1[AUTH_DIGEST_HEX_MAX + 1];

    memset(cred, 0, sizeof(*cred));
    cred->username = sv_slice_cstr(user);
    cred->realm = sv_slice_cstr(realm);
    cred->nonce = sv_slice_cstr(av->nonce);
    cred->uri = SV_LIT("sip:home1.net");
    cred->algorithm = SV_LIT("AKAv1-MD5");
    cred->cnonce = SV_LIT("0a4f113b");
    cred->nc = SV_LIT("00000001");
    cred->qop = SV_LIT("auth");
    assert_int_equal(auth_aka_ha1(cred->username, cred->realm, res, 8, ha1), 0);
    assert_int_equal(auth_digest_response(AUTH_DIGEST_AKAV1_MD5, sv_slice_cstr(ha1), cred,
                                          SV_LIT("REGISTER"), resp),
                     0);
    cred->response = sv_slice_cstr(resp);
}

/* TS 33.203 §6.1: RES right ⇒ OK, once; the same answer again is a replay. */
static void aka_verify_ok_then_replay(void **state)
{
    struct auth_milenage m;
    struct auth_aka_vector av;
    struct auth_digest_resp cred;
    char resp[AUTH_DIGEST_HEX_MAX + 1];
    enum auth_digest_result r;
    uint8_t res[8];
    uint64_t sqn;

    ts1_vector(&av, &m);
    assert_int_equal(auth_aka_ue_check(&m, sv_slice_cstr(av.nonce), &sqn, res, NULL, NULL), 0);
    ue_answer(&cred, resp, &av, res);
    assert_int_equal(auth_aka_verify(&av, &cred, SV_LIT("REGISTER"), &r), 0);
    assert_string_equal(auth_digest_result_name(r), "ok");
    assert_true(av.used);
    assert_int_equal(auth_aka_verify(&av, &cred, SV_LIT("REGISTER"), &r), 0);
    assert_int_equal(r, AUTH_DIGEST_REPLAY);
}

/* A UE with the wrong K computes another RES: BAD_RESPONSE, and the vector stays unused. */
static void aka_verify_wrong_res(void **state)
{
    struct auth_milenage m;
    struct auth_aka_vector av;
    struct auth_digest_resp cred;
    char resp[AUTH_DIGEST_HEX_MAX + 1];
    enum auth_digest_result r;
    uint8_t res[8];

    ts1_vector(&av, &m);
    memcpy(res, av.xres, 8);
    res[7] ^= 1;
    ue_answer(&cred, resp, &av, res);
    assert_int_equal(auth_aka_verify(&av, &cred, SV_LIT("REGISTER"), &r), 0);
    assert_int_equal(r, AUTH_DIGEST_BAD_RESPONSE);
    assert_false(av.used);
    /* Upper-case hex of the right response is still the right response. */
    ue_answer(&cred, resp, &av, av.xres);
    for (char *p = resp; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'f' ? *p - 'a' + 'A' : *p);
    assert_int_equal(auth_aka_verify(&av, &cred, SV_LIT("REGISTER"), &r), 0);
    assert_int_equal(r, AUTH_DIGEST_OK);
}

/* Refusals: algorithm, nonce and form. */
static void aka_verify_refusals(void **state)
{
    struct auth_milenage m;
    struct auth_aka_vector av;
    struct auth_digest_resp cred, c;
    char resp[AUTH_DIGEST_HEX_MAX + 1];
    enum auth_digest_result r;

    ts1_vector(&av, &m);
    ue_answer(&cred, resp, &av, av.xres);

    c = cred; /* an MD5 answer to an AKA challenge */
    c.algorithm = SV_LIT("MD5");
    assert_int_equal(auth_aka_verify(&av, &c, SV_LIT("REGISTER"), &r), 0);
    assert_int_equal(r, AUTH_DIGEST_ALG_MISMATCH);
    c.algorithm = (struct sv_slice){NULL, 0}; /* absent means MD5 */
    assert_int_equal(auth_aka_verify(&av, &c, SV_LIT("REGISTER"), &r), 0);
    assert_int_equal(r, AUTH_DIGEST_ALG_MISMATCH);
    c = cred;
    c.algorithm = SV_LIT("AKAv2-MD5");
    assert_int_equal(auth_aka_verify(&av, &c, SV_LIT("REGISTER"), &r), 0);
    assert_int_equal(r, AUTH_DIGEST_ALG_MISMATCH);

    c = cred; /* the nonce of another challenge */
    c.nonce = SV_LIT("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    assert_int_equal(auth_aka_verify(&av, &c, SV_LIT("REGISTER"), &r), 0);
    assert_int_equal(r, AUTH_DIGEST_BAD_NONCE);

    c = cred;
    c.qop = SV_LIT("auth-int");
    assert_int_equal(auth_aka_verify(&av, &c, SV_LIT("REGISTER"), &r), 0);
    assert_int_equal(r, AUTH_DIGEST_MALFORMED);
    c = cred;
    c.cnonce = (struct sv_slice){NULL, 0};
    assert_int_equal(auth_aka_verify(&av, &c, SV_LIT("REGISTER"), &r), 0);
    assert_int_equal(r, AUTH_DIGEST_MALFORMED);
    c = cred;
    c.response = SV_LIT("6629fae49393a05397450978507c4ef"); /* 31 digits */
    assert_int_equal(auth_aka_verify(&av, &c, SV_LIT("REGISTER"), &r), 0);
    assert_int_equal(r, AUTH_DIGEST_MALFORMED);
    assert_false(av.used);
}

/* TS 24.229 §5.4.1.2.1: the S-CSCF's 401 to the P-CSCF carries ck and ik. */
static void aka_challenge_print_with_keys(void **state)
{
    struct auth_milenage m;
    struct auth_aka_vector av;
    char buf[300];
    size_t n = 0;

    ts1_vector(&av, &m);
    assert_int_equal(
        auth_aka_challenge_print(&av, sv_slice_cstr(realm), true, buf, sizeof(buf), &n), 0);
    sv_test_expect_bytes(buf, n,
                         "Digest realm=\"home1.net\", "
                         "nonce=\"I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M=\", "
                         "algorithm=AKAv1-MD5, qop=\"auth\", "
                         "ck=\"b40ba9a3c58b2a05bbf0d987b21bf8cb\", "
                         "ik=\"f769bcd751044604127672711c6d3441\"");
    assert_int_equal(
        auth_aka_challenge_print(&av, sv_slice_cstr(realm), false, buf, sizeof(buf), &n), 0);
    sv_test_expect_bytes(buf, n,
                         "Digest realm=\"home1.net\", "
                         "nonce=\"I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M=\", "
                         "algorithm=AKAv1-MD5, qop=\"auth\"");
    assert_int_equal(auth_aka_challenge_print(&av, sv_slice_cstr(realm), true, buf, 100, &n),
                     ENOSPC);
    assert_int_equal(auth_aka_challenge_print(&av, SV_LIT("home\"1"), false, buf, sizeof(buf), &n),
                     EINVAL);
}

/*
 * Resync (TS 33.102 §6.3.5, RFC 3310 §3.4): the UE builds AUTS from SQN_MS with AMF 0x0000,
 * the network recovers SQN_MS and restarts after it. The concealed SQN is SQN ^ f5*, checked
 * against TS 35.208 set 1 (f5* = 451e8beca43b).
 */
static void aka_resync_round_trip(void **state)
{
    struct auth_milenage m;
    struct auth_aka_vector av;
    char auts[AUTH_AKA_AUTS_B64_LEN + 1];
    uint8_t rand[16], autn[16], raw[14];
    uint64_t sqn_ms = 0;

    ts1_vector(&av, &m);
    assert_int_equal(auth_aka_ue_auts(&m, av.rand, TS1_SQN, auts), 0);
    assert_int_equal(strlen(auts), AUTH_AKA_AUTS_B64_LEN);
    assert_int_equal(sv_test_unb64(auts, raw), 14);
    sv_test_expect_hex("SQN_MS ^ AK*", raw, 6, "ba853f3c123c");
    /* The registrar gets RAND back from the nonce of the failed challenge. */
    assert_int_equal(auth_aka_nonce_decode(sv_slice_cstr(av.nonce), rand, autn), 0);
    assert_memory_equal(rand, av.rand, 16);
    assert_memory_equal(autn, av.autn, 16);
    assert_int_equal(auth_aka_resync(&m, rand, sv_slice_cstr(auts), &sqn_ms), 0);
    assert_true(sqn_ms == TS1_SQN);
    assert_true(auth_sqn_next(sqn_ms) == TS1_SQN + 32);

    /* A UE far ahead of the network (SQN_MS near the top of the 48 bits). */
    assert_int_equal(auth_aka_ue_auts(&m, rand, AUTH_SQN_MAX - 31, auts), 0);
    assert_int_equal(auth_aka_resync(&m, rand, sv_slice_cstr(auts), &sqn_ms), 0);
    assert_true(sqn_ms == AUTH_SQN_MAX - 31);
}

/* A wrong MAC-S, or the RAND of another challenge, is refused with EACCES. */
static void aka_resync_wrong_mac_s(void **state)
{
    struct auth_milenage m, other;
    struct auth_aka_vector av;
    char auts[AUTH_AKA_AUTS_B64_LEN + 1];
    uint8_t rand[16];
    uint64_t sqn_ms = 42;

    ts1_vector(&av, &m);
    assert_int_equal(auth_aka_ue_auts(&m, av.rand, 0x1000, auts), 0);
    /* The last base64 character before '=' carries MAC-S bits: flip one of them. */
    auts[18] = auts[18] == 'A' ? 'E' : 'A';
    assert_int_equal(auth_aka_resync(&m, av.rand, sv_slice_cstr(auts), &sqn_ms), EACCES);
    assert_true(sqn_ms == 42);

    assert_int_equal(auth_aka_ue_auts(&m, av.rand, 0x1000, auts), 0);
    memcpy(rand, av.rand, 16);
    rand[0] ^= 0x80;
    assert_int_equal(auth_aka_resync(&m, rand, sv_slice_cstr(auts), &sqn_ms), EACCES);
    other = m;
    other.opc[3] ^= 4;
    assert_int_equal(auth_aka_resync(&other, av.rand, sv_slice_cstr(auts), &sqn_ms), EACCES);
    assert_true(sqn_ms == 42);
}

/* auts that is not base64 of exactly 14 octets: EBADMSG. */
static void aka_resync_bad_encoding(void **state)
{
    static const char *const bad[] = {
        "",                         /* empty */
        "AAAAAAAAAAAAAAAAAA==",     /* 13 octets */
        "AAAAAAAAAAAAAAAAAAAA",     /* 15 octets */
        "AAAAAAAAAAAAAAAAAAB=",     /* 14 octets, non-zero unused bits */
        "AAAAAAAAAAAAAAAAAAA",      /* not a multiple of 4 */
        "AAAAAAAAAA AAAAAAAA=",     /* white space */
        "AAAAAAAAAAAAAAAAA-A=",     /* base64url alphabet */
        "AAAAAAAAAAAAAAAA=AAA",     /* padding inside */
        "AAAAAAAAAAAAAAAAAAAAAAAA", /* 18 octets */
    };
    struct auth_milenage m;
    uint8_t rand[16] = {0};
    uint64_t sqn_ms = 7;

    ts1_key(&m);
    for (size_t i = 0; i < SV_ARRAY_SIZE(bad); i++) {
        if (auth_aka_resync(&m, rand, sv_test_heap(bad[i]), &sqn_ms) != EBADMSG) {
            print_error("accepted auts \"%s\"\n", bad[i]);
            fail();
        }
    }
    assert_int_equal(auth_aka_resync(&m, rand, (struct sv_slice){NULL, 0}, &sqn_ms), EBADMSG);
    assert_true(sqn_ms == 7);
}

static void aka_nonce_decode_refuses_garbage(void **state)
{
    uint8_t rand[16], autn[16];
    struct auth_milenage m;
    uint64_t sqn;

    ts1_key(&m);
    assert_int_equal(auth_aka_nonce_decode(SV_LIT("A34Cm+Fva37UYWpGNB34JP"), rand, autn), EBADMSG);
    assert_int_equal(auth_aka_nonce_decode(SV_LIT("AAAAAAAAAAAAAAAAAAAA"), rand, autn), EBADMSG);
    assert_int_equal(auth_aka_ue_check(&m, SV_LIT("not base64"), &sqn, NULL, NULL, NULL), EBADMSG);
}

/* TS 33.102 Annex C: SEQ || IND(5); next SEQ keeps IND; 48-bit wrap; big-endian octets. */
static void aka_sqn_helpers(void **state)
{
    uint8_t b[6];

    assert_true(auth_sqn_next(0) == 32);
    assert_true(auth_sqn_next(0x1f) == 0x3f);
    assert_true(auth_sqn_next(TS1_SQN) == 0xff9bb4d0b627);
    assert_true(auth_sqn_next(AUTH_SQN_MAX) == 0x1f);
    assert_true((auth_sqn_next(0xabcdef123456) & 31) == (0xabcdef123456 & 31));
    auth_sqn_put(b, TS1_SQN);
    sv_test_expect_hex("SQN", b, 6, "ff9bb4d0b607");
    assert_true(auth_sqn_get(b) == TS1_SQN);
    auth_sqn_put(b, UINT64_C(0x123456789abcdef0));
    sv_test_expect_hex("SQN", b, 6, "56789abcdef0");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(aka_vector_matches_hand_computed_autn),
    cmocka_unit_test(aka_ue_accepts_challenge),
    cmocka_unit_test(aka_ue_refuses_altered_autn),
    cmocka_unit_test(aka_vector_gen_draws_rand),
    cmocka_unit_test(aka_verify_ok_then_replay),
    cmocka_unit_test(aka_verify_wrong_res),
    cmocka_unit_test(aka_verify_refusals),
    cmocka_unit_test(aka_challenge_print_with_keys),
    cmocka_unit_test(aka_resync_round_trip),
    cmocka_unit_test(aka_resync_wrong_mac_s),
    cmocka_unit_test(aka_resync_bad_encoding),
    cmocka_unit_test(aka_nonce_decode_refuses_garbage),
    cmocka_unit_test(aka_sqn_helpers),
};

SV_TEST_MAIN(tests)
