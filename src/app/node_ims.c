/**
 * @file node_ims.c  The IMS state of the nodes of one process: the store, and one ims_state
 * per node of role pcscf, icscf, scscf or as.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sipveil/core.h>
#include <sipveil/net.h>
#include "app.h"
#include "node_ims.h"
#include "worker.h"

#define MOD "run"

bool app_ims_role(const struct app_node *nc, enum ims_role *role)
{
    if (!nc->ims.enabled)
        return false;
    switch (nc->role) {
    case APP_ROLE_PCSCF:
        *role = IMS_ROLE_PCSCF;
        return true;
    case APP_ROLE_ICSCF:
        *role = IMS_ROLE_ICSCF;
        return true;
    case APP_ROLE_SCSCF:
        *role = IMS_ROLE_SCSCF;
        return true;
    case APP_ROLE_AS:
        *role = IMS_ROLE_AS;
        return true;
    case APP_ROLE_PS:
        *role = IMS_ROLE_PS;
        return true;
    default:
        return false;
    }
}

int app_ims_alloc(struct app_ims_set *im, const struct app_config *cfg)
{
    memset(im, 0, sizeof(*im));
    im->n = cfg->nnodes;
    im->st = calloc(cfg->nnodes ? cfg->nnodes : 1, sizeof(*im->st));
    return im->st ? APP_EX_OK : APP_EX_OSERR;
}

/* The parent directory of @p path, made 0700 if missing (var/ on a first start). */
static void parent_dir(const char *path)
{
    char d[4096];
    char *slash;

    snprintf(d, sizeof(d), "%s", path);
    if ((slash = strrchr(d, '/')) && slash != d) {
        *slash = '\0';
        mkdir(d, 0700);
    }
}

static int open_store(struct app_ims_set *im, const struct app_config *cfg)
{
    char why[256] = "";
    int err;

    parent_dir(cfg->store);
    if ((err = store_open_sqlite(&im->store, cfg->store, why, sizeof(why)))) {
        sv_log(SV_LOG_ERR, MOD, "store %s: %s%s%s", cfg->store, strerror(err), *why ? ": " : "",
               why);
        return err == EACCES ? APP_EX_CANTCREAT : APP_EX_CONFIG;
    }
    return APP_EX_OK;
}

int app_ims_start(struct app_ims_set *im, const struct app_config *cfg, const struct worker *w0)
{
    int rc;

    for (size_t i = 0; i < cfg->nnodes; i++) {
        const struct app_node *nc = &cfg->nodes[i];
        const struct app_ims *ai = &nc->ims;
        enum ims_role role;
        char uri[300], where[80];
        int err;

        if (!app_ims_role(nc, &role))
            continue;
        if (!im->store && (rc = open_store(im, cfg)) != APP_EX_OK)
            return rc;
        if (*ai->uri) {
            snprintf(uri, sizeof(uri), "%s", ai->uri);
        } else {
            const struct net_addr *a = worker_listener_addr(w0, i, 0);
            net_addr_str(a, where, sizeof(where));
            snprintf(uri, sizeof(uri), "sip:%s%s", where,
                     nc->listeners[0].transport == APP_TP_TCP ? ";transport=tcp" : "");
        }
        struct ims_pres_source srcs[64];
        size_t nsrc = 0;
        for (; role == IMS_ROLE_PS && nsrc < nc->npresence_sources; nsrc++) {
            const struct app_pres_source *ps = &nc->presence_sources[nsrc];
            if (nsrc == SV_ARRAY_SIZE(srcs)) {
                sv_log(SV_LOG_ERR, MOD, "node %s: more than %zu presence_sources", nc->name,
                       SV_ARRAY_SIZE(srcs));
                return APP_EX_CONFIG;
            }
            srcs[nsrc] = (struct ims_pres_source){ps->name, ps->subject, ps->presentities,
                                                  ps->domains, ps->rate};
        }
        struct ims_conf c = {
            .node = nc->name,
            .role = role,
            .domain = *nc->domain ? nc->domain : "ims.example",
            .uri = uri,
            .store = im->store,
            .realm = ai->realm,
            .digest_algs = (ai->digest_md5 ? 1u << AUTH_DIGEST_MD5 : 0) |
                           (ai->digest_sha256 ? 1u << AUTH_DIGEST_SHA256 : 0),
            .sha256_first = ai->sha256_first,
            .nonce_lifetime_s = ai->nonce_lifetime / 1000,
            .auth_retries = ai->auth_retries,
            .min_expires = ai->min_expires,
            .max_expires = ai->max_expires,
            .default_expires = ai->default_expires,
            .pseudonym_requires_protected_register = ai->pseudonym_requires_protected_register,
            .default_scscf = ai->default_scscf,
            .visited_network = ai->visited_network,
            .pcscf_flow_check = ai->flow_check,
            .register_rate = ai->register_rate,
            .ps_notify_interval_ms = ai->notify_interval,
            .ps_subscribe_rate = ai->subscribe_rate,
            .sources = srcs,
            .nsources = nsrc,
        };
        if ((err = ims_state_alloc(&im->st[i], &c))) {
            sv_log(SV_LOG_ERR, MOD, "node %s: IMS state: %s", nc->name, strerror(err));
            return err == ENOMEM ? APP_EX_OSERR : APP_EX_CONFIG;
        }
    }
    return APP_EX_OK;
}

void app_ims_sweep(struct app_ims_set *im)
{
    for (size_t i = 0; i < im->n; i++)
        if (im->st[i])
            ims_state_sweep(im->st[i], sv_now_ms());
}

void app_ims_free(struct app_ims_set *im)
{
    for (size_t i = 0; im->st && i < im->n; i++)
        ims_state_free(im->st[i]);
    free(im->st);
    store_close(im->store);
    memset(im, 0, sizeof(*im));
}
