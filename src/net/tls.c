/**
 * @file tls.c  OpenSSL contexts of the TLS listeners and of outbound connections.
 *
 * The server context presents the listener's certificate chain and, when the listener
 * requires it, asks for and verifies a client certificate against the listener's CA file.
 * The client context verifies the server against its CA file (the system's default store
 * without one) unless verify_peer is off, and presents its own certificate for mutual TLS.
 * Both refuse anything older than TLS 1.2.
 *
 * Name checks: the transport connects to addresses, not names, so a client context checks
 * the chain only. Matching the certificate to the SIP domain (RFC 5922) is left to the layer
 * above, which can read it through net_conn_peer_subject().
 */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include "net_int.h"

static const char *const MODULE = "net";

void net__tls_log_errors(enum sv_log_level lvl, const char *what)
{
    unsigned long e;
    char buf[256];

    while ((e = ERR_get_error()) != 0) {
        if (sv_log_enabled(lvl)) {
            ERR_error_string_n(e, buf, sizeof(buf));
            sv_log_write(lvl, MODULE, "tls: %s: %s", what, buf);
        }
    }
}

/* Load the CA file, or the system's store without one. */
static int load_cas(SSL_CTX *ctx, const char *ca_file)
{
    int ok = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                     : SSL_CTX_set_default_verify_paths(ctx);

    if (ok != 1) {
        net__tls_log_errors(SV_LOG_ERR, ca_file ? "cannot load the CA file" : "no CA store");
        return EINVAL;
    }
    return 0;
}

/* Certificate chain and private key, which must match. */
static int load_cert(SSL_CTX *ctx, const struct net_tls_conf *conf)
{
    if (SSL_CTX_use_certificate_chain_file(ctx, conf->cert_file) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, conf->key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        net__tls_log_errors(SV_LOG_ERR, "cannot load the certificate or its key");
        return EINVAL;
    }
    return 0;
}

static SSL_CTX *ctx_new(const SSL_METHOD *m)
{
    SSL_CTX *ctx = SSL_CTX_new(m);

    if (!ctx) {
        net__tls_log_errors(SV_LOG_ERR, "SSL_CTX_new");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* libevent may retry a write with a buffer at another address. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return ctx;
}

/**
 * The context of a TLS listener.
 * @return 0, EINVAL (a file does not load) or ENOMEM
 */
int net__tls_server_ctx(SSL_CTX **ctxp, const struct net_tls_conf *conf)
{
    static const unsigned char sid_ctx[] = "sipveil";
    SSL_CTX *ctx = ctx_new(TLS_server_method());
    int err;

    if (!ctx)
        return ENOMEM;
    err = load_cert(ctx, conf);
    if (!err && conf->require_client_cert) {
        err = load_cas(ctx, conf->ca_file);
        if (!err && conf->ca_file) {
            STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(conf->ca_file);
            if (names)
                SSL_CTX_set_client_CA_list(ctx, names); /* takes ownership */
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    /* Resumed sessions of verified clients need a session id context, or the handshake fails. */
    if (!err && SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1) != 1)
        err = ENOMEM;
    if (err) {
        SSL_CTX_free(ctx);
        return err;
    }
    *ctxp = ctx;
    return 0;
}

/**
 * The context of outbound connections.
 * @param conf  the first TLS listener's conf, or NULL: verify against the system store
 * @return 0, EINVAL or ENOMEM
 */
int net__tls_client_ctx(SSL_CTX **ctxp, const struct net_tls_conf *conf)
{
    SSL_CTX *ctx = ctx_new(TLS_client_method());
    bool verify = conf ? conf->verify_peer : true;
    int err = 0;

    if (!ctx)
        return ENOMEM;
    if (verify) {
        err = load_cas(ctx, conf ? conf->ca_file : NULL);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    if (!err && conf && conf->cert_file && conf->key_file)
        err = load_cert(ctx, conf);
    if (err) {
        SSL_CTX_free(ctx);
        return err;
    }
    *ctxp = ctx;
    return 0;
}

/**
 * The subject of the peer's certificate in RFC 2253 form, when the handshake verified it:
 * a server whose client must present one, a client that verifies its server.
 * @return a string owned by the caller (sv_free), or NULL
 */
char *net__tls_subject(SSL *ssl)
{
    X509 *x;
    BIO *bio;
    char *s = NULL, *p;
    long n;

    if (!ssl || SSL_get_verify_mode(ssl) == SSL_VERIFY_NONE ||
        SSL_get_verify_result(ssl) != X509_V_OK)
        return NULL;
    x = SSL_get0_peer_certificate(ssl);
    if (!x)
        return NULL;
    bio = BIO_new(BIO_s_mem());
    if (!bio)
        return NULL;
    if (X509_NAME_print_ex(bio, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0) {
        n = BIO_get_mem_data(bio, &p);
        if (n >= 0) {
            s = sv_malloc((size_t)n + 1);
            if (s) {
                memcpy(s, p, (size_t)n);
                s[n] = '\0';
            }
        }
    }
    BIO_free(bio);
    return s;
}
