/**
 * @file test_proxy_fork.c  Parallel forking in the stateful proxy core (RFC 3261 §16.6, §16.7,
 * §16.10): proxy_fork with two or three targets, over a fake transport.
 *
 * The proxy normally forks to the one target it selected; a location service will pass
 * several. To reach proxy_fork with a server transaction nobody answered yet, the cases put a
 * request callback of their own in the proxy's transaction layer (txn_int.h) that only keeps
 * the transaction, then fork it themselves. The proxy is 10.0.0.1:5060 (UDP), the UAC
 * 192.0.2.1:5070, the targets 192.0.2.9, .10 and .11, port 5080.
 */
#include "txn_test.h"
#include "txn_int.h"

static struct proxy *P;
static struct proxy_conf conf;
static struct proxy_listener lsn[1];
static struct net_flow up; /* the UAC's flow */
static struct txn *st;     /* the server transaction the case forks */
static struct proxy_target tg[3];
static const char *const tg_s[3] = {"192.0.2.9:5080", "192.0.2.10:5080", "192.0.2.11:5080"};

#define UAC "192.0.2.1:5070"

static void keep_request(struct txn *t, const struct sip_msg *req, const struct net_flow *flow,
                         void *arg)
{
    (void)req;
    (void)flow;
    (void)arg;
    st = t;
}

static int fork_setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof(F));
    memset(&conf, 0, sizeof(conf));
    memset(lsn, 0, sizeof(lsn));
    lsn[0].tp = NET_UDP;
    lsn[0].addr = addr("10.0.0.1:5060");
    conf.name = "t";
    conf.listeners = lsn;
    conf.nlisteners = 1;
    conf.record_route = true;
    if (sv_wheel_alloc(&F.w, 0))
        return -1;
    if (proxy_alloc(&P, F.w, &test_timers, fake_send, NULL, &conf))
        return -1;
    F.l = proxy_txn_layer(P);
    F.l->tu.request = keep_request;
    for (unsigned i = 0; i < 3; i++)
        tg[i] = (struct proxy_target){.tp = NET_UDP, .dst = addr(tg_s[i])};
    up = flow_of(NET_UDP, UAC);
    st = NULL;
    return 0;
}

static int fork_teardown(void **state)
{
    (void)state;
    proxy_free(P);
    P = NULL;
    F.l = NULL;
    sv_wheel_free(F.w);
    sent_clear();
    free(F.sent);
    free(F.ev);
    for (unsigned i = 0; i < F.nkept; i++)
        free(F.kept[i]);
    memset(&F, 0, sizeof(F));
    return 0;
}

/* A request from the UAC, forked to the first @p n targets. */
static void fork_to(const char *method, unsigned n)
{
    recv_on(fmt("%s sip:bob@example.com SIP/2.0\r\n"
                "Via: SIP/2.0/UDP " UAC ";branch=z9hG4bKfork1\r\n"
                "Max-Forwards: 70\r\n"
                "From: <sip:alice@example.com>;tag=ft1\r\n"
                "To: <sip:bob@example.com>\r\n"
                "Call-ID: fork1@example.com\r\n"
                "CSeq: 1 %s\r\n"
                "Contact: <sip:alice@" UAC ">\r\n"
                "Content-Length: 0\r\n\r\n",
                method, method),
            &up);
    assert_non_null(st);
    assert_int_equal(proxy_fork(P, st, tg, n), 0);
}

static bool to(const struct sent *s, const char *where)
{
    char buf[80];

    return strcmp(net_addr_str(&s->dst, buf, sizeof(buf)), where) == 0;
}

/* The first message starting with @p prefix sent to target @p i. */
static const struct sent *sent_to(const char *prefix, unsigned i)
{
    for (unsigned k = 0; k < F.nsent; k++)
        if (strncmp(F.sent[k].buf, prefix, strlen(prefix)) == 0 && to(&F.sent[k], tg_s[i]))
            return &F.sent[k];
    print_error("nothing \"%s\" sent to %s\n", prefix, tg_s[i]);
    fail();
    static struct sent none; /* not reached; keeps -Wnull-dereference quiet */
    return &none;
}

static bool has_text(const struct sent *s, const char *text)
{
    return strstr(s->buf, text) != NULL;
}

/* The last message sent to @p where. */
static const struct sent *last_to(const char *where)
{
    for (unsigned k = F.nsent; k-- > 0;)
        if (to(&F.sent[k], where))
            return &F.sent[k];
    fail();
    static struct sent none; /* not reached */
    return &none;
}

static unsigned count_to(const char *prefix, const char *where)
{
    unsigned n = 0;

    for (unsigned k = 0; k < F.nsent; k++)
        n += strncmp(F.sent[k].buf, prefix, strlen(prefix)) == 0 && to(&F.sent[k], where);
    return n;
}

/* Target @p i answers the request it got (starting with @p method) with @p code, To tag
 * "uas<i>", and @p extra header lines. */
static void answer(unsigned i, const char *method, uint16_t code, const char *extra)
{
    struct sv_arena a;
    const struct sip_msg *m = parse_sent(sent_to(method, i), &a);
    char buf[4096], tag[8];
    size_t n;

    snprintf(tag, sizeof(tag), "uas%u", i);
    assert_int_equal(sip_resp_build(m, code, "Whatever", sv_slice_cstr(tag),
                                    sv_slice_cstr(extra ? extra : ""), buf, sizeof(buf), &n),
                     0);
    sv_arena_close(&a);
    struct net_flow fl = flow_of(NET_UDP, tg_s[i]);
    recv_on(fmt("%.*s", (int)n, buf), &fl);
}

static unsigned occurrences(const char *hay, const char *needle)
{
    unsigned n = 0;

    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* §16.6: one client transaction per target, each with its own branch (the index after the
 * request hash) and the same request otherwise. */
static void fork_sends_one_branch_per_target(void **state)
{
    char br[3][64];

    (void)state;
    fork_to("INVITE", 3);
    assert_int_equal(sent_count("INVITE"), 3);
    for (unsigned i = 0; i < 3; i++) {
        const struct sent *s = sent_to("INVITE", i);
        const char *b = strstr(s->buf, "branch=z9hG4bKsv");
        assert_non_null(b);
        size_t l = strcspn(b, ";\r");
        assert_true(l < sizeof(br[i]));
        memcpy(br[i], b, l);
        br[i][l] = '\0';
        /* z9hG4bKsv<request hash>.<branch index>.<sequence> */
        const char *idx = strchr(br[i], '.');
        assert_non_null(idx);
        assert_int_equal(idx[1], (char)('0' + i));
        assert_int_equal(idx[2], '.');
        assert_true(has_text(s, "Record-Route: <sip:10.0.0.1:5060;transport=udp;lr>\r\n"));
    }
    assert_string_not_equal(br[0], br[1]);
    assert_string_not_equal(br[1], br[2]);
    assert_int_equal(proxy_stats_get(P)->forwarded, 3);
}

/* §16.7 step 5: provisional responses other than 100 go upstream from every branch as they
 * come (each branch its own early dialog); 100 stops at the proxy. */
static void fork_provisionals_forwarded_from_each_branch(void **state)
{
    (void)state;
    fork_to("INVITE", 3);
    answer(0, "INVITE", 180, NULL);
    answer(1, "INVITE", 183, NULL);
    answer(2, "INVITE", 100, NULL);
    assert_int_equal(count_to("SIP/2.0 180", UAC), 1);
    assert_int_equal(count_to("SIP/2.0 183", UAC), 1);
    assert_int_equal(count_to("SIP/2.0 100", UAC), 0);
    assert_true(has_text(last_to(UAC), ";tag=uas1"));
    assert_false(has_text(last_to(UAC), "10.0.0.1:5060;branch")); /* our Via gone */
}

/* §16.7 step 6: a 6xx beats everything (a 486 that came first included) and cancels the
 * branches still pending (§16.7 step 6, §16.10); the best goes up once all have a final. */
static void fork_6xx_wins_and_cancels_the_others(void **state)
{
    (void)state;
    fork_to("INVITE", 3);
    answer(1, "INVITE", 180, NULL);
    answer(0, "INVITE", 486, NULL);
    assert_int_equal(count_to("ACK", tg_s[0]), 1); /* hop by hop */
    answer(2, "INVITE", 603, NULL);
    assert_int_equal(count_to("CANCEL", tg_s[1]), 1);
    assert_int_equal(count_to("CANCEL", tg_s[0]), 0);  /* it has its final already */
    assert_int_equal(count_to("SIP/2.0 603", UAC), 0); /* branch 1 is still pending */
    answer(1, "CANCEL", 200, NULL);
    answer(1, "INVITE", 487, NULL);
    assert_int_equal(count_to("SIP/2.0 603", UAC), 1);
    assert_int_equal(count_to("SIP/2.0 486", UAC), 0);
    assert_int_equal(count_to("SIP/2.0 487", UAC), 0);
    assert_int_equal(proxy_stats_get(P)->cancels, 1);
}

/* §16.7 step 6 without a 6xx: the lowest class wins, the first one of that class; nothing
 * goes up before every branch has answered. */
static void fork_lowest_class_wins_first_of_its_class(void **state)
{
    (void)state;
    fork_to("MESSAGE", 3);
    answer(0, "MESSAGE", 503, NULL);
    answer(1, "MESSAGE", 404, NULL);
    assert_int_equal(count_to("SIP/2.0", UAC), 0);
    answer(2, "MESSAGE", 480, NULL);
    assert_int_equal(count_to("SIP/2.0", UAC), 1);
    assert_int_equal(count_to("SIP/2.0 404", UAC), 1);
    assert_true(has_text(last_to(UAC), ";tag=uas1"));
}

/* A 3xx beats 4xx and 5xx (§16.7 step 6). */
static void fork_3xx_beats_4xx_and_5xx(void **state)
{
    (void)state;
    fork_to("MESSAGE", 3);
    answer(0, "MESSAGE", 500, NULL);
    answer(1, "MESSAGE", 404, NULL);
    answer(2, "MESSAGE", 302, "Contact: <sip:bob@192.0.2.99>\r\n");
    assert_int_equal(count_to("SIP/2.0", UAC), 1);
    assert_int_equal(count_to("SIP/2.0 302", UAC), 1);
    assert_true(has_text(last_to(UAC), "Contact: <sip:bob@192.0.2.99>\r\n"));
}

/* Two 503s alone: the one chosen goes up as 500 (§16.7 step 6). */
static void fork_only_503s_give_500(void **state)
{
    (void)state;
    fork_to("MESSAGE", 2);
    answer(0, "MESSAGE", 503, NULL);
    answer(1, "MESSAGE", 503, NULL);
    assert_int_equal(count_to("SIP/2.0", UAC), 1);
    assert_int_equal(count_to("SIP/2.0 500", UAC), 1);
}

/* §16.7 steps 5 and 10: the first 2xx goes up at once and the other branches are cancelled:
 * at once where a provisional came, after the first provisional elsewhere (§9.1). Their 487s
 * stay here; a later 2xx from another branch goes up too (RFC 6026: every 2xx to INVITE). */
static void fork_first_2xx_forwarded_others_cancelled(void **state)
{
    (void)state;
    fork_to("INVITE", 3);
    answer(0, "INVITE", 180, NULL);
    answer(1, "INVITE", 200, NULL);
    assert_int_equal(count_to("SIP/2.0 200", UAC), 1);
    assert_true(has_text(last_to(UAC), ";tag=uas1"));
    assert_int_equal(count_to("CANCEL", tg_s[0]), 1);
    assert_int_equal(count_to("CANCEL", tg_s[1]), 0);
    assert_int_equal(count_to("CANCEL", tg_s[2]), 0); /* no provisional yet */
    answer(2, "INVITE", 180, NULL);
    assert_int_equal(count_to("CANCEL", tg_s[2]), 1);
    assert_int_equal(count_to("SIP/2.0 180", UAC), 1); /* branch 2's is too late */
    answer(0, "CANCEL", 200, NULL);
    answer(0, "INVITE", 487, NULL);
    assert_int_equal(count_to("ACK", tg_s[0]), 1);
    assert_int_equal(count_to("SIP/2.0 487", UAC), 0);
    answer(2, "INVITE", 200, NULL); /* raced the CANCEL */
    assert_int_equal(count_to("SIP/2.0 200", UAC), 2);
    assert_true(has_text(last_to(UAC), ";tag=uas2"));
    assert_int_equal(proxy_stats_get(P)->cancels, 2);
}

/* §16.7 step 7: when the best is a 401 or 407, the WWW-Authenticate and Proxy-Authenticate
 * lines of every other 401 and 407 are added to it, unmodified. */
static void fork_401_407_challenges_merged(void **state)
{
    (void)state;
    fork_to("MESSAGE", 3);
    answer(0, "MESSAGE", 401, "WWW-Authenticate: Digest realm=\"a.example\", nonce=\"n0\"\r\n");
    answer(1, "MESSAGE", 407,
           "Proxy-Authenticate: Digest realm=\"b.example\", nonce=\"n1\"\r\n"
           "Proxy-Authenticate: Digest realm=\"b.example\", nonce=\"n1b\", algorithm=SHA-256\r\n");
    answer(2, "MESSAGE", 401, "WWW-Authenticate: Digest realm=\"c.example\", nonce=\"n2\"\r\n");
    assert_int_equal(count_to("SIP/2.0", UAC), 1);
    const struct sent *s = last_to(UAC);
    assert_true(has_text(s, "SIP/2.0 401 Whatever\r\n"));
    assert_true(has_text(s, ";tag=uas0"));
    assert_int_equal(occurrences(s->buf, "WWW-Authenticate: Digest realm=\"a.example\""), 1);
    assert_int_equal(occurrences(s->buf, "WWW-Authenticate: Digest realm=\"c.example\""), 1);
    assert_int_equal(occurrences(s->buf, "Proxy-Authenticate: Digest realm=\"b.example\""), 2);
    assert_true(has_text(s, "algorithm=SHA-256\r\n"));
    /* still one message with its headers ended once, and it parses */
    struct sv_arena a;
    const struct sip_msg *m = parse_sent(s, &a);
    assert_int_equal(m->count[SIP_HDR_WWW_AUTHENTICATE], 2);
    assert_int_equal(m->count[SIP_HDR_PROXY_AUTHENTICATE], 2);
    sv_arena_close(&a);
}

/* A challenge that is not chosen adds nothing. */
static void fork_challenges_not_added_to_a_3xx(void **state)
{
    (void)state;
    fork_to("MESSAGE", 2);
    answer(0, "MESSAGE", 401, "WWW-Authenticate: Digest realm=\"a.example\", nonce=\"n0\"\r\n");
    answer(1, "MESSAGE", 302, "Contact: <sip:bob@192.0.2.99>\r\n");
    assert_int_equal(count_to("SIP/2.0 302", UAC), 1);
    assert_false(has_text(last_to(UAC), "Authenticate"));
}

/* A branch that times out counts as 408 and loses to a 486 (§16.7 step 6; first of class). */
static void fork_timeout_counts_as_408(void **state)
{
    (void)state;
    fork_to("MESSAGE", 2);
    answer(1, "MESSAGE", 486, NULL);
    advance(64 * T1);
    assert_int_equal(count_to("SIP/2.0", UAC), 1);
    assert_int_equal(count_to("SIP/2.0 486", UAC), 1);
}

/* ---- requests the node originates (proxy_originate: a presence server's NOTIFY) ---- */

static uint16_t origin_code;
static unsigned origin_calls;

static void origin_done(void *arg, uint16_t code, const struct sip_msg *resp)
{
    (void)arg;
    origin_calls++;
    origin_code = code;
    assert_true((code >= 200 && resp) || code == 408 || code == 503 || (code == 0 && !resp));
}

static const char *notify_text(void)
{
    return fmt("NOTIFY sip:w@192.0.2.9:5080 SIP/2.0\r\n"
               "Via: SIP/2.0/UDP %s;branch=z9hG4bKsvnotify1;rport\r\n"
               "Max-Forwards: 70\r\nFrom: <sip:p@ims.example>;tag=ps1\r\n"
               "To: <sip:w@ims.example>;tag=w1\r\nCall-ID: sub1@ims.example\r\n"
               "CSeq: 2 NOTIFY\r\nEvent: presence\r\nSubscription-State: active;expires=600\r\n"
               "Content-Length: 0\r\n\r\n",
               proxy_via_hostport(P, NET_UDP, &tg[0].dst));
}

/* The final answer of an originated request reaches its caller once; provisionals do not. */
static void originate_gets_its_final_answer(void **state)
{
    (void)state;
    origin_calls = 0;
    const char *n = notify_text();
    assert_int_equal(proxy_originate(P, n, strlen(n), NET_UDP, &tg[0].dst, origin_done, NULL),
                     0);
    assert_int_equal(count_to("NOTIFY", tg_s[0]), 1);
    answer(0, "NOTIFY", 200, NULL);
    assert_int_equal(origin_calls, 1);
    assert_int_equal(origin_code, 200);
    answer(0, "NOTIFY", 200, NULL); /* a retransmitted 200: absorbed */
    advance(64 * T1);
    assert_int_equal(origin_calls, 1);
    assert_int_equal(count_to("SIP/2.0", UAC), 0); /* nothing went upstream */
}

/* No answer: timer F gives 408 (the subscription is then ended by its owner); a 481 goes
 * through as it is. */
static void originate_times_out_as_408_and_passes_481(void **state)
{
    (void)state;
    origin_calls = 0;
    const char *n = notify_text();
    assert_int_equal(proxy_originate(P, n, strlen(n), NET_UDP, &tg[0].dst, origin_done, NULL),
                     0);
    advance(64 * T1 + 10);
    assert_int_equal(origin_calls, 1);
    assert_int_equal(origin_code, 408);
    assert_true(count_to("NOTIFY", tg_s[0]) > 3); /* timer E retransmitted it */
    n = fmt("%s", notify_text());
    char *b = strstr((char *)n, "notify1");
    memcpy(b, "notify2", 7);
    assert_int_equal(proxy_originate(P, n, strlen(n), NET_UDP, &tg[1].dst, origin_done, NULL),
                     0);
    answer(1, "NOTIFY", 481, NULL);
    assert_int_equal(origin_calls, 2);
    assert_int_equal(origin_code, 481);
}

/* A proxy freed while an originated request is still unanswered hands its caller code 0,
 * once, so that the caller can free what it passed as arg (the presence server's NOTIFY
 * context leaked at every stop with NOTIFYs in flight, found by LeakSanitizer). An answered
 * one is not reported again. */
static void originate_unanswered_at_free_gets_code_0(void **state)
{
    (void)state;
    origin_calls = 0;
    const char *n = notify_text();
    assert_int_equal(proxy_originate(P, n, strlen(n), NET_UDP, &tg[0].dst, origin_done, NULL),
                     0);
    n = fmt("%s", notify_text());
    memcpy(strstr((char *)n, "notify1"), "notify2", 7);
    assert_int_equal(proxy_originate(P, n, strlen(n), NET_UDP, &tg[1].dst, origin_done, NULL),
                     0);
    answer(1, "NOTIFY", 200, NULL);
    assert_int_equal(origin_calls, 1);
    fork_teardown(NULL);
    assert_int_equal(origin_calls, 2);
    assert_int_equal(origin_code, 0);
    fork_setup(NULL); /* for the teardown cmocka runs */
}

/* Parse @p buf with a stack arena (no allocation through sv_malloc, which the sweep makes
 * fail) and hand it to the proxy. */
static void recv_quiet(const char *buf, size_t n, const struct net_flow *fl)
{
    _Alignas(16) char blk[16384];
    struct sv_arena a;
    struct sip_msg *m = NULL;

    sv_arena_init(&a, blk, sizeof(blk));
    if (sip_msg_parse(&m, &a, buf, n, SIP_DGRAM, NULL, NULL) == 0)
        proxy_recv(P, m, fl);
    sv_arena_close(&a);
}

/* Target @p i answers, if it got a request (under OOM it may not have). */
static void answer_if_sent(unsigned i, const char *method, uint16_t code, const char *extra)
{
    _Alignas(16) char blk[16384];
    char buf[4096];
    struct sv_arena a;
    struct sip_msg *m = NULL;
    size_t n = 0;
    int err = ENOENT;

    for (unsigned k = 0; k < F.nsent && err == ENOENT; k++) {
        if (strncmp(F.sent[k].buf, method, strlen(method)) != 0 || !to(&F.sent[k], tg_s[i]))
            continue;
        sv_arena_init(&a, blk, sizeof(blk));
        err = sip_msg_parse(&m, &a, F.sent[k].buf, F.sent[k].len, SIP_DGRAM, NULL, NULL);
        if (!err)
            err = sip_resp_build(m, code, "X", SV_LIT("uas"), sv_slice_cstr(extra ? extra : ""),
                                 buf, sizeof(buf), &n);
        sv_arena_close(&a);
    }
    if (!err) {
        struct net_flow fl = flow_of(NET_UDP, tg_s[i]);
        recv_quiet(buf, n, &fl);
    }
}

/* Every allocation of a forked call failing in turn (the request copies, the client
 * transactions' parse for the CANCEL, the challenges, the best response): no crash, and
 * LSan finds nothing left once the proxy is freed. */
static void fork_oom_sweep(void **state)
{
    (void)state;
    for (long n = 0; n < 400; n++) {
        fork_teardown(NULL);
        assert_int_equal(fork_setup(NULL), 0);
        recv_on(fmt("INVITE sip:bob@example.com SIP/2.0\r\n"
                    "Via: SIP/2.0/UDP " UAC ";branch=z9hG4bKoom%ld\r\n"
                    "From: <sip:alice@example.com>;tag=ft1\r\n"
                    "To: <sip:bob@example.com>\r\n"
                    "Call-ID: oom@example.com\r\n"
                    "CSeq: 1 INVITE\r\n"
                    "Content-Length: 0\r\n\r\n",
                    n),
                &up);
        assert_non_null(st);
        sv_mem_fail_after(n);
        proxy_fork(P, st, tg, 3);
        answer_if_sent(0, "INVITE", 180, NULL);
        answer_if_sent(1, "INVITE", 401, "WWW-Authenticate: Digest realm=\"a\", nonce=\"1\"\r\n");
        answer_if_sent(2, "INVITE", 407, "Proxy-Authenticate: Digest realm=\"b\", nonce=\"2\"\r\n");
        answer_if_sent(0, "INVITE", 603, NULL);
        sv_mem_fail_after(-1);
        advance(64 * T1 + 1);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(fork_sends_one_branch_per_target, fork_setup, fork_teardown),
    cmocka_unit_test_setup_teardown(fork_provisionals_forwarded_from_each_branch, fork_setup,
                                    fork_teardown),
    cmocka_unit_test_setup_teardown(fork_6xx_wins_and_cancels_the_others, fork_setup,
                                    fork_teardown),
    cmocka_unit_test_setup_teardown(fork_lowest_class_wins_first_of_its_class, fork_setup,
                                    fork_teardown),
    cmocka_unit_test_setup_teardown(fork_3xx_beats_4xx_and_5xx, fork_setup, fork_teardown),
    cmocka_unit_test_setup_teardown(fork_only_503s_give_500, fork_setup, fork_teardown),
    cmocka_unit_test_setup_teardown(fork_first_2xx_forwarded_others_cancelled, fork_setup,
                                    fork_teardown),
    cmocka_unit_test_setup_teardown(fork_401_407_challenges_merged, fork_setup, fork_teardown),
    cmocka_unit_test_setup_teardown(fork_challenges_not_added_to_a_3xx, fork_setup, fork_teardown),
    cmocka_unit_test_setup_teardown(fork_timeout_counts_as_408, fork_setup, fork_teardown),
    cmocka_unit_test_setup_teardown(fork_oom_sweep, fork_setup, fork_teardown),
    cmocka_unit_test_setup_teardown(originate_gets_its_final_answer, fork_setup, fork_teardown),
    cmocka_unit_test_setup_teardown(originate_times_out_as_408_and_passes_481, fork_setup,
                                    fork_teardown),
    cmocka_unit_test_setup_teardown(originate_unanswered_at_free_gets_code_0, fork_setup,
                                    fork_teardown),
};

SV_TEST_MAIN(tests)
