/**
 * @file config_ims.c  The `ims` block of a node: the settings of the IMS roles (registrar,
 * authentication, Path, Service-Route, the P-CSCF's flow check, the PS's rates).
 */
#include <stddef.h>
#include "config.h"

const struct sv_cfg_item app_pres_source_table[] = {
    SV_CFG_STRING(struct app_pres_source, name, "", 0, 64, 0,
                  "A name for logs; empty: the subject."),
    SV_CFG_STRING(struct app_pres_source, subject, NULL, 1, 512, 0,
                  "The source's identity: a relative distinguished name its TLS client "
                  "certificate carries, e.g. `CN=weather.example` (attribute name in any case, "
                  "value exact), or its whole subject in RFC 2253 form. The certificate must "
                  "verify against the listener's `ca`: give the node a TLS listener with "
                  "`require_client_cert: true`."),
    SV_CFG_STRING(struct app_pres_source, presentities, "", 0, 4096, 0,
                  "The presentities it may publish for, comma-separated IMPUs."),
    SV_CFG_STRING(struct app_pres_source, domains, "", 0, 1024, 0,
                  "Domains whose every presentity it may publish for, comma-separated."),
    SV_CFG_UINT(struct app_pres_source, rate, "10", 0, 100000, 0,
                "PUBLISHes per second accepted from it, twice that in a burst; more get 503 "
                "with Retry-After. 0: no limit."),
    SV_CFG_END,
};

const struct sv_cfg_item app_ims_table[] = {
    SV_CFG_BOOL(struct app_ims, enabled, "false", 0,
                "Run the IMS procedures of the node's role (docs/ims.md): the S-CSCF's "
                "registrar and location service, the P-CSCF's registration-based flow check, "
                "Path and Service-Route, the I-CSCF's choice of S-CSCF, iFC. They need the "
                "subscriber store (`store`). Off: the node is a privacy-service proxy whose "
                "served subscribers come from its static `subscribers` table. The lab turns "
                "it on."),
    SV_CFG_STRING(struct app_ims, uri, "", 0, 255, 0,
                  "The node's SIP URI as the other nodes reach it: the P-CSCF's Path, the "
                  "S-CSCF's Service-Route. Empty: `sip:` and the first listener's address."),
    SV_CFG_STRING(struct app_ims, realm, "", 0, 127, 0,
                  "S-CSCF: the Digest realm. Empty: the node's domain."),
    SV_CFG_BOOL(struct app_ims, digest_md5, "true", 0,
                "S-CSCF: challenge with Digest MD5 (RFC 3261)."),
    SV_CFG_BOOL(struct app_ims, digest_sha256, "true", 0,
                "S-CSCF: challenge with Digest SHA-256 (RFC 8760)."),
    SV_CFG_BOOL(struct app_ims, sha256_first, "false", 0,
                "S-CSCF: put the SHA-256 challenge before the MD5 one (RFC 8760 prefers it; "
                "some UEs, SIPp 3.6 among them, read only the first WWW-Authenticate and know "
                "only MD5)."),
    SV_CFG_DURATION(struct app_ims, nonce_lifetime, "300s", 1000, 86400000, 0,
                    "S-CSCF: how long a Digest nonce is good for; an answer with an older one "
                    "gets a new challenge with stale=true (RFC 7616 §3.3)."),
    SV_CFG_UINT(struct app_ims, auth_retries, "3", 1, 100, 0,
                "S-CSCF: wrong answers to a challenge before REGISTER gets 403 Forbidden. An "
                "unknown identity is answered the same way, so that REGISTER tells nobody "
                "who is a subscriber."),
    SV_CFG_UINT(struct app_ims, min_expires, "60", 1, 86400, 0,
                "S-CSCF: the shortest registration accepted, in seconds; shorter gets 423 "
                "with Min-Expires. PS: the same for subscriptions and publications."),
    SV_CFG_UINT(struct app_ims, max_expires, "7200", 1, 604800, 0,
                "S-CSCF: the longest registration granted, in seconds (PS: subscription and "
                "publication)."),
    SV_CFG_UINT(struct app_ims, default_expires, "3600", 1, 604800, 0,
                "S-CSCF: the registration time when REGISTER names none, in seconds (PS: "
                "SUBSCRIBE and PUBLISH without Expires)."),
    SV_CFG_BOOL(struct app_ims, pseudonym_requires_protected_register, "true", 0,
                "S-CSCF: a REGISTER for a pseudonym IMPU gets 403 before any challenge unless "
                "the P-CSCF says the UE's link is protected (TLS or IPsec), R83."),
    SV_CFG_STRING(struct app_ims, default_scscf, "", 0, 255, 0,
                  "I-CSCF: the S-CSCF for identities the store assigns none, "
                  "e.g. `sip:127.0.0.1:6060`."),
    SV_CFG_STRING(struct app_ims, visited_network, "", 0, 127, 0,
                  "P-CSCF: the P-Visited-Network-ID it adds to REGISTER. Empty: the domain."),
    SV_CFG_BOOL(struct app_ims, flow_check, "true", 0,
                "P-CSCF: accept requests from UEs only from the flow (transport, address, "
                "port) that registered, and answer others 403 (R30)."),
    SV_CFG_UINT(struct app_ims, register_rate, "100", 0, 1000000, 0,
                "P-CSCF: REGISTERs per second accepted from one IP address, twice that in a "
                "burst; more get 503 with Retry-After (a registration flood). 0: no limit."),
    SV_CFG_DURATION(struct app_ims, notify_interval, "1s", 0, 60000, 0,
                    "PS: the shortest time between two NOTIFYs of one subscription; changes "
                    "published in between are coalesced into the next NOTIFY (RFC 6665 "
                    "§4.1.2.4 throttling). The first NOTIFY and the last (terminated) one are "
                    "never held back. 0: no throttling."),
    SV_CFG_UINT(struct app_ims, subscribe_rate, "10", 0, 1000000, 0,
                "PS: initial SUBSCRIBEs per second accepted from one watcher (its asserted "
                "identity), twice that in a burst; more get 503 with Retry-After (a "
                "SUBSCRIBE flood). 0: no limit."),
    SV_CFG_END,
};
