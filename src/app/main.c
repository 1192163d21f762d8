/**
 * @file main.c  The sipveil command: dispatch to subcommands, --help and version.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <openssl/opensslv.h>
#include <sipveil/core.h>
#include "app.h"
#include "config.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: sipveil <command> [options] [arguments]\n"
            "\n"
            "sipveil is an IMS core (P-CSCF, I-CSCF/edge, S-CSCF, Presence Server) in which a\n"
            "subscriber's identity goes exactly as far as the subscriber allows.\n"
            "\n"
            "Commands:\n"
            "  run [--config FILE [--check-config]] [--listen ADDR:PORT]\n"
            "          Start the node(s): each is a transaction-stateful SIP proxy\n"
            "          (RFC 3261 section 16) on its UDP, TCP and TLS listeners, with the\n"
            "          routes and IMS role of each node of the YAML config FILE.\n"
            "          Without --config and --listen: the all-in-one IMS lab (P-CSCF,\n"
            "          I-CSCF/edge, S-CSCF, AS, Presence Server, XCAP; docs/lab.md).\n"
            "          --listen alone: one plain proxy on UDP and TCP ADDR:PORT that\n"
            "          forwards to numeric Request-URI hosts. --check-config validates\n"
            "          FILE and prints the effective configuration (exit 0) or its\n"
            "          errors (exit 78). See 'sipveil help run'.\n"
            "  parse [--role proxy|uas] [--stream] [FILE]\n"
            "          Parse one SIP message from FILE or standard input and print a canonical\n"
            "          dump. Exit 0 if valid, 65 if malformed (one line with the reason), 66 if\n"
            "          well-formed but a server would refuse it (the status code it would send).\n"
            "  li verify FILE\n"
            "          Check that every line of a lawful-interception sink FILE is a complete\n"
            "          record and print how many there are (exit 0), or name the first bad\n"
            "          line (exit 65). See 'sipveil help li'.\n"
            "  sub [--db PATH] add|del|list|show|import ...\n"
            "          Provision the subscriber store: subscribers, their identities and\n"
            "          credentials; import YAML. See 'sipveil help sub'.\n"
            "  ua [options] register|unregister|message|options|call|listen ...\n"
            "  ua [options] publish|subscribe|rules|grant ...\n"
            "          A command-line IMS UE: register to a P-CSCF (Digest or AKA), send\n"
            "          MESSAGE, OPTIONS or a call, or answer requests, with the privacy\n"
            "          options of RFC 3323; prints the identity headers it receives.\n"
            "          Presence: publish, subscribe (NOTIFYs printed), pres-rules over\n"
            "          XCAP, watcher grants. See 'sipveil help ua'.\n"
            "  version Print the version and the libraries sipveil was built with.\n"
            "  help [COMMAND]\n"
            "          Show this text, or the full help of COMMAND.\n"
            "  help config\n"
            "          The configuration reference: every key of the config file with its\n"
            "          type, default, bounds and meaning, in Markdown (docs/configuration.md).\n"
            "\n"
            "Options common to all commands:\n"
            "  -h, --help     Show help and exit.\n"
            "\n"
            "Exit status: 0 success; 64 usage error; 65 malformed input; 66 refused input;\n"
            "69 service unavailable; 71 system error; 74 I/O error (input not readable);\n"
            "78 configuration error.\n"
            "\n"
            "Logs go to standard error, one line per event. No identity, URI, display name\n"
            "or message body is written above the debug level.\n");
}

static int cmd_version(void)
{
    printf("sipveil %s\n", SIPVEIL_VERSION);
    printf("built with: libevent %s, %s, %s %s\n", event_get_version(), OPENSSL_VERSION_TEXT,
#if defined(__clang__)
           "clang", __clang_version__
#elif defined(__GNUC__)
           "gcc", __VERSION__
#else
           "cc", "?"
#endif
    );
    return APP_EX_OK;
}

static int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return APP_EX_OK;
    }
    if (strcmp(argv[1], "parse") == 0)
        app_usage_parse(stdout);
    else if (strcmp(argv[1], "run") == 0)
        app_usage_run(stdout);
    else if (strcmp(argv[1], "li") == 0)
        app_usage_li(stdout);
    else if (strcmp(argv[1], "ua") == 0)
        app_usage_ua(stdout);
    else if (strcmp(argv[1], "sub") == 0)
        app_usage_sub(stdout);
    else if (strcmp(argv[1], "config") == 0)
        return app_config_reference(stdout) || fflush(stdout) ? APP_EX_IOERR : APP_EX_OK;
    else if (strcmp(argv[1], "version") == 0)
        printf("Usage: sipveil version\n\nPrint the version and the libraries sipveil was "
               "built with.\n");
    else {
        fprintf(stderr, "sipveil: no help for '%s'; try 'sipveil --help'\n", argv[1]);
        return APP_EX_USAGE;
    }
    return APP_EX_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return APP_EX_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0)
        return cmd_help(1, argv);
    if (strcmp(cmd, "help") == 0)
        return cmd_help(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0)
        return cmd_version();
    if (strcmp(cmd, "parse") == 0)
        return app_cmd_parse(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0)
        return app_cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "li") == 0)
        return app_cmd_li(argc - 1, argv + 1);
    if (strcmp(cmd, "ua") == 0)
        return app_cmd_ua(argc - 1, argv + 1);
    if (strcmp(cmd, "sub") == 0)
        return app_cmd_sub(argc - 1, argv + 1);
    fprintf(stderr, "sipveil: unknown command '%s'; try 'sipveil --help'\n", cmd);
    return APP_EX_USAGE;
}
