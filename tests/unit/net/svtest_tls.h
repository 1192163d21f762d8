/**
 * @file svtest_tls.h  A throwaway PKI for the TLS tests, made with the OpenSSL API at test
 * time into a private temporary directory: a trusted CA with a server and a client
 * certificate, and a second, untrusted CA with a server certificate of its own.
 *
 * Keys are P-256 (fast to make); certificates are valid from an hour ago for a day.
 */
#ifndef SVTEST_TLS_H
#define SVTEST_TLS_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "svtest.h"

#define SVT_SERVER_SUBJECT "CN=server.test,O=sipveil test"
#define SVT_CLIENT_SUBJECT "CN=alice.client.test,O=sipveil test"

struct svt_pki {
    char dir[64];
    char ca[96]; /* the trusted CA's certificate */
    char server[96], server_key[96];
    char client[96], client_key[96];
    char rogue_ca[96];             /* another CA, trusted by nobody */
    char rogue[96], rogue_key[96]; /* a server certificate from it */
};

static inline void svt_pki_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(x, ext, -1), 1);
    X509_EXTENSION_free(ext);
}

/* A certificate for @p key named O=sipveil test, CN=@p cn, signed by @p ikey (self if NULL). */
static inline X509 *svt_pki_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey,
                                 bool ca, const char *san)
{
    static long serial = 1;
    X509 *x = X509_new();
    X509_NAME *name;

    assert_non_null(x);
    assert_int_equal(X509_set_version(x, 2), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    assert_int_equal(X509_set_pubkey(x, key), 1);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"sipveil test", -1,
                               -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    assert_int_equal(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name), 1);
    svt_pki_ext(x, issuer ? issuer : x, NID_basic_constraints,
                ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    svt_pki_ext(x, issuer ? issuer : x, NID_key_usage,
                ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
    svt_pki_ext(x, issuer ? issuer : x, NID_subject_key_identifier, "hash");
    svt_pki_ext(x, issuer ? issuer : x, NID_authority_key_identifier, "keyid:always");
    if (!ca)
        svt_pki_ext(x, issuer, NID_ext_key_usage, "serverAuth,clientAuth");
    if (san)
        svt_pki_ext(x, issuer ? issuer : x, NID_subject_alt_name, san);
    assert_true(X509_sign(x, ikey ? ikey : key, EVP_sha256()) > 0);
    return x;
}

static inline void svt_pki_write(const char *path, X509 *x, EVP_PKEY *key)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    if (x)
        assert_int_equal(PEM_write_X509(f, x), 1);
    if (key)
        assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
    assert_int_equal(fclose(f), 0);
}

static inline void svt_pki_path(char *out, size_t sz, const char *dir, const char *name)
{
    assert_true((size_t)snprintf(out, sz, "%s/%s", dir, name) < sz);
}

/** Make the PKI in a new temporary directory. */
static inline void svt_pki_make(struct svt_pki *p)
{
    EVP_PKEY *cak = EVP_EC_gen("P-256"), *sk = EVP_EC_gen("P-256"), *ck = EVP_EC_gen("P-256");
    EVP_PKEY *rcak = EVP_EC_gen("P-256"), *rk = EVP_EC_gen("P-256");
    X509 *ca, *srv, *cli, *rca, *rsrv;

    assert_true(cak && sk && ck && rcak && rk);
    memset(p, 0, sizeof(*p));
    strcpy(p->dir, "/tmp/svtest-pki-XXXXXX");
    assert_non_null(mkdtemp(p->dir));
    svt_pki_path(p->ca, sizeof(p->ca), p->dir, "ca.pem");
    svt_pki_path(p->server, sizeof(p->server), p->dir, "server.pem");
    svt_pki_path(p->server_key, sizeof(p->server_key), p->dir, "server.key");
    svt_pki_path(p->client, sizeof(p->client), p->dir, "client.pem");
    svt_pki_path(p->client_key, sizeof(p->client_key), p->dir, "client.key");
    svt_pki_path(p->rogue_ca, sizeof(p->rogue_ca), p->dir, "rogue-ca.pem");
    svt_pki_path(p->rogue, sizeof(p->rogue), p->dir, "rogue.pem");
    svt_pki_path(p->rogue_key, sizeof(p->rogue_key), p->dir, "rogue.key");

    ca = svt_pki_cert(cak, "sipveil test CA", NULL, NULL, true, NULL);
    srv = svt_pki_cert(sk, "server.test", ca, cak, false, "DNS:server.test,IP:127.0.0.1");
    cli = svt_pki_cert(ck, "alice.client.test", ca, cak, false, "DNS:alice.client.test");
    rca = svt_pki_cert(rcak, "sipveil test CA", NULL, NULL, true, NULL); /* same name, other key */
    rsrv = svt_pki_cert(rk, "server.test", rca, rcak, false, "DNS:server.test,IP:127.0.0.1");

    svt_pki_write(p->ca, ca, NULL);
    svt_pki_write(p->server, srv, NULL);
    svt_pki_write(p->server_key, NULL, sk);
    svt_pki_write(p->client, cli, NULL);
    svt_pki_write(p->client_key, NULL, ck);
    svt_pki_write(p->rogue_ca, rca, NULL);
    svt_pki_write(p->rogue, rsrv, NULL);
    svt_pki_write(p->rogue_key, NULL, rk);

    X509_free(ca);
    X509_free(srv);
    X509_free(cli);
    X509_free(rca);
    X509_free(rsrv);
    EVP_PKEY_free(cak);
    EVP_PKEY_free(sk);
    EVP_PKEY_free(ck);
    EVP_PKEY_free(rcak);
    EVP_PKEY_free(rk);
}

/** Remove the files and the directory. */
static inline void svt_pki_remove(struct svt_pki *p)
{
    const char *files[] = {p->ca,         p->server,   p->server_key, p->client,
                           p->client_key, p->rogue_ca, p->rogue,      p->rogue_key};

    for (size_t i = 0; i < SV_ARRAY_SIZE(files); i++)
        unlink(files[i]);
    rmdir(p->dir);
}

#endif
