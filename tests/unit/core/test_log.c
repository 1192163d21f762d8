/**
 * @file test_log.c  Logging (core/log.c): the line format and its per-thread context, the
 * level test before the arguments, whole lines from threads writing at once (short lines and
 * lines longer than PIPE_BUF, into a pipe), errno kept, and the syslog switch.
 *
 * Standard error is redirected with dup2 to a temporary file or a pipe for the time of a case
 * and put back after it, so that cmocka's own report still reaches the terminal.
 */
#include "svtest.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <syslog.h>
#include <unistd.h>

/* ---- capturing standard error ---- */

struct capture {
    int saved; /* the real stderr */
    FILE *f;   /* what fd 2 points to meanwhile */
};

static void capture_start(struct capture *c)
{
    fflush(stderr);
    c->f = tmpfile();
    assert_non_null(c->f);
    c->saved = dup(STDERR_FILENO);
    assert_true(c->saved >= 0);
    assert_int_equal(dup2(fileno(c->f), STDERR_FILENO), STDERR_FILENO);
}

/* Put stderr back and return what was written meanwhile (the caller frees it). */
static char *capture_stop(struct capture *c)
{
    long n;
    char *text;

    assert_int_equal(dup2(c->saved, STDERR_FILENO), STDERR_FILENO);
    close(c->saved);
    n = lseek(fileno(c->f), 0, SEEK_END);
    assert_true(n >= 0);
    text = malloc((size_t)n + 1);
    assert_non_null(text);
    assert_int_equal(pread(fileno(c->f), text, (size_t)n, 0), n);
    text[n] = '\0';
    fclose(c->f);
    return text;
}

/*
 * Check the part every stderr line starts with: "YYYY-MM-DDTHH:MM:SS.mmmZ " (24 + 1 octets).
 * @return what follows it
 */
static const char *skip_time(const char *line)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ ";

    for (size_t i = 0; i < sizeof(shape) - 1; i++) {
        if (shape[i] == 'd')
            assert_true(line[i] >= '0' && line[i] <= '9');
        else
            assert_int_equal(line[i], shape[i]);
    }
    return line + sizeof(shape) - 1;
}

static void expect_line(const char *text, const char *want_after_time)
{
    const char *rest = skip_time(text);

    if (strcmp(rest, want_after_time) != 0)
        print_error("got:    %s\nwanted: %s\n", rest, want_after_time);
    assert_string_equal(rest, want_after_time);
}

/* ---- the format and the context ---- */

static void ctx_full(void **state)
{
    struct capture c;
    char *text;

    sv_log_ctx_worker(1);
    sv_log_ctx_set("pcscf", 0x1a2b3c4d);
    sv_log_ctx_txn(0xff);
    capture_start(&c);
    sv_log(SV_LOG_NOTICE, "proxy", "forwarded %s to %d", "INVITE", 2);
    text = capture_stop(&c);
    expect_line(text, "notice proxy  [w1 pcscf call=1a2b3c4d txn=00ff] forwarded INVITE to 2\n");
    free(text);
    sv_log_ctx_worker(-1);
    sv_log_ctx_clear();
}

static void ctx_partial_and_none(void **state)
{
    struct capture c;
    char *text;

    capture_start(&c);
    sv_log(SV_LOG_WARN, "run", "no context");
    text = capture_stop(&c);
    expect_line(text, "warn   run    no context\n");
    free(text);

    /* Only the node: one field, no empty ones. */
    sv_log_ctx_set("edge-1", 0);
    capture_start(&c);
    sv_log(SV_LOG_ERR, "net", "x");
    text = capture_stop(&c);
    expect_line(text, "err    net    [edge-1] x\n");
    free(text);

    /* Only the Call-ID hash and the transaction; the hash is eight hex digits. */
    sv_log_ctx_set(NULL, 0xab);
    sv_log_ctx_txn(0x12345);
    capture_start(&c);
    sv_log(SV_LOG_ERR, "txn", "y");
    text = capture_stop(&c);
    expect_line(text, "err    txn    [call=000000ab txn=12345] y\n");
    free(text);

    /* A new set forgets the transaction of the previous message. */
    sv_log_ctx_set("scscf", 7);
    capture_start(&c);
    sv_log(SV_LOG_ERR, "txn", "z");
    text = capture_stop(&c);
    expect_line(text, "err    txn    [scscf call=00000007] z\n");
    free(text);

    /* Clear keeps the worker: it is the thread's for its whole life. */
    sv_log_ctx_worker(3);
    sv_log_ctx_clear();
    capture_start(&c);
    sv_log(SV_LOG_ERR, "txn", "w");
    text = capture_stop(&c);
    expect_line(text, "err    txn    [w3] w\n");
    free(text);
    sv_log_ctx_worker(-1);
}

/* The context is per thread: another thread's context never shows in this one's lines. */
static void *other_ctx_thread(void *arg)
{
    sv_log_ctx_set("other", 0xdead);
    sv_log_ctx_worker(9);
    return arg;
}

static void ctx_is_per_thread(void **state)
{
    struct capture c;
    pthread_t t;
    char *text;

    sv_log_ctx_set("mine", 0);
    assert_int_equal(pthread_create(&t, NULL, other_ctx_thread, NULL), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    capture_start(&c);
    sv_log(SV_LOG_ERR, "app", "m");
    text = capture_stop(&c);
    expect_line(text, "err    app    [mine] m\n");
    free(text);
    sv_log_ctx_clear();
}

/* ---- levels ---- */

static int evaluated;

static int side_effect(void)
{
    return ++evaluated;
}

static void level_filter(void **state)
{
    struct capture c;
    char *text;
    enum sv_log_level lvl, before = sv_log_threshold;

    sv_log_set_level(SV_LOG_WARN);
    evaluated = 0;
    capture_start(&c);
    sv_log(SV_LOG_INFO, "t", "info %d", side_effect());
    sv_log(SV_LOG_DEBUG, "t", "debug %d", side_effect());
    sv_log(SV_LOG_NOTICE, "t", "notice %d", side_effect());
    sv_log(SV_LOG_WARN, "t", "warn %d", side_effect());
    sv_log(SV_LOG_ERR, "t", "err %d", side_effect());
    text = capture_stop(&c);
    /* The macro tests the level first: suppressed lines never evaluate their arguments. */
    assert_int_equal(evaluated, 2);
    assert_null(strstr(text, "info"));
    assert_null(strstr(text, "debug"));
    assert_null(strstr(text, "notice"));
    assert_non_null(strstr(text, "warn   t      warn 1\n"));
    assert_non_null(strstr(text, "err    t      err 2\n"));
    free(text);

    assert_int_equal(sv_log_level_parse("DEBUG", &lvl), 0);
    assert_int_equal(lvl, SV_LOG_DEBUG);
    assert_int_equal(sv_log_level_parse("loud", &lvl), EINVAL);
    sv_log_set_level(before);
}

/* ---- long lines, errno ---- */

static void long_line_whole_and_errno_kept(void **state)
{
    enum { LONG = 20000 };
    struct capture c;
    char *msg = malloc(LONG + 1), *text;
    const char *rest, *nl;

    assert_non_null(msg);
    for (size_t i = 0; i < LONG; i++)
        msg[i] = (char)('a' + i % 26);
    msg[LONG] = '\0';
    capture_start(&c);
    errno = EAGAIN;
    sv_log(SV_LOG_ERR, "trace", "%s|end", msg);
    assert_int_equal(errno, EAGAIN);
    text = capture_stop(&c);
    rest = skip_time(text);
    assert_memory_equal(rest, "err    trace  ", 14);
    assert_memory_equal(rest + 14, msg, LONG);
    assert_string_equal(rest + 14 + LONG, "|end\n");
    nl = strchr(text, '\n');
    assert_ptr_equal(nl + 1, text + strlen(text));
    free(text);
    free(msg);
}

/* ---- threads writing at once ---- */

enum { NTHREADS = 4, NLINES = 2000 };

struct reader {
    int fd;
    char *buf;
    size_t len, cap;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;

    for (;;) {
        if (r->cap - r->len < 65536) {
            r->cap = r->cap * 2 + 65536;
            r->buf = realloc(r->buf, r->cap);
            if (!r->buf)
                return NULL;
        }
        ssize_t n = read(r->fd, r->buf + r->len, r->cap - r->len - 1);
        if (n <= 0)
            break;
        r->len += (size_t)n;
    }
    r->buf[r->len] = '\0';
    return r;
}

/* The payload of line @p seq of thread @p t: its letter, repeated; every 50th is long. */
static size_t payload_len(unsigned seq)
{
    return seq % 50 == 0 ? PIPE_BUF * 2 : 20 + seq % 200;
}

static void *writer_main(void *arg)
{
    unsigned t = (unsigned)(uintptr_t)arg;
    char *pay = malloc(PIPE_BUF * 2 + 1);

    if (!pay)
        return NULL;
    memset(pay, 'A' + (int)t, PIPE_BUF * 2);
    sv_log_ctx_worker((int)t);
    for (unsigned seq = 0; seq < NLINES; seq++) {
        sv_log_ctx_set("node", seq + 1);
        sv_log(SV_LOG_NOTICE, "mt", "%u %u %.*s", t, seq, (int)payload_len(seq), pay);
    }
    sv_log_ctx_worker(-1);
    sv_log_ctx_clear();
    free(pay);
    return arg;
}

static void threads_write_whole_lines(void **state)
{
    struct reader r = {0};
    pthread_t rt, wt[NTHREADS];
    unsigned next[NTHREADS] = {0};
    int fds[2], saved;
    size_t nlines = 0;
    char *line;

    assert_int_equal(pipe(fds), 0);
    r.fd = fds[0];
    assert_int_equal(pthread_create(&rt, NULL, reader_main, &r), 0);
    fflush(stderr);
    saved = dup(STDERR_FILENO);
    assert_int_equal(dup2(fds[1], STDERR_FILENO), STDERR_FILENO);
    close(fds[1]);
    for (uintptr_t t = 0; t < NTHREADS; t++)
        assert_int_equal(pthread_create(&wt[t], NULL, writer_main, (void *)t), 0);
    for (unsigned t = 0; t < NTHREADS; t++)
        assert_int_equal(pthread_join(wt[t], NULL), 0);
    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO); /* the write end's last fd */
    close(saved);
    assert_int_equal(pthread_join(rt, NULL), 0);
    close(fds[0]);
    assert_non_null(r.buf);

    /* Every line is whole: its own prefix and context, one letter throughout its payload,
     * and the length it was written with; each thread's lines arrive in order. */
    for (char *p = r.buf; *p; p = line + strlen(line) + 1) {
        char *nl = strchr(p, '\n'), ctx[64];
        unsigned t, seq, w, h;
        int off = 0;
        const char *rest;

        assert_non_null(nl);
        *nl = '\0';
        line = p;
        rest = skip_time(line);
        assert_int_equal(
            sscanf(rest, "notice mt     [w%u node call=%8x] %u %u %n", &w, &h, &t, &seq, &off), 4);
        assert_true(off > 0);
        assert_true(t < NTHREADS);
        assert_int_equal(w, t);
        assert_int_equal(h, seq + 1);
        assert_int_equal(seq, next[t]);
        next[t]++;
        assert_int_equal(strlen(rest + off), payload_len(seq));
        for (const char *q = rest + off; *q; q++)
            if (*q != (char)('A' + t)) {
                snprintf(ctx, sizeof(ctx), "%.40s", q);
                print_error("thread %u line %u mixed with: %s\n", t, seq, ctx);
                fail();
            }
        nlines++;
    }
    assert_int_equal(nlines, NTHREADS * NLINES);
    free(r.buf);
}

/* ---- syslog ---- */

static void syslog_switch(void **state)
{
    struct capture c;
    char *text;
    int err;

    assert_int_equal(sv_log_open_syslog("x", -1), EINVAL);
    assert_int_equal(sv_log_open_syslog("x", LOG_USER | LOG_ERR), EINVAL);
    err = sv_log_open_syslog("sipveil-test", LOG_USER);
    capture_start(&c);
    sv_log(SV_LOG_ERR, "test", "to syslog");
    sv_log_open_stderr();
    sv_log(SV_LOG_ERR, "test", "back on stderr");
    text = capture_stop(&c);
    if (err == 0) {
        expect_line(text, "err    test   back on stderr\n");
    } else {
        /* No syslog socket here (a container): the switch is refused, stderr keeps it all. */
        assert_int_equal(err, ENOENT);
        skip_time(text);
        assert_non_null(strstr(text, "Z err    test   to syslog\n"));
        assert_non_null(strstr(text, "Z err    test   back on stderr\n"));
    }
    free(text);
    sv_log_open_stderr(); /* twice is harmless */
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(ctx_full),
    cmocka_unit_test(ctx_partial_and_none),
    cmocka_unit_test(ctx_is_per_thread),
    cmocka_unit_test(level_filter),
    cmocka_unit_test(long_line_whole_and_errno_kept),
    cmocka_unit_test(threads_write_whole_lines),
    cmocka_unit_test(syslog_switch),
};

SV_TEST_MAIN(tests)
