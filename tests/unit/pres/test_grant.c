/**
 * @file test_grant.c  Watcher grants (R103): make and verify, every refusal, the bounded
 * replay set, the strict base64, and a grant deciding a rule end to end.
 */
#include "svtest_pres.h"

#include <openssl/evp.h>

#include "pres_int.h"

#define BOB "sip:bob@home2.net"
#define ALICE "sip:alice@home1.net"
#define NOW 1796403600
#define EXP (NOW + 3600)

struct keys {
    uint8_t priv[PRES_GRANT_PRIV_LEN], pub[PRES_GRANT_KEY_LEN];
};

static struct keys keys_new(void)
{
    struct keys k;

    assert_int_equal(pres_grant_keypair(k.priv, k.pub), 0);
    return k;
}

static size_t make(const struct keys *k, const char *w, const char *p, int64_t exp, char *buf,
                   size_t sz)
{
    size_t n = 0;

    assert_int_equal(pres_grant_make(k->priv, sv_slice_cstr(w), sv_slice_cstr(p), exp, buf, sz, &n),
                     0);
    assert_int_equal(strlen(buf), n);
    return n;
}

static enum pres_grant_result verify(const struct keys *k, const char *tok, const char *w,
                                     const char *p, int64_t now, struct pres_grant_replay *r)
{
    enum pres_grant_result res = PRES_GRANT_OK;

    assert_int_equal(pres_grant_verify(k->pub, sv_test_heap(tok), sv_slice_cstr(w),
                                       sv_slice_cstr(p), now, r, &res),
                     0);
    return res;
}

/* RFC 8032 §7.1 test 1: the public key of a known seed. */
static void grant_pubkey_known_answer(void **state)
{
    static const uint8_t seed[32] = {0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60,
                                     0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
                                     0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19,
                                     0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
    static const uint8_t want[32] = {0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7,
                                     0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
                                     0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25,
                                     0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a};
    uint8_t pub[32];

    assert_int_equal(pres_grant_pubkey(seed, pub), 0);
    assert_memory_equal(pub, want, 32);
}

/* R103: a grant verifies once, for its watcher and presentity, before its expiry. */
static void r103_grant_roundtrip_and_refusals(void **state)
{
    struct keys k = keys_new(), other = keys_new();
    struct pres_grant_replay *r = NULL;
    char tok[PRES_GRANT_MAX + 1];

    assert_int_equal(pres_grant_replay_alloc(&r, 16), 0);
    make(&k, BOB, ALICE, EXP, tok, sizeof(tok));
    assert_null(strchr(tok, '=')); /* base64url without padding */
    assert_null(strchr(tok, '+'));
    assert_null(strchr(tok, '/'));
    /* Refusals that leave the grant usable. */
    assert_int_equal(verify(&other, tok, BOB, ALICE, NOW, r), PRES_GRANT_BAD_SIGNATURE);
    assert_int_equal(verify(&k, tok, "sip:mallory@home2.net", ALICE, NOW, r),
                     PRES_GRANT_WRONG_WATCHER);
    assert_int_equal(verify(&k, tok, BOB, "sip:carol@home1.net", NOW, r),
                     PRES_GRANT_WRONG_PRESENTITY);
    assert_int_equal(verify(&k, tok, BOB, ALICE, EXP, r), PRES_GRANT_EXPIRED);
    assert_int_equal(verify(&k, tok, BOB, ALICE, EXP + 1000, r), PRES_GRANT_EXPIRED);
    assert_int_equal(pres_grant_replay_count(r), 0);
    /* Identities compare as URIs: the host in any case. */
    assert_int_equal(verify(&k, tok, "sip:bob@HOME2.net", ALICE, EXP - 1, r), PRES_GRANT_OK);
    assert_int_equal(pres_grant_replay_count(r), 1);
    assert_int_equal(verify(&k, tok, BOB, ALICE, EXP - 1, r), PRES_GRANT_REPLAYED);
    /* A second grant for the same pair is another nonce. */
    make(&k, BOB, ALICE, EXP, tok, sizeof(tok));
    assert_int_equal(verify(&k, tok, BOB, ALICE, NOW, r), PRES_GRANT_OK);
    /* Without a replay set (tests only) verification alone. */
    assert_int_equal(verify(&k, tok, BOB, ALICE, NOW, NULL), PRES_GRANT_OK);
    pres_grant_replay_free(r);
}

/* Tampering with any octet of the payload or signature breaks the signature (or the form). */
static void r103_tampered_grants(void **state)
{
    struct keys k = keys_new();
    char tok[PRES_GRANT_MAX + 1];
    size_t n = make(&k, BOB, ALICE, EXP, tok, sizeof(tok));

    for (size_t i = 0; i < n; i++) {
        char t2[PRES_GRANT_MAX + 1];
        enum pres_grant_result res;

        if (tok[i] == '.')
            continue;
        memcpy(t2, tok, n + 1);
        t2[i] = tok[i] == 'A' ? 'B' : 'A';
        res = verify(&k, t2, BOB, ALICE, NOW, NULL);
        if (res != PRES_GRANT_BAD_SIGNATURE && res != PRES_GRANT_MALFORMED)
            print_error("octet %zu: %s\n", i, pres_grant_result_name(res));
        assert_true(res == PRES_GRANT_BAD_SIGNATURE || res == PRES_GRANT_MALFORMED);
    }
}

/* A payload signed by the right key but not of our form is still refused as malformed. */
static void r103_signed_but_malformed(void **state)
{
    static const char *const payloads[] = {
        "v2\nsip:bob@home2.net\nsip:alice@home1.net\n1796407200\n00112233445566778899aabbccddeeff",
        "v1\nsip:bob@home2.net\nsip:alice@home1.net\n1796407200",
        "v1\nsip:bob@home2.net\nsip:alice@home1.net\n-1\n00112233445566778899aabbccddeeff",
        "v1\nsip:bob@home2.net\nsip:alice@home1.net\n1796407200\n00112233445566778899AABBCCDDEEFF",
        "v1\nsip:bob@home2.net\nsip:alice@home1.net\n1796407200\n0011223344556677",
        "v1\n\nsip:alice@home1.net\n1796407200\n00112233445566778899aabbccddeeff",
        ("v1\nsip:bob@home2.net\nsip:alice@home1.net\n99999999999999999999\n"
         "00112233445566778899aabbccddeeff"),
    };
    struct keys k = keys_new();

    for (size_t i = 0; i < SV_ARRAY_SIZE(payloads); i++) {
        EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, k.priv, 32);
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        uint8_t sig[64];
        size_t sl = 64, o;
        char tok[PRES_GRANT_MAX + 1];

        assert_non_null(pk);
        assert_non_null(ctx);
        assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, pk), 1);
        assert_int_equal(
            EVP_DigestSign(ctx, sig, &sl, (const uint8_t *)payloads[i], strlen(payloads[i])), 1);
        o = pres__b64url_encode((const uint8_t *)payloads[i], strlen(payloads[i]), tok);
        tok[o++] = '.';
        pres__b64url_encode(sig, 64, tok + o);
        assert_int_equal(verify(&k, tok, BOB, ALICE, NOW, NULL), PRES_GRANT_MALFORMED);
        EVP_MD_CTX_free(ctx);
        EVP_PKEY_free(pk);
    }
}

static void r103_malformed_tokens(void **state)
{
    static const char *const rows[] = {"",     ".",     "abc",     "abc.",
                                       ".abc", "a.b.c", "!!!.???", "djE.AAAA"};
    struct keys k = keys_new();
    enum pres_grant_result res;
    char *big = malloc(PRES_GRANT_MAX + 2);

    for (size_t i = 0; i < SV_ARRAY_SIZE(rows); i++)
        assert_int_equal(verify(&k, rows[i], BOB, ALICE, NOW, NULL), PRES_GRANT_MALFORMED);
    assert_non_null(big);
    memset(big, 'A', PRES_GRANT_MAX + 1);
    big[PRES_GRANT_MAX + 1] = '\0';
    assert_int_equal(verify(&k, big, BOB, ALICE, NOW, NULL), PRES_GRANT_MALFORMED);
    free(big);
    assert_int_equal(pres_grant_verify(k.pub, sv_slice_make(NULL, 2), SV_LIT(BOB), SV_LIT(ALICE),
                                       NOW, NULL, &res),
                     EINVAL);
}

static void r103_make_refuses(void **state)
{
    struct keys k = keys_new();
    char buf[PRES_GRANT_MAX + 1], *huge;
    size_t n;

    assert_int_equal(
        pres_grant_make(k.priv, SV_LIT("sip:a\n@b"), SV_LIT(ALICE), EXP, buf, sizeof(buf), &n),
        EINVAL);
    assert_int_equal(pres_grant_make(k.priv, SV_LIT(""), SV_LIT(ALICE), EXP, buf, sizeof(buf), &n),
                     EINVAL);
    assert_int_equal(pres_grant_make(k.priv, SV_LIT(BOB), SV_LIT(ALICE), -1, buf, sizeof(buf), &n),
                     EINVAL);
    assert_int_equal(pres_grant_make(k.priv, SV_LIT(BOB), SV_LIT(ALICE), EXP, buf, 20, &n), ENOSPC);
    huge = malloc(PRES_GRANT_MAX);
    assert_non_null(huge);
    memset(huge, 'x', PRES_GRANT_MAX);
    assert_int_equal(
        pres_grant_make(k.priv, sv_slice_make(huge, 700), SV_LIT(ALICE), EXP, buf, sizeof(buf), &n),
        ENOSPC); /* the token would exceed what verify accepts */
    free(huge);
}

/* The replay set stays within its capacity; expired entries go first; evicting a live one
 * raises a floor so the evicted grant cannot come back. */
static void r103_replay_set_bounded(void **state)
{
    struct keys k = keys_new();
    struct pres_grant_replay *r = NULL;
    char t1[PRES_GRANT_MAX + 1], t2[PRES_GRANT_MAX + 1], t3[PRES_GRANT_MAX + 1],
        t4[PRES_GRANT_MAX + 1];

    assert_int_equal(pres_grant_replay_alloc(&r, 2), 0);
    make(&k, BOB, ALICE, NOW + 10, t1, sizeof(t1));
    make(&k, BOB, ALICE, NOW + 20, t2, sizeof(t2));
    make(&k, BOB, ALICE, NOW + 30, t3, sizeof(t3));
    make(&k, BOB, ALICE, NOW + 5, t4, sizeof(t4));
    assert_int_equal(verify(&k, t1, BOB, ALICE, NOW, r), PRES_GRANT_OK);
    assert_int_equal(verify(&k, t2, BOB, ALICE, NOW, r), PRES_GRANT_OK);
    assert_int_equal(pres_grant_replay_count(r), 2);
    /* Full of live entries: t1 (earliest expiry) is evicted, the floor rises to NOW + 10. */
    assert_int_equal(verify(&k, t3, BOB, ALICE, NOW, r), PRES_GRANT_OK);
    assert_int_equal(pres_grant_replay_count(r), 2);
    assert_int_equal(verify(&k, t1, BOB, ALICE, NOW, r), PRES_GRANT_REPLAYED);
    assert_int_equal(verify(&k, t4, BOB, ALICE, NOW, r), PRES_GRANT_REPLAYED); /* under floor */
    assert_int_equal(verify(&k, t2, BOB, ALICE, NOW, r), PRES_GRANT_REPLAYED);
    assert_int_equal(verify(&k, t3, BOB, ALICE, NOW, r), PRES_GRANT_REPLAYED);
    /* Later, t2 has expired: its slot is reused without touching the floor. */
    make(&k, BOB, ALICE, NOW + 100, t4, sizeof(t4));
    assert_int_equal(verify(&k, t4, BOB, ALICE, NOW + 25, r), PRES_GRANT_OK);
    assert_int_equal(pres_grant_replay_count(r), 2);
    assert_int_equal(verify(&k, t3, BOB, ALICE, NOW + 25, r), PRES_GRANT_REPLAYED);
    pres_grant_replay_free(r);
    assert_int_equal(pres_grant_replay_alloc(&r, 0), EINVAL);
    pres_grant_replay_free(NULL);
}

static void b64_strict(void **state)
{
    static const struct {
        const char *in;
        bool url;
        int err;
        const char *out;
    } rows[] = {
        {"", false, 0, ""},
        {"Zg==", false, 0, "f"},
        {"Zg", false, 0, "f"},
        {"Zm8=", false, 0, "fo"},
        {"Zm9v", false, 0, "foo"},
        {"Zm9vYg", true, 0, "foob"},
        {"-_8", true, 0, "\xfb\xff"},
        {"+/8=", false, 0, "\xfb\xff"},
        {"+/8", true, EBADMSG, NULL},   /* std alphabet in url mode */
        {"-_8=", false, EBADMSG, NULL}, /* url alphabet in std mode */
        {"Zg==", true, EBADMSG, NULL},  /* padding in url mode */
        {"Zh==", false, EBADMSG, NULL}, /* non-zero trailing bits: not canonical */
        {"Zm9=", false, EBADMSG, NULL},
        {"Z", false, EBADMSG, NULL},
        {"Zm 9v", false, EBADMSG, NULL},
        {"Zg=a", false, EBADMSG, NULL},
        {"=Zg=", false, EBADMSG, NULL},
    };

    for (size_t i = 0; i < SV_ARRAY_SIZE(rows); i++) {
        uint8_t out[16];
        size_t n = 99;
        int err = pres_b64_decode(sv_test_heap(rows[i].in), rows[i].url, out, sizeof(out), &n);

        if (err != rows[i].err)
            print_error("row %zu \"%s\": %d\n", i, rows[i].in, err);
        assert_int_equal(err, rows[i].err);
        if (!err) {
            assert_int_equal(n, strlen(rows[i].out));
            assert_memory_equal(out, rows[i].out, n);
        }
    }
    {
        uint8_t small[2];
        size_t n;

        assert_int_equal(pres_b64_decode(SV_LIT("Zm9v"), false, small, sizeof(small), &n), ENOSPC);
    }
}

/* R103 end to end: the rule names the presentity's key; the PS's callback verifies the
 * watcher's token with it; the grant works once. */
struct grant_ctx {
    const char *token;
    struct pres_grant_replay *replay;
};

static bool grant_cb(void *arg, const uint8_t key[PRES_GRANT_KEY_LEN])
{
    const struct grant_ctx *g = arg;
    enum pres_grant_result res;

    return pres_grant_verify(key, sv_slice_cstr(g->token), SV_LIT(BOB), SV_LIT(ALICE), NOW,
                             g->replay, &res) == 0 &&
           res == PRES_GRANT_OK;
}

static void r103_grant_decides_rule(void **state)
{
    struct keys k = keys_new();
    char b64[64], doc[1024], tok[PRES_GRANT_MAX + 1];
    struct grant_ctx g = {tok, NULL};
    struct pres_watcher w = {.identity = SV_LIT(BOB), .now = NOW, .grant_h = grant_cb, .arg = &g};
    struct pres_decision d;
    struct pres_rules *rs;
    size_t o;

    /* The key as XCAP carries it: standard base64 with padding. */
    {
        static const char std[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

        o = pres__b64url_encode(k.pub, 32, b64);
        for (size_t i = 0; i < o; i++)
            b64[i] = b64[i] == '-' ? std[62] : b64[i] == '_' ? std[63] : b64[i];
        b64[o++] = '=';
        b64[o] = '\0';
    }
    snprintf(doc, sizeof(doc),
             RULESET(RULE("g", "<wa:grant-key>%s</wa:grant-key>", SH("allow"), "")), b64);
    rs = rules_ok(doc);
    assert_int_equal(pres_grant_replay_alloc(&g.replay, 8), 0);
    make(&k, BOB, ALICE, EXP, tok, sizeof(tok));
    assert_int_equal(pres_rules_eval(rs, &w, PRES_SH_BLOCK, &d), 0);
    assert_int_equal(d.sh, PRES_SH_ALLOW);
    assert_int_equal(pres_rules_eval(rs, &w, PRES_SH_BLOCK, &d), 0); /* replayed */
    assert_int_equal(d.sh, PRES_SH_BLOCK);
    assert_int_equal(d.need, PRES_NEED_GRANT);
    pres_grant_replay_free(g.replay);
    sv_deref(rs);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(grant_pubkey_known_answer),
    cmocka_unit_test(r103_grant_roundtrip_and_refusals),
    cmocka_unit_test(r103_tampered_grants),
    cmocka_unit_test(r103_signed_but_malformed),
    cmocka_unit_test(r103_malformed_tokens),
    cmocka_unit_test(r103_make_refuses),
    cmocka_unit_test(r103_replay_set_bounded),
    cmocka_unit_test(b64_strict),
    cmocka_unit_test(r103_grant_decides_rule),
};

SV_TEST_MAIN(tests)
