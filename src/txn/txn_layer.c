/**
 * @file txn_layer.c  The transaction layer: allocation of layers and transactions, the hash
 * tables they are found by, termination, dispatch of received messages, accessors.
 *
 * The state machines themselves live in txn_server.c (RFC 3261 §17.2) and txn_client.c
 * (§17.1); this file holds what both share.
 */
#include <assert.h>
#include "txn_int.h"

const struct txn_timers txn_timers_default = {500, 4000, 5000, 0}; /* RFC 3261 §17.1.1.1, A.1 */

#define TAB_INITIAL 256u

static const char *const state_names[] = {
    [TXN_CALLING] = "Calling",       [TXN_TRYING] = "Trying",       [TXN_PROCEEDING] = "Proceeding",
    [TXN_COMPLETED] = "Completed",   [TXN_CONFIRMED] = "Confirmed", [TXN_ACCEPTED] = "Accepted",
    [TXN_TERMINATED] = "Terminated",
};

/**
 * The RFC name of a state.
 * @param s the state
 * @return "Calling", "Trying" ... or "?" for a value out of range
 */
const char *txn_state_name(enum txn_state s)
{
    return (unsigned)s < SV_ARRAY_SIZE(state_names) ? state_names[s] : "?";
}

/* ---------------------------------------------------------------------------------------- */
/* Hashing and the tables                                                                     */

#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

static uint32_t fnv(uint32_t h, const void *p, size_t n)
{
    const unsigned char *c = p;

    for (size_t i = 0; i < n; i++) {
        h ^= c[i];
        h *= FNV_PRIME;
    }
    return h;
}

/* Parameter values compare case-insensitively (RFC 3261 §7.3.1), so they hash lower-cased. */
static uint32_t fnv_lower(uint32_t h, struct sv_slice s)
{
    for (size_t i = 0; i < s.l; i++) {
        unsigned char c = (unsigned char)s.p[i];
        h ^= (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
        h *= FNV_PRIME;
    }
    return h;
}

/**
 * The hash of an RFC 3261 transaction: its branch. Sent-by and method are compared along
 * the chain; a branch is unique enough on its own to spread the buckets.
 * @param branch the top Via's branch
 * @return the hash
 */
uint32_t txn__hash_branch(struct sv_slice branch)
{
    return fnv_lower(FNV_OFFSET, branch);
}

/**
 * The hash of an RFC 2543 transaction: the fields that an INVITE, its ACK and its CANCEL
 * share (§17.2.3, §9.2): Call-ID, CSeq number and From tag.
 * @param m the request
 * @return the hash
 */
uint32_t txn__hash_2543(const struct sip_msg *m)
{
    uint32_t h = fnv(FNV_OFFSET, m->callid.p, m->callid.l); /* Call-ID is case-sensitive */

    h = fnv(h, &m->cseq.num, sizeof(m->cseq.num));
    return fnv_lower(h, m->from.tag);
}

/**
 * The hash of a connection: its address, which is all the conns table compares.
 * @param c the connection
 * @return the hash
 */
uint32_t txn__hash_conn(const struct net_conn *c)
{
    uintptr_t v = (uintptr_t)c;

    return fnv(FNV_OFFSET, &v, sizeof(v));
}

static int tab_init(struct txn_tab *tab, bool by_conn)
{
    tab->b = sv_calloc(TAB_INITIAL, sizeof(*tab->b));
    if (!tab->b)
        return ENOMEM;
    tab->mask = TAB_INITIAL - 1;
    tab->n = 0;
    tab->by_conn = by_conn;
    return 0;
}

static struct txn_link *lnk(const struct txn_tab *tab, struct txn *t)
{
    return tab->by_conn ? &t->cl : &t->hl;
}

static uint32_t key(const struct txn_tab *tab, const struct txn *t)
{
    return tab->by_conn ? t->chash : t->hash;
}

static void link_head(const struct txn_tab *tab, struct txn **head, struct txn *t)
{
    struct txn_link *k = lnk(tab, t);

    k->next = *head;
    if (k->next)
        lnk(tab, k->next)->pprev = &k->next;
    k->pprev = head;
    *head = t;
}

/* Double the buckets when there are more transactions than buckets, so chains stay short at
 * any load. Without memory to grow, the table keeps working with longer chains. */
static void tab_grow(struct txn_tab *tab)
{
    size_t nb = (tab->mask + 1) * 2;
    struct txn **b = sv_calloc(nb, sizeof(*b));

    if (!b)
        return;
    for (size_t i = 0; i <= tab->mask; i++) {
        while (tab->b[i]) {
            struct txn *t = tab->b[i];
            tab->b[i] = lnk(tab, t)->next;
            link_head(tab, &b[key(tab, t) & (nb - 1)], t);
        }
    }
    sv_free(tab->b);
    tab->b = b;
    tab->mask = nb - 1;
}

/**
 * Link @p t (its hash set) into @p tab. O(1), amortised over growth.
 * @param tab the table
 * @param t the transaction
 */
void txn__tab_add(struct txn_tab *tab, struct txn *t)
{
    if (tab->n >= tab->mask + 1)
        tab_grow(tab);
    link_head(tab, &tab->b[key(tab, t) & tab->mask], t);
    tab->n++;
}

/**
 * Unlink @p t from @p tab; safe when it is not linked. O(1).
 * @param tab the table
 * @param t the transaction
 */
void txn__tab_del(struct txn_tab *tab, struct txn *t)
{
    struct txn_link *k = lnk(tab, t);

    if (!k->pprev)
        return;
    *k->pprev = k->next;
    if (k->next)
        lnk(tab, k->next)->pprev = k->pprev;
    k->next = NULL;
    k->pprev = NULL;
    tab->n--;
}

/**
 * The chain that @p hash falls in.
 * @param tab the table
 * @param hash the hash
 * @return the first transaction of the chain, or NULL
 */
struct txn *txn__tab_first(const struct txn_tab *tab, uint32_t hash)
{
    return tab->b[hash & tab->mask];
}

/**
 * Compare two methods: by id, or by name when both are extension methods. Method names are
 * case-sensitive (RFC 3261 §7.1).
 * @return true when they are the same method
 */
bool txn__method_eq(enum sip_method a, struct sv_slice an, enum sip_method b, struct sv_slice bn)
{
    if (a != SIP_METHOD_OTHER || b != SIP_METHOD_OTHER)
        return a == b;
    return sv_slice_eq(an, bn);
}

/* ---------------------------------------------------------------------------------------- */
/* Transactions                                                                               */

/* Line feeds up to the empty line: an upper bound on the header lines of a message, and so
 * on the entries of its header index. */
static size_t header_lines(const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len;
    size_t lines = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        lines++;
        p = nl + 1;
        if (p < end && (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')))
            break;
    }
    return lines;
}

/* The bytes a parsed message with room for @p nhdr header lines takes. */
static size_t msg_size(size_t nhdr)
{
    return sizeof(struct sip_msg) + nhdr * sizeof(struct sip_hdr);
}

/* Parse @p buf (a transaction's own copy of a request: the slices point into it) into
 * @p scratch. @return 0, ENOMEM, or EBADMSG when it is not exactly one message. */
static int parse_copy(const char *buf, size_t len, struct sv_arena *scratch, struct sip_msg **mp)
{
    struct sip_limits lim = {len, SIP_HDR_END - 1u, len, len}; /* the caller checked sizes */
    struct sip_perr perr = {0};
    struct sip_msg *m = NULL;
    int err = sip_msg_parse(&m, scratch, buf, len, SIP_DGRAM, &lim, &perr);

    if (err || !m || m->raw.l != len)
        return err == ENOMEM ? ENOMEM : EBADMSG;
    *mp = m;
    return 0;
}

/*
 * Parse @p buf in a scratch arena, then copy the message and its header index into @p out,
 * which has room for @p nhdr lines. The parser's index starts at 48 entries and doubles
 * (src/sip/msg.c); keeping its arena would cost about 2.3 KB per transaction more than the
 * lines the request has. out->arena is NULL: nothing may be allocated "with" the message.
 * @return 0, ENOMEM or EBADMSG
 */
static int parse_into(const char *buf, size_t len, struct sip_msg *out, size_t nhdr)
{
    _Alignas(16) char blk[8192];
    struct sv_arena a;
    struct sip_msg *m = NULL;
    int err;

    sv_arena_init(&a, blk, sizeof(blk));
    err = parse_copy(buf, len, &a, &m);
    if (!err && m->hdrc > nhdr) /* cannot happen: every header takes a line */
        err = EBADMSG;
    if (!err) {
        struct sip_hdr *hv = (struct sip_hdr *)(out + 1);
        *out = *m;
        if (m->hdrc)
            memcpy(hv, m->hdrv, m->hdrc * sizeof(*hv));
        out->hdrv = hv;
        out->arena = NULL;
    }
    sv_arena_close(&a);
    return err;
}

static void txn_dtor(void *arg)
{
    struct txn *t = arg;

    /* Timers were stopped and the chain unlinked when the transaction left the layer (or it
     * never joined); the wheel may be gone by now, so neither is touched here. */
    assert(!t->hl.pprev && !t->cl.pprev);
    sv_free(t->resp);
    sv_free(t->req_blk);
    if (t->has_flow)
        net_flow_release(&t->flow);
}

/* The block of a transaction: the struct, then a copy of the @p len octets at @p buf
 * (16-aligned; t->raw points at it), then @p extra octets at *xoff. The rest is zero. */
static struct txn *txn_block(struct txn_layer *l, const char *buf, size_t len, size_t extra,
                             size_t *xoff)
{
    size_t off = (sizeof(struct txn) + 15u) & ~(size_t)15u;
    size_t moff = (off + len + 15u) & ~(size_t)15u;
    struct txn *t;

    if (len > SIZE_MAX / 4 || extra > SIZE_MAX / 4)
        return NULL;
    t = sv_zalloc(moff + extra, txn_dtor);
    if (!t)
        return NULL;
    memcpy((char *)t + off, buf, len);
    t->raw = sv_slice_make((char *)t + off, len);
    t->l = l;
    sv_timer_init(&t->tm_retx);
    sv_timer_init(&t->tm_to);
    *xoff = moff;
    return t;
}

/**
 * Allocate a server transaction for received request @p msg, in two blocks: the struct with
 * copies of the top Via and the method (what matching needs for the whole life of the
 * transaction), and the request's bytes with their parsed message and header index, copied
 * from @p msg (sip_msg_copy) rather than parsed again. Not yet linked anywhere.
 * @return 0 or ENOMEM
 */
int txn__alloc_server(struct txn **tp, struct txn_layer *l, const struct sip_msg *msg)
{
    size_t moff = (msg->raw.l + 15u) & ~(size_t)15u, xoff;
    /* the bytes the block copies are the top Via's, the method's follow them */
    struct txn *t = txn_block(l, msg->via.raw.p, msg->via.raw.l, msg->method.l, &xoff);
    const char *via_copy;
    char *blk;

    if (!t)
        return ENOMEM;
    via_copy = t->raw.p;
    sip_via_copy(&t->via0, &msg->via, via_copy);
    memcpy((char *)t + xoff, msg->method.p, msg->method.l);
    t->method = sv_slice_make((char *)t + xoff, msg->method.l);
    t->mid = msg->mid;
    if (moff < msg->raw.l || !(blk = sv_malloc(moff + msg_size(msg->hdrc)))) {
        sv_deref(t);
        return ENOMEM;
    }
    memcpy(blk, msg->raw.p, msg->raw.l);
    t->req_blk = blk;
    t->raw = sv_slice_make(blk, msg->raw.l);
    t->req = (struct sip_msg *)(void *)(blk + moff); /* malloc-aligned, moff 16-aligned */
    sip_msg_copy(t->req, (struct sip_hdr *)(t->req + 1), msg, blk);
    *tp = t;
    return 0;
}

/**
 * A non-INVITE server transaction that has sent its final response keeps, for the 32 s of
 * timer J, only what matching a retransmission and resending the response need: its top Via
 * and its method, copied into its own block, and the response. The request's bytes and parse
 * go: under load that is most of the layer's memory (a REGISTER at the S-CSCF is 1 KB of
 * bytes and 2 KB of parse; bench/register holds some 96,000 completed transactions). RFC 2543
 * transactions keep them: their matching reads more of the request.
 */
void txn__server_compact(struct txn *t)
{
    if (t->rfc2543 || !t->req_blk)
        return;
    sv_free(t->req_blk);
    t->req_blk = NULL;
    t->req = NULL;
    t->raw = (struct sv_slice){0};
}

/* The method of the request line of @p raw: the octets before the first space. */
static int method_of(struct sv_slice raw, struct sv_slice *method)
{
    const char *sp = memchr(raw.p, ' ', raw.l);

    if (!sp || sp == raw.p)
        return EBADMSG;
    *method = sv_slice_make(raw.p, (size_t)(sp - raw.p));
    return 0;
}

/* Pick the branch and method of the client request in t->raw: by a parse, or, when the
 * caller wrote the branch (@p branch set), by finding it in the copy and reading the method
 * off the request line. @return 0, EBADMSG, or EINVAL (a response, no branch). */
static int client_ids(struct txn *t, struct sv_slice branch)
{
    _Alignas(16) char blk[8192];
    struct sv_arena a;
    struct sip_msg *m = NULL;
    int err;

    if (branch.p) {
        const char *at = branch.l ? memmem(t->raw.p, t->raw.l, branch.p, branch.l) : NULL;
        if (!at || (err = method_of(t->raw, &t->method)))
            return EINVAL;
        t->branch = sv_slice_make(at, branch.l);
        t->mid = sip_method_lookup(t->method);
        return 0;
    }
    sv_arena_init(&a, blk, sizeof(blk));
    err = parse_copy(t->raw.p, t->raw.l, &a, &m);
    if (!err && (!m->req || !m->via.branch.p))
        err = EINVAL; /* no request, or no branch to be matched by */
    if (!err) {
        t->branch = m->via.branch;
        t->method = m->method;
        t->mid = m->mid;
    }
    sv_arena_close(&a);
    return err;
}

/**
 * Allocate a client transaction with its own copy of request @p buf, in one block. It keeps
 * only its branch and method (slices of the copy); txn_request_msg parses the rest if it is
 * ever asked. Not yet linked anywhere.
 * @param branch  the branch of the request's top Via when the caller wrote it (any memory:
 *                it is found in the copy), so that nothing is parsed; unset: parse
 * @return 0, ENOMEM, EBADMSG (does not parse), or EINVAL (no request, no branch)
 */
int txn__alloc_client(struct txn **tp, struct txn_layer *l, const char *buf, size_t len,
                      struct sv_slice branch)
{
    size_t xoff;
    struct txn *t = txn_block(l, buf, len, 0, &xoff);
    int err;

    if (!t)
        return ENOMEM;
    if ((err = client_ids(t, branch))) {
        sv_deref(t);
        return err;
    }
    *tp = t;
    return 0;
}

static struct txn_tab *tab_of(struct txn_layer *l, const struct txn *t)
{
    return (t->kind == TXN_SERVER_INVITE || t->kind == TXN_SERVER_NONINVITE) ? &l->srv : &l->cli;
}

/**
 * Move @p t to Terminated: it stops its timers, leaves its table, reports to the TU (when
 * @p notify) and drops the layer's reference. Idempotent.
 * @param t the transaction
 * @param notify call tu->terminated (false when the layer itself is being freed)
 */
void txn__terminate(struct txn *t, bool notify)
{
    struct txn_layer *l = t->l;

    if (t->gone || !l)
        return;
    t->gone = true;
    t->state = TXN_TERMINATED;
    sv_timer_cancel(&t->tm_retx);
    sv_timer_cancel(&t->tm_to);
    txn__tab_del(tab_of(l, t), t);
    txn__tab_del(&l->conns, t);
    l->stats.live--;
    if (notify && l->tu.terminated) {
        txn__cb_enter(l);
        l->tu.terminated(t, t->owner);
        txn__cb_leave(l);
    }
    t->l = NULL;
    sv_deref(t);
}

static void kill_h(void *arg)
{
    struct txn *t = arg;

    txn__terminate(t, true);
}

/**
 * Terminate @p t on the next run of the wheel. Used where a state's timer is zero (reliable
 * transports) or a send failed, when the call came from the TU: the TU then never sees
 * tu->terminated for a transaction from inside its own call into the layer.
 * @param t the transaction
 */
void txn__terminate_soon(struct txn *t)
{
    if (t->gone || !t->l)
        return;
    sv_timer_cancel(&t->tm_retx);
    sv_timer_start(t->l->wheel, &t->tm_to, 0, kill_h, t);
}

/**
 * Terminate a transaction now, whatever its state: the TU gives up on it (a proxy's timer C,
 * RFC 3261 §16.8; a CANCELled INVITE with no final response after 64*T1, §9.1). Its timers
 * stop, it leaves the layer, and tu->terminated runs before this returns.
 * @param t the transaction; a terminated one (or NULL) is left alone
 */
void txn_terminate(struct txn *t)
{
    if (!t || t->gone)
        return;
    sv_ref(t);
    txn__terminate(t, true);
    sv_deref(t);
}

/* ---------------------------------------------------------------------------------------- */
/* The layer                                                                                  */

/**
 * Allocate a transaction layer.
 * @param lp        out: the layer, set only on success
 * @param wheel     the timer wheel of the event loop the layer belongs to
 * @param tm        T1, T2, T4; NULL for txn_timers_default
 * @param send      how to send (the node passes a wrapper of net_send)
 * @param send_ctx  passed to @p send
 * @param tu        the TU's callbacks (copied); request is required
 * @param tu_arg    passed to request, stray and cancel
 * @return 0, EINVAL, ENOMEM
 */
int txn_layer_alloc(struct txn_layer **lp, struct sv_wheel *wheel, const struct txn_timers *tm,
                    txn_send_h *send, void *send_ctx, const struct txn_tu *tu, void *tu_arg)
{
    struct txn_layer *l;

    if (!lp || !wheel || !send || !tu || !tu->request)
        return EINVAL;
    if (!tm)
        tm = &txn_timers_default;
    if (!tm->t1_ms || tm->t2_ms < tm->t1_ms || !tm->t4_ms || tm->t1_ms > UINT32_MAX / 64)
        return EINVAL;
    l = sv_calloc(1, sizeof(*l));
    if (!l)
        return ENOMEM;
    if (tab_init(&l->srv, false) || tab_init(&l->cli, false) || tab_init(&l->conns, true)) {
        sv_free(l->srv.b);
        sv_free(l->cli.b);
        sv_free(l);
        return ENOMEM;
    }
    l->wheel = wheel;
    l->tm = *tm;
    l->send = send;
    l->send_ctx = send_ctx;
    l->tu = *tu;
    l->tu_arg = tu_arg;
    *lp = l;
    return 0;
}

static void tab_clear(struct txn_tab *tab)
{
    for (size_t i = 0; i <= tab->mask; i++) {
        while (tab->b[i])
            txn__terminate(tab->b[i], false);
    }
    sv_free(tab->b);
}

/**
 * Terminate every transaction silently (no TU callback) and free the layer. Transactions the
 * TU still holds references to stay readable, but every call on them that would need the
 * layer fails with EINVAL. Must not be called from inside a TU callback.
 * @param l the layer, or NULL
 */
void txn_layer_free(struct txn_layer *l)
{
    if (!l)
        return;
    assert(l->depth == 0);
    tab_clear(&l->srv);
    tab_clear(&l->cli);
    sv_free(l->conns.b); /* emptied by terminating the client transactions */
    sv_free(l);
}

/**
 * Let client transactions send through @p send, which reports the flow it used.
 * @param l     the layer
 * @param send  the function; NULL: the plain one given at txn_layer_alloc
 */
void txn_layer_send_flow_set(struct txn_layer *l, txn_send_flow_h *send)
{
    if (l)
        l->send_flow = send;
}

/**
 * A connection closed: with an error, fail the client transactions that sent on it and have
 * not heard back yet. Those that have (Proceeding, Completed, Accepted) stay: a response may
 * still come on another connection, and their timers end them anyway (§17.1.4 leaves it open).
 *
 * The transactions of @p conn are first unlinked from the table onto a private list (the
 * connection is gone: nothing needs to find them by it any more), each with a reference; then
 * each still waiting is failed. The TU may do anything from tu->failed, terminating others
 * of the list included; the references keep them readable until their turn.
 *
 * @param l     the layer
 * @param conn  the connection (compared only)
 * @param err   why it closed; 0 (orderly) changes nothing
 */
void txn_layer_conn_closed(struct txn_layer *l, const struct net_conn *conn, int err)
{
    uint32_t h;
    struct txn *t, *next, *list = NULL;

    if (!l || !conn)
        return;
    h = txn__hash_conn(conn);
    for (t = txn__tab_first(&l->conns, h); t; t = next) {
        next = t->cl.next;
        if (t->chash != h || t->flow.conn != conn)
            continue;
        txn__tab_del(&l->conns, t);
        t->cl.next = list; /* unlinked (cl.pprev NULL): next is free for the private list */
        list = sv_ref(t);
    }
    for (t = list; t; t = next) {
        next = t->cl.next;
        t->cl.next = NULL;
        if (err && !t->gone && t->l && (t->state == TXN_CALLING || t->state == TXN_TRYING)) {
            l->stats.transport_errors++;
            txn__client_fail(t, err);
        }
        sv_deref(t);
    }
}

/**
 * Feed one received message to the layer.
 * @param l     the layer
 * @param msg   a parsed message that passed sip_msg_check
 * @param flow  the flow it came on (required for requests: responses go back along it)
 */
void txn_layer_recv(struct txn_layer *l, const struct sip_msg *msg, const struct net_flow *flow)
{
    if (!l || !msg)
        return;
    if (msg->req)
        txn__server_recv(l, msg, flow);
    else
        txn__client_recv(l, msg, flow);
}

/* ---------------------------------------------------------------------------------------- */
/* Accessors                                                                                  */

enum txn_kind txn_kind_get(const struct txn *t)
{
    return t->kind;
}

enum txn_state txn_state_get(const struct txn *t)
{
    return t->state;
}

/*
 * A client transaction's request is parsed on the first call and kept until the transaction
 * goes: the matching of responses never needs it, and most transactions end without a
 * CANCEL or an ACK to build from it. A completed non-INVITE server transaction has none left
 * (txn__server_compact). @return NULL without memory, or once compacted.
 */
const struct sip_msg *txn_request_msg(const struct txn *t)
{
    struct txn *mt = (struct txn *)t; /* the parse is a cache; every transaction is a heap object */
    struct sip_msg *m;
    size_t nhdr;

    if (t->req)
        return t->req;
    if (!t->raw.p)
        return NULL;
    nhdr = header_lines(t->raw.p, t->raw.l);
    if (!(m = sv_malloc(msg_size(nhdr))))
        return NULL;
    if (parse_into(t->raw.p, t->raw.l, m, nhdr)) {
        sv_free(m);
        return NULL;
    }
    mt->req = m;
    mt->req_blk = m;
    return m;
}

const struct net_flow *txn_flow(const struct txn *t)
{
    return t->has_flow ? &t->flow : NULL;
}

void *txn_owner(const struct txn *t)
{
    return t->owner;
}

void txn_owner_set(struct txn *t, void *owner)
{
    t->owner = owner;
}

const struct txn_stats *txn_stats_get(const struct txn_layer *l)
{
    return &l->stats;
}

/**
 * @p ms, lengthened so that it ends on a multiple of the layer's linger grain of wheel time
 * (unchanged with no grain): the delay of a timer that only ends a finished transaction.
 */
uint64_t txn__linger_ms(const struct txn_layer *l, uint64_t ms)
{
    uint64_t g = l->tm.linger_grain_ms, at;

    if (!g || !ms)
        return ms;
    at = sv_wheel_time(l->wheel) + ms;
    return ms + (g - at % g) % g;
}

/**
 * New timers for what starts from now on (a reload); running timers keep their intervals.
 * @return 0, or EINVAL when @p tm breaks the rules txn_layer_alloc checks (nothing changed)
 */
int txn_layer_timers_set(struct txn_layer *l, const struct txn_timers *tm)
{
    if (!l || !tm || !tm->t1_ms || tm->t2_ms < tm->t1_ms || !tm->t4_ms ||
        tm->t1_ms > UINT32_MAX / 64)
        return EINVAL;
    l->tm = *tm;
    return 0;
}
