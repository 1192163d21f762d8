/**
 * @file test_digest.c  Digest (RFC 3261 §22, RFC 7616, RFC 8760): HA1 and responses against the
 * RFC examples, self-validating nonces, the replay table, and every verdict of
 * auth_digest_verify. R102 (SHA-256 challenges of the presence server) rests on these.
 */
#include <errno.h>

#include "svtest_auth.h"

/* RFC 7616 §3.9.1. */
#define R7616_REALM "http-auth@example.org"
#define R7616_NONCE "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
#define R7616_CNONCE "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"

static const uint8_t test_key[AUTH_NONCE_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
static const char realm[] = "example.com";
static const char password[] = "zanzibar";

static struct auth_digest_resp r7616_cred(void)
{
    struct auth_digest_resp c = {
        .username = SV_LIT("Mufasa"),
        .realm = SV_LIT(R7616_REALM),
        .nonce = SV_LIT(R7616_NONCE),
        .uri = SV_LIT("/dir/index.html"),
        .cnonce = SV_LIT(R7616_CNONCE),
        .nc = SV_LIT("00000001"),
        .qop = SV_LIT("auth"),
    };
    return c;
}

static void expect_response(enum auth_digest_alg alg, const struct auth_digest_resp *c,
                            const char *pass, const char *want_ha1, const char *want)
{
    char ha1[AUTH_DIGEST_HEX_MAX + 1], resp[AUTH_DIGEST_HEX_MAX + 1];

    assert_int_equal(auth_digest_ha1(alg, c->username, c->realm, sv_slice_cstr(pass), ha1), 0);
    if (want_ha1)
        assert_string_equal(ha1, want_ha1);
    assert_int_equal(auth_digest_response(alg, sv_slice_cstr(ha1), c, SV_LIT("GET"), resp), 0);
    assert_string_equal(resp, want);
}

/* RFC 7616 §3.9.1, the MD5 response for Mufasa. */
static void digest_rfc7616_md5(void **state)
{
    struct auth_digest_resp c = r7616_cred();

    expect_response(AUTH_DIGEST_MD5, &c, "Circle of Life", "3d78807defe7de2157e2b0b6573a855f",
                    "8ca523f5e9506fed4657c9700eebdbec");
}

/* RFC 7616 §3.9.1, the SHA-256 response for Mufasa (R102: SHA-256 challenges). */
static void digest_rfc7616_sha256(void **state)
{
    struct auth_digest_resp c = r7616_cred();

    expect_response(AUTH_DIGEST_SHA256, &c, "Circle of Life",
                    "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232",
                    "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

/* RFC 2617 §3.5. */
static void digest_rfc2617_md5(void **state)
{
    struct auth_digest_resp c = {
        .username = SV_LIT("Mufasa"),
        .realm = SV_LIT("testrealm@host.com"),
        .nonce = SV_LIT("dcd98b7102dd2f0e8b11d0f600bfb0c093"),
        .uri = SV_LIT("/dir/index.html"),
        .cnonce = SV_LIT("0a4f113b"),
        .nc = SV_LIT("00000001"),
        .qop = SV_LIT("auth"),
    };

    expect_response(AUTH_DIGEST_MD5, &c, "Circle Of Life", NULL,
                    "6629fae49393a05397450978507c4ef1");
}

/*
 * The -sess variants (RFC 7616 §3.4.2: HA1-sess = H(H(user:realm:pass):nonce:cnonce)) on the
 * RFC 7616 inputs; the RFC prints no -sess example, these were computed independently.
 */
static void digest_sess_variants(void **state)
{
    struct auth_digest_resp c = r7616_cred();

    expect_response(AUTH_DIGEST_MD5_SESS, &c, "Circle of Life", "3d78807defe7de2157e2b0b6573a855f",
                    "e783283f46242139c486a698fec7211d");
    expect_response(AUTH_DIGEST_SHA256_SESS, &c, "Circle of Life", NULL,
                    "2fd51b3a77ad75bad6afad6003e818d767133c46d9e2749e7f5232ae1ea3efd7");
}

/* A store that kept HA1 in upper-case hex gives the same responses. */
static void digest_upper_case_ha1(void **state)
{
    struct auth_digest_resp c = r7616_cred();
    char resp[AUTH_DIGEST_HEX_MAX + 1];

    assert_int_equal(auth_digest_response(AUTH_DIGEST_MD5,
                                          SV_LIT("3D78807DEFE7DE2157E2B0B6573A855F"), &c,
                                          SV_LIT("GET"), resp),
                     0);
    assert_string_equal(resp, "8ca523f5e9506fed4657c9700eebdbec");
    assert_int_equal(auth_digest_response(AUTH_DIGEST_MD5_SESS,
                                          SV_LIT("3D78807DEFE7DE2157E2B0B6573A855F"), &c,
                                          SV_LIT("GET"), resp),
                     0);
    assert_string_equal(resp, "e783283f46242139c486a698fec7211d");
    assert_int_equal(auth_digest_response(AUTH_DIGEST_MD5,
                                          SV_LIT("3D78807DEFE7DE2157E2B0B6573A855"), &c,
                                          SV_LIT("GET"), resp),
                     EINVAL);
}

static void digest_alg_names(void **state)
{
    enum auth_digest_alg a;

    assert_int_equal(auth_digest_alg_parse((struct sv_slice){NULL, 0}, &a), 0);
    assert_int_equal(a, AUTH_DIGEST_MD5);
    assert_int_equal(auth_digest_alg_parse(SV_LIT("sha-256"), &a), 0);
    assert_int_equal(a, AUTH_DIGEST_SHA256);
    assert_int_equal(auth_digest_alg_parse(SV_LIT("SHA-256-sess"), &a), 0);
    assert_int_equal(a, AUTH_DIGEST_SHA256_SESS);
    assert_int_equal(auth_digest_alg_parse(SV_LIT("akav1-md5"), &a), 0);
    assert_int_equal(a, AUTH_DIGEST_AKAV1_MD5);
    assert_int_equal(auth_digest_alg_parse(SV_LIT("SHA-512-256"), &a), ENOTSUP);
    assert_int_equal(auth_digest_alg_parse(SV_LIT(""), &a), ENOTSUP);
    for (int i = 0; i < AUTH_DIGEST_ALG_COUNT; i++) {
        const char *name = auth_digest_alg_name((enum auth_digest_alg)i);
        assert_int_equal(auth_digest_alg_parse(sv_slice_cstr(name), &a), 0);
        assert_int_equal(a, i);
    }
    assert_int_equal(auth_digest_hex_len(AUTH_DIGEST_MD5), 32);
    assert_int_equal(auth_digest_hex_len(AUTH_DIGEST_SHA256_SESS), 64);
    assert_int_equal(auth_digest_hex_len(AUTH_DIGEST_AKAV1_MD5), 32);
}

/* RFC 7616 §3.3 shape; stale=true only when asked; realm that would need escaping refused. */
static void digest_challenge_print(void **state)
{
    char buf[200];
    size_t n = 0;

    assert_int_equal(auth_digest_challenge_print(SV_LIT(R7616_REALM), SV_LIT(R7616_NONCE),
                                                 AUTH_DIGEST_SHA256, false, buf, sizeof(buf), &n),
                     0);
    sv_test_expect_bytes(buf, n,
                         "Digest realm=\"http-auth@example.org\", "
                         "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
                         "algorithm=SHA-256, qop=\"auth\"");
    assert_int_equal(auth_digest_challenge_print(SV_LIT(R7616_REALM), SV_LIT(R7616_NONCE),
                                                 AUTH_DIGEST_MD5, true, buf, sizeof(buf), &n),
                     0);
    sv_test_expect_bytes(buf, n,
                         "Digest realm=\"http-auth@example.org\", "
                         "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
                         "algorithm=MD5, qop=\"auth\", stale=true");
    assert_int_equal(auth_digest_challenge_print(SV_LIT(R7616_REALM), SV_LIT(R7616_NONCE),
                                                 AUTH_DIGEST_MD5, true, buf, 40, &n),
                     ENOSPC);
    assert_int_equal(auth_digest_challenge_print(SV_LIT("a\"b"), SV_LIT(R7616_NONCE),
                                                 AUTH_DIGEST_MD5, false, buf, sizeof(buf), &n),
                     EINVAL);
    assert_int_equal(auth_digest_challenge_print(SV_LIT("a\r\nb"), SV_LIT(R7616_NONCE),
                                                 AUTH_DIGEST_MD5, false, buf, sizeof(buf), &n),
                     EINVAL);
}

/* A challenge made by the server carries a nonce of ours for that realm and algorithm. */
static void digest_challenge_make(void **state)
{
    struct auth_nonce_key nk;
    char buf[200];
    const char *p, *q;
    enum auth_nonce_state st;
    enum auth_digest_alg alg;
    size_t n = 0;

    auth_nonce_key_set(&nk, test_key, 300);
    assert_int_equal(auth_digest_challenge_make(&nk, AUTH_DIGEST_SHA256, sv_slice_cstr(realm), 5000,
                                                true, buf, sizeof(buf), &n),
                     0);
    assert_int_equal(strncmp(buf, "Digest realm=\"example.com\", nonce=\"", 35), 0);
    assert_non_null(strstr(buf, "\", algorithm=SHA-256, qop=\"auth\", stale=true"));
    p = buf + 35;
    q = strchr(p, '"');
    assert_int_equal(q - p, AUTH_NONCE_LEN);
    assert_int_equal(auth_nonce_check(&nk, sv_slice_make(p, (size_t)(q - p)), sv_slice_cstr(realm),
                                      5001, &st, &alg, NULL),
                     0);
    assert_int_equal(st, AUTH_NONCE_FRESH);
    assert_int_equal(alg, AUTH_DIGEST_SHA256);
    assert_int_equal(auth_digest_challenge_make(&nk, AUTH_DIGEST_AKAV1_MD5, sv_slice_cstr(realm),
                                                5000, false, buf, sizeof(buf), &n),
                     EINVAL);
}

/* Ours and fresh / ours but expired (stale) / not ours, with no state. */
static void nonce_fresh_expired_foreign(void **state)
{
    struct auth_nonce_key nk, other;
    char nonce[AUTH_NONCE_LEN + 1], bad[AUTH_NONCE_LEN + 1];
    enum auth_nonce_state st;
    enum auth_digest_alg alg = AUTH_DIGEST_MD5;
    uint64_t issued = 0;
    struct sv_slice r = sv_slice_cstr(realm);

    auth_nonce_key_set(&nk, test_key, 300);
    assert_int_equal(auth_nonce_make(&nk, AUTH_DIGEST_SHA256, r, 1000, nonce), 0);
    assert_int_equal(strlen(nonce), AUTH_NONCE_LEN);

    assert_int_equal(auth_nonce_check(&nk, sv_slice_cstr(nonce), r, 1000, &st, &alg, &issued), 0);
    assert_int_equal(st, AUTH_NONCE_FRESH);
    assert_int_equal(alg, AUTH_DIGEST_SHA256);
    assert_true(issued == 1000);
    assert_int_equal(auth_nonce_check(&nk, sv_slice_cstr(nonce), r, 1300, &st, NULL, NULL), 0);
    assert_int_equal(st, AUTH_NONCE_FRESH);
    assert_int_equal(auth_nonce_check(&nk, sv_slice_cstr(nonce), r, 1301, &st, NULL, NULL), 0);
    assert_int_equal(st, AUTH_NONCE_EXPIRED);
    /* A clock behind the issuer's (another node) does not make it foreign. */
    assert_int_equal(auth_nonce_check(&nk, sv_slice_cstr(nonce), r, 900, &st, NULL, NULL), 0);
    assert_int_equal(st, AUTH_NONCE_FRESH);

    assert_int_equal(auth_nonce_key_init(&other, 300), 0);
    assert_int_equal(auth_nonce_check(&other, sv_slice_cstr(nonce), r, 1000, &st, NULL, NULL), 0);
    assert_int_equal(st, AUTH_NONCE_FOREIGN);
    assert_int_equal(
        auth_nonce_check(&nk, sv_slice_cstr(nonce), SV_LIT("example.org"), 1000, &st, NULL, NULL),
        0);
    assert_int_equal(st, AUTH_NONCE_FOREIGN);
    for (size_t i = 0; i < AUTH_NONCE_LEN; i++) {
        memcpy(bad, nonce, sizeof(bad));
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        assert_int_equal(auth_nonce_check(&nk, sv_slice_cstr(bad), r, 1000, &st, NULL, NULL), 0);
        assert_int_equal(st, AUTH_NONCE_FOREIGN);
    }
    assert_int_equal(auth_nonce_check(&nk, SV_LIT(R7616_NONCE), r, 1000, &st, NULL, NULL), 0);
    assert_int_equal(st, AUTH_NONCE_FOREIGN);
    assert_int_equal(
        auth_nonce_check(&nk, sv_test_heap_n(nonce, AUTH_NONCE_LEN - 4), r, 1000, &st, NULL, NULL),
        0);
    assert_int_equal(st, AUTH_NONCE_FOREIGN);
    assert_int_equal(auth_nonce_key_init(&other, 0), EINVAL);
}

/* Two nonces of the same second differ (13 random octets each). */
static void nonce_unique_within_a_second(void **state)
{
    struct auth_nonce_key nk;
    char a[AUTH_NONCE_LEN + 1], b[AUTH_NONCE_LEN + 1];

    auth_nonce_key_set(&nk, test_key, 300);
    assert_int_equal(auth_nonce_make(&nk, AUTH_DIGEST_MD5, SV_LIT("r"), 7, a), 0);
    assert_int_equal(auth_nonce_make(&nk, AUTH_DIGEST_MD5, SV_LIT("r"), 7, b), 0);
    assert_string_not_equal(a, b);
}

/* ---------------------------------------------------------------------------------------- */
/* auth_digest_verify                                                                         */

struct fixture {
    struct auth_nonce_key nk;
    struct auth_replay *rt;
    char nonce[AUTH_NONCE_LEN + 1];
    char resp[AUTH_DIGEST_HEX_MAX + 1];
    char ha1[AUTH_DIGEST_HEX_MAX + 1]; /* the server's stored HA1 for the answer's algorithm */
    struct auth_digest_resp cred;
};

static int fixture_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    auth_nonce_key_set(&f->nk, test_key, 300);
    assert_int_equal(auth_replay_alloc(&f->rt, 64), 0);
    *state = f;
    return 0;
}

static int fixture_teardown(void **state)
{
    struct fixture *f = *state;

    sv_deref(f->rt);
    free(f);
    return 0;
}

/* The server challenges in @p challenged at time 1000; the client answers in @p answered. */
static void client_answer(struct fixture *f, enum auth_digest_alg challenged,
                          enum auth_digest_alg answered, const char *pass, const char *nc)
{
    struct auth_digest_resp *c = &f->cred;

    assert_int_equal(auth_nonce_make(&f->nk, challenged, sv_slice_cstr(realm), 1000, f->nonce), 0);
    memset(c, 0, sizeof(*c));
    c->username = SV_LIT("alice");
    c->realm = sv_slice_cstr(realm);
    c->nonce = sv_slice_cstr(f->nonce);
    c->uri = SV_LIT("sip:alice@example.com");
    c->algorithm = sv_slice_cstr(auth_digest_alg_name(answered));
    c->cnonce = SV_LIT("0a4f113b");
    c->nc = sv_slice_cstr(nc);
    c->qop = SV_LIT("auth");
    assert_int_equal(auth_digest_ha1(answered, c->username, c->realm, sv_slice_cstr(pass), f->ha1),
                     0);
    assert_int_equal(
        auth_digest_response(answered, sv_slice_cstr(f->ha1), c, SV_LIT("SUBSCRIBE"), f->resp), 0);
    c->response = sv_slice_cstr(f->resp);
    /* The server's HA1 is from the real password, whatever the client typed. */
    assert_int_equal(
        auth_digest_ha1(answered, c->username, c->realm, sv_slice_cstr(password), f->ha1), 0);
}

static enum auth_digest_result verify_at(struct fixture *f, uint64_t now)
{
    enum auth_digest_result r = AUTH_DIGEST_OK;

    assert_int_equal(auth_digest_verify(&f->nk, f->rt, &f->cred, SV_LIT("SUBSCRIBE"),
                                        sv_slice_cstr(f->ha1), now, &r),
                     0);
    return r;
}

static void expect_verdict(struct fixture *f, uint64_t now, enum auth_digest_result want)
{
    enum auth_digest_result r = verify_at(f, now);

    if (r != want) {
        print_error("verdict %s, want %s\n", auth_digest_result_name(r),
                    auth_digest_result_name(want));
        fail();
    }
}

/* R102: SHA-256 challenge, right answer: OK; nc must then grow. */
static void verify_sha256_ok_and_nc_replay(void **state)
{
    struct fixture *f = *state;

    client_answer(f, AUTH_DIGEST_SHA256, AUTH_DIGEST_SHA256, password, "00000001");
    expect_verdict(f, 1010, AUTH_DIGEST_OK);
    expect_verdict(f, 1011, AUTH_DIGEST_REPLAY); /* the same (nonce, nc) again */
    assert_int_equal(auth_replay_count(f->rt), 1);

    f->cred.nc = SV_LIT("00000002"); /* the next request on the same nonce */
    assert_int_equal(auth_digest_response(AUTH_DIGEST_SHA256, sv_slice_cstr(f->ha1), &f->cred,
                                          SV_LIT("SUBSCRIBE"), f->resp),
                     0);
    expect_verdict(f, 1012, AUTH_DIGEST_OK);
    f->cred.nc = SV_LIT("00000001"); /* back to nc 1: the nc-2 response no longer fits */
    expect_verdict(f, 1013, AUTH_DIGEST_BAD_RESPONSE);
    /* and with the right response for nc 1, it is a replay */
    assert_int_equal(auth_digest_response(AUTH_DIGEST_SHA256, sv_slice_cstr(f->ha1), &f->cred,
                                          SV_LIT("SUBSCRIBE"), f->resp),
                     0);
    expect_verdict(f, 1013, AUTH_DIGEST_REPLAY);
}

/* Every algorithm verifies against a challenge in that algorithm. */
static void verify_each_algorithm(void **state)
{
    static const enum auth_digest_alg algs[] = {AUTH_DIGEST_MD5, AUTH_DIGEST_MD5_SESS,
                                                AUTH_DIGEST_SHA256, AUTH_DIGEST_SHA256_SESS};
    struct fixture *f = *state;

    for (size_t i = 0; i < SV_ARRAY_SIZE(algs); i++) {
        client_answer(f, algs[i], algs[i], password, "00000001");
        expect_verdict(f, 1000, AUTH_DIGEST_OK);
    }
}

/* Right password, old nonce: stale (RFC 7616 §3.3); wrong password, old nonce: bad response. */
static void verify_stale_only_for_right_password(void **state)
{
    struct fixture *f = *state;

    client_answer(f, AUTH_DIGEST_SHA256, AUTH_DIGEST_SHA256, password, "00000001");
    expect_verdict(f, 1301, AUTH_DIGEST_STALE);
    client_answer(f, AUTH_DIGEST_SHA256, AUTH_DIGEST_SHA256, "guess", "00000001");
    expect_verdict(f, 1301, AUTH_DIGEST_BAD_RESPONSE);
    assert_int_equal(auth_replay_count(f->rt), 0);
}

/* Wrong password: bad response, and the replay table is not touched. */
static void verify_bad_response(void **state)
{
    struct fixture *f = *state;

    client_answer(f, AUTH_DIGEST_MD5, AUTH_DIGEST_MD5, "guess", "00000001");
    expect_verdict(f, 1000, AUTH_DIGEST_BAD_RESPONSE);
    assert_int_equal(auth_replay_count(f->rt), 0);
    /* One flipped digit of a right response. */
    client_answer(f, AUTH_DIGEST_MD5, AUTH_DIGEST_MD5, password, "00000001");
    f->resp[31] = f->resp[31] == '0' ? '1' : '0';
    expect_verdict(f, 1000, AUTH_DIGEST_BAD_RESPONSE);
}

/* Not our nonce: another key, another realm, the RFC's example nonce. */
static void verify_bad_nonce(void **state)
{
    struct fixture *f = *state;
    struct auth_nonce_key mine = f->nk;

    client_answer(f, AUTH_DIGEST_SHA256, AUTH_DIGEST_SHA256, password, "00000001");
    assert_int_equal(auth_nonce_key_init(&f->nk, 300), 0); /* the server restarted, new key */
    expect_verdict(f, 1000, AUTH_DIGEST_BAD_NONCE);
    f->nk = mine;
    f->cred.realm = SV_LIT("example.org");
    expect_verdict(f, 1000, AUTH_DIGEST_BAD_NONCE);
    f->cred.realm = sv_slice_cstr(realm);
    f->cred.nonce = SV_LIT(R7616_NONCE);
    expect_verdict(f, 1000, AUTH_DIGEST_BAD_NONCE);
}

/*
 * Downgrade refused: a SHA-256 challenge answered in MD5 with a right MD5 response (the
 * Kamailio #2150 class of bug), with the algorithm absent (MD5 by default), in SHA-256-sess,
 * in AKAv1-MD5, or in an algorithm we do not know.
 */
static void verify_algorithm_mismatch(void **state)
{
    struct fixture *f = *state;

    client_answer(f, AUTH_DIGEST_SHA256, AUTH_DIGEST_MD5, password, "00000001");
    expect_verdict(f, 1000, AUTH_DIGEST_ALG_MISMATCH);
    f->cred.algorithm = (struct sv_slice){NULL, 0};
    expect_verdict(f, 1000, AUTH_DIGEST_ALG_MISMATCH);
    client_answer(f, AUTH_DIGEST_SHA256, AUTH_DIGEST_SHA256_SESS, password, "00000001");
    expect_verdict(f, 1000, AUTH_DIGEST_ALG_MISMATCH);
    client_answer(f, AUTH_DIGEST_MD5, AUTH_DIGEST_SHA256, password, "00000001");
    expect_verdict(f, 1000, AUTH_DIGEST_ALG_MISMATCH);
    client_answer(f, AUTH_DIGEST_MD5, AUTH_DIGEST_AKAV1_MD5, password, "00000001");
    expect_verdict(f, 1000, AUTH_DIGEST_ALG_MISMATCH);
    client_answer(f, AUTH_DIGEST_SHA256, AUTH_DIGEST_SHA256, password, "00000001");
    f->cred.algorithm = SV_LIT("SHA-512-256");
    expect_verdict(f, 1000, AUTH_DIGEST_ALG_MISMATCH);
    assert_int_equal(auth_replay_count(f->rt), 0);
}

/* Missing or ill-formed parameters; qop other than auth. */
static void verify_malformed(void **state)
{
    struct fixture *f = *state;
    struct auth_digest_resp good;
    struct {
        size_t off;
        struct sv_slice v;
    } cases[] = {
        {offsetof(struct auth_digest_resp, qop), {NULL, 0}}, /* RFC 2069 style: not supported */
        {offsetof(struct auth_digest_resp, qop), SV_LIT("auth-int")},
        {offsetof(struct auth_digest_resp, nc), SV_LIT("1")},
        {offsetof(struct auth_digest_resp, nc), SV_LIT("00000000")},
        {offsetof(struct auth_digest_resp, nc), SV_LIT("0000000g")},
        {offsetof(struct auth_digest_resp, nc), SV_LIT("000000001")},
        {offsetof(struct auth_digest_resp, cnonce), {NULL, 0}},
        {offsetof(struct auth_digest_resp, cnonce), SV_LIT("")},
        {offsetof(struct auth_digest_resp, username), {NULL, 0}},
        {offsetof(struct auth_digest_resp, uri), {NULL, 0}},
        {offsetof(struct auth_digest_resp, nonce), {NULL, 0}},
        {offsetof(struct auth_digest_resp, realm), {NULL, 0}},
        {offsetof(struct auth_digest_resp, response), {NULL, 0}},
        {offsetof(struct auth_digest_resp, response), SV_LIT("8ca523f5e9506fed4657c9700eebdbec")},
        {offsetof(struct auth_digest_resp, response),
         SV_LIT("753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6cz")},
    };

    client_answer(f, AUTH_DIGEST_SHA256, AUTH_DIGEST_SHA256, password, "00000001");
    good = f->cred;
    for (size_t i = 0; i < SV_ARRAY_SIZE(cases); i++) {
        f->cred = good;
        memcpy((char *)&f->cred + cases[i].off, &cases[i].v, sizeof(struct sv_slice));
        if (verify_at(f, 1000) != AUTH_DIGEST_MALFORMED) {
            print_error("case %zu not refused as malformed\n", i);
            fail();
        }
    }
    f->cred = good;
    f->cred.qop = SV_LIT("AUTH"); /* tokens compare case-insensitively; hashed as sent */
    assert_int_equal(auth_digest_response(AUTH_DIGEST_SHA256, sv_slice_cstr(f->ha1), &f->cred,
                                          SV_LIT("SUBSCRIBE"), f->resp),
                     0);
    expect_verdict(f, 1000, AUTH_DIGEST_OK);
}

/* An HA1 that does not fit the algorithm is the caller's error, not a verdict. */
static void verify_caller_errors(void **state)
{
    struct fixture *f = *state;
    enum auth_digest_result r;

    client_answer(f, AUTH_DIGEST_SHA256, AUTH_DIGEST_SHA256, password, "00000001");
    assert_int_equal(auth_digest_verify(&f->nk, f->rt, &f->cred, SV_LIT("SUBSCRIBE"),
                                        SV_LIT("3d78807defe7de2157e2b0b6573a855f"), 1000, &r),
                     EINVAL);
    assert_int_equal(auth_digest_verify(&f->nk, NULL, &f->cred, SV_LIT("SUBSCRIBE"),
                                        sv_slice_cstr(f->ha1), 1000, &r),
                     EINVAL);
}

/* ---------------------------------------------------------------------------------------- */
/* The replay table                                                                           */

static struct sv_slice nonce_n(char *buf, int i)
{
    snprintf(buf, 16, "nonce-%d", i);
    return sv_slice_cstr(buf);
}

/*
 * Capacity 4 is one bucket. The fifth nonce evicts the oldest; that one then comes back as
 * ESTALE (it may have been used: never trust it again), as does any nonce issued before it
 * that the table has not seen; a newer unseen nonce is accepted.
 */
static void replay_eviction_rule(void **state)
{
    struct auth_replay *rt = NULL;
    char b[16];

    assert_int_equal(auth_replay_alloc(&rt, 4), 0);
    for (int i = 1; i <= 4; i++)
        assert_int_equal(auth_replay_check(rt, nonce_n(b, i), (uint64_t)i * 10, 1), 0);
    assert_int_equal(auth_replay_count(rt), 4);
    assert_int_equal(auth_replay_check(rt, nonce_n(b, 5), 50, 1), 0); /* evicts nonce-1 (10) */
    assert_int_equal(auth_replay_count(rt), 4);
    assert_int_equal(auth_replay_check(rt, nonce_n(b, 1), 10, 2), ESTALE);
    assert_int_equal(auth_replay_check(rt, nonce_n(b, 6), 5, 1), ESTALE);
    assert_int_equal(auth_replay_check(rt, nonce_n(b, 2), 20, 1), EALREADY);
    assert_int_equal(auth_replay_check(rt, nonce_n(b, 2), 20, 2), 0);
    assert_int_equal(auth_replay_check(rt, nonce_n(b, 7), 11, 1), 0); /* evicts nonce-2 (20) */
    assert_int_equal(auth_replay_check(rt, nonce_n(b, 2), 20, 3), ESTALE);
    assert_int_equal(auth_replay_check(rt, nonce_n(b, 8), 60, 1), 0);
    sv_deref(rt);
}

/* Memory stays bounded whatever the traffic: never more entries than the capacity. */
static void replay_bounded(void **state)
{
    struct auth_replay *rt = NULL;
    char b[16];
    int refused = 0;

    assert_int_equal(auth_replay_alloc(&rt, 50), 0); /* rounded up to 64 */
    for (int i = 0; i < 5000; i++) {
        int err = auth_replay_check(rt, nonce_n(b, i), (uint64_t)i, 1);
        assert_true(err == 0 || err == ESTALE);
        refused += err == ESTALE;
        assert_true(auth_replay_count(rt) <= 64);
    }
    /* Issue times only grow here, so a new nonce is never older than an evicted one. */
    assert_int_equal(refused, 0);
    sv_deref(rt);
}

static void replay_arguments_and_oom(void **state)
{
    struct auth_replay *rt = NULL;
    int err = ENOMEM;

    assert_int_equal(auth_replay_alloc(&rt, 0), EINVAL);
    assert_int_equal(auth_replay_alloc(&rt, (size_t)1 << 30), EINVAL);
    assert_null(rt);
    for (long n = 0; err == ENOMEM; n++) {
        sv_mem_fail_after(n);
        err = auth_replay_alloc(&rt, 16);
        sv_mem_fail_after(-1);
        assert_true(err == 0 || err == ENOMEM);
        if (err)
            assert_null(rt);
    }
    assert_non_null(rt);
    assert_int_equal(auth_replay_check(rt, SV_LIT("n"), 1, 0), EINVAL);
    assert_int_equal(auth_replay_check(rt, (struct sv_slice){NULL, 0}, 1, 1), EINVAL);
    sv_deref(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(digest_rfc7616_md5),
    cmocka_unit_test(digest_rfc7616_sha256),
    cmocka_unit_test(digest_rfc2617_md5),
    cmocka_unit_test(digest_sess_variants),
    cmocka_unit_test(digest_upper_case_ha1),
    cmocka_unit_test(digest_alg_names),
    cmocka_unit_test(digest_challenge_print),
    cmocka_unit_test(digest_challenge_make),
    cmocka_unit_test(nonce_fresh_expired_foreign),
    cmocka_unit_test(nonce_unique_within_a_second),
    cmocka_unit_test_setup_teardown(verify_sha256_ok_and_nc_replay, fixture_setup,
                                    fixture_teardown),
    cmocka_unit_test_setup_teardown(verify_each_algorithm, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(verify_stale_only_for_right_password, fixture_setup,
                                    fixture_teardown),
    cmocka_unit_test_setup_teardown(verify_bad_response, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(verify_bad_nonce, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(verify_algorithm_mismatch, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(verify_malformed, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(verify_caller_errors, fixture_setup, fixture_teardown),
    cmocka_unit_test(replay_eviction_rule),
    cmocka_unit_test(replay_bounded),
    cmocka_unit_test(replay_arguments_and_oom),
};

SV_TEST_MAIN(tests)
