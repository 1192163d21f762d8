/**
 * @file config_privacy.c  The privacy keys of the configuration: the trust table (`peers`),
 * the Spec(T) knobs (`privacy`), the statically served subscribers, lawful interception and
 * the dialog store; their table rows and the checks across keys.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sipveil/net.h>
#include <sipveil/privacy_service.h>
#include <sipveil/sip.h>
#include "config.h"

#define R SV_CFG_RELOAD

const char *const app_face_names[] = {"core", "ue", "external", NULL};
const char *const app_face_policy_names[] = {
    "node", "off", "reject-anonymous", "reject-unidentified", "both", NULL};
const char *const app_peer_tp_names[] = {"any", "udp", "tcp", "tls", NULL};
static const char *const pai_names[] = {"include", "remove", NULL};
/* the order of enum privacy_li_policy */
static const char *const anonymity_names[] = {"off", "reject-anonymous", "reject-unidentified",
                                              "both", NULL};

const struct sv_cfg_item app_peer_table[] = {
    SV_CFG_STRING(struct app_peer, address, NULL, 1, 64, R,
                  "The peer's IP address, or a network in CIDR form (`10.0.0.0/8`, "
                  "`::1/128`)."),
    SV_CFG_UINT(struct app_peer, port, "0", 0, 65535, R, "The peer's source port; 0: any."),
    SV_CFG_ENUM(struct app_peer, transport, app_peer_tp_names, "any", R,
                "The transport the peer must use: `any`, `udp`, `tcp` or `tls`. RFC 3324 wants "
                "a secured link between members of a trust domain: outside a lab, say `tls`."),
    SV_CFG_STRING(struct app_peer, subject, "", 0, 512, R,
                  "TLS: text the peer's verified certificate subject must contain, e.g. "
                  "`CN=scscf.home1.net`; empty: no check."),
    SV_CFG_BOOL(struct app_peer, trusted, "true", R,
                "Whether the peer is in the trust domain; `false` makes an exception to a "
                "wider entry below."),
    SV_CFG_END,
};

const struct sv_cfg_item app_privacy_table[] = {
    SV_CFG_ENUM(struct app_privacy, pai_when_no_privacy_to_ue, pai_names, "include", R,
                "P-CSCF: P-Asserted-Identity toward its UE when the message has no Privacy "
                "header (R31, R36)."),
    SV_CFG_ENUM(struct app_privacy, pai_when_no_privacy_to_untrusted_net, pai_names, "remove", R,
                "P-Asserted-Identity toward an untrusted network or AS when there is no "
                "Privacy header (R40, R49)."),
    SV_CFG_BOOL(struct app_privacy, user_implies_id_toward_untrusted, "true", R,
                "Privacy `user` also withholds P-Asserted-Identity from untrusted hops (OP-4)."),
    SV_CFG_BOOL(struct app_privacy, strip_performed_priv_values, "true", R,
                "Remove the values the node performed from Privacy, and the header when no "
                "request is left (R23)."),
    SV_CFG_BOOL(struct app_privacy, reject_nonperformable_without_critical, "false", R,
                "Refuse (500) a request with a value the node cannot perform (`header`, "
                "`session`) even without `critical` (R66)."),
    SV_CFG_ENUM(struct app_privacy, anonymity_policy, anonymity_names, "off", R,
                "Which requests without an asserted identity to refuse: `reject-anonymous` "
                "(433 Anonymity Disallowed, RFC 5079), `reject-unidentified` (403), `both`, or "
                "`off` (R68-R72)."),
    SV_CFG_BOOL(struct app_privacy, perform_user, "true", R,
                "Whether the node performs `user` (R65, R76): turn it off where the node "
                "cannot stay in the dialog (no Record-Route); `user;critical` then gets 500 "
                "Privacy Unavailable: user."),
    SV_CFG_BOOL(struct app_privacy, ppi_mismatch_reject, "false", R,
                "P-CSCF: refuse (403) a P-Preferred-Identity that names no identity of the "
                "subscriber, instead of asserting the default one (R28)."),
    SV_CFG_END,
};

const struct sv_cfg_item app_subscriber_table[] = {
    SV_CFG_ADDRESS(struct app_subscriber, flow, "", R,
                   "P-CSCF: the UE's IP address and port (port 0: any port of that address); "
                   "empty for an S-CSCF or AS, which know the served user by the asserted "
                   "identity."),
    SV_CFG_STRING(struct app_subscriber, impus, NULL, 1, 2048, R,
                  "The subscriber's public identities, comma-separated, the default first: "
                  "`sip:alice@home1.net, tel:+4930111001`."),
    SV_CFG_STRING(struct app_subscriber, alias, "", 0, 256, R,
                  "An identity of the other URI family in the same implicit registration set, "
                  "asserted as a second P-Asserted-Identity (R47); empty: none."),
    SV_CFG_BOOL(struct app_subscriber, identity_blocking, "false", R,
                "S-CSCF, AS: the subscriber's identity is withheld by default on its "
                "originating requests: `id` is added to Privacy (R46, OIR)."),
    SV_CFG_BOOL(struct app_subscriber, user_by_policy, "false", R,
                "With identity blocking, anonymise the From header too (R51)."),
    SV_CFG_END,
};

const struct sv_cfg_item app_li_table[] = {
    SV_CFG_STRING(struct app_li, sink, "", 0, 4096, 0,
                  "The file LI records are appended to (mode 0600; created if absent); empty: "
                  "no lawful interception. `sipveil li verify FILE` checks it."),
    SV_CFG_STRING(struct app_li, targets, "", 0, 65536, R,
                  "The targets, comma-separated IMPUs and tel URIs: "
                  "`sip:alice@home1.net, tel:+4930111001`."),
    SV_CFG_END,
};

const struct sv_cfg_item app_dialogs_table[] = {
    SV_CFG_UINT(struct app_dialogs, max, "100000", 16, 10000000, 0,
                "Most dialogs with stored privacy rules; a new private dialog beyond it gets "
                "503."),
    SV_CFG_DURATION(struct app_dialogs, lifetime, "12h", 60000, 604800000, 0,
                    "How long the rules of a dialog that never ends cleanly are kept."),
    SV_CFG_END,
};

size_t app_list_split(const char *s, struct sv_slice *items, size_t max)
{
    size_t n = 0;

    while (s && *s && n < max) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        struct sv_slice it = sv_slice_trim(sv_slice_make(s, len));
        if (it.l)
            items[n++] = it;
        s = end ? end + 1 : NULL;
    }
    return n;
}

static void check_uri_list(struct sv_cfg_diag *d, const char *kp, const char *list)
{
    struct sv_slice v[64];
    size_t n = app_list_split(list, v, SV_ARRAY_SIZE(v));

    for (size_t i = 0; i < n; i++) {
        struct sip_uri u;
        if (sip_uri_decode(&u, v[i]) ||
            (u.scheme != SIP_URI_SIP && u.scheme != SIP_URI_SIPS && u.scheme != SIP_URI_TEL)) {
            sv_cfg_errorf(d, kp, "'%.*s' is not a sip, sips or tel URI", SV_FMT(v[i]));
            return;
        }
    }
}

/* The privacy keys of node @p n. */
void app_config_check_privacy(const struct app_config *cfg, size_t n, struct sv_cfg_diag *d)
{
    const struct app_node *node = &cfg->nodes[n];
    char kp[128];

    for (size_t i = 0; i < node->npeers; i++) {
        struct privsvc_peer p;
        snprintf(kp, sizeof(kp), "nodes[%zu].peers[%zu].address", n, i);
        if (privsvc_cidr_parse(node->peers[i].address, &p))
            sv_cfg_errorf(d, kp,
                          "'%s' is not an IP address or network (expected e.g. "
                          "127.0.0.1, 10.0.0.0/8 or ::1/128)",
                          node->peers[i].address);
    }
    for (size_t i = 0; i < node->nsubscribers; i++) {
        const struct app_subscriber *s = &node->subscribers[i];
        struct net_addr a;
        snprintf(kp, sizeof(kp), "nodes[%zu].subscribers[%zu].flow", n, i);
        if (*s->flow && net_addr_parse(&a, s->flow))
            sv_cfg_errorf(d, kp, "'%s' is not an IP address and port", s->flow);
        snprintf(kp, sizeof(kp), "nodes[%zu].subscribers[%zu].impus", n, i);
        check_uri_list(d, kp, s->impus);
        snprintf(kp, sizeof(kp), "nodes[%zu].subscribers[%zu].alias", n, i);
        check_uri_list(d, kp, s->alias);
    }
    if (n == 0 && *cfg->li.targets)
        check_uri_list(d, "li.targets", cfg->li.targets);
    if (n == 0 && *cfg->li.targets && !*cfg->li.sink)
        sv_cfg_errorf(d, "li.targets", "set without li.sink (expected the record file too)");
}
