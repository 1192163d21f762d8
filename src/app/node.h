/**
 * @file node.h  Private to the application layer: the node runtime behind `sipveil run`.
 *
 * One process, one worker: one event loop, one timing wheel, one transport instance with the
 * listeners of every node, and per node a stateful proxy (src/txn/proxy.c) with its own
 * transaction layer. A received message goes to the proxy of the node that owns the receiving
 * listener.
 */
#ifndef SIPVEIL_APP_NODE_H
#define SIPVEIL_APP_NODE_H

#include <stdbool.h>
#include "config.h"

/**
 * Run the nodes of @p cfg until SIGINT or SIGTERM.
 * @param cfg        a loaded, validated configuration (borrowed for the whole run)
 * @param show_node  readiness lines name the node ("ready udp ADDR node NAME"); without it
 *                   they are "ready udp ADDR", as `--listen` has always printed them
 * @return an APP_EX_ status: 0 after a signal, 69 when a listener cannot be bound, 78 when a
 *         route cannot be used, 71 on a system error
 */
int app_nodes_run(const struct app_config *cfg, bool show_node);

#endif
