/**
 * @file lab.c  The all-in-one lab: what `sipveil run` starts without --config (DESIGN.md, "The
 * all-in-one lab"). Its ports, names and passwords are a public contract: docs/lab.md and the
 * tests rely on them.
 *
 * Four nodes on 127.0.0.1 in one process, one worker (the nodes trust each other by port, and
 * one worker sends from its listeners' own ports):
 *   P-CSCF 5060 udp/tcp (UEs), 5061 tls (UEs), 5070 udp/tcp (the core side, its Path)
 *   I-CSCF 4060 udp/tcp (core), 5090 udp/tcp (the edge's external face)
 *   S-CSCF 6060 udp/tcp (core)
 *   AS     7060 udp/tcp (core): carol's identity blocking (TC-04)
 *   PS     5065 udp/tcp (core): the Presence Server; XCAP for the pres-rules on 8080 (HTTP)
 * Home domain ims.example; outside.example goes out through the edge to 127.0.0.1:5099.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lab.h"

const char app_lab_config[] =
    "# The sipveil all-in-one lab (docs/lab.md). `sipveil run` with no --config runs this.\n"
    "workers: 1\n"
    "store: var/sipveil.db\n"
    "xcap:\n"
    "  listen: \"127.0.0.1:8080\"\n"
    "  realm: ims.example\n"
    "li:\n"
    "  sink: var/li.jsonl\n"
    "  targets: \"sip:carol@ims.example\"\n"
    "nodes:\n"
    "  - name: pcscf\n"
    "    role: pcscf\n"
    "    domain: ims.example\n"
    "    listeners:\n"
    "      - {transport: udp, address: \"127.0.0.1:5060\", face: ue}\n"
    "      - {transport: tcp, address: \"127.0.0.1:5060\", face: ue}\n"
    "      - transport: tls\n"
    "        address: \"127.0.0.1:5061\"\n"
    "        face: ue\n"
    "        tls: {cert: var/tls/pcscf.crt, key: var/tls/pcscf.key, ca: var/tls/ca.crt,\n"
    "              verify_peer: false}\n"
    "      - {transport: udp, address: \"127.0.0.1:5070\", face: core}\n"
    "      - {transport: tcp, address: \"127.0.0.1:5070\", face: core}\n"
    "    routes:\n"
    "      - {match: default, next_hop: \"udp:127.0.0.1:4060\"}\n"
    "    peers:\n"
    "      - {address: 127.0.0.1, port: 4060, trusted: true}\n"
    "      - {address: 127.0.0.1, port: 6060, trusted: true}\n"
    "      - {address: 127.0.0.1, port: 7060, trusted: true}\n"
    "      - {address: 127.0.0.1, port: 5065, trusted: true}\n"
    "    ims: {enabled: true, uri: \"sip:127.0.0.1:5070\"}\n"
    "  - name: icscf\n"
    "    role: icscf\n"
    "    domain: ims.example\n"
    "    listeners:\n"
    "      - {transport: udp, address: \"127.0.0.1:4060\", face: core}\n"
    "      - {transport: tcp, address: \"127.0.0.1:4060\", face: core}\n"
    "      - {transport: udp, address: \"127.0.0.1:5090\", face: external}\n"
    "      - {transport: tcp, address: \"127.0.0.1:5090\", face: external}\n"
    "    routes:\n"
    "      - {match: domain, value: outside.example, next_hop: \"udp:127.0.0.1:5099\"}\n"
    "    peers:\n"
    "      - {address: 127.0.0.1, port: 5070, trusted: true}\n"
    "      - {address: 127.0.0.1, port: 6060, trusted: true}\n"
    "      - {address: 127.0.0.1, port: 7060, trusted: true}\n"
    "      - {address: 127.0.0.1, port: 5065, trusted: true}\n"
    "    ims: {enabled: true, uri: \"sip:127.0.0.1:4060\", default_scscf: \"sip:127.0.0.1:6060\"}\n"
    "  - name: scscf\n"
    "    role: scscf\n"
    "    domain: ims.example\n"
    "    listeners:\n"
    "      - {transport: udp, address: \"127.0.0.1:6060\", face: core}\n"
    "      - {transport: tcp, address: \"127.0.0.1:6060\", face: core}\n"
    "    routes:\n"
    "      - {match: default, next_hop: \"udp:127.0.0.1:4060\"}\n"
    "    peers:\n"
    "      - {address: 127.0.0.1, port: 5070, trusted: true}\n"
    "      - {address: 127.0.0.1, port: 4060, trusted: true}\n"
    "      - {address: 127.0.0.1, port: 7060, trusted: true}\n"
    "      - {address: 127.0.0.1, port: 5065, trusted: true}\n"
    "    ims: {enabled: true, uri: \"sip:127.0.0.1:6060\"}\n"
    "  - name: as\n"
    "    role: as\n"
    "    domain: ims.example\n"
    "    listeners:\n"
    "      - {transport: udp, address: \"127.0.0.1:7060\", face: core}\n"
    "      - {transport: tcp, address: \"127.0.0.1:7060\", face: core}\n"
    "    peers:\n"
    "      - {address: 127.0.0.1, port: 6060, trusted: true}\n"
    "    privacy: {perform_user: true}\n"
    "    ims: {enabled: true, uri: \"sip:127.0.0.1:7060\"}\n"
    "  - name: ps\n"
    "    role: ps\n"
    "    domain: ims.example\n"
    "    listeners:\n"
    "      - {transport: udp, address: \"127.0.0.1:5065\", face: core}\n"
    "      - {transport: tcp, address: \"127.0.0.1:5065\", face: core}\n"
    "    peers:\n"
    "      - {address: 127.0.0.1, port: 6060, trusted: true}\n"
    "      - {address: 127.0.0.1, port: 4060, trusted: true}\n"
    "      - {address: 127.0.0.1, port: 5070, trusted: true}\n"
    "    ims: {enabled: true, uri: \"sip:127.0.0.1:5065\"}\n";

const char app_lab_subscribers[] =
    "# The lab's demo subscribers (DESIGN.md). Imported into an empty store at first start.\n"
    "subscribers:\n"
    "  - impi: alice@ims.example\n"
    "    password: alice-pw\n"
    "    sets:\n"
    "      - impus:\n"
    "          - {uri: \"sip:alice@ims.example\", display: \"Alice Liddell\"}\n"
    "          - \"tel:+15551000001\"\n"
    "    ifc:\n"
    "      - {event: presence, case: term, as: \"sip:127.0.0.1:5065\", priority: 10}\n"
    "      - {event: presence.winfo, case: term, as: \"sip:127.0.0.1:5065\", priority: 11}\n"
    "      - {method: PUBLISH, case: term, as: \"sip:127.0.0.1:5065\", priority: 12}\n"
    "  - impi: bob@ims.example\n"
    "    password: bob-pw\n"
    "    sets:\n"
    "      - impus: [\"sip:bob@ims.example\", \"tel:+15551000002\"]\n"
    "      - impus: [{uri: \"sip:blue-fox@ims.example\", pseudonym: true}]\n"
    "    ifc:\n"
    "      - {event: presence, case: term, as: \"sip:127.0.0.1:5065\", priority: 10}\n"
    "      - {event: presence.winfo, case: term, as: \"sip:127.0.0.1:5065\", priority: 11}\n"
    "      - {method: PUBLISH, case: term, as: \"sip:127.0.0.1:5065\", priority: 12}\n"
    "  - impi: carol@ims.example\n"
    "    password: carol-pw\n"
    "    identity_blocking: true\n"
    "    user_by_policy: true\n"
    "    sets:\n"
    "      - impus: [\"sip:carol@ims.example\"]\n"
    "    ifc:\n"
    "      - {method: INVITE, case: orig, as: \"sip:127.0.0.1:7060\", priority: 1}\n"
    "      - {method: MESSAGE, case: orig, as: \"sip:127.0.0.1:7060\", priority: 2}\n"
    "      - {event: presence, case: term, as: \"sip:127.0.0.1:5065\", priority: 10}\n"
    "      - {event: presence.winfo, case: term, as: \"sip:127.0.0.1:5065\", priority: 11}\n"
    "      - {method: PUBLISH, case: term, as: \"sip:127.0.0.1:5065\", priority: 12}\n"
    "  - impi: dave@ims.example\n"
    "    aka: {k: 465b5ce8b199b49faa5f0a2ee238a6bc, op: cdc202d5123e20f62b6d676ac72cb318,\n"
    "          amf: \"8000\", sqn: 0}\n"
    "    sets:\n"
    "      - impus: [\"sip:dave@ims.example\"]\n"
    "    ifc:\n"
    "      - {event: presence, case: term, as: \"sip:127.0.0.1:5065\", priority: 10}\n"
    "      - {event: presence.winfo, case: term, as: \"sip:127.0.0.1:5065\", priority: 11}\n"
    "      - {method: PUBLISH, case: term, as: \"sip:127.0.0.1:5065\", priority: 12}\n";

/* ---------------------------------------------------------------------------------------- */
/* First start                                                                                */

#include <sys/stat.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sipveil/core.h>
#include <sipveil/store.h>
#include "app.h"

#define MOD "lab"
#define TLS_DIR "var/tls"
#define CERT_DAYS 825

static EVP_PKEY *key_make(void)
{
    return EVP_EC_gen("P-256");
}

static int pem_write(const char *path, mode_t mode, EVP_PKEY *key, X509 *crt)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    FILE *f;
    int ok;

    if (fd < 0)
        return errno;
    if (!(f = fdopen(fd, "w"))) {
        close(fd);
        return errno;
    }
    ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
             : PEM_write_X509(f, crt);
    if (fclose(f) || !ok)
        return EIO;
    return 0;
}

static bool ext_add(X509 *crt, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;

    X509V3_set_ctx(&ctx, issuer, crt, NULL, NULL, 0);
    if (!(ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)))
        return false;
    bool ok = X509_add_ext(crt, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

/* A certificate for @p cn signed by @p ca_key (self-signed when @p ca is NULL). */
static X509 *cert_make(const char *cn, EVP_PKEY *key, X509 *ca, EVP_PKEY *ca_key, long serial)
{
    X509 *crt = X509_new();
    X509_NAME *name;
    bool ok;

    if (!crt)
        return NULL;
    name = X509_get_subject_name(crt);
    ok = X509_set_version(crt, 2) && ASN1_INTEGER_set(X509_get_serialNumber(crt), serial) &&
         X509_gmtime_adj(X509_getm_notBefore(crt), -3600) &&
         X509_gmtime_adj(X509_getm_notAfter(crt), 60L * 60 * 24 * CERT_DAYS) &&
         X509_set_pubkey(crt, key) &&
         X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"sipveil lab",
                                    -1, -1, 0) &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                    0) &&
         X509_set_issuer_name(crt, ca ? X509_get_subject_name(ca) : name);
    if (ok && !ca)
        ok = ext_add(crt, crt, NID_basic_constraints, "critical,CA:TRUE") &&
             ext_add(crt, crt, NID_key_usage, "critical,keyCertSign,cRLSign");
    if (ok && ca)
        ok = ext_add(crt, ca, NID_basic_constraints, "critical,CA:FALSE") &&
             ext_add(crt, ca, NID_subject_alt_name, "DNS:pcscf.ims.example,IP:127.0.0.1") &&
             ext_add(crt, ca, NID_ext_key_usage, "serverAuth,clientAuth");
    if (ok)
        ok = X509_sign(crt, ca_key, EVP_sha256()) > 0;
    if (!ok) {
        X509_free(crt);
        return NULL;
    }
    return crt;
}

/* The demo CA and the P-CSCF's certificate, once. The CA's key is thrown away: nothing else is
 * ever signed by it. */
static int tls_make(void)
{
    struct stat st;
    EVP_PKEY *ca_key = NULL, *key = NULL;
    X509 *ca = NULL, *crt = NULL;
    int err = EIO;

    if (stat(TLS_DIR "/pcscf.crt", &st) == 0 && stat(TLS_DIR "/pcscf.key", &st) == 0 &&
        stat(TLS_DIR "/ca.crt", &st) == 0)
        return 0;
    if (mkdir(TLS_DIR, 0700) && errno != EEXIST)
        return errno;
    if ((ca_key = key_make()) && (key = key_make()) &&
        (ca = cert_make("sipveil lab demo CA", ca_key, NULL, ca_key, 1)) &&
        (crt = cert_make("pcscf.ims.example", key, ca, ca_key, 2)))
        err = 0;
    if (!err)
        err = pem_write(TLS_DIR "/pcscf.key", 0600, key, NULL);
    if (!err)
        err = pem_write(TLS_DIR "/pcscf.crt", 0644, NULL, crt);
    if (!err)
        err = pem_write(TLS_DIR "/ca.crt", 0644, NULL, ca);
    X509_free(crt);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    if (!err)
        sv_log(SV_LOG_NOTICE, MOD, "made a demo CA and the P-CSCF's TLS certificate in %s",
               TLS_DIR);
    return err;
}

static int count_sub(void *arg, const struct store_sub *sub)
{
    (void)sub;
    ++*(size_t *)arg;
    return 1; /* one is enough */
}

static int subscribers_import(const char *store_path)
{
    struct store *st;
    char why[256] = "";
    size_t n = 0, added = 0;
    int err;

    if ((err = store_open_sqlite(&st, store_path, why, sizeof(why)))) {
        sv_log(SV_LOG_ERR, MOD, "store %s: %s %s", store_path, strerror(err), why);
        return err;
    }
    err = st->api->sub_each(st, count_sub, &n);
    if (err == 1)
        err = 0;
    if (!err && n == 0) {
        err = store_import_yaml(st, app_lab_subscribers, strlen(app_lab_subscribers), &added, why,
                                sizeof(why));
        if (err)
            sv_log(SV_LOG_ERR, MOD, "the lab's subscribers: %s %s", strerror(err), why);
        else
            sv_log(SV_LOG_NOTICE, MOD, "provisioned the lab's %zu demo subscribers in %s", added,
                   store_path);
    }
    store_close(st);
    return err;
}

int app_lab_prepare(const char *store_path)
{
    int err;

    if (mkdir("var", 0700) && errno != EEXIST) {
        sv_log(SV_LOG_ERR, MOD, "cannot make var/: %s", strerror(errno));
        return APP_EX_CANTCREAT;
    }
    if ((err = tls_make())) {
        sv_log(SV_LOG_ERR, MOD, "cannot make the demo TLS material in %s: %s", TLS_DIR,
               strerror(err));
        return APP_EX_CANTCREAT;
    }
    if (subscribers_import(store_path))
        return APP_EX_CONFIG;
    return APP_EX_OK;
}
