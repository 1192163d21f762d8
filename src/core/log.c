/**
 * @file log.c  Leveled logging to standard error or syslog, safe from several threads.
 *
 * One line per event: time, level, module, the thread's context, message. The level test
 * happens in the sv_log macro, so arguments of suppressed lines are never evaluated.
 *
 * Worker threads log at the same time. stdio would lock stderr around each fprintf, but a
 * line is built from several calls and a redirected stderr may be fully buffered; so each line
 * is formatted whole into a buffer on the caller's stack (a heap block for the rare line that
 * does not fit, a trace of a large message) and goes out in one write(2). A mutex is held
 * around that write only: a pipe keeps writes of up to PIPE_BUF octets whole by itself, but a
 * longer line, or a write the kernel cuts short, would otherwise let another thread's line
 * land in the middle.
 *
 * The context (worker, node, Call-ID hash, transaction) lives in thread-local storage, so that
 * the layers below the worker need not pass it along to every call that may log.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sipveil/core.h>

enum sv_log_level sv_log_threshold = SV_LOG_NOTICE;

static const char *const level_names[] = {"err", "warn", "notice", "info", "debug"};
static const int level_prio[] = {LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG};

/* Most lines fit; a longer one (a trace of a whole message) takes a heap block. */
#define LINE_STACK 1024
/* A node name longer than this is cut in the context (config caps names at 64). */
#define NODE_MAX 64

struct log_ctx {
    const char *node; /* borrowed from the caller; NULL: none */
    uint32_t callid_hash;
    uint32_t txn;
    int worker; /* negative: none */
};

static _Thread_local struct log_ctx tl_ctx = {NULL, 0, 0, -1};

/* Read on every line from every thread; written when the target changes, before workers. */
static atomic_bool to_syslog;
static char syslog_ident[64];
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

void sv_log_set_level(enum sv_log_level lvl)
{
    __atomic_store_n(&sv_log_threshold, lvl, __ATOMIC_RELAXED);
}

int sv_log_level_parse(const char *s, enum sv_log_level *lvl)
{
    for (size_t i = 0; i < SV_ARRAY_SIZE(level_names); i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *lvl = (enum sv_log_level)i;
            return 0;
        }
    }
    return EINVAL;
}

void sv_log_ctx_set(const char *node, uint32_t callid_hash)
{
    tl_ctx.node = node;
    tl_ctx.callid_hash = callid_hash;
    tl_ctx.txn = 0;
}

void sv_log_ctx_txn(uint32_t txn_id)
{
    tl_ctx.txn = txn_id;
}

void sv_log_ctx_worker(int worker)
{
    tl_ctx.worker = worker < 0 ? -1 : worker;
}

void sv_log_ctx_clear(void)
{
    tl_ctx.node = NULL;
    tl_ctx.callid_hash = 0;
    tl_ctx.txn = 0;
}

/**
 * Switch the log to syslog.
 * @param ident    the tag of every message (copied), or NULL for the program name
 * @param facility LOG_DAEMON, LOG_USER, LOG_LOCAL0 ... LOG_LOCAL7, or another LOG_ facility
 * @return 0, EINVAL, or ENOENT when there is no syslog socket (the log stays where it was)
 */
int sv_log_open_syslog(const char *ident, int facility)
{
    if (facility < 0 || (facility & ~LOG_FACMASK) != 0)
        return EINVAL;
#ifdef _PATH_LOG
    /* syslog(3) drops lines silently when nobody listens (a container without a syslog
     * daemon): refuse to switch, so that the caller can say so and keep standard error. */
    if (access(_PATH_LOG, F_OK) != 0)
        return ENOENT;
#endif
    if (ident)
        snprintf(syslog_ident, sizeof(syslog_ident), "%s", ident);
    /* LOG_NDELAY connects now, while the process may still read /dev/log (before a chroot or
     * a drop of privileges), rather than on the first line. */
    openlog(ident ? syslog_ident : NULL, LOG_PID | LOG_NDELAY, facility);
    atomic_store(&to_syslog, true);
    return 0;
}

void sv_log_open_stderr(void)
{
    if (atomic_exchange(&to_syslog, false))
        closelog();
}

/* Append "[w1 node call=0000abcd txn=00ff] " to @p p, or nothing without context. */
static size_t ctx_format(char *p, size_t sz)
{
    const struct log_ctx *c = &tl_ctx;
    size_t n = 0;
    int w;

    if (c->worker < 0 && !c->node && !c->callid_hash && !c->txn)
        return 0;
    w = snprintf(p, sz, "[");
    if (c->worker >= 0)
        w += snprintf(p + w, sz - (size_t)w, "w%d ", c->worker);
    if (c->node)
        w += snprintf(p + w, sz - (size_t)w, "%.*s ", NODE_MAX, c->node);
    if (c->callid_hash)
        w += snprintf(p + w, sz - (size_t)w, "call=%08x ", (unsigned)c->callid_hash);
    if (c->txn)
        w += snprintf(p + w, sz - (size_t)w, "txn=%04x ", (unsigned)c->txn);
    n = (size_t)w;
    /* The last field's space becomes the bracket; the space after it separates the message. */
    p[n - 1] = ']';
    p[n++] = ' ';
    p[n] = '\0';
    return n;
}

/*
 * The part before the message: for stderr time, level, module and context; for syslog, which
 * has its own time and takes the level as the priority, the module and context only. @p p has
 * LINE_STACK octets, far more than the longest prefix (about 150).
 */
static size_t prefix_format(char *p, enum sv_log_level lvl, const char *module, bool sys)
{
    struct timespec now;
    struct tm tm;
    size_t n;

    if (sys) {
        n = (size_t)snprintf(p, LINE_STACK, "%.32s ", module);
    } else {
        clock_gettime(CLOCK_REALTIME, &now);
        gmtime_r(&now.tv_sec, &tm);
        n = strftime(p, LINE_STACK, "%Y-%m-%dT%H:%M:%S", &tm);
        n += (size_t)snprintf(p + n, LINE_STACK - n, ".%03ldZ %-6s %-6.32s ",
                              now.tv_nsec / 1000000L, level_names[lvl], module);
    }
    return n + ctx_format(p + n, LINE_STACK - n);
}

/* Write all of @p len octets at @p p to standard error, whole with respect to other lines. */
static void write_line(const char *p, size_t len)
{
    pthread_mutex_lock(&write_lock);
    while (len) {
        ssize_t w = write(STDERR_FILENO, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break; /* nowhere left to report it */
        }
        p += w;
        len -= (size_t)w;
    }
    pthread_mutex_unlock(&write_lock);
}

/**
 * Write one log line. The sv_log macro tests the level first; callers that format costly
 * arguments themselves test sv_log_threshold and call this.
 * @param lvl    its level
 * @param module the module tag, e.g. "proxy" (at most 32 octets are printed)
 * @param fmt    printf format of the message, without a final newline
 */
void sv_log_write(enum sv_log_level lvl, const char *module, const char *fmt, ...)
{
    char stack[LINE_STACK];
    char *line = stack, *heap = NULL;
    bool sys = atomic_load_explicit(&to_syslog, memory_order_relaxed);
    int saved = errno;
    size_t head, len;
    va_list ap;
    int n;

    if ((unsigned)lvl > SV_LOG_DEBUG)
        lvl = SV_LOG_DEBUG;
    head = prefix_format(stack, lvl, module, sys);
    va_start(ap, fmt);
    n = vsnprintf(stack + head, sizeof(stack) - head, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0; /* an encoding error: keep the prefix, so the line still says who and when */
    len = head + (size_t)n;
    /* One octet for the newline: a line that fits exactly still needs it. */
    if (len + 1 >= sizeof(stack)) {
        /* Plain malloc, not sv_malloc: a log line must not consume an injected failure. */
        heap = malloc(len + 2);
        if (heap) {
            memcpy(heap, stack, head);
            va_start(ap, fmt);
            vsnprintf(heap + head, (size_t)n + 1, fmt, ap);
            va_end(ap);
            line = heap;
        } else {
            static const char cut[] = "[...]";
            len = sizeof(stack) - 1 - (sizeof(cut) - 1);
            memcpy(stack + len, cut, sizeof(cut) - 1);
            len += sizeof(cut) - 1;
        }
    }
    if (sys) {
        line[len] = '\0';
        syslog(level_prio[lvl], "%s", line);
    } else {
        line[len++] = '\n';
        write_line(line, len);
    }
    free(heap);
    errno = saved;
}
