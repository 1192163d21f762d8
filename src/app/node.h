/**
 * @file node.h  Private to the application layer: the process behind `sipveil run`.
 *
 * One process runs every node of the configuration in `workers` threads (worker.c): each
 * worker has its own event loop, timing wheel, transport instance and, per node, its own
 * stateful proxy with its own transaction layer. The main thread keeps signals, reloads and
 * the admin HTTP listener (node.c).
 */
#ifndef SIPVEIL_APP_NODE_H
#define SIPVEIL_APP_NODE_H

#include <stdbool.h>
#include "config.h"

struct app_run_opts {
    bool show_node;          /* readiness lines name the node ("ready udp ADDR node NAME");
                                without it they are "ready udp ADDR", as `--listen` prints */
    const char *config_path; /* what SIGHUP reloads; NULL: nothing to reload */
    bool keep_log_level;     /* --log-level was given: a reload keeps it */
    bool force_trace;        /* --trace was given: log.trace stays on across reloads */
    bool force_syslog;       /* --syslog was given: the log stays on syslog across reloads */
};

/**
 * Run the nodes of @p cfg until SIGINT or SIGTERM.
 * @param cfg   a loaded, validated configuration (borrowed for the whole run; --trace may set
 *              its log.trace)
 * @return an APP_EX_ status: 0 after a signal, 69 when a listener cannot be bound, 78 when a
 *         route cannot be used, 71 on a system error
 */
int app_nodes_run(struct app_config *cfg, const struct app_run_opts *opts);

#endif
