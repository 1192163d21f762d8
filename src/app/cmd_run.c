/**
 * @file cmd_run.c  `sipveil run`: load the configuration and run its nodes as
 * transaction-stateful SIP proxies (src/app/node.c, src/txn/proxy.c).
 *
 * Without --config, one node named `proxy` runs on UDP and TCP 127.0.0.1:5060 (or on the UDP
 * address of --listen), without routes: it forwards to numeric Request-URI hosts and answers
 * OPTIONS to itself. --check-config only loads, checks and prints the file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sipveil/cfg.h>
#include <sipveil/net.h>
#include "app.h"
#include "config.h"
#include "lab.h"
#include "node.h"

void app_usage_run(FILE *f)
{
    fprintf(f, "Usage: sipveil run [--config FILE [--check-config]] [--listen ADDR:PORT]\n"
               "                   [--print-lab-config] [--print-lab-subscribers] [--lab-init]\n"
               "                   [--log-level LEVEL] [--trace] [--syslog]\n"
               "\n"
               "Start sipveil: every node of the configuration runs as a transaction-stateful\n"
               "SIP proxy (RFC 3261 section 16) over UDP, TCP and TLS, in 'workers' threads:\n"
               "  OPTIONS to the node itself      200 OK with Allow, Supported and Accept\n"
               "  a request a proxy must refuse   its code: 400, 416, 420, 482, 483, 505 ...\n"
               "  a malformed request             400 with the reason, when Via, Call-ID and\n"
               "                                  CSeq are sound; otherwise dropped\n"
               "  any other request               forwarded to the top Route, the node's routes\n"
               "                                  or a numeric Request-URI host; else 404 (names\n"
               "                                  are not resolved: no DNS in this release)\n"
               "Nodes with role pcscf, icscf, scscf, as or ps also run the privacy service\n"
               "(RFC 3323/3325/5079) with their trust table; see docs/privacy.md and\n"
               "docs/proxy.md. The IMS roles register and route subscribers from the\n"
               "subscriber store (docs/ims.md).\n"
               "\n"
               "Without --config and --listen it starts the all-in-one lab (docs/lab.md): a\n"
               "P-CSCF on 127.0.0.1:5060 (UDP, TCP; TLS 5061), an I-CSCF on 4060 with the\n"
               "edge's external face on 5090, an S-CSCF on 6060, an AS on 7060 and a\n"
               "Presence Server on 5065, for the home domain ims.example. On its first start,\n"
               "in the current directory, it\n"
               "makes var/ (0700), a demo CA and TLS certificate in var/tls/, and the store\n"
               "var/sipveil.db with the demo subscribers alice, bob, carol and dave; LI\n"
               "records go to var/li.jsonl.\n"
               "\n"
               "Options:\n"
               "  --config FILE        Load the YAML configuration FILE and run every node in\n"
               "                       it, on all its listeners (udp, tcp, tls) with its\n"
               "                       routes. 'sipveil help config' lists every key.\n"
               "  --check-config       With --config: load and check FILE, print the effective\n"
               "                       configuration (every default included) as YAML on\n"
               "                       standard output, and exit 0; or print the errors, each\n"
               "                       'FILE:LINE:COL: key: what is wrong (expected ...)', on\n"
               "                       standard error and exit 78. Nothing is started.\n"
               "  --listen ADDR:PORT   Without --config: one plain proxy node 'proxy' on this\n"
               "                       UDP address instead of the lab; IPv6 as [ADDR]:PORT;\n"
               "                       port 0 picks a free port.\n"
               "  --print-lab-config   Print the lab's configuration (YAML) and exit: a\n"
               "                       starting point for a --config file of your own.\n"
               "  --print-lab-subscribers\n"
               "                       Print the lab's demo subscribers (YAML for 'sipveil sub\n"
               "                       import', docs/subscribers.md) and exit.\n"
               "  --lab-init           Make the lab's first-start material (var/, var/tls/, the\n"
               "                       demo subscribers in var/sipveil.db) and exit.\n"
               "  --log-level LEVEL    err, warn, notice (default), info or debug; overrides the\n"
               "                       file's log.level.\n"
               "  --trace              Write every SIP message received and sent, in full, to\n"
               "                       the log whatever the level (log.trace: true). WARNING:\n"
               "                       the messages carry identities, URIs and bodies; for\n"
               "                       test systems only.\n"
               "  --syslog             Log to syslog (ident 'sipveil', the facility of\n"
               "                       log.facility, default daemon) instead of standard\n"
               "                       error (log.target: syslog).\n"
               "\n"
               "Readiness: once every listener is bound, one line per listener is printed on\n"
               "standard output: 'ready udp <addr>:<port>' (tcp, tls for those listeners),\n"
               "followed by ' node <name>' with --config; and 'ready http <addr>:<port>\n"
               "metrics' when metrics.listen is set.\n"
               "\n"
               "Signals: SIGTERM or SIGINT stops it: TCP and TLS listeners close, new requests\n"
               "get 503 with Retry-After, transactions in progress get up to 2 s to finish,\n"
               "then it exits 0 (a second signal: at once). SIGHUP reloads the --config file:\n"
               "what may change on a reload is applied by every worker, anything else is\n"
               "refused with the key named in the log (docs/operations.md).\n"
               "\n"
               "Exit status: 0 stopped by a signal, or --check-config found no error; 64 usage\n"
               "error; 69 a listener cannot be bound; 71 system error; 73 li.sink cannot be\n"
               "opened; 78 the configuration has errors or cannot be read, or a route's next\n"
               "hop is not an IP address.\n");
}

/* --check-config and the config half of run: load, report, and say what will be served. */
static int load_config(const char *path, struct app_config *cfg)
{
    struct sv_cfg_diag d;
    int err;

    sv_cfg_diag_init(&d, 0);
    err = app_config_load(cfg, path, &d);
    if (err) {
        sv_cfg_diag_print(&d, stderr);
        if (err == ENOMEM)
            fprintf(stderr, "sipveil run: %s: out of memory\n", path);
        else if (d.nerr)
            fprintf(stderr, "sipveil run: %s: %u error%s; nothing started\n", path, d.nerr,
                    d.nerr == 1 ? "" : "s");
    }
    sv_cfg_diag_close(&d);
    return err;
}

/*
 * The configuration of a run without --config: one plain proxy node on UDP @p udp (and TCP
 * @p tcp when set), loaded through the config table so that every other value is its default.
 */
static int default_config(struct app_config *cfg, const char *udp, const char *tcp)
{
    char text[512];
    struct sv_cfg_diag d;
    int n, err;

    n = snprintf(text, sizeof(text),
                 "workers: 0\n"
                 "nodes:\n"
                 "  - name: proxy\n"
                 "    role: proxy\n"
                 "    listeners:\n"
                 "      - {transport: udp, address: \"%s\"}\n"
                 "%s%s%s",
                 udp, tcp ? "      - {transport: tcp, address: \"" : "", tcp ? tcp : "",
                 tcp ? "\"}\n" : "");
    if (n < 0 || (size_t)n >= sizeof(text))
        return EINVAL;
    sv_cfg_diag_init(&d, 0);
    err = sv_cfg_load_mem(app_config_table, cfg, "<built-in>", text, (size_t)n, &d);
    if (err)
        sv_cfg_diag_print(&d, stderr);
    sv_cfg_diag_close(&d);
    return err;
}

/*
 * The command line's say over the logging part of @p cfg, then the log target: called once the
 * configuration is loaded, before any node starts (and so before any worker thread).
 */
static void apply_log_options(struct app_config *cfg, bool trace, bool to_syslog)
{
    if (trace)
        cfg->log.trace = true;
    if (to_syslog)
        cfg->log.target = APP_LOG_SYSLOG;
    if (cfg->log.target == APP_LOG_SYSLOG &&
        sv_log_open_syslog("sipveil", app_log_facility(cfg->log.facility)) == ENOENT)
        sv_log(SV_LOG_WARN, "run",
               "log.target is syslog, but this system has no syslog socket: logging to "
               "standard error");
}

/* The all-in-one lab (lab.c): its configuration, its first-start material, its nodes. */
static int run_lab(bool level_given, bool trace, bool to_syslog)
{
    struct app_config cfg;
    struct sv_cfg_diag d;
    int rc;

    memset(&cfg, 0, sizeof(cfg));
    sv_cfg_diag_init(&d, 0);
    rc = sv_cfg_load_mem(app_config_table, &cfg, "<lab>", app_lab_config, strlen(app_lab_config),
                         &d);
    if (rc)
        sv_cfg_diag_print(&d, stderr);
    sv_cfg_diag_close(&d);
    if (rc)
        return APP_EX_SOFTWARE;
    if (!level_given)
        sv_log_set_level((enum sv_log_level)cfg.log.level);
    apply_log_options(&cfg, trace, to_syslog);
    if ((rc = app_lab_prepare(cfg.store)) == APP_EX_OK) {
        sv_log(SV_LOG_NOTICE, "run",
               "the all-in-one lab: P-CSCF 127.0.0.1:5060 (TLS 5061), I-CSCF 4060 (edge 5090), "
               "S-CSCF 6060, AS 7060, PS 5065; home domain ims.example (docs/lab.md)");
        struct app_run_opts o = {.show_node = true, .keep_log_level = level_given,
                                 .force_trace = trace, .force_syslog = to_syslog};
        rc = app_nodes_run(&cfg, &o);
        sv_log_open_stderr();
    }
    app_config_free(&cfg);
    return rc;
}

int app_cmd_run(int argc, char **argv)
{
    const char *listen_s = NULL, *config = NULL;
    bool check_only = false, level_given = false, trace = false, to_syslog = false;
    bool print_lab = false, print_subs = false, lab_init = false;
    struct app_config cfg;
    int rc;

    memset(&cfg, 0, sizeof(cfg));
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            app_usage_run(stdout);
            return APP_EX_OK;
        } else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            listen_s = argv[++i];
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else if (strcmp(argv[i], "--lab-init") == 0) {
            lab_init = true;
        } else if (strcmp(argv[i], "--print-lab-config") == 0) {
            print_lab = true;
        } else if (strcmp(argv[i], "--print-lab-subscribers") == 0) {
            print_subs = true;
        } else if (strcmp(argv[i], "--check-config") == 0) {
            check_only = true;
        } else if (strcmp(argv[i], "--trace") == 0) {
            trace = true;
        } else if (strcmp(argv[i], "--syslog") == 0) {
            to_syslog = true;
        } else if (strcmp(argv[i], "--log-level") == 0 && i + 1 < argc) {
            enum sv_log_level lvl;
            if (sv_log_level_parse(argv[++i], &lvl)) {
                fprintf(stderr, "sipveil run: --log-level must be err, warn, notice, info or "
                                "debug\n");
                return APP_EX_USAGE;
            }
            sv_log_set_level(lvl);
            level_given = true;
        } else {
            fprintf(stderr, "sipveil run: unknown argument '%s'; see 'sipveil help run'\n",
                    argv[i]);
            return APP_EX_USAGE;
        }
    }
    if (check_only && !config) {
        fprintf(stderr, "sipveil run: --check-config needs --config FILE\n");
        return APP_EX_USAGE;
    }
    if (config && listen_s) {
        fprintf(stderr, "sipveil run: --listen and --config exclude each other; the listeners "
                        "of --config are its nodes'\n");
        return APP_EX_USAGE;
    }
    if (lab_init) {
        /* the lab's first-start material only: for a --config run built from the lab's */
        struct app_config lc;
        struct sv_cfg_diag d;
        memset(&lc, 0, sizeof(lc));
        sv_cfg_diag_init(&d, 0);
        rc = sv_cfg_load_mem(app_config_table, &lc, "<lab>", app_lab_config,
                             strlen(app_lab_config), &d);
        sv_cfg_diag_close(&d);
        if (rc)
            return APP_EX_SOFTWARE;
        rc = app_lab_prepare(lc.store);
        app_config_free(&lc);
        return rc;
    }
    if (print_lab || print_subs) {
        fputs(print_lab ? app_lab_config : app_lab_subscribers, stdout);
        return fflush(stdout) ? APP_EX_IOERR : APP_EX_OK;
    }
    if (!config && !listen_s)
        return run_lab(level_given, trace, to_syslog);
    if (!config) {
        struct net_addr a;
        if (listen_s && net_addr_parse(&a, listen_s)) {
            fprintf(stderr, "sipveil run: --listen '%s' is not ADDR:PORT (IPv6: [ADDR]:PORT)\n",
                    listen_s);
            return APP_EX_USAGE;
        }
        if (default_config(&cfg, listen_s ? listen_s : "127.0.0.1:5060",
                           listen_s ? NULL : "127.0.0.1:5060"))
            return APP_EX_USAGE;
        apply_log_options(&cfg, trace, to_syslog);
        struct app_run_opts o = {.show_node = false, .keep_log_level = level_given,
                                 .force_trace = trace, .force_syslog = to_syslog};
        rc = app_nodes_run(&cfg, &o);
        sv_log_open_stderr();
        app_config_free(&cfg);
        return rc;
    }
    if (load_config(config, &cfg))
        return APP_EX_CONFIG;
    if (check_only) {
        rc = app_config_print(&cfg, config, stdout) || fflush(stdout) ? APP_EX_IOERR : APP_EX_OK;
        app_config_free(&cfg);
        return rc;
    }
    if (!level_given)
        sv_log_set_level((enum sv_log_level)cfg.log.level);
    apply_log_options(&cfg, trace, to_syslog);
    sv_log(SV_LOG_NOTICE, "run", "%zu node%s configured, each a stateful proxy", cfg.nnodes,
           cfg.nnodes == 1 ? "" : "s");
    struct app_run_opts o = {.show_node = true, .config_path = config,
                             .keep_log_level = level_given, .force_trace = trace,
                             .force_syslog = to_syslog};
    rc = app_nodes_run(&cfg, &o);
    sv_log_open_stderr();
    app_config_free(&cfg);
    return rc;
}
