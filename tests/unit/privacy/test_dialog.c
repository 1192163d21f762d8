/**
 * @file test_dialog.c  The dialog privacy store (R74-R79, TC-23, TC-24): put and find by
 * either tag, the end-of-dialog linger, the lifetime bound, the limit, sweeping, out of
 * memory, and four threads at once.
 *
 * Time is always an explicit now_ms, so no case sleeps. Leaks are LeakSanitizer's to find,
 * as in the other unit tests; the threaded case is also meant to run under ThreadSanitizer
 * (-DSIPVEIL_SANITIZER=thread).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "svtest_privacy.h"
#include <sipveil/privacy_dialog.h>

uint64_t privacy__siphash(uint64_t k0, uint64_t k1, const void *data, size_t len, unsigned c,
                          unsigned d);

#define T0 1000000u
#define LIFETIME 60000u
#define LINGER 32000u

static const struct sv_slice none = {NULL, 0};

static struct privdlg_store *store(size_t max)
{
    struct privdlg_conf c = {.max_dialogs = max, .lifetime_ms = LIFETIME, .linger_ms = LINGER};
    struct privdlg_store *s = NULL;

    assert_int_equal(privdlg_store_alloc(&s, &c), 0);
    assert_non_null(s);
    return s;
}

static int put(struct privdlg_store *s, const char *cid, const char *tag, unsigned funcs,
               uint64_t now)
{
    return privdlg_put(s, sv_test_heap(cid), sv_test_heap(tag), funcs, now);
}

/* Find with tags given as C strings; NULL: the tag is absent. */
static bool find(struct privdlg_store *s, const char *cid, const char *from, const char *to,
                 uint64_t now, struct privdlg_found *f)
{
    return privdlg_find(s, sv_test_heap(cid), from ? sv_test_heap(from) : none,
                        to ? sv_test_heap(to) : none, now, f);
}

static bool end(struct privdlg_store *s, const char *cid, const char *from, const char *to,
                uint64_t now)
{
    return privdlg_end(s, sv_test_heap(cid), from ? sv_test_heap(from) : none,
                       to ? sv_test_heap(to) : none, now);
}

/* ---- matching ------------------------------------------------------------------------- */

/* R74, TC-23: a later request from the anonymous party (its From tag) finds the state. */
static void r74_put_then_find_by_from_tag(void **state)
{
    struct privdlg_store *s = store(0);
    struct privdlg_found f;

    assert_int_equal(put(s, "c1@anonymous.invalid", "a1", SIP_PRIV_ID | SIP_PRIV_USER, T0), 0);
    assert_int_equal(privdlg_count(s), 1);
    memset(&f, 0xa5, sizeof(f));
    assert_true(find(s, "c1@anonymous.invalid", "a1", "b1", T0 + 1, &f));
    assert_int_equal(f.funcs, SIP_PRIV_ID | SIP_PRIV_USER);
    assert_int_equal(f.side, PRIVDLG_SIDE_FROM);
    assert_slice_equal(sv_slice_make(f.tag_buf, f.tag_len), "a1");
    /* The 2xx ACK and the creating request's retransmission carry no To tag or the same. */
    assert_true(find(s, "c1@anonymous.invalid", "a1", NULL, T0 + 2, NULL));
    privdlg_store_free(s);
}

/* R75, TC-23b, TC-24: the other party's requests and the anonymous party's responses carry
 * the anonymous tag in To; they find the state by it. */
static void r75_find_by_to_tag(void **state)
{
    struct privdlg_store *s = store(0);
    struct privdlg_found f;

    assert_int_equal(put(s, "c1", "a1", SIP_PRIV_ID, T0), 0);
    assert_true(find(s, "c1", "b1", "a1", T0 + 1, &f));
    assert_int_equal(f.side, PRIVDLG_SIDE_TO);
    assert_int_equal(f.funcs, SIP_PRIV_ID);
    assert_slice_equal(sv_slice_make(f.tag_buf, f.tag_len), "a1");
    privdlg_store_free(s);
}

/* Another Call-ID, or tags that are not the anonymous one, find nothing. Call-IDs compare
 * byte by byte (RFC 3261 §8.1.1.4), so one in other case is another dialog. */
static void r75_other_callid_or_tags_not_found(void **state)
{
    struct privdlg_store *s = store(0);

    assert_int_equal(put(s, "c1@h", "a1", SIP_PRIV_ID, T0), 0);
    assert_false(find(s, "c2@h", "a1", NULL, T0, NULL));
    assert_false(find(s, "C1@h", "a1", NULL, T0, NULL));
    assert_false(find(s, "c1@h", "b1", "b2", T0, NULL));
    assert_false(find(s, "c1@h", NULL, NULL, T0, NULL));
    assert_false(find(s, "c1@h", "a12", "a", T0, NULL)); /* no prefix matches */
    assert_false(privdlg_find(s, sv_slice_make("c1@h", 0), SV_LIT("a1"), none, T0, NULL));
    privdlg_store_free(s);
}

/* Tags are tokens and compare case-insensitively (RFC 3261 §7.3.1). privdlg_found_dialog then
 * names the tag as the message spells it, so the engine's byte comparison agrees. */
static void r75_tags_compare_case_insensitively(void **state)
{
    struct privdlg_store *s = store(0);
    struct privdlg_found f;
    struct privacy_dialog d;

    assert_int_equal(put(s, "c1", "aBc1", SIP_PRIV_USER, T0), 0);
    assert_true(find(s, "c1", "b1", "ABC1", T0, &f));
    assert_int_equal(f.side, PRIVDLG_SIDE_TO);
    assert_slice_equal(sv_slice_make(f.tag_buf, f.tag_len), "aBc1");
    d = privdlg_found_dialog(&f, SV_LIT("b1"), SV_LIT("ABC1"));
    assert_int_equal(d.funcs, SIP_PRIV_USER);
    assert_slice_equal(d.anon_tag, "ABC1");

    assert_true(find(s, "c1", "abc1", NULL, T0, &f));
    d = privdlg_found_dialog(&f, SV_LIT("abc1"), none);
    assert_slice_equal(d.anon_tag, "abc1");
    /* The same dialog-creating request in other case is no new entry. */
    assert_int_equal(put(s, "c1", "ABC1", SIP_PRIV_ID, T0), 0);
    assert_int_equal(privdlg_count(s), 1);
    privdlg_store_free(s);
}

/* Two dialogs of one Call-ID (rare, but allowed) are kept apart by their tags; a message
 * whose From and To both name one takes the From one. */
static void r74_two_dialogs_in_one_callid(void **state)
{
    struct privdlg_store *s = store(0);
    struct privdlg_found f;

    assert_int_equal(put(s, "c1", "a1", SIP_PRIV_ID, T0), 0);
    assert_int_equal(put(s, "c1", "b1", SIP_PRIV_USER, T0), 0);
    assert_int_equal(privdlg_count(s), 2);
    assert_true(find(s, "c1", "x", "a1", T0, &f));
    assert_int_equal(f.funcs, SIP_PRIV_ID);
    assert_true(find(s, "c1", "b1", "x", T0, &f));
    assert_int_equal(f.funcs, SIP_PRIV_USER);
    assert_true(find(s, "c1", "a1", "b1", T0, &f));
    assert_int_equal(f.funcs, SIP_PRIV_ID);
    assert_int_equal(f.side, PRIVDLG_SIDE_FROM);
    assert_true(find(s, "c1", "b1", "a1", T0, &f));
    assert_int_equal(f.funcs, SIP_PRIV_USER);
    privdlg_store_free(s);
}

/* A retransmission or a second branch of a fork puts again: one entry, functions ORed. */
static void r74_second_put_ors_funcs(void **state)
{
    struct privdlg_store *s = store(0);
    struct privdlg_found f;

    assert_int_equal(put(s, "c1", "a1", SIP_PRIV_ID, T0), 0);
    assert_int_equal(put(s, "c1", "a1", SIP_PRIV_USER, T0 + 10), 0);
    assert_int_equal(put(s, "c1", "a1", 0, T0 + 20), 0);
    assert_int_equal(privdlg_count(s), 1);
    assert_true(find(s, "c1", "a1", NULL, T0 + 30, &f));
    assert_int_equal(f.funcs, SIP_PRIV_ID | SIP_PRIV_USER);
    privdlg_store_free(s);
}

/* TC-24 through the store and the engine: Alice's P-CSCF stored `id` for Call-ID c1 and her
 * tag a1; Alice's 200 OK to Bob's re-INVITE carries no Privacy header and her tag in To, here
 * in other case. The store finds the dialog, privdlg_found_dialog names the tag as the
 * message spells it, and the engine removes her PAI toward Bob. */
static void tc24_store_feeds_the_engine(void **state)
{
#define TC24_RESP(extra)                                                                           \
    "SIP/2.0 200 OK\r\n"                                                                           \
    "Via: SIP/2.0/UDP pcscf.home2.net;branch=z9hG4bK77\r\n"                                        \
    "From: <sip:bob@home2.net>;tag=b1\r\n"                                                         \
    "To: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=A1\r\n"                               \
    "Call-ID: c1\r\n"                                                                              \
    "CSeq: 8 INVITE\r\n" extra "Content-Length: 0\r\n\r\n"
    struct privdlg_store *s = store(0);
    const struct sip_msg *m =
        sv_test_parse(TC24_RESP("P-Asserted-Identity: <sip:alice@home1.net>\r\n"));
    struct pctx c = {CTX(PRIVACY_ROLE_PCSCF, PRIVACY_DIR_ORIG, true, false)};
    struct privdlg_found f;
    struct privacy_dialog d;

    assert_int_equal(privdlg_put(s, SV_LIT("c1"), SV_LIT("a1"), SIP_PRIV_ID, T0), 0);
    assert_true(privdlg_find(s, m->callid, m->from.tag, m->to.tag, T0 + 1, &f));
    d = privdlg_found_dialog(&f, m->from.tag, m->to.tag);
    c.dialog = &d;
    expect_fwd(&c, TC24_RESP("P-Asserted-Identity: <sip:alice@home1.net>\r\n"), TC24_RESP(""));
    privdlg_store_free(s);
#undef TC24_RESP
}

/* ---- end, linger, lifetime --------------------------------------------------------------- */

/* R77: after BYE the state stays for the linger (the BYE's 200, its retransmissions), then
 * goes; the entry itself stays counted until a sweep or a walk of its chain reaps it. */
static void r77_end_lingers_then_goes(void **state)
{
    struct privdlg_store *s = store(0);
    const uint64_t bye = T0 + 5000;

    assert_int_equal(put(s, "c1", "a1", SIP_PRIV_ID, T0), 0);
    assert_true(end(s, "c1", "b1", "a1", bye)); /* the callee hangs up */
    assert_true(find(s, "c1", "b1", "a1", bye, NULL));
    assert_true(find(s, "c1", "b1", "a1", bye + LINGER - 1, NULL)); /* no refresh... */
    assert_false(find(s, "c1", "b1", "a1", bye + LINGER, NULL));    /* ...so it goes */
    assert_false(end(s, "c1", "b1", "a1", bye + LINGER));
    assert_int_equal(privdlg_count(s), 0); /* that walk of the chain reaped it */
    privdlg_store_free(s);
}

/* A retransmitted BYE does not extend the linger; an end for an unknown dialog is ignored. */
static void r77_repeated_end_keeps_first_linger(void **state)
{
    struct privdlg_store *s = store(0);

    assert_int_equal(put(s, "c1", "a1", SIP_PRIV_ID, T0), 0);
    assert_true(end(s, "c1", "a1", "b1", T0 + 100));
    assert_true(end(s, "c1", "a1", "b1", T0 + 600));
    assert_false(find(s, "c1", "a1", "b1", T0 + 100 + LINGER, NULL));
    assert_false(end(s, "c2", "a1", "b1", T0));
    assert_false(end(s, "c1", "b1", NULL, T0));
    privdlg_store_free(s);
}

/* A 407 ends the first INVITE; the UAC re-sends it with credentials, same Call-ID and From
 * tag (RFC 3261 §22.2): the put revives the entry with a full lifetime. */
static void r76_put_revives_an_ended_entry(void **state)
{
    struct privdlg_store *s = store(0);
    struct privdlg_found f;

    assert_int_equal(put(s, "c1", "a1", SIP_PRIV_ID, T0), 0);
    assert_true(end(s, "c1", "a1", NULL, T0 + 10));
    assert_int_equal(put(s, "c1", "a1", SIP_PRIV_USER, T0 + 20), 0);
    assert_true(find(s, "c1", "a1", "b1", T0 + 20 + LINGER + 1, &f));
    assert_int_equal(f.funcs, SIP_PRIV_ID | SIP_PRIV_USER);
    assert_int_equal(privdlg_count(s), 1);
    privdlg_store_free(s);
}

/* A forked INVITE: branch B answers 200 (confirm), the proxy CANCELs branch A, which answers
 * 487 (fail): the dialog keeps its rules. Each branch's response may be reported. */
static void r74_fork_failure_after_2xx_is_no_end(void **state)
{
    struct privdlg_store *s = store(0);

    assert_int_equal(put(s, "c1", "a1", SIP_PRIV_ID, T0), 0);
    assert_int_equal(privdlg_confirm(s, SV_LIT("c1"), SV_LIT("a1"), SIP_PRIV_ID, T0 + 10), 0);
    assert_true(privdlg_fail(s, SV_LIT("c1"), SV_LIT("a1"), T0 + 20));
    assert_true(find(s, "c1", "b2", "a1", T0 + 20 + LINGER, NULL));
    /* The BYE does end it. */
    assert_true(end(s, "c1", "a1", "b2", T0 + 50000));
    assert_false(find(s, "c1", "b2", "a1", T0 + 50000 + LINGER, NULL));
    assert_int_equal(privdlg_count(s), 0);
    privdlg_store_free(s);
}

/* Branch A fails first, while branch B still rings: the entry lingers. B's 200 revives it,
 * or, after the linger ran out, makes it again. Without a 2xx, the failure ends it. */
static void r74_fork_failure_before_2xx(void **state)
{
    struct privdlg_store *s = store(0);
    struct privdlg_found f;

    assert_int_equal(put(s, "c1", "a1", SIP_PRIV_ID, T0), 0);
    assert_true(privdlg_fail(s, SV_LIT("c1"), SV_LIT("a1"), T0 + 10));
    assert_int_equal(privdlg_confirm(s, SV_LIT("c1"), SV_LIT("a1"), SIP_PRIV_ID, T0 + 20), 0);
    assert_true(find(s, "c1", "a1", "b2", T0 + 20 + LINGER, NULL));

    assert_int_equal(put(s, "c2", "a1", SIP_PRIV_USER, T0), 0);
    assert_true(privdlg_fail(s, SV_LIT("c2"), SV_LIT("a1"), T0 + 10));
    assert_false(find(s, "c2", "a1", NULL, T0 + 10 + LINGER, NULL));
    assert_false(privdlg_fail(s, SV_LIT("c2"), SV_LIT("a1"), T0 + 10 + LINGER));
    assert_int_equal(privdlg_confirm(s, SV_LIT("c2"), SV_LIT("a1"), SIP_PRIV_USER, T0 + 90000), 0);
    assert_true(find(s, "c2", "b2", "a1", T0 + 90000, &f));
    assert_int_equal(f.funcs, SIP_PRIV_USER);

    assert_int_equal(put(s, "c3", "a1", SIP_PRIV_ID, T0), 0);
    assert_true(privdlg_fail(s, SV_LIT("c3"), SV_LIT("a1"), T0 + 10));
    assert_false(find(s, "c3", "a1", NULL, T0 + 10 + LINGER, NULL));
    /* privdlg_fail matches the From tag only: the callee's tag names nothing. */
    assert_int_equal(put(s, "c4", "a1", SIP_PRIV_ID, T0), 0);
    assert_false(privdlg_fail(s, SV_LIT("c4"), SV_LIT("b1"), T0));
    privdlg_store_free(s);
}

/* A retransmitted INVITE after the 2xx keeps the entry confirmed; a new attempt after an
 * end (put on an ended entry) is unconfirmed again. */
static void r77_put_keeps_or_resets_confirmation(void **state)
{
    struct privdlg_store *s = store(0);

    assert_int_equal(put(s, "c1", "a1", SIP_PRIV_ID, T0), 0);
    assert_int_equal(privdlg_confirm(s, SV_LIT("c1"), SV_LIT("a1"), SIP_PRIV_ID, T0 + 1), 0);
    assert_int_equal(put(s, "c1", "a1", SIP_PRIV_ID, T0 + 2), 0);
    assert_true(privdlg_fail(s, SV_LIT("c1"), SV_LIT("a1"), T0 + 3));
    assert_true(find(s, "c1", "a1", NULL, T0 + 3 + LINGER, NULL));

    assert_true(end(s, "c1", "a1", NULL, T0 + 10));
    assert_int_equal(put(s, "c1", "a1", SIP_PRIV_ID, T0 + 20), 0);
    assert_true(privdlg_fail(s, SV_LIT("c1"), SV_LIT("a1"), T0 + 30));
    assert_false(find(s, "c1", "a1", NULL, T0 + 30 + LINGER, NULL));
    privdlg_store_free(s);
}

/* A dialog that never ends cleanly goes after the lifetime without traffic; a find restarts
 * the lifetime, an ended entry's find does not. */
static void r74_lifetime_bound(void **state)
{
    struct privdlg_store *s = store(0);

    assert_int_equal(put(s, "idle", "a1", SIP_PRIV_ID, T0), 0);
    assert_true(find(s, "idle", "a1", NULL, T0 + LIFETIME - 1, NULL));
    assert_false(find(s, "idle", "a1", NULL, T0 + 2 * LIFETIME - 1, NULL));

    assert_int_equal(put(s, "busy", "a1", SIP_PRIV_ID, T0), 0);
    for (uint64_t t = T0; t < T0 + 10 * LIFETIME; t += LIFETIME / 2)
        assert_true(find(s, "busy", "b1", "a1", t, NULL));

    assert_int_equal(put(s, "short", "a1", SIP_PRIV_ID, T0), 0);
    assert_true(end(s, "short", "a1", NULL, T0 + LIFETIME - 10)); /* linger > what is left */
    assert_true(find(s, "short", "a1", NULL, T0 + LIFETIME - 1, NULL));
    assert_false(find(s, "short", "a1", NULL, T0 + LIFETIME, NULL));
    privdlg_store_free(s);
}

/* ---- limits and sweeping ------------------------------------------------------------------ */

static void store_enospc_at_max_dialogs(void **state)
{
    struct privdlg_store *s = store(4);
    char cid[16];

    for (int i = 0; i < 4; i++) {
        snprintf(cid, sizeof(cid), "c%d", i);
        assert_int_equal(put(s, cid, "a1", SIP_PRIV_ID, T0), 0);
    }
    assert_int_equal(put(s, "c4", "a1", SIP_PRIV_ID, T0), ENOSPC);
    assert_int_equal(put(s, "c0", "a1", SIP_PRIV_USER, T0), 0); /* known: needs no room */
    assert_int_equal(privdlg_count(s), 4);
    assert_false(find(s, "c4", "a1", NULL, T0, NULL));
    /* An ended entry still counts until it is gone. */
    assert_true(end(s, "c1", "a1", NULL, T0));
    assert_int_equal(put(s, "c4", "a1", SIP_PRIV_ID, T0 + LINGER - 1), ENOSPC);
    assert_int_equal(privdlg_sweep(s, T0 + LINGER), 1);
    assert_int_equal(put(s, "c4", "a1", SIP_PRIV_ID, T0 + LINGER), 0);
    /* Full, and the dead entry on the new one's chain goes as the put walks it: room. The
     * chains are hashed with a random key, so c0, c2 or c3 (dead too) may share that chain and
     * go with it: 1 to 4 entries left, and the sweep takes the rest but c4/a2. */
    assert_int_equal(put(s, "c4", "a2", SIP_PRIV_ID, T0 + LINGER + LIFETIME), 0);
    size_t n = privdlg_count(s);
    assert_in_range(n, 1, 4);
    assert_int_equal(privdlg_sweep(s, T0 + LINGER + LIFETIME), n - 1);
    assert_int_equal(privdlg_count(s), 1);
    privdlg_store_free(s);
}

/* A peer cannot grow one Call-ID's chain without bound: PRIVDLG_PER_CALLID_MAX dialogs. */
static void store_caps_dialogs_per_callid(void **state)
{
    struct privdlg_store *s = store(0);
    char tag[16];

    for (int i = 0; i < PRIVDLG_PER_CALLID_MAX; i++) {
        snprintf(tag, sizeof(tag), "t%d", i);
        assert_int_equal(put(s, "c1", tag, SIP_PRIV_ID, T0), 0);
    }
    assert_int_equal(put(s, "c1", "one-more", SIP_PRIV_ID, T0), ENOSPC);
    assert_int_equal(put(s, "c1", "t3", SIP_PRIV_USER, T0), 0); /* known: no new entry */
    assert_int_equal(put(s, "c2", "one-more", SIP_PRIV_ID, T0), 0);
    assert_true(end(s, "c1", "t0", NULL, T0));
    assert_int_equal(put(s, "c1", "one-more", SIP_PRIV_ID, T0 + LINGER), 0);
    assert_int_equal(privdlg_count(s), PRIVDLG_PER_CALLID_MAX + 1);
    privdlg_store_free(s);
}

static void store_sweep_counts(void **state)
{
    struct privdlg_store *s = store(0);
    char cid[16];

    for (int i = 0; i < 100; i++) {
        snprintf(cid, sizeof(cid), "c%d", i);
        assert_int_equal(put(s, cid, "a1", SIP_PRIV_ID, T0), 0);
    }
    for (int i = 0; i < 30; i++) {
        snprintf(cid, sizeof(cid), "c%d", i);
        assert_true(end(s, cid, "b1", "a1", T0 + 1));
    }
    assert_int_equal(privdlg_sweep(s, T0 + LINGER), 0);
    assert_int_equal(privdlg_count(s), 100);
    assert_int_equal(privdlg_sweep(s, T0 + 1 + LINGER), 30);
    assert_int_equal(privdlg_count(s), 70);
    assert_int_equal(privdlg_sweep(s, T0 + LIFETIME - 1), 0);
    assert_int_equal(privdlg_sweep(s, T0 + LIFETIME), 70);
    assert_int_equal(privdlg_count(s), 0);
    assert_int_equal(privdlg_sweep(s, UINT64_MAX), 0);
    privdlg_store_free(s);
}

/* A max_dialogs far above the live set (1<<30) does not size the table from it (the chain
 * heads are capped at PRIVDLG_MAX_CHAINS): the store allocates, every entry is found, and
 * a sweep reaps them all once their lifetime (refreshed by the finds) is over. */
static void store_huge_max_dialogs(void **state)
{
    struct privdlg_store *s = store((size_t)1 << 30);
    char cid[16];

    (void)state;
    for (int i = 0; i < 5000; i++) {
        snprintf(cid, sizeof(cid), "c%d", i);
        assert_int_equal(put(s, cid, "a1", SIP_PRIV_ID, T0), 0);
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(cid, sizeof(cid), "c%d", i);
        assert_true(privdlg_find(s, sv_test_heap(cid), SV_LIT("a1"), none, T0 + 1, NULL));
    }
    assert_int_equal(privdlg_sweep(s, T0 + 1 + LIFETIME), 5000);
    assert_int_equal(privdlg_count(s), 0);
    privdlg_store_free(s);
}

/* Default limits with a NULL conf, and zero fields taking their defaults. */
static void store_defaults(void **state)
{
    struct privdlg_conf c = {0};
    struct privdlg_store *s = NULL;

    assert_int_equal(privdlg_conf_default.max_dialogs, 100000);
    assert_int_equal(privdlg_conf_default.lifetime_ms, 12u * 3600u * 1000u);
    assert_int_equal(privdlg_conf_default.linger_ms, 32000);
    assert_int_equal(privdlg_store_alloc(&s, NULL), 0);
    assert_int_equal(privdlg_put(s, SV_LIT("c1"), SV_LIT("a1"), SIP_PRIV_ID, T0), 0);
    assert_true(privdlg_end(s, SV_LIT("c1"), SV_LIT("a1"), none, T0));
    assert_true(privdlg_find(s, SV_LIT("c1"), SV_LIT("a1"), none, T0 + 31999, NULL));
    assert_false(privdlg_find(s, SV_LIT("c1"), SV_LIT("a1"), none, T0 + 32000, NULL));
    privdlg_store_free(s);
    s = NULL;
    assert_int_equal(privdlg_store_alloc(&s, &c), 0);
    assert_int_equal(privdlg_put(s, SV_LIT("c1"), SV_LIT("a1"), SIP_PRIV_ID, T0), 0);
    assert_true(privdlg_find(s, SV_LIT("c1"), SV_LIT("a1"), none, T0 + 43199999, NULL));
    privdlg_store_free(s);
}

static void api_bad_arguments(void **state)
{
    struct privdlg_store *s = store(0);
    char big[PRIVDLG_CALLID_MAX + 1];

    memset(big, 'x', sizeof(big));
    assert_int_equal(privdlg_store_alloc(NULL, NULL), EINVAL);
    assert_int_equal(privdlg_put(NULL, SV_LIT("c"), SV_LIT("a"), 1, T0), EINVAL);
    assert_int_equal(privdlg_put(s, none, SV_LIT("a"), 1, T0), EINVAL);
    assert_int_equal(privdlg_put(s, SV_LIT("c"), none, 1, T0), EINVAL);
    assert_int_equal(privdlg_put(s, SV_LIT("c"), sv_slice_make("a", 0), 1, T0), EINVAL);
    assert_int_equal(privdlg_put(s, sv_slice_make(big, PRIVDLG_CALLID_MAX + 1), SV_LIT("a"), 1, T0),
                     EMSGSIZE);
    assert_int_equal(privdlg_put(s, SV_LIT("c"), sv_slice_make(big, PRIVDLG_TAG_MAX + 1), 1, T0),
                     EMSGSIZE);
    /* The longest ones fit, and come back whole. */
    struct privdlg_found f;
    assert_int_equal(privdlg_put(s, sv_slice_make(big, PRIVDLG_CALLID_MAX),
                                 sv_slice_make(big, PRIVDLG_TAG_MAX), 1, T0),
                     0);
    assert_true(privdlg_find(s, sv_slice_make(big, PRIVDLG_CALLID_MAX), none,
                             sv_slice_make(big, PRIVDLG_TAG_MAX), T0, &f));
    assert_int_equal(f.tag_len, PRIVDLG_TAG_MAX);
    assert_memory_equal(f.tag_buf, big, PRIVDLG_TAG_MAX);

    assert_false(privdlg_find(NULL, SV_LIT("c"), SV_LIT("a"), none, T0, NULL));
    assert_false(privdlg_find(s, none, SV_LIT("a"), none, T0, NULL));
    assert_false(privdlg_end(NULL, SV_LIT("c"), SV_LIT("a"), none, T0));
    assert_false(privdlg_fail(NULL, SV_LIT("c"), SV_LIT("a"), T0));
    assert_false(privdlg_fail(s, SV_LIT("c"), none, T0));
    assert_int_equal(privdlg_confirm(NULL, SV_LIT("c"), SV_LIT("a"), 1, T0), EINVAL);
    assert_int_equal(privdlg_confirm(s, SV_LIT("c"), none, 1, T0), EINVAL);
    assert_int_equal(privdlg_sweep(NULL, T0), 0);
    assert_int_equal(privdlg_count(NULL), 0);
    privdlg_store_free(NULL);
    privdlg_store_free(s);
}

/* Every allocation of alloc and put fails in turn: only ENOMEM comes back, nothing leaks,
 * and a failed put leaves the store as it was. */
static void oom_sweep(void **state)
{
    unsigned failures = 0;
    int e = ENOMEM;

    for (long n = 0; e == ENOMEM && n < 100; n++) {
        struct privdlg_store *s = NULL;
        size_t before = 0;

        sv_mem_fail_after(n);
        e = privdlg_store_alloc(&s, NULL);
        if (!e) {
            for (int i = 0; i < 3 && !e; i++) {
                char cid[8] = {'c', (char)('0' + i)};
                before = privdlg_count(s);
                e = privdlg_put(s, sv_slice_cstr(cid), SV_LIT("a1"), SIP_PRIV_ID, T0);
            }
        }
        sv_mem_fail_after(-1);
        assert_true(e == 0 || e == ENOMEM);
        if (e) {
            failures++;
            if (s)
                assert_int_equal(privdlg_count(s), before);
        } else {
            assert_true(privdlg_find(s, SV_LIT("c2"), SV_LIT("a1"), none, T0, NULL));
        }
        if (!s)
            assert_true(e == ENOMEM);
        privdlg_store_free(s);
    }
    assert_int_equal(e, 0);
    assert_true(failures >= 6); /* three allocations in alloc, one per put */
}

/* The hash against the published SipHash-2-4 vectors (key 00..0f, message 00..len-1), which
 * checks the rounds, the byte order and the tail handling that SipHash-1-3 shares. */
static void hash_matches_siphash_vectors(void **state)
{
    const uint64_t k0 = UINT64_C(0x0706050403020100), k1 = UINT64_C(0x0f0e0d0c0b0a0908);
    unsigned char m[16];

    for (unsigned i = 0; i < sizeof(m); i++)
        m[i] = (unsigned char)i;
    assert_int_equal(privacy__siphash(k0, k1, m, 0, 2, 4), UINT64_C(0x726fdb47dd0e0e31));
    assert_int_equal(privacy__siphash(k0, k1, m, 1, 2, 4), UINT64_C(0x74f839c593dc67fd));
    assert_int_equal(privacy__siphash(k0, k1, m, 15, 2, 4), UINT64_C(0xa129ca6149be45e5));
}

/* ---- threads ---------------------------------------------------------------------------- */

#define NTHREADS 4
#define NOPS 10000
#define NOWN 1000   /* Call-IDs each thread owns: it alone touches them, so it knows the truth */
#define NSHARED 256 /* Call-IDs every thread puts, finds and ends at once */

struct worker {
    struct privdlg_store *s;
    unsigned id;
    uint64_t rng;
    unsigned char st[NOWN]; /* 0 absent, 1 live, 2 ended */
    unsigned funcs[NOWN];
    size_t live; /* own entries present at the end */
    unsigned errors;
};

static uint64_t next_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    char cid[32];

    for (unsigned i = 0; i < NOPS; i++) {
        uint64_t r = next_rand(&w->rng), now = T0 + i;
        bool shared = (r & 3) == 0;
        unsigned k = (unsigned)(r >> 8) % (shared ? NSHARED : NOWN);
        unsigned op = (unsigned)(r >> 40) % 3;
        unsigned f = 1u + (unsigned)(r >> 50) % 3; /* any of ID, USER, both: 1..3 here */
        struct privdlg_found got;

        if (shared)
            snprintf(cid, sizeof(cid), "shared-%u@h", k);
        else
            snprintf(cid, sizeof(cid), "t%u-%u@h", w->id, k);
        struct sv_slice c = sv_slice_cstr(cid);

        if (op == 0) {
            if (privdlg_put(w->s, c, SV_LIT("anon"), f, now))
                w->errors++;
            if (!shared) {
                w->funcs[k] = w->st[k] ? w->funcs[k] | f : f;
                w->st[k] = 1;
            }
        } else if (op == 1) {
            bool hit = privdlg_find(w->s, c, SV_LIT("other"), SV_LIT("ANON"), now, &got);
            if (!shared && hit != (w->st[k] != 0))
                w->errors++;
            if (!shared && hit && (got.funcs != w->funcs[k] || got.side != PRIVDLG_SIDE_TO))
                w->errors++;
        } else {
            bool hit = privdlg_end(w->s, c, SV_LIT("anon"), SV_LIT("other"), now);
            if (!shared && hit != (w->st[k] != 0))
                w->errors++;
            if (!shared && w->st[k])
                w->st[k] = 2;
        }
    }
    for (unsigned k = 0; k < NOWN; k++)
        w->live += w->st[k] != 0;
    return NULL;
}

struct sweeper {
    struct privdlg_store *s;
    volatile int stop;
    size_t swept;
};

/* The process thread's sweep, at a time before anything expires: it must remove nothing
 * while it takes every stripe's lock under the workers' feet. */
static void *sweeper_main(void *arg)
{
    struct sweeper *sw = arg;

    while (!__atomic_load_n(&sw->stop, __ATOMIC_RELAXED))
        sw->swept += privdlg_sweep(sw->s, T0 + NOPS);
    return NULL;
}

static void threads_share_one_store(void **state)
{
    struct privdlg_store *s = store(0);
    struct worker w[NTHREADS];
    struct sweeper sw = {.s = s};
    pthread_t t[NTHREADS], swt;
    size_t own = 0, count, gone;

    memset(w, 0, sizeof(w));
    for (unsigned i = 0; i < NTHREADS; i++) {
        w[i].s = s;
        w[i].id = i;
        w[i].rng = UINT64_C(0x9e3779b97f4a7c15) * (i + 1);
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    assert_int_equal(pthread_create(&swt, NULL, sweeper_main, &sw), 0);
    for (unsigned i = 0; i < NTHREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(w[i].errors, 0);
        own += w[i].live;
    }
    __atomic_store_n(&sw.stop, 1, __ATOMIC_RELAXED);
    assert_int_equal(pthread_join(swt, NULL), 0);
    assert_int_equal(sw.swept, 0);

    /* Every entry is an own one a thread knows of or one of the shared Call-IDs. */
    count = privdlg_count(s);
    assert_true(count >= own && count <= own + NSHARED);
    gone = privdlg_sweep(s, UINT64_MAX);
    assert_int_equal(gone, count);
    assert_int_equal(privdlg_count(s), 0);
    privdlg_store_free(s);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(r74_put_then_find_by_from_tag),
    cmocka_unit_test(r75_find_by_to_tag),
    cmocka_unit_test(r75_other_callid_or_tags_not_found),
    cmocka_unit_test(r75_tags_compare_case_insensitively),
    cmocka_unit_test(r74_two_dialogs_in_one_callid),
    cmocka_unit_test(r74_second_put_ors_funcs),
    cmocka_unit_test_setup_teardown(tc24_store_feeds_the_engine, sv_test_arena_setup,
                                    sv_test_arena_teardown),
    cmocka_unit_test(r77_end_lingers_then_goes),
    cmocka_unit_test(r77_repeated_end_keeps_first_linger),
    cmocka_unit_test(r76_put_revives_an_ended_entry),
    cmocka_unit_test(r74_fork_failure_after_2xx_is_no_end),
    cmocka_unit_test(r74_fork_failure_before_2xx),
    cmocka_unit_test(r77_put_keeps_or_resets_confirmation),
    cmocka_unit_test(r74_lifetime_bound),
    cmocka_unit_test(store_enospc_at_max_dialogs),
    cmocka_unit_test(store_caps_dialogs_per_callid),
    cmocka_unit_test(store_sweep_counts),
    cmocka_unit_test(store_huge_max_dialogs),
    cmocka_unit_test(store_defaults),
    cmocka_unit_test(api_bad_arguments),
    cmocka_unit_test(oom_sweep),
    cmocka_unit_test(hash_matches_siphash_vectors),
    cmocka_unit_test(threads_share_one_store),
};

SV_TEST_MAIN(tests)
