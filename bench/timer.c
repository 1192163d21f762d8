/**
 * @file timer.c  Timer benchmark: ns per start, cancel and expiry of the timing wheel with
 * 1k, 10k, 100k and 1M live timers and SIP-like delays.
 *
 * Each timer sits in an owner object of 64 bytes (as it would in a transaction), the owners
 * are visited in a shuffled order, and the delays follow what a SIP node starts:
 *
 *   40%  retransmission timers (A, E, G): T1 = 500 ms doubling on each restart, capped at
 *        T2 = 4 s, so 500, 1000, 2000, 4000, 4000, ... ms;
 *   40%  transaction timeouts (B, F, H): 64*T1 = 32 s;
 *   20%  registration expiries: 3600 s minus up to 60 s (refreshes arrive early).
 *
 * For every size the wheel is filled with that many timers at uniformly random remaining
 * delays (the state of a node that has been running for a while), then:
 *
 *   start, cancel  rounds over a tenth of the timers: cancel them all (timed), start them all
 *                  again (timed) with new delays drawn as in the fill; the live count stays
 *                  between 0.9 N and N;
 *   expire         the event loop of a busy node, simulated: sleep sv_wheel_next_ms, then
 *                  sv_wheel_run; each handler restarts its timer with a new delay, so the
 *                  wheel stays at N. The column is the whole loop's time per timer fired
 *                  (next_ms, run, cascades, the handler call) minus one start, the restart;
 *                  "+start" is the same before that subtraction.
 *
 * Each figure is the median of its rounds, and of --runs repetitions. Two more lines show
 * what an idle wheel costs: one run per simulated hour on a wheel holding one far timer, and
 * one run per millisecond on an empty wheel.
 *
 * Before anything is printed, the benchmark checks its own bookkeeping: the wheel holds N
 * timers after the start/cancel rounds and after the loop, and every timer fired in the run
 * for exactly its millisecond. A failure exits with status 1.
 *
 * Usage: bench_timer [--sizes N,N,...] [--runs R] [--ops N] [--quick]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sipveil/core.h>

#include "bench_host.h"

#ifndef SV_BENCH_BUILD_TYPE
#define SV_BENCH_BUILD_TYPE "unknown"
#endif
#ifndef SV_BENCH_CFLAGS
#define SV_BENCH_CFLAGS "unknown"
#endif


#define MAX_SIZES 16
#define MAX_RUNS 15
#define MAX_ROUNDS 20000

enum kind { RETRANS, TIMEOUT, REGISTRATION };

/* What a transaction or binding would embed; 64 bytes, so a million span 64 MB. */
struct owner {
    struct sv_timer t;
    uint8_t kind;
    uint8_t step; /* retransmissions so far */
    uint8_t pad[22];
};

_Static_assert(sizeof(struct owner) == 64, "owner is one cache line");

static struct sv_wheel *wheel;
static uint64_t sim_now; /* the time handed to sv_wheel_run */
static unsigned long nfired;
static int failed;
static uint64_t rng = 0x5eed;

static uint64_t rnd(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* A new transaction or binding of the same kind takes the owner's place, so the mix of live
 * timers stays 40/40/20 (were the kind drawn again, registrations would soon be nearly all
 * of them: they live 100 times longer). */
static void owner_renew(struct owner *o)
{
    o->step = 0;
}

static uint64_t owner_delay(struct owner *o)
{
    switch (o->kind) {
    case RETRANS: {
        uint64_t d = 500u << (o->step < 3 ? o->step : 3);

        o->step++;
        return d;
    }
    case TIMEOUT:
        return 32000;
    default:
        return 3600000 - rnd() % 60000;
    }
}

static void on_expire(void *arg)
{
    struct owner *o = arg;

    /* The loop sleeps by sv_wheel_next_ms, which is never late: each timer fires in the run
     * for exactly its millisecond. */
    if (o->t.expires != sim_now) {
        fprintf(stderr, "bench_timer: a timer of %llu fired at %llu\n",
                (unsigned long long)o->t.expires, (unsigned long long)sim_now);
        failed = 1;
    }
    nfired++;
    /* Retransmissions go on until the transaction's 32 s are used up (7 of them); then, as
     * after a timeout or a registration expiry, a new transaction takes the owner. */
    if (o->kind != RETRANS || o->step >= 7) {
        /* The next transaction arrives within 2 s; without that gap, timers that fired
         * together would restart together forever. */
        owner_renew(o);
        sv_timer_start(wheel, &o->t, rnd() % 2000 + owner_delay(o), on_expire, o);
        return;
    }
    sv_timer_start(wheel, &o->t, owner_delay(o), on_expire, o);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct result {
    double start, cancel, expire_start; /* ns per operation */
    double fired_per_run;
};

/* One repetition at @p n live timers, @p ops operations of each kind. Not inlined, so that
 * `valgrind --tool=callgrind --toggle-collect=bench_size` counts just this. */
__attribute__((noinline)) static struct result bench_size(size_t n, size_t ops)
{
    struct owner *ow = calloc(n, sizeof(*ow));
    uint32_t *perm = malloc(n * sizeof(*perm));
    size_t k = n / 10 ? n / 10 : 1, rounds = ops / k;
    uint64_t *delays = malloc(k * sizeof(*delays));
    static double st[MAX_ROUNDS], ca[MAX_ROUNDS];
    struct result res = {0};
    size_t pos = 0;

    if (!ow || !perm || !delays || sv_wheel_alloc(&wheel, 1000000000ull)) {
        fprintf(stderr, "bench_timer: out of memory at %zu timers\n", n);
        exit(1);
    }
    sim_now = 1000000000ull;
    if (rounds < 5)
        rounds = 5;
    if (rounds > MAX_ROUNDS)
        rounds = MAX_ROUNDS;
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = rnd() % (i + 1);
        uint32_t x = perm[i];

        perm[i] = perm[j];
        perm[j] = x;
    }
    /* Fill: a node that has been up for a while has every timer somewhere in its delay. */
    for (size_t i = 0; i < n; i++) {
        struct owner *o = &ow[perm[i]];

        uint64_t r = rnd() % 5;

        sv_timer_init(&o->t);
        o->kind = r < 2 ? RETRANS : r < 4 ? TIMEOUT : REGISTRATION;
        o->step = o->kind == RETRANS ? (uint8_t)(rnd() % 7) : 0;
        sv_timer_start(wheel, &o->t, 1 + rnd() % owner_delay(o), on_expire, o);
    }

    /* start and cancel */
    for (size_t r = 0; r < rounds; r++) {
        double t0, t1, t2;

        for (size_t i = 0; i < k; i++) {
            struct owner *o = &ow[perm[(pos + i) % n]];

            /* The clock stands still during these rounds, so the delays are spread as in the
             * fill; full delays from one instant would pile timers into a few milliseconds. */
            owner_renew(o);
            delays[i] = 1 + rnd() % owner_delay(o);
        }
        t0 = now_ns();
        for (size_t i = 0; i < k; i++)
            sv_timer_cancel(&ow[perm[(pos + i) % n]].t);
        t1 = now_ns();
        for (size_t i = 0; i < k; i++) {
            struct owner *o = &ow[perm[(pos + i) % n]];

            sv_timer_start(wheel, &o->t, delays[i], on_expire, o);
        }
        t2 = now_ns();
        ca[r] = (t1 - t0) / (double)k;
        st[r] = (t2 - t1) / (double)k;
        pos = (pos + k) % n;
    }
    res.start = median(st, rounds);
    res.cancel = median(ca, rounds);
    if (sv_wheel_count(wheel) != n) {
        fprintf(stderr, "bench_timer: %zu timers on the wheel, %zu expected\n",
                sv_wheel_count(wheel), n);
        failed = 1;
    }

    /* expiry: the loop of a busy node; the live count stays at n */
    unsigned long runs = 0;
    double t0 = now_ns();

    nfired = 0;
    while (nfired < ops) {
        uint64_t d = sv_wheel_next_ms(wheel);

        if (d == UINT64_MAX)
            break;
        sim_now += d;
        sv_wheel_run(wheel, sim_now);
        runs++;
    }
    res.expire_start = (now_ns() - t0) / (double)nfired;
    res.fired_per_run = (double)nfired / (double)runs;
    if (sv_wheel_count(wheel) != n) {
        fprintf(stderr, "bench_timer: the wheel lost timers while running\n");
        failed = 1;
    }

    sv_wheel_free(wheel);
    wheel = NULL;
    free(delays);
    free(perm);
    free(ow);
    return res;
}

/* ns per sv_wheel_run on an idle wheel, advancing @p step ms each time for @p n runs. */
static double bench_idle(uint64_t step, unsigned n, bool one_far_timer)
{
    struct owner o;
    uint64_t now = 5000;
    double t0, ns;

    if (sv_wheel_alloc(&wheel, now)) {
        fprintf(stderr, "bench_timer: out of memory\n");
        exit(1);
    }
    sv_timer_init(&o.t);
    if (one_far_timer)
        sv_timer_start(wheel, &o.t, 0xffffffffull, on_expire, &o);
    t0 = now_ns();
    for (unsigned i = 0; i < n; i++) {
        now += step;
        sv_wheel_run(wheel, now);
    }
    ns = (now_ns() - t0) / n;
    if (one_far_timer && !sv_timer_active(&o.t))
        failed = 1;
    sv_wheel_free(wheel);
    wheel = NULL;
    return ns;
}

static void print_machine(size_t ops, unsigned runs)
{
    bench_print_host(SV_BENCH_BUILD_TYPE, SV_BENCH_CFLAGS);
    printf("delays:   40%% T1 retransmissions 500/1000/2000/4000 ms, 40%% 32 s timeouts, "
           "20%% ~3600 s\n          registrations; timers in 64-byte owners, visited in "
           "shuffled order\n");
    printf("method:   %zu timed operations of each kind per size and run (start/cancel in "
           "rounds of\n          N/10); median of rounds and of %u run(s); expire = (next_ms + "
           "run +\n          handler) per timer fired, minus the handler's restart (one start)"
           "\n\n",
           ops, runs);
}

static size_t parse_sizes(const char *s, size_t *sizes)
{
    size_t n = 0;

    while (*s && n < MAX_SIZES) {
        char *end;
        unsigned long long v = strtoull(s, &end, 10);

        if (end == s || v == 0 || v > 100000000ull)
            return 0;
        sizes[n++] = (size_t)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return 0;
    }
    return n;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_timer [--sizes N,N,...] [--runs R] [--ops N] [--quick]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    size_t sizes[MAX_SIZES] = {1000, 10000, 100000, 1000000}, nsizes = 4, ops = 2000000;
    unsigned runs = 3;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            sizes[0] = 1000;
            sizes[1] = 10000;
            nsizes = 2;
            ops = 20000;
            runs = 1;
        } else if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc) {
            nsizes = parse_sizes(argv[++i], sizes);
            if (!nsizes)
                usage();
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            runs = (unsigned)atoi(argv[++i]);
            if (runs < 1 || runs > MAX_RUNS)
                usage();
        } else if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc) {
            ops = (size_t)strtoull(argv[++i], NULL, 10);
            if (ops < 1000)
                usage();
        } else {
            usage();
        }
    }

    print_machine(ops, runs);
    printf("%10s %10s %10s %10s %10s %10s\n", "live", "start ns", "cancel ns", "expire ns",
           "+start ns", "fired/run");
    for (size_t s = 0; s < nsizes; s++) {
        double st[MAX_RUNS], ca[MAX_RUNS], ex[MAX_RUNS], fr[MAX_RUNS];

        for (unsigned r = 0; r < runs; r++) {
            struct result res = bench_size(sizes[s], ops);

            st[r] = res.start;
            ca[r] = res.cancel;
            ex[r] = res.expire_start;
            fr[r] = res.fired_per_run;
        }
        double ms = median(st, runs), mc = median(ca, runs), me = median(ex, runs);

        printf("%10zu %10.1f %10.1f %10.1f %10.1f %10.1f\n", sizes[s], ms, mc, me - ms, me,
               median(fr, runs));
        fflush(stdout);
    }
    printf("\nidle wheel, one timer 49.7 days out, one run per hour:  %.1f ns per run\n",
           bench_idle(3600000, 1000, true));
    printf("empty wheel, one run per millisecond:                   %.1f ns per run\n",
           bench_idle(1, 1000000, false));
    if (failed) {
        fprintf(stderr, "bench_timer: self-check failed\n");
        return 1;
    }
    return 0;
}
