/**
 * @file admin.h  Private to the application layer: the admin HTTP listener (`metrics.listen`).
 *
 * It serves GET /metrics, the process's counters in the Prometheus text exposition format
 * (version 0.0.4), and GET /health, "ok" while the event loop it runs on turns. It runs on one
 * event_base; at each scrape it asks a collector for a snapshot of the counters, so it needs
 * no knowledge of workers or nodes, and app_metrics_format turns a snapshot into text without
 * any I/O, so that the format is unit-tested on its own.
 *
 * The listener is for operators and scrapers on a trusted network: it has no authentication
 * and no TLS. It reveals no identity (the labels are node names, roles, methods and codes),
 * but bind it to loopback or a management network all the same.
 */
#ifndef SIPVEIL_APP_ADMIN_H
#define SIPVEIL_APP_ADMIN_H

#include <stddef.h>
#include <sipveil/net.h>
#include <sipveil/ims.h>
#include <sipveil/privacy_service.h>
#include <sipveil/txn.h>

struct event_base;
struct evbuffer;
struct app_admin;

/** One node's counters. */
struct app_node_counters {
    const char *name; /* the node's name (borrowed from the collector) */
    const char *role; /* "pcscf", "proxy", ... (borrowed) */
    struct proxy_stats px;
    struct txn_stats txn;
    struct privsvc_stats priv; /* zero for role proxy */
    struct ims_stats ims;      /* zero unless ims.enabled */
};

/** A snapshot of the process's counters, summed over the workers. */
struct app_counters {
    unsigned workers;
    struct net_stats net;
    unsigned long unanswered_malformed; /* malformed requests dropped without an answer */
    size_t nnodes;
    struct app_node_counters *nodes; /* owned by the collector, valid until its next call */
};

/**
 * Fill @p c with a snapshot of the counters. It runs on the admin listener's event_base, once
 * per scrape; @p c->nodes points to an array of @p c->nnodes that the collector owns and keeps
 * valid until its next call.
 * @return 0 or an errno (the scrape is answered 500)
 */
typedef int(app_collect_h)(void *arg, struct app_counters *c);

/**
 * Start the admin listener on @p base.
 * @param ap      out: the listener, set on success only
 * @param base    the event loop it runs on (and @p collect is called on)
 * @param listen  "127.0.0.1:9090", "[::1]:0": an IP address and port; port 0 picks one
 * @param collect called at each GET /metrics
 * @param arg     for @p collect
 * @param bound   out (may be NULL): the address actually bound
 * @return 0, EINVAL (@p listen is not an IP address and port), ENOMEM, or the errno of
 *         binding (EADDRINUSE, EACCES ...)
 */
int app_admin_alloc(struct app_admin **ap, struct event_base *base, const char *listen,
                    app_collect_h *collect, void *arg, struct net_addr *bound);
/** Close the listener and its connections. Safe with NULL. */
void app_admin_free(struct app_admin *a);

/**
 * Append the Prometheus text exposition of @p c to @p out.
 * @return 0 or ENOMEM
 */
int app_metrics_format(const struct app_counters *c, struct evbuffer *out);

#endif
