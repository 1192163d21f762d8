/**
 * @file node.c  The process behind `sipveil run`: its workers, signals, reloads and the admin
 * listener.
 *
 * The main thread binds everything first (so that a busy port is an error before anything
 * runs), prints the readiness lines, starts one thread per worker (worker.c) and then runs a
 * small event loop of its own for signals and the admin HTTP listener:
 * - SIGINT, SIGTERM: every worker stops accepting, answers new requests 503 and ends once its
 *   transactions have (at most two seconds); a second signal ends them at once.
 * - SIGHUP: the configuration file is loaded again. When it only changes keys that may change
 *   (`sipveil help config` marks them), each worker applies it between two messages;
 *   otherwise the running configuration stays and the log says which key needs a restart.
 * Every configuration loaded stays in memory until exit: the workers borrow from them.
 */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <event2/event.h>
#include <sipveil/net.h>
#include <sipveil/privacy_dialog.h>
#include <sipveil/privacy_li.h>
#include "admin.h"
#include "app.h"
#include "node.h"
#include "node_ims.h"
#include "node_xcap.h"
#include "worker.h"

#define MOD "node"
#define MAX_WORKERS 256u
#define SWEEP_MS 5000
#define LINGER_MS 32000u /* 64*T1: a dialog's end lets its last transactions finish */

struct proc {
    const struct app_run_opts *opts;
    struct app_config *cfg; /* the one running; cfgs[ncfgs - 1] */
    struct app_config **cfgs;
    size_t ncfgs;
    struct worker **w;
    unsigned nw;
    atomic_uint ndone;    /* workers whose loop ended */
    atomic_uint ndrained; /* stopping workers without live transactions (worker.c) */
    int done_fd;
    struct event_base *base;
    struct event *sint, *sterm, *shup, *done;
    bool stopping;
    struct app_admin *admin;
    struct app_xcap_run xcap; /* the XCAP server, on base */
    struct worker_shared sh;
    struct app_ims_set ims; /* the store and the IMS nodes' state */
    struct li_targets **targets; /* every set loaded (workers borrow them); ntargets */
    size_t ntargets;
    struct event *sweep;
    struct app_node_counters *ctr_nodes;
    struct worker_node_counters *wn; /* scratch: one worker's nodes */
};

static unsigned workers_of(const struct app_config *cfg)
{
    long n = cfg->workers ? (long)cfg->workers : sysconf(_SC_NPROCESSORS_ONLN);

    if (n < 1)
        n = 1;
    return n > (long)MAX_WORKERS ? MAX_WORKERS : (unsigned)n;
}

/* A worker thread's loop ended (called in that thread): wake the main loop. */
static void worker_done(void *arg)
{
    struct proc *pr = arg;
    uint64_t one = 1;

    atomic_fetch_add(&pr->ndone, 1u);
    if (write(pr->done_fd, &one, sizeof(one)) < 0)
        abort(); /* an eventfd write cannot fail short of a bug; never hang the stop */
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
    struct proc *pr = arg;
    uint64_t v;

    (void)what;
    if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        return;
    if (atomic_load(&pr->ndone) == pr->nw)
        event_base_loopbreak(pr->base);
}

/* The counter structs are arrays of unsigned long in all but name: sum them as such. */
_Static_assert(sizeof(struct net_stats) % sizeof(unsigned long) == 0, "net_stats");
_Static_assert(sizeof(struct proxy_stats) % sizeof(unsigned long) == 0, "proxy_stats");
_Static_assert(sizeof(struct txn_stats) % sizeof(unsigned long) == 0, "txn_stats");
_Static_assert(sizeof(struct privsvc_stats) % sizeof(unsigned long) == 0, "privsvc_stats");

static void add_ulongs(void *dst, const void *src, size_t sz)
{
    unsigned long *d = dst;
    const unsigned long *s = src;

    for (size_t i = 0; i < sz / sizeof(*d); i++)
        d[i] += s[i];
}

/* The counters of every worker, summed per node, for /metrics. */
static int collect(void *arg, struct app_counters *c)
{
    struct proc *pr = arg;
    size_t nn = pr->cfg->nnodes;

    memset(c, 0, sizeof(*c));
    memset(pr->ctr_nodes, 0, nn * sizeof(*pr->ctr_nodes));
    c->workers = pr->nw;
    c->nnodes = nn;
    c->nodes = pr->ctr_nodes;
    for (size_t i = 0; i < nn; i++) {
        pr->ctr_nodes[i].name = pr->cfg->nodes[i].name;
        pr->ctr_nodes[i].role = app_role_names[pr->cfg->nodes[i].role];
    }
    for (unsigned k = 0; k < pr->nw; k++) {
        struct worker_counters wc;
        worker_counters(pr->w[k], &wc, pr->wn);
        add_ulongs(&c->net, &wc.net, sizeof(wc.net));
        c->unanswered_malformed += wc.unanswered;
        for (size_t i = 0; i < nn; i++) {
            add_ulongs(&pr->ctr_nodes[i].px, &pr->wn[i].px, sizeof(pr->wn[i].px));
            add_ulongs(&pr->ctr_nodes[i].txn, &pr->wn[i].txn, sizeof(pr->wn[i].txn));
            add_ulongs(&pr->ctr_nodes[i].priv, &pr->wn[i].priv, sizeof(pr->wn[i].priv));
        }
    }
    for (size_t i = 0; i < nn && pr->ims.st; i++) /* shared by the workers: read once */
        if (pr->ims.st[i])
            ims_state_stats(pr->ims.st[i], &pr->ctr_nodes[i].ims);
    return 0;
}

/* The last words: what the workers counted in all (they publish once more as they end). */
static void log_totals(struct proc *pr)
{
    struct app_counters c;
    unsigned long dropped;
    size_t live = 0;

    collect(pr, &c);
    dropped = c.unanswered_malformed + c.net.dropped_malformed + c.net.dropped_oversize;
    for (size_t i = 0; i < c.nnodes; i++) {
        dropped += c.nodes[i].txn.dropped;
        live += c.nodes[i].txn.live;
    }
    sv_log(SV_LOG_NOTICE, MOD,
           "stopped (%lu received, %lu sent, %lu dropped; %zu transaction%s still live)",
           c.net.rx_msgs, c.net.tx_msgs, dropped, live, live == 1 ? "" : "s");
}

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
    struct proc *pr = arg;

    (void)what;
    if (!pr->stopping)
        sv_log(SV_LOG_NOTICE, MOD,
               "signal %d: stopping %u worker%s: no new work; transactions in progress get "
               "up to 2000 ms",
               (int)sig, pr->nw, pr->nw == 1 ? "" : "s");
    else
        sv_log(SV_LOG_NOTICE, MOD, "signal %d again: stopping now", (int)sig);
    pr->stopping = true;
    for (unsigned k = 0; k < pr->nw; k++)
        worker_post(pr->w[k], WORKER_STOP, NULL, NULL);
}

/* The LI targets of @p list (comma-separated URIs) into pr->targets. @return the set, or NULL
 * when the list is empty or on error (logged; *err set). */
static struct li_targets *targets_make(struct proc *pr, const char *list, int *err)
{
    struct sv_slice v[1024];
    char *ids[SV_ARRAY_SIZE(v)];
    size_t n = app_list_split(list, v, SV_ARRAY_SIZE(v)), bad = 0;
    struct li_targets *t = NULL, **tv;

    *err = 0;
    if (!n)
        return NULL;
    for (size_t i = 0; i < n; i++)
        ids[i] = strndup(v[i].p, v[i].l);
    *err = li_targets_alloc(&t, (const char *const *)ids, n, &bad);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    if (*err) {
        /* the target itself is LI content: name its position, not its value */
        sv_log(SV_LOG_ERR, MOD, "li.targets: target %zu of %zu cannot be used: %s", bad + 1, n,
               strerror(*err));
        return NULL;
    }
    if (!(tv = realloc(pr->targets, (pr->ntargets + 1) * sizeof(*tv)))) {
        li_targets_free(t);
        *err = ENOMEM;
        return NULL;
    }
    pr->targets = tv;
    pr->targets[pr->ntargets++] = t;
    return t;
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    struct proc *pr = arg;

    (void)fd;
    (void)what;
    if (pr->sh.dialogs)
        privdlg_sweep(pr->sh.dialogs, sv_now_ms());
    app_ims_sweep(&pr->ims);
}

/* What every worker shares: the dialog store, the LI sink and targets. @return APP_EX_. */
static int shared_make(struct proc *pr)
{
    const struct app_config *cfg = pr->cfg;
    struct privdlg_conf dc = {cfg->dialogs.max, cfg->dialogs.lifetime, LINGER_MS};
    int err;

    pr->sh.drained = &pr->ndrained;
    if ((err = privdlg_store_alloc(&pr->sh.dialogs, &dc))) {
        sv_log(SV_LOG_ERR, MOD, "dialog store: %s", strerror(err));
        return APP_EX_OSERR;
    }
    if (*cfg->li.sink && (err = li_sink_open(&pr->sh.li, cfg->li.sink))) {
        sv_log(SV_LOG_ERR, MOD, "li.sink %s: cannot open it: %s", cfg->li.sink, strerror(err));
        return err == ENOMEM ? APP_EX_OSERR : APP_EX_CANTCREAT;
    }
    pr->sh.li_targets = targets_make(pr, cfg->li.targets, &err);
    if (err)
        return APP_EX_CONFIG;
    if (pr->sh.li)
        sv_log(SV_LOG_NOTICE, MOD, "lawful interception on: %zu target%s, records to %s",
               pr->sh.li_targets ? li_targets_count(pr->sh.li_targets) : 0,
               pr->sh.li_targets && li_targets_count(pr->sh.li_targets) == 1 ? "" : "s",
               cfg->li.sink);
    return APP_EX_OK;
}

/* Load the file again; @return the new config, or NULL (logged) when it cannot be used. */
static struct app_config *reload_load(struct proc *pr)
{
    struct app_config *nc = calloc(1, sizeof(*nc));
    struct sv_cfg_diag d;
    char key[300];

    if (!nc)
        return NULL;
    sv_cfg_diag_init(&d, 0);
    if (app_config_load(nc, pr->opts->config_path, &d)) {
        for (unsigned i = 0; i < d.nkept; i++)
            sv_log(SV_LOG_ERR, MOD, "reload: %s", d.errv[i]);
        sv_log(SV_LOG_ERR, MOD, "reload: %u error%s; the running configuration stays", d.nerr,
               d.nerr == 1 ? "" : "s");
        sv_cfg_diag_close(&d);
        free(nc);
        return NULL;
    }
    sv_cfg_diag_close(&d);
    if (sv_cfg_fixed_diff(app_config_table, pr->cfg, nc, key, sizeof(key))) {
        sv_log(SV_LOG_ERR, MOD,
               "reload: %s changed, which needs a restart; the running configuration stays", key);
        goto refuse;
    }
    for (size_t i = 0; i < nc->nnodes; i++) {
        if (worker_routes_check(&nc->nodes[i])) {
            sv_log(SV_LOG_ERR, MOD,
                   "reload: node %s has a route that cannot be used; the "
                   "running configuration stays",
                   nc->nodes[i].name);
            goto refuse;
        }
    }
    return nc;

refuse:
    app_config_free(nc);
    free(nc);
    return NULL;
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
    struct proc *pr = arg;
    struct app_config *nc, **v;

    (void)sig;
    (void)what;
    if (!pr->opts->config_path) {
        sv_log(SV_LOG_NOTICE, MOD, "SIGHUP: nothing to reload (started without --config)");
        return;
    }
    if (pr->stopping || !(nc = reload_load(pr)))
        return;
    if (!(v = realloc(pr->cfgs, (pr->ncfgs + 1) * sizeof(*v)))) {
        app_config_free(nc);
        free(nc);
        sv_log(SV_LOG_ERR, MOD, "reload: out of memory; the running configuration stays");
        return;
    }
    pr->cfgs = v;
    pr->cfgs[pr->ncfgs++] = nc;
    pr->cfg = nc;
    if (!pr->opts->keep_log_level)
        sv_log_set_level((enum sv_log_level)nc->log.level);
    if (pr->opts->force_trace)
        nc->log.trace = true;
    if (pr->opts->force_syslog)
        nc->log.target = APP_LOG_SYSLOG;
    if (nc->log.target != pr->cfgs[pr->ncfgs - 2]->log.target) {
        if (nc->log.target == APP_LOG_SYSLOG)
            sv_log_open_syslog("sipveil", app_log_facility(nc->log.facility));
        else
            sv_log_open_stderr();
    }
    int err;
    const struct li_targets *targets = targets_make(pr, nc->li.targets, &err);
    if (err) {
        sv_log(SV_LOG_ERR, MOD, "reload: li.targets cannot be used; the previous targets stay");
        targets = pr->sh.li_targets;
    }
    pr->sh.li_targets = targets;
    for (unsigned k = 0; k < pr->nw; k++)
        worker_post(pr->w[k], WORKER_RELOAD, nc, targets);
    sv_log(SV_LOG_NOTICE, MOD, "SIGHUP: %s reloaded into %u worker%s", pr->opts->config_path,
           pr->nw, pr->nw == 1 ? "" : "s");
}

static void announce(const struct proc *pr, const struct net_addr *admin)
{
    const struct worker *w0 = pr->w[0];
    char where[80];

    for (size_t i = 0; i < pr->cfg->nnodes; i++) {
        const struct app_node *n = &pr->cfg->nodes[i];
        for (size_t j = 0; j < n->nlisteners; j++) {
            const char *tp = app_tp_names[n->listeners[j].transport];
            net_addr_str(worker_listener_addr(w0, i, j), where, sizeof(where));
            sv_log(SV_LOG_NOTICE, MOD, "node %s: proxy listening on %s %s", n->name, tp, where);
            if (pr->opts->show_node)
                printf("ready %s %s node %s\n", tp, where, n->name);
            else
                printf("ready %s %s\n", tp, where);
        }
    }
    if (pr->xcap.srv)
        printf("ready http %s xcap\n", pr->xcap.bound);
    if (admin) {
        net_addr_str(admin, where, sizeof(where));
        sv_log(SV_LOG_NOTICE, MOD, "metrics on http://%s/metrics", where);
        printf("ready http %s metrics\n", where);
    }
    fflush(stdout);
}

/* Workers, their sockets and proxies. @return an APP_EX_ status. */
static int workers_make(struct proc *pr)
{
    int rc = APP_EX_OK;

    if ((rc = shared_make(pr)) != APP_EX_OK)
        return rc;
    if ((rc = app_ims_alloc(&pr->ims, pr->cfg)) != APP_EX_OK)
        return rc;
    pr->sh.ims = pr->ims.st;
    pr->sh.store = &pr->ims.store; /* opened by app_ims_start, before the workers start */
    pr->w = calloc(pr->nw, sizeof(*pr->w));
    pr->ctr_nodes = calloc(pr->cfg->nnodes, sizeof(*pr->ctr_nodes));
    pr->wn = calloc(pr->cfg->nnodes, sizeof(*pr->wn));
    if (!pr->w || !pr->ctr_nodes || !pr->wn)
        return APP_EX_OSERR;
    for (unsigned k = 0; k < pr->nw && rc == APP_EX_OK; k++) {
        int err = worker_alloc(&pr->w[k], k, pr->nw, pr->cfg, &pr->sh);
        if (err) {
            sv_log(SV_LOG_ERR, MOD, "worker %u: %s", k, strerror(err));
            return APP_EX_OSERR;
        }
        rc = worker_listen(pr->w[k], k ? pr->w[0] : NULL);
    }
    if (rc == APP_EX_OK)
        rc = app_ims_start(&pr->ims, pr->cfg, pr->w[0]);
    for (unsigned k = 0; k < pr->nw && rc == APP_EX_OK; k++)
        rc = worker_start(pr->w[k]);
    return rc;
}

/* A pres-rules document was written through XCAP. The presence server re-evaluates that
 * presentity's subscriptions here once it runs in this process (R105). */
/* An XCAP write (main thread): the presence servers re-evaluate that presentity's watchers
 * (R105). */
static void on_xcap_write(void *arg, const char *auid, const char *xui)
{
    struct proc *pr = arg;

    sv_log(SV_LOG_DEBUG, MOD, "xcap: %s of %s written", auid, xui);
    if (strcmp(auid, "pres-rules") != 0)
        return;
    for (size_t i = 0; pr->ims.st && i < pr->ims.n; i++)
        if (pr->ims.st[i])
            ims_ps_rules_changed(pr->ims.st[i], xui);
}

/* The main thread's loop: signals, worker ends, the admin listener. @return an APP_EX_ status. */
static int control_make(struct proc *pr, struct net_addr *admin_addr, bool *with_admin)
{
    const char *ml = pr->cfg->metrics.listen;

    if (!(pr->base = event_base_new()) ||
        (pr->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
        !(pr->done = event_new(pr->base, pr->done_fd, EV_READ | EV_PERSIST, on_done, pr)) ||
        !(pr->sint = evsignal_new(pr->base, SIGINT, on_stop_signal, pr)) ||
        !(pr->sterm = evsignal_new(pr->base, SIGTERM, on_stop_signal, pr)) ||
        !(pr->shup = evsignal_new(pr->base, SIGHUP, on_hup, pr)) ||
        !(pr->sweep = event_new(pr->base, -1, EV_PERSIST, on_sweep, pr)) ||
        event_add(pr->sweep, &(struct timeval){SWEEP_MS / 1000, 0}) || event_add(pr->done, NULL) ||
        event_add(pr->sint, NULL) || event_add(pr->sterm, NULL) || event_add(pr->shup, NULL))
        return APP_EX_OSERR;
    *with_admin = false;
    if (*ml) {
        int err = app_admin_alloc(&pr->admin, pr->base, ml, collect, pr, admin_addr);
        if (err) {
            sv_log(SV_LOG_ERR, MOD, "cannot serve metrics on %s: %s", ml, strerror(err));
            return APP_EX_UNAVAILABLE;
        }
        *with_admin = true;
    }
    return app_xcap_start(&pr->xcap, pr->cfg, pr->base, pr->ims.store, on_xcap_write, pr);
}

/* Start the worker threads with every signal blocked: signals belong to the main thread. */
static int workers_run(struct proc *pr)
{
    sigset_t all, old;
    int err = 0;

    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (unsigned k = 0; k < pr->nw && !err; k++)
        err = worker_run(pr->w[k], worker_done, pr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err) {
        sv_log(SV_LOG_ERR, MOD, "cannot start a worker thread: %s", strerror(err));
        for (unsigned k = 0; k < pr->nw; k++)
            worker_post(pr->w[k], WORKER_STOP, NULL, NULL);
    }
    return err ? APP_EX_OSERR : APP_EX_OK;
}

static void proc_free(struct proc *pr)
{
    for (unsigned k = 0; pr->w && k < pr->nw; k++)
        if (pr->w[k])
            worker_join(pr->w[k]);
    app_admin_free(pr->admin);
    app_xcap_stop(&pr->xcap);
    for (unsigned k = 0; pr->w && k < pr->nw; k++)
        worker_free(pr->w[k]);
    free(pr->w);
    free(pr->ctr_nodes);
    free(pr->wn);
    if (pr->done)
        event_free(pr->done);
    if (pr->sint)
        event_free(pr->sint);
    if (pr->sterm)
        event_free(pr->sterm);
    if (pr->shup)
        event_free(pr->shup);
    if (pr->sweep)
        event_free(pr->sweep);
    app_ims_free(&pr->ims);
    privdlg_store_free(pr->sh.dialogs);
    li_sink_close(pr->sh.li);
    for (size_t i = 0; i < pr->ntargets; i++)
        li_targets_free(pr->targets[i]);
    free(pr->targets);
    if (pr->done_fd >= 0)
        close(pr->done_fd);
    if (pr->base)
        event_base_free(pr->base);
    for (size_t i = 1; i < pr->ncfgs; i++) { /* cfgs[0] is the caller's */
        app_config_free(pr->cfgs[i]);
        free(pr->cfgs[i]);
    }
    free(pr->cfgs);
}

/*
 * Keep freed heap memory instead of handing it back to the kernel after every burst. With
 * glibc's defaults each worker thread's arena is trimmed as soon as 128 KiB at its top are
 * free, and grown again page by page (an mprotect and a page fault per page) when the next
 * burst comes: measured at 2,000 calls/s, one mprotect per proxied call and a tenth of the
 * proxy's CPU. A server's working set comes back, so the process keeps its high-water mark,
 * as Kamailio's preallocated pools do. Allocations up to 4 MiB stay in the arenas. M_TOP_PAD
 * makes the main arena grow 8 MiB at a time, and each new heap of a thread's arena start 8 MiB
 * large; past that, glibc grows a thread's heap by what each allocation lacks, one mprotect
 * per step (`perf stat` of bench/register, 2026-12-05: 3.3 per registration while transactions
 * accumulate, 1.0 while the registrar's memo still made 10 KiB allocations; none once the
 * working set stops growing).
 */
static void heap_settle(void)
{
#ifdef __GLIBC__
    if (!mallopt(M_TRIM_THRESHOLD, 512 << 20) || !mallopt(M_MMAP_THRESHOLD, 4 << 20) ||
        !mallopt(M_TOP_PAD, 8 << 20))
        sv_log(SV_LOG_WARN, MOD, "could not tune the allocator (mallopt); running with its "
                                 "defaults");
#endif
}

int app_nodes_run(struct app_config *cfg, const struct app_run_opts *opts)
{
    struct proc pr;
    struct net_addr admin_addr;
    bool with_admin = false;
    int rc;

    heap_settle();
    memset(&pr, 0, sizeof(pr));
    pr.opts = opts;
    pr.done_fd = -1;
    atomic_init(&pr.ndone, 0u);
    if (opts->force_trace)
        cfg->log.trace = true;
    if (!(pr.cfgs = malloc(sizeof(*pr.cfgs))))
        return APP_EX_OSERR;
    pr.cfgs[pr.ncfgs++] = cfg;
    pr.cfg = cfg;
    pr.nw = workers_of(cfg);
    if (cfg->log.trace)
        sv_log(SV_LOG_WARN, MOD,
               "log.trace is on: whole messages, identities included, go to "
               "the log");
    rc = workers_make(&pr);
    if (rc == APP_EX_OK)
        rc = control_make(&pr, &admin_addr, &with_admin);
    if (rc == APP_EX_OK) {
        sv_log(SV_LOG_NOTICE, MOD, "%u worker%s, %zu node%s", pr.nw, pr.nw == 1 ? "" : "s",
               cfg->nnodes, cfg->nnodes == 1 ? "" : "s");
        announce(&pr, with_admin ? &admin_addr : NULL);
        rc = workers_run(&pr);
        if (rc == APP_EX_OK) {
            event_base_dispatch(pr.base);
            for (unsigned k = 0; k < pr.nw; k++)
                worker_join(pr.w[k]);
            log_totals(&pr);
        }
    }
    proc_free(&pr);
    return rc;
}
