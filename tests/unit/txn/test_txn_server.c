/**
 * @file test_txn_server.c  Server transactions: every edge of the INVITE (RFC 3261 §17.2.1,
 * RFC 6026 §7.1) and non-INVITE (§17.2.2) state machines over UDP and TCP, the intervals of
 * timer G, timers H, I, J and L, absorption of retransmitted requests, transport errors
 * (§17.2.4), and what txn_respond refuses.
 */
#include "txn_test.h"

static struct net_flow udp, tcp;

static int server_setup(void **state)
{
    udp = flow_of(NET_UDP, "192.0.2.1:5070");
    tcp = flow_of(NET_TCP, "192.0.2.1:40001");
    return txn_setup(state);
}

/* The INVITE from 192.0.2.1 (its Via has rport: responses go to the source port). */
static const char *invite(void)
{
    return req_text("INVITE", VIA_A, NULL, 1, NULL);
}

static const char *invite_tcp(void)
{
    return req_text("INVITE", "SIP/2.0/TCP 192.0.2.1:5070;branch=z9hG4bKtcp1", NULL, 1, NULL);
}

static const char *ack(void)
{
    return req_text("ACK", VIA_A, "totag1", 1, NULL);
}

/* Receive @p text on @p flow and return the server transaction it created. */
static struct txn *create(const char *text, const struct net_flow *flow)
{
    unsigned n = ev_count(EV_REQUEST);

    recv_on(text, flow);
    assert_int_equal(ev_count(EV_REQUEST), n + 1);
    return ev_nth(EV_REQUEST, n)->t;
}

/* ---- INVITE ---- */

/* §17.2.1: a new INVITE makes a transaction in Proceeding and goes to the TU; the layer
 * sends no 100 Trying of its own (the proxy TU does, §16.2). */
static void invite_creates_proceeding_sends_nothing(void **state)
{
    struct txn *st = create(invite(), &udp);

    assert_int_equal(txn_kind_get(st), TXN_SERVER_INVITE);
    assert_int_equal(txn_state_get(st), TXN_PROCEEDING);
    assert_int_equal(ev_nth(EV_REQUEST, 0)->mid, SIP_METHOD_INVITE);
    assert_int_equal(F.nsent, 0);
    assert_int_equal(stats()->created, 1);
    assert_int_equal(stats()->live, 1);
    /* the transaction's own parsed copy and flow */
    assert_slice_equal(txn_request_msg(st)->callid, "call1@example.com");
    assert_slice_equal(txn_request_msg(st)->via.branch, "z9hG4bKaaaa1");
    assert_non_null(txn_flow(st));
    assert_int_equal(txn_flow(st)->tp, NET_UDP);
    assert_addr(&txn_flow(st)->peer, "192.0.2.1:5070");
    /* a retransmission before any response: absorbed, nothing to resend */
    recv_on(invite(), &udp);
    assert_int_equal(ev_count(EV_REQUEST), 1);
    assert_int_equal(F.nsent, 0);
    assert_int_equal(stats()->absorbed, 1);
}

/* Proceeding --1xx from TU--> Proceeding; a retransmitted INVITE gets the latest provisional
 * again and never reaches the TU. */
static void invite_retransmission_resends_last_provisional(void **state)
{
    struct txn *st = create(invite(), &udp);

    assert_int_equal(respond(st, 100), 0);
    assert_int_equal(respond(st, 180), 0);
    assert_int_equal(txn_state_get(st), TXN_PROCEEDING);
    recv_on(invite(), &udp);
    recv_on(invite(), &udp);
    assert_int_equal(ev_count(EV_REQUEST), 1);
    assert_int_equal(F.nsent, 4);
    assert_int_equal(strncmp(F.sent[3].buf, "SIP/2.0 180 ", 12), 0);
    assert_int_equal(strncmp(F.sent[2].buf, "SIP/2.0 180 ", 12), 0);
    assert_int_equal(stats()->absorbed, 2);
    assert_int_equal(stats()->retransmitted, 2);
    assert_int_equal(F.sent[0].tp, NET_UDP);
    assert_true(F.sent[0].has_flow);
    assert_addr(&F.sent[0].dst, "192.0.2.1:5070"); /* rport: the source port */
    advance(64000);                                /* provisionals are never retransmitted */
    assert_int_equal(F.nsent, 4);
}

/* Proceeding --300-699--> Completed: timer G from T1, doubling up to T2, until the ACK;
 * Completed --ACK--> Confirmed: no more retransmissions; timer I (T4) to Terminated. */
static void invite_486_timer_g_until_ack_then_timer_i(void **state)
{
    static const uint64_t want[] = {0, 500, 1500, 3500, 7500, 11500};
    struct txn *st = create(invite(), &udp);

    assert_int_equal(respond(st, 486), 0);
    assert_int_equal(txn_state_get(st), TXN_COMPLETED);
    advance(12000);
    recv_on(ack(), &udp);
    assert_int_equal(txn_state_get(st), TXN_CONFIRMED);
    assert_int_equal(ev_count(EV_STRAY), 0);
    assert_int_equal(ev_count(EV_REQUEST), 1);
    recv_on(ack(), &udp); /* Confirmed --ACK--> Confirmed */
    assert_int_equal(stats()->absorbed, 1);
    advance(T4 - 1);
    assert_sent_at("SIP/2.0 486 ", want, SV_ARRAY_SIZE(want));
    assert_int_equal(ev_count(EV_TERMINATED), 0);
    advance(1);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
    assert_int_equal(ev_nth(EV_TERMINATED, 0)->at, 12000 + T4);
    assert_int_equal(stats()->timeouts, 0);
    for (unsigned i = 1; i < F.nsent; i++) /* the same bytes each time */
        assert_string_equal(F.sent[i].buf, F.sent[0].buf);
}

/* Timer H (64*T1) without an ACK: Terminated, reported, counted as a timeout. */
static void invite_486_timer_h_without_ack(void **state)
{
    static const uint64_t want[] = {0,     500,   1500,  3500,  7500, 11500,
                                    15500, 19500, 23500, 27500, 31500};
    struct txn *st = create(invite(), &udp);

    assert_int_equal(respond(st, 486), 0);
    advance(32000);
    assert_sent_at("SIP/2.0 486 ", want, SV_ARRAY_SIZE(want));
    assert_int_equal(ev_count(EV_TERMINATED), 1);
    assert_int_equal(ev_nth(EV_TERMINATED, 0)->at, 32000);
    assert_int_equal(stats()->timeouts, 1);
    assert_int_equal(stats()->live, 0);
    recv_on(ack(), &udp); /* too late: an ACK for nothing */
    assert_int_equal(ev_count(EV_STRAY), 1);
}

/* Completed --INVITE--> Completed: the final response is resent. */
static void invite_completed_retransmission_resends_final(void **state)
{
    struct txn *st = create(invite(), &udp);

    assert_int_equal(respond(st, 180), 0);
    assert_int_equal(respond(st, 404), 0);
    advance(100);
    recv_on(invite(), &udp);
    assert_int_equal(F.nsent, 3);
    assert_int_equal(strncmp(sent_last()->buf, "SIP/2.0 404 ", 12), 0);
    assert_int_equal(sent_last()->at, 100);
    assert_int_equal(ev_count(EV_REQUEST), 1);
}

/* Over TCP: no timer G, timer H still; the ACK moves to Confirmed and timer I is zero. */
static void invite_tcp_486_no_timer_g_timer_i_zero(void **state)
{
    struct txn *st = create(invite_tcp(), &tcp);

    assert_int_equal(respond(st, 486), 0);
    assert_int_equal(F.sent[0].tp, NET_TCP);
    /* the tests hold no live connection: the source address at the sent-by port */
    assert_addr(&F.sent[0].dst, "192.0.2.1:5070");
    advance(20000);
    assert_int_equal(F.nsent, 1);
    recv_on(req_text("ACK", "SIP/2.0/TCP 192.0.2.1:5070;branch=z9hG4bKtcp1", "totag1", 1, NULL),
            &tcp);
    assert_int_equal(txn_state_get(st), TXN_CONFIRMED);
    advance(0);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
}

static void invite_tcp_timer_h(void **state)
{
    struct txn *st = create(invite_tcp(), &tcp);

    assert_int_equal(respond(st, 500), 0);
    advance(64 * T1 - 1);
    assert_int_equal(ev_count(EV_TERMINATED), 0);
    advance(1);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
    assert_int_equal(F.nsent, 1);
    assert_int_equal(stats()->timeouts, 1);
}

/* RFC 6026 §7.1: Proceeding --2xx--> Accepted. Retransmitted INVITEs are absorbed without a
 * resend (2xx retransmissions are the TU's); more 2xx from the TU are sent; anything else is
 * refused; an ACK goes to the TU; timer L (64*T1) ends it. */
static void invite_2xx_accepted_until_timer_l(void **state)
{
    struct txn *st = create(invite(), &udp);

    advance(100);
    assert_int_equal(respond(st, 200), 0);
    assert_int_equal(txn_state_get(st), TXN_ACCEPTED);
    recv_on(invite(), &udp);
    assert_int_equal(F.nsent, 1);
    assert_int_equal(ev_count(EV_REQUEST), 1);
    assert_int_equal(stats()->absorbed, 1);
    advance(500);
    assert_int_equal(F.nsent, 1);          /* no timer G for a 2xx */
    assert_int_equal(respond(st, 200), 0); /* the TU's retransmission */
    assert_int_equal(F.nsent, 2);
    assert_int_equal(respond(st, 180), EINVAL);
    assert_int_equal(respond(st, 486), EINVAL);
    assert_int_equal(F.nsent, 2);
    recv_on(ack(), &udp); /* the 2xx's ACK (here with the INVITE's branch): to the TU */
    assert_int_equal(ev_count(EV_STRAY), 1);
    assert_int_equal(ev_nth(EV_STRAY, 0)->mid, SIP_METHOD_ACK);
    assert_int_equal(txn_state_get(st), TXN_ACCEPTED);
    advance(64 * T1 - 500 - 1);
    assert_int_equal(ev_count(EV_TERMINATED), 0);
    advance(1);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
    assert_int_equal(ev_nth(EV_TERMINATED, 0)->at, 100 + 64 * T1);
    assert_int_equal(stats()->timeouts, 0);
}

/* The usual 2xx ACK has a branch of its own: it matches nothing and goes to the TU. */
static void invite_2xx_ack_with_new_branch_is_stray(void **state)
{
    struct txn *st = create(invite(), &udp);

    assert_int_equal(respond(st, 200), 0);
    recv_on(req_text("ACK", "SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKack2", "totag1", 1, NULL),
            &udp);
    assert_int_equal(ev_count(EV_STRAY), 1);
    assert_int_equal(ev_count(EV_REQUEST), 1); /* never a transaction for an ACK */
    assert_int_equal(stats()->created, 1);
}

/* An ACK while still in Proceeding has nothing to acknowledge: dropped. */
static void invite_ack_in_proceeding_dropped(void **state)
{
    struct txn *st = create(invite(), &udp);

    recv_on(ack(), &udp);
    assert_int_equal(txn_state_get(st), TXN_PROCEEDING);
    assert_int_equal(ev_count(EV_STRAY), 0);
    assert_int_equal(stats()->dropped, 1);
}

/* §17.2.4: a failure to send a response terminates the transaction, from the wheel (not
 * from inside txn_respond); the error goes back to the caller. */
static void invite_respond_send_failure_terminates(void **state)
{
    struct txn *st = create(invite(), &udp);

    F.send_err = ENOBUFS;
    assert_int_equal(respond(st, 486), ENOBUFS);
    assert_int_equal(ev_count(EV_TERMINATED), 0);
    advance(0);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
    assert_int_equal(stats()->transport_errors, 1);
    assert_int_equal(stats()->live, 0);
}

/* A transport error on a timer G retransmission terminates too. */
static void invite_timer_g_send_failure_terminates(void **state)
{
    struct txn *st = create(invite(), &udp);

    assert_int_equal(respond(st, 486), 0);
    F.send_err = EHOSTUNREACH;
    advance(500);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
    assert_int_equal(stats()->transport_errors, 1);
    advance(64000);
    assert_int_equal(F.nev, 2);
}

/* Over TCP a 2xx moves to Accepted all the same; timer L does not depend on the transport. */
static void invite_tcp_2xx_accepted_timer_l(void **state)
{
    struct txn *st = create(invite_tcp(), &tcp);

    assert_int_equal(respond(st, 183), 0);
    assert_int_equal(respond(st, 200), 0);
    assert_int_equal(txn_state_get(st), TXN_ACCEPTED);
    recv_on(invite_tcp(), &tcp);
    assert_int_equal(F.nsent, 2);
    advance(64 * T1 - 1);
    assert_int_equal(ev_count(EV_TERMINATED), 0);
    advance(1);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
}

/* ---- non-INVITE ---- */

static const char *options(void)
{
    return req_text("OPTIONS", VIA_A, NULL, 5, NULL);
}

/* §17.2.2: Trying absorbs retransmissions silently. */
static void noninvite_trying_absorbs(void **state)
{
    struct txn *st = create(options(), &udp);

    assert_int_equal(txn_kind_get(st), TXN_SERVER_NONINVITE);
    assert_int_equal(txn_state_get(st), TXN_TRYING);
    recv_on(options(), &udp);
    recv_on(options(), &udp);
    assert_int_equal(ev_count(EV_REQUEST), 1);
    assert_int_equal(F.nsent, 0);
    assert_int_equal(stats()->absorbed, 2);
}

/* Trying --1xx--> Proceeding: retransmissions get the last provisional; Proceeding --1xx-->
 * Proceeding; Proceeding --final--> Completed: retransmissions get the final; timer J
 * (64*T1 over UDP) ends it; a second final is refused. */
static void noninvite_proceeding_completed_timer_j(void **state)
{
    struct txn *st = create(options(), &udp);

    assert_int_equal(respond(st, 100), 0);
    assert_int_equal(txn_state_get(st), TXN_PROCEEDING);
    assert_int_equal(respond(st, 183), 0);
    recv_on(options(), &udp);
    assert_int_equal(strncmp(sent_last()->buf, "SIP/2.0 183 ", 12), 0);
    advance(100);
    assert_int_equal(respond(st, 200), 0);
    assert_int_equal(txn_state_get(st), TXN_COMPLETED);
    assert_int_equal(respond(st, 500), EINVAL); /* "discarded" in Completed */
    recv_on(options(), &udp);
    assert_int_equal(F.nsent, 5);
    assert_int_equal(strncmp(sent_last()->buf, "SIP/2.0 200 ", 12), 0);
    advance(20000);
    assert_int_equal(F.nsent, 5); /* no retransmission timer for non-INVITE responses */
    advance(64 * T1 - 20000 - 1);
    assert_int_equal(ev_count(EV_TERMINATED), 0);
    advance(1);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
    assert_int_equal(ev_nth(EV_TERMINATED, 0)->at, 100 + 64 * T1);
    assert_int_equal(ev_count(EV_REQUEST), 1);
}

/* Completed, a non-INVITE transaction lets its request go, bytes and parse
 * (txn__server_compact: timer J's 32 s need only the top Via and the method, which it copied
 * when it was created); a retransmission still matches, by branch, sent-by and method, and
 * gets the final response, and a request with another branch, sent-by or method does not. */
static void noninvite_completed_keeps_what_matching_needs(void **state)
{
    struct txn *st = create(options(), &udp);
    const struct sip_msg *before = txn_request_msg(st);

    assert_non_null(before);
    assert_int_equal(respond(st, 200), 0);
    assert_int_equal(txn_state_get(st), TXN_COMPLETED);
    assert_null(txn_request_msg(st));
    recv_on(options(), &udp);
    assert_int_equal(stats()->absorbed, 1);
    assert_int_equal(strncmp(sent_last()->buf, "SIP/2.0 200 ", 12), 0);
    assert_int_equal(ev_count(EV_REQUEST), 1);
    recv_on(req_text("OPTIONS", "SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKaaaa2;rport", NULL, 5,
                     NULL),
            &udp); /* another branch: a new transaction */
    assert_int_equal(ev_count(EV_REQUEST), 2);
    recv_on(req_text("OPTIONS", "SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bKaaaa1;rport", NULL, 5,
                     NULL),
            &udp); /* the same branch from another sent-by */
    assert_int_equal(ev_count(EV_REQUEST), 3);
    recv_on(req_text("INFO", VIA_A, NULL, 5, NULL), &udp); /* the same branch, another method */
    assert_int_equal(ev_count(EV_REQUEST), 4);
    assert_int_equal(stats()->absorbed, 1);
}

/* With a linger grain (struct txn_timers), timer J ends on the next multiple of the grain
 * of wheel time at or after 64*T1, never before: 100 + 32000 = 32100 becomes 32256. A timer
 * already on the grain keeps its time. */
static void linger_grain_rounds_timer_j_up(void **state)
{
    struct txn_timers tm = {T1, T2, T4, 256};
    struct txn *st;

    (void)state;
    assert_int_equal(txn_layer_timers_set(F.l, &tm), 0);
    st = create(options(), &udp);
    advance(100);
    assert_int_equal(respond(st, 200), 0);
    advance(64 * T1 - 1);
    assert_int_equal(ev_count(EV_TERMINATED), 0);
    advance(32256 - 100 - 64 * T1);
    assert_int_equal(ev_count(EV_TERMINATED), 0);
    advance(1);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
    assert_int_equal(ev_nth(EV_TERMINATED, 0)->at, 32256);
    advance(256 * 200 - F.now); /* a multiple of 256 again: 64*T1 = 125 grains, no rounding */
    st = create(options(), &udp);
    assert_int_equal(respond(st, 200), 0);
    advance(64 * T1);
    assert_int_equal(ev_count(EV_TERMINATED), 2);
    assert_int_equal(ev_nth(EV_TERMINATED, 1)->at, 256 * 200 + 64 * T1);
}

/* Trying --final--> Completed directly; over TCP timer J is zero. */
static void noninvite_tcp_final_terminates_at_once(void **state)
{
    struct txn *st = create(
        req_text("REGISTER", "SIP/2.0/TCP h.example.com;branch=z9hG4bKr1", NULL, 9, NULL), &tcp);

    assert_int_equal(respond(st, 401), 0);
    assert_int_equal(txn_state_get(st), TXN_COMPLETED);
    assert_int_equal(ev_count(EV_TERMINATED), 0); /* not from inside txn_respond */
    advance(0);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
    assert_addr(&F.sent[0].dst, "192.0.2.1:5060"); /* no live connection: sent-by's default */
}

/* §17.2.4: resending the last response for a retransmitted request fails: Terminated. */
static void noninvite_resend_failure_terminates(void **state)
{
    struct txn *st = create(options(), &udp);

    assert_int_equal(respond(st, 100), 0);
    F.send_err = ECONNREFUSED;
    recv_on(options(), &udp);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
    assert_int_equal(stats()->transport_errors, 1);
    F.send_err = 0;
    recv_on(options(), &udp); /* a new transaction now */
    assert_int_equal(ev_count(EV_REQUEST), 2);
}

static void respond_in_request(struct txn *st, const struct sip_msg *req)
{
    assert_int_equal(respond(st, 200), 0);
}

/* The TU may answer from inside tu->request. */
static void noninvite_respond_from_request_callback(void **state)
{
    F.on_request = respond_in_request;
    recv_on(options(), &udp);
    assert_int_equal(F.nsent, 1);
    assert_int_equal(txn_state_get(ev_nth(EV_REQUEST, 0)->t), TXN_COMPLETED);
    recv_on(options(), &udp);
    assert_int_equal(F.nsent, 2);
    assert_int_equal(ev_count(EV_REQUEST), 1);
}

/* What txn_respond refuses. */
static void respond_refuses_bad_calls(void **state)
{
    struct txn *st = create(options(), &udp);
    struct txn *ct = NULL;
    struct net_addr dst = addr("198.51.100.7:5080");
    const char *req = req_text("OPTIONS", VIA_US, NULL, 1, NULL);
    char buf[1024];
    size_t n;

    assert_int_equal(sip_resp_build(txn_request_msg(st), 200, "OK", SV_LIT("t"), SV_LIT(""), buf,
                                    sizeof(buf), &n),
                     0);
    assert_int_equal(txn_respond(NULL, 200, buf, n), EINVAL);
    assert_int_equal(txn_respond(st, 99, buf, n), EINVAL);
    assert_int_equal(txn_respond(st, 700, buf, n), EINVAL);
    assert_int_equal(txn_respond(st, 200, NULL, n), EINVAL);
    assert_int_equal(txn_respond(st, 200, buf, 0), EINVAL);
    assert_int_equal(txn_request(&ct, F.l, req, strlen(req), NET_UDP, &dst, NULL), 0);
    assert_int_equal(txn_respond(ct, 200, buf, n), EINVAL); /* a client transaction */
    assert_int_equal(F.nsent, 1);
    assert_int_equal(txn_state_get(st), TXN_TRYING);
}

/* One tu->terminated per transaction, and the TU's own reference keeps it readable after;
 * a call on it then fails. */
static void terminated_once_and_tu_reference(void **state)
{
    struct txn *st = create(options(), &udp);

    sv_ref(st);
    assert_int_equal(respond(st, 200), 0);
    advance(64 * T1);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
    assert_ptr_equal(ev_nth(EV_TERMINATED, 0)->t, st);
    assert_int_equal(sv_nrefs(st), 1);
    assert_int_equal(txn_state_get(st), TXN_TERMINATED);
    assert_int_equal(respond(st, 200), EINVAL);
    txn_terminate(st);
    advance(64 * T1);
    assert_int_equal(ev_count(EV_TERMINATED), 1);
    sv_deref(st);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(invite_creates_proceeding_sends_nothing, server_setup,
                                    txn_teardown),
    cmocka_unit_test_setup_teardown(invite_retransmission_resends_last_provisional, server_setup,
                                    txn_teardown),
    cmocka_unit_test_setup_teardown(invite_486_timer_g_until_ack_then_timer_i, server_setup,
                                    txn_teardown),
    cmocka_unit_test_setup_teardown(invite_486_timer_h_without_ack, server_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(invite_completed_retransmission_resends_final, server_setup,
                                    txn_teardown),
    cmocka_unit_test_setup_teardown(invite_tcp_486_no_timer_g_timer_i_zero, server_setup,
                                    txn_teardown),
    cmocka_unit_test_setup_teardown(invite_tcp_timer_h, server_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(invite_2xx_accepted_until_timer_l, server_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(invite_2xx_ack_with_new_branch_is_stray, server_setup,
                                    txn_teardown),
    cmocka_unit_test_setup_teardown(invite_ack_in_proceeding_dropped, server_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(invite_respond_send_failure_terminates, server_setup,
                                    txn_teardown),
    cmocka_unit_test_setup_teardown(invite_timer_g_send_failure_terminates, server_setup,
                                    txn_teardown),
    cmocka_unit_test_setup_teardown(invite_tcp_2xx_accepted_timer_l, server_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(noninvite_trying_absorbs, server_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(noninvite_resend_failure_terminates, server_setup,
                                    txn_teardown),
    cmocka_unit_test_setup_teardown(linger_grain_rounds_timer_j_up, server_setup,
                                    txn_teardown),
    cmocka_unit_test_setup_teardown(noninvite_completed_keeps_what_matching_needs, server_setup,
                                    txn_teardown),
    cmocka_unit_test_setup_teardown(noninvite_proceeding_completed_timer_j, server_setup,
                                    txn_teardown),
    cmocka_unit_test_setup_teardown(noninvite_tcp_final_terminates_at_once, server_setup,
                                    txn_teardown),
    cmocka_unit_test_setup_teardown(noninvite_respond_from_request_callback, server_setup,
                                    txn_teardown),
    cmocka_unit_test_setup_teardown(respond_refuses_bad_calls, server_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(terminated_once_and_tu_reference, server_setup, txn_teardown),
};

SV_TEST_MAIN(tests)
