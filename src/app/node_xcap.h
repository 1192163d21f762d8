/**
 * @file node_xcap.h  Private to the application layer: the XCAP server of `sipveil run`
 * (`xcap.listen`), on the main thread's event loop next to the admin listener.
 */
#ifndef SIPVEIL_APP_NODE_XCAP_H
#define SIPVEIL_APP_NODE_XCAP_H

#include <stddef.h>
#include <sipveil/store.h>
#include <sipveil/xcap.h>
#include "config.h"

struct event_base;

struct app_xcap_run {
    struct xcap_server *srv;
    struct store *own; /* the store opened for XCAP when no IMS node opened one */
    char bound[64];    /* the address bound, for the readiness line */
};

/**
 * Start the XCAP server if `xcap.listen` is set (else do nothing).
 * @param xr      out: its state (zeroed first)
 * @param cfg     the configuration
 * @param base    the main thread's event loop
 * @param shared  the IMS nodes' store, or NULL: then the server opens `store` itself
 * @param on_write called after each successful write (the PS's re-evaluation); may be NULL
 * @param arg     for @p on_write
 * @return an APP_EX_ status
 */
int app_xcap_start(struct app_xcap_run *xr, const struct app_config *cfg, struct event_base *base,
                   struct store *shared, xcap_write_h *on_write, void *arg);
/** Stop the server and close the store it opened. Safe on a zeroed struct. */
void app_xcap_stop(struct app_xcap_run *xr);

#endif
