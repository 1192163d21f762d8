/**
 * @file test_timer.c  The timing wheel: order, cancel and restart from handlers, long delays,
 * next_ms, count, free, a randomized comparison with a reference model, and O(1) start/cancel.
 *
 * Time is driven by hand: every case passes its own now_ms to sv_wheel_run, nothing sleeps.
 * Handlers log (timer id, wheel time) into `fired`, so a case asserts on the whole sequence.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "svtest.h"

#define SEC 1000ull
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define MAX_DELAY 0xffffffffull /* 2^32 - 1 ms, about 49.7 days */

/* ---- a log of fired timers ---- */

struct tt {
    struct sv_timer t;
    int id;
    void (*action)(struct tt *x); /* run by the handler after logging, may be NULL */
    struct tt *other;             /* what the action acts on */
    uint64_t period;
};

struct firing {
    int id;
    uint64_t at; /* the time of the run that fired it */
    uint64_t expires;
};

static struct sv_wheel *wheel;
static uint64_t run_now; /* the now_ms of the sv_wheel_run in progress */
static struct firing fired[4096];
static unsigned nfired;

static void on_fire(void *arg)
{
    struct tt *x = arg;

    assert_false(sv_timer_active(&x->t)); /* idle inside its own handler */
    assert_true(nfired < SV_ARRAY_SIZE(fired));
    fired[nfired].id = x->id;
    fired[nfired].at = run_now;
    fired[nfired].expires = x->t.expires;
    nfired++;
    if (x->action)
        x->action(x);
}

/* The timers of a case live here rather than on its stack: a case may end with timers still
 * on the wheel, which the teardown frees after the case's frame is gone. */
static struct tt pool[2000];

static struct tt *tt_get(int n)
{
    struct tt *x = pool;

    assert_true(n <= (int)SV_ARRAY_SIZE(pool));
    for (int i = 0; i < n; i++) {
        memset(&x[i], 0, sizeof(x[i]));
        sv_timer_init(&x[i].t);
        x[i].id = i;
    }
    return x;
}

static void start(struct tt *x, uint64_t delay)
{
    sv_timer_start(wheel, &x->t, delay, on_fire, x);
}

static unsigned run(uint64_t now)
{
    run_now = now;
    return sv_wheel_run(wheel, now);
}

static int setup(void **state)
{
    nfired = 0;
    run_now = 1000;
    return sv_wheel_alloc(&wheel, 1000);
}

static int teardown(void **state)
{
    sv_wheel_free(wheel);
    wheel = NULL;
    return 0;
}

#define assert_fired(i, want_id, want_at)                                                          \
    do {                                                                                           \
        assert_int_equal(fired[i].id, (want_id));                                                  \
        assert_int_equal(fired[i].at, (want_at));                                                  \
    } while (0)

/* ---- order ---- */

static void timer_fires_in_expiry_order(void **state)
{
    static const uint64_t delays[] = {700, 5, 300, 0, 256, 255, 70000, 1, 65536, 65535};
    struct tt *x = tt_get(SV_ARRAY_SIZE(delays));

    for (unsigned i = 0; i < SV_ARRAY_SIZE(delays); i++)
        start(&x[i], delays[i]);
    assert_int_equal(run(1000 + 100000), SV_ARRAY_SIZE(delays));
    for (unsigned i = 1; i < nfired; i++)
        assert_true(fired[i - 1].expires < fired[i].expires);
    assert_int_equal(fired[0].id, 3);                   /* delay 0 */
    assert_int_equal(fired[nfired - 1].id, 6);          /* 70 s */
    assert_int_equal(fired[nfired - 1].expires, 71000); /* wheel time 1000 + 70 s */
}

/* Timers due in the same millisecond run in start order, even when they reached that
 * millisecond's slot from different levels (one started long before, one just before). */
static void timer_same_tick_fifo(void **state)
{
    struct tt *x = tt_get(6);

    start(&x[0], 2000); /* expires 3000, starts at level 1 */
    run(2990);
    start(&x[1], 10); /* 3000 too; x[0] reached level 0 when 2816 cascaded */
    start(&x[2], 10);
    start(&x[3], 10);
    start(&x[4], 9); /* 2999: earlier */
    start(&x[5], 10);
    start(&x[2], 10); /* a restart moves x[2] to the back */
    assert_int_equal(run(3000), 6);
    assert_fired(0, 4, 3000);
    assert_fired(1, 0, 3000);
    assert_fired(2, 1, 3000);
    assert_fired(3, 3, 3000);
    assert_fired(4, 5, 3000);
    assert_fired(5, 2, 3000);
}

/* The same across a level-2 boundary: 65536 ms blocks. */
static void timer_same_tick_fifo_across_levels(void **state)
{
    struct tt *x;
    uint64_t e = 3 * 65536; /* a level-2 block start, and a level-1 one */

    x = tt_get(4);
    start(&x[0], e - 1000); /* level 2 from 1000 */
    run(e - 300);
    start(&x[1], 300); /* also level 2: the cursor is still in the block before */
    run(e - 1);
    start(&x[2], 1); /* level 2 as well: 1 ms away, but in the next 64-s block */
    start(&x[3], 1);
    assert_int_equal(run(e + 5), 4);
    for (int i = 0; i < 4; i++)
        assert_fired(i, i, e + 5);
}

/* ---- cancel ---- */

static void timer_cancel_before_due(void **state)
{
    struct tt *x = tt_get(3);

    sv_timer_cancel(&x[0].t); /* idle: harmless */
    start(&x[0], 100);
    start(&x[1], 100);
    start(&x[2], 100);
    assert_true(sv_timer_active(&x[1].t));
    sv_timer_cancel(&x[1].t);
    sv_timer_cancel(&x[1].t);
    assert_false(sv_timer_active(&x[1].t));
    assert_int_equal(run(1050), 0);
    sv_timer_cancel(&x[0].t);
    assert_int_equal(run(2000), 1);
    assert_fired(0, 2, 2000);
}

/* Due (its time has passed) but the run has not happened yet: cancel still wins. */
static void timer_cancel_when_due_before_run(void **state)
{
    struct tt *x = tt_get(1);

    start(&x[0], 10);
    sv_timer_cancel(&x[0].t);
    assert_int_equal(run(5000), 0);
    assert_int_equal(nfired, 0);
    assert_int_equal(sv_wheel_next_ms(wheel), UINT64_MAX);
}

static void act_cancel_other(struct tt *x)
{
    sv_timer_cancel(&x->other->t);
}

/* A handler cancels timers due in the same millisecond and later in the same run. */
static void timer_handler_cancels_other_due_timer(void **state)
{
    struct tt *x = tt_get(4);

    start(&x[0], 50);
    start(&x[1], 50); /* same ms as x[0], after it: cancelled by x[0] */
    start(&x[2], 70); /* due in this run too: cancelled by x[3] */
    start(&x[3], 60);
    x[0].action = act_cancel_other;
    x[0].other = &x[1];
    x[3].action = act_cancel_other;
    x[3].other = &x[2];
    assert_int_equal(run(1100), 2);
    assert_fired(0, 0, 1100);
    assert_fired(1, 3, 1100);
    assert_false(sv_timer_active(&x[1].t));
    assert_false(sv_timer_active(&x[2].t));
    assert_int_equal(sv_wheel_count(wheel), 0);
}

/* ---- restart from the handler ---- */

static void act_restart_self(struct tt *x)
{
    sv_timer_start(wheel, &x->t, x->period, on_fire, x);
}

static void timer_restart_from_handler_periodic(void **state)
{
    struct tt *x = tt_get(1);

    x[0].action = act_restart_self;
    x[0].period = 10;
    start(&x[0], 10);
    for (uint64_t now = 1001; now <= 2000; now++)
        run(now);
    assert_int_equal(nfired, 100);
    for (unsigned i = 0; i < nfired; i++)
        assert_fired(i, 0, 1010 + 10 * i);
    assert_true(sv_timer_active(&x[0].t));
    assert_int_equal(x[0].t.expires, 2010);
}

/* Delays count from the wheel's time, which is the run's now_ms also inside handlers: after a
 * late run the period restarts from that time (no burst of catch-up firings). */
static void timer_restart_after_late_run_counts_from_now(void **state)
{
    struct tt *x = tt_get(1);

    x[0].action = act_restart_self;
    x[0].period = 10;
    start(&x[0], 10);
    assert_int_equal(run(1055), 1);
    assert_int_equal(x[0].t.expires, 1065);
    assert_int_equal(sv_wheel_next_ms(wheel), 10);
}

/* A handler restarting itself with delay 0 runs again in the next run, not in a loop. */
static void timer_restart_zero_waits_for_next_run(void **state)
{
    struct tt *x = tt_get(1);

    x[0].action = act_restart_self;
    x[0].period = 0;
    start(&x[0], 5);
    assert_int_equal(run(1005), 1);
    assert_int_equal(sv_wheel_next_ms(wheel), 0);
    assert_int_equal(run(1005), 1);
    /* Overdue at 1005 when this run starts at 1006: it runs, restarts for 1006, which this
     * run has not reached yet, so it runs again (and restarts for the next run). */
    assert_int_equal(run(1006), 2);
    assert_fired(3, 0, 1006);
    assert_int_equal(fired[3].expires, 1006);
    assert_int_equal(nfired, 4);
    sv_timer_cancel(&x[0].t);
}

static void act_start_other(struct tt *x)
{
    sv_timer_start(wheel, &x->other->t, x->other->period, on_fire, x->other);
}

/* Started by a handler during a run that is not yet at its now_ms, due at that now_ms: it
 * runs in the same run, after everything else due by then. */
static void timer_handler_starts_timer_due_in_same_run(void **state)
{
    struct tt *x = tt_get(3);

    start(&x[0], 10);
    start(&x[1], 500);
    x[0].action = act_start_other;
    x[0].other = &x[2];
    x[2].period = 0;
    assert_int_equal(run(1500), 3);
    assert_fired(0, 0, 1500);
    assert_fired(1, 1, 1500);
    assert_fired(2, 2, 1500);
    assert_int_equal(fired[2].expires, 1500);
}

/* ---- long delays ---- */

/* Each delay fires exactly at its time, whether the loop sleeps by next_ms or polls in steps
 * that do not divide the delay. */
static void check_exact(uint64_t delay)
{
    struct tt *x;
    uint64_t t0 = run_now + 12345, e = t0 + delay, now = t0, step = delay / 700 + 7;
    unsigned wakeups = 0;

    x = tt_get(1);
    nfired = 0;
    run(t0);
    start(&x[0], delay);
    assert_int_equal(x[0].t.expires, e);
    /* sleeping by next_ms: few wake-ups, never late */
    while (nfired == 0) {
        uint64_t d = sv_wheel_next_ms(wheel);

        assert_true(d != UINT64_MAX);
        assert_true(now + d <= e);
        now += d;
        run(now);
        wakeups++;
        assert_true(wakeups <= 8);
    }
    assert_int_equal(fired[0].at, e);

    /* polling in steps */
    nfired = 0;
    start(&x[0], delay);
    e = now + delay;
    while (now + step < e) {
        now += step;
        assert_int_equal(run(now), 0);
    }
    assert_int_equal(run(e - 1), 0);
    assert_int_equal(run(e), 1);
    assert_fired(0, 0, e);
}

static void timer_long_delays_fire_exactly(void **state)
{
    static const uint64_t delays[] = {
        300,        255,      256,           65535,     65536, 70 * SEC, 5 * HOUR, (1ull << 24) - 1,
        1ull << 24, 20 * DAY, MAX_DELAY - 1, MAX_DELAY,
    };

    for (unsigned i = 0; i < SV_ARRAY_SIZE(delays); i++)
        check_exact(delays[i]);
}

static void timer_delay_is_clamped(void **state)
{
    struct tt *x = tt_get(2);

    start(&x[0], UINT64_MAX);
    start(&x[1], MAX_DELAY + 1);
    assert_int_equal(x[0].t.expires, 1000 + MAX_DELAY);
    assert_int_equal(x[1].t.expires, 1000 + MAX_DELAY);
    assert_int_equal(run(1000 + MAX_DELAY - 1), 0);
    assert_int_equal(run(1000 + MAX_DELAY), 2);
}

/* One run that jumps 60 days fires everything, earliest first, same ms in start order. */
static void timer_big_jump_fires_all_in_order(void **state)
{
    enum { N = 2000 };
    struct tt *x;
    uint64_t seed = 42;

    x = tt_get(N);
    for (int i = 0; i < N; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t r = seed >> 33;
        static const uint64_t spans[] = {100, 5000, 1000000, 100000000, MAX_DELAY};
        start(&x[i], r % spans[i % 5] / (i % 3 ? 1 : 50)); /* collisions at small delays */
    }
    assert_int_equal(run(1000 + 60 * DAY), N);
    for (unsigned i = 1; i < nfired; i++) {
        assert_true(fired[i - 1].expires <= fired[i].expires);
        if (fired[i - 1].expires == fired[i].expires)
            assert_true(fired[i - 1].id < fired[i].id);
    }
    assert_int_equal(sv_wheel_count(wheel), 0);
}

/* A handler early in a long jump starts a timer for the longest delay: its expiry lies more
 * than 2^32 ms past the cursor, so it goes round level 3 more than once. Exact all the same. */
static void timer_beyond_reach_during_long_jump(void **state)
{
    struct tt *x;
    uint64_t now = 1000 + 100 * DAY;

    x = tt_get(3);
    start(&x[0], 10);
    x[0].action = act_start_other;
    x[0].other = &x[1];
    x[1].period = MAX_DELAY;
    start(&x[2], 80 * DAY); /* fires during the jump, after x[0] */
    assert_int_equal(run(now), 2);
    assert_fired(1, 2, now);
    assert_int_equal(x[1].t.expires, now + MAX_DELAY);
    assert_int_equal(sv_wheel_next_ms(wheel) <= MAX_DELAY, true);
    assert_int_equal(run(now + MAX_DELAY - 1), 0);
    assert_int_equal(run(now + MAX_DELAY), 1);
    assert_fired(2, 1, now + MAX_DELAY);
}

/* ---- next_ms, count, free ---- */

static void timer_next_ms_exact_and_never_late(void **state)
{
    struct tt *x = tt_get(200);

    assert_int_equal(sv_wheel_next_ms(wheel), UINT64_MAX);
    start(&x[0], 300);
    assert_int_equal(sv_wheel_next_ms(wheel), 300);
    run(1100);
    assert_int_equal(sv_wheel_next_ms(wheel), 200);
    start(&x[1], 0);
    assert_int_equal(sv_wheel_next_ms(wheel), 0);
    run(1100);
    start(&x[2], 5 * HOUR);
    sv_timer_cancel(&x[0].t);
    assert_int_equal(sv_wheel_next_ms(wheel), 5 * HOUR);
    start(&x[3], 70 * SEC + 3);
    assert_int_equal(sv_wheel_next_ms(wheel), 70 * SEC + 3);
    sv_timer_cancel(&x[3].t);
    assert_int_equal(sv_wheel_next_ms(wheel), 5 * HOUR);
    /* overdue: the time has passed, the run has not happened */
    start(&x[4], 1);
    assert_int_equal(sv_wheel_next_ms(wheel), 1);
    sv_timer_cancel(&x[4].t);
    sv_timer_cancel(&x[2].t);
    assert_int_equal(sv_wheel_next_ms(wheel), UINT64_MAX);

    /* More than 64 timers in the first non-empty slot above level 0: a lower bound (the start
     * of that slot's block), never late; sleeping by it reaches the first expiry in a few
     * wake-ups, at most one per level. */
    nfired = 0;
    uint64_t now = 1100, e_min = now + 100000;
    unsigned wakeups = 0;
    for (int i = 10; i < 200; i++)
        start(&x[i], 100000 + (uint64_t)(i % 7) * 3);
    while (nfired == 0) {
        uint64_t d = sv_wheel_next_ms(wheel);

        assert_true(now + d <= e_min);
        now += d;
        run(now);
        assert_true(++wakeups <= 4);
    }
    assert_int_equal(fired[0].at, e_min);
    assert_int_equal(nfired, 27); /* the i in 10..199 with i % 7 == 0 */
}

static void timer_count(void **state)
{
    struct tt *x = tt_get(5);

    assert_int_equal(sv_wheel_count(wheel), 0);
    start(&x[0], 10);
    start(&x[1], 1000);
    start(&x[2], 100000);
    start(&x[3], 10 * DAY);
    assert_int_equal(sv_wheel_count(wheel), 4);
    start(&x[1], 20); /* a restart is still one timer */
    assert_int_equal(sv_wheel_count(wheel), 4);
    sv_timer_cancel(&x[2].t);
    sv_timer_cancel(&x[4].t); /* idle */
    assert_int_equal(sv_wheel_count(wheel), 3);
    assert_int_equal(run(1015), 1);
    assert_int_equal(sv_wheel_count(wheel), 2);
    assert_int_equal(run(1000 + 11 * DAY), 2);
    assert_int_equal(sv_wheel_count(wheel), 0);
}

/* sv_wheel_take_started_min: the earliest expiry started since the previous call, restarts
 * and starts from handlers included; cancelling and running change nothing; each call starts
 * afresh. The worker's loop skips sv_wheel_next_ms while this stays at or after its tick. */
static void timer_take_started_min(void **state)
{
    struct tt *x = tt_get(4);

    assert_int_equal(sv_wheel_take_started_min(wheel), UINT64_MAX);
    start(&x[0], 500);
    start(&x[1], 32000);
    start(&x[2], 200);
    assert_int_equal(sv_wheel_take_started_min(wheel), 1200);
    assert_int_equal(sv_wheel_take_started_min(wheel), UINT64_MAX);
    sv_timer_cancel(&x[2].t);
    assert_int_equal(run(1100), 0);
    assert_int_equal(sv_wheel_take_started_min(wheel), UINT64_MAX);
    start(&x[1], 0); /* moved earlier: counts, from the wheel's time (1100) */
    start(&x[3], 7);
    assert_int_equal(sv_wheel_take_started_min(wheel), 1100);
    x[0].action = act_restart_self; /* restarts itself from its handler */
    x[0].period = 300;
    assert_int_equal(run(1500), 3); /* x1, x3, then x0, which starts itself again */
    assert_int_equal(sv_wheel_take_started_min(wheel), 1800);
}

/* Free with active timers: they become idle, no handler runs (LeakSanitizer checks the
 * wheel's memory). */
static void timer_free_detaches_active(void **state)
{
    struct tt *x = tt_get(4);

    start(&x[0], 0);
    start(&x[1], 10);
    start(&x[2], 1000);
    start(&x[3], 30 * DAY);
    sv_wheel_free(wheel);
    wheel = NULL;
    for (int i = 0; i < 4; i++) {
        assert_false(sv_timer_active(&x[i].t));
        assert_null(x[i].t.next);
        sv_timer_cancel(&x[i].t); /* still harmless */
    }
    assert_int_equal(nfired, 0);
    sv_wheel_free(NULL);
}

static void timer_alloc_enomem(void **state)
{
    struct sv_wheel *w = NULL;

    sv_mem_fail_after(0);
    int err = sv_wheel_alloc(&w, 0);
    sv_mem_fail_after(-1);
    assert_int_equal(err, ENOMEM);
    assert_null(w);
}

static void act_run_again(struct tt *x)
{
    assert_int_equal(sv_wheel_run(wheel, run_now + 1000), 0);
}

/* A run from a handler does nothing; a run with an earlier time counts as the wheel's. */
static void timer_run_nested_and_backwards(void **state)
{
    struct tt *x = tt_get(2);

    x[0].action = act_run_again;
    start(&x[0], 10);
    start(&x[1], 20);
    assert_int_equal(run(1010), 1);
    assert_int_equal(run(500), 0);
    start(&x[0], 0);
    assert_int_equal(x[0].t.expires, 1010);
    x[0].action = NULL;
    assert_int_equal(run(900), 1);
    assert_int_equal(run(1020), 1);
}

/* ---- randomized comparison with a reference ---- */

/*
 * The reference is a plain array scanned linearly: the next timer to fire is the active one
 * with the smallest (expires, start sequence) among those due, except those started with
 * delay 0 by a handler of the run's own last millisecond, which wait for the next run. The
 * wheel and the reference run in lockstep: each handler checks that the wheel fired what the
 * reference expects, then does random starts and cancels on both.
 */
enum { REF_MAX = 160, REF_OPS = 10000 };

struct ref {
    struct sv_timer t;
    bool active, deferred;
    uint64_t e, seq;
};

static struct ref refs[REF_MAX];
static int ref_n; /* timers in use */
static uint64_t ref_seq, rng;
static bool ref_in_run;
static uint64_t ref_firing_e; /* expiry of the timer whose handler runs */
static unsigned ref_fired;

static uint64_t rnd(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rnd_delay(void)
{
    switch (rnd() % 20) {
    case 0:
        return 0;
    case 1: {
        static const uint64_t edges[] = {
            1, 255, 256, 257, 65535, 65536, (1u << 24) - 1, 1u << 24, MAX_DELAY - 1, MAX_DELAY};
        return edges[rnd() % SV_ARRAY_SIZE(edges)];
    }
    case 2:
        return rnd(); /* clamped */
    case 3:
    case 4:
    case 5:
    case 6:
    case 7:
        return rnd() % 256;
    case 8:
    case 9:
    case 10:
    case 11:
        return rnd() % 65536;
    case 12:
    case 13:
    case 14:
        return rnd() % (1u << 24);
    default:
        return rnd() % (MAX_DELAY + 1);
    }
}

static uint64_t rnd_jump(void)
{
    switch (rnd() % 20) {
    case 0:
    case 1:
        return 0;
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
        return rnd() % 10;
    case 7:
    case 8:
    case 9:
        return rnd() % 300;
    case 10:
    case 11:
    case 12:
        return rnd() % 70000;
    case 13:
    case 14:
        return rnd() % (1u << 24);
    case 15:
    case 16:
        return rnd() % (1ull << 32);
    case 17:
        return rnd() % (1ull << 35); /* beyond the top level's reach */
    default:
        return rnd() % 2000;
    }
}

static void ref_on_fire(void *arg);

static void ref_start(struct ref *r, uint64_t delay)
{
    uint64_t now = run_now;

    sv_timer_start(wheel, &r->t, delay, ref_on_fire, r);
    r->active = true;
    r->e = now + (delay > MAX_DELAY ? MAX_DELAY : delay);
    r->seq = ++ref_seq;
    r->deferred = ref_in_run && ref_firing_e == now && r->e == now;
    assert_int_equal(r->t.expires, r->e);
}

static void ref_cancel(struct ref *r)
{
    sv_timer_cancel(&r->t);
    r->active = false;
}

static struct ref *ref_next_due(void)
{
    struct ref *best = NULL;

    for (int i = 0; i < ref_n; i++) {
        struct ref *r = &refs[i];

        if (!r->active || r->deferred || r->e > run_now)
            continue;
        if (!best || r->e < best->e || (r->e == best->e && r->seq < best->seq))
            best = r;
    }
    return best;
}

static void ref_on_fire(void *arg)
{
    struct ref *r = arg, *want = ref_next_due();

    if (r != want)
        print_error("fired #%d (e=%llu seq=%llu), reference expects #%d\n", (int)(r - refs),
                    (unsigned long long)r->e, (unsigned long long)r->seq,
                    want ? (int)(want - refs) : -1);
    assert_ptr_equal(r, want);
    r->active = false;
    ref_fired++;
    ref_firing_e = r->e;
    unsigned nact = (unsigned)(rnd() % 3);
    for (unsigned i = 0; i < nact; i++) {
        unsigned k = (unsigned)(rnd() % 10);
        struct ref *o = &refs[rnd() % ref_n];

        if (k < 3)
            ref_start(r, rnd() % 3 ? rnd() % 300 : rnd_delay());
        else if (k < 6)
            ref_cancel(o);
        else
            ref_start(o, rnd() % 2 ? rnd() % 300 : rnd_delay());
    }
}

static void ref_check(void)
{
    size_t n = 0;
    uint64_t e_min = UINT64_MAX;

    for (int i = 0; i < ref_n; i++) {
        assert_int_equal(sv_timer_active(&refs[i].t), refs[i].active);
        if (refs[i].active) {
            n++;
            if (refs[i].e < e_min)
                e_min = refs[i].e;
        }
    }
    assert_int_equal(sv_wheel_count(wheel), n);
    uint64_t want = e_min == UINT64_MAX ? UINT64_MAX : e_min <= run_now ? 0 : e_min - run_now;
    uint64_t got = sv_wheel_next_ms(wheel);
    assert_true(got <= want);
    if (n <= 64) /* every slot list is short: sv_wheel_next_ms is exact */
        assert_int_equal(got, want);
}

static void ref_randomized(uint64_t seed, uint64_t t0, int ntimers)
{
    ref_n = ntimers;
    rng = seed;
    ref_seq = 0;
    for (int i = 0; i < ref_n; i++) {
        memset(&refs[i], 0, sizeof(refs[i]));
        sv_timer_init(&refs[i].t);
    }
    assert_int_equal(sv_wheel_alloc(&wheel, t0), 0);
    run_now = t0;
    for (int op = 0; op < REF_OPS; op++) {
        unsigned k = (unsigned)(rnd() % 100);
        struct ref *r = &refs[rnd() % ref_n];

        if (k < 45) {
            ref_start(r, rnd_delay());
        } else if (k < 60) {
            ref_cancel(r);
        } else {
            uint64_t now = run_now + rnd_jump();

            ref_fired = 0;
            ref_in_run = true;
            run_now = now;
            unsigned n = sv_wheel_run(wheel, now);
            ref_in_run = false;
            assert_int_equal(n, ref_fired);
            assert_null(ref_next_due()); /* nothing left behind */
            for (int i = 0; i < ref_n; i++)
                refs[i].deferred = false;
        }
        ref_check();
    }
    sv_wheel_free(wheel);
    wheel = NULL;
    for (int i = 0; i < ref_n; i++)
        assert_false(sv_timer_active(&refs[i].t));
}

static void timer_randomized_against_reference(void **state)
{
    sv_wheel_free(wheel); /* this case makes its own wheels */
    wheel = NULL;
    ref_randomized(1, 0, 48); /* few timers: next_ms is always exact */
    /* more timers, starting just below a level-3 and a 2^32 boundary, then anywhere */
    ref_randomized(2, (1ull << 32) - 3000, REF_MAX);
    ref_randomized(3, 0xfedcba9876ull, REF_MAX);
}

/* ---- O(1) ---- */

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void noop(void *arg) {}

/* SIP-like delays: retransmissions 0.5-4 s, 32 s transaction timeouts, 1 h registrations. */
static uint64_t sip_delay(uint64_t r)
{
    switch (r % 5) {
    case 0:
    case 1:
        return 500u << (r / 5 % 4);
    case 2:
    case 3:
        return 32000 + r / 5 % 1000;
    default:
        return 3600000 + r / 5 % 60000;
    }
}

/* ns per start or cancel of 1,000 probe timers on a wheel that also holds @p live others; the
 * best of several rounds, so that a busy machine does not count against the wheel. */
static double start_cancel_ns(size_t live)
{
    enum { PROBES = 1000, ROUNDS = 15 };
    struct sv_timer *fill = calloc(live, sizeof(*fill));
    static struct sv_timer probe[PROBES];
    static uint64_t pd[PROBES];
    struct sv_wheel *w;
    double best = 1e30;

    assert_non_null(fill);
    assert_int_equal(sv_wheel_alloc(&w, 5000), 0);
    rng = 7;
    for (size_t i = 0; i < live; i++)
        sv_timer_start(w, &fill[i], sip_delay(rnd()), noop, NULL);
    for (int i = 0; i < PROBES; i++) {
        sv_timer_init(&probe[i]);
        pd[i] = sip_delay(rnd());
    }
    for (int round = 0; round < ROUNDS; round++) {
        double t0 = now_ns();

        for (int i = 0; i < PROBES; i++)
            sv_timer_start(w, &probe[i], pd[i], noop, NULL);
        for (int i = 0; i < PROBES; i++)
            sv_timer_cancel(&probe[(i * 7) % PROBES]); /* not in start order */
        double ns = (now_ns() - t0) / (2 * PROBES);
        if (ns < best)
            best = ns;
    }
    assert_int_equal(sv_wheel_count(w), live);
    sv_wheel_free(w);
    free(fill);
    return best;
}

/* The cost of start and cancel does not grow with the number of live timers: the slot lists
 * hold hundreds of timers at 100k, and neither operation walks them. */
static void timer_start_cancel_is_o1(void **state)
{
    double small = start_cancel_ns(1000), big = start_cancel_ns(100000);

    print_message("start+cancel: %.1f ns/op at 1k live, %.1f ns/op at 100k live\n", small, big);
    assert_true(big < 2 * small);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(timer_fires_in_expiry_order, setup, teardown),
    cmocka_unit_test_setup_teardown(timer_same_tick_fifo, setup, teardown),
    cmocka_unit_test_setup_teardown(timer_same_tick_fifo_across_levels, setup, teardown),
    cmocka_unit_test_setup_teardown(timer_cancel_before_due, setup, teardown),
    cmocka_unit_test_setup_teardown(timer_cancel_when_due_before_run, setup, teardown),
    cmocka_unit_test_setup_teardown(timer_handler_cancels_other_due_timer, setup, teardown),
    cmocka_unit_test_setup_teardown(timer_restart_from_handler_periodic, setup, teardown),
    cmocka_unit_test_setup_teardown(timer_restart_after_late_run_counts_from_now, setup, teardown),
    cmocka_unit_test_setup_teardown(timer_restart_zero_waits_for_next_run, setup, teardown),
    cmocka_unit_test_setup_teardown(timer_handler_starts_timer_due_in_same_run, setup, teardown),
    cmocka_unit_test_setup_teardown(timer_long_delays_fire_exactly, setup, teardown),
    cmocka_unit_test_setup_teardown(timer_delay_is_clamped, setup, teardown),
    cmocka_unit_test_setup_teardown(timer_big_jump_fires_all_in_order, setup, teardown),
    cmocka_unit_test_setup_teardown(timer_beyond_reach_during_long_jump, setup, teardown),
    cmocka_unit_test_setup_teardown(timer_next_ms_exact_and_never_late, setup, teardown),
    cmocka_unit_test_setup_teardown(timer_take_started_min, setup, teardown),
    cmocka_unit_test_setup_teardown(timer_count, setup, teardown),
    cmocka_unit_test_setup_teardown(timer_free_detaches_active, setup, teardown),
    cmocka_unit_test(timer_alloc_enomem),
    cmocka_unit_test_setup_teardown(timer_run_nested_and_backwards, setup, teardown),
    cmocka_unit_test_setup_teardown(timer_randomized_against_reference, setup, teardown),
    cmocka_unit_test(timer_start_cancel_is_o1),
};

SV_TEST_MAIN(tests)
