/**
 * @file test_txn_client.c  Client transactions: every edge of the INVITE (RFC 3261 §17.1.1,
 * RFC 6026 §7.2) and non-INVITE (§17.1.2) state machines over UDP and TCP, the retransmission
 * intervals of timers A and E, the timeouts B and F, the ACK of §17.1.1.3, response matching
 * (§17.1.3) and transport errors (§17.1.4).
 */
#include "txn_test.h"

#define INVITE_US                                                                                  \
    "INVITE sip:bob@example.com SIP/2.0\r\n"                                                       \
    "Via: " VIA_US "\r\n"                                                                          \
    "Route: <sip:p1.example.com;lr>\r\n"                                                           \
    "Route: <sip:p2.example.com;lr>\r\n"                                                           \
    "Max-Forwards: 70\r\n"                                                                         \
    "From: Alice <sip:alice@example.com>;tag=fromtag1\r\n"                                         \
    "To: Bob <sip:bob@example.com>\r\n"                                                            \
    "Call-ID: call1@example.com\r\n"                                                               \
    "CSeq: 1 INVITE\r\n"                                                                           \
    "Contact: <sip:alice@192.0.2.1>\r\n"                                                           \
    "Content-Type: application/sdp\r\n"                                                            \
    "Content-Length: 4\r\n\r\n"                                                                    \
    "v=0\n"

static int owner_cookie;

static struct txn *start(const char *text, enum net_tp tp)
{
    struct txn *ct = NULL;
    struct net_addr dst = addr("198.51.100.7:5080");

    assert_int_equal(txn_request(&ct, F.l, text, strlen(text), tp, &dst, &owner_cookie), 0);
    assert_non_null(ct);
    return ct;
}

static struct txn *start_invite(enum net_tp tp)
{
    return start(INVITE_US, tp);
}

static struct txn *start_options(enum net_tp tp)
{
    return start(req_text("OPTIONS", VIA_US, NULL, 7, NULL), tp);
}

static void resp(unsigned code, const char *to_tag, const char *method)
{
    struct net_flow f = flow_of(NET_UDP, "198.51.100.7:5080");

    recv_on(resp_text(code, VIA_US, to_tag, strcmp(method, "OPTIONS") ? 1 : 7, method), &f);
}

/* ---- INVITE over UDP ---- */

/* §17.1.1.2: timer A starts at T1 and doubles (no T2 cap); timer B (64*T1) ends Calling with
 * a timeout: 7 transmissions in all. */
static void invite_udp_timer_a_doubles_until_timer_b(void **state)
{
    static const uint64_t want[] = {0, 500, 1500, 3500, 7500, 15500, 31500};
    struct txn *ct = start_invite(NET_UDP);

    assert_int_equal(txn_kind_get(ct), TXN_CLIENT_INVITE);
    assert_int_equal(txn_state_get(ct), TXN_CALLING);
    advance(31999);
    assert_int_equal(ev_count(EV_FAILED), 0);
    advance(1);
    assert_sent_at("INVITE ", want, SV_ARRAY_SIZE(want));
    assert_int_equal(ev_count(EV_FAILED), 1);
    assert_int_equal(ev_nth(EV_FAILED, 0)->err, ETIMEDOUT);
    assert_ptr_equal(ev_nth(EV_FAILED, 0)->owner, &owner_cookie);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
    assert_true(ev_nth(EV_FAILED, 0) < ev_nth(EV_TERMINATED, 0)); /* failed first */
    assert_int_equal(stats()->timeouts, 1);
    assert_int_equal(stats()->retransmitted, 6);
    assert_int_equal(stats()->live, 0);
    assert_int_equal(F.sent[0].tp, NET_UDP);
    assert_addr(&F.sent[0].dst, "198.51.100.7:5080");
    assert_false(F.sent[0].has_flow);
    sv_test_expect_bytes(F.sent[0].buf, F.sent[0].len, INVITE_US);
}

/* §17.1.1.2: no timer A over a reliable transport; timer B still runs. */
static void invite_tcp_no_retransmission_timer_b(void **state)
{
    static const uint64_t want[] = {0};

    start_invite(NET_TCP);
    advance(32000);
    assert_sent_at("INVITE ", want, 1);
    assert_int_equal(F.sent[0].tp, NET_TCP);
    assert_int_equal(ev_count(EV_FAILED), 1);
    assert_int_equal(ev_nth(EV_FAILED, 0)->err, ETIMEDOUT);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
}

/* Calling --1xx--> Proceeding: the response goes up, retransmissions stop and timer B no
 * longer applies (it guards Calling only); the TU ends the transaction (timer C, §16.8). */
static void invite_provisional_stops_retransmissions(void **state)
{
    static const uint64_t want[] = {0, 500};
    struct txn *ct = start_invite(NET_UDP);

    advance(700);
    resp(180, "bobtag", "INVITE");
    assert_int_equal(txn_state_get(ct), TXN_PROCEEDING);
    assert_int_equal(ev_count(EV_RESPONSE), 1);
    assert_int_equal(ev_nth(EV_RESPONSE, 0)->code, 180);
    assert_ptr_equal(ev_nth(EV_RESPONSE, 0)->owner, &owner_cookie);
    resp(183, "bobtag", "INVITE"); /* Proceeding --1xx--> Proceeding, to the TU */
    assert_int_equal(ev_count(EV_RESPONSE), 2);
    advance(120000);
    assert_sent_at("INVITE ", want, 2);
    assert_int_equal(ev_count(EV_FAILED), 0);
    assert_int_equal(txn_state_get(ct), TXN_PROCEEDING);
    sv_ref(ct); /* to look at it afterwards */
    txn_terminate(ct);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
    assert_int_equal(stats()->live, 0);
    txn_terminate(ct); /* already gone: nothing */
    assert_int_equal(ev_count(EV_TERMINATED), 1);
    sv_deref(ct);
}

/* §17.1.1.3: the ACK of a 486, checked header by header. */
static void invite_486_ack_headers(void **state)
{
    struct txn *ct = start_invite(NET_UDP);
    const struct sip_msg *ack, *inv = txn_request_msg(ct);
    struct sv_arena a;
    const struct sip_hdr *h;

    resp(486, "bobtag", "INVITE");
    assert_int_equal(txn_state_get(ct), TXN_COMPLETED);
    assert_int_equal(ev_count(EV_RESPONSE), 1);
    assert_int_equal(ev_nth(EV_RESPONSE, 0)->code, 486);
    assert_int_equal(sent_count("ACK "), 1);
    assert_int_equal(sent_last()->tp, NET_UDP); /* same transport, address and port */
    assert_addr(&sent_last()->dst, "198.51.100.7:5080");

    ack = parse_sent(sent_last(), &a);
    assert_true(ack->req);
    assert_int_equal(ack->mid, SIP_METHOD_ACK);
    assert_slice_equal(ack->ruri_s, "sip:bob@example.com"); /* the INVITE's Request-URI */
    assert_int_equal(ack->count[SIP_HDR_VIA], 1);           /* one Via: the INVITE's top */
    assert_true(sv_slice_eq(ack->via.raw, inv->via.raw));
    assert_slice_equal(sip_msg_hdr(ack, SIP_HDR_FROM)->value,
                       "Alice <sip:alice@example.com>;tag=fromtag1");
    assert_slice_equal(sip_msg_hdr(ack, SIP_HDR_TO)->value,
                       "Bob <sip:bob@example.com>;tag=bobtag"); /* the response's To */
    assert_slice_equal(ack->callid, "call1@example.com");
    assert_int_equal(ack->cseq.num, 1);
    assert_int_equal(ack->cseq.mid, SIP_METHOD_ACK);
    h = sip_msg_hdr(ack, SIP_HDR_ROUTE); /* the INVITE's Route set, in order */
    assert_non_null(h);
    assert_slice_equal(h->value, "<sip:p1.example.com;lr>");
    h = sip_msg_hdr_next(ack, h);
    assert_non_null(h);
    assert_slice_equal(h->value, "<sip:p2.example.com;lr>");
    assert_int_equal(ack->body.l, 0);
    sv_arena_close(&a);
}

/* Completed --300-699--> Completed: each retransmitted final is ACKed again and absorbed;
 * timer D (32 s over UDP) ends Completed. */
static void invite_completed_reacks_until_timer_d(void **state)
{
    struct txn *ct = start_invite(NET_UDP);

    advance(100);
    resp(486, "bobtag", "INVITE");
    advance(400); /* timer A would have fired at 500: not in Completed */
    resp(486, "bobtag", "INVITE");
    advance(1000);
    resp(486, "bobtag", "INVITE");
    assert_int_equal(sent_count("INVITE "), 1);
    assert_int_equal(sent_count("ACK "), 3);
    assert_int_equal(F.sent[1].len, F.sent[2].len); /* the same ACK, byte for byte */
    assert_memory_equal(F.sent[1].buf, F.sent[2].buf, F.sent[1].len);
    assert_int_equal(ev_count(EV_RESPONSE), 1);
    assert_int_equal(stats()->absorbed, 2);
    resp(200, "bobtag", "INVITE"); /* no 2xx after a non-2xx: dropped */
    assert_int_equal(ev_count(EV_RESPONSE), 1);
    advance(32000 - 1400 - 1);
    assert_int_equal(txn_state_get(ct), TXN_COMPLETED);
    advance(1);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
    assert_int_equal(ev_nth(EV_TERMINATED, 0)->at, 100 + 32000);
    assert_int_equal(ev_count(EV_FAILED), 0);
}

/* Timer D is zero over reliable transports: Terminated right after the ACK, the response
 * reaching the TU first. */
static void invite_tcp_486_terminates_at_once(void **state)
{
    start_invite(NET_TCP);
    resp(486, "bobtag", "INVITE");
    assert_int_equal(sent_count("ACK "), 1);
    assert_int_equal(sent_last()->tp, NET_TCP);
    advance(0);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
    assert_true(ev_nth(EV_RESPONSE, 0) < ev_nth(EV_TERMINATED, 0));
    assert_int_equal(stats()->live, 0);
}

/* Proceeding --300-699--> Completed, with the ACK. */
static void invite_proceeding_to_completed(void **state)
{
    struct txn *ct = start_invite(NET_UDP);

    resp(100, NULL, "INVITE");
    resp(603, "bobtag", "INVITE");
    assert_int_equal(txn_state_get(ct), TXN_COMPLETED);
    assert_int_equal(sent_count("ACK "), 1);
    assert_int_equal(ev_count(EV_RESPONSE), 2);
}

/* RFC 6026 §7.2: Calling --2xx--> Accepted; every 2xx, retransmitted or from another fork,
 * goes to the TU; the layer never ACKs a 2xx; timer M (64*T1) ends Accepted. */
static void invite_2xx_accepted_until_timer_m(void **state)
{
    struct txn *ct = start_invite(NET_UDP);

    advance(200);
    resp(200, "bobtag", "INVITE");
    assert_int_equal(txn_state_get(ct), TXN_ACCEPTED);
    resp(200, "bobtag", "INVITE");  /* retransmission */
    resp(200, "carltag", "INVITE"); /* another branch of a fork */
    resp(486, "davetag", "INVITE"); /* not a 2xx: dropped in Accepted */
    resp(180, "bobtag", "INVITE");  /* nor a provisional */
    assert_int_equal(ev_count(EV_RESPONSE), 3);
    assert_int_equal(ev_nth(EV_RESPONSE, 2)->code, 200);
    assert_int_equal(sent_count("ACK "), 0);
    advance(10000);
    assert_int_equal(sent_count("INVITE "), 1); /* timer A stopped */
    advance(64 * T1 - 10000 - 1);
    assert_int_equal(txn_state_get(ct), TXN_ACCEPTED);
    advance(1);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
    assert_int_equal(ev_nth(EV_TERMINATED, 0)->at, 200 + 64 * T1);
    assert_int_equal(ev_count(EV_FAILED), 0);
}

/* Proceeding --2xx--> Accepted, over TCP too (timer M does not depend on the transport). */
static void invite_tcp_proceeding_to_accepted(void **state)
{
    struct txn *ct = start_invite(NET_TCP);

    resp(180, "bobtag", "INVITE");
    resp(200, "bobtag", "INVITE");
    assert_int_equal(txn_state_get(ct), TXN_ACCEPTED);
    advance(64 * T1 - 1);
    assert_int_equal(ev_count(EV_TERMINATED), 0);
    advance(1);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
}

/* §17.1.1.2: a transport error while retransmitting informs the TU and terminates. */
static void invite_transport_error_on_retransmission(void **state)
{
    struct txn *ct = start_invite(NET_UDP);

    (void)ct;
    F.send_err = ENETUNREACH;
    advance(500);
    assert_int_equal(ev_count(EV_FAILED), 1);
    assert_int_equal(ev_nth(EV_FAILED, 0)->err, ENETUNREACH);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
    assert_int_equal(stats()->transport_errors, 1);
    assert_int_equal(stats()->live, 0);
    advance(60000); /* nothing runs any more */
    assert_int_equal(F.nev, 2);
}

/* A failure to send the request itself: the call fails, no transaction, no callback. */
static void request_send_failure_makes_no_transaction(void **state)
{
    struct txn *ct = NULL;
    struct net_addr dst = addr("198.51.100.7:5080");

    F.send_err = EHOSTUNREACH;
    assert_int_equal(txn_request(&ct, F.l, INVITE_US, strlen(INVITE_US), NET_UDP, &dst, NULL),
                     EHOSTUNREACH);
    assert_null(ct);
    advance(64000);
    assert_int_equal(F.nev, 0);
    assert_int_equal(stats()->live, 0);
    assert_int_equal(stats()->created, 0);
}

/* ---- non-INVITE ---- */

/* §17.1.2.2: timer E from T1, doubling up to T2; timer F (64*T1) is a timeout. */
static void noninvite_udp_timer_e_capped_at_t2(void **state)
{
    static const uint64_t want[] = {0,     500,   1500,  3500,  7500, 11500,
                                    15500, 19500, 23500, 27500, 31500};
    struct txn *ct = start_options(NET_UDP);

    assert_int_equal(txn_kind_get(ct), TXN_CLIENT_NONINVITE);
    assert_int_equal(txn_state_get(ct), TXN_TRYING);
    advance(32000);
    assert_sent_at("OPTIONS ", want, SV_ARRAY_SIZE(want));
    assert_int_equal(ev_count(EV_FAILED), 1);
    assert_int_equal(ev_nth(EV_FAILED, 0)->err, ETIMEDOUT);
    assert_int_equal(ev_nth(EV_FAILED, 0)->at, 32000);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
    assert_int_equal(stats()->timeouts, 1);
}

/* Trying --1xx--> Proceeding: timer E goes on, every T2 from its next firing; timer F still
 * ends it with a timeout. */
static void noninvite_proceeding_timer_e_every_t2(void **state)
{
    static const uint64_t want[] = {0, 500, 1500, 5500, 9500, 13500, 17500, 21500, 25500, 29500};
    struct txn *ct = start_options(NET_UDP);

    advance(600);
    resp(100, NULL, "OPTIONS");
    assert_int_equal(txn_state_get(ct), TXN_PROCEEDING);
    assert_int_equal(ev_count(EV_RESPONSE), 1);
    resp(180, NULL, "OPTIONS");
    assert_int_equal(ev_count(EV_RESPONSE), 2); /* Proceeding --1xx--> Proceeding */
    advance(32000 - 600);
    assert_sent_at("OPTIONS ", want, SV_ARRAY_SIZE(want));
    assert_int_equal(ev_count(EV_FAILED), 1);
    assert_int_equal(ev_nth(EV_FAILED, 0)->err, ETIMEDOUT);
}

/* Trying --200-699--> Completed; retransmitted finals are absorbed; timer K (T4 over UDP). */
static void noninvite_final_then_timer_k(void **state)
{
    struct txn *ct = start_options(NET_UDP);

    advance(100);
    resp(200, "bobtag", "OPTIONS");
    assert_int_equal(txn_state_get(ct), TXN_COMPLETED);
    resp(200, "bobtag", "OPTIONS");
    resp(180, "bobtag", "OPTIONS");
    assert_int_equal(ev_count(EV_RESPONSE), 1);
    assert_int_equal(stats()->absorbed, 2);
    advance(T4 - 1);
    assert_int_equal(sent_count("OPTIONS "), 1); /* no timer E in Completed */
    assert_int_equal(ev_count(EV_TERMINATED), 0);
    advance(1);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
    assert_int_equal(ev_nth(EV_TERMINATED, 0)->at, 100 + T4);
}

/* Proceeding --200-699--> Completed. */
static void noninvite_proceeding_to_completed(void **state)
{
    struct txn *ct = start_options(NET_UDP);

    resp(100, NULL, "OPTIONS");
    resp(404, "bobtag", "OPTIONS");
    assert_int_equal(txn_state_get(ct), TXN_COMPLETED);
    assert_int_equal(ev_count(EV_RESPONSE), 2);
    assert_int_equal(sent_count("ACK "), 0); /* only INVITE transactions ACK */
}

/* Over TCP: no timer E, timer F still, timer K zero. */
static void noninvite_tcp_no_retransmission_k_zero(void **state)
{
    struct txn *ct = start_options(NET_TCP);

    advance(20000);
    assert_int_equal(sent_count("OPTIONS "), 1);
    resp(200, "bobtag", "OPTIONS");
    assert_int_equal(txn_state_get(ct), TXN_COMPLETED);
    advance(0);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
}

static void noninvite_tcp_timer_f(void **state)
{
    start_options(NET_TCP);
    advance(32000);
    assert_int_equal(sent_count("OPTIONS "), 1);
    assert_int_equal(ev_count(EV_FAILED), 1);
    assert_int_equal(ev_nth(EV_FAILED, 0)->err, ETIMEDOUT);
}

/* §17.1.4 for non-INVITE. */
static void noninvite_transport_error_on_retransmission(void **state)
{
    start_options(NET_UDP);
    F.send_err = ECONNREFUSED;
    advance(500);
    assert_int_equal(ev_count(EV_FAILED), 1);
    assert_int_equal(ev_nth(EV_FAILED, 0)->err, ECONNREFUSED);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
}

/* ---- matching (§17.1.3) ---- */

/* Branch and CSeq method: a CANCEL shares the INVITE's branch, and each gets its own
 * responses. */
static void response_matched_by_branch_and_method(void **state)
{
    struct txn *inv = start_invite(NET_UDP);
    const char *cancel = req_text("CANCEL", VIA_US, NULL, 1, NULL);
    struct txn *can = start(cancel, NET_UDP);

    assert_ptr_not_equal(inv, can);
    resp(200, "bobtag", "CANCEL");
    assert_int_equal(txn_state_get(can), TXN_COMPLETED);
    assert_int_equal(txn_state_get(inv), TXN_CALLING);
    resp(487, "bobtag", "INVITE");
    assert_int_equal(txn_state_get(inv), TXN_COMPLETED);
    assert_ptr_equal(ev_nth(EV_RESPONSE, 0)->t, can);
    assert_ptr_equal(ev_nth(EV_RESPONSE, 1)->t, inv);
}

/* A response whose branch matches nothing: a 2xx to tu->stray, the rest dropped. */
static void unmatched_2xx_is_stray_others_dropped(void **state)
{
    struct net_flow f = flow_of(NET_UDP, "198.51.100.7:5080");
    const char *via = "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKgone";

    start_invite(NET_UDP);
    recv_on(resp_text(200, via, "bobtag", 1, "INVITE"), &f);
    recv_on(resp_text(486, via, "bobtag", 1, "INVITE"), &f);
    recv_on(resp_text(180, via, "bobtag", 1, "INVITE"), &f);
    recv_on(resp_text(200, VIA_US, "bobtag", 1, "BYE"), &f); /* right branch, wrong method */
    assert_int_equal(ev_count(EV_STRAY), 2);
    assert_int_equal(ev_nth(EV_STRAY, 0)->code, 200);
    assert_int_equal(ev_count(EV_RESPONSE), 0);
    assert_int_equal(stats()->dropped, 2);
}

/* txn_request refuses an ACK, a request without an RFC 3261 branch, a duplicate, junk. */
static void request_rejects_what_is_no_transaction(void **state)
{
    struct txn *ct = NULL;
    struct net_addr dst = addr("198.51.100.7:5080");
    const char *ack = req_text("ACK", VIA_US, "bobtag", 1, NULL);
    const char *old = req_text("OPTIONS", "SIP/2.0/UDP 10.0.0.1;branch=1234", NULL, 1, NULL);
    const char *bare = req_text("OPTIONS", "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK", NULL, 1, NULL);
    const char *resp = resp_text(200, VIA_US, NULL, 1, "OPTIONS");

    assert_int_equal(txn_request(&ct, F.l, ack, strlen(ack), NET_UDP, &dst, NULL), EINVAL);
    assert_int_equal(txn_request(&ct, F.l, old, strlen(old), NET_UDP, &dst, NULL), EINVAL);
    assert_int_equal(txn_request(&ct, F.l, bare, strlen(bare), NET_UDP, &dst, NULL), EINVAL);
    assert_int_equal(txn_request(&ct, F.l, resp, strlen(resp), NET_UDP, &dst, NULL), EINVAL);
    assert_int_equal(txn_request(&ct, F.l, "junk", 4, NET_UDP, &dst, NULL), EBADMSG);
    assert_int_equal(txn_request(&ct, NULL, ack, strlen(ack), NET_UDP, &dst, NULL), EINVAL);
    assert_int_equal(txn_request(&ct, F.l, ack, strlen(ack), NET_UDP, NULL, NULL), EINVAL);
    assert_null(ct);
    start_invite(NET_UDP);
    assert_int_equal(txn_request(&ct, F.l, INVITE_US, strlen(INVITE_US), NET_UDP, &dst, NULL),
                     EEXIST);
    assert_null(ct);
    assert_int_equal(F.nsent, 1);
    assert_int_equal(stats()->created, 1);
}

/* txn_request_ex with the branch the caller wrote: no parse, the transaction matches its
 * responses by that branch and method, leaves from the listener asked for, and a branch that
 * is not in the request is refused. */
static void request_ex_with_known_branch(void **state)
{
    struct txn *ct = NULL;
    struct net_addr dst = addr("198.51.100.7:5080");
    const char *text = req_text("OPTIONS", VIA_US, NULL, 7, NULL);
    char branch[] = "z9hG4bKus0001"; /* a copy: the layer must not keep the caller's memory */
    struct txn_req_opts o = {.src_listener = 3, .branch = sv_slice_cstr(branch)};
    struct txn_req_opts wrong = {.src_listener = -1, .branch = SV_LIT("z9hG4bKnotthere")};

    (void)state;
    assert_int_equal(txn_request_ex(&ct, F.l, text, strlen(text), NET_UDP, &dst, &wrong, NULL),
                     EINVAL);
    assert_null(ct);
    assert_int_equal(txn_request_ex(&ct, F.l, text, strlen(text), NET_UDP, &dst, &o,
                                    &owner_cookie),
                     0);
    memset(branch, 'x', sizeof(branch) - 1);
    assert_int_equal(txn_src_listener(ct), 3);
    assert_int_equal(txn_kind_get(ct), TXN_CLIENT_NONINVITE);
    resp(200, NULL, "OPTIONS");
    assert_int_equal(ev_count(EV_RESPONSE), 1);
    assert_int_equal(ev_nth(EV_RESPONSE, 0)->code, 200);
    assert_ptr_equal(ev_nth(EV_RESPONSE, 0)->owner, &owner_cookie);
}

/* ---- the TU acting from inside callbacks ---- */

static void terminate_in_failed(struct txn *ct, int err)
{
    txn_terminate(ct);
}

/* A TU that terminates the transaction from failed gets terminated exactly once. */
static void failed_callback_may_terminate(void **state)
{
    F.on_failed = terminate_in_failed;
    start_options(NET_TCP);
    advance(32000);
    assert_int_equal(ev_count(EV_FAILED), 1);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
    assert_int_equal(stats()->live, 0);
}

static void terminate_in_response(struct txn *ct, const struct sip_msg *resp)
{
    txn_terminate(ct);
}

/* ... and from response, even on the 486 whose ACK went out before the TU heard of it. */
static void response_callback_may_terminate(void **state)
{
    F.on_response = terminate_in_response;
    start_invite(NET_UDP);
    resp(486, "bobtag", "INVITE");
    assert_int_equal(sent_count("ACK "), 1);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
    resp(486, "bobtag", "INVITE"); /* no transaction left: a non-2xx is dropped */
    assert_int_equal(sent_count("ACK "), 1);
    advance(64000);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
}

/* The TU keeps its own reference past termination: the transaction stays readable. */
static void tu_reference_outlives_termination(void **state)
{
    struct txn *ct = start_options(NET_UDP);

    sv_ref(ct);
    assert_int_equal(sv_nrefs(ct), 2);
    txn_owner_set(ct, &F);
    assert_ptr_equal(txn_owner(ct), &F);
    resp(200, "bobtag", "OPTIONS");
    advance(T4);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
    assert_ptr_equal(ev_nth(EV_TERMINATED, 0)->owner, &F);
    assert_int_equal(sv_nrefs(ct), 1);
    assert_int_equal(txn_state_get(ct), TXN_TERMINATED);
    assert_int_equal(txn_request_msg(ct)->mid, SIP_METHOD_OPTIONS);
    assert_null(txn_flow(ct));
    sv_deref(ct);
}

/* ---- a failed TCP/TLS connection (§17.1.4, §18.4) ---- */

static struct txn *start_on_conn(const char *text, struct net_conn *c)
{
    F.conn = c;
    txn_layer_send_flow_set(F.l, fake_send_flow);
    return start(text, NET_TCP);
}

/* A connect that fails (refused, TLS handshake, timeout) fails the transactions that sent on
 * it at once, with its errno, instead of at timer B/F; the connection is let go. */
static void failed_connection_fails_waiting_transactions_at_once(void **state)
{
    struct net_conn *c = fake_conn();

    (void)state;
    struct txn *inv = start_on_conn(INVITE_US, c);
    struct txn *opt = start_on_conn(req_text("OPTIONS", VIA_US, NULL, 7, NULL), c);
    assert_int_equal(sv_nrefs(c), 3);
    assert_ptr_equal(txn_flow(inv)->conn, c);
    txn_layer_conn_closed(F.l, c, ECONNREFUSED);
    assert_int_equal(ev_count(EV_FAILED), 2);
    assert_int_equal(ev_nth(EV_FAILED, 0)->err, ECONNREFUSED);
    assert_int_equal(ev_nth(EV_FAILED, 1)->err, ECONNREFUSED);
    assert_int_equal(ev_count(EV_TERMINATED), 2);
    assert_int_equal(stats()->live, 0);
    assert_int_equal(stats()->transport_errors, 2);
    (void)opt;
    advance(64 * T1);
    assert_int_equal(ev_count(EV_FAILED), 2); /* no timer B/F later */
    assert_int_equal(sv_nrefs(c), 1);         /* both references went with the transactions */
    sv_deref(c);
}

/* Only the waiting ones: an orderly close, another connection, a transaction that has had a
 * response (Proceeding) or one over UDP are left to their timers. */
static void connection_close_spares_others(void **state)
{
    struct net_conn *c = fake_conn(), *c2 = fake_conn(), *c3 = fake_conn();

    (void)state;
    start_on_conn(INVITE_US, c);
    start_on_conn(req_text("OPTIONS", VIA_US, NULL, 7, NULL), c2);
    struct txn *upd = start_on_conn(req_text("UPDATE", VIA_US, NULL, 9, NULL), c3);
    struct txn *udp = start(req_text("MESSAGE", VIA_US, NULL, 8, NULL), NET_UDP);
    assert_null(txn_flow(udp));
    resp(100, NULL, "INVITE");
    txn_layer_conn_closed(F.l, c2, 0);         /* orderly */
    txn_layer_conn_closed(F.l, c, ECONNRESET); /* the INVITE has had its 100 */
    assert_int_equal(ev_count(EV_FAILED), 0);
    assert_int_equal(stats()->live, 4);
    txn_layer_conn_closed(F.l, c3, ETIMEDOUT);
    assert_int_equal(ev_count(EV_FAILED), 1);
    assert_ptr_equal(ev_nth(EV_FAILED, 0)->t, upd);
    assert_int_equal(ev_nth(EV_FAILED, 0)->err, ETIMEDOUT);
    assert_int_equal(stats()->live, 3);
    txn_layer_free(F.l); /* the others still hold c and c2: freeing the layer lets them go */
    F.l = NULL;
    assert_int_equal(sv_nrefs(c), 1);
    assert_int_equal(sv_nrefs(c2), 1);
    assert_int_equal(sv_nrefs(c3), 1);
    sv_deref(c);
    sv_deref(c2);
    sv_deref(c3);
}

static struct txn *victim;

static void terminate_victim(struct txn *ct, int err)
{
    (void)ct;
    (void)err;
    txn_terminate(victim);
}

/* The TU may terminate another transaction of the same connection from failed. */
static void connection_failure_survives_tu_terminating_others(void **state)
{
    struct net_conn *c = fake_conn();

    (void)state;
    start_on_conn(INVITE_US, c);
    victim = start_on_conn(req_text("OPTIONS", VIA_US, NULL, 7, NULL), c);
    F.on_failed = terminate_victim;
    txn_layer_conn_closed(F.l, c, EPROTO);
    assert_int_equal(ev_count(EV_FAILED), 1);
    assert_int_equal(ev_count(EV_TERMINATED), 2);
    assert_int_equal(stats()->live, 0);
    assert_int_equal(sv_nrefs(c), 1);
    sv_deref(c);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(invite_udp_timer_a_doubles_until_timer_b, txn_setup,
                                    txn_teardown),
    cmocka_unit_test_setup_teardown(invite_tcp_no_retransmission_timer_b, txn_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(invite_provisional_stops_retransmissions, txn_setup,
                                    txn_teardown),
    cmocka_unit_test_setup_teardown(invite_486_ack_headers, txn_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(invite_completed_reacks_until_timer_d, txn_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(invite_tcp_486_terminates_at_once, txn_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(invite_proceeding_to_completed, txn_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(invite_2xx_accepted_until_timer_m, txn_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(invite_tcp_proceeding_to_accepted, txn_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(invite_transport_error_on_retransmission, txn_setup,
                                    txn_teardown),
    cmocka_unit_test_setup_teardown(request_send_failure_makes_no_transaction, txn_setup,
                                    txn_teardown),
    cmocka_unit_test_setup_teardown(noninvite_udp_timer_e_capped_at_t2, txn_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(noninvite_proceeding_timer_e_every_t2, txn_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(noninvite_final_then_timer_k, txn_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(noninvite_proceeding_to_completed, txn_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(noninvite_tcp_no_retransmission_k_zero, txn_setup,
                                    txn_teardown),
    cmocka_unit_test_setup_teardown(noninvite_tcp_timer_f, txn_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(noninvite_transport_error_on_retransmission, txn_setup,
                                    txn_teardown),
    cmocka_unit_test_setup_teardown(response_matched_by_branch_and_method, txn_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(unmatched_2xx_is_stray_others_dropped, txn_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(request_ex_with_known_branch, txn_setup,
                                    txn_teardown),
    cmocka_unit_test_setup_teardown(request_rejects_what_is_no_transaction, txn_setup,
                                    txn_teardown),
    cmocka_unit_test_setup_teardown(failed_callback_may_terminate, txn_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(response_callback_may_terminate, txn_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(tu_reference_outlives_termination, txn_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(failed_connection_fails_waiting_transactions_at_once, txn_setup,
                                    txn_teardown),
    cmocka_unit_test_setup_teardown(connection_close_spares_others, txn_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(connection_failure_survives_tu_terminating_others, txn_setup,
                                    txn_teardown),
};

SV_TEST_MAIN(tests)
