/**
 * @file test_store_defer.c  The store's group commit (store_api.defer): the writes a worker
 * makes in one read pass share one transaction, committed when its defer ends, and nothing
 * else is held up or lost by it. A second connection on the same file stands for another
 * process (`sipveil sub`, or the process after a restart): it sees only what is committed.
 */
#include <errno.h>
#include <pthread.h>

#include "svtest_store.h"

static const char *const alice_uris[] = {"sip:alice@ims.example"};

static struct store *st_of(void **state)
{
    return ((struct store_fixture *)*state)->st;
}

/* A second connection on the fixture's file. */
static struct store *other(void **state)
{
    struct store *o = NULL;
    char err[256] = "";

    assert_int_equal(store_open_sqlite(&o, ((struct store_fixture *)*state)->path, err,
                                       sizeof(err)),
                     0);
    return o;
}

static int count_kv(void *arg, const char *key, int64_t exp, const void *val, size_t len)
{
    ++*(size_t *)arg;
    return 0;
}

static size_t kv_count(struct store *st)
{
    size_t n = 0;

    assert_int_equal(st->api->kv_each(st, "t", count_kv, &n), 0);
    return n;
}

static void put(struct store *st, const char *key)
{
    assert_int_equal(st->api->kv_put(st, "t", key, 1800000000, "v", 1), 0);
}

/* Writes in a defer are invisible outside until it ends, then all there at once. */
static void defer_commits_at_its_end(void **state)
{
    struct store *st = st_of(state), *o = other(state);

    assert_int_equal(st->api->defer(st, true), 0);
    assert_false(st->api->deferred(st)); /* nothing written yet: nothing to wait for */
    put(st, "a");
    put(st, "b");
    put(st, "c");
    assert_true(st->api->deferred(st));
    assert_int_equal(kv_count(o), 0);
    assert_int_equal(kv_count(st), 3); /* the writer reads its own group */
    assert_int_equal(st->api->defer(st, false), 0);
    assert_false(st->api->deferred(st));
    assert_int_equal(kv_count(o), 3);
    store_close(o);
}

/* Without a defer each write is committed when it returns, as always. */
static void no_defer_commits_each_write(void **state)
{
    struct store *st = st_of(state), *o = other(state);

    put(st, "a");
    assert_int_equal(kv_count(o), 1);
    assert_false(st->api->deferred(st));
    assert_int_equal(st->api->defer(st, false), 0); /* ending a defer never begun: nothing */
    store_close(o);
}

struct plain_writer {
    struct store *st;
    int err;
};

static void *plain_write(void *arg)
{
    struct plain_writer *w = arg;

    w->err = w->st->api->kv_put(w->st, "t", "other-thread", 1800000000, "v", 1);
    return NULL;
}

/* A thread that does not defer joins the open group and commits it with its write: when its
 * call returns, its write (and the group's) is on disk. The deferring thread's end finds it
 * done. */
static void plain_writer_commits_open_group(void **state)
{
    struct store *st = st_of(state), *o = other(state);
    struct plain_writer w = {.st = st};
    pthread_t t;

    assert_int_equal(st->api->defer(st, true), 0);
    put(st, "a");
    assert_int_equal(pthread_create(&t, NULL, plain_write, &w), 0);
    pthread_join(t, NULL);
    assert_int_equal(w.err, 0);
    assert_int_equal(kv_count(o), 2);
    put(st, "b"); /* a new group */
    assert_int_equal(kv_count(o), 2);
    assert_int_equal(st->api->defer(st, false), 0);
    assert_int_equal(kv_count(o), 3);
    store_close(o);
}

/* Provisioning has a transaction of its own: it commits the open group first, then runs. A
 * profile read inside the group reads through it. */
static void own_transactions_work_inside_a_defer(void **state)
{
    struct store *st = st_of(state), *o = other(state);
    struct store_sub a;
    struct store_profile p;

    assert_int_equal(st->api->defer(st, true), 0);
    put(st, "a");
    sub_make(&a, "alice@ims.example", "alice-pw", alice_uris, 1);
    assert_int_equal(st->api->sub_put(st, &a), 0);
    assert_int_equal(kv_count(o), 1);
    assert_int_equal(o->api->profile_get(o, "sip:alice@ims.example", &p), 0);
    put(st, "b");
    assert_int_equal(st->api->profile_get(st, "sip:alice@ims.example", &p), 0);
    assert_int_equal(st->api->defer(st, false), 0);
    assert_int_equal(kv_count(o), 2);
    store_close(o);
}

/* A write that fails inside the group (a binding of a set that does not exist) fails alone:
 * the group's other writes are committed. */
static void failed_write_keeps_the_group(void **state)
{
    struct store *st = st_of(state), *o = other(state);
    struct store_binding b = {.irs_id = 4242, .cseq = 1, .expires_at = 1800000000};

    snprintf(b.contact, sizeof(b.contact), "sip:x@192.0.2.1");
    assert_int_equal(st->api->defer(st, true), 0);
    put(st, "a");
    assert_int_equal(st->api->binding_put(st, &b), ENOENT);
    put(st, "b");
    assert_int_equal(st->api->defer(st, false), 0);
    assert_int_equal(kv_count(o), 2);
    store_close(o);
}

/* Closing the store commits an open group: a stop never loses the last pass's writes. */
static void close_commits_open_group(void **state)
{
    struct store_fixture *f = *state;
    char err[256] = "";

    assert_int_equal(f->st->api->defer(f->st, true), 0);
    put(f->st, "a");
    store_close(f->st);
    f->st = NULL;
    assert_int_equal(store_open_sqlite(&f->st, f->path, err, sizeof(err)), 0);
    assert_false(f->st->api->deferred(f->st));
    assert_int_equal(kv_count(f->st), 1);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(defer_commits_at_its_end, store_fixture_setup,
                                    store_fixture_teardown),
    cmocka_unit_test_setup_teardown(no_defer_commits_each_write, store_fixture_setup,
                                    store_fixture_teardown),
    cmocka_unit_test_setup_teardown(plain_writer_commits_open_group, store_fixture_setup,
                                    store_fixture_teardown),
    cmocka_unit_test_setup_teardown(own_transactions_work_inside_a_defer, store_fixture_setup,
                                    store_fixture_teardown),
    cmocka_unit_test_setup_teardown(failed_write_keeps_the_group, store_fixture_setup,
                                    store_fixture_teardown),
    cmocka_unit_test_setup_teardown(close_commits_open_group, store_fixture_setup,
                                    store_fixture_teardown),
};

SV_TEST_MAIN(tests)
