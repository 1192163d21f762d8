/**
 * @file cmd_ua.c  `sipveil ua`: a command-line IMS UE on sipveil's own layers, for demos and
 * tests. This file reads the command line and runs a command as the steps a UE takes
 * (register, the request, de-register); ua_core.c does the SIP, ua_msg.c builds the bytes.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sipveil/pres.h>
#include "app.h"
#include "ua.h"

void app_usage_ua(FILE *f)
{
    fprintf(
        f, "Usage: sipveil ua [options] COMMAND [ARGS]\n"
           "\n"
           "A command-line IMS UE (user equipment) built on sipveil's own transport,\n"
           "transaction, SIP and authentication layers: it registers to a P-CSCF the way an\n"
           "IMS terminal does (TS 24.229), then sends or answers requests, and prints every\n"
           "message it receives with the headers that carry identity, so that what the network\n"
           "asserted, withheld or anonymised can be read off the output.\n"
           "\n"
           "Commands:\n"
           "  register       REGISTER to sip:DOMAIN from the UE's socket; answer a 401 with\n"
           "                 Digest (MD5 or SHA-256, by the challenge's algorithm) or AKAv1-MD5.\n"
           "                 The first REGISTER already carries an Authorization with the IMPI\n"
           "                 and an empty response, as IMS UEs send it. The binding is left in\n"
           "                 place (its lifetime is --expires).\n"
           "  unregister     REGISTER with 'Contact: *' and 'Expires: 0': remove every binding\n"
           "                 of the IMPU, whoever made it.\n"
           "  message URI TEXT\n"
           "                 Register, send a MESSAGE with TEXT (text/plain) to URI,\n"
           "                 de-register.\n"
           "  options URI    Register, send OPTIONS to URI, de-register.\n"
           "  call URI [--hold S]\n"
           "                 Register, INVITE URI with a small audio SDP offer, ACK the 2xx,\n"
           "                 hold the call S seconds (default 0), BYE, de-register. --timeout\n"
           "                 counts the hold too.\n"
           "  listen         Register, then answer every request: MESSAGE, OPTIONS and BYE\n"
           "                 with 200, INVITE with 180 then 200 and an SDP answer (and wait for\n"
           "                 its ACK); until --count requests were answered or --timeout ran\n"
           "                 out; then de-register.\n"
           "  publish [--status open|closed] [--note TEXT] [--expires N] [--etag E]\n"
           "                 Register, PUBLISH (RFC 3903, Event: presence) a PIDF for the\n"
           "                 user's own IMPU (its entity; one tuple, basic status --status,\n"
           "                 default open, and the note TEXT), for N seconds (default 3600;\n"
           "                 the presence server may ask for more with 423, which is\n"
           "                 honoured), print 'etag SIP-ETAG', de-register. With --etag, the\n"
           "                 publication E is modified (SIP-If-Match), or only refreshed when\n"
           "                 neither --status nor --note is given.\n"
           "  publish --etag E --unpublish\n"
           "                 Remove publication E (SIP-If-Match, Expires: 0).\n"
           "  subscribe URI [--winfo] [--hold S] [--grant TOKEN] [--watcher-password PW]\n"
           "                 Register, SUBSCRIBE to URI for Event presence (with --winfo:\n"
           "                 presence.winfo, the watchers of URI, RFC 3857), print every\n"
           "                 NOTIFY received for S seconds (default 5) or until one says\n"
           "                 'terminated', then un-SUBSCRIBE (Expires: 0) and print the last\n"
           "                 NOTIFY, de-register. --grant presents a grant token of URI's\n"
           "                 ('grant' below) as 'Authorization: Bearer'. --watcher-password\n"
           "                 answers the presence server's challenge for a rule of URI's\n"
           "                 that wants a password (401, Digest realm URI, SHA-256): the\n"
           "                 username is the user's IMPU and PW the password URI gave the\n"
           "                 user (R102). With --privacy the\n"
           "                 SUBSCRIBE is anonymous like any other request: the presence\n"
           "                 server then judges it by the presentity's rules for anonymous\n"
           "                 watchers. Without --timeout, the command has 10 s plus the hold.\n"
           "  rules FILE     PUT FILE (application/auth-policy+xml, at most 64 KiB) as the\n"
           "                 user's pres-rules document (RFC 5025) at the XCAP server --xcap,\n"
           "                 /xcap-root/pres-rules/users/<IMPU, percent-encoded>/index, with\n"
           "                 HTTP Digest (SHA-256 or MD5, as the server offers) as the IMPI and\n"
           "                 --password. Prints '> PUT PATH', '< HTTP/1.1 STATUS' and the new\n"
           "                 ETag. No SIP: nothing is registered. See docs/xcap.md.\n"
           "  rules --get    Print the current pres-rules document exactly as stored, and\n"
           "                 nothing else (redirect it to a file, edit it, PUT it back).\n"
           "  grant --new-key FILE\n"
           "                 Make an Ed25519 key pair: the private key (32 octets, base64)\n"
           "                 into FILE, a new file (never overwritten) readable by its owner\n"
           "                 only; print the public key (base64) for the <wa:grant-key> of a\n"
           "                 rule (docs/presence.md). Needs no identity.\n"
           "  grant WATCHER --key FILE [--expires S]\n"
           "                 Print a grant token: WATCHER (an IMPU) may watch the user's IMPU\n"
           "                 for S seconds (default 3600) from now, signed with FILE's key.\n"
           "                 A token works once (the presence server keeps its nonce).\n"
           "\n"
           "Requests after a registration carry the 200's Service-Route as Route (RFC 3608).\n"
           "The P-CSCF accepts requests only from the flow (address, port, transport) that\n"
           "registered, so every command registers first from the socket it then uses, unless\n"
           "--no-register.\n"
           "\n"
           "Identity:\n"
           "  --user NAME          IMPI NAME@DOMAIN and IMPU sip:NAME@DOMAIN.\n"
           "  --domain D           Home domain and registrar (default ims.example).\n"
           "  --impi ID, --impu URI\n"
           "                       Override the private or public identity.\n"
           "  --password PW        Digest password.\n"
           "  --aka-k HEX --aka-op HEX [--aka-amf HEX] [--aka-sqn N]\n"
           "                       Answer AKAv1-MD5 challenges (RFC 3310) as a USIM with\n"
           "                       Milenage key K and operator key OP (32 hex digits each).\n"
           "                       --aka-amf is accepted for symmetry with the network's\n"
           "                       provisioning (the USIM reads AMF from AUTN). With --aka-sqn,\n"
           "                       the highest sequence number the USIM has accepted: a\n"
           "                       challenge whose SQN is not above it is answered with auts\n"
           "                       (resynchronisation) and the registration goes on. A\n"
           "                       challenge whose MAC does not verify is not answered: the\n"
           "                       network is not the subscriber's, exit 1.\n"
           "\n"
           "Network:\n"
           "  --pcscf HOST:PORT    The P-CSCF, every request's first hop (default\n"
           "                       127.0.0.1:5060, and 127.0.0.1:5061 over TLS: the lab's);\n"
           "                       IPv6 as [ADDR]:PORT. No DNS.\n"
           "  --transport T        udp (default), tcp or tls.\n"
           "  --ca FILE            TLS: verify the P-CSCF's certificate chain against FILE\n"
           "                       (PEM) instead of the system's store. The name in the\n"
           "                       certificate is not checked: the UE connects to an address.\n"
           "  --insecure           TLS: do not verify the P-CSCF's certificate at all.\n"
           "  --local IP:PORT      The UE's own address (default 127.0.0.1:0, any free port).\n"
           "                       UDP and TCP listen on it; over TLS the UE's address is that of\n"
           "                       its connection to the P-CSCF.\n"
           "  --expires N          Registration lifetime asked for, seconds (default 600).\n"
           "  --timeout S          Time for the whole command, seconds (default 10); the final\n"
           "                       de-registration gets up to 5 s more.\n"
           "  --count N            listen: stop after N requests (an ACK does not count).\n"
           "  --no-register        Send or listen without registering (a peer that is not a\n"
           "                       P-CSCF, or a P-CSCF without the flow check).\n"
           "  --ready-file F       Write '<ip>:<port>' to F once ready (see Output).\n"
           "  --log-level LEVEL    err, warn (default), notice, info or debug, on stderr.\n"
           "\n"
           "Privacy (RFC 3323, RFC 3325; requirements R9-R17):\n"
           "  --privacy VALUES     none, id, user, header, critical, separated by ',' or ';'.\n"
           "                       Any value but none makes the requests private: From is\n"
           "                       '\"Anonymous\" <sip:anonymous@anonymous.invalid>' with a fresh\n"
           "                       tag, the Call-ID is random without a host, User-Agent,\n"
           "                       Subject and Organization are not sent, no display name\n"
           "                       appears, and Contact is host:port without a user part. The\n"
           "                       Privacy header carries the values in canonical order\n"
           "                       (header;user;id;critical), in every request and response of\n"
           "                       the dialog; critical adds 'Proxy-Require: privacy'. none\n"
           "                       stands alone.\n"
           "  --ppi URI            Send P-Preferred-Identity: <URI>, the identity the network\n"
           "                       should assert (never P-Asserted-Identity).\n"
           "\n"
           "Presence:\n"
           "  --xcap URL           rules: the XCAP server, http://HOST:PORT (default\n"
           "                       http://127.0.0.1:8080, the lab's). Plain HTTP only: for an\n"
           "                       XCAP server that requires TLS use curl (docs/xcap.md).\n"
           "  --status, --note, --etag, --unpublish, --winfo, --hold, --grant, --get, --key,\n"
           "  --new-key, --watcher-password\n"
           "                       as the commands above describe. --expires is the\n"
           "                       publication's lifetime for publish and the grant's for grant.\n"
           "\n"
           "Output (standard output, one line each, for people and for tests):\n"
           "  > METHOD URI         a request the UE sent (> SIP/2.0 ... for its responses)\n"
           "  < START-LINE         a message received, followed by its From, To,\n"
           "                       P-Asserted-Identity, P-Preferred-Identity, Privacy,\n"
           "                       P-Associated-URI, Service-Route, Contact and Call-ID lines,\n"
           "                       indented two spaces, exactly as received\n"
           "  ready IP:PORT        once registered (or bound, with --no-register)\n"
           "  etag E               publish: the SIP-ETag of the publication\n"
           "A NOTIFY is followed by its Event, Subscription-State and Content-Type lines and\n"
           "by its body, each body line prefixed '  | ', as received.\n"
           "Retransmissions are absorbed and not printed. Errors go to standard error.\n"
           "\n"
           "Examples (against the lab of 'sipveil run'):\n"
           "  sipveil ua --user alice --password alice-pw register\n"
           "  sipveil ua --user bob --password bob-pw --timeout 60 --count 1 listen\n"
           "  sipveil ua --user alice --password alice-pw --privacy id,critical \\\n"
           "      message sip:bob@ims.example 'hello'\n"
           "  sipveil ua --user alice --password alice-pw publish --status open --note lab\n"
           "  sipveil ua --user alice --password alice-pw rules alice-rules.xml\n"
           "  sipveil ua --user bob --password bob-pw subscribe sip:alice@ims.example\n"
           "  sipveil ua grant --new-key alice.key\n"
           "  sipveil ua --user alice grant sip:bob@ims.example --key alice.key\n"
           "  sipveil ua --user dave --aka-k 465b5ce8b199b49faa5f0a2ee238a6bc \\\n"
           "      --aka-op cdc202d5123e20f62b6d676ac72cb318 register\n"
           "\n"
           "Exit status: 0 the command got its 2xx (listen: ran to --count, or to the timeout\n"
           "without --count); 1 a failure response (its status line is printed), credentials\n"
           "refused or a network that failed AKA authentication; 64 usage error; 66 the --ca\n"
           "file cannot be used, or the rules or key FILE cannot be read; 69 no final response\n"
           "in time, the P-CSCF or the XCAP server unreachable or the P-CSCF's TLS certificate\n"
           "refused, the --local address cannot be bound; 71 system error; 73 the key file of\n"
           "grant --new-key cannot be created (or exists already).\n");
}

/* The values of the command line, before they are checked. */
struct args {
    const char *user, *domain, *impi, *impu, *password, *aka_k, *aka_op, *aka_amf, *aka_sqn;
    const char *pcscf, *transport, *ca, *local, *expires, *timeout, *count, *privacy, *ppi;
    const char *ready_file, *hold, *log_level;
    const char *status, *note, *etag, *xcap, *key, *new_key, *grant, *watcher_pw; /* presence */
    bool insecure, no_register, winfo, unpublish, get;
    const char *pos[4];
    int npos;
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "sipveil ua: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "; see 'sipveil help ua'\n");
    return APP_EX_USAGE;
}

/* An option that takes a value, and where it goes. */
static const char **opt_slot(struct args *a, const char *name)
{
    const struct {
        const char *name;
        const char **slot;
    } opts[] = {
        {"user", &a->user},
        {"domain", &a->domain},
        {"impi", &a->impi},
        {"impu", &a->impu},
        {"password", &a->password},
        {"aka-k", &a->aka_k},
        {"aka-op", &a->aka_op},
        {"aka-amf", &a->aka_amf},
        {"aka-sqn", &a->aka_sqn},
        {"pcscf", &a->pcscf},
        {"transport", &a->transport},
        {"ca", &a->ca},
        {"local", &a->local},
        {"expires", &a->expires},
        {"timeout", &a->timeout},
        {"count", &a->count},
        {"privacy", &a->privacy},
        {"ppi", &a->ppi},
        {"ready-file", &a->ready_file},
        {"hold", &a->hold},
        {"log-level", &a->log_level},
        {"status", &a->status},
        {"note", &a->note},
        {"etag", &a->etag},
        {"xcap", &a->xcap},
        {"key", &a->key},
        {"new-key", &a->new_key},
        {"grant", &a->grant},
        {"watcher-password", &a->watcher_pw},
    };

    for (size_t i = 0; i < SV_ARRAY_SIZE(opts); i++)
        if (strcmp(name, opts[i].name) == 0)
            return opts[i].slot;
    return NULL;
}

/* An option that takes no value, and the flag it sets. */
static bool *flag_slot(struct args *a, const char *name)
{
    const struct {
        const char *name;
        bool *flag;
    } flags[] = {
        {"insecure", &a->insecure}, {"no-register", &a->no_register},
        {"winfo", &a->winfo},       {"unpublish", &a->unpublish},
        {"get", &a->get},
    };

    for (size_t i = 0; i < SV_ARRAY_SIZE(flags); i++)
        if (strcmp(name, flags[i].name) == 0)
            return flags[i].flag;
    return NULL;
}

/* @return -1 when parsed, or an exit status (help, usage error). */
static int args_parse(int argc, char **argv, struct args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
            app_usage_ua(stdout);
            return APP_EX_OK;
        }
        if (strncmp(s, "--", 2) != 0 || !s[2]) {
            if (strcmp(s, "--") == 0) {
                while (++i < argc && a->npos < (int)SV_ARRAY_SIZE(a->pos))
                    a->pos[a->npos++] = argv[i];
                break;
            }
            if (a->npos >= (int)SV_ARRAY_SIZE(a->pos))
                return usage_error("too many arguments ('%s')", s);
            a->pos[a->npos++] = s;
            continue;
        }
        char name[32];
        const char *eq = strchr(s + 2, '='), *val = NULL;
        size_t nl = eq ? (size_t)(eq - s - 2) : strlen(s + 2);
        if (nl >= sizeof(name))
            return usage_error("unknown option '%s'", s);
        memcpy(name, s + 2, nl);
        name[nl] = '\0';
        bool *flag = flag_slot(a, name);
        if (flag) {
            if (eq)
                return usage_error("option '--%s' takes no value", name);
            *flag = true;
            continue;
        }
        const char **slot = opt_slot(a, name);
        if (!slot)
            return usage_error("unknown option '%s'", s);
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else
            return usage_error("option '%s' needs a value", s);
        *slot = val;
    }
    return -1;
}

static bool num(const char *s, double max, double *out)
{
    char *end;
    double v;

    if (!s || !*s)
        return false;
    errno = 0;
    v = strtod(s, &end);
    if (errno || *end || !(v >= 0) || v > max)
        return false;
    *out = v;
    return true;
}

static bool hex16(const char *s, uint8_t *out, size_t n)
{
    if (!s || strlen(s) != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF", s[2 * i]) ||
            !strchr("0123456789abcdefABCDEF", s[2 * i + 1]))
            return false;
        out[i] = (uint8_t)v;
    }
    return true;
}

/* What the command needs from the arguments, checked. @return -1 or an exit status. */
static int conf_build(struct args *a, struct ua_conf *c, char *impi, char *impu, size_t sz)
{
    double d;

    memset(c, 0, sizeof(*c));
    c->domain = a->domain ? a->domain : "ims.example";
    if (a->user)
        snprintf(impi, sz, "%s@%s", a->user, c->domain);
    if (a->user)
        snprintf(impu, sz, "sip:%s@%s", a->user, c->domain);
    c->impi = a->impi ? a->impi : a->user ? impi : NULL;
    c->impu = a->impu ? a->impu : a->user ? impu : NULL;
    if (!c->impu)
        return usage_error("%s", "no identity: give --user NAME (or --impu and --impi)");
    if (!c->impi) {
        /* The private identity of an IMPU without --impi: its user@host, as the lab has it. */
        const char *p = strchr(c->impu, ':');
        snprintf(impi, sz, "%s", p ? p + 1 : c->impu);
        c->impi = impi;
    }
    c->cred.impi = c->impi;
    c->cred.password = a->password;
    if (a->aka_k || a->aka_op) {
        uint8_t k[AUTH_K_LEN], op[AUTH_OP_LEN], amf[AUTH_AMF_LEN];
        if (!hex16(a->aka_k, k, sizeof(k)) || !hex16(a->aka_op, op, sizeof(op)))
            return usage_error("%s", "--aka-k and --aka-op need 32 hex digits each");
        if (a->aka_amf && !hex16(a->aka_amf, amf, sizeof(amf)))
            return usage_error("%s", "--aka-amf needs 4 hex digits");
        if (a->password)
            return usage_error("%s", "--password and --aka-k exclude each other");
        if (auth_milenage_init(&c->cred.mil, k, op))
            return APP_EX_SOFTWARE;
        c->cred.aka = true;
        if (a->aka_sqn) {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(a->aka_sqn, &end, 0);
            if (errno || *end || v > AUTH_SQN_MAX)
                return usage_error("--aka-sqn '%s' is not a 48-bit number", a->aka_sqn);
            c->cred.have_sqn_ms = true;
            c->cred.sqn_ms = v;
        }
    }
    if (!a->transport || strcmp(a->transport, "udp") == 0)
        c->tp = NET_UDP;
    else if (strcmp(a->transport, "tcp") == 0)
        c->tp = NET_TCP;
    else if (strcmp(a->transport, "tls") == 0)
        c->tp = NET_TLS;
    else
        return usage_error("--transport '%s': udp, tcp or tls", a->transport);
    if (!a->pcscf)
        a->pcscf = c->tp == NET_TLS ? "127.0.0.1:5061" : "127.0.0.1:5060";
    if (net_addr_parse(&c->pcscf, a->pcscf))
        return usage_error("--pcscf '%s' is not IP:PORT", a->pcscf);
    if (net_addr_parse(&c->local, a->local ? a->local : "127.0.0.1:0"))
        return usage_error("--local '%s' is not IP:PORT", a->local);
    if ((a->ca || a->insecure) && c->tp != NET_TLS)
        return usage_error("%s", "--ca and --insecure go with --transport tls");
    if (a->ca && a->insecure)
        return usage_error("%s", "--ca and --insecure exclude each other");
    c->ca = a->ca;
    c->insecure = a->insecure;
    c->expires = 600;
    if (a->expires) {
        if (!num(a->expires, 4294967295.0, &d) || d != floor(d))
            return usage_error("--expires '%s' is not a number of seconds", a->expires);
        c->expires = (uint32_t)d;
    }
    c->timeout_ms = 10000;
    if (a->timeout) {
        if (!num(a->timeout, 86400, &d) || d <= 0)
            return usage_error("--timeout '%s': seconds, above 0, at most 86400", a->timeout);
        c->timeout_ms = (unsigned)(d * 1000);
    }
    if (a->hold) {
        if (!num(a->hold, 86400, &d))
            return usage_error("--hold '%s': seconds, at most 86400", a->hold);
        c->hold_ms = (unsigned)(d * 1000);
    }
    if (a->count) {
        if (!num(a->count, 1000000, &d) || d != floor(d) || d < 1)
            return usage_error("--count '%s': a number above 0", a->count);
        c->count = (unsigned)d;
    }
    if (a->privacy && ua_privacy_parse(a->privacy, &c->privacy))
        return usage_error("--privacy '%s': none, id, user, header, critical; none alone",
                           a->privacy);
    c->ppi = a->ppi;
    c->watcher_password = a->watcher_pw;
    c->no_register = a->no_register;
    c->ready_file = a->ready_file;
    return -1;
}

static int run(struct ua *u, const struct ua_conf *c, const char *cmd, struct args *a,
               const struct ua_publication *pub)
{
    int rc;

    if (strcmp(cmd, "register") == 0) {
        rc = ua_register(u, c->expires, false);
        return rc ? rc : ua_ready(u);
    }
    if (strcmp(cmd, "unregister") == 0)
        return ua_register(u, 0, true);
    if (!c->no_register && (rc = ua_register(u, c->expires, false)))
        return rc;
    if ((rc = ua_ready(u)))
        return rc;
    if (strcmp(cmd, "message") == 0)
        rc = ua_message(u, a->pos[1], a->pos[2]);
    else if (strcmp(cmd, "publish") == 0)
        rc = ua_publish(u, pub);
    else if (strcmp(cmd, "subscribe") == 0)
        rc = ua_subscribe(u, a->pos[1], a->winfo, a->grant, c->hold_ms);
    else if (strcmp(cmd, "options") == 0)
        rc = ua_options(u, a->pos[1]);
    else if (strcmp(cmd, "call") == 0)
        rc = ua_call(u, a->pos[1]);
    else
        rc = ua_listen(u);
    /* A binding of this run is undone: it names a socket that is about to close. */
    if (ua_registered(u)) {
        ua_deadline_extend(u, 5000);
        ua_register(u, 0, false);
    }
    return rc;
}

/* Each option that belongs to some commands only, with the command. @return -1 or an exit
   status. */
static int options_check(const struct args *a, const char *cmd)
{
    const struct {
        bool given;
        const char *name, *cmds;
    } only[] = {
        {a->hold != NULL, "--hold", " call or subscribe "},
        {a->count != NULL, "--count", " listen "},
        {a->status != NULL, "--status", " publish "},
        {a->note != NULL, "--note", " publish "},
        {a->etag != NULL, "--etag", " publish "},
        {a->unpublish, "--unpublish", " publish "},
        {a->winfo, "--winfo", " subscribe "},
        {a->grant != NULL, "--grant", " subscribe "},
        {a->watcher_pw != NULL, "--watcher-password", " subscribe "},
        {a->xcap != NULL, "--xcap", " rules "},
        {a->get, "--get", " rules "},
        {a->key != NULL, "--key", " grant "},
        {a->new_key != NULL, "--new-key", " grant "},
    };
    char word[32];

    snprintf(word, sizeof(word), " %s ", cmd);
    for (size_t i = 0; i < SV_ARRAY_SIZE(only); i++)
        if (only[i].given && !strstr(only[i].cmds, word))
            return usage_error("%s goes with%.*s", only[i].name, (int)strlen(only[i].cmds) - 1,
                               only[i].cmds);
    if (a->status && strcmp(a->status, "open") != 0 && strcmp(a->status, "closed") != 0)
        return usage_error("--status '%s': open or closed", a->status);
    if (a->unpublish && !a->etag)
        return usage_error("%s", "--unpublish needs --etag (the SIP-ETag publish printed)");
    if (a->unpublish && (a->status || a->note))
        return usage_error("%s", "--unpublish removes: no --status or --note with it");
    /* A token is b64url "." b64url: anything else could smuggle a header line in. */
    if (a->grant && (!*a->grant || strlen(a->grant) > PRES_GRANT_MAX ||
                     strspn(a->grant, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789-_.") != strlen(a->grant)))
        return usage_error("%s", "--grant: a token as 'sipveil ua grant' prints it");
    if (!strcmp(cmd, "grant") && !a->key == !a->new_key)
        return usage_error("%s", "grant needs --key FILE (or --new-key FILE alone)");
    return -1;
}

int app_cmd_ua(int argc, char **argv)
{
    struct args a = {0};
    struct ua_conf c;
    struct ua *u = NULL;
    struct ua_publication pub = {0};
    char impi[320], impu[320];
    const char *cmd;
    int rc, want, err;
    enum sv_log_level lvl = SV_LOG_WARN;

    if ((rc = args_parse(argc, argv, &a)) >= 0)
        return rc;
    if (!a.npos) {
        app_usage_ua(stderr);
        return APP_EX_USAGE;
    }
    cmd = a.pos[0];
    if (!strcmp(cmd, "register") || !strcmp(cmd, "unregister") || !strcmp(cmd, "listen") ||
        !strcmp(cmd, "publish"))
        want = 1;
    else if (!strcmp(cmd, "options") || !strcmp(cmd, "call") || !strcmp(cmd, "subscribe"))
        want = 2;
    else if (!strcmp(cmd, "message"))
        want = 3;
    else if (!strcmp(cmd, "rules"))
        want = a.get ? 1 : 2;
    else if (!strcmp(cmd, "grant"))
        want = a.new_key ? 1 : 2;
    else
        return usage_error("unknown command '%s'", cmd);
    if (a.npos != want)
        return usage_error("wrong number of arguments for '%s'", cmd);
    if ((rc = options_check(&a, cmd)) >= 0)
        return rc;
    if (a.log_level && sv_log_level_parse(a.log_level, &lvl))
        return usage_error("--log-level '%s': err, warn, notice, info or debug", a.log_level);
    sv_log_set_level(lvl);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(cmd, "grant") && a.new_key)
        return ua_grant_new_key(a.new_key); /* needs no identity */
    if (!strcmp(cmd, "subscribe") && !a.hold)
        a.hold = "5";
    if ((rc = conf_build(&a, &c, impi, impu, sizeof(impi))) >= 0)
        return rc;
    if (!strcmp(cmd, "subscribe") && !a.timeout)
        c.timeout_ms = 10000 + c.hold_ms; /* the hold comes on top of the usual 10 s */
    if (!strcmp(cmd, "grant"))
        return ua_grant(a.key, a.pos[1], c.impu, a.expires ? c.expires : 3600);
    if (!strcmp(cmd, "rules"))
        return ua_rules(&c, a.xcap ? a.xcap : "http://127.0.0.1:8080", a.get ? NULL : a.pos[1]);
    if (!strcmp(cmd, "publish")) {
        pub.open = !a.status || !strcmp(a.status, "open");
        pub.note = a.note;
        pub.expires = a.expires ? c.expires : 3600;
        pub.etag = a.etag;
        pub.unpublish = a.unpublish;
        pub.body = !a.etag || a.status || a.note; /* with only --etag: a refresh */
    }

    if ((err = ua_alloc(&u, &c)))
        return err == ENOMEM ? APP_EX_OSERR : err == ENOENT ? APP_EX_NOINPUT : APP_EX_UNAVAILABLE;
    rc = run(u, &c, cmd, &a, &pub);
    ua_free(u);
    fflush(stdout);
    return rc;
}
