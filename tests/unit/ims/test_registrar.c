/**
 * @file test_registrar.c  The S-CSCF's registrar (src/ims/registrar.c) on a real SQLite store
 * with the lab's subscribers: Digest (MD5, SHA-256), wrong answers and unknown users alike,
 * replay, stale nonces, pseudonyms (R82, R83, TC-25), and IMS AKA with an explicit
 * resynchronisation through AUTS (the UE's SQN ahead of the network's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "svtest.h"

#include "ims_int.h"

static const char LAB[] =
    "subscribers:\n"
    "  - impi: alice@ims.example\n"
    "    password: alice-pw\n"
    "    sets:\n"
    "      - impus: [{uri: \"sip:alice@ims.example\", display: \"Alice Liddell\"}, "
    "\"tel:+15551000001\"]\n"
    "  - impi: bob@ims.example\n"
    "    password: bob-pw\n"
    "    sets:\n"
    "      - impus: [\"sip:bob@ims.example\", \"tel:+15551000002\"]\n"
    "      - impus: [{uri: \"sip:blue-fox@ims.example\", pseudonym: true}]\n"
    "  - impi: dave@ims.example\n"
    "    aka: {k: 465b5ce8b199b49faa5f0a2ee238a6bc, op: cdc202d5123e20f62b6d676ac72cb318,\n"
    "          amf: \"8000\", sqn: 0}\n"
    "    sets:\n"
    "      - impus: [\"sip:dave@ims.example\"]\n";

static char dbpath[64];
static struct store *st;
static struct ims_state *ims;
/* The requests of a case: their parsed messages point into them until the case ends. */
static char *bufs[64];
static size_t nbufs;

static int setup(void **state)
{
    char err[128];
    size_t n;
    int fd;

    sv_test_arena_setup(state);
    snprintf(dbpath, sizeof(dbpath), "/tmp/sv-registrar-XXXXXX");
    fd = mkstemp(dbpath);
    assert_true(fd >= 0);
    close(fd);
    unlink(dbpath);
    assert_int_equal(store_open_sqlite(&st, dbpath, err, sizeof(err)), 0);
    assert_int_equal(store_import_yaml(st, LAB, strlen(LAB), &n, err, sizeof(err)), 0);
    struct ims_conf c = {.node = "scscf",
                         .role = IMS_ROLE_SCSCF,
                         .domain = "ims.example",
                         .uri = "sip:127.0.0.1:6060",
                         .store = st,
                         .pseudonym_requires_protected_register = true};
    assert_int_equal(ims_state_alloc(&ims, &c), 0);
    return 0;
}

static int teardown(void **state)
{
    char p[96];

    while (nbufs)
        free(bufs[--nbufs]);
    ims_state_free(ims);
    store_close(st);
    unlink(dbpath);
    snprintf(p, sizeof(p), "%s-wal", dbpath);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", dbpath);
    unlink(p);
    return sv_test_arena_teardown(state);
}

/* REGISTER for @p impu with the Authorization line @p auth ("" for none), from a trusted
 * P-CSCF when @p trusted. @return the response code; *@p hdrs its header lines. */
static unsigned reg(const char *impu, const char *auth, bool trusted, const char **hdrs)
{
    char *buf = malloc(2048);
    struct sip_msg *m;

    assert_non_null(buf);
    assert_true(nbufs < sizeof(bufs) / sizeof(bufs[0]));
    bufs[nbufs++] = buf;
    struct sip_perr perr;
    struct proxy_route_res res;
    struct net_flow flow = {.tp = NET_UDP, .listener = 0};
    int n = snprintf(buf, 2048,
                     "REGISTER sip:ims.example SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKreg%u\r\n"
                     "Path: <sip:127.0.0.1:5070;lr>\r\n"
                     "From: <%s>;tag=r1\r\nTo: <%s>\r\nCall-ID: reg-1\r\nCSeq: 1 REGISTER\r\n"
                     "Contact: <sip:ue@127.0.0.1:40000>\r\n%s%s%sExpires: 600\r\n"
                     "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
                     (unsigned)rand(), impu, impu, *auth ? "Authorization: " : "", auth,
                     *auth ? "\r\n" : "");
    assert_true(n > 0 && n < 2048);
    assert_int_equal(sip_msg_parse(&m, sv_test_arena(), buf, (size_t)n, SIP_DGRAM, NULL, &perr),
                     0);
    memset(&res, 0, sizeof(res));
    assert_int_equal(ims__register(ims, m, &flow, trusted, sv_test_arena(), &res),
                     PROXY_ROUTE_ANSWER);
    *hdrs = res.hdrs ? res.hdrs : "";
    /* the message's slices point into buf: kept until teardown */
    return res.code;
}

/* The value of the challenge for @p alg in @p hdrs, with its nonce in @p nonce. */
static void challenge_of(const char *hdrs, const char *alg, char *nonce, size_t sz)
{
    char want[64];
    const char *h, *q, *e;

    snprintf(want, sizeof(want), "algorithm=%s", alg);
    h = strstr(hdrs, want);
    assert_non_null(h);
    while (h > hdrs && strncmp(h, "WWW-Authenticate:", 17) != 0)
        h--;
    q = strstr(h, "nonce=\"");
    assert_non_null(q);
    q += 7;
    e = strchr(q, '"');
    assert_true(e && (size_t)(e - q) < sz);
    memcpy(nonce, q, (size_t)(e - q));
    nonce[e - q] = '\0';
}

static const char *digest_auth(const char *user, const char *pw, const char *nonce,
                               enum auth_digest_alg alg, const char *nc)
{
    static char line[1024];
    char ha1[AUTH_DIGEST_HEX_MAX + 1], resp[AUTH_DIGEST_HEX_MAX + 1];
    struct auth_digest_resp r = {.username = sv_slice_cstr(user),
                                 .realm = SV_LIT("ims.example"),
                                 .nonce = sv_slice_cstr(nonce),
                                 .uri = SV_LIT("sip:ims.example"),
                                 .cnonce = SV_LIT("c0ffee"),
                                 .nc = sv_slice_cstr(nc),
                                 .qop = SV_LIT("auth")};

    assert_int_equal(auth_digest_ha1(alg, sv_slice_cstr(user), SV_LIT("ims.example"),
                                     sv_slice_cstr(pw), ha1),
                     0);
    assert_int_equal(auth_digest_response(alg, sv_slice_cstr(ha1), &r, SV_LIT("REGISTER"), resp),
                     0);
    snprintf(line, sizeof(line),
             "Digest username=\"%s\", realm=\"ims.example\", nonce=\"%s\", "
             "uri=\"sip:ims.example\", response=\"%s\", algorithm=%s, cnonce=\"c0ffee\", "
             "nc=%s, qop=auth",
             user, nonce, resp, auth_digest_alg_name(alg), nc);
    return line;
}

static void digest_md5_and_sha256_register(void **state)
{
    const char *h;
    char nonce[128];

    (void)state;
    assert_int_equal(reg("sip:alice@ims.example", "", true, &h), 401);
    assert_non_null(strstr(h, "algorithm=MD5"));
    assert_non_null(strstr(h, "algorithm=SHA-256"));
    challenge_of(h, "SHA-256", nonce, sizeof(nonce));
    assert_int_equal(reg("sip:alice@ims.example",
                         digest_auth("alice@ims.example", "alice-pw", nonce, AUTH_DIGEST_SHA256,
                                     "00000001"),
                         true, &h),
                     200);
    /* R82, R29: the set registered, default first; our Service-Route; the contact */
    assert_non_null(strstr(h, "P-Associated-URI: <sip:alice@ims.example>, <tel:+15551000001>\r\n"));
    assert_non_null(strstr(h, "Service-Route: <sip:127.0.0.1:6060;lr;orig>\r\n"));
    assert_non_null(strstr(h, "Contact: <sip:ue@127.0.0.1:40000>;expires=600\r\n"));
    assert_non_null(strstr(h, "Path: <sip:127.0.0.1:5070;lr>\r\n"));

    assert_int_equal(reg("sip:alice@ims.example", "", true, &h), 401);
    challenge_of(h, "MD5", nonce, sizeof(nonce));
    assert_int_equal(reg("tel:+15551000001",
                         digest_auth("alice@ims.example", "alice-pw", nonce, AUTH_DIGEST_MD5,
                                     "00000001"),
                         true, &h),
                     200);
}

static void replayed_answer_is_refused(void **state)
{
    const char *h, *a;
    char nonce[128], line[1024];

    (void)state;
    reg("sip:alice@ims.example", "", true, &h);
    challenge_of(h, "MD5", nonce, sizeof(nonce));
    a = digest_auth("alice@ims.example", "alice-pw", nonce, AUTH_DIGEST_MD5, "00000001");
    snprintf(line, sizeof(line), "%s", a);
    assert_int_equal(reg("sip:alice@ims.example", line, true, &h), 200);
    assert_int_equal(reg("sip:alice@ims.example", line, true, &h), 401); /* same nonce, same nc */
}

static void downgrade_is_refused(void **state)
{
    const char *h;
    char nonce[128];

    (void)state;
    reg("sip:alice@ims.example", "", true, &h);
    challenge_of(h, "SHA-256", nonce, sizeof(nonce));
    /* the SHA-256 nonce answered with MD5 (the Kamailio #2150 class): a wrong answer */
    assert_int_equal(reg("sip:alice@ims.example",
                         digest_auth("alice@ims.example", "alice-pw", nonce, AUTH_DIGEST_MD5,
                                     "00000001"),
                         true, &h),
                     401);
}

/* The codes a wrong password gets: 401 for each answer until the third, then 403. */
static void three_wrong(const char *impu, const char *impi, unsigned *codes)
{
    const char *h;
    char nonce[128];

    codes[0] = reg(impu, "", true, &h);
    for (int i = 1; i <= 3; i++) {
        challenge_of(h, "MD5", nonce, sizeof(nonce));
        codes[i] = reg(impu, digest_auth(impi, "wrong", nonce, AUTH_DIGEST_MD5, "00000001"),
                       true, &h);
    }
}

static void wrong_password_and_unknown_user_alike(void **state)
{
    unsigned a[4], u[4];

    (void)state;
    three_wrong("sip:alice@ims.example", "alice@ims.example", a);
    three_wrong("sip:mallory@ims.example", "mallory@ims.example", u);
    assert_int_equal(a[0], 401);
    assert_int_equal(a[1], 401);
    assert_int_equal(a[2], 401);
    assert_int_equal(a[3], 403);
    assert_memory_equal(a, u, sizeof(a));
}

static void malformed_authorization_gets_400(void **state)
{
    const char *h;

    (void)state;
    assert_int_equal(reg("sip:alice@ims.example", "Digest username=\"alice@ims.example, realm",
                         true, &h),
                     400);
}

/* R83, TC-25 (a): 403 before any challenge over an unprotected link; a P-CSCF-vouched
 * protected link (TC-25 b) is challenged, and the 200 lists the pseudonym alone (R82). */
static void pseudonym_needs_a_protected_link(void **state)
{
    const char *h;
    char nonce[128], line[1100];

    (void)state;
    assert_int_equal(reg("sip:blue-fox@ims.example",
                         "Digest username=\"bob@ims.example\", realm=\"ims.example\", nonce=\"\", "
                         "uri=\"sip:ims.example\", response=\"\", integrity-protected=\"no\"",
                         true, &h),
                     403);
    assert_null(strstr(h, "WWW-Authenticate"));
    /* a UE's own claim counts only when a trusted P-CSCF passed it on */
    assert_int_equal(reg("sip:blue-fox@ims.example",
                         "Digest username=\"bob@ims.example\", realm=\"ims.example\", nonce=\"\", "
                         "uri=\"sip:ims.example\", response=\"\", integrity-protected=\"tls-yes\"",
                         false, &h),
                     403);
    assert_int_equal(reg("sip:blue-fox@ims.example",
                         "Digest username=\"bob@ims.example\", realm=\"ims.example\", nonce=\"\", "
                         "uri=\"sip:ims.example\", response=\"\", integrity-protected=\"tls-yes\"",
                         true, &h),
                     401);
    challenge_of(h, "MD5", nonce, sizeof(nonce));
    snprintf(line, sizeof(line), "%s, integrity-protected=\"tls-yes\"",
             digest_auth("bob@ims.example", "bob-pw", nonce, AUTH_DIGEST_MD5, "00000001"));
    assert_int_equal(reg("sip:blue-fox@ims.example", line, true, &h), 200);
    assert_non_null(strstr(h, "P-Associated-URI: <sip:blue-fox@ims.example>\r\n"));
    assert_null(strstr(h, "bob"));
    assert_null(strstr(h, "15551000002"));
}

static const uint8_t K[16] = {0x46, 0x5b, 0x5c, 0xe8, 0xb1, 0x99, 0xb4, 0x9f,
                              0xaa, 0x5f, 0x0a, 0x2e, 0xe2, 0x38, 0xa6, 0xbc};
static const uint8_t OP[16] = {0xcd, 0xc2, 0x02, 0xd5, 0x12, 0x3e, 0x20, 0xf6,
                               0x2b, 0x6d, 0x67, 0x6a, 0xc7, 0x2c, 0xb3, 0x18};

static void aka_nonce(const char *hdrs, char *nonce, size_t sz)
{
    challenge_of(hdrs, "AKAv1-MD5", nonce, sz);
}

/* The UE's answer to AKA nonce @p nonce: RES as the Digest password. */
static const char *aka_auth(const struct auth_milenage *m, const char *nonce, uint64_t *sqn)
{
    static char line[1024];
    uint8_t res[AUTH_RES_LEN], ck[AUTH_CK_LEN], ik[AUTH_IK_LEN];
    char ha1[AUTH_DIGEST_HEX_MAX + 1], resp[AUTH_DIGEST_HEX_MAX + 1];

    assert_int_equal(auth_aka_ue_check(m, sv_slice_cstr(nonce), sqn, res, ck, ik), 0);
    assert_int_equal(auth_aka_ha1(SV_LIT("dave@ims.example"), SV_LIT("ims.example"), res,
                                  sizeof(res), ha1),
                     0);
    struct auth_digest_resp r = {.username = SV_LIT("dave@ims.example"),
                                 .realm = SV_LIT("ims.example"),
                                 .nonce = sv_slice_cstr(nonce),
                                 .uri = SV_LIT("sip:ims.example"),
                                 .cnonce = SV_LIT("c0ffee"),
                                 .nc = SV_LIT("00000001"),
                                 .qop = SV_LIT("auth")};
    assert_int_equal(auth_digest_response(AUTH_DIGEST_MD5, sv_slice_cstr(ha1), &r,
                                          SV_LIT("REGISTER"), resp),
                     0);
    snprintf(line, sizeof(line),
             "Digest username=\"dave@ims.example\", realm=\"ims.example\", nonce=\"%s\", "
             "uri=\"sip:ims.example\", response=\"%s\", algorithm=AKAv1-MD5, "
             "cnonce=\"c0ffee\", nc=00000001, qop=auth",
             nonce, resp);
    return line;
}

static void aka_register_and_resync(void **state)
{
    struct auth_milenage m;
    const char *h;
    char nonce[128], line[1024], auts[AUTH_AKA_AUTS_B64_LEN + 1];
    uint64_t sqn, sqn2;
    uint8_t rand_[AUTH_RAND_LEN], autn[AUTH_AUTN_LEN];

    (void)state;
    assert_int_equal(auth_milenage_init(&m, K, OP), 0);
    assert_int_equal(reg("sip:dave@ims.example", "", true, &h), 401);
    assert_null(strstr(h, "algorithm=MD5"));
    aka_nonce(h, nonce, sizeof(nonce));
    snprintf(line, sizeof(line), "%s", aka_auth(&m, nonce, &sqn));
    assert_int_equal(reg("sip:dave@ims.example", line, true, &h), 200);
    assert_non_null(strstr(h, "P-Associated-URI: <sip:dave@ims.example>\r\n"));

    /* the UE's SQN is far ahead (another network used it): it answers with AUTS */
    assert_int_equal(reg("sip:dave@ims.example", "", true, &h), 401);
    aka_nonce(h, nonce, sizeof(nonce));
    assert_int_equal(auth_aka_nonce_decode(sv_slice_cstr(nonce), rand_, autn), 0);
    uint64_t ue_sqn = sqn + (UINT64_C(1000) << AUTH_SQN_IND_BITS);
    assert_int_equal(auth_aka_ue_auts(&m, rand_, ue_sqn, auts), 0);
    snprintf(line, sizeof(line),
             "Digest username=\"dave@ims.example\", realm=\"ims.example\", nonce=\"%s\", "
             "uri=\"sip:ims.example\", response=\"\", algorithm=AKAv1-MD5, auts=\"%s\"",
             nonce, auts);
    /* a new challenge whose SQN follows the UE's */
    assert_int_equal(reg("sip:dave@ims.example", line, true, &h), 401);
    aka_nonce(h, nonce, sizeof(nonce));
    snprintf(line, sizeof(line), "%s", aka_auth(&m, nonce, &sqn2));
    assert_true(sqn2 > ue_sqn);
    assert_int_equal(reg("sip:dave@ims.example", line, true, &h), 200);

    /* the store keeps the SQN: a restart of the S-CSCF goes on from there */
    struct store_cred c;
    int64_t sub;
    assert_int_equal(st->api->cred_get(st, "dave@ims.example", &c, &sub), 0);
    assert_true(c.sqn > sqn2);
}

static void forged_auts_is_a_failure(void **state)
{
    const char *h;
    char nonce[128], line[1024];

    (void)state;
    assert_int_equal(reg("sip:dave@ims.example", "", true, &h), 401);
    aka_nonce(h, nonce, sizeof(nonce));
    snprintf(line, sizeof(line),
             "Digest username=\"dave@ims.example\", realm=\"ims.example\", nonce=\"%s\", "
             "uri=\"sip:ims.example\", response=\"\", algorithm=AKAv1-MD5, "
             "auts=\"AAAAAAAAAAAAAAAAAAA=\"",
             nonce);
    assert_int_equal(reg("sip:dave@ims.example", line, true, &h), 401); /* counted, not synced */
}

static void bindings_survive_a_restart(void **state)
{
    const char *h;
    char nonce[128];

    (void)state;
    reg("sip:alice@ims.example", "", true, &h);
    challenge_of(h, "MD5", nonce, sizeof(nonce));
    assert_int_equal(reg("sip:alice@ims.example",
                         digest_auth("alice@ims.example", "alice-pw", nonce, AUTH_DIGEST_MD5,
                                     "00000001"),
                         true, &h),
                     200);
    ims_state_free(ims);
    struct ims_conf c = {.node = "scscf",
                         .role = IMS_ROLE_SCSCF,
                         .domain = "ims.example",
                         .uri = "sip:127.0.0.1:6060",
                         .store = st};
    assert_int_equal(ims_state_alloc(&ims, &c), 0);
    pthread_mutex_lock(&ims->mu);
    struct loc_irs *irs = ims__irs_by_impu(ims, "tel:+15551000001");
    assert_non_null(irs);
    assert_int_equal(irs->nb, 1);
    assert_string_equal(irs->b->contact, "sip:ue@127.0.0.1:40000");
    assert_true(irs->b->expires_at > ims__now_s() + 590);
    pthread_mutex_unlock(&ims->mu);
}

/* The I-CSCF's remembered S-CSCF assignments expire with the sweep, which walks that table
 * only while it holds something (nmemo); one not yet due stays. */
static void expired_scscf_memos_are_swept(void **state)
{
    int64_t now = ims__now_s();

    (void)state;
    pthread_mutex_lock(&ims->mu);
    for (int i = 0; i < 2; i++) {
        struct scscf_memo *m = calloc(1, sizeof(*m) + 1);
        assert_non_null(m);
        m->scscf = ims__strdup("sip:127.0.0.1:6060");
        assert_non_null(m->scscf);
        m->until = i == 0 ? now - 1 : now + SCSCF_CACHE_S;
        m->next = ims->memo[7 + i];
        ims->memo[7 + i] = m;
        ims->nmemo++;
    }
    pthread_mutex_unlock(&ims->mu);
    ims_state_sweep(ims, 0);
    pthread_mutex_lock(&ims->mu);
    assert_int_equal(ims->nmemo, 1);
    assert_null(ims->memo[7]);
    assert_non_null(ims->memo[8]);
    pthread_mutex_unlock(&ims->mu);
    /* ims_state_free (teardown) frees the one left and brings the count to 0 */
}

/* Bindings expire: the sweep removes them from the table and the store, and the set goes. */
static void expired_bindings_are_swept(void **state)
{
    const char *h;
    char nonce[128];

    (void)state;
    reg("sip:alice@ims.example", "", true, &h);
    challenge_of(h, "MD5", nonce, sizeof(nonce));
    assert_int_equal(reg("sip:alice@ims.example",
                         digest_auth("alice@ims.example", "alice-pw", nonce, AUTH_DIGEST_MD5,
                                     "00000001"),
                         true, &h),
                     200);
    pthread_mutex_lock(&ims->mu);
    struct loc_irs *irs = ims__irs_by_impu(ims, "sip:alice@ims.example");
    assert_non_null(irs);
    irs->b->expires_at = ims__now_s() - 1; /* as if 600 s had passed */
    pthread_mutex_unlock(&ims->mu);
    ims_state_sweep(ims, 0);
    pthread_mutex_lock(&ims->mu);
    assert_null(ims__irs_by_impu(ims, "sip:alice@ims.example"));
    assert_int_equal(ims->nbindings, 0);
    pthread_mutex_unlock(&ims->mu);
    /* and the store forgot it too: a restart reloads nothing */
    ims_state_free(ims);
    struct ims_conf c = {.node = "scscf",
                         .role = IMS_ROLE_SCSCF,
                         .domain = "ims.example",
                         .uri = "sip:127.0.0.1:6060",
                         .store = st};
    assert_int_equal(ims_state_alloc(&ims, &c), 0);
    assert_int_equal(ims->nbindings, 0);
}

static void impu_canon_forms(void **state)
{
    struct sip_uri u;
    char out[STORE_URI_MAX];

    (void)state;
    assert_int_equal(sip_uri_decode(&u, SV_LIT("sip:Alice@IMS.Example:5060;user=phone")), 0);
    assert_int_equal(ims_impu_canon(&u, out, sizeof(out)), 0);
    assert_string_equal(out, "sip:Alice@ims.example");
    assert_int_equal(sip_uri_decode(&u, SV_LIT("tel:+1-555-100-0001;phone-context=x")), 0);
    assert_int_equal(ims_impu_canon(&u, out, sizeof(out)), 0);
    assert_string_equal(out, "tel:+15551000001");
    assert_int_equal(sip_uri_decode(&u, SV_LIT("sip:IMS.example")), 0); /* no user part */
    assert_int_equal(ims_impu_canon(&u, out, sizeof(out)), 0);
    assert_string_equal(out, "sip:ims.example");
    /* too long for the buffer: an error, and never a write past it */
    char small[32];
    assert_int_equal(sip_uri_decode(&u, SV_LIT("sip:alice@ims.example")), 0);
    assert_int_equal(ims_impu_canon(&u, small, 16), ENAMETOOLONG);
    assert_int_equal(ims_impu_canon(&u, small, 22), 0); /* exactly its length and the NUL */
    assert_int_equal(ims_impu_canon(&u, small, 21), ENAMETOOLONG);
    assert_int_equal(sip_uri_decode(&u, SV_LIT("tel:+1-555-100-0001")), 0);
    assert_int_equal(ims_impu_canon(&u, small, sizeof(small)), 0);
    assert_string_equal(small, "tel:+15551000001");
    assert_int_equal(ims_impu_canon(&u, small, 17), 0);
    assert_int_equal(ims_impu_canon(&u, small, 16), ENAMETOOLONG);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(digest_md5_and_sha256_register, setup, teardown),
        cmocka_unit_test_setup_teardown(replayed_answer_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(downgrade_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_password_and_unknown_user_alike, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_authorization_gets_400, setup, teardown),
        cmocka_unit_test_setup_teardown(pseudonym_needs_a_protected_link, setup, teardown),
        cmocka_unit_test_setup_teardown(aka_register_and_resync, setup, teardown),
        cmocka_unit_test_setup_teardown(forged_auts_is_a_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(bindings_survive_a_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(expired_bindings_are_swept, setup, teardown),
        cmocka_unit_test_setup_teardown(expired_scscf_memos_are_swept, setup, teardown),
        cmocka_unit_test_setup_teardown(impu_canon_forms, setup, teardown),
    };

    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
