/**
 * @file test_ps_sub.c  A PS subscription's memory layout and stored form (issue 6 §1, §8): its
 * strings cost their length, its record round-trips, a record of the previous release (the
 * struct itself, "PSS1") is still read, and a damaged record is refused, never half-read.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "svtest.h"

#include "ims_int.h"
#include "ps_int.h"

static struct ps_sub *sample(void)
{
    const struct sv_slice v[PS_S__N] = {
        SV_LIT("sip:alice@ims.example"), SV_LIT("sip:bob@ims.example"),
        SV_LIT("sip:anonymous@anonymous.invalid"), SV_LIT("w1"), SV_LIT("cid-1@host"),
        SV_LIT("sip:127.0.0.1:5099"), SV_LIT("<sip:127.0.0.1:6060;lr>, <sip:127.0.0.1:5070;lr>"),
    };
    struct ps_sub *x = ps__sub_new(v);

    assert_non_null(x);
    snprintf(x->mytag, sizeof(x->mytag), "mytag9");
    snprintf(x->id, sizeof(x->id), "k3q9x0c2m7dtw1pa");
    snprintf(x->proved_ha1, sizeof(x->proved_ha1), "%064d", 7);
    for (int i = 0; i < PRES_GRANT_KEY_LEN; i++)
        x->proved_key[i] = (uint8_t)(i * 7);
    x->has_key = true;
    x->anon = true;
    x->state = PS_PENDING;
    x->cseq = 41;
    x->winfo_version = 3;
    x->expires_at = 1900000000;
    return x;
}

static void same(const struct ps_sub *a, const struct ps_sub *b)
{
    assert_string_equal(a->presentity, b->presentity);
    assert_string_equal(a->watcher, b->watcher);
    assert_string_equal(a->wfrom, b->wfrom);
    assert_string_equal(a->wtag, b->wtag);
    assert_string_equal(a->callid, b->callid);
    assert_string_equal(a->target, b->target);
    assert_string_equal(a->route, b->route);
    assert_string_equal(a->mytag, b->mytag);
    assert_string_equal(a->id, b->id);
    assert_string_equal(a->proved_ha1, b->proved_ha1);
    assert_int_equal(a->has_key, b->has_key);
    if (a->has_key) /* without one, the bytes mean nothing and are not kept */
        assert_memory_equal(a->proved_key, b->proved_key, PRES_GRANT_KEY_LEN);
    assert_int_equal(a->winfo, b->winfo);
    assert_int_equal(a->anon, b->anon);
    assert_int_equal(a->self, b->self);
    assert_int_equal(a->state, b->state);
    assert_int_equal(a->cseq, b->cseq);
    assert_int_equal(a->winfo_version, b->winfo_version);
    assert_true(a->expires_at == b->expires_at);
}

/* The strings live after the struct and cost their length: far below the ~2.3 KB of fixed
 * fields a subscription took before. */
static void strings_cost_their_length(void **state)
{
    struct ps_sub *x = sample();

    (void)state;
    assert_true(x->route > x->presentity);
    assert_true(sizeof(*x) < 400);
    assert_string_equal(x->route, "<sip:127.0.0.1:6060;lr>, <sip:127.0.0.1:5070;lr>");
    sv_free(x);
}

static void record_round_trips(void **state)
{
    struct ps_sub *x = sample(), *y;
    char rec[PS_SUB_REC_MAX];
    size_t n;

    (void)state;
    assert_int_equal(ps__sub_encode(x, rec, sizeof(rec), &n), 0);
    assert_memory_equal(rec, "PSS2sip:alice@ims.example", 25);
    assert_non_null(y = ps__sub_decode(rec, n));
    same(x, y);
    sv_free(y);
    x->has_key = false;
    x->anon = false;
    x->winfo = x->self = true;
    x->state = PS_ACTIVE;
    assert_int_equal(ps__sub_encode(x, rec, sizeof(rec), &n), 0);
    assert_non_null(y = ps__sub_decode(rec, n));
    same(x, y);
    sv_free(y);
    assert_int_equal(ps__sub_encode(x, rec, 20, &n), ENOSPC);
    sv_free(x);
}

/* Upgrading keeps the subscriptions: the previous release stored its struct ("PSS1"). */
static void version_1_record_is_read(void **state)
{
    static unsigned char rec[4 + sizeof(struct ps_sub_v1)];
    struct ps_sub_v1 v;
    struct ps_sub *y;

    (void)state;
    memset(&v, 0, sizeof(v));
    snprintf(v.presentity, sizeof(v.presentity), "sip:alice@ims.example");
    snprintf(v.watcher, sizeof(v.watcher), "sip:bob@ims.example");
    snprintf(v.wfrom, sizeof(v.wfrom), "sip:bob@ims.example");
    snprintf(v.wtag, sizeof(v.wtag), "w9");
    snprintf(v.callid, sizeof(v.callid), "c9");
    snprintf(v.target, sizeof(v.target), "sip:127.0.0.1:5099");
    snprintf(v.mytag, sizeof(v.mytag), "t9");
    snprintf(v.id, sizeof(v.id), "abcdefghijklmnop");
    v.winfo = true;
    v.state = PS_ACTIVE;
    v.cseq = 5;
    v.expires_at = 1900000001;
    memcpy(rec, "PSS1", 4);
    memcpy(rec + 4, &v, sizeof(v));
    assert_non_null(y = ps__sub_decode(rec, sizeof(rec)));
    assert_string_equal(y->presentity, "sip:alice@ims.example");
    assert_string_equal(y->target, "sip:127.0.0.1:5099");
    assert_string_equal(y->route, "");
    assert_string_equal(y->mytag, "t9");
    assert_true(y->winfo);
    assert_int_equal(y->cseq, 5);
    assert_true(y->expires_at == 1900000001);
    sv_free(y);
    assert_null(ps__sub_decode(rec, sizeof(rec) - 1)); /* another build's size */
}

/* A damaged record is dropped whole. */
static void damaged_records_are_refused(void **state)
{
    struct ps_sub *x = sample();
    char rec[PS_SUB_REC_MAX], bad[PS_SUB_REC_MAX];
    size_t n;

    (void)state;
    assert_int_equal(ps__sub_encode(x, rec, sizeof(rec), &n), 0);
    sv_free(x);
    assert_null(ps__sub_decode(rec, n - 1));           /* the last NUL cut */
    assert_null(ps__sub_decode("PSS3", 4));            /* another version */
    assert_null(ps__sub_decode("PS", 2));
    memcpy(bad, rec, n);
    bad[n] = 'x';
    assert_null(ps__sub_decode(bad, n + 1));           /* something after the last field */
    memcpy(bad, rec, n);
    char *cseq = memmem(bad, n, "\0" "41\0", 4);
    assert_non_null(cseq);
    cseq[1] = 'x';
    assert_null(ps__sub_decode(bad, n));               /* a number that is not one */
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strings_cost_their_length),
        cmocka_unit_test(record_round_trips),
        cmocka_unit_test(version_1_record_is_read),
        cmocka_unit_test(damaged_records_are_refused),
    };

    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
