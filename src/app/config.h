/**
 * @file config.h  Private to the application layer: the sipveil configuration schema.
 *
 * The structs below are what a config file loads into; app_config_table (config.c) says, for
 * each field, its YAML key, type, default, bounds, reloadability and documentation. The
 * generic loader (include/sipveil/cfg.h) does the rest. To add a setting: add the field here,
 * one row to the table, and regenerate docs/configuration.md (`sipveil help config`); the
 * ctest config/reference fails until the two agree.
 */
#ifndef SIPVEIL_APP_CONFIG_H
#define SIPVEIL_APP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sipveil/cfg.h>
#include <sipveil/core.h>

/* The enum fields hold the index of the value in the names the table lists, in this order. */
enum app_role {
    APP_ROLE_PCSCF = 0,
    APP_ROLE_ICSCF,
    APP_ROLE_SCSCF,
    APP_ROLE_AS,
    APP_ROLE_PS,
    APP_ROLE_PROXY,
};

/* The same order as enum net_tp, so that a value converts by cast. */
enum app_tp {
    APP_TP_UDP = 0,
    APP_TP_TCP,
    APP_TP_TLS,
};

enum app_match {
    APP_MATCH_DOMAIN = 0,
    APP_MATCH_RURI,
    APP_MATCH_ROUTE,
    APP_MATCH_DEFAULT,
};

struct app_tls {
    char *cert; /* PEM certificate (chain); "" when unset */
    char *key;
    char *ca;
    bool verify_peer;
    bool require_client_cert;
};

/* What a listener faces: the trust domain's core, or (untrusted by definition) UEs or other
 * networks. */
enum app_face {
    APP_FACE_CORE = 0,
    APP_FACE_UE,
    APP_FACE_EXTERNAL,
};

struct app_listener {
    unsigned transport; /* enum app_tp */
    unsigned face;      /* enum app_face */
    unsigned anonymity_policy; /* 0: the node's; else 1 + enum privacy_li_policy */
    char *address;      /* "127.0.0.1:5060", "[::1]:5061" */
    struct app_tls tls;
};

struct app_route {
    unsigned match; /* enum app_match */
    char *value;
    char *next_hop; /* "udp:127.0.0.1:5080" */
};

/* A peer of the trust table (privacy_service.h). */
struct app_peer {
    char *address;      /* "127.0.0.1", "10.0.0.0/8", "::1/128" */
    uint32_t port;      /* 0: any */
    unsigned transport; /* enum app_peer_tp: any, udp, tcp, tls */
    char *subject;      /* TLS: a substring of the verified certificate subject; "": none */
    bool trusted;
};

/* Spec(T) knobs, requirements §0.5 (privacy.h: struct privacy_knobs). */
struct app_privacy {
    unsigned pai_when_no_privacy_to_ue;            /* include, remove */
    unsigned pai_when_no_privacy_to_untrusted_net; /* include, remove */
    bool user_implies_id_toward_untrusted;
    bool strip_performed_priv_values;
    bool reject_nonperformable_without_critical;
    unsigned anonymity_policy; /* enum privacy_li_policy order */
    bool ppi_mismatch_reject;
    bool perform_user; /* `user` is in performable_priv_values */
};

/* A subscriber served statically by a P-CSCF (until registration, issue 5). */
struct app_subscriber {
    char *flow;  /* the UE's "ip:port" (port 0: any) */
    char *impus; /* comma-separated; the first is the default */
    char *alias; /* the other-family identity of the same set (R47); "": none */
    bool identity_blocking;
    bool user_by_policy;
};

/* The IMS roles' settings (include/sipveil/ims.h: struct ims_conf). */
struct app_ims {
    bool enabled;
    char *uri;   /* how others reach the node; "": sip:<first listener> */
    char *realm; /* "": the domain */
    bool digest_md5, digest_sha256, sha256_first;
    uint32_t nonce_lifetime; /* ms */
    uint32_t auth_retries;
    uint32_t min_expires, max_expires, default_expires; /* s */
    bool pseudonym_requires_protected_register;
    char *default_scscf;
    char *visited_network;
    bool flow_check;
    uint32_t register_rate;
    uint32_t notify_interval; /* ms */
    uint32_t subscribe_rate;
};

/* A presence source of a PS node (R91; ims.h: struct ims_pres_source). */
struct app_pres_source {
    char *name;
    char *subject;      /* an RDN (or the whole subject) of its verified TLS client certificate */
    char *presentities; /* comma-separated IMPUs */
    char *domains;      /* comma-separated domains */
    uint32_t rate;      /* PUBLISHes per second; 0: no limit */
};

struct app_node {
    char *name;
    unsigned role; /* enum app_role */
    char *domain;
    struct app_listener *listeners;
    size_t nlisteners;
    struct app_route *routes;
    size_t nroutes;
    bool record_route;
    struct app_peer *peers;
    size_t npeers;
    struct app_privacy privacy;
    struct app_subscriber *subscribers;
    size_t nsubscribers;
    struct app_ims ims;
    struct app_pres_source *presence_sources;
    size_t npresence_sources;
};

enum app_log_target {
    APP_LOG_STDERR = 0,
    APP_LOG_SYSLOG,
};

/* Syslog facilities in the order of app_log_facility_names; app_log_facility() maps them. */
enum app_log_facility {
    APP_LOG_FAC_DAEMON = 0,
    APP_LOG_FAC_USER,
    APP_LOG_FAC_LOCAL0, /* ... APP_LOG_FAC_LOCAL0 + 7 */
};

struct app_log_conf {
    unsigned level; /* enum sv_log_level */
    bool trace;
    unsigned target;   /* enum app_log_target */
    unsigned facility; /* enum app_log_facility */
};

struct app_timers {
    uint32_t t1, t2, t4; /* ms */
    uint32_t timer_c;    /* ms, RFC 3261 §16.8 */
};

struct app_limits {
    uint32_t max_msg;
    uint32_t max_headers;
    uint32_t max_start_line;
    uint32_t max_header;
    uint32_t max_conns;
    uint32_t max_conns_per_ip;
    uint32_t idle_timeout;   /* ms */
    uint32_t header_timeout; /* ms */
    uint32_t max_transactions;
};

struct app_metrics {
    char *listen; /* "" = off */
};

/* Lawful interception (privacy_li.h). */
struct app_li {
    char *sink;    /* the record file; "": no LI */
    char *targets; /* comma-separated IMPUs and tel URIs */
};

/* The store of the dialogs whose privacy rules are kept (privacy_dialog.h). */
struct app_dialogs {
    uint32_t max;
    uint32_t lifetime; /* ms */
};

/* How the kernel schedules the worker threads (the order of app_sched_names). */
enum app_sched {
    APP_SCHED_BATCH,
    APP_SCHED_NORMAL,
};

/* The XCAP server (config_xcap.c; include/sipveil/xcap.h). */
struct app_xcap {
    char *listen; /* "" = off */
    char *cert, *key;
    bool require_tls;
    char *realm; /* "": the first node's domain */
};

struct app_config {
    char *store; /* the subscriber store's SQLite file */
    struct app_log_conf log;
    uint32_t workers;    /* 0 = one per core */
    unsigned scheduling; /* enum app_sched */
    struct app_timers timers;
    struct app_limits limits;
    struct app_metrics metrics;
    struct app_li li;
    struct app_dialogs dialogs;
    struct app_xcap xcap;
    struct app_node *nodes;
    size_t nnodes;
};

extern const struct sv_cfg_item app_config_table[];
/* config_privacy.c: the privacy keys' tables, and their checks */
extern const struct sv_cfg_item app_peer_table[];
extern const struct sv_cfg_item app_pres_source_table[];
extern const struct sv_cfg_item app_privacy_table[];
extern const struct sv_cfg_item app_subscriber_table[];
extern const struct sv_cfg_item app_li_table[];
extern const struct sv_cfg_item app_dialogs_table[];
/* config_xcap.c */
extern const struct sv_cfg_item app_xcap_table[];
void app_config_check_xcap(const struct app_config *cfg, struct sv_cfg_diag *d);
/** The XCAP server's Digest realm: `xcap.realm`, else the first node domain, else "". */
const char *app_xcap_realm(const struct app_config *cfg);
/* config_ims.c */
extern const struct sv_cfg_item app_ims_table[];
extern const char *const app_face_names[];
extern const char *const app_face_policy_names[];
extern const char *const app_peer_tp_names[];
struct sv_cfg_diag;
void app_config_check_privacy(const struct app_config *cfg, size_t n, struct sv_cfg_diag *d);
/** Split a comma-separated list in place into at most @p max trimmed items. @return count. */
size_t app_list_split(const char *s, struct sv_slice *items, size_t max);
extern const char *const app_role_names[];
extern const char *const app_tp_names[];
extern const char *const app_match_names[];
extern const char *const app_sched_names[];
extern const char *const app_log_target_names[];
extern const char *const app_log_facility_names[];

/** The <syslog.h> LOG_ facility of @p fac (an enum app_log_facility). */
int app_log_facility(unsigned fac);

/**
 * Load and validate @p path into @p cfg. Errors (file, line, column, key) go to @p d.
 * @return 0, EINVAL (errors in @p d), ENOMEM or the errno of reading the file; on failure
 *         @p cfg holds nothing to free.
 */
int app_config_load(struct app_config *cfg, const char *path, struct sv_cfg_diag *d);
/** The checks beyond types and bounds. @return 0 or EINVAL (errors in @p d). */
int app_config_validate(const struct app_config *cfg, struct sv_cfg_diag *d);
void app_config_free(struct app_config *cfg);
/** The effective configuration as YAML, with a comment naming @p path. @return 0 or EIO. */
int app_config_print(const struct app_config *cfg, const char *path, FILE *f);
/** docs/configuration.md: an introduction and the reference table. @return 0 or EIO. */
int app_config_reference(FILE *f);

/**
 * Parse a next hop "transport:host:port" ("udp:127.0.0.1:5080", "tls:[::1]:5061").
 * @return 0 or EINVAL (also for port 0 and hosts longer than @p hostsz - 1).
 */
int app_next_hop_parse(const char *s, enum app_tp *tp, char *host, size_t hostsz, uint16_t *port);

#endif
