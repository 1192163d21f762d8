/**
 * @file cmd_li.c  `sipveil li`: tools for the lawful-interception sink file. One for now:
 * `sipveil li verify FILE`, which tells an operator whether every line of a sink file is a
 * complete record, and how many there are.
 *
 * The output never quotes a record: the verdict names the file, the line number and what is
 * wrong, in fixed words (li_verify_file's promise), because it may end up in a ticket or a
 * shell history where LI content must not go.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sipveil/privacy_li.h>
#include "app.h"

void app_usage_li(FILE *f)
{
    fprintf(f,
            "Usage: sipveil li verify FILE\n"
            "\n"
            "Tools for the lawful-interception (LI) sink file.\n"
            "\n"
            "A node writes one record to its LI sink before it removes or anonymises the\n"
            "identity of a message that concerns an LI target, and forwards the message only\n"
            "once the record is on disk. The sink is a JSON Lines file of mode 0600: one\n"
            "record per line, each a JSON object with the keys v (1), time (RFC 3339 UTC with\n"
            "milliseconds), node, kind (request or response), status (responses), method,\n"
            "call_id, pai (array), from, ruri (requests), source and performed (array of the\n"
            "privacy functions: id, user, ...).\n"
            "\n"
            "Commands:\n"
            "  verify FILE\n"
            "          Check that every line of FILE is one complete version-1 record: valid\n"
            "          UTF-8 JSON, no duplicate keys, exactly the keys above with their types,\n"
            "          and a newline after the last record. The file is only read, so it may\n"
            "          be verified while a node appends to it; a record appended at that very\n"
            "          moment may then show as an incomplete last line: verify again.\n"
            "\n"
            "          On success, one line on standard output:\n"
            "              FILE: N records, well-formed\n"
            "          Otherwise one line naming the first bad line, e.g.\n"
            "              FILE:LINE: incomplete last record: no newline at the end of the file\n"
            "          The messages never quote a record: LI content stays in the sink.\n"
            "\n"
            "          A file whose mode is not 0600 is still verified, with a warning on\n"
            "          standard error: anyone the mode lets in can read the records.\n"
            "\n"
            "          An incomplete last line is what a node leaves when it is killed in the\n"
            "          middle of a record; that record's message was never forwarded. The node\n"
            "          cuts it off when it opens the sink again.\n"
            "\n"
            "Options:\n"
            "  -h, --help  Show this text and exit.\n"
            "\n"
            "Exit status:\n"
            "  0   every line is a complete record\n"
            "  65  a bad line (the output names it)\n"
            "  66  FILE cannot be opened (missing, not readable, a directory)\n"
            "  64  usage error; 71 out of memory; 74 a read error part way through FILE\n");
}

static int verify(const char *path)
{
    struct stat st;
    size_t nrec = 0, line = 0;
    char why[160];
    int e;

    if (stat(path, &st) != 0) {
        e = errno;
        fprintf(stderr, "sipveil li verify: cannot open %s: %s\n", path, strerror(e));
        return APP_EX_NOINPUT;
    }
    if (S_ISDIR(st.st_mode)) {
        fprintf(stderr, "sipveil li verify: cannot open %s: %s\n", path, strerror(EISDIR));
        return APP_EX_NOINPUT;
    }
    if (S_ISREG(st.st_mode) && (st.st_mode & 07777) != 0600)
        fprintf(stderr,
                "%s: warning: mode %04o, should be 0600: the records are readable by whoever "
                "the mode lets in\n",
                path, (unsigned)(st.st_mode & 07777));

    e = li_verify_file(path, &nrec, &line, why, sizeof(why));
    switch (e) {
    case 0:
        printf("%s: %zu record%s, well-formed\n", path, nrec, nrec == 1 ? "" : "s");
        return APP_EX_OK;
    case EBADMSG:
        printf("%s:%zu: %s\n", path, line, why);
        return APP_EX_DATAERR;
    case ENOENT:
    case EACCES:
    case EPERM:
    case EISDIR:
    case ELOOP:
        fprintf(stderr, "sipveil li verify: cannot open %s: %s\n", path, strerror(e));
        return APP_EX_NOINPUT;
    case ENOMEM:
        fprintf(stderr, "sipveil li verify: %s: out of memory\n", path);
        return APP_EX_OSERR;
    default:
        fprintf(stderr, "sipveil li verify: cannot read %s: %s\n", path, strerror(e));
        return APP_EX_IOERR;
    }
}

int app_cmd_li(int argc, char **argv)
{
    const char *sub = NULL, *path = NULL;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            app_usage_li(stdout);
            return APP_EX_OK;
        } else if (strcmp(argv[i], "--") == 0 && sub && i + 1 < argc && !path) {
            path = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "sipveil li: unknown option '%s'; see 'sipveil help li'\n", argv[i]);
            return APP_EX_USAGE;
        } else if (!sub) {
            sub = argv[i];
        } else if (!path) {
            path = argv[i];
        } else {
            fprintf(stderr, "sipveil li %s: one FILE only\n", sub);
            return APP_EX_USAGE;
        }
    }
    if (!sub) {
        app_usage_li(stderr);
        return APP_EX_USAGE;
    }
    if (strcmp(sub, "verify") != 0) {
        fprintf(stderr, "sipveil li: unknown command '%s'; see 'sipveil help li'\n", sub);
        return APP_EX_USAGE;
    }
    if (!path) {
        fprintf(stderr, "sipveil li verify: FILE is missing; see 'sipveil help li'\n");
        return APP_EX_USAGE;
    }
    return verify(path);
}
