/**
 * @file test_txn_layer.c  The layer itself: arguments, default timers, state names, freeing
 * a layer with live transactions (silently; references held by the TU survive), and the
 * out-of-memory sweeps of every allocating path (fail allocation N = 0, 1, 2... until the
 * call succeeds; only ENOMEM or a drop is acceptable, and LSan checks that nothing leaks).
 */
#include "txn_test.h"

static void alloc_rejects_bad_arguments(void **state)
{
    struct sv_wheel *w;
    struct txn_layer *l = NULL;
    struct txn_tu no_request = {.terminated = tu_terminated};
    struct txn_timers t1_zero = {0, 4000, 5000, 0}, t2_small = {500, 400, 5000, 0},
                      t4_zero = {500, 4000, 0, 0};

    assert_int_equal(sv_wheel_alloc(&w, 0), 0);
    assert_int_equal(txn_layer_alloc(NULL, w, NULL, fake_send, NULL, &test_tu, NULL), EINVAL);
    assert_int_equal(txn_layer_alloc(&l, NULL, NULL, fake_send, NULL, &test_tu, NULL), EINVAL);
    assert_int_equal(txn_layer_alloc(&l, w, NULL, NULL, NULL, &test_tu, NULL), EINVAL);
    assert_int_equal(txn_layer_alloc(&l, w, NULL, fake_send, NULL, NULL, NULL), EINVAL);
    assert_int_equal(txn_layer_alloc(&l, w, NULL, fake_send, NULL, &no_request, NULL), EINVAL);
    assert_int_equal(txn_layer_alloc(&l, w, &t1_zero, fake_send, NULL, &test_tu, NULL), EINVAL);
    assert_int_equal(txn_layer_alloc(&l, w, &t2_small, fake_send, NULL, &test_tu, NULL), EINVAL);
    assert_int_equal(txn_layer_alloc(&l, w, &t4_zero, fake_send, NULL, &test_tu, NULL), EINVAL);
    assert_null(l);
    for (long n = 0;; n++) { /* and ENOMEM at each allocation */
        sv_mem_fail_after(n);
        int err = txn_layer_alloc(&l, w, NULL, fake_send, NULL, &test_tu, NULL);
        sv_mem_fail_after(-1);
        if (!err)
            break;
        assert_int_equal(err, ENOMEM);
        assert_null(l);
    }
    txn_layer_free(l);
    txn_layer_free(NULL);
    sv_wheel_free(w);
}

/* RFC 3261 §17.1.1.1 and Appendix A: T1 500 ms, T2 4 s, T4 5 s by default. */
static void default_timers(void **state)
{
    struct txn_layer *l;
    struct txn *ct;
    struct net_addr dst = addr("198.51.100.7:5080");
    const char *req = req_text("OPTIONS", VIA_US, NULL, 1, NULL);
    static const uint64_t want[] = {0, 500, 1500, 3500, 7500, 11500};

    assert_int_equal(txn_timers_default.t1_ms, 500);
    assert_int_equal(txn_timers_default.t2_ms, 4000);
    assert_int_equal(txn_timers_default.t4_ms, 5000);
    assert_int_equal(txn_layer_alloc(&l, F.w, NULL, fake_send, NULL, &test_tu, &F), 0);
    txn_layer_free(F.l);
    F.l = l;
    assert_int_equal(txn_request(&ct, F.l, req, strlen(req), NET_UDP, &dst, NULL), 0);
    advance(12000);
    assert_sent_at("OPTIONS ", want, SV_ARRAY_SIZE(want));
}

static void state_names(void **state)
{
    assert_string_equal(txn_state_name(TXN_CALLING), "Calling");
    assert_string_equal(txn_state_name(TXN_TRYING), "Trying");
    assert_string_equal(txn_state_name(TXN_PROCEEDING), "Proceeding");
    assert_string_equal(txn_state_name(TXN_COMPLETED), "Completed");
    assert_string_equal(txn_state_name(TXN_CONFIRMED), "Confirmed");
    assert_string_equal(txn_state_name(TXN_ACCEPTED), "Accepted");
    assert_string_equal(txn_state_name(TXN_TERMINATED), "Terminated");
    assert_string_equal(txn_state_name((enum txn_state)99), "?");
}

/* txn_layer_free terminates everything without a callback; what the TU still holds stays
 * readable, and calls on it fail without reaching the TU. */
static void free_with_live_transactions_is_silent(void **state)
{
    struct net_flow udp = flow_of(NET_UDP, "192.0.2.1:5070");
    struct net_addr dst = addr("198.51.100.7:5080");
    const char *req = req_text("INVITE", VIA_US, NULL, 1, NULL);
    struct txn *st, *st2, *ct;

    recv_on(req_text("INVITE", VIA_A, NULL, 1, NULL), &udp);
    recv_on(req_text("OPTIONS", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKo", NULL, 1, NULL), &udp);
    st = ev_nth(EV_REQUEST, 0)->t;
    st2 = ev_nth(EV_REQUEST, 1)->t;
    assert_int_equal(respond(st2, 486), 0);
    assert_int_equal(txn_request(&ct, F.l, req, strlen(req), NET_UDP, &dst, NULL), 0);
    sv_ref(st);
    sv_ref(ct);
    txn_layer_free(F.l);
    F.l = NULL;
    assert_int_equal(ev_count(EV_TERMINATED), 0);
    assert_int_equal(txn_state_get(st), TXN_TERMINATED);
    assert_int_equal(txn_state_get(ct), TXN_TERMINATED);
    assert_int_equal(sv_nrefs(st), 1);
    assert_int_equal(respond(st, 200), EINVAL);
    txn_terminate(st);
    txn_terminate(ct);
    assert_int_equal(F.nev, 2); /* the two requests, nothing since */
    assert_slice_equal(txn_request_msg(st)->via.branch, "z9hG4bKaaaa1");
    assert_non_null(txn_flow(st));
    advance(64000); /* their timers were stopped */
    assert_int_equal(F.nev, 2);
    sv_deref(st);
    sv_deref(ct);
}

/* A request without a flow has nowhere to be answered; NULL arguments are ignored. */
static void recv_without_flow_dropped(void **state)
{
    struct sv_arena a;
    struct sip_msg *m = NULL;
    const char *s = req_text("OPTIONS", VIA_A, NULL, 1, NULL);

    sv_arena_init(&a, NULL, 0);
    assert_int_equal(sip_msg_parse(&m, &a, s, strlen(s), SIP_DGRAM, NULL, NULL), 0);
    txn_layer_recv(F.l, m, NULL);
    txn_layer_recv(F.l, NULL, NULL);
    txn_layer_recv(NULL, m, NULL);
    sv_arena_close(&a);
    assert_int_equal(F.nev, 0);
    assert_int_equal(stats()->dropped, 1);
}

/* ---- out of memory ---- */

/* Receive @p s with allocation @p n failing. */
static void recv_failing(const char *s, const struct net_flow *flow, long n)
{
    struct sv_arena a;
    struct sip_msg *m = NULL;

    sv_arena_init(&a, NULL, 0);
    assert_int_equal(sip_msg_parse(&m, &a, s, strlen(s), SIP_DGRAM, NULL, NULL), 0);
    sv_mem_fail_after(n);
    txn_layer_recv(F.l, m, flow);
    sv_mem_fail_after(-1);
    sv_arena_close(&a);
}

/* A new request without memory for its transaction is dropped (the peer retransmits). */
static void oom_sweep_server_request(void **state)
{
    struct net_flow udp = flow_of(NET_UDP, "192.0.2.1:5070");
    const char *s = req_text("INVITE", VIA_A, NULL, 1, NULL);
    long n;

    for (n = 0; ev_count(EV_REQUEST) == 0; n++) {
        recv_failing(s, &udp, n);
        assert_int_equal(stats()->dropped + ev_count(EV_REQUEST), (unsigned long)n + 1);
    }
    assert_true(n > 1);
    assert_int_equal(stats()->live, 1);
}

/* txn_request fails with ENOMEM and nothing sent, or succeeds. */
static void oom_sweep_client_request(void **state)
{
    struct net_addr dst = addr("198.51.100.7:5080");
    const char *s = req_text("INVITE", VIA_US, NULL, 1, NULL);
    struct txn *ct = NULL;
    int err;

    for (long n = 0;; n++) {
        sv_mem_fail_after(n);
        err = txn_request(&ct, F.l, s, strlen(s), NET_UDP, &dst, NULL);
        sv_mem_fail_after(-1);
        if (!err)
            break;
        assert_int_equal(err, ENOMEM);
        assert_null(ct);
        assert_int_equal(F.nsent, 0);
    }
    assert_non_null(ct);
    assert_int_equal(stats()->live, 1);
}

/* txn_respond without memory to keep the response: ENOMEM, nothing sent, state unchanged;
 * the TU may try again. */
static void oom_sweep_respond(void **state)
{
    struct net_flow udp = flow_of(NET_UDP, "192.0.2.1:5070");
    struct txn *st;
    int err;

    recv_on(req_text("INVITE", VIA_A, NULL, 1, NULL), &udp);
    st = ev_nth(EV_REQUEST, 0)->t;
    for (long n = 0;; n++) {
        sv_mem_fail_after(n);
        err = respond(st, 486);
        sv_mem_fail_after(-1);
        if (!err)
            break;
        assert_int_equal(err, ENOMEM);
        assert_int_equal(txn_state_get(st), TXN_PROCEEDING);
        assert_int_equal(F.nsent, 0);
    }
    assert_int_equal(txn_state_get(st), TXN_COMPLETED);
}

/* The 486 with no memory for its ACK: the state machine still moves (the ACK goes out with
 * the next retransmission of the 486). */
static void oom_sweep_ack(void **state)
{
    struct net_addr dst = addr("198.51.100.7:5080");
    struct net_flow f = flow_of(NET_UDP, "198.51.100.7:5080");
    const char *s = req_text("INVITE", VIA_US, NULL, 1, NULL);
    const char *r = resp_text(486, VIA_US, "bobtag", 1, "INVITE");
    struct txn *ct;
    long n;

    for (n = 0; sent_count("ACK ") == 0; n++) {
        assert_int_equal(txn_request(&ct, F.l, s, strlen(s), NET_UDP, &dst, NULL), 0);
        recv_failing(r, &f, n);
        assert_int_equal(txn_state_get(ct), TXN_COMPLETED);
        if (sent_count("ACK ") == 0) {
            recv_on(r, &f); /* the retransmission brings the ACK */
            assert_int_equal(sent_count("ACK "), 1);
            sent_clear();
        }
        txn_terminate(ct);
    }
    assert_true(n > 1);
}

/* A CANCEL matching nothing, with allocations failing: dropped, or answered 481. */
static void oom_sweep_cancel_481(void **state)
{
    struct net_flow udp = flow_of(NET_UDP, "192.0.2.1:5070");
    const char *s = req_text("CANCEL", VIA_A, NULL, 1, NULL);

    for (long n = 0; F.nsent == 0; n++) {
        recv_failing(s, &udp, n);
        if (!F.nsent && stats()->live) {
            /* the transaction exists but its 481 failed: clear it for the next round */
            advance(64 * T1);
        }
    }
    assert_int_equal(strncmp(F.sent[0].buf, "SIP/2.0 481 ", 12), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(alloc_rejects_bad_arguments),
    cmocka_unit_test_setup_teardown(default_timers, txn_setup, txn_teardown),
    cmocka_unit_test(state_names),
    cmocka_unit_test_setup_teardown(free_with_live_transactions_is_silent, txn_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(recv_without_flow_dropped, txn_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(oom_sweep_server_request, txn_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(oom_sweep_client_request, txn_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(oom_sweep_respond, txn_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(oom_sweep_ack, txn_setup, txn_teardown),
    cmocka_unit_test_setup_teardown(oom_sweep_cancel_481, txn_setup, txn_teardown),
};

SV_TEST_MAIN(tests)
