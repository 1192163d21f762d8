/**
 * @file node_xcap.c  The XCAP server of `sipveil run`: started on the main thread's event loop
 * with the subscriber store (the IMS nodes' handle when there is one, else its own), and
 * announced with the readiness line `ready http <addr> xcap`.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sipveil/core.h>
#include "app.h"
#include "node_xcap.h"

#define MOD "node"

int app_xcap_start(struct app_xcap_run *xr, const struct app_config *cfg, struct event_base *base,
                   struct store *shared, xcap_write_h *on_write, void *arg)
{
    const struct app_xcap *xc = &cfg->xcap;
    struct xcap_conf c;
    char why[256] = "";
    int err;

    memset(xr, 0, sizeof(*xr));
    if (!*xc->listen)
        return APP_EX_OK;
    if (!shared) {
        if ((err = store_open_sqlite(&xr->own, cfg->store, why, sizeof(why)))) {
            sv_log(SV_LOG_ERR, MOD, "xcap: store %s: %s%s%s", cfg->store, strerror(err),
                   *why ? ": " : "", why);
            return err == EACCES ? APP_EX_CANTCREAT : APP_EX_CONFIG;
        }
        shared = xr->own;
    }
    c = (struct xcap_conf){
        .listen = xc->listen,
        .cert = xc->cert,
        .key = xc->key,
        .require_tls = xc->require_tls,
        .realm = app_xcap_realm(cfg),
        .store = shared,
        .on_write = on_write,
        .arg = arg,
    };
    if ((err = xcap_server_alloc(&xr->srv, base, &c, xr->bound, sizeof(xr->bound)))) {
        sv_log(SV_LOG_ERR, MOD, "cannot serve XCAP on %s: %s", xc->listen, strerror(err));
        app_xcap_stop(xr);
        return APP_EX_UNAVAILABLE;
    }
    sv_log(SV_LOG_NOTICE, MOD, "XCAP on %s://%s/xcap-root", *xc->cert ? "https" : "http",
           xr->bound);
    return APP_EX_OK;
}

void app_xcap_stop(struct app_xcap_run *xr)
{
    xcap_server_free(xr->srv);
    xr->srv = NULL;
    store_close(xr->own);
    xr->own = NULL;
}
