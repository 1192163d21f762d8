/**
 * @file test_net_tls.c  TLS on loopback with a PKI made at test time: a server verified by
 * its client, mutual TLS with the client's subject exposed, and the refusals (untrusted
 * server, client without a certificate, no CA configured). Two net instances share one loop:
 * the client instance's first TLS listener supplies its outbound TLS conf (net.h).
 */
#include "svtest_net.h"
#include "svtest_tls.h"

struct tls_env {
    struct svt_pki pki;
    struct event_base *base;
    struct svt_peer srv, cli;
    struct net_addr srv_addr;
};

static int tls_setup(void **state)
{
    struct tls_env *e = calloc(1, sizeof(*e));

    assert_non_null(e);
    svt_pki_make(&e->pki);
    e->base = event_base_new();
    assert_non_null(e->base);
    *state = e;
    return 0;
}

static int tls_teardown(void **state)
{
    struct tls_env *e = *state;

    svt_peer_close(&e->cli);
    svt_peer_close(&e->srv);
    event_base_free(e->base);
    svt_pki_remove(&e->pki);
    free(e);
    return 0;
}

/* The server instance: a TLS listener with the server certificate. */
static void start_server(struct tls_env *e, bool require_client_cert, bool rogue)
{
    struct net_tls_conf conf = {
        .cert_file = rogue ? e->pki.rogue : e->pki.server,
        .key_file = rogue ? e->pki.rogue_key : e->pki.server_key,
        .ca_file = e->pki.ca,
        .verify_peer = true,
        .require_client_cert = require_client_cert,
    };

    svt_peer_init(&e->srv, e->base, NULL);
    e->srv_addr = svt_listen(&e->srv, NET_TLS, "127.0.0.1:0", &conf);
    e->srv.echo = true;
}

/* The client instance: its TLS listener's conf is its outbound conf (CA, and cert for mTLS). */
static void start_client(struct tls_env *e)
{
    struct net_tls_conf conf = {
        .cert_file = e->pki.client,
        .key_file = e->pki.client_key,
        .ca_file = e->pki.ca,
        .verify_peer = true,
    };

    svt_peer_init(&e->cli, e->base, NULL);
    svt_listen(&e->cli, NET_TLS, "127.0.0.1:0", &conf);
}

/* The client verifies the server's chain; the request and its echo go over one connection;
   the client sees the server's verified subject, the server (which asked for no certificate)
   sees none. */
static void tls_server_verified_round_trip(void **state)
{
    struct tls_env *e = *state;
    struct net_flow used;
    char m[512];
    size_t n = svt_request(m, sizeof(m), 1, "over tls");

    start_server(e, false, false);
    start_client(e);
    assert_int_equal(net_send(e->cli.net, NET_TLS, &e->srv_addr, NULL, m, n, &used), 0);
    SVT_UNTIL(e->base, e->cli.nmsgs == 1, 2000);
    assert_int_equal(e->srv.nmsgs, 1);
    assert_int_equal(e->cli.nmsgs, 1);
    sv_test_expect_bytes(e->srv.msgs[0].buf, e->srv.msgs[0].len, m);
    sv_test_expect_bytes(e->cli.msgs[0].buf, e->cli.msgs[0].len, m);
    assert_int_equal(e->srv.msgs[0].flow.tp, NET_TLS);
    assert_int_equal(e->cli.msgs[0].flow.tp, NET_TLS);
    assert_ptr_equal(e->cli.msgs[0].flow.conn, used.conn);
    assert_string_equal(net_conn_peer_subject(used.conn), SVT_SERVER_SUBJECT);
    assert_null(net_conn_peer_subject(e->srv.msgs[0].flow.conn));
    assert_int_equal(e->srv.ncloses + e->cli.ncloses, 0);

    /* A ping over TLS gets its pong; the client instance drops the pong. */
    assert_int_equal(net_send(e->cli.net, NET_TLS, &e->srv_addr, NULL, "\r\n\r\n", 4, NULL), 0);
    SVT_UNTIL(e->base, svt_stats(&e->cli)->rx_bytes == n + 2, 2000);
    assert_int_equal(svt_stats(&e->srv)->keepalives, 1);
    assert_int_equal(svt_stats(&e->cli)->rx_bytes, n + 2);
    assert_int_equal(e->cli.nmsgs, 1);
    assert_true(net_conn_alive(used.conn));
    net_flow_release(&used);
}

/* Mutual TLS: the server requires and verifies the client's certificate and exposes its
   subject in RFC 2253 form; the response goes back on the same connection. */
static void tls_mutual_exposes_peer_subject(void **state)
{
    struct tls_env *e = *state;
    char m[512];
    size_t n = svt_request(m, sizeof(m), 2, "");

    start_server(e, true, false);
    start_client(e);
    assert_int_equal(net_send(e->cli.net, NET_TLS, &e->srv_addr, NULL, m, n, NULL), 0);
    SVT_UNTIL(e->base, e->cli.nmsgs == 1, 2000);
    assert_int_equal(e->srv.nmsgs, 1);
    assert_int_equal(e->cli.nmsgs, 1);
    assert_string_equal(net_conn_peer_subject(e->srv.msgs[0].flow.conn), SVT_CLIENT_SUBJECT);
    assert_string_equal(net_conn_peer_subject(e->cli.msgs[0].flow.conn), SVT_SERVER_SUBJECT);
    assert_int_equal(svt_stats(&e->srv)->conns_accepted, 1);
    assert_int_equal(svt_stats(&e->cli)->conns_open, 1);
}

/* A server whose certificate chains to a CA the client does not trust: the handshake fails,
   closeh says EACCES, nothing is delivered either way. */
static void tls_untrusted_server_cert_fails(void **state)
{
    struct tls_env *e = *state;
    struct net_flow used;
    char m[512];
    size_t n = svt_request(m, sizeof(m), 3, "");

    start_server(e, false, true);
    start_client(e);
    assert_int_equal(net_send(e->cli.net, NET_TLS, &e->srv_addr, NULL, m, n, &used), 0);
    SVT_UNTIL(e->base, e->cli.ncloses == 1 && svt_stats(&e->srv)->conns_open == 0, 2000);
    assert_int_equal(e->cli.ncloses, 1);
    assert_int_equal(e->cli.closes[0].err, EACCES);
    assert_ptr_equal(e->cli.closes[0].conn, used.conn);
    assert_null(net_conn_peer_subject(used.conn));
    assert_int_equal(e->srv.nmsgs, 0);
    assert_int_equal(e->cli.nmsgs, 0);
    net_flow_release(&used);
}

/* Drive @p ssl's handshake (or read) over a non-blocking socket, spinning the loop meanwhile.
   @return what SSL_connect / SSL_read last returned */
static int raw_tls_step(struct event_base *base, SSL *ssl, bool handshake, char *buf, size_t sz)
{
    uint64_t deadline = svt_now() + 2000;
    int r;

    for (;;) {
        r = handshake ? SSL_connect(ssl) : SSL_read(ssl, buf, (int)sz);
        if (r > 0 || svt_now() > deadline)
            return r;
        int e = SSL_get_error(ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            return r;
        svt_spin(base);
    }
}

/* A server that requires a client certificate refuses a client that has none to give (a raw
   OpenSSL client: a net instance always presents its listener's certificate). */
static void tls_missing_client_cert_refused(void **state)
{
    struct tls_env *e = *state;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl;
    char m[512], buf[512];
    size_t n = svt_request(m, sizeof(m), 4, "");
    int fd, r;

    start_server(e, true, false);
    svt_peer_init(&e->cli, e->base, NULL);
    assert_non_null(ctx);
    assert_int_equal(SSL_CTX_load_verify_locations(ctx, e->pki.ca, NULL), 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    ssl = SSL_new(ctx);
    assert_non_null(ssl);
    fd = svt_tcp_connect(&e->srv_addr);
    assert_int_equal(SSL_set_fd(ssl, fd), 1);
    /* TLS 1.3: the client's handshake ends before the server has judged it; the refusal
       comes as an alert on the first read. TLS 1.2: the handshake itself fails. */
    r = raw_tls_step(e->base, ssl, true, NULL, 0);
    if (r == 1) {
        SSL_write(ssl, m, (int)n);
        r = raw_tls_step(e->base, ssl, false, buf, sizeof(buf));
    }
    assert_true(r <= 0);
    SVT_UNTIL(e->base, e->srv.ncloses == 1, 2000);
    assert_int_equal(e->srv.ncloses, 1);
    assert_int_equal(e->srv.closes[0].err, EACCES);
    assert_int_equal(e->srv.nmsgs, 0);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
}

/* A client certificate from a CA the server does not trust: refused (EACCES on the server). */
static void tls_untrusted_client_cert_refused(void **state)
{
    struct tls_env *e = *state;
    struct net_tls_conf conf = {
        .cert_file = e->pki.rogue,
        .key_file = e->pki.rogue_key,
        .ca_file = e->pki.ca,
        .verify_peer = true,
    };
    char m[512];
    size_t n = svt_request(m, sizeof(m), 5, "");

    start_server(e, true, false);
    svt_peer_init(&e->cli, e->base, NULL);
    svt_listen(&e->cli, NET_TLS, "127.0.0.1:0", &conf);
    assert_int_equal(net_send(e->cli.net, NET_TLS, &e->srv_addr, NULL, m, n, NULL), 0);
    SVT_UNTIL(e->base, e->srv.ncloses == 1 && e->cli.ncloses == 1, 2000);
    assert_int_equal(e->srv.ncloses, 1);
    assert_int_equal(e->srv.closes[0].err, EACCES);
    assert_int_equal(e->cli.ncloses, 1);
    assert_int_equal(e->srv.nmsgs, 0);
    assert_int_equal(e->cli.nmsgs, 0);
}

/* Without any TLS listener, outbound TLS verifies against the system's CA store, which does
   not know the test CA: EACCES. Verification is on by default. */
static void tls_default_client_verifies_with_system_store(void **state)
{
    struct tls_env *e = *state;
    char m[512];
    size_t n = svt_request(m, sizeof(m), 5, "");

    start_server(e, false, false);
    svt_peer_init(&e->cli, e->base, NULL);
    assert_int_equal(net_send(e->cli.net, NET_TLS, &e->srv_addr, NULL, m, n, NULL), 0);
    SVT_UNTIL(e->base, e->cli.ncloses == 1, 2000);
    assert_int_equal(e->cli.ncloses, 1);
    assert_int_equal(e->cli.closes[0].err, EACCES);
    assert_int_equal(e->srv.nmsgs, 0);
}

/* verify_peer off: the untrusted server is accepted, but no subject is exposed (it is not
   verified). */
static void tls_verify_off_exposes_no_subject(void **state)
{
    struct tls_env *e = *state;
    struct net_tls_conf conf = {
        .cert_file = e->pki.client,
        .key_file = e->pki.client_key,
        .ca_file = e->pki.ca,
        .verify_peer = false,
    };
    char m[512];
    size_t n = svt_request(m, sizeof(m), 6, "");

    start_server(e, false, true);
    svt_peer_init(&e->cli, e->base, NULL);
    svt_listen(&e->cli, NET_TLS, "127.0.0.1:0", &conf);
    assert_int_equal(net_send(e->cli.net, NET_TLS, &e->srv_addr, NULL, m, n, NULL), 0);
    SVT_UNTIL(e->base, e->cli.nmsgs == 1, 2000);
    assert_int_equal(e->cli.nmsgs, 1);
    assert_null(net_conn_peer_subject(e->cli.msgs[0].flow.conn));
}

/* A TLS connect to a port where nobody listens: closeh gets the socket's errno. */
static void tls_connect_refused_reports_errno(void **state)
{
    struct tls_env *e = *state;
    struct net_addr dst;

    start_server(e, false, false);
    dst = e->srv_addr;
    net_free(e->srv.net); /* the port was just free: nobody listens */
    e->srv.net = NULL;
    svt_run_for(e->base, 10);
    start_client(e);
    assert_int_equal(net_send(e->cli.net, NET_TLS, &dst, NULL, "x", 1, NULL), 0);
    SVT_UNTIL(e->base, e->cli.ncloses == 1, 2000);
    assert_int_equal(e->cli.ncloses, 1);
    assert_int_equal(e->cli.closes[0].err, ECONNREFUSED);
}

/* A peer that connects and never starts the handshake is closed after header_timeout_ms. */
static void tls_handshake_timeout_closes(void **state)
{
    struct tls_env *e = *state;
    struct net_limits lim = {.header_timeout_ms = 100};
    struct net_tls_conf conf = {.cert_file = e->pki.server, .key_file = e->pki.server_key};
    uint64_t t0 = svt_now();
    int fd;

    svt_peer_init(&e->srv, e->base, &lim);
    e->srv_addr = svt_listen(&e->srv, NET_TLS, "127.0.0.1:0", &conf);
    fd = svt_tcp_connect(&e->srv_addr);
    svt_expect_eof(e->base, fd, 2000);
    assert_true(svt_now() - t0 >= 95);
    assert_int_equal(e->srv.ncloses, 1);
    assert_int_equal(e->srv.closes[0].err, ETIMEDOUT);
    assert_int_equal(svt_stats(&e->srv)->conns_timed_out, 1);
    close(fd);
}

/* A TLS listener needs a certificate and key that load and match. */
static void tls_listen_rejects_bad_conf(void **state)
{
    struct tls_env *e = *state;
    struct net_addr any;
    struct net_tls_conf conf = {.cert_file = e->pki.server, .key_file = e->pki.server_key};

    svt_peer_init(&e->srv, e->base, NULL);
    svt_peer_init(&e->cli, e->base, NULL);
    assert_int_equal(net_addr_parse(&any, "127.0.0.1:0"), 0);
    assert_int_equal(net_listen(e->srv.net, NET_TLS, &any, NULL, NULL), -EINVAL);
    conf.key_file = NULL;
    assert_int_equal(net_listen(e->srv.net, NET_TLS, &any, &conf, NULL), -EINVAL);
    conf.key_file = e->pki.client_key; /* not the server certificate's key */
    assert_int_equal(net_listen(e->srv.net, NET_TLS, &any, &conf, NULL), -EINVAL);
    conf.key_file = e->pki.server_key;
    conf.cert_file = "/nonexistent/server.pem";
    assert_int_equal(net_listen(e->srv.net, NET_TLS, &any, &conf, NULL), -EINVAL);
    conf.cert_file = e->pki.server;
    conf.ca_file = "/nonexistent/ca.pem";
    conf.require_client_cert = true;
    assert_int_equal(net_listen(e->srv.net, NET_TLS, &any, &conf, NULL), -EINVAL);
    conf.ca_file = e->pki.ca;
    assert_int_equal(net_listen(e->srv.net, NET_TLS, &any, &conf, NULL), 0);
}

/* Each case spelled out: CMake reads the names from this list. */
static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(tls_server_verified_round_trip, tls_setup, tls_teardown),
    cmocka_unit_test_setup_teardown(tls_mutual_exposes_peer_subject, tls_setup, tls_teardown),
    cmocka_unit_test_setup_teardown(tls_untrusted_server_cert_fails, tls_setup, tls_teardown),
    cmocka_unit_test_setup_teardown(tls_missing_client_cert_refused, tls_setup, tls_teardown),
    cmocka_unit_test_setup_teardown(tls_untrusted_client_cert_refused, tls_setup, tls_teardown),
    cmocka_unit_test_setup_teardown(tls_default_client_verifies_with_system_store, tls_setup,
                                    tls_teardown),
    cmocka_unit_test_setup_teardown(tls_verify_off_exposes_no_subject, tls_setup, tls_teardown),
    cmocka_unit_test_setup_teardown(tls_connect_refused_reports_errno, tls_setup, tls_teardown),
    cmocka_unit_test_setup_teardown(tls_handshake_timeout_closes, tls_setup, tls_teardown),
    cmocka_unit_test_setup_teardown(tls_listen_rejects_bad_conf, tls_setup, tls_teardown),
};

SV_TEST_MAIN(tests)
