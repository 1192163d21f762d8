/**
 * @file test_admin.c  The admin listener (app/admin.c): the Prometheus text of a snapshot is a
 * well-formed exposition (every line a HELP, a TYPE or a sample; HELP and TYPE once per family,
 * before its samples; samples of a family together; counters named *_total; label values
 * escaped) with the values of the snapshot; and the HTTP side on a real event_base and socket:
 * /metrics, /health, 404, 405, a collector failure, bind errors.
 */
#include "svtest.h"
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sipveil/sip.h>
#include "admin.h"

/* ---- a snapshot with recognisable values ---- */

static struct app_node_counters test_nodes[2];

static void fill(struct app_counters *c)
{
    memset(c, 0, sizeof(*c));
    memset(test_nodes, 0, sizeof(test_nodes));
    c->workers = 4;
    c->net.rx_msgs = 100;
    c->net.tx_bytes = 123456;
    c->net.dropped_oversize = 9;
    c->net.dropped_malformed = 8;
    c->net.conns_open = 2;
    c->unanswered_malformed = 11;
    test_nodes[0].name = "pcscf";
    test_nodes[0].role = "pcscf";
    test_nodes[0].px.req_in[SIP_METHOD_INVITE] = 7;
    test_nodes[0].px.req_in[SIP_METHOD_OTHER] = 1;
    test_nodes[0].px.resp_out[4] = 6;
    test_nodes[0].px.rejects[PROXY_REJ_483] = 3;
    test_nodes[0].txn.live = 5;
    test_nodes[0].txn.created = 50;
    /* Not a valid node name, but the format must hold whatever the name. */
    test_nodes[1].name = "we\"ird\\one\n";
    test_nodes[1].role = "proxy";
    test_nodes[1].px.overload_503 = 12;
    c->nnodes = 2;
    c->nodes = test_nodes;
}

static char *format_text(const struct app_counters *c)
{
    struct evbuffer *b = evbuffer_new();
    size_t n;
    char *text;

    assert_non_null(b);
    assert_int_equal(app_metrics_format(c, b), 0);
    n = evbuffer_get_length(b);
    text = malloc(n + 1);
    assert_non_null(text);
    assert_int_equal(evbuffer_remove(b, text, n), (int)n);
    text[n] = '\0';
    evbuffer_free(b);
    return text;
}

/* ---- a checker of the text exposition format 0.0.4 ---- */

#define NAME "[a-zA-Z_:][a-zA-Z0-9_:]*"
#define LABEL "[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\n]|\\\\[\\\\\"n])*\""

struct family {
    char name[96];
    bool help, type, samples_done;
};

/*
 * Check @p text line by line; fail with the line on the first fault.
 * @return the number of samples
 */
static size_t check_exposition(char *text)
{
    regex_t help, type, sample;
    struct family fam[64];
    size_t nfam = 0, nsamples = 0;
    struct family *cur = NULL;
    char *save = NULL;

    assert_int_equal(regcomp(&help, "^# HELP (" NAME ") [^\n]+$", REG_EXTENDED), 0);
    assert_int_equal(regcomp(&type, "^# TYPE (" NAME ") (counter|gauge)$", REG_EXTENDED), 0);
    assert_int_equal(
        regcomp(&sample, "^(" NAME ")(\\{" LABEL "(," LABEL ")*\\})? [0-9]+$", REG_EXTENDED), 0);
    assert_true(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        regmatch_t m[2];
        char name[96];
        bool is_help = regexec(&help, line, 2, m, 0) == 0;
        bool is_type = !is_help && regexec(&type, line, 2, m, 0) == 0;
        bool is_sample = !is_help && !is_type && regexec(&sample, line, 2, m, 0) == 0;

        if (!is_help && !is_type && !is_sample) {
            print_error("not an exposition line: '%s'\n", line);
            fail();
        }
        assert_true(m[1].rm_eo - m[1].rm_so < (regoff_t)sizeof(name));
        snprintf(name, sizeof(name), "%.*s", (int)(m[1].rm_eo - m[1].rm_so), line + m[1].rm_so);
        if (is_help || is_type) {
            struct family *f = NULL;
            for (size_t i = 0; i < nfam; i++)
                if (strcmp(fam[i].name, name) == 0)
                    f = &fam[i];
            if (!f) {
                assert_true(nfam < SV_ARRAY_SIZE(fam));
                f = &fam[nfam++];
                memset(f, 0, sizeof(*f));
                snprintf(f->name, sizeof(f->name), "%s", name);
            }
            if ((is_help && f->help) || (is_type && f->type) || f->samples_done) {
                print_error("HELP or TYPE of %s again, or after its samples: '%s'\n", name, line);
                fail();
            }
            if (cur && cur != f)
                cur->samples_done = true;
            cur = f;
            f->help |= is_help;
            f->type |= is_type;
            if (is_type && strstr(line, " counter"))
                assert_non_null(strstr(name, "_total"));
        } else {
            if (!cur || strcmp(cur->name, name) != 0 || !cur->help || !cur->type) {
                print_error("sample outside its family (after its HELP and TYPE): '%s'\n", line);
                fail();
            }
            nsamples++;
        }
    }
    for (size_t i = 0; i < nfam; i++)
        assert_true(fam[i].help && fam[i].type);
    regfree(&help);
    regfree(&type);
    regfree(&sample);
    return nsamples;
}

static void expect_sample(const char *text, const char *line)
{
    char want[512];

    snprintf(want, sizeof(want), "\n%s\n", line);
    if (!strstr(text, want)) {
        print_error("no line '%s' in:\n%s\n", line, text);
        fail();
    }
}

/* ---- the format ---- */

static void metrics_format_wellformed(void **state)
{
    struct app_counters c;
    char *text, *copy;
    size_t nsamples;

    fill(&c);
    text = format_text(&c);
    copy = strdup(text);
    assert_non_null(copy);
    nsamples = check_exposition(copy);
    free(copy);
    /* Per node: every method, six classes twice, every reject code, the plain families. */
    assert_true(nsamples > 2 * (SIP_METHOD__N + 12 + PROXY_REJ__N));

    expect_sample(text, "sipveil_workers 4");
    expect_sample(text, "sipveil_net_received_messages_total 100");
    expect_sample(text, "sipveil_net_sent_bytes_total 123456");
    expect_sample(text, "sipveil_net_dropped_messages_total{reason=\"oversize\"} 9");
    expect_sample(text, "sipveil_net_dropped_messages_total{reason=\"malformed\"} 8");
    expect_sample(text, "sipveil_connections_open 2");
    expect_sample(text, "sipveil_malformed_unanswered_total 11");
    expect_sample(text,
                  "sipveil_requests_total{node=\"pcscf\",role=\"pcscf\",method=\"INVITE\"} 7");
    expect_sample(text, "sipveil_requests_total{node=\"pcscf\",role=\"pcscf\",method=\"OTHER\"} 1");
    expect_sample(text, "sipveil_requests_total{node=\"pcscf\",role=\"pcscf\",method=\"BYE\"} 0");
    expect_sample(text,
                  "sipveil_responses_sent_total{node=\"pcscf\",role=\"pcscf\",class=\"4xx\"} 6");
    expect_sample(text, "sipveil_rejects_total{node=\"pcscf\",role=\"pcscf\",code=\"483\","
                        "reason=\"too_many_hops\"} 3");
    expect_sample(text, "sipveil_transactions_live{node=\"pcscf\",role=\"pcscf\"} 5");
    expect_sample(text, "sipveil_transactions_created_total{node=\"pcscf\",role=\"pcscf\"} 50");
    expect_sample(text, "sipveil_overload_rejects_total{node=\"we\\\"ird\\\\one\\n\","
                        "role=\"proxy\"} 12");
    expect_sample(text, "# TYPE sipveil_transactions_live gauge");
    expect_sample(text, "# TYPE sipveil_requests_total counter");
    free(text);
}

static void metrics_format_no_nodes(void **state)
{
    struct app_counters c;
    struct evbuffer *b = evbuffer_new();
    char *text;

    memset(&c, 0, sizeof(c));
    text = format_text(&c);
    /* The families are there, with the process's samples only. */
    assert_true(check_exposition(text) > 0);
    free(text);

    c.nnodes = 1; /* and no array */
    assert_non_null(b);
    assert_int_equal(app_metrics_format(&c, b), EINVAL);
    evbuffer_free(b);
}

/* ---- HTTP ---- */

struct collector {
    int err;
    unsigned calls;
    struct app_counters c;
};

static int collect(void *arg, struct app_counters *c)
{
    struct collector *col = arg;

    col->calls++;
    if (col->err)
        return col->err;
    fill(&col->c);
    *c = col->c;
    return 0;
}

struct reply {
    bool done;
    int code;
    char ctype[128];
    char allow[64];
    char *body;
};

static void on_reply(struct evhttp_request *req, void *arg)
{
    struct reply *r = arg;
    struct evbuffer *b;
    const char *h;
    size_t n;

    r->done = true;
    if (!req)
        return; /* connection failed: code stays 0 */
    r->code = evhttp_request_get_response_code(req);
    h = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    snprintf(r->ctype, sizeof(r->ctype), "%s", h ? h : "");
    h = evhttp_find_header(evhttp_request_get_input_headers(req), "Allow");
    snprintf(r->allow, sizeof(r->allow), "%s", h ? h : "");
    b = evhttp_request_get_input_buffer(req);
    n = evbuffer_get_length(b);
    r->body = malloc(n + 1);
    if (r->body) {
        evbuffer_remove(b, r->body, n);
        r->body[n] = '\0';
    }
}

/* Make one request to 127.0.0.1:@p port and run the loop until its reply (or a failure). */
static void fetch(struct event_base *base, uint16_t port, enum evhttp_cmd_type cmd,
                  const char *path, struct reply *r)
{
    struct evhttp_connection *conn = evhttp_connection_base_new(base, NULL, "127.0.0.1", port);
    struct evhttp_request *req = evhttp_request_new(on_reply, r);

    memset(r, 0, sizeof(*r));
    assert_non_null(conn);
    assert_non_null(req);
    evhttp_connection_set_timeout(conn, 5);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Host", "127.0.0.1");
    assert_int_equal(evhttp_make_request(conn, req, cmd, path), 0);
    while (!r->done)
        assert_true(event_base_loop(base, EVLOOP_ONCE) >= 0);
    evhttp_connection_free(conn);
}

static void admin_http(void **state)
{
    struct event_base *base = event_base_new();
    struct collector col = {0};
    struct app_admin *a = NULL;
    struct net_addr bound;
    struct reply r;
    uint16_t port;
    char *copy;

    assert_non_null(base);
    assert_int_equal(app_admin_alloc(&a, base, "127.0.0.1:0", collect, &col, &bound), 0);
    port = net_addr_port(&bound);
    assert_true(port != 0);

    fetch(base, port, EVHTTP_REQ_GET, "/metrics", &r);
    assert_int_equal(r.code, 200);
    assert_string_equal(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(r.body);
    expect_sample(r.body, "sipveil_workers 4");
    copy = strdup(r.body);
    assert_non_null(copy);
    assert_true(check_exposition(copy) > 0);
    free(copy);
    free(r.body);
    assert_int_equal(col.calls, 1);

    fetch(base, port, EVHTTP_REQ_GET, "/metrics?name[]=x", &r); /* a query is ignored */
    assert_int_equal(r.code, 200);
    free(r.body);

    fetch(base, port, EVHTTP_REQ_GET, "/health", &r);
    assert_int_equal(r.code, 200);
    assert_string_equal(r.body, "ok\n");
    free(r.body);
    assert_int_equal(col.calls, 2); /* health does not collect */

    fetch(base, port, EVHTTP_REQ_HEAD, "/metrics", &r);
    assert_int_equal(r.code, 200);
    assert_string_equal(r.body, "");
    free(r.body);

    fetch(base, port, EVHTTP_REQ_GET, "/", &r);
    assert_int_equal(r.code, 404);
    free(r.body);
    fetch(base, port, EVHTTP_REQ_GET, "/metrics/x", &r);
    assert_int_equal(r.code, 404);
    free(r.body);

    fetch(base, port, EVHTTP_REQ_POST, "/metrics", &r);
    assert_int_equal(r.code, 405);
    assert_string_equal(r.allow, "GET, HEAD");
    free(r.body);
    fetch(base, port, EVHTTP_REQ_DELETE, "/health", &r);
    assert_int_equal(r.code, 405);
    free(r.body);

    col.err = EIO;
    fetch(base, port, EVHTTP_REQ_GET, "/metrics", &r);
    assert_int_equal(r.code, 500);
    free(r.body);

    app_admin_free(a);
    event_base_free(base);
}

static void admin_alloc_errors(void **state)
{
    struct event_base *base = event_base_new();
    struct app_admin *a = NULL, *b = NULL;
    struct net_addr bound;
    char addr[64];

    assert_non_null(base);
    assert_int_equal(app_admin_alloc(&a, base, "localhost:9090", collect, NULL, NULL), EINVAL);
    assert_int_equal(app_admin_alloc(&a, base, "127.0.0.1", collect, NULL, NULL), EINVAL);
    assert_int_equal(app_admin_alloc(&a, base, "127.0.0.1:0", NULL, NULL, NULL), EINVAL);
    assert_null(a);

    /* A port in use is the bind's errno, and *ap stays untouched. */
    assert_int_equal(app_admin_alloc(&a, base, "127.0.0.1:0", collect, NULL, &bound), 0);
    net_addr_str(&bound, addr, sizeof(addr));
    assert_int_equal(app_admin_alloc(&b, base, addr, collect, NULL, NULL), EADDRINUSE);
    assert_null(b);
    app_admin_free(a);
    app_admin_free(NULL);

    /* IPv6 loopback, where the machine has it. */
    if (app_admin_alloc(&a, base, "[::1]:0", collect, NULL, &bound) == 0) {
        assert_int_equal(bound.ss.ss_family, AF_INET6);
        app_admin_free(a);
    }
    event_base_free(base);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(metrics_format_wellformed),
    cmocka_unit_test(metrics_format_no_nodes),
    cmocka_unit_test(admin_http),
    cmocka_unit_test(admin_alloc_errors),
};

SV_TEST_MAIN(tests)
