/**
 * @file addr.c  Socket addresses: parsing, printing, comparing, hashing, binding.
 *
 * A `struct net_addr` is always a numeric IPv4 or IPv6 address with a port: resolving names
 * is the business of the layer above (RFC 3263), never of the transport.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "net_int.h"

/**
 * The name of a transport as it appears in a Via header.
 * @param tp  the transport
 * @return "UDP", "TCP", "TLS", or "?" for a value out of range
 */
const char *net_tp_name(enum net_tp tp)
{
    switch (tp) {
    case NET_UDP:
        return "UDP";
    case NET_TCP:
        return "TCP";
    case NET_TLS:
        return "TLS";
    }
    return "?";
}

/* Decimal port of 1 to 5 digits filling [p, end), at most 65535. */
static int parse_port(const char *p, const char *end, uint16_t *port)
{
    unsigned v = 0;

    if (p == end || end - p > 5)
        return EINVAL;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return EINVAL;
        v = v * 10 + (unsigned)(*p - '0');
    }
    if (v > 65535)
        return EINVAL;
    *port = (uint16_t)v;
    return 0;
}

/**
 * Parse a numeric address with a port: "1.2.3.4:5060" or "[::1]:5061". No names, no scope
 * ids, no missing port.
 * @param a  out: the address; untouched on failure
 * @param s  NUL-terminated text
 * @return 0 or EINVAL
 */
int net_addr_parse(struct net_addr *a, const char *s)
{
    char host[INET6_ADDRSTRLEN];
    const char *colon, *hend;
    uint16_t port;
    struct net_addr r;
    bool v6 = s && s[0] == '[';

    if (!a || !s)
        return EINVAL;
    memset(&r, 0, sizeof(r));
    if (v6) {
        hend = strchr(s, ']');
        if (!hend || hend[1] != ':')
            return EINVAL;
        colon = hend + 1;
        s++;
    } else {
        colon = strchr(s, ':');
        if (!colon || strchr(colon + 1, ':'))
            return EINVAL; /* an IPv6 address must be bracketed */
        hend = colon;
    }
    if (hend == s || (size_t)(hend - s) >= sizeof(host))
        return EINVAL;
    memcpy(host, s, (size_t)(hend - s));
    host[hend - s] = '\0';
    if (parse_port(colon + 1, colon + 1 + strlen(colon + 1), &port))
        return EINVAL;

    if (v6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&r.ss;
        if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
            return EINVAL;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        r.len = sizeof(*in6);
    } else {
        struct sockaddr_in *in4 = (struct sockaddr_in *)&r.ss;
        if (inet_pton(AF_INET, host, &in4->sin_addr) != 1)
            return EINVAL;
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        r.len = sizeof(*in4);
    }
    *a = r;
    return 0;
}

/* Append the decimal digits of @p v at @p p. @return the end. */
static char *put_dec(char *p, unsigned v)
{
    char d[5];
    int n = 0;

    do
        d[n++] = (char)('0' + v % 10);
    while ((v /= 10) && n < (int)sizeof(d));
    while (n)
        *p++ = d[--n];
    return p;
}

/* "a.b.c.d:port" of @p in4 into @p buf, cut to @p sz like snprintf. The P-CSCF names a UE's
 * flow this way for every request it gets, and inet_ntop's sprintf showed in bench/register. */
static void ipv4_str(const struct sockaddr_in *in4, char *buf, size_t sz)
{
    char tmp[sizeof("255.255.255.255:65535")], *p = tmp;
    const uint8_t *o = (const uint8_t *)&in4->sin_addr.s_addr;

    for (int i = 0; i < 4; i++) {
        p = put_dec(p, o[i]);
        *p++ = i < 3 ? '.' : ':';
    }
    p = put_dec(p, ntohs(in4->sin_port));
    size_t n = (size_t)(p - tmp) < sz ? (size_t)(p - tmp) : sz - 1;
    memcpy(buf, tmp, n);
    buf[n] = '\0';
}

/**
 * Print an address as net_addr_parse() reads it.
 * @param a    the address
 * @param buf  out: at least 64 octets hold any address
 * @param sz   size of @p buf
 * @return @p buf ("?" for an address of no known family)
 */
const char *net_addr_str(const struct net_addr *a, char *buf, size_t sz)
{
    char host[INET6_ADDRSTRLEN];

    if (!buf || !sz)
        return buf;
    if (a && a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)&a->ss;
        ipv4_str(in4, buf, sz);
    } else if (a && a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(buf, sz, "[%s]:%u", host, ntohs(in6->sin6_port));
    } else {
        snprintf(buf, sz, "?");
    }
    return buf;
}

/**
 * @return whether @p a and @p b are the same family, IP, port (and IPv6 scope)
 */
bool net_addr_eq(const struct net_addr *a, const struct net_addr *b)
{
    return net__addr_ip_eq(a, b) && net_addr_port(a) == net_addr_port(b);
}

/**
 * @return the port of @p a in host order, 0 for an address of no known family
 */
uint16_t net_addr_port(const struct net_addr *a)
{
    if (a && a->ss.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
    if (a && a->ss.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
    return 0;
}

bool net__addr_ip_eq(const struct net_addr *a, const struct net_addr *b)
{
    if (!a || !b || a->ss.ss_family != b->ss.ss_family)
        return false;
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)&a->ss;
        const struct sockaddr_in *y = (const struct sockaddr_in *)&b->ss;
        return x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)&a->ss;
        const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)&b->ss;
        return memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0 &&
               x->sin6_scope_id == y->sin6_scope_id;
    }
    return false;
}

/* 64-bit finaliser of MurmurHash3: every input bit reaches every output bit. */
static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

uint64_t net__addr_hash(const struct net_addr *a, bool with_port, uint64_t seed)
{
    const unsigned char *ip = NULL;
    size_t n = 0;
    uint64_t h = mix64(seed ^ a->ss.ss_family);

    if (a->ss.ss_family == AF_INET) {
        ip = (const unsigned char *)&((const struct sockaddr_in *)&a->ss)->sin_addr;
        n = 4;
    } else if (a->ss.ss_family == AF_INET6) {
        ip = (const unsigned char *)&((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
        n = 16;
    }
    for (size_t i = 0; i < n; i += 4) {
        uint32_t w;
        memcpy(&w, ip + i, 4);
        h = mix64(h ^ w);
    }
    if (with_port)
        h = mix64(h ^ ((uint64_t)net_addr_port(a) << 32));
    return h;
}

_Static_assert(offsetof(struct sockaddr_in, sin_family) == 0 &&
                   offsetof(struct sockaddr_in6, sin6_family) == 0,
               "union net_sockaddr reads the family through its first member");

/* A sockaddr longer than an IPv6 one (AF_UNIX, say) is cut short: nodes speak IP only. */
void net__addr_set(struct net_addr *a, const struct sockaddr *sa, socklen_t len)
{
    memset(a, 0, sizeof(*a));
    if (len > sizeof(a->ss))
        len = sizeof(a->ss);
    memcpy(&a->ss, sa, len);
    a->len = len;
}

/*
 * A port for a shared (SO_REUSEPORT) bind to port 0 of @p addr: Linux's port-0 search counts
 * a port that another SO_REUSEPORT socket of the same user holds as free, and a second
 * process then shares it (and its datagrams). A plain bind conflicts with every socket, so
 * the port it gets is held by nobody; it is released at once for the shared bind to take.
 * @return 0 with *out the address to bind, or an errno.
 */
static int unshared_port(int type, const struct net_addr *addr, struct net_addr *out)
{
    int fd = socket(addr->ss.ss_family, type | SOCK_CLOEXEC, 0), one = 1, err = 0;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    if (fd < 0)
        return errno;
    if (addr->ss.ss_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)))
        err = errno;
    else if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) ||
             getsockname(fd, (struct sockaddr *)&ss, &sl))
        err = errno;
    else
        net__addr_set(out, (const struct sockaddr *)&ss, sl);
    close(fd);
    return err;
}

static int sock_bind_once(int *fdp, int type, const struct net_addr *addr, bool reuseport,
                          struct net_addr *bound)
{
    int fam = addr->ss.ss_family, one = 1, err;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int fd;

    if (fam != AF_INET && fam != AF_INET6)
        return EAFNOSUPPORT;
    fd = socket(fam, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    /* Each family gets its own socket, so that [::]:5060 and 0.0.0.0:5060 can both bind and
       a v4 peer never shows up as a v4-mapped v6 address. */
    if (fam == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)))
        goto fail;
    /* Streams: rebind over TIME_WAIT after a restart. Not UDP, where it lets a second process
       share the port. */
    if (type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
        goto fail;
    /* Workers: every worker binds the same address; the kernel hashes a UDP 4-tuple (and so a
       peer's retransmissions and CANCELs) to one socket, and spreads new connections. */
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)))
        goto fail;
    if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len))
        goto fail;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl))
        goto fail;
    net__addr_set(bound, (const struct sockaddr *)&ss, sl);
    *fdp = fd;
    return 0;

fail:
    err = errno;
    close(fd);
    return err;
}

/* The first port bound may be taken between the probe and the bind: a few more tries. */
#define SHARED_BIND_TRIES 8

int net__sock_bind(int *fdp, int type, const struct net_addr *addr, bool reuseport,
                   struct net_addr *bound)
{
    struct net_addr a;
    int err = EADDRINUSE;

    if (!reuseport || net_addr_port(addr) != 0)
        return sock_bind_once(fdp, type, addr, reuseport, bound);
    for (unsigned i = 0; i < SHARED_BIND_TRIES && err == EADDRINUSE; i++) {
        err = unshared_port(type, addr, &a);
        if (!err)
            err = sock_bind_once(fdp, type, &a, true, bound);
    }
    return err;
}

int net_addr_probe(enum net_tp tp, const struct net_addr *addr)
{
    struct net_addr bound;
    int fd, err;

    if (!addr || net_addr_port(addr) == 0)
        return 0;
    err = net__sock_bind(&fd, tp == NET_UDP ? SOCK_DGRAM : SOCK_STREAM, addr, false, &bound);
    if (!err)
        close(fd);
    return err;
}
