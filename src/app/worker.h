/**
 * @file worker.h  Private to the application layer: one worker of `sipveil run`.
 *
 * A worker is a thread with its own event loop, timing wheel and transport instance, and its
 * own stateful proxy per node: state is sharded, never shared (docs/architecture.md). Every
 * worker binds every listener with SO_REUSEPORT, so the kernel spreads UDP datagrams by
 * 4-tuple (a peer's retransmissions, ACKs and CANCELs reach the worker that holds their
 * transaction) and spreads TCP/TLS connections. With more than one worker, each also binds a
 * private UDP socket per UDP listener and names it in the Via of the requests it forwards, so
 * that responses come back to the worker that owns the client transaction.
 *
 * The process thread (node.c) talks to a worker only through worker_post() and the counters
 * the worker publishes once a second under its mutex.
 */
#ifndef SIPVEIL_APP_WORKER_H
#define SIPVEIL_APP_WORKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sipveil/net.h>
#include <sipveil/privacy_service.h>
#include <sipveil/txn.h>
#include "config.h"

struct worker;

/** What a node of a worker has counted (a copy, published once a second). */
struct worker_node_counters {
    struct proxy_stats px;
    struct txn_stats txn;
    struct privsvc_stats priv;
};

/** A copy of a worker's counters. */
struct worker_counters {
    struct net_stats net;
    unsigned long unanswered; /* malformed messages dropped without an answer */
    size_t live;              /* live transactions, all nodes */
    bool stopped;             /* the worker's loop has ended */
};

/* Requests of the process thread to a worker. */
enum worker_req {
    WORKER_STOP = 1u,   /* stop accepting, drain, then end the loop; a second one: end now */
    WORKER_RELOAD = 2u, /* apply the configuration given to worker_post() */
};

struct privdlg_store;
struct store;
struct li_sink;
struct li_targets;

/** What the process shares with every worker (each object locks or writes atomically). */
struct worker_shared {
    struct privdlg_store *dialogs;       /* the privacy rules of dialogs; NULL: none */
    struct li_sink *li;                  /* NULL: no lawful interception */
    const struct li_targets *li_targets; /* NULL: none; a reload hands a new set */
    struct ims_state *const *ims;        /* by node index (NULL: no IMS role); filled by the
                                            main thread before worker_start */
    struct store *const *store; /* where the main thread puts the IMS nodes' store before
                                   worker_start (NULL, or NULL there: none); each worker
                                   commits the writes of a read pass at once, at its end */
    atomic_uint *drained; /* how many stopping workers have no live transaction left; NULL:
                             each worker stops on its own */
};

/**
 * A worker for @p cfg (borrowed until worker_free; a reload may hand it a newer one).
 * @param id        0..n-1, for logs
 * @param nworkers  how many there are: more than one binds with SO_REUSEPORT and adds the
 *                  private UDP sockets
 * @return 0, ENOMEM, or an errno
 */
int worker_alloc(struct worker **wp, unsigned id, unsigned nworkers, const struct app_config *cfg,
                 const struct worker_shared *sh);
void worker_free(struct worker *w);

/**
 * Bind the listeners of every node. Worker 0 binds the configured addresses (port 0 resolved
 * by the kernel); the others bind @p w0's resolved addresses. @return an APP_EX_ status.
 */
int worker_listen(struct worker *w, const struct worker *w0);
/** Whether every route of @p nc can be used (a reload checks before it applies). @return 0 or
 * EINVAL (logged). */
int worker_routes_check(const struct app_node *nc);
/** Create the proxies (after worker_listen). @return an APP_EX_ status. */
int worker_start(struct worker *w);

/** The address listener @p j of node @p n is bound to (after worker_listen). */
const struct net_addr *worker_listener_addr(const struct worker *w, size_t n, size_t j);

/**
 * Run the worker's loop in a new thread. When the loop ends, @p done is called in that
 * thread (it must only signal the process thread). @return 0 or an errno.
 */
int worker_run(struct worker *w, void (*done)(void *arg), void *arg);
/** Wait for the thread of a worker_run() to end. */
void worker_join(struct worker *w);

/**
 * Ask the worker for @p req (thread-safe). WORKER_RELOAD takes @p cfg and @p targets (the LI
 * targets of that configuration), which must live until worker_free (the process keeps every
 * configuration it loaded).
 */
void worker_post(struct worker *w, enum worker_req req, const struct app_config *cfg,
                 const struct li_targets *targets);

/** Copy the counters last published (thread-safe); @p nodes has one slot per node. */
void worker_counters(struct worker *w, struct worker_counters *c,
                     struct worker_node_counters *nodes);

#endif
