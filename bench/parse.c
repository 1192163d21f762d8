/**
 * @file parse.c  Parse benchmark: sipveil's message layer against libosip2, on the IMS mix.
 *
 * Every message of tests/data/ims/ (one per .sip file) is loaded into memory once. Each
 * measurement then runs over the whole mix, message after message, for a fixed time and counts
 * messages:
 *
 *   a  sipveil parse: sip_msg_parse into an arena over a static block, reset per message;
 *   b  a, then delete every P-Asserted-Identity line, replace From's name-addr with the
 *      anonymous one (keeping its tag) and sip_msg_print the result into a static buffer;
 *   c  libosip2 parse: osip_message_init + osip_message_parse + osip_message_free;
 *   d  c, then the same two edits done the osip way and osip_message_to_str;
 *   e  a, then decode every header that libosip2 decodes during its parse (the fair match
 *      for c: libosip2 decodes more during the parse than sipveil does).
 *
 * Every measurement is warmed up, then run three times, the rows taking turns every 0.1 s
 * within a run; the median rate is reported with the spread of the three. Heap allocations
 * are counted by alloc_count.c over one separate pass of the mix, so those figures are exact
 * counts, not samples.
 *
 * Before anything is timed, every message goes once through all five paths and the results
 * are checked (each parse succeeds, an unedited sipveil print is byte-identical to its input,
 * and both edited outputs hold no P-Asserted-Identity, the anonymous From and the original
 * tag), so a benchmark of a path that quietly fails cannot happen.
 *
 * Usage: bench_parse [--seconds S] [--only abcde] [--arena BYTES] [--data DIR] [--verbose]
 *                    [--per-message]
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <gnu/libc-version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <osipparser2/osip_parser.h>
#include <sipveil/sip.h>

#include "alloc_count.h"
#include "bench_host.h"

#ifndef SV_BENCH_DATA
#define SV_BENCH_DATA "tests/data/ims"
#endif
#ifndef SV_BENCH_BUILD_TYPE
#define SV_BENCH_BUILD_TYPE "unknown"
#endif
#ifndef SV_BENCH_CFLAGS
#define SV_BENCH_CFLAGS "unknown"
#endif
#ifndef SV_BENCH_OSIP_VERSION
#define SV_BENCH_OSIP_VERSION "unknown"
#endif


#define ANON_NAME_ADDR "\"Anonymous\" <sip:anonymous@anonymous.invalid>"
#define MAX_MSGS 256
#define MAX_MSG_SIZE 65536
#define ARENA_MAX (1u << 20)
#define RUNS 3
#define SLICE_SECONDS 0.1
#define MAX_ROWS 8

struct bmsg {
    char name[256];
    char *buf; /* owned; exactly len octets */
    size_t len;
};

static struct bmsg msgs[MAX_MSGS];
static unsigned nmsgs;
static size_t mix_bytes;

/* The per-message arena of a, b and e, on a static block as a server's receive loop would keep
   it. Its size is --arena; anything beyond spills to the heap and shows in allocs/msg. */
static _Alignas(16) char arena_block[ARENA_MAX];
static struct sv_arena arena;
static unsigned long long arena_sum; /* arena.used summed over messages, for bytes/msg */

static char out[2 * MAX_MSG_SIZE];
static bool verbose, per_msg;
static volatile unsigned long long sink; /* results land here so no work is optimised away */

typedef int(bench_h)(const struct bmsg *m);

struct bench {
    char id;
    const char *what;
    bench_h *run;
    bool sv; /* a sipveil path: has arena figures */
    bool selected;
    /* results */
    bool done;
    double rate[RUNS];
    double median, spread;
    double cpu, wall; /* process CPU time and wall time of the timed runs */
    double allocs, bytes, arena_bytes;
};

/* ---- helpers ----------------------------------------------------------------------------- */

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Only to show, in the cpu column, how much of the wall time the process really ran. */
static double cpu_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("bench_parse: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/** Format @p v rounded to an integer with thousands separators. */
static const char *fmt_int(char *buf, size_t sz, double v)
{
    char tmp[32];
    unsigned long long u = (unsigned long long)(v + 0.5);
    int n = snprintf(tmp, sizeof(tmp), "%llu", u);
    size_t o = 0;

    for (int i = 0; i < n && o + 2 < sz; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = '\0';
    return buf;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* ---- loading ----------------------------------------------------------------------------- */

static int sip_file(const struct dirent *d)
{
    size_t n = strlen(d->d_name);

    return n > 4 && strcmp(d->d_name + n - 4, ".sip") == 0;
}

static void load_mix(const char *dir)
{
    struct dirent **names;
    int n = scandir(dir, &names, sip_file, alphasort);

    if (n < 0)
        die("cannot read %s: %s", dir, strerror(errno));
    if (n == 0)
        die("no .sip files in %s", dir);
    if (n > MAX_MSGS)
        die("more than %d messages in %s", MAX_MSGS, dir);
    for (int i = 0; i < n; i++) {
        struct bmsg *m = &msgs[nmsgs++];
        char path[4096];
        FILE *f;
        long sz;

        snprintf(m->name, sizeof(m->name), "%s", names[i]->d_name);
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        free(names[i]);
        f = fopen(path, "rb");
        if (!f)
            die("%s: %s", path, strerror(errno));
        if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) <= 0 || sz > MAX_MSG_SIZE ||
            fseek(f, 0, SEEK_SET) != 0)
            die("%s: empty, unreadable or above %d bytes", path, MAX_MSG_SIZE);
        m->len = (size_t)sz;
        m->buf = malloc(m->len);
        if (!m->buf || fread(m->buf, 1, m->len, f) != m->len)
            die("%s: read failed", path);
        fclose(f);
        mix_bytes += m->len;
    }
    free(names);
}

/* ---- a, b: sipveil ----------------------------------------------------------------------- */

static int sv_parse(const struct bmsg *m, struct sip_msg **msgp)
{
    struct sip_perr perr;
    int err;

    sv_arena_reset(&arena);
    err = sip_msg_parse(msgp, &arena, m->buf, m->len, SIP_DGRAM, &sip_limits_default, &perr);
    if (err) {
        fprintf(stderr, "bench_parse: %s: sip_msg_parse: %s (%s, offset %zu)\n", m->name,
                strerror(err), perr.reason ? perr.reason : "-", perr.off);
        return err;
    }
    return 0;
}

static int run_sv_parse(const struct bmsg *m)
{
    struct sip_msg *msg;
    int err = sv_parse(m, &msg);

    if (err)
        return err;
    sink += msg->hdrc;
    arena_sum += arena.used;
    return 0;
}

/** The privacy edits of b; @p n receives the printed length. */
static int sv_edit_print(const struct bmsg *m, struct sip_msg *msg, size_t *n)
{
    struct sip_edits ed;
    const struct sip_hdr *from = sip_msg_hdr(msg, SIP_HDR_FROM);
    int err;

    sip_edits_init(&ed, msg, &arena);
    err = sip_edit_hdr_del_all(&ed, SIP_HDR_P_ASSERTED_IDENTITY);
    if (err && err != ENOENT) {
        fprintf(stderr, "bench_parse: %s: sip_edit_hdr_del_all: %s\n", m->name, strerror(err));
        return err;
    }
    if (!from)
        return ENOENT;
    err = sip_edit_addr_set(&ed, from, &msg->from, SV_LIT(ANON_NAME_ADDR));
    if (err) {
        fprintf(stderr, "bench_parse: %s: sip_edit_addr_set: %s\n", m->name, strerror(err));
        return err;
    }
    err = sip_msg_print(msg, &ed, out, sizeof(out), n);
    if (err)
        fprintf(stderr, "bench_parse: %s: sip_msg_print: %s\n", m->name, strerror(err));
    return err;
}

static int run_sv_edit(const struct bmsg *m)
{
    struct sip_msg *msg;
    size_t n;
    int err = sv_parse(m, &msg);

    if (err)
        return err;
    err = sv_edit_print(m, msg, &n);
    if (err)
        return err;
    sink += n;
    arena_sum += arena.used;
    return 0;
}

/**
 * Row e: after the parse, decode what osip_message_parse decodes on its own (see
 * docs/performance.md): every Via, Contact, Route and Record-Route element, the
 * authentication headers, Content-Type, the token lists osip parses (Allow, Accept,
 * Accept-Encoding, Accept-Language, Content-Encoding), and the URI lists Call-Info,
 * Alert-Info and Error-Info; other comma lists are only split into elements, as osip splits
 * them.
 */
static int sv_decode_like_osip(const struct sip_msg *msg)
{
    unsigned n = 0;
    int err = 0;

    for (unsigned i = 0; i < msg->hdrc && !err; i++) {
        const struct sip_hdr *h = &msg->hdrv[i];
        struct sv_slice cur = h->value, tok;
        union {
            struct sip_via via;
            struct sip_contact ct;
            struct sip_addr addr;
            struct sip_auth au;
            struct sip_ctype ctype;
            struct sip_pvalue pv;
        } u;

        switch (h->id) {
        case SIP_HDR_VIA:
            while ((err = sip_via_next(&cur, &u.via)) == 0)
                n++;
            break;
        case SIP_HDR_CONTACT:
            while ((err = sip_contact_next(&cur, &u.ct)) == 0)
                n++;
            break;
        case SIP_HDR_ROUTE:
        case SIP_HDR_RECORD_ROUTE:
            while ((err = sip_addr_next(&cur, &u.addr)) == 0)
                n++;
            break;
        case SIP_HDR_AUTHORIZATION:
        case SIP_HDR_PROXY_AUTHORIZATION:
        case SIP_HDR_WWW_AUTHENTICATE:
        case SIP_HDR_PROXY_AUTHENTICATE:
            err = sip_auth_decode(&u.au, cur);
            n++;
            break;
        case SIP_HDR_CONTENT_TYPE:
            err = sip_ctype_decode(&u.ctype, cur);
            n++;
            break;
        case SIP_HDR_ACCEPT: /* media ranges: split, then decode each as a media type */
            while (!err && (err = sip_pvalue_next(&cur, &u.pv)) == 0) {
                err = sip_ctype_decode(&u.ctype, u.pv.raw);
                n++;
            }
            break;
        case SIP_HDR_ALLOW:
        case SIP_HDR_ACCEPT_ENCODING:
        case SIP_HDR_ACCEPT_LANGUAGE:
        case SIP_HDR_CONTENT_ENCODING:
            while ((err = sip_token_next(&cur, &tok)) == 0)
                n++;
            break;
        default:
            if (!(sip_hdr_flags(h->id) & SIP_HF_LIST) && h->id != SIP_HDR_OTHER)
                break;
            while ((err = sip_pvalue_next(&cur, &u.pv)) == 0)
                n++;
            break;
        }
        if (err == ENOENT)
            err = 0;
    }
    sink += n;
    return err;
}

static int run_sv_parse_full(const struct bmsg *m)
{
    struct sip_msg *msg;
    int err = sv_parse(m, &msg);

    if (err)
        return err;
    err = sv_decode_like_osip(msg);
    if (err) {
        fprintf(stderr, "bench_parse: %s: decoding the osip set: %s\n", m->name, strerror(err));
        return err;
    }
    arena_sum += arena.used;
    return 0;
}

/* ---- c, d: libosip2 ---------------------------------------------------------------------- */

static int run_osip_parse(const struct bmsg *m)
{
    osip_message_t *sip;
    int err;

    if (osip_message_init(&sip) != 0)
        return ENOMEM;
    err = osip_message_parse(sip, m->buf, m->len);
    if (err == 0)
        sink += (unsigned long long)osip_list_size(&sip->headers);
    osip_message_free(sip);
    if (err) {
        fprintf(stderr, "bench_parse: %s: osip_message_parse: %d\n", m->name, err);
        return EBADMSG;
    }
    return 0;
}

/**
 * The edits of d: drop the P-Asserted-Identity headers (osip keeps them as unknown headers)
 * and rebuild From from the anonymous name-addr plus every parameter of the old From, so that
 * the result equals what sip_edit_addr_set produces. @p s receives the serialized message.
 */
static int osip_edit_print(osip_message_t *sip, char **s, size_t *n)
{
    osip_header_t *h;
    osip_list_iterator_t it;
    osip_generic_param_t *gp;
    char from[512];
    size_t o;
    int pos, w;

    while ((pos = osip_message_header_get_byname(sip, "p-asserted-identity", 0, &h)) >= 0) {
        osip_list_remove(&sip->headers, pos);
        osip_header_free(h);
    }
    if (!sip->from)
        return ENOENT;
    o = (size_t)snprintf(from, sizeof(from), "%s", ANON_NAME_ADDR);
    for (gp = osip_list_get_first(&sip->from->gen_params, &it); gp; gp = osip_list_get_next(&it)) {
        w = gp->gvalue ? snprintf(from + o, sizeof(from) - o, ";%s=%s", gp->gname, gp->gvalue)
                       : snprintf(from + o, sizeof(from) - o, ";%s", gp->gname);
        if (w < 0 || (size_t)w >= sizeof(from) - o)
            return ENOSPC;
        o += (size_t)w;
    }
    osip_from_free(sip->from);
    sip->from = NULL;
    if (osip_from_init(&sip->from) != 0)
        return ENOMEM;
    if (osip_from_parse(sip->from, from) != 0)
        return EBADMSG;
    osip_message_force_update(sip);
    if (osip_message_to_str(sip, s, n) != 0)
        return EBADMSG;
    return 0;
}

static int run_osip_edit(const struct bmsg *m)
{
    osip_message_t *sip;
    char *s = NULL;
    size_t n = 0;
    int err;

    if (osip_message_init(&sip) != 0)
        return ENOMEM;
    err = osip_message_parse(sip, m->buf, m->len) ? EBADMSG : osip_edit_print(sip, &s, &n);
    osip_message_free(sip);
    if (err) {
        fprintf(stderr, "bench_parse: %s: osip parse/edit/to_str: %s\n", m->name, strerror(err));
        return err;
    }
    sink += n;
    osip_free(s);
    return 0;
}

/* ---- checks before timing ---------------------------------------------------------------- */

/* A second arena, so that checking an output never disturbs the message it came from. */
static _Alignas(16) char check_block[256 * 1024];

/**
 * Check an edited message @p s: it parses, has no P-Asserted-Identity, its From is the
 * anonymous URI and keeps the tag @p tag.
 */
static void check_edited(const char *who, const struct bmsg *m, const char *s, size_t n,
                         struct sv_slice tag)
{
    struct sv_arena ca;
    struct sip_msg *msg;
    struct sip_perr perr;
    int err;

    sv_arena_init(&ca, check_block, sizeof(check_block));
    err = sip_msg_parse(&msg, &ca, s, n, SIP_DGRAM, &sip_limits_default, &perr);
    if (err)
        die("%s: %s output does not parse: %s (%s)", m->name, who, strerror(err),
            perr.reason ? perr.reason : "-");
    if (sip_msg_hdr(msg, SIP_HDR_P_ASSERTED_IDENTITY))
        die("%s: %s output still has P-Asserted-Identity", m->name, who);
    if (!sv_slice_caseeq_cstr(msg->from.uri.user, "anonymous") ||
        !sv_slice_caseeq_cstr(msg->from.uri.host, "anonymous.invalid"))
        die("%s: %s output: From is not anonymous", m->name, who);
    if (!sv_slice_eq(msg->from.tag, tag))
        die("%s: %s output: From tag changed", m->name, who);
    sv_arena_close(&ca);
}

static void check_all(void)
{
    for (unsigned i = 0; i < nmsgs; i++) {
        const struct bmsg *m = &msgs[i];
        struct sip_msg *msg;
        osip_message_t *sip;
        struct sv_slice tag;
        char *s;
        size_t n;

        if (sv_parse(m, &msg) != 0)
            die("%s: sipveil does not parse it", m->name);
        if (msg->raw.l != m->len)
            die("%s: sipveil framed %zu of %zu octets", m->name, msg->raw.l, m->len);
        if (sip_msg_print(msg, NULL, out, sizeof(out), &n) != 0 || n != m->len ||
            memcmp(out, m->buf, n) != 0)
            die("%s: sip_msg_print without edits is not byte-identical", m->name);
        tag = msg->from.tag; /* points into m->buf, which outlives every parse */
        if (sv_edit_print(m, msg, &n) != 0)
            die("%s: sipveil edit path failed", m->name);
        check_edited("sipveil", m, out, n, tag);

        if (run_sv_parse_full(m) != 0)
            die("%s: sipveil cannot decode the headers libosip2 decodes", m->name);
        if (run_osip_parse(m) != 0)
            die("%s: libosip2 does not parse it", m->name);
        if (osip_message_init(&sip) != 0 || osip_message_parse(sip, m->buf, m->len) != 0 ||
            osip_edit_print(sip, &s, &n) != 0)
            die("%s: libosip2 edit path failed", m->name);
        osip_message_free(sip);
        check_edited("libosip2", m, s, n, tag);
        osip_free(s);
    }
}

/* ---- measuring --------------------------------------------------------------------------- */

static void one_pass(struct bench *b)
{
    for (unsigned i = 0; i < nmsgs; i++)
        if (b->run(&msgs[i]) != 0)
            die("%s failed on %s", b->what, msgs[i].name);
}

/**
 * Run whole passes over the mix for at least @p seconds.
 * @param n    out: messages processed.
 * @param sec  out: seconds taken (CLOCK_MONOTONIC).
 */
static void run_for(struct bench *b, double seconds, unsigned long long *n, double *sec)
{
    double t0 = now(), t;

    *n = 0;
    do {
        one_pass(b);
        *n += nmsgs;
        t = now();
    } while (t - t0 < seconds);
    *sec = t - t0;
}

/** Warm @p b up and count its heap and arena use over one pass of the mix. */
static void prepare(struct bench *b, double seconds)
{
    struct alloc_stats s0, s1;
    unsigned long long a0, n;
    double sec;

    run_for(b, seconds / 4, &n, &sec); /* warm caches, branch predictors and the allocator */

    alloc_count_get(&s0);
    a0 = arena_sum;
    one_pass(b);
    alloc_count_get(&s1);
    b->allocs = (double)(s1.calls - s0.calls) / nmsgs;
    b->bytes = (double)(s1.bytes - s0.bytes) / nmsgs;
    b->arena_bytes = (double)(arena_sum - a0) / nmsgs;
}

/**
 * Time every selected row RUNS times. Within a run the rows take turns in slices of
 * SLICE_SECONDS (a b c d e, a b c d e, ...) until each has had @p seconds, so that a slow
 * spell of a shared machine hits every row alike and the ratios stay fair.
 */
static void measure_all(struct bench *bv, size_t nb, double seconds)
{
    int nslices = (int)(seconds / SLICE_SECONDS + 0.5);

    if (nslices < 1)
        nslices = 1;
    for (int r = 0; r < RUNS; r++) {
        unsigned long long tot_n[MAX_ROWS] = {0};
        double tot_sec[MAX_ROWS] = {0};

        for (int sl = 0; sl < nslices; sl++) {
            for (size_t i = 0; i < nb; i++) {
                struct bench *b = &bv[i];
                unsigned long long n;
                double c0, sec;

                if (!b->selected)
                    continue;
                c0 = cpu_now();
                run_for(b, seconds / nslices, &n, &sec);
                b->cpu += cpu_now() - c0;
                b->wall += sec;
                tot_n[i] += n;
                tot_sec[i] += sec;
            }
        }
        for (size_t i = 0; i < nb; i++) {
            if (!bv[i].selected)
                continue;
            bv[i].rate[r] = (double)tot_n[i] / tot_sec[i];
            if (verbose)
                fprintf(stderr, "run %d %c %.0f messages/s\n", r + 1, bv[i].id, bv[i].rate[r]);
        }
    }
    for (size_t i = 0; i < nb; i++) {
        struct bench *b = &bv[i];
        double sorted[RUNS];

        if (!b->selected)
            continue;
        memcpy(sorted, b->rate, sizeof(sorted));
        qsort(sorted, RUNS, sizeof(sorted[0]), cmp_double);
        b->median = sorted[RUNS / 2];
        b->spread = (sorted[RUNS - 1] - sorted[0]) / b->median;
        b->done = true;
    }
}

/**
 * --per-message: ns per message of every selected row, file by file, to find the message
 * kinds that cost most. One run of @p seconds / nmsgs per file and row; not a median.
 */
static void per_message(struct bench *bv, size_t nb, double seconds)
{
    double slot = seconds / nmsgs;

    printf("%-28s %6s", "ns per message", "bytes");
    for (size_t i = 0; i < nb; i++)
        if (bv[i].selected)
            printf(" %9c", bv[i].id);
    putchar('\n');
    for (unsigned k = 0; k < nmsgs; k++) {
        printf("%-28s %6zu", msgs[k].name, msgs[k].len);
        for (size_t i = 0; i < nb; i++) {
            unsigned long long n = 0;
            double t0, t;

            if (!bv[i].selected)
                continue;
            t0 = now();
            do {
                for (int j = 0; j < 64; j++)
                    if (bv[i].run(&msgs[k]) != 0)
                        die("%s failed on %s", bv[i].what, msgs[k].name);
                n += 64;
                t = now();
            } while (t - t0 < slot);
            printf(" %9.0f", (t - t0) * 1e9 / (double)n);
        }
        putchar('\n');
    }
    putchar('\n');
}

/* ---- report ------------------------------------------------------------------------------ */

static void print_machine(double seconds, size_t arena_sz)
{
    bench_print_host(SV_BENCH_BUILD_TYPE, SV_BENCH_CFLAGS);
    printf("peer:     libosip2 %s (distribution build), glibc %s malloc\n", SV_BENCH_OSIP_VERSION,
           gnu_get_libc_version());
    printf("mix:      %u messages, %zu bytes, %.0f bytes/message on average\n", nmsgs, mix_bytes,
           (double)mix_bytes / nmsgs);
    printf("method:   median of %d runs of %.2f s per row after a %.2f s warm-up; within a run "
           "rows take\n          turns every %.2f s; CLOCK_MONOTONIC; sipveil arena block %zu "
           "bytes;\n          spread = (max-min)/median; cpu = process CPU time / wall time\n\n",
           RUNS, seconds, seconds / 4, SLICE_SECONDS, arena_sz);
}

static void print_table(const struct bench *bv, size_t nb)
{
    char r[32], a[32], by[32], ar[32];

    printf("   %-30s %11s %7s %10s %9s %11s %6s %5s\n", "", "messages/s", "ns/msg", "allocs/msg",
           "bytes/msg", "arena B/msg", "spread", "cpu");
    for (size_t i = 0; i < nb; i++) {
        const struct bench *b = &bv[i];

        if (!b->done)
            continue;
        snprintf(a, sizeof(a), "%.2f", b->allocs);
        printf("%c  %-30s %11s %7.0f %10s %9s %11s %5.1f%% %4.0f%%\n", b->id, b->what,
               fmt_int(r, sizeof(r), b->median), 1e9 / b->median, a,
               fmt_int(by, sizeof(by), b->bytes),
               b->sv ? fmt_int(ar, sizeof(ar), b->arena_bytes) : "-", 100.0 * b->spread,
               100.0 * b->cpu / b->wall);
    }
    putchar('\n');
    if (bv[0].done && bv[2].done)
        printf("ratio sipveil/osip, parse:                 %6.2fx\n", bv[0].median / bv[2].median);
    if (bv[1].done && bv[3].done)
        printf("ratio sipveil/osip, parse+edit+serialize:  %6.2fx\n", bv[1].median / bv[3].median);
    if (bv[4].done && bv[2].done)
        printf("ratio sipveil/osip, same decodes (e/c):    %6.2fx\n", bv[4].median / bv[2].median);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_parse [--seconds S] [--only abcde] [--arena BYTES] [--data DIR] "
            "[--verbose] [--per-message]\n"
            "  --seconds S    length of one timed run (default 2; three runs per row)\n"
            "  --only LIST    rows to run, e.g. 'ac' (default abcde)\n"
            "  --arena BYTES  sipveil arena block (default 16384, at most %u)\n"
            "  --data DIR     directory of .sip messages (default %s)\n"
            "  --verbose      print every timed run on stderr\n"
            "  --per-message  first print ns/message of each row for every message file\n",
            ARENA_MAX, SV_BENCH_DATA);
    exit(2);
}

int main(int argc, char **argv)
{
    struct bench bv[] = {
        {.id = 'a', .what = "sipveil parse", .run = run_sv_parse, .sv = true},
        {.id = 'b', .what = "sipveil parse+edit+serialize", .run = run_sv_edit, .sv = true},
        {.id = 'c', .what = "libosip2 parse", .run = run_osip_parse},
        {.id = 'd', .what = "libosip2 parse+edit+serialize", .run = run_osip_edit},
        {.id = 'e', .what = "sipveil parse+osip's decodes", .run = run_sv_parse_full, .sv = true},
    };
    const char *dir = SV_BENCH_DATA, *only = "abcde";
    double seconds = 2.0;
    size_t arena_sz = 16384;

    for (int i = 1; i < argc; i += 2) {
        const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        char *end;

        if (strcmp(arg, "--verbose") == 0 || strcmp(arg, "--per-message") == 0) {
            *(arg[2] == 'v' ? &verbose : &per_msg) = true;
            i--;
            continue;
        }
        if (!val)
            usage();
        if (strcmp(arg, "--seconds") == 0) {
            seconds = strtod(val, &end);
            if (*end || !(seconds > 0) || seconds > 3600)
                usage();
        } else if (strcmp(arg, "--arena") == 0) {
            unsigned long v = strtoul(val, &end, 10);

            if (*end || v < 1024 || v > ARENA_MAX)
                usage();
            arena_sz = v;
        } else if (strcmp(arg, "--only") == 0) {
            only = val;
        } else if (strcmp(arg, "--data") == 0) {
            dir = val;
        } else {
            usage();
        }
    }

    if (parser_init() != 0)
        die("libosip2 parser_init failed");
    sv_arena_init(&arena, arena_block, arena_sz);
    load_mix(dir);
    check_all();
    print_machine(seconds, arena_sz);

    for (size_t i = 0; i < SV_ARRAY_SIZE(bv); i++) {
        bv[i].selected = strchr(only, bv[i].id) != NULL;
        if (bv[i].selected)
            prepare(&bv[i], seconds);
    }
    if (per_msg)
        per_message(bv, SV_ARRAY_SIZE(bv), seconds);
    _Static_assert(SV_ARRAY_SIZE(bv) <= MAX_ROWS, "raise MAX_ROWS");
    measure_all(bv, SV_ARRAY_SIZE(bv), seconds);
    print_table(bv, SV_ARRAY_SIZE(bv));

    sv_arena_close(&arena);
    for (unsigned i = 0; i < nmsgs; i++)
        free(msgs[i].buf);
    return 0;
}
