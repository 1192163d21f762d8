/**
 * @file config_xcap.c  The `xcap` block: the XCAP server for pres-rules documents (RFC 4825,
 * include/sipveil/xcap.h, docs/xcap.md), and its checks across keys.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include "config.h"

const struct sv_cfg_item app_xcap_table[] = {
    SV_CFG_ADDRESS(struct app_xcap, listen, "", 0,
                   "IP address and port of the XCAP server (RFC 4825) that serves the users' "
                   "pres-rules documents under /xcap-root/pres-rules/users/<IMPU>/; empty: off. "
                   "It authenticates with HTTP Digest against the subscriber store (`store`), "
                   "which it opens."),
    SV_CFG_STRING(struct app_xcap, cert, "", 0, 4096, 0,
                  "PEM file with the certificate (chain) of the XCAP server. Set: the listener "
                  "speaks HTTPS only. Empty: plain HTTP."),
    SV_CFG_STRING(struct app_xcap, key, "", 0, 4096, 0, "PEM file with the private key of `cert`."),
    SV_CFG_BOOL(struct app_xcap, require_tls, "false", 0,
                "Refuse to run the XCAP server without TLS (R104): with no `cert` the "
                "configuration is an error, and a plain-HTTP request would get 403."),
    SV_CFG_STRING(struct app_xcap, realm, "", 0, 127, 0,
                  "The Digest realm of the XCAP server: the realm of the IMPIs that use it, "
                  "as their HA1 values were made with it. Empty: the first node's `domain`."),
    SV_CFG_END,
};

/**
 * The realm the XCAP server challenges with.
 * @return the configured one, or the first node domain; "" when there is none
 */
const char *app_xcap_realm(const struct app_config *cfg)
{
    if (*cfg->xcap.realm)
        return cfg->xcap.realm;
    for (size_t i = 0; i < cfg->nnodes; i++)
        if (*cfg->nodes[i].domain)
            return cfg->nodes[i].domain;
    return "";
}

/**
 * The `xcap` checks across keys: an IP address to bind, a realm, TLS material in pairs and
 * readable, and require_tls only with a certificate.
 * @param cfg the config the loader accepted
 * @param d   its diagnostics
 */
void app_config_check_xcap(const struct app_config *cfg, struct sv_cfg_diag *d)
{
    const struct app_xcap *x = &cfg->xcap;
    unsigned char a[sizeof(struct in6_addr)];
    char host[256];
    uint16_t port;

    if (!*x->listen) {
        if (*x->cert || *x->key || x->require_tls)
            sv_cfg_errorf(d, "xcap.listen",
                          "empty while other xcap keys are set (expected an "
                          "address to serve XCAP on)");
        return;
    }
    if (sv_cfg_addr_split(x->listen, host, sizeof(host), &port) == 0 &&
        inet_pton(AF_INET, host, a) != 1 && inet_pton(AF_INET6, host, a) != 1)
        sv_cfg_errorf(d, "xcap.listen",
                      "'%s' is a name (expected an IP address and port: it "
                      "binds)",
                      x->listen);
    if (!*app_xcap_realm(cfg))
        sv_cfg_errorf(d, "xcap.realm",
                      "empty and no node has a domain (expected the IMPIs' "
                      "Digest realm)");
    if (x->require_tls && !*x->cert)
        sv_cfg_errorf(d, "xcap.cert",
                      "missing with require_tls (expected a PEM file: XCAP "
                      "is not served without TLS, R104)");
    if (!*x->cert != !*x->key)
        sv_cfg_errorf(d, *x->cert ? "xcap.key" : "xcap.cert",
                      "set without its pair (expected both `cert` and `key`, or neither)");
    if (*x->cert && access(x->cert, R_OK) != 0)
        sv_cfg_errorf(d, "xcap.cert", "cannot read '%s' (expected a readable PEM file)", x->cert);
    if (*x->key && access(x->key, R_OK) != 0)
        sv_cfg_errorf(d, "xcap.key", "cannot read '%s' (expected a readable PEM file)", x->key);
}
