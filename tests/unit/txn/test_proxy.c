/**
 * @file test_proxy.c  The stateful proxy core (RFC 3261 §16) over a fake transport: what it
 * sends downstream and upstream for each request and response, with the wheel's time moved by
 * hand. The proxy is node 10.0.0.1:5060 (UDP, listener 0; TCP listener 1 on the same address);
 * the UAC is 192.0.2.1:5070, the UAS 192.0.2.9:5080.
 */
#include "txn_test.h"

static struct proxy *P;
static struct proxy_route routes[4];
static struct proxy_conf conf;
static struct proxy_listener lsn[3];
static struct net_flow up; /* the UAC's flow */

#define UAS "192.0.2.9:5080"
#define RURI_UAS "sip:bob@" UAS

static int proxy_setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof(F));
    memset(&conf, 0, sizeof(conf));
    memset(routes, 0, sizeof(routes));
    memset(lsn, 0, sizeof(lsn));
    lsn[0].tp = NET_UDP;
    lsn[0].addr = addr("10.0.0.1:5060");
    lsn[0].index = 0;
    lsn[1].tp = NET_TCP;
    lsn[1].addr = addr("10.0.0.1:5060");
    lsn[1].index = 1;
    conf.name = "t";
    conf.domain = "ims.example";
    conf.listeners = lsn;
    conf.nlisteners = 2;
    conf.routes = routes;
    conf.record_route = true;
    if (sv_wheel_alloc(&F.w, 0))
        return -1;
    up = flow_of(NET_UDP, "192.0.2.1:5070");
    return 0;
}

/* Start the proxy once the case has adjusted conf. */
static void start(void)
{
    assert_int_equal(proxy_alloc(&P, F.w, &test_timers, fake_send, NULL, &conf), 0);
    F.l = proxy_txn_layer(P);
}

static int proxy_teardown(void **state)
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

/* A request from the UAC. @p extra: more header lines, each ending in CRLF. */
static const char *req(const char *method, const char *ruri, const char *branch,
                       const char *extra)
{
    return fmt("%s %s SIP/2.0\r\n"
               "Via: SIP/2.0/UDP 192.0.2.1:5070;branch=%s;rport\r\n"
               "Max-Forwards: 70\r\n"
               "From: <sip:alice@example.com>;tag=ft1\r\n"
               "To: <sip:bob@example.com>\r\n"
               "Call-ID: pc1@example.com\r\n"
               "CSeq: 1 %s\r\n"
               "%s"
               "Content-Length: 0\r\n\r\n",
               method, ruri, branch, method, extra ? extra : "");
}

/* The @p nth sent message that starts with @p prefix, parsed into @p a. */
static const struct sip_msg *sent_nth(const char *prefix, unsigned nth, struct sv_arena *a,
                                      const struct sent **sp)
{
    for (unsigned i = 0; i < F.nsent; i++) {
        if (strncmp(F.sent[i].buf, prefix, strlen(prefix)) == 0 && nth-- == 0) {
            if (sp)
                *sp = &F.sent[i];
            return parse_sent(&F.sent[i], a);
        }
    }
    print_error("no sent message \"%s\" #%u\n", prefix, nth);
    fail();
    return NULL;
}

/* A response from the UAS to the @p nth forwarded request starting with @p prefix. */
static void downstream(const char *prefix, unsigned nth, uint16_t code)
{
    struct sv_arena a;
    const struct sip_msg *m = sent_nth(prefix, nth, &a, NULL);
    char buf[4096];
    size_t n;

    assert_int_equal(sip_resp_build(m, code, "Whatever", SV_LIT("uastag"), SV_LIT(""), buf,
                                    sizeof(buf), &n),
                     0);
    struct net_flow fl = flow_of(NET_UDP, UAS);
    recv_on(fmt("%.*s", (int)n, buf), &fl);
    sv_arena_close(&a);
}

static bool has(const struct sent *s, const char *text)
{
    return strstr(s->buf, text) != NULL;
}

/* §16.6: Via with our branch and rport, Record-Route with lr, Max-Forwards - 1; §17.2.1: the
 * 100 (Trying) comes 200 ms on when nothing else went upstream by then, and only once. */
static void invite_forwarded_with_via_rr_and_max_forwards(void **state)
{
    const struct sent *s;
    struct sv_arena a;

    (void)state;
    start();
    recv_on(req("INVITE", RURI_UAS, "z9hG4bKc1", NULL), &up);
    assert_int_equal(sent_count("SIP/2.0 100"), 0);
    advance(199);
    assert_int_equal(sent_count("SIP/2.0 100"), 0);
    advance(1);
    assert_int_equal(sent_count("SIP/2.0 100"), 1);
    assert_addr(&sent_last()->dst, "192.0.2.1:5070");
    advance(1000);
    assert_int_equal(sent_count("SIP/2.0 100"), 1);
    const struct sip_msg *m = sent_nth("INVITE", 0, &a, &s);
    assert_addr(&s->dst, UAS);
    assert_true(has(s, "INVITE " RURI_UAS " SIP/2.0\r\n"));
    assert_true(has(s, "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKsv"));
    assert_true(has(s, ";rport\r\nVia: SIP/2.0/UDP 192.0.2.1:5070"));
    assert_true(has(s, ";rport=5070;received=192.0.2.1\r\n"
                       "Record-Route: <sip:10.0.0.1:5060;transport=udp;lr>\r\n"
                       "Max-Forwards: 69\r\n"));
    assert_int_equal(m->max_forwards, 69);
    assert_int_equal(m->count[SIP_HDR_RECORD_ROUTE], 1); /* same interface: one (RFC 5658) */
    sv_arena_close(&a);
    assert_int_equal(proxy_stats_get(P)->forwarded, 1);
}

/* §17.2.1: a provisional from downstream within 200 ms stands for the 100 (Trying): none is
 * sent, then or later; a final does the same for a request that is answered at once. */
static void no_100_when_an_answer_went_up_first(void **state)
{
    (void)state;
    start();
    recv_on(req("INVITE", RURI_UAS, "z9hG4bKd1", NULL), &up);
    advance(50);
    downstream("INVITE", 0, 180);
    advance(1000);
    assert_int_equal(sent_count("SIP/2.0 180"), 1);
    assert_int_equal(sent_count("SIP/2.0 100"), 0);
    recv_on(req("INVITE", RURI_UAS, "z9hG4bKd2", NULL), &up);
    downstream("INVITE", 1, 486);
    assert_int_equal(sent_count("SIP/2.0 486"), 1);
    advance(1000); /* timer G retransmits the 486 meanwhile: no ACK comes here */
    assert_int_equal(sent_count("SIP/2.0 100"), 0);
}

/* §16.7: provisional and 2xx go upstream at once, without our Via. */
static void responses_relayed_without_our_via(void **state)
{
    (void)state;
    start();
    recv_on(req("INVITE", RURI_UAS, "z9hG4bKc2", NULL), &up);
    downstream("INVITE", 0, 180);
    const struct sent *s = sent_last();
    assert_true(has(s, "SIP/2.0 180"));
    assert_false(has(s, "10.0.0.1:5060;branch"));
    assert_addr(&s->dst, "192.0.2.1:5070");
    downstream("INVITE", 0, 200);
    s = sent_last();
    assert_true(has(s, "SIP/2.0 200"));
    assert_false(has(s, "10.0.0.1:5060;branch"));
    assert_true(has(s, "Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKc2"));
}

/* A 486: the client transaction ACKs it downstream, the 486 goes up. */
static void busy_relayed_and_acked_hop_by_hop(void **state)
{
    (void)state;
    start();
    recv_on(req("INVITE", RURI_UAS, "z9hG4bKc3", NULL), &up);
    downstream("INVITE", 0, 486);
    assert_int_equal(sent_count("ACK " RURI_UAS), 1);
    assert_int_equal(sent_count("SIP/2.0 486"), 1);
    assert_addr(&sent_last()->dst, "192.0.2.1:5070");
}

/* §16.7 step 6: a 503 chosen as best goes up as 500. */
static void chosen_503_becomes_500(void **state)
{
    (void)state;
    start();
    recv_on(req("MESSAGE", RURI_UAS, "z9hG4bKc4", NULL), &up);
    downstream("MESSAGE", 0, 503);
    assert_int_equal(sent_count("SIP/2.0 500"), 1);
    assert_int_equal(sent_count("SIP/2.0 503"), 0);
}

/* Timer B: no answer downstream gives 408 upstream (§16.7, §16.8). */
static void no_answer_gives_408(void **state)
{
    (void)state;
    start();
    recv_on(req("INVITE", RURI_UAS, "z9hG4bKc5", NULL), &up);
    advance(64 * T1);
    assert_int_equal(sent_count("SIP/2.0 408"), 1);
}

/* §16.10: CANCEL gets 200 at once, is sent downstream after the provisional; 487 goes up. */
static void cancel_after_provisional(void **state)
{
    (void)state;
    start();
    recv_on(req("INVITE", RURI_UAS, "z9hG4bKc6", NULL), &up);
    downstream("INVITE", 0, 180);
    recv_on(req("CANCEL", RURI_UAS, "z9hG4bKc6", NULL), &up);
    assert_int_equal(sent_count("SIP/2.0 200"), 1);
    assert_int_equal(sent_count("CANCEL " RURI_UAS), 1);
    downstream("CANCEL", 0, 200);
    downstream("INVITE", 0, 487);
    assert_int_equal(sent_count("SIP/2.0 487"), 1);
    assert_int_equal(proxy_stats_get(P)->cancels, 1);
}

/* §9.1: no provisional yet: the CANCEL waits for one. */
static void cancel_waits_for_a_provisional(void **state)
{
    (void)state;
    start();
    recv_on(req("INVITE", RURI_UAS, "z9hG4bKc7", NULL), &up);
    recv_on(req("CANCEL", RURI_UAS, "z9hG4bKc7", NULL), &up);
    assert_int_equal(sent_count("CANCEL"), 0);
    downstream("INVITE", 0, 100);
    assert_int_equal(sent_count("CANCEL " RURI_UAS), 1);
}

/* §16.8: timer C fires after a provisional: CANCEL; no final after 64*T1: 408 upstream. */
static void timer_c_cancels_then_gives_up(void **state)
{
    (void)state;
    conf.timer_c_ms = 1000;
    start();
    recv_on(req("INVITE", RURI_UAS, "z9hG4bKc8", NULL), &up);
    downstream("INVITE", 0, 180);
    advance(999);
    assert_int_equal(sent_count("CANCEL"), 0);
    advance(1);
    assert_int_equal(sent_count("CANCEL " RURI_UAS), 1);
    advance(64 * T1);
    assert_int_equal(sent_count("SIP/2.0 408"), 1);
}

/* §16.3: Max-Forwards 0 -> 483, an unknown Proxy-Require -> 420 with Unsupported. */
static void validation_483_and_420(void **state)
{
    (void)state;
    start();
    const char *r = req("INVITE", RURI_UAS, "z9hG4bKc9", NULL);
    char *mf0 = strdup(r);
    memcpy(strstr(mf0, "Max-Forwards: 70"), "Max-Forwards: 00", 16);
    recv_on(fmt("%s", mf0), &up);
    free(mf0);
    assert_int_equal(sent_count("SIP/2.0 483"), 1);
    recv_on(req("MESSAGE", RURI_UAS, "z9hG4bKca", "Proxy-Require: foo\r\n"), &up);
    assert_int_equal(sent_count("SIP/2.0 420"), 1);
    assert_true(has(sent_last(), "Unsupported: foo\r\n"));
    /* privacy is supported (R7) */
    recv_on(req("MESSAGE", RURI_UAS, "z9hG4bKcb", "Proxy-Require: privacy\r\n"), &up);
    assert_int_equal(sent_count("MESSAGE " RURI_UAS), 1);
    assert_int_equal(proxy_stats_get(P)->rejects[PROXY_REJ_483], 1);
}

/* OPTIONS to the node itself (address or domain), even with Max-Forwards 0 (§11). */
static void options_to_self_answered(void **state)
{
    (void)state;
    start();
    recv_on(req("OPTIONS", "sip:10.0.0.1:5060", "z9hG4bKcc", NULL), &up);
    assert_int_equal(sent_count("SIP/2.0 200"), 1);
    assert_true(has(sent_last(), "Allow: INVITE"));
    assert_true(has(sent_last(), "Supported: privacy\r\n"));
    assert_true(has(sent_last(), "Accept: application/sdp\r\n"));
    recv_on(req("OPTIONS", "sip:ims.example", "z9hG4bKcd", NULL), &up);
    assert_int_equal(sent_count("SIP/2.0 200"), 2);
    char *mf0 = strdup(req("OPTIONS", "sip:10.0.0.1", "z9hG4bKce", NULL));
    memcpy(strstr(mf0, "Max-Forwards: 70"), "Max-Forwards: 00", 16);
    recv_on(fmt("%s", mf0), &up);
    free(mf0);
    assert_int_equal(sent_count("SIP/2.0 200"), 3);
    assert_int_equal(sent_count("OPTIONS"), 0);
}

/* §16.5: a name that is not routed, and a request to ourselves, get 404 (no DNS). */
static void unrouted_gets_404(void **state)
{
    (void)state;
    start();
    recv_on(req("INVITE", "sip:bob@example.com", "z9hG4bKcf", NULL), &up);
    assert_int_equal(sent_count("SIP/2.0 404"), 1);
    recv_on(req("INVITE", "sip:bob@10.0.0.1:5060", "z9hG4bKcg", NULL), &up);
    assert_int_equal(sent_count("SIP/2.0 404"), 2);
    assert_int_equal(sent_count("INVITE"), 0);
}

/* Static routes: domain, ruri, default, in order. */
static void static_routes_in_order(void **state)
{
    (void)state;
    routes[0] = (struct proxy_route){PROXY_MATCH_DOMAIN, "a.example", {.tp = NET_UDP, .dst = addr(UAS)}};
    routes[1] = (struct proxy_route){PROXY_MATCH_RURI, "sip:carol@b.example",
                                     {.tp = NET_TCP, .dst = addr("192.0.2.10:5090")}};
    routes[2] = (struct proxy_route){PROXY_MATCH_DEFAULT, "", {.tp = NET_UDP, .dst = addr("192.0.2.11:5060")}};
    conf.nroutes = 3;
    start();
    recv_on(req("MESSAGE", "sip:x@a.example", "z9hG4bKr1", NULL), &up);
    assert_addr(&sent_last()->dst, UAS);
    recv_on(req("MESSAGE", "sip:carol@b.example", "z9hG4bKr2", NULL), &up);
    assert_addr(&sent_last()->dst, "192.0.2.10:5090");
    assert_int_equal(sent_last()->tp, NET_TCP);
    assert_true(has(sent_last(), "Via: SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bKsv"));
    recv_on(req("MESSAGE", "sip:dave@c.example", "z9hG4bKr3", NULL), &up);
    assert_addr(&sent_last()->dst, "192.0.2.11:5060");
}

/* RFC 5658: UDP in, TCP out: two Record-Routes, the outbound side on top. */
static void transport_change_double_record_route(void **state)
{
    struct sv_arena a;
    const struct sent *s;

    (void)state;
    routes[0] = (struct proxy_route){PROXY_MATCH_DEFAULT, "", {.tp = NET_TCP, .dst = addr(UAS)}};
    conf.nroutes = 1;
    start();
    recv_on(req("INVITE", "sip:bob@b.example", "z9hG4bKr4", NULL), &up);
    const struct sip_msg *m = sent_nth("INVITE", 0, &a, &s);
    assert_int_equal(m->count[SIP_HDR_RECORD_ROUTE], 2);
    assert_true(has(s, "Record-Route: <sip:10.0.0.1:5060;transport=tcp;lr>\r\n"
                       "Record-Route: <sip:10.0.0.1:5060;transport=udp;lr>\r\n"));
    sv_arena_close(&a);
}

/* §16.4: our Route values go; the next one is the next hop. */
static void loose_route_ours_removed(void **state)
{
    (void)state;
    start();
    recv_on(req("BYE", "sip:bob@b.example", "z9hG4bKr5",
                "Route: <sip:10.0.0.1:5060;transport=tcp;lr>, <sip:10.0.0.1:5060;lr>\r\n"
                "Route: <sip:192.0.2.20:5090;lr>\r\n"),
            &up);
    const struct sent *s = sent_last();
    assert_addr(&s->dst, "192.0.2.20:5090");
    assert_false(has(s, "10.0.0.1:5060;transport=tcp;lr"));
    assert_true(has(s, "Route: <sip:192.0.2.20:5090;lr>\r\n"));
    assert_false(has(s, "Record-Route")); /* BYE is not record-routed */
}

/* §16.4: a strict router put our Record-Route in the Request-URI: the last Route replaces it. */
static void strict_route_repaired(void **state)
{
    (void)state;
    start();
    recv_on(req("BYE", "sip:10.0.0.1:5060;lr", "z9hG4bKr6", "Route: <sip:bob@" UAS ">\r\n"), &up);
    const struct sent *s = sent_last();
    assert_true(has(s, "BYE sip:bob@" UAS " SIP/2.0\r\n"));
    assert_false(has(s, "Route:"));
    assert_addr(&s->dst, UAS);
}

/* §16.3 item 4: a request routed back to us unchanged gets 482. */
static void loop_detected_482(void **state)
{
    (void)state;
    routes[0] = (struct proxy_route){PROXY_MATCH_DEFAULT, "", {.tp = NET_UDP, .dst = addr("10.0.0.1:5060")}};
    conf.nroutes = 1;
    start();
    recv_on(req("MESSAGE", "sip:bob@b.example", "z9hG4bKr7", NULL), &up);
    const struct sent *s = sent_last();
    assert_true(has(s, "MESSAGE sip:bob@b.example"));
    struct net_flow self = flow_of(NET_UDP, "10.0.0.1:5060");
    recv_on(fmt("%s", s->buf), &self);
    assert_int_equal(sent_count("SIP/2.0 482"), 1);
    assert_int_equal(sent_count("MESSAGE"), 1);
}

/* §16.3 item 4 through another hop: the request comes back with that hop's Via above ours,
 * in a Via header of its own or in the same one, comma-separated: 482 either way. */
static void loop_through_another_hop_482(void **state)
{
    (void)state;
    routes[0] = (struct proxy_route){PROXY_MATCH_DEFAULT, "", {.tp = NET_UDP, .dst = addr(UAS)}};
    conf.nroutes = 1;
    start();
    recv_on(req("MESSAGE", "sip:bob@b.example", "z9hG4bKr8", NULL), &up);
    const struct sent *s = sent_last();
    assert_true(has(s, "MESSAGE sip:bob@b.example"));
    const char *vias = strstr(s->buf, "\r\nVia: ") + 2;
    size_t line = strcspn(s->buf, "\n") + 1;
    struct net_flow back = flow_of(NET_UDP, UAS);
    /* the other hop's Via in a header of its own */
    recv_on(fmt("%.*sVia: SIP/2.0/UDP " UAS ";branch=z9hG4bKhop1\r\n%s", (int)line, s->buf,
                s->buf + line),
            &back);
    assert_int_equal(sent_count("SIP/2.0 482"), 1);
    /* ... and in front of ours in the same header */
    assert_int_equal(strncmp(vias, "Via: ", 5), 0);
    recv_on(fmt("%.*sVia: SIP/2.0/UDP " UAS ";branch=z9hG4bKhop2, %s", (int)(vias - s->buf),
                s->buf, vias + 5),
            &back);
    assert_int_equal(sent_count("SIP/2.0 482"), 2);
    assert_int_equal(sent_count("MESSAGE"), 1);
}

/* Stateless ACK for a 2xx: forwarded, retransmissions with the same branch (§16.7 step 10). */
static void ack_for_2xx_forwarded_statelessly(void **state)
{
    (void)state;
    start();
    const char *ack = fmt("ACK sip:bob@" UAS " SIP/2.0\r\n"
                          "Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKack1\r\n"
                          "Route: <sip:10.0.0.1:5060;lr>\r\n"
                          "From: <sip:alice@example.com>;tag=ft1\r\n"
                          "To: <sip:bob@example.com>;tag=uastag\r\n"
                          "Call-ID: pc9@example.com\r\n"
                          "CSeq: 1 ACK\r\n"
                          "Content-Length: 0\r\n\r\n");
    recv_on(ack, &up);
    recv_on(ack, &up);
    assert_int_equal(sent_count("ACK sip:bob@" UAS), 2);
    assert_string_equal(F.sent[0].buf, F.sent[1].buf);
    assert_addr(&F.sent[0].dst, UAS);
    assert_false(has(&F.sent[0], "Route:"));
    assert_true(has(&F.sent[0], "Max-Forwards: 70\r\n")); /* absent: 70 */
}

/* §16.10: a CANCEL that matches no response context is forwarded statelessly, each
 * retransmission alike, and the proxy keeps no transaction for it; the UAS's answer, which
 * matches no client transaction, goes back upstream with our Via popped (§16.7, §16.11). */
static void unmatched_cancel_forwarded_statelessly(void **state)
{
    (void)state;
    start();
    const char *cancel = req("CANCEL", RURI_UAS, "z9hG4bKlost1", NULL);
    recv_on(cancel, &up);
    recv_on(cancel, &up);
    assert_int_equal(sent_count("CANCEL " RURI_UAS), 2);
    assert_string_equal(F.sent[0].buf, F.sent[1].buf);
    assert_addr(&F.sent[0].dst, UAS);
    assert_true(has(&F.sent[0], "Max-Forwards: 69\r\n"));
    assert_true(has(&F.sent[0], "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK"));
    assert_false(has(&F.sent[0], "Record-Route:"));
    assert_int_equal(sent_count("SIP/2.0"), 0); /* no 481, no 200 of our own */
    assert_int_equal(txn_stats_get(F.l)->live, 0);
    assert_int_equal(proxy_stats_get(P)->stateless, 2);

    downstream("CANCEL", 0, 481);
    const struct sent *s = sent_last();
    assert_true(has(s, "SIP/2.0 481"));
    assert_addr(&s->dst, "192.0.2.1:5070");
    assert_false(has(s, "10.0.0.1"));
    assert_true(has(s, "branch=z9hG4bKlost1"));
    assert_int_equal(txn_stats_get(F.l)->live, 0);
}

/* An unmatched CANCEL the proxy cannot forward (Max-Forwards 0, no route) is answered 481 on
 * a transaction of its own, as a UA would. */
static void unmatched_cancel_unroutable_gets_481(void **state)
{
    (void)state;
    start();
    recv_on(req("CANCEL", "sip:bob@nowhere.example", "z9hG4bKlost2", NULL), &up);
    assert_int_equal(sent_count("SIP/2.0 481"), 1);
    assert_int_equal(sent_count("CANCEL"), 0);
    char *mf0 = (char *)fmt("%s", req("CANCEL", RURI_UAS, "z9hG4bKlost3", NULL));
    char *m = strstr(mf0, "Max-Forwards: 70");
    assert_non_null(m);
    memcpy(m + 14, "00", 2);
    recv_on(mf0, &up);
    assert_int_equal(sent_count("SIP/2.0 481"), 2);
    assert_int_equal(sent_count("CANCEL"), 0);
}

/* Overload: beyond the bound, 503 with Retry-After, nothing forwarded. */
static void overload_503_retry_after(void **state)
{
    (void)state;
    conf.max_txns = 2;
    start();
    recv_on(req("MESSAGE", RURI_UAS, "z9hG4bKo1", NULL), &up); /* server + client: 2 live */
    recv_on(req("MESSAGE", RURI_UAS, "z9hG4bKo2", NULL), &up);
    assert_int_equal(sent_count("SIP/2.0 503"), 1);
    assert_true(has(sent_last(), "Retry-After: 5\r\n"));
    assert_int_equal(sent_count("MESSAGE"), 1);
    assert_int_equal(proxy_stats_get(P)->overload_503, 1);
    /* a retransmission of the first is absorbed, not refused */
    recv_on(req("MESSAGE", RURI_UAS, "z9hG4bKo1", NULL), &up);
    assert_int_equal(sent_count("SIP/2.0 503"), 1);
}

static int hook_req(void *arg, const struct sip_msg *r, struct proxy_hop *hop,
                    struct sip_edits *ed, uint16_t *code, const char **reason)
{
    (void)arg;
    hop->cookie = 0x5eed;
    if (r->mid == SIP_METHOD_MESSAGE) {
        *code = 403;
        *reason = "Forbidden";
        return 1;
    }
    return sip_edit_hdr_insert(ed, NULL, "X-Hooked", SV_LIT("yes")) ? 1 : 0;
}

static int hook_resp(void *arg, const struct sip_msg *r, const struct proxy_hop *hop,
                     struct sip_edits *ed)
{
    (void)arg;
    (void)r;
    /* the cookie of the request hook comes back with the branch's responses */
    assert_int_equal(hop->cookie, 0x5eed);
    if (r->scode == 183)
        return 1; /* refused: dropped */
    sip_edit_hdr_insert(ed, NULL, "X-Resp-Hooked", SV_LIT("yes"));
    return 0;
}

/* The pipeline hooks: a request hook that edits or answers, a response hook that edits. */
static void hooks_edit_and_answer(void **state)
{
    struct proxy_hooks h = {hook_req, hook_resp, NULL};

    (void)state;
    start();
    proxy_hooks_set(P, &h);
    recv_on(req("MESSAGE", RURI_UAS, "z9hG4bKh1", NULL), &up);
    assert_int_equal(sent_count("SIP/2.0 403"), 1);
    assert_int_equal(sent_count("MESSAGE"), 0);
    recv_on(req("INVITE", RURI_UAS, "z9hG4bKh2", NULL), &up);
    assert_true(has(sent_last(), "X-Hooked: yes\r\n"));
    downstream("INVITE", 0, 180);
    assert_true(has(sent_last(), "X-Resp-Hooked: yes\r\n"));
    /* a response the hook refuses is not forwarded, and counted */
    size_t before = sent_count("SIP/2.0 183");
    downstream("INVITE", 0, 183);
    assert_int_equal(sent_count("SIP/2.0 183"), before);
    assert_int_equal(proxy_stats_get(P)->hook_drops, 1);
}

/* The previous hop's Via (now the second) of the forwarded request, as text. */
static const char *second_via(const struct sent *s)
{
    const char *v = strstr(s->buf, "\r\nVia: ");
    const char *v2 = v ? strstr(v + 2, "\r\nVia: ") : NULL;

    assert_non_null(v2);
    const char *e = strstr(v2 + 2, "\r\n");
    return fmt("%.*s", (int)(e - v2 - 7), v2 + 7);
}

/* RFC 3261 §18.2.1, RFC 3581 §4: an empty rport gets the source port, and received is added
 * with it even when the sent-by host is the source address. */
static void via_rport_filled_and_received_added(void **state)
{
    (void)state;
    start();
    recv_on(req("MESSAGE", RURI_UAS, "z9hG4bKv1", NULL), &up);
    assert_string_equal(
        second_via(sent_last()),
        "SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKv1;rport=5070;received=192.0.2.1");
}

/* Behind a NAT: the source differs from sent-by in address and port. */
static void via_behind_nat_gets_source_address_and_port(void **state)
{
    struct net_flow nat = flow_of(NET_UDP, "198.51.100.7:40000");

    (void)state;
    start();
    recv_on(req("MESSAGE", RURI_UAS, "z9hG4bKv2", NULL), &nat);
    assert_string_equal(
        second_via(sent_last()),
        "SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKv2;rport=40000;received=198.51.100.7");
    /* the 200 from downstream goes back to the source, not to sent-by */
    downstream("MESSAGE", 0, 200);
    assert_addr(&sent_last()->dst, "198.51.100.7:40000");
}

/* §18.2.1 without rport: received only when the sent-by host is not the source address (a
 * name, or another address); nothing when it is. rport=value from the sender stays. */
static void via_received_only_when_host_differs(void **state)
{
    struct net_flow other = flow_of(NET_UDP, "192.0.2.2:5070");

    (void)state;
    start();
    const char *r = req("MESSAGE", RURI_UAS, "z9hG4bKv3", NULL);
    char *norport = strdup(r);
    char *rp = strstr(norport, ";rport\r\n");
    memmove(rp, rp + 6, strlen(rp + 6) + 1);
    recv_on(fmt("%s", norport), &up);
    assert_string_equal(second_via(sent_last()), "SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKv3");
    norport[strstr(norport, "z9hG4bKv3") - norport + 8] = '4';
    recv_on(fmt("%s", norport), &other);
    assert_string_equal(second_via(sent_last()),
                        "SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKv4;received=192.0.2.2");
    free(norport);
    recv_on(fmt("MESSAGE " RURI_UAS " SIP/2.0\r\n"
                "Via: SIP/2.0/TCP uac.example.com;branch=z9hG4bKv5;rport=7;received=1.1.1.1\r\n"
                "From: <sip:alice@example.com>;tag=ft1\r\n"
                "To: <sip:bob@example.com>\r\n"
                "Call-ID: pc5@example.com\r\n"
                "CSeq: 1 MESSAGE\r\n"
                "Content-Length: 0\r\n\r\n"),
            &up);
    assert_string_equal(second_via(sent_last()),
                        "SIP/2.0/TCP uac.example.com;branch=z9hG4bKv5;rport=7;received=192.0.2.1");
}

/* A stateless ACK gets the same parameters. */
static void via_received_on_stateless_ack(void **state)
{
    struct net_flow nat = flow_of(NET_UDP, "198.51.100.7:40000");

    (void)state;
    start();
    recv_on(fmt("ACK sip:bob@" UAS " SIP/2.0\r\n"
                "Via: SIP/2.0/UDP 192.0.2.1:5070;rport;branch=z9hG4bKack2\r\n"
                "From: <sip:alice@example.com>;tag=ft1\r\n"
                "To: <sip:bob@example.com>;tag=uastag\r\n"
                "Call-ID: pc9@example.com\r\n"
                "CSeq: 1 ACK\r\n"
                "Content-Length: 0\r\n\r\n"),
            &nat);
    assert_int_equal(sent_count("ACK"), 1);
    assert_string_equal(
        second_via(sent_last()),
        "SIP/2.0/UDP 192.0.2.1:5070;rport=40000;branch=z9hG4bKack2;received=198.51.100.7");
}

/* Workers: a listener whose via names a worker's own socket. Requests forwarded out of it
 * carry that sent-by; Record-Route keeps the shared address; responses and stateless 2xx
 * whose top Via names either address are ours. */
static int hook_face(void *arg, const struct sip_msg *r, struct proxy_hop *hop,
                     struct sip_edits *ed, uint16_t *code, const char **reason)
{
    (void)arg;
    (void)r;
    (void)ed;
    (void)code;
    (void)reason;
    hop->out_face = 1; /* the next hop is untrusted */
    return 0;
}

/* RFC 5658: a request to an untrusted next hop leaves from the listener facing it (the
 * pipeline says so through out_face): its Via and first Record-Route name that listener, it
 * is sent from that socket, and the arrival side keeps its own Record-Route. */
static void out_face_picks_the_listener_facing_the_next_hop(void **state)
{
    struct proxy_hooks h = {hook_face, NULL, NULL};
    struct sv_arena a;
    const struct sent *s;

    (void)state;
    lsn[2].tp = NET_UDP;
    lsn[2].addr = addr("10.0.0.1:5062");
    lsn[2].index = 2;
    lsn[2].untrusted_face = true;
    conf.nlisteners = 3;
    start();
    proxy_hooks_set(P, &h);
    recv_on(req("INVITE", RURI_UAS, "z9hG4bKf1", NULL), &up);
    sent_nth("INVITE", 0, &a, &s);
    assert_true(has(s, "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKsv"));
    assert_true(has(s, "Record-Route: <sip:10.0.0.1:5062;transport=udp;lr>\r\n"
                       "Record-Route: <sip:10.0.0.1:5060;transport=udp;lr>\r\n"));
    assert_int_equal(s->listener, 2);
    sv_arena_close(&a);
}

static void listener_via_names_the_worker_socket(void **state)
{
    struct sv_arena a;
    const struct sent *s;

    (void)state;
    lsn[0].via = addr("10.0.0.1:40001");
    start();
    recv_on(req("INVITE", RURI_UAS, "z9hG4bKw1", NULL), &up);
    sent_nth("INVITE", 0, &a, &s);
    assert_true(has(s, "Via: SIP/2.0/UDP 10.0.0.1:40001;branch=z9hG4bKsv"));
    assert_true(has(s, "Record-Route: <sip:10.0.0.1:5060;transport=udp;lr>\r\n"));
    assert_false(has(s, "Record-Route: <sip:10.0.0.1:40001"));
    const char *fwd = fmt("%s", s->buf); /* F.sent moves as it grows */
    sv_arena_close(&a);
    downstream("INVITE", 0, 200);
    assert_int_equal(sent_count("SIP/2.0 200"), 1);
    /* a 2xx retransmission after the client transaction is gone goes up statelessly */
    advance(64 * T1 + 1);
    downstream("INVITE", 0, 200);
    assert_int_equal(sent_count("SIP/2.0 200"), 2);
    assert_int_equal(proxy_stats_get(P)->stateless, 1);
    assert_addr(&sent_last()->dst, "192.0.2.1:5070");
    /* a 2xx whose top Via is not ours is dropped */
    struct net_flow fl = flow_of(NET_UDP, UAS);
    recv_on(fmt("SIP/2.0 200 OK\r\n"
                "Via: SIP/2.0/UDP 10.0.0.2:40001;branch=z9hG4bKsvx\r\n"
                "Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKw1\r\n"
                "From: <sip:alice@example.com>;tag=ft1\r\n"
                "To: <sip:bob@example.com>;tag=x\r\n"
                "Call-ID: pc1@example.com\r\n"
                "CSeq: 1 INVITE\r\n"
                "Content-Length: 0\r\n\r\n"),
            &fl);
    assert_int_equal(sent_count("SIP/2.0 200"), 2);
    /* a request that loops back through the worker's address is still seen as a loop */
    recv_on(fwd, &fl);
    assert_int_equal(sent_count("SIP/2.0 482"), 1);
}

/* §16.7, §17.1.4: a TCP next hop whose connect fails: 503 upstream at once, not 408 at timer
 * B; a branch on another connection is not disturbed. */
static void failed_connect_gives_503_at_once(void **state)
{
    struct net_conn *c = fake_conn(), *other = fake_conn();

    (void)state;
    routes[0] = (struct proxy_route){PROXY_MATCH_DEFAULT, "", {.tp = NET_TCP, .dst = addr(UAS)}};
    conf.nroutes = 1;
    conf.send_flow = fake_send_flow;
    start();
    F.conn = other;
    recv_on(req("MESSAGE", "sip:bob@b.example", "z9hG4bKf0", NULL), &up);
    F.conn = c;
    recv_on(req("INVITE", "sip:bob@b.example", "z9hG4bKf1", NULL), &up);
    assert_int_equal(sent_count("INVITE sip:bob@b.example"), 1);
    proxy_conn_closed(P, c, ECONNREFUSED);
    assert_int_equal(sent_count("SIP/2.0 503"), 1);
    assert_addr(&sent_last()->dst, "192.0.2.1:5070");
    assert_true(has(sent_last(), "CSeq: 1 INVITE\r\n"));
    advance(64 * T1);
    assert_int_equal(sent_count("SIP/2.0 408"), 1); /* the MESSAGE's, at timer F */
    const struct sent *s;
    struct sv_arena a;
    assert_int_equal(sent_nth("SIP/2.0 408", 0, &a, &s)->cseq.mid, SIP_METHOD_MESSAGE);
    sv_arena_close(&a);
    proxy_free(P);
    P = NULL;
    assert_int_equal(sv_nrefs(c), 1);
    assert_int_equal(sv_nrefs(other), 1);
    sv_deref(c);
    sv_deref(other);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(no_100_when_an_answer_went_up_first, proxy_setup,
                                    proxy_teardown),
    cmocka_unit_test_setup_teardown(invite_forwarded_with_via_rr_and_max_forwards, proxy_setup,
                                    proxy_teardown),
    cmocka_unit_test_setup_teardown(responses_relayed_without_our_via, proxy_setup,
                                    proxy_teardown),
    cmocka_unit_test_setup_teardown(busy_relayed_and_acked_hop_by_hop, proxy_setup,
                                    proxy_teardown),
    cmocka_unit_test_setup_teardown(chosen_503_becomes_500, proxy_setup, proxy_teardown),
    cmocka_unit_test_setup_teardown(no_answer_gives_408, proxy_setup, proxy_teardown),
    cmocka_unit_test_setup_teardown(cancel_after_provisional, proxy_setup, proxy_teardown),
    cmocka_unit_test_setup_teardown(cancel_waits_for_a_provisional, proxy_setup, proxy_teardown),
    cmocka_unit_test_setup_teardown(timer_c_cancels_then_gives_up, proxy_setup, proxy_teardown),
    cmocka_unit_test_setup_teardown(validation_483_and_420, proxy_setup, proxy_teardown),
    cmocka_unit_test_setup_teardown(options_to_self_answered, proxy_setup, proxy_teardown),
    cmocka_unit_test_setup_teardown(unrouted_gets_404, proxy_setup, proxy_teardown),
    cmocka_unit_test_setup_teardown(static_routes_in_order, proxy_setup, proxy_teardown),
    cmocka_unit_test_setup_teardown(transport_change_double_record_route, proxy_setup,
                                    proxy_teardown),
    cmocka_unit_test_setup_teardown(loose_route_ours_removed, proxy_setup, proxy_teardown),
    cmocka_unit_test_setup_teardown(strict_route_repaired, proxy_setup, proxy_teardown),
    cmocka_unit_test_setup_teardown(loop_detected_482, proxy_setup, proxy_teardown),
    cmocka_unit_test_setup_teardown(loop_through_another_hop_482, proxy_setup, proxy_teardown),
    cmocka_unit_test_setup_teardown(ack_for_2xx_forwarded_statelessly, proxy_setup,
                                    proxy_teardown),
    cmocka_unit_test_setup_teardown(unmatched_cancel_forwarded_statelessly, proxy_setup,
                                    proxy_teardown),
    cmocka_unit_test_setup_teardown(unmatched_cancel_unroutable_gets_481, proxy_setup,
                                    proxy_teardown),
    cmocka_unit_test_setup_teardown(overload_503_retry_after, proxy_setup, proxy_teardown),
    cmocka_unit_test_setup_teardown(hooks_edit_and_answer, proxy_setup, proxy_teardown),
    cmocka_unit_test_setup_teardown(via_rport_filled_and_received_added, proxy_setup,
                                    proxy_teardown),
    cmocka_unit_test_setup_teardown(via_behind_nat_gets_source_address_and_port, proxy_setup,
                                    proxy_teardown),
    cmocka_unit_test_setup_teardown(via_received_only_when_host_differs, proxy_setup,
                                    proxy_teardown),
    cmocka_unit_test_setup_teardown(via_received_on_stateless_ack, proxy_setup, proxy_teardown),
    cmocka_unit_test_setup_teardown(listener_via_names_the_worker_socket, proxy_setup,
                                    proxy_teardown),
    cmocka_unit_test_setup_teardown(out_face_picks_the_listener_facing_the_next_hop, proxy_setup,
                                    proxy_teardown),
    cmocka_unit_test_setup_teardown(failed_connect_gives_503_at_once, proxy_setup, proxy_teardown),
};

SV_TEST_MAIN(tests)
