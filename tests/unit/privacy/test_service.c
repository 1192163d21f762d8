/**
 * @file test_service.c  The node's privacy service (src/privacy/service.c): the trust table
 * (R55: unknown peers are untrusted; faces; first match decides) and the hooks run on real
 * messages: a P-CSCF terminating request loses PAI toward its UE (R19), an unperformable
 * `critical` value refuses with the engine's code (R63), and a refused response is dropped;
 * the UE's own responses carry the identity the P-CSCF asserts for it (R78).
 */
#include "svtest_privacy.h"
#include <errno.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <sipveil/privacy_service.h>

static struct net_addr A(const char *s)
{
    struct net_addr a;

    assert_int_equal(net_addr_parse(&a, s), 0);
    return a;
}

static void cidr_parse_accepts_hosts_and_networks(void **state)
{
    struct privsvc_peer p;

    (void)state;
    assert_int_equal(privsvc_cidr_parse("127.0.0.1", &p), 0);
    assert_int_equal(p.prefix, 32);
    assert_int_equal(privsvc_cidr_parse("10.0.0.0/8", &p), 0);
    assert_int_equal(p.prefix, 8);
    assert_int_equal(privsvc_cidr_parse("::1", &p), 0);
    assert_int_equal(p.prefix, 128);
    assert_int_equal(privsvc_cidr_parse("[2001:db8::]/32", &p), 0);
    assert_int_equal(p.prefix, 32);
    assert_int_equal(privsvc_cidr_parse("10.0.0.0/33", &p), EINVAL);
    assert_int_equal(privsvc_cidr_parse("10.0.0.0/", &p), EINVAL);
    assert_int_equal(privsvc_cidr_parse("scscf.home1.net", &p), EINVAL);
    assert_int_equal(privsvc_cidr_parse("", &p), EINVAL);
}

/* R55: the first matching entry decides; nothing matched: untrusted; a ue face: untrusted. */
static void trust_table_first_match_faces_and_default(void **state)
{
    struct privsvc_peer peers[3];
    bool faces[2] = {false, true}; /* listener 1 faces UEs */
    struct privsvc_conf c = {.node = "t", .role = PRIVACY_ROLE_PCSCF, .peers = peers,
                             .npeers = 3, .untrusted_face = faces, .nfaces = 2};
    struct privsvc *s;
    struct net_addr scscf = A("10.1.2.3:5060"), rogue = A("10.9.9.9:5060"),
                    other = A("192.0.2.1:5060"), wrong_port = A("10.1.2.3:5070");

    (void)state;
    memset(peers, 0, sizeof(peers));
    assert_int_equal(privsvc_cidr_parse("10.9.9.9", &peers[0]), 0); /* an exception first */
    peers[0].trusted = false;
    peers[0].transport = -1;
    assert_int_equal(privsvc_cidr_parse("10.1.2.3", &peers[1]), 0);
    peers[1].port = 5060;
    peers[1].transport = NET_UDP;
    peers[1].trusted = true;
    assert_int_equal(privsvc_cidr_parse("10.0.0.0/8", &peers[2]), 0);
    peers[2].transport = NET_TLS; /* the rest of 10/8 only over TLS */
    peers[2].trusted = true;
    assert_int_equal(privsvc_alloc(&s, &c), 0);
    assert_true(privsvc_trusts(s, NET_UDP, &scscf, 0, NULL));
    assert_false(privsvc_trusts(s, NET_TCP, &scscf, 0, NULL)); /* transport differs: 10/8 */
    assert_false(privsvc_trusts(s, NET_UDP, &wrong_port, 0, NULL));
    assert_false(privsvc_trusts(s, NET_TLS, &rogue, 0, NULL)); /* the exception wins */
    assert_true(privsvc_trusts(s, NET_TLS, &wrong_port, 0, NULL));
    assert_false(privsvc_trusts(s, NET_UDP, &other, 0, NULL)); /* unknown: untrusted */
    assert_false(privsvc_trusts(s, NET_UDP, &scscf, 1, NULL)); /* arrived on the ue face */
    privsvc_free(s);
}

#define INVITE_ID                                                                                  \
    "INVITE sip:bob@10.0.0.9 SIP/2.0\r\n"                                                          \
    "Via: SIP/2.0/UDP 10.1.2.3;branch=z9hG4bK1\r\n"                                                \
    "Max-Forwards: 70\r\n"                                                                         \
    "From: \"Alice\" <sip:alice@home1.net>;tag=a1\r\n"                                             \
    "To: <sip:bob@home2.net>\r\n"                                                                  \
    "Call-ID: svc-1\r\n"                                                                           \
    "CSeq: 1 INVITE\r\n"                                                                           \
    "P-Asserted-Identity: <sip:alice@home1.net>\r\n"                                               \
    "Privacy: %s\r\n"                                                                              \
    "Content-Length: 0\r\n\r\n"

static int run_request(struct privsvc *s, const char *privacy, const char *from, char *out,
                       size_t outsz, uint16_t *code, const char **reason, uint32_t *cookie)
{
    static char text[1024];
    struct proxy_hooks h;
    struct proxy_hop hop;
    struct sip_edits ed;
    const struct sip_msg *m;
    size_t n = 0;
    int refused;

    snprintf(text, sizeof(text), INVITE_ID, privacy);
    m = sv_test_parse(text);
    privsvc_hooks(s, &h);
    memset(&hop, 0, sizeof(hop));
    hop.in_tp = NET_UDP;
    hop.in_addr = A(from);
    hop.in_listener = 0;
    hop.out_tp = NET_UDP;
    hop.out_addr = A("10.0.0.9:5060"); /* the UE: not in the table */
    sip_edits_init(&ed, m, NULL);
    refused = h.request(h.arg, m, &hop, &ed, code, reason);
    if (!refused)
        assert_int_equal(sip_msg_print(m, &ed, out, outsz, &n), 0);
    out[n] = '\0';
    *cookie = hop.cookie;
    return refused;
}

/* The last-hop P-CSCF: a request from the trusted S-CSCF toward its UE loses PAI for `id`
 * (R19, R33), and `header;critical` is refused with 500 Privacy Unavailable (R63, R65). */
static void hooks_perform_and_refuse(void **state)
{
    struct privsvc_peer peer;
    struct privsvc_conf c = {.node = "pcscf", .role = PRIVACY_ROLE_PCSCF, .peers = &peer,
                             .npeers = 1, .knobs = privacy_knobs_default};
    struct privsvc *s;
    char out[2048];
    uint16_t code = 0;
    const char *reason = NULL;
    uint32_t cookie = 0;

    (void)state;
    memset(&peer, 0, sizeof(peer));
    assert_int_equal(privsvc_cidr_parse("10.1.2.3", &peer), 0);
    peer.transport = -1;
    peer.trusted = true;
    assert_int_equal(privsvc_alloc(&s, &c), 0);
    assert_int_equal(run_request(s, "id", "10.1.2.3:5060", out, sizeof(out), &code, &reason,
                                 &cookie),
                     0);
    assert_null(strstr(out, "P-Asserted-Identity"));
    assert_null(strstr(out, "Privacy:"));
    assert_non_null(strstr(out, "From: \"Alice\" <sip:alice@home1.net>;tag=a1\r\n"));
    assert_true(cookie != 0);
    assert_int_equal(privsvc_stats_get(s)->performed_id, 1);

    assert_int_equal(run_request(s, "header;critical", "10.1.2.3:5060", out, sizeof(out), &code,
                                 &reason, &cookie),
                     1);
    assert_int_equal(code, 500);
    assert_string_equal(reason, "Privacy Unavailable: header");

    /* the same `id` from an untrusted peer: the PAI it brought is removed too (R43, R57) */
    assert_int_equal(run_request(s, "none", "192.0.2.7:5060", out, sizeof(out), &code, &reason,
                                 &cookie),
                     0);
    assert_null(strstr(out, "P-Asserted-Identity"));
    privsvc_free(s);
}

#define RESP_200                                                                                   \
    "SIP/2.0 200 OK\r\n"                                                                           \
    "Via: SIP/2.0/UDP 10.1.2.3;branch=z9hG4bK1\r\n"                                                \
    "From: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=a1\r\n"                             \
    "To: <sip:bob@home2.net>;tag=b1\r\n"                                                           \
    "Call-ID: svc-2\r\n"                                                                           \
    "CSeq: 1 INVITE\r\n"                                                                           \
    "P-Asserted-Identity: <sip:mallory@home2.net>\r\n"                                             \
    "Content-Length: 0\r\n\r\n"

/* R78 (R27 for responses): the terminating P-CSCF asserts its UE's identity on the UE's own
 * answers, replacing what the UE put there, as it does for the UE's requests; the service
 * must hand the engine the subscriber for a response too. */
static void response_from_ue_gets_asserted_pai(void **state)
{
    struct privsvc_peer peer;
    struct sv_slice impus[1] = {SV_LIT("sip:bob@home2.net")};
    struct privsvc_subscriber sub;
    struct privsvc_conf c = {.node = "pcscf", .role = PRIVACY_ROLE_PCSCF, .peers = &peer,
                             .npeers = 1, .knobs = privacy_knobs_default, .subs = &sub,
                             .nsubs = 1};
    struct privsvc *s;
    struct proxy_hooks h;
    struct proxy_hop hop;
    struct sip_edits ed;
    const struct sip_msg *m;
    char out[2048];
    size_t n = 0;
    uint16_t code = 0;
    const char *reason = NULL;
    uint32_t cookie = 0;

    (void)state;
    memset(&peer, 0, sizeof(peer));
    assert_int_equal(privsvc_cidr_parse("10.1.2.3", &peer), 0);
    peer.transport = -1;
    peer.trusted = true;
    memset(&sub, 0, sizeof(sub));
    sub.flow = A("10.0.0.9:5060");
    sub.sub.impus = impus;
    sub.sub.nimpus = 1;
    sub.sub.default_impu = impus[0];
    assert_int_equal(privsvc_alloc(&s, &c), 0);
    /* the INVITE from the S-CSCF toward the UE leaves the branch's cookie */
    assert_int_equal(run_request(s, "user;id", "10.1.2.3:5060", out, sizeof(out), &code,
                                 &reason, &cookie),
                     0);
    m = sv_test_parse(RESP_200);
    privsvc_hooks(s, &h);
    memset(&hop, 0, sizeof(hop));
    hop.in_listener = -1;
    hop.in_tp = NET_UDP;
    hop.in_addr = A("10.0.0.9:5060"); /* the UE answers */
    hop.out_tp = NET_UDP;
    hop.out_addr = A("10.1.2.3:5060");
    hop.cookie = cookie;
    sip_edits_init(&ed, m, NULL);
    assert_int_equal(h.response(h.arg, m, &hop, &ed), 0);
    assert_int_equal(sip_msg_print(m, &ed, out, sizeof(out) - 1, &n), 0);
    out[n] = '\0';
    assert_non_null(strstr(out, "P-Asserted-Identity: <sip:bob@home2.net>\r\n"));
    assert_null(strstr(out, "mallory"));
    privsvc_free(s);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(cidr_parse_accepts_hosts_and_networks),
    cmocka_unit_test(trust_table_first_match_faces_and_default),
    cmocka_unit_test_setup_teardown(hooks_perform_and_refuse, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test_setup_teardown(response_from_ue_gets_asserted_pai, sv_test_arena_setup,
                                    sv_test_arena_teardown),
};

SV_TEST_MAIN(tests)
