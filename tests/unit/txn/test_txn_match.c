/**
 * @file test_txn_match.c  Matching requests to server transactions (RFC 3261 §17.2.3): the
 * RFC 3261 key (branch, sent-by, method; ACK and CANCEL to the INVITE), the RFC 2543 fallback
 * (Request-URI, tags, Call-ID, CSeq, top Via; for ACK the To tag of our response), CANCEL
 * (§9.2: tu->cancel, or 200/481 answered by the layer), and the hash tables under load.
 */
#include "txn_test.h"

static struct net_flow udp;

static int match_setup(void **state)
{
    udp = flow_of(NET_UDP, "192.0.2.1:5070");
    return txn_setup(state);
}

static struct txn *create(const char *text)
{
    unsigned n = ev_count(EV_REQUEST);

    recv_on(text, &udp);
    assert_int_equal(ev_count(EV_REQUEST), n + 1);
    return ev_nth(EV_REQUEST, n)->t;
}

/* ---- RFC 3261 matching ---- */

/* An ACK for our 486 (same branch, method INVITE's) is absorbed by the INVITE transaction:
 * the TU sees neither it nor a stray. */
static void ack_for_non2xx_absorbed(void **state)
{
    struct txn *st = create(req_text("INVITE", VIA_A, NULL, 1, NULL));

    assert_int_equal(respond(st, 486), 0);
    recv_on(req_text("ACK", VIA_A, "totag1", 1, NULL), &udp);
    assert_int_equal(txn_state_get(st), TXN_CONFIRMED);
    assert_int_equal(ev_count(EV_STRAY), 0);
    assert_int_equal(F.nev, 1); /* the request, nothing else */
}

/* An ACK that matches nothing is the 2xx's: tu->stray, never a transaction. */
static void ack_matching_nothing_is_stray(void **state)
{
    recv_on(req_text("ACK", VIA_A, "totag1", 1, NULL), &udp);
    assert_int_equal(ev_count(EV_STRAY), 1);
    assert_int_equal(ev_nth(EV_STRAY, 0)->mid, SIP_METHOD_ACK);
    assert_int_equal(stats()->created, 0);
}

/* Sent-by is part of the key: the same branch from another host is another transaction
 * (§17.2.3 guards against duplicated branches). */
static void sentby_is_part_of_the_key(void **state)
{
    struct txn *a =
        create(req_text("OPTIONS", "SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKdup", NULL, 1, NULL));
    struct txn *b =
        create(req_text("OPTIONS", "SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bKdup", NULL, 1, NULL));
    struct txn *c =
        create(req_text("OPTIONS", "SIP/2.0/UDP 192.0.2.1:5071;branch=z9hG4bKdup", NULL, 1, NULL));

    assert_ptr_not_equal(a, b);
    assert_ptr_not_equal(a, c);
    assert_int_equal(stats()->live, 3);
}

/* A sent-by without a port equals one with the default port; host and branch compare
 * case-insensitively (§7.3.1). */
static void sentby_default_port_and_case(void **state)
{
    create(req_text("OPTIONS", "SIP/2.0/UDP Host.Example.com;branch=z9hG4bKCase", NULL, 1, NULL));
    recv_on(
        req_text("OPTIONS", "SIP/2.0/UDP host.example.COM:5060;branch=z9hG4bKcASE", NULL, 1, NULL),
        &udp);
    assert_int_equal(ev_count(EV_REQUEST), 1);
    assert_int_equal(stats()->absorbed, 1);
    /* over TLS the default is 5061 */
    create(req_text("OPTIONS", "SIP/2.0/TLS h.example.com;branch=z9hG4bKtls", NULL, 1, NULL));
    recv_on(req_text("OPTIONS", "SIP/2.0/TLS h.example.com:5061;branch=z9hG4bKtls", NULL, 1, NULL),
            &udp);
    recv_on(req_text("OPTIONS", "SIP/2.0/TLS h.example.com:5060;branch=z9hG4bKtls", NULL, 1, NULL),
            &udp);
    assert_int_equal(ev_count(EV_REQUEST), 3);
}

/* The method is part of the key: another method with the same branch is another
 * transaction (a broken client, but not a retransmission). */
static void method_is_part_of_the_key(void **state)
{
    struct txn *a = create(req_text("OPTIONS", VIA_A, NULL, 1, NULL));
    struct txn *b = create(req_text("INFO", VIA_A, NULL, 1, NULL));

    assert_ptr_not_equal(a, b);
    recv_on(req_text("INFO", VIA_A, NULL, 1, NULL), &udp);
    assert_int_equal(ev_count(EV_REQUEST), 2);
}

/* ---- CANCEL (§9.2) ---- */

static void cancel_answers(struct txn *inv, struct txn *cst, const struct sip_msg *msg)
{
    assert_int_equal(respond(cst, 200), 0);
    assert_int_equal(respond(inv, 487), 0);
}

/* A CANCEL matching a server INVITE: its own non-INVITE transaction, tu->cancel (not
 * tu->request); the TU answers both. */
static void cancel_matches_invite(void **state)
{
    struct txn *inv = create(req_text("INVITE", VIA_A, NULL, 1, NULL));
    struct ev *e;

    assert_int_equal(respond(inv, 180), 0);
    F.on_cancel = cancel_answers;
    recv_on(req_text("CANCEL", VIA_A, NULL, 1, NULL), &udp);
    assert_int_equal(ev_count(EV_REQUEST), 1);
    assert_int_equal(ev_count(EV_CANCEL), 1);
    e = ev_nth(EV_CANCEL, 0);
    assert_ptr_equal(e->t, inv);
    assert_ptr_not_equal(e->t2, inv);
    assert_int_equal(e->mid, SIP_METHOD_CANCEL);
    assert_int_equal(txn_kind_get(e->t2), TXN_SERVER_NONINVITE);
    assert_int_equal(txn_state_get(e->t2), TXN_COMPLETED);
    assert_int_equal(txn_state_get(inv), TXN_COMPLETED);
    assert_int_equal(strncmp(F.sent[1].buf, "SIP/2.0 200 ", 12), 0);
    assert_int_equal(strncmp(F.sent[2].buf, "SIP/2.0 487 ", 12), 0);
    assert_int_equal(stats()->created, 2);
    /* a retransmitted CANCEL: absorbed by the CANCEL's transaction, its 200 resent */
    recv_on(req_text("CANCEL", VIA_A, NULL, 1, NULL), &udp);
    assert_int_equal(ev_count(EV_CANCEL), 1);
    assert_int_equal(strncmp(sent_last()->buf, "SIP/2.0 200 ", 12), 0);
    assert_int_equal(stats()->created, 2);
}

/* A CANCEL for an INVITE that already has its final response still reaches the TU, which
 * answers 200 and nothing else (§9.2: no effect on the INVITE). */
static void cancel_after_final_still_to_tu(void **state)
{
    struct txn *inv = create(req_text("INVITE", VIA_A, NULL, 1, NULL));

    assert_int_equal(respond(inv, 486), 0);
    recv_on(req_text("CANCEL", VIA_A, NULL, 1, NULL), &udp);
    assert_int_equal(ev_count(EV_CANCEL), 1);
    assert_ptr_equal(ev_nth(EV_CANCEL, 0)->t, inv);
}

/* A CANCEL that matches nothing: the layer answers 481 on the CANCEL's own transaction. */
static void cancel_unmatched_gets_481(void **state)
{
    struct sv_arena a;
    const struct sip_msg *r;

    recv_on(req_text("CANCEL", VIA_A, NULL, 1, NULL), &udp);
    assert_int_equal(ev_count(EV_CANCEL), 0);
    assert_int_equal(ev_count(EV_REQUEST), 0);
    assert_int_equal(F.nsent, 1);
    assert_addr(&F.sent[0].dst, "192.0.2.1:5070");
    r = parse_sent(&F.sent[0], &a);
    assert_false(r->req);
    assert_int_equal(r->scode, 481);
    assert_int_equal(r->cseq.mid, SIP_METHOD_CANCEL);
    assert_int_equal(r->cseq.num, 1);
    assert_slice_equal(r->via.branch, "z9hG4bKaaaa1");
    assert_non_null(r->to.tag.p); /* §8.2.6.2 */
    assert_slice_equal(r->callid, "call1@example.com");
    sv_arena_close(&a);
    assert_int_equal(stats()->live, 1);
    recv_on(req_text("CANCEL", VIA_A, NULL, 1, NULL), &udp); /* retransmission */
    assert_int_equal(F.nsent, 2);
    assert_string_equal(F.sent[1].buf, F.sent[0].buf);
    advance(64 * T1);
    assert_int_equal(ev_count(EV_TERMINATED), 1); /* timer J */
}

/* A CANCEL that matches a non-INVITE transaction: 200 from the layer, no effect (§9.2), with
 * the To tag of that transaction's response. */
static void cancel_of_noninvite_answered_200(void **state)
{
    struct txn *st = create(req_text("OPTIONS", VIA_A, NULL, 1, NULL));
    struct sv_arena a;
    const struct sip_msg *r;

    assert_int_equal(respond(st, 200), 0);
    recv_on(req_text("CANCEL", VIA_A, NULL, 1, NULL), &udp);
    assert_int_equal(ev_count(EV_CANCEL), 0);
    assert_int_equal(F.nsent, 2);
    r = parse_sent(sent_last(), &a);
    assert_int_equal(r->scode, 200);
    assert_int_equal(r->cseq.mid, SIP_METHOD_CANCEL);
    assert_slice_equal(r->to.tag, "totag1");
    sv_arena_close(&a);
    assert_int_equal(txn_state_get(st), TXN_COMPLETED);
}

/* Without a cancel callback the layer answers a matching CANCEL 200 itself. */
static void cancel_without_callback_answered_200(void **state)
{
    struct txn_tu tu = {.request = test_tu.request, .terminated = test_tu.terminated};
    struct txn_layer *l2;

    assert_int_equal(txn_layer_alloc(&l2, F.w, &test_timers, fake_send, NULL, &tu, &F), 0);
    txn_layer_free(F.l);
    F.l = l2;
    create(req_text("INVITE", VIA_A, NULL, 1, NULL));
    recv_on(req_text("CANCEL", VIA_A, NULL, 1, NULL), &udp);
    assert_int_equal(F.nsent, 1);
    assert_int_equal(strncmp(F.sent[0].buf, "SIP/2.0 200 ", 12), 0);
    /* and without stray, a stray ACK is dropped */
    recv_on(req_text("ACK", "SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKother", "x", 1, NULL), &udp);
    assert_int_equal(stats()->dropped, 1);
}

/* ---- RFC 2543 fallback ---- */

#define VIA_OLD "SIP/2.0/UDP 192.0.2.1:5070"

/* No branch: an INVITE retransmission matches by Request-URI, tags, Call-ID, CSeq, top Via;
 * any of them different is a new transaction. */
static void rfc2543_invite_retransmission(void **state)
{
    struct txn *st = create(req_text("INVITE", VIA_OLD, NULL, 1, NULL));

    assert_int_equal(respond(st, 180), 0);
    recv_on(req_text("INVITE", VIA_OLD, NULL, 1, NULL), &udp);
    assert_int_equal(ev_count(EV_REQUEST), 1);
    assert_int_equal(F.nsent, 2);
    create(req_text("INVITE", VIA_OLD, NULL, 2, NULL));                      /* CSeq */
    create(req_text("INVITE", VIA_OLD, "sometag", 1, NULL));                 /* To tag */
    create(req_text("INVITE", "SIP/2.0/UDP 192.0.2.1:5071", NULL, 1, NULL)); /* top Via */
    create(fmt("INVITE sip:carol@example.com SIP/2.0\r\n"                    /* Request-URI */
               "Via: " VIA_OLD "\r\n"
               "From: Alice <sip:alice@example.com>;tag=fromtag1\r\n"
               "To: Bob <sip:bob@example.com>\r\n"
               "Call-ID: call1@example.com\r\n"
               "CSeq: 1 INVITE\r\n"
               "Content-Length: 0\r\n\r\n"));
    create(fmt("INVITE sip:bob@example.com SIP/2.0\r\n" /* From tag */
               "Via: " VIA_OLD "\r\n"
               "From: Alice <sip:alice@example.com>;tag=other\r\n"
               "To: Bob <sip:bob@example.com>\r\n"
               "Call-ID: call1@example.com\r\n"
               "CSeq: 1 INVITE\r\n"
               "Content-Length: 0\r\n\r\n"));
    create(fmt("INVITE sip:bob@example.com SIP/2.0\r\n" /* Call-ID */
               "Via: " VIA_OLD "\r\n"
               "From: Alice <sip:alice@example.com>;tag=fromtag1\r\n"
               "To: Bob <sip:bob@example.com>\r\n"
               "Call-ID: call2@example.com\r\n"
               "CSeq: 1 INVITE\r\n"
               "Content-Length: 0\r\n\r\n"));
    /* the Request-URI compares by the URI rules, not byte for byte (§19.1.4) */
    recv_on(fmt("INVITE sip:bob@EXAMPLE.com SIP/2.0\r\n"
                "Via: " VIA_OLD "\r\n"
                "From: Alice <sip:alice@example.com>;tag=fromtag1\r\n"
                "To: Bob <sip:bob@example.com>\r\n"
                "Call-ID: call1@example.com\r\n"
                "CSeq: 1 INVITE\r\n"
                "Content-Length: 0\r\n\r\n"),
            &udp);
    assert_int_equal(ev_count(EV_REQUEST), 7);
    assert_int_equal(stats()->absorbed, 2);
}

/* A non-INVITE matches with its CSeq method too; a 3261 request never matches a 2543
 * transaction. */
static void rfc2543_noninvite_and_3261_apart(void **state)
{
    create(req_text("OPTIONS", VIA_OLD, NULL, 4, NULL));
    recv_on(req_text("OPTIONS", VIA_OLD, NULL, 4, NULL), &udp);
    assert_int_equal(ev_count(EV_REQUEST), 1);
    create(req_text("INFO", VIA_OLD, NULL, 4, NULL));
    create(req_text("OPTIONS", VIA_OLD ";branch=z9hG4bKnew", NULL, 4, NULL));
    assert_int_equal(ev_count(EV_REQUEST), 3);
}

/* The ACK matches by Request-URI, From tag, Call-ID, CSeq number, top Via and the To tag of
 * the response we sent; with another To tag it is the ACK of someone else's 2xx. */
static void rfc2543_ack_by_response_to_tag(void **state)
{
    struct txn *st = create(req_text("INVITE", VIA_OLD, NULL, 1, NULL));

    recv_on(req_text("ACK", VIA_OLD, "totag1", 1, NULL), &udp); /* before any response */
    assert_int_equal(ev_count(EV_STRAY), 1);
    assert_int_equal(respond(st, 486), 0); /* To tag totag1 */
    recv_on(req_text("ACK", VIA_OLD, "notours", 1, NULL), &udp);
    assert_int_equal(ev_count(EV_STRAY), 2);
    assert_int_equal(txn_state_get(st), TXN_COMPLETED);
    recv_on(req_text("ACK", VIA_OLD, "totag1", 1, NULL), &udp);
    assert_int_equal(txn_state_get(st), TXN_CONFIRMED);
    assert_int_equal(ev_count(EV_STRAY), 2);
    recv_on(req_text("ACK", VIA_OLD, "totag1", 1, NULL), &udp);
    assert_int_equal(stats()->absorbed, 1);
}

/* A 2543 CANCEL matches the INVITE by Request-URI, tags, Call-ID, CSeq number, top Via. */
static void rfc2543_cancel_matches_invite(void **state)
{
    struct txn *st = create(req_text("INVITE", VIA_OLD, NULL, 1, NULL));

    recv_on(req_text("CANCEL", VIA_OLD, NULL, 2, NULL), &udp); /* another CSeq: no match */
    assert_int_equal(ev_count(EV_CANCEL), 0);
    assert_int_equal(strncmp(sent_last()->buf, "SIP/2.0 481 ", 12), 0);
    recv_on(req_text("CANCEL", VIA_OLD, NULL, 1, NULL), &udp);
    assert_int_equal(ev_count(EV_CANCEL), 1);
    assert_ptr_equal(ev_nth(EV_CANCEL, 0)->t, st);
    /* its retransmission is the CANCEL transaction's */
    recv_on(req_text("CANCEL", VIA_OLD, NULL, 1, NULL), &udp);
    assert_int_equal(ev_count(EV_CANCEL), 1);
}

/* A bare magic cookie is no RFC 3261 branch (RFC 4475 §3.2.1 badbranch is the same case). */
static void bare_cookie_branch_is_rfc2543(void **state)
{
    const char *via = "SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK";
    struct txn *st = create(req_text("INVITE", via, NULL, 1, NULL));

    recv_on(req_text("INVITE", via, NULL, 1, NULL), &udp);
    assert_int_equal(ev_count(EV_REQUEST), 1);
    assert_int_equal(respond(st, 486), 0);
    recv_on(req_text("ACK", via, "totag1", 1, NULL), &udp);
    assert_int_equal(txn_state_get(st), TXN_CONFIRMED);
}

/* ---- the tables under load ---- */

/* Thousands of live transactions (the tables grow): each retransmission still finds its own,
 * and every one of them leaves cleanly. */
static void recv_numbered(unsigned i)
{
    char buf[512];

    snprintf(buf, sizeof(buf),
             "%s sip:bob@example.com SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK%08x\r\n"
             "From: Alice <sip:alice@example.com>;tag=fromtag1\r\n"
             "To: Bob <sip:bob@example.com>\r\n"
             "Call-ID: call1@example.com\r\n"
             "CSeq: %u %s\r\n"
             "Content-Length: 0\r\n\r\n",
             i % 2 ? "INVITE" : "OPTIONS", i * 2654435761u, i + 1, i % 2 ? "INVITE" : "OPTIONS");
    recv_on(buf, &udp);
}

/* Thousands of live transactions (the tables grow): each retransmission still finds its own,
 * and every one of them leaves cleanly. */
static void many_transactions_each_found(void **state)
{
    enum { N = 3000 };

    for (unsigned i = 0; i < N; i++)
        recv_numbered(i);
    assert_int_equal(stats()->live, N);
    for (unsigned i = 0; i < N; i++)
        recv_numbered(i);
    assert_int_equal(ev_count(EV_REQUEST), N);
    assert_int_equal(stats()->absorbed, N);
    for (unsigned i = 0; i < N; i++)
        assert_int_equal(respond(F.ev[i].t, 404), 0);
    advance(64 * T1);
    assert_int_equal(stats()->live, 0);
    assert_int_equal(ev_count(EV_TERMINATED), N);
    assert_int_equal(stats()->timeouts, N / 2); /* the INVITEs: timer H, never ACKed */
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(ack_for_non2xx_absorbed, match_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(ack_matching_nothing_is_stray, match_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(sentby_is_part_of_the_key, match_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(sentby_default_port_and_case, match_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(method_is_part_of_the_key, match_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(cancel_matches_invite, match_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(cancel_after_final_still_to_tu, match_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(cancel_unmatched_gets_481, match_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(cancel_of_noninvite_answered_200, match_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(cancel_without_callback_answered_200, match_setup,
                                    txn_teardown),
    cmocka_unit_test_setup_teardown(rfc2543_invite_retransmission, match_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(rfc2543_noninvite_and_3261_apart, match_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(rfc2543_ack_by_response_to_tag, match_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(rfc2543_cancel_matches_invite, match_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(bare_cookie_branch_is_rfc2543, match_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(many_transactions_each_found, match_setup, txn_teardown),
};

SV_TEST_MAIN(tests)
