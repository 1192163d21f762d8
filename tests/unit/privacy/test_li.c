/**
 * @file test_li.c  Lawful interception (R62, issue 4 §4): which messages concern a target, the
 * record's exact bytes and escaping, the sink file's mode rules, short writes, a kill -9 in
 * the middle of a run, and the verifier.
 *
 * Every case that touches files works in a fresh directory of its own under $TMPDIR (or
 * /tmp), removed at the end when the case passes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <jansson.h>

#include "sip/svtest_sip.h"
#include <sipveil/privacy_li.h>

/* ---- messages --------------------------------------------------------------------------- */

#define INVITE_A                                                                                   \
    "INVITE sip:bob@home2.net SIP/2.0\r\n"                                                         \
    "Via: SIP/2.0/UDP node.home1.net;branch=z9hG4bK1\r\n"                                          \
    "Max-Forwards: 70\r\n"                                                                         \
    "From: \"Alice\" <sip:alice@home1.net>;tag=a1\r\n"                                             \
    "To: <sip:bob@home2.net>\r\n"                                                                  \
    "Call-ID: c1@home1.net\r\n"                                                                    \
    "CSeq: 1 INVITE\r\n"                                                                           \
    "P-Asserted-Identity: <sip:alice@home1.net>, <tel:+4930111001>\r\n"                            \
    "P-Asserted-Identity: \"Alice A\" <sip:alice.a@home1.net>\r\n"                                 \
    "Privacy: id\r\n"                                                                              \
    "Content-Length: 0\r\n"                                                                        \
    "\r\n"

#define OK_A                                                                                       \
    "SIP/2.0 200 OK\r\n"                                                                           \
    "Via: SIP/2.0/UDP node.home1.net;branch=z9hG4bK1\r\n"                                          \
    "From: \"Alice\" <sip:alice@home1.net>;tag=a1\r\n"                                             \
    "To: <sip:bob@home2.net>;tag=b1\r\n"                                                           \
    "Call-ID: c1@home1.net\r\n"                                                                    \
    "CSeq: 1 INVITE\r\n"                                                                           \
    "Content-Length: 0\r\n"                                                                        \
    "\r\n"

/* A request from @p from to @p ruri with @p extra header lines. */
#define REQ(ruri, from, extra)                                                                     \
    "MESSAGE " ruri " SIP/2.0\r\n"                                                                 \
    "Via: SIP/2.0/UDP node.home1.net;branch=z9hG4bK2\r\n"                                          \
    "Max-Forwards: 70\r\n"                                                                         \
    "From: " from ";tag=x1\r\n"                                                                    \
    "To: <sip:someone@elsewhere.net>\r\n"                                                          \
    "Call-ID: m1@home1.net\r\n"                                                                    \
    "CSeq: 1 MESSAGE\r\n" extra "Content-Length: 0\r\n"                                            \
    "\r\n"

/* One PAI line of a %s user part: three of them make a record of over 20 KiB (a line is capped
 * at 8 KiB). */
#define BIG_PAI "P-Asserted-Identity: <sip:%s@b.net>\r\n"

#define T0 1796403600123ull /* 2026-12-04T17:00:00.123Z */

/* ---- files ------------------------------------------------------------------------------ */

static char dir[256];

/* A fresh directory for the case. */
static int dir_setup(void **state)
{
    const char *tmp = getenv("TMPDIR");

    snprintf(dir, sizeof(dir), "%s/sv-li-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    return sv_test_arena_setup(state);
}

static int dir_teardown(void **state)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[512];

    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
    return sv_test_arena_teardown(state);
}

static const char *fpath(const char *name)
{
    static char p[4][512];
    static unsigned i;
    char *r = p[i++ % 4];

    snprintf(r, 512, "%s/%s", dir, name);
    return r;
}

static void put_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

    assert_true(fd >= 0);
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static off_t fsize(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static void expect_verify(const char *path, int want_err, size_t want_n, size_t want_line)
{
    size_t n = 99, line = 0;
    char why[160];
    int e = li_verify_file(path, &n, &line, why, sizeof(why));

    if (e != want_err || n != want_n)
        print_error("li_verify_file: %d (%s), %zu records, line %zu\n", e, why, n, line);
    assert_int_equal(e, want_err);
    assert_int_equal(n, want_n);
    if (want_err == EBADMSG)
        assert_int_equal(line, want_line);
}

static struct li_record rec(const struct sip_msg *m)
{
    struct li_record r = {.node = "pcscf1",
                          .msg = m,
                          .source = "192.0.2.1:5060",
                          .performed = SIP_PRIV_ID,
                          .time_ms = T0};
    return r;
}

static const char *format(const struct li_record *r)
{
    static char out[65536];
    size_t n;

    assert_int_equal(li_record_format(r, out, sizeof(out), &n), 0);
    assert_int_equal(strlen(out), n);
    return out;
}

/* ---- targets ---------------------------------------------------------------------------- */

static struct li_targets *targets(const char *const *ids, size_t n)
{
    struct li_targets *t = NULL;
    size_t bad = 99;

    assert_int_equal(li_targets_alloc(&t, ids, n, &bad), 0);
    assert_int_equal(bad, 99);
    return t;
}

/* R62: a sip/sips identity is user@host; the host's case, scheme, port and parameters do not
 * matter, the user's case does. */
static void r62_match_sip_uri_host_case(void **state)
{
    static const char *const ids[] = {"sip:alice@home1.net"};
    struct li_targets *t = targets(ids, 1);

    assert_true(
        li_targets_match(t, sv_test_parse(REQ("sip:x@y.net", "<sip:alice@HOME1.NET>", ""))));
    assert_true(li_targets_match(
        t, sv_test_parse(REQ("sip:x@y.net", "<sips:alice@Home1.Net:5061;transport=tcp>", ""))));
    assert_true(
        li_targets_match(t, sv_test_parse(REQ("sip:x@y.net", "<sip:%61lice@home1.net>", ""))));
    assert_false(
        li_targets_match(t, sv_test_parse(REQ("sip:x@y.net", "<sip:Alice@home1.net>", ""))));
    assert_false(
        li_targets_match(t, sv_test_parse(REQ("sip:x@y.net", "<sip:alice@home1.net.evil>", ""))));
    assert_true(li_targets_has(t, SV_LIT("sip:alice@HOME1.net;user=ip")));
    assert_false(li_targets_has(t, SV_LIT("not a uri")));
    li_targets_free(t);
}

/* R62: telephone numbers compare digits only, visual separators ignored, in tel: and in a sip
 * URI with user=phone, wherever the message carries them. */
static void r62_match_tel_with_separators(void **state)
{
    static const char *const ids[] = {"tel:+49-30-111-001"};
    struct li_targets *t = targets(ids, 1);

    assert_int_equal(li_targets_count(t), 1);
    assert_true(li_targets_match(
        t, sv_test_parse(REQ("sip:x@y.net", "<sip:z@y.net>",
                             "P-Asserted-Identity: <sip:a@b.net>, <tel:+4930111001>\r\n"))));
    assert_true(li_targets_match(t, sv_test_parse(REQ("tel:+49(30)111.001", "<sip:z@y.net>", ""))));
    assert_true(li_targets_match(
        t, sv_test_parse(REQ("sip:x@y.net", "<sip:+49-30-111001@home1.net;user=phone>", ""))));
    /* without user=phone the user part is a name, not a number */
    assert_false(
        li_targets_match(t, sv_test_parse(REQ("sip:x@y.net", "<sip:+4930111001@home1.net>", ""))));
    assert_false(li_targets_match(t, sv_test_parse(REQ("tel:+4930111002", "<sip:z@y.net>", ""))));
    li_targets_free(t);

    /* a local number is its digits and its phone-context */
    static const char *const local[] = {"tel:7042;phone-context=Home1.net"};
    t = targets(local, 1);
    assert_true(li_targets_has(t, SV_LIT("tel:70-42;phone-context=home1.net")));
    assert_false(li_targets_has(t, SV_LIT("tel:7042;phone-context=home2.net")));
    assert_false(li_targets_has(t, SV_LIT("tel:+7042")));
    li_targets_free(t);
}

/* The headers consulted: Request-URI, From, To, PAI, PPI, P-Called-Party-ID, P-Served-User;
 * a response through From/To and PAI. Nothing else (Contact, Reply-To) counts. */
static void r62_match_headers_consulted(void **state)
{
    static const char *const ids[] = {"sip:t@home1.net", "sips:[2001:db8::1]"};
    struct li_targets *t = NULL;
    size_t bad = 0;

    /* a URI without a user part is no identity */
    assert_int_equal(li_targets_alloc(&t, ids, 2, &bad), EINVAL);
    assert_int_equal(bad, 1);
    assert_null(t);
    static const char *const ids2[] = {"sip:t@home1.net", "sip:v6@[2001:db8::1]"};
    t = targets(ids2, 2);

#define M(ruri, from, extra) li_targets_match(t, sv_test_parse(REQ(ruri, from, extra)))
    assert_true(M("sip:t@home1.net", "<sip:z@y.net>", ""));
    assert_true(M("sip:x@y.net", "\"T\" <sip:t@home1.net>", ""));
    assert_true(M("sip:x@y.net", "<sip:z@y.net>", "P-Preferred-Identity: <sip:t@home1.net>\r\n"));
    assert_true(M("sip:x@y.net", "<sip:z@y.net>", "P-Called-Party-ID: <sip:t@home1.net>\r\n"));
    assert_true(M("sip:x@y.net", "<sip:z@y.net>",
                  "P-Served-User: <sip:t@home1.net>;sescase=orig;regstate=reg\r\n"));
    assert_true(M("sip:x@y.net", "<sip:v6@[2001:DB8:0:0::1]>", ""));
    assert_false(M("sip:x@y.net", "<sip:z@y.net>", "Contact: <sip:t@home1.net>\r\n"));
    assert_false(M("sip:x@y.net", "<sip:z@y.net>", "Reply-To: <sip:t@home1.net>\r\n"));
    /* an element that does not decode is skipped, the next still counts */
    assert_false(M("sip:x@y.net", "<sip:z@y.net>", "P-Asserted-Identity: <sip:a@b.net>, <::>\r\n"));
#undef M
    const char *resp = "SIP/2.0 200 OK\r\n"
                       "Via: SIP/2.0/UDP node.home1.net;branch=z9hG4bK1\r\n"
                       "From: <sip:a@b.net>;tag=a1\r\n"
                       "To: <sip:b@b.net>;tag=b1\r\n"
                       "Call-ID: c1@home1.net\r\n"
                       "CSeq: 1 INVITE\r\n"
                       "P-Asserted-Identity: <sip:t@home1.net>\r\n"
                       "Content-Length: 0\r\n"
                       "\r\n";
    assert_true(li_targets_match(t, sv_test_parse(resp)));
    assert_false(li_targets_match(t, sv_test_parse(OK_A)));
    assert_false(li_targets_match(NULL, sv_test_parse(OK_A)));
    li_targets_free(t);

    /* an empty set matches nothing */
    t = targets(NULL, 0);
    assert_int_equal(li_targets_count(t), 0);
    assert_false(li_targets_match(t, sv_test_parse(INVITE_A)));
    li_targets_free(t);
}

/* Identities that are not a sip/sips URI with a user, or a tel URI, are refused by index. */
static void targets_refuse_bad_identities(void **state)
{
    static const char *const cases[][2] = {
        {"sip:a@b.net", "mailto:a@b.net"}, {"tel:+1234", "tel:1234"}, /* a local number without
                                                                         phone-context */
        {"sip:a@b.net", "<sip:a@b.net>"},  {"sip:a@b.net", "sip:home1.net"}, {"sip:a@b.net", ""},
    };
    struct li_targets *t = NULL;

    for (size_t i = 0; i < SV_ARRAY_SIZE(cases); i++) {
        size_t bad = 99;
        assert_int_equal(li_targets_alloc(&t, cases[i], 2, &bad), EINVAL);
        assert_int_equal(bad, 1);
        assert_null(t);
    }
    const char *const withnull[] = {"sip:a@b.net", NULL};
    assert_int_equal(li_targets_alloc(&t, withnull, 2, NULL), EINVAL);
    assert_int_equal(li_targets_alloc(NULL, withnull, 1, NULL), EINVAL);

    /* LI_TARGET_MAX: a longer identity is refused rather than cut */
    char big[LI_TARGET_MAX + 32];
    memset(big, 'u', sizeof(big));
    memcpy(big, "sip:", 4);
    strcpy(big + sizeof(big) - 10, "@b.net");
    const char *const longid[] = {big};
    assert_int_equal(li_targets_alloc(&t, longid, 1, NULL), EINVAL);

    /* duplicates, and one number given as tel and as user=phone, count once */
    const char *const dup[] = {"sip:a@b.net", "sip:a@B.NET", "tel:+4930111001",
                               "sip:+49-30-111001@b.net;user=phone"};
    t = targets(dup, 4);
    assert_int_equal(li_targets_count(t), 3);
    li_targets_free(t);
}

static void targets_oom_sweep(void **state)
{
    static const char *const ids[] = {"sip:a@b.net", "tel:+1234", "sip:+1@c.net;user=phone"};

    for (long n = 0;; n++) {
        struct li_targets *t = NULL;
        sv_mem_fail_after(n);
        int e = li_targets_alloc(&t, ids, 3, NULL);
        sv_mem_fail_after(-1);
        if (e == 0) {
            assert_int_equal(li_targets_count(t), 4);
            li_targets_free(t);
            break;
        }
        assert_int_equal(e, ENOMEM);
        assert_null(t);
    }
}

/* ---- the record ------------------------------------------------------------------------- */

/* The whole record of a request and of a response, byte for byte. */
static void record_exact_bytes(void **state)
{
    struct li_record r = rec(sv_test_parse(INVITE_A));

    sv_test_expect_bytes(
        format(&r), strlen(format(&r)),
        "{\"v\":1,\"time\":\"2026-12-04T17:00:00.123Z\",\"node\":\"pcscf1\",\"kind\":\"request\","
        "\"method\":\"INVITE\",\"call_id\":\"c1@home1.net\",\"pai\":[\"<sip:alice@home1.net>\","
        "\"<tel:+4930111001>\",\"\\\"Alice A\\\" <sip:alice.a@home1.net>\"],"
        "\"from\":\"\\\"Alice\\\" <sip:alice@home1.net>;tag=a1\",\"ruri\":\"sip:bob@home2.net\","
        "\"source\":\"192.0.2.1:5060\",\"performed\":[\"id\"]}\n");

    r = rec(sv_test_parse(OK_A));
    r.source = NULL;
    r.node = NULL;
    r.performed = SIP_PRIV_ID | SIP_PRIV_USER;
    const char *out = format(&r);
    sv_test_expect_bytes(
        out, strlen(out),
        "{\"v\":1,\"time\":\"2026-12-04T17:00:00.123Z\",\"node\":\"\",\"kind\":\"response\","
        "\"status\":200,\"method\":\"INVITE\",\"call_id\":\"c1@home1.net\",\"pai\":[],"
        "\"from\":\"\\\"Alice\\\" <sip:alice@home1.net>;tag=a1\",\"source\":null,"
        "\"performed\":[\"id\",\"user\"]}\n");

    /* ENOSPC tells the size needed */
    char small[8];
    size_t n = 0;
    assert_int_equal(li_record_format(&r, small, sizeof(small), &n), ENOSPC);
    assert_int_equal(n, strlen(out));
    assert_int_equal(li_record_format(NULL, small, sizeof(small), &n), EINVAL);
}

/* One JSON string escape per case: quotes, backslash, control characters, DEL, and bytes that
 * are not well-formed UTF-8 as \u00XX, while well-formed UTF-8 stays as it is. */
static void record_escaping(void **state)
{
    static const char *const cases[][2] = {
        {"a\"b", "a\\\"b"},
        {"a\\b", "a\\\\b"},
        {"\t\n\r\b\f", "\\t\\n\\r\\b\\f"},
        {"\x01\x1f\x7f", "\\u0001\\u001f\\u007f"},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e"},
        {"\xe9", "\\u00e9"},                                  /* Latin-1, not UTF-8 */
        {"\xc0\xaf", "\\u00c0\\u00af"},                       /* overlong '/' */
        {"\xed\xa0\x80", "\\u00ed\\u00a0\\u0080"},            /* a surrogate */
        {"\xf4\x90\x80\x80", "\\u00f4\\u0090\\u0080\\u0080"}, /* above U+10FFFF */
        {"x\xe2\x82", "x\\u00e2\\u0082"},                     /* cut short */
        {"\xff\xfe", "\\u00ff\\u00fe"},
    };
    struct li_record r = rec(sv_test_parse(INVITE_A));
    char want[128];

    for (size_t i = 0; i < SV_ARRAY_SIZE(cases); i++) {
        r.node = cases[i][0];
        snprintf(want, sizeof(want), "\"node\":\"%s\",", cases[i][1]);
        const char *out = format(&r);
        if (!strstr(out, want))
            print_error("case %zu: wanted %s in\n%s", i, want, out);
        assert_non_null(strstr(out, want));
    }

    /* every byte 1..255 once: the record is valid JSON (jansson checks UTF-8) and ASCII comes
     * back as it went in */
    char all[256];
    for (int c = 1; c < 256; c++)
        all[c - 1] = (char)c;
    all[255] = '\0';
    r.node = all;
    r.source = all;
    const char *out = format(&r);
    json_error_t je;
    json_t *o = json_loads(out, JSON_REJECT_DUPLICATES, &je);
    if (!o)
        print_error("jansson: %s at column %d\n", je.text, je.column);
    assert_non_null(o);
    const char *node = json_string_value(json_object_get(o, "node"));
    assert_non_null(node);
    assert_memory_equal(node, all, 127);
    json_decref(o);
}

/* One record is one line, whatever the message holds (folded headers carry CRLF). */
static void record_one_line(void **state)
{
    const char *folded = "MESSAGE sip:bob@home2.net SIP/2.0\r\n"
                         "Via: SIP/2.0/UDP node.home1.net;branch=z9hG4bK3\r\n"
                         "Max-Forwards: 70\r\n"
                         "From: \"Al\r\n ice\" <sip:alice@home1.net>;tag=a1\r\n"
                         "To: <sip:bob@home2.net>\r\n"
                         "Call-ID: f1@home1.net\r\n"
                         "CSeq: 1 MESSAGE\r\n"
                         "P-Asserted-Identity: <sip:alice@home1.net>,\r\n <tel:+1234>\r\n"
                         "Content-Length: 0\r\n"
                         "\r\n";
    struct li_record r = rec(sv_test_parse(folded));
    r.node = "a\nb\r\n";
    const char *out = format(&r);
    const char *nl = strchr(out, '\n');

    assert_non_null(nl);
    assert_int_equal(nl[1], '\0');
    assert_null(strchr(out, '\r'));
    assert_non_null(strstr(out, "\"from\":\"\\\"Al\\r\\n ice\\\""));
    assert_non_null(strstr(out, "\"pai\":[\"<sip:alice@home1.net>\",\"<tel:+1234>\"]"));
}

/* A PAI line that does not decode still goes to LI, as received. */
static void record_keeps_undecodable_pai(void **state)
{
    struct li_record r =
        rec(sv_test_parse(REQ("sip:x@y.net", "<sip:z@y.net>",
                              "P-Asserted-Identity: <sip:a@b.net>, <sip:c@d.net, bogus\r\n")));
    const char *out = format(&r);

    if (!strstr(out, "\"pai\":[\"<sip:a@b.net>\",\"<sip:c@d.net, bogus\"]"))
        print_error("%s", out);
    assert_non_null(strstr(out, "\"pai\":[\"<sip:a@b.net>\",\"<sip:c@d.net, bogus\"]"));
}

/* ---- the sink --------------------------------------------------------------------------- */

/* Issue 4 §4: the file is created 0600 whatever the umask, and records append to it. */
static void sink_creates_0600_and_appends(void **state)
{
    const char *p = fpath("li.jsonl");
    struct li_sink *s = NULL;
    struct li_record r = rec(sv_test_parse(INVITE_A));
    struct stat st;
    mode_t old = umask(0);

    assert_int_equal(li_sink_open(&s, p), 0);
    umask(old);
    assert_string_equal(li_sink_path(s), p);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    for (int i = 0; i < 3; i++)
        assert_int_equal(li_sink_write(s, &r), 0);
    li_sink_close(s);
    expect_verify(p, 0, 3, 0);
    assert_int_equal(fsize(p), 3 * (off_t)strlen(format(&r)));

    /* records survive a restart: the file is appended to, never rewritten */
    old = umask(0277); /* would leave 0400 */
    assert_int_equal(li_sink_open(&s, p), 0);
    umask(old);
    assert_int_equal(li_sink_write(s, &r), 0);
    li_sink_close(s);
    expect_verify(p, 0, 4, 0);

    umask(0277);
    assert_int_equal(li_sink_open(&s, fpath("new.jsonl")), 0);
    umask(old);
    assert_int_equal(stat(fpath("new.jsonl"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    li_sink_close(s);
}

/* Issue 4 §4: an existing file that others may read is refused, and left as it was. */
static void sink_refuses_0644(void **state)
{
    static const mode_t modes[] = {0644, 0640, 0604, 0660, 0606};
    const char *p = fpath("open.jsonl");
    struct li_sink *s = NULL;

    for (size_t i = 0; i < SV_ARRAY_SIZE(modes); i++) {
        put_file(p, "", modes[i]);
        assert_int_equal(li_sink_open(&s, p), EPERM);
        assert_null(s);
        assert_int_equal(fsize(p), 0);
    }
    put_file(p, "", 0600);
    assert_int_equal(li_sink_open(&s, p), 0);
    li_sink_close(s);
    if (geteuid() != 0) {
        put_file(p, "", 0400); /* not writable: open says so */
        assert_int_equal(li_sink_open(&s, p), EACCES);
    }
}

/* Only a regular file: not a symbolic link (ELOOP), a FIFO or a device (EINVAL). */
static void sink_refuses_non_files(void **state)
{
    struct li_sink *s = NULL;

    put_file(fpath("real"), "", 0600);
    assert_int_equal(symlink(fpath("real"), fpath("link")), 0);
    assert_int_equal(li_sink_open(&s, fpath("link")), ELOOP);
    assert_int_equal(mkfifo(fpath("fifo"), 0600), 0);
    assert_int_equal(li_sink_open(&s, fpath("fifo")), EINVAL);
    assert_int_equal(li_sink_open(&s, dir), EISDIR);
    assert_int_equal(li_sink_open(&s, ""), EINVAL);
    assert_int_equal(li_sink_open(NULL, fpath("x")), EINVAL);
    assert_null(s);
}

/* A writer killed mid-record leaves an incomplete line: the next open cuts it off, so that
 * every line is again a whole record and the next one starts on a line of its own. */
static void sink_open_cuts_incomplete_tail(void **state)
{
    const char *p = fpath("torn.jsonl");
    struct li_sink *s = NULL;
    struct li_record r = rec(sv_test_parse(INVITE_A));
    char text[8192];

    snprintf(text, sizeof(text), "%s%s{\"v\":1,\"time\":\"2026-", format(&r), format(&r));
    put_file(p, text, 0600);
    expect_verify(p, EBADMSG, 2, 3);
    assert_int_equal(li_sink_open(&s, p), 0);
    expect_verify(p, 0, 2, 0);
    assert_int_equal(li_sink_write(s, &r), 0);
    li_sink_close(s);
    expect_verify(p, 0, 3, 0);

    /* nothing but an incomplete record: the file becomes empty */
    put_file(p, "{\"v\":1", 0600);
    assert_int_equal(li_sink_open(&s, p), 0);
    li_sink_close(s);
    assert_int_equal(fsize(p), 0);
}

/*
 * Issue 4 §4, "If the sink cannot be written": a real short write, by the file size limit.
 * The kernel takes part of the record and refuses the rest (EFBIG); the sink must return the
 * error and leave no partial line, and the next record must go through once there is room.
 */
static void sink_short_write_leaves_no_partial_record(void **state)
{
    const char *p = fpath("short.jsonl");
    struct li_sink *s = NULL;
    struct li_record r = rec(sv_test_parse(INVITE_A));
    struct rlimit old, lim;
    off_t one;

    assert_int_equal(li_sink_open(&s, p), 0);
    assert_int_equal(li_sink_write(s, &r), 0);
    one = fsize(p);
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)one + 40; /* 40 octets of the next record fit, not the rest */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);

    assert_int_equal(li_sink_write(s, &r), EFBIG);
    assert_int_equal(fsize(p), one);
    expect_verify(p, 0, 1, 0);

    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_int_equal(li_sink_write(s, &r), 0);
    li_sink_close(s);
    expect_verify(p, 0, 2, 0);
    assert_int_equal(li_sink_write(NULL, &r), EINVAL);
}

/* A record larger than the writer's stack buffer goes through the heap; ENOMEM there refuses
 * the record and leaves the file as it was. */
static void sink_big_record_and_oom(void **state)
{
    static char big[7000];
    char msg[24000];
    const char *p = fpath("big.jsonl");
    struct li_sink *s = NULL;

    memset(big, 'x', sizeof(big) - 1);
    snprintf(msg, sizeof(msg), REQ("sip:x@y.net", "<sip:z@y.net>", BIG_PAI BIG_PAI BIG_PAI), big,
             big, big);
    struct li_record r = rec(sv_test_parse(msg));
    assert_int_equal(li_sink_open(&s, p), 0);
    sv_mem_fail_after(0);
    int e = li_sink_write(s, &r);
    sv_mem_fail_after(-1);
    assert_int_equal(e, ENOMEM);
    assert_int_equal(fsize(p), 0);
    assert_int_equal(li_sink_write(s, &r), 0);
    li_sink_close(s);
    expect_verify(p, 0, 1, 0);
    assert_true(fsize(p) > 20000);
}

struct writer {
    struct li_sink *s;
    const struct li_record *r;
    int fails;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;

    for (int i = 0; i < 40; i++)
        w->fails += li_sink_write(w->s, w->r) != 0;
    return NULL;
}

/* Worker threads share one sink: every record arrives whole, on a line of its own. */
static void sink_shared_by_threads(void **state)
{
    const char *p = fpath("mt.jsonl");
    struct li_sink *s = NULL;
    struct li_record r1 = rec(sv_test_parse(INVITE_A)), r2 = rec(sv_test_parse(OK_A));
    struct writer w[4];
    pthread_t th[4];

    assert_int_equal(li_sink_open(&s, p), 0);
    for (int i = 0; i < 4; i++) {
        w[i] = (struct writer){s, i % 2 ? &r2 : &r1, 0};
        assert_int_equal(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].fails, 0);
    }
    li_sink_close(s);
    expect_verify(p, 0, 160, 0);
}

/*
 * Issue 4 §4: "Kill -9 the process in the middle of a load run: every record that the sink holds
 * is complete, and every request forwarded before the kill has its record." A child writes
 * records (every fifth one 21 KiB, so that some span several pages) and reports each one the
 * sink accepted - the point where it would forward. The parent kills it mid-run, reopens the
 * sink like a restarted node, and checks that the file holds at least the reported records,
 * all complete.
 */
static void sink_kill9_mid_run(void **state)
{
    static char big[7000];
    char msg[28000];
    const char *p = fpath("kill.jsonl");
    int pfd[2];
    pid_t pid;
    unsigned acked = 0, v;

    memset(big, 'k', sizeof(big) - 1);
    snprintf(msg, sizeof(msg), REQ("sip:x@y.net", "<sip:z@y.net>", BIG_PAI BIG_PAI BIG_PAI), big,
             big, big);
    struct li_record rb = rec(sv_test_parse(msg)), rs = rec(sv_test_parse(INVITE_A));
    struct li_sink *s = NULL;
    assert_int_equal(li_sink_open(&s, p), 0);
    assert_int_equal(pipe(pfd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        for (unsigned i = 1;; i++) {
            if (li_sink_write(s, i % 5 ? &rs : &rb) != 0)
                _exit(3);
            if (write(pfd[1], &i, sizeof(i)) != sizeof(i))
                _exit(4);
        }
    }
    close(pfd[1]);
    li_sink_close(s); /* the child has its own copy of the descriptor */
    while (acked < 60 && read(pfd[0], &v, sizeof(v)) == sizeof(v))
        acked = v;
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    while (read(pfd[0], &v, sizeof(v)) == sizeof(v))
        acked = v;
    close(pfd[0]);

    size_t n = 0, line = 0;
    char why[160];
    int e = li_verify_file(p, &n, &line, why, sizeof(why));
    /* at most the record being written when the kill came is incomplete, and only as the last
     * line */
    assert_true(e == 0 || (e == EBADMSG && line == n + 1 && strstr(why, "no newline")));
    assert_true(n >= acked);
    assert_int_equal(li_sink_open(&s, p), 0);
    li_sink_close(s);
    expect_verify(p, 0, n, 0);
}

/* ---- the verifier ----------------------------------------------------------------------- */

#define GOOD                                                                                       \
    "{\"v\":1,\"time\":\"2026-12-04T17:00:00.123Z\",\"node\":\"n\",\"kind\":\"request\","          \
    "\"method\":\"INVITE\",\"call_id\":\"c\",\"pai\":[],\"from\":null,\"ruri\":\"sip:a@b\","       \
    "\"source\":null,\"performed\":[\"id\"]}\n"

/* Each way a line can be wrong is named, with the line, and never quotes the line. */
static void verify_names_the_bad_line(void **state)
{
    static const struct {
        const char *line, *why;
    } bad[] = {
        {"\n", "an empty line"},
        {"{\"v\":1,\"time\":\"2026-12-04T17:00:00.123Z\",\"node\":\"secret\n", "truncated"},
        {"garbage secret\n", "invalid syntax"},
        {"[1]\n", "not a JSON object"},
        {"{\"v\":2}\n", "version 2"},
        {"{\"v\":1,\"v\":1}\n", "a key given twice"},
        {"{\"v\":1,\"secret\":1}\n", "a key that version 1 does not have"},
        {"{\"v\":1,\"time\":\"2026-13-04T17:00:00.123Z\"}\n", "\"time\""},
        {"{\"v\":1,\"time\":\"2026-12-04T17:00:00.123Z\",\"node\":\"n\",\"kind\":\"response\","
         "\"method\":\"INVITE\",\"call_id\":null,\"pai\":[],\"from\":null,\"source\":null,"
         "\"performed\":[]}\n",
         "\"status\""},
        {"{\"v\":1,\"time\":\"2026-12-04T17:00:00.123Z\",\"node\":\"n\",\"kind\":\"request\","
         "\"method\":\"INVITE\",\"call_id\":\"c\",\"pai\":[1],\"from\":null,\"ruri\":\"r\","
         "\"source\":null,\"performed\":[]}\n",
         "\"pai\""},
        {"{\"v\":1,\"time\":\"2026-12-04T17:00:00.123Z\",\"node\":\"n\",\"kind\":\"request\","
         "\"method\":\"INVITE\",\"call_id\":\"c\",\"pai\":[],\"from\":null,\"ruri\":\"r\","
         "\"source\":null,\"performed\":[\"secret\"]}\n",
         "\"performed\""},
        {"{\"v\":1,\"node\":\"\xe9\"}\n", "invalid UTF-8"},
        {"{\"v\":1} {}\n", "text after the end"},
        {"{\"v\":1,\"time\":\"2026-12-04T17:00:00.123Z\",\"node\":\"n\",\"kind\":\"request\","
         "\"method\":\"INVITE\",\"call_id\":\"c\",\"pai\":[],\"from\":null,\"ruri\":\"r\","
         "\"source\":null,\"performed\":[]}",
         "no newline"},
    };
    const char *p = fpath("v.jsonl");
    char text[2048];

    expect_verify(fpath("missing"), ENOENT, 0, 0);
    put_file(p, "", 0600);
    expect_verify(p, 0, 0, 0);
    put_file(p, GOOD GOOD, 0600);
    expect_verify(p, 0, 2, 0);

    for (size_t i = 0; i < SV_ARRAY_SIZE(bad); i++) {
        size_t n = 0, line = 0;
        char why[160];
        /* a line without its newline can only be the last */
        bool last = strstr(bad[i].why, "no newline") != NULL;
        snprintf(text, sizeof(text), GOOD GOOD "%s%s", bad[i].line, last ? "" : GOOD);
        put_file(p, text, 0600);
        int e = li_verify_file(p, &n, &line, why, sizeof(why));
        if (e != EBADMSG || line != 3 || !strstr(why, bad[i].why) || strstr(why, "secret"))
            print_error("case %zu: %d line %zu: %s\n", i, e, line, why);
        assert_int_equal(e, EBADMSG);
        assert_int_equal(n, 2);
        assert_int_equal(line, 3);
        assert_non_null(strstr(why, bad[i].why));
        assert_null(strstr(why, "secret"));
    }
    assert_int_equal(li_verify_file(NULL, NULL, NULL, NULL, 0), EINVAL);
}

/* What the writer writes, the verifier accepts, for every shape of message. */
static void verify_accepts_what_the_writer_writes(void **state)
{
    const char *p = fpath("rt.jsonl");
    struct li_sink *s = NULL;
    char all[256];
    struct li_record r = rec(sv_test_parse(INVITE_A));

    for (int c = 1; c < 256; c++)
        all[c - 1] = (char)c;
    all[255] = '\0';
    assert_int_equal(li_sink_open(&s, p), 0);
    assert_int_equal(li_sink_write(s, &r), 0);
    r.node = all;
    r.source = all;
    r.performed = ~0u;
    r.time_ms = 0; /* now */
    assert_int_equal(li_sink_write(s, &r), 0);
    r = rec(sv_test_parse(OK_A));
    assert_int_equal(li_sink_write(s, &r), 0);
    r = rec(sv_test_parse(REQ("tel:+1234", "<sip:z@y.net>", "")));
    assert_int_equal(li_sink_write(s, &r), 0);
    li_sink_close(s);
    expect_verify(p, 0, 4, 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(r62_match_sip_uri_host_case, dir_setup, dir_teardown),
    cmocka_unit_test_setup_teardown(r62_match_tel_with_separators, dir_setup, dir_teardown),
    cmocka_unit_test_setup_teardown(r62_match_headers_consulted, dir_setup, dir_teardown),
    cmocka_unit_test_setup_teardown(targets_refuse_bad_identities, dir_setup, dir_teardown),
    cmocka_unit_test_setup_teardown(targets_oom_sweep, dir_setup, dir_teardown),
    cmocka_unit_test_setup_teardown(record_exact_bytes, dir_setup, dir_teardown),
    cmocka_unit_test_setup_teardown(record_escaping, dir_setup, dir_teardown),
    cmocka_unit_test_setup_teardown(record_one_line, dir_setup, dir_teardown),
    cmocka_unit_test_setup_teardown(record_keeps_undecodable_pai, dir_setup, dir_teardown),
    cmocka_unit_test_setup_teardown(sink_creates_0600_and_appends, dir_setup, dir_teardown),
    cmocka_unit_test_setup_teardown(sink_refuses_0644, dir_setup, dir_teardown),
    cmocka_unit_test_setup_teardown(sink_refuses_non_files, dir_setup, dir_teardown),
    cmocka_unit_test_setup_teardown(sink_open_cuts_incomplete_tail, dir_setup, dir_teardown),
    cmocka_unit_test_setup_teardown(sink_short_write_leaves_no_partial_record, dir_setup,
                                    dir_teardown),
    cmocka_unit_test_setup_teardown(sink_big_record_and_oom, dir_setup, dir_teardown),
    cmocka_unit_test_setup_teardown(sink_shared_by_threads, dir_setup, dir_teardown),
    cmocka_unit_test_setup_teardown(sink_kill9_mid_run, dir_setup, dir_teardown),
    cmocka_unit_test_setup_teardown(verify_names_the_bad_line, dir_setup, dir_teardown),
    cmocka_unit_test_setup_teardown(verify_accepts_what_the_writer_writes, dir_setup, dir_teardown),
};

SV_TEST_MAIN(tests)
