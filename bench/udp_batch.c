/**
 * @file udp_batch.c  UDP batching benchmark: recvfrom against recvmmsg, sendto against sendmmsg,
 * on 127.0.0.1, with SIP-sized datagrams.
 *
 * A sender thread sends datagrams of 500 octets to a receiver thread's socket. The receiver
 * runs the loop of an event-driven server: epoll_wait (level-triggered, as libevent is), then
 * one read callback that reads up to its batch and goes back to wait; whatever is left wakes
 * it again at once. The read modes are:
 *
 *   recvfrom          one recvfrom per wakeup (a read callback without batching);
 *   recvfrom x32      recvfrom until EAGAIN or 32 datagrams per wakeup (batching the wakeups
 *                     but not the system calls);
 *   recvmmsg N        one recvmmsg of up to N datagrams per wakeup, N = 8, 32 (what
 *                     src/net/udp.c does) and 64.
 *
 * The receive slots are 65,535 octets each, as in src/net/udp.c. Figures per datagram: the
 * receiver thread's CPU time (CLOCK_THREAD_CPUTIME_ID over the whole loop, so epoll_wait and
 * the wakeups count), its system calls (epoll_wait and reads, including those that found the
 * queue empty) and the mean batch, datagrams per read call that returned any.
 *
 * Pacing. A sender that is faster than the receiver overflows any receive buffer, and lost
 * datagrams cost the receiver nothing, which would flatter the slower modes. So the sender
 * sends in bursts and keeps at most a window of datagrams in flight (sent but not yet read,
 * as the receiver publishes after each read call). Before the runs, the benchmark fills a
 * socket with SO_RCVBUF as large as net.core.rmem_max allows and counts how many datagrams
 * it holds; the flood window is half of that. Each loss is still counted and printed (the
 * "lost" column), never hidden. Four loads:
 *
 *   backlog   the sender queues a whole window (bursts of 64) while the receiver waits, then
 *             the receiver drains it; only the draining is timed. Every wakeup finds a full
 *             queue: a server behind on its work, the best case for batching;
 *   stream    bursts of 64 with the window in flight, both threads running at once; on
 *             loopback the sender is the slower side, so the queue stays short;
 *   bursts 8  8 datagrams back to back, then wait until all are read;
 *   single    one datagram, then wait until it is read: a lightly loaded proxy, where each
 *             wakeup finds one datagram.
 *
 * The send side: sendto (one call per datagram, as src/net/udp.c) against sendmmsg of 2 (a
 * proxy that forwards a request and answers 100 Trying at once) and of 32, each datagram with
 * its own destination address (an unconnected socket, like a proxy's). The sender's CPU time is
 * read around each burst only, so the pacing wait is not counted; the cost of reading the
 * clock is measured and subtracted. On loopback the sender's CPU also carries the delivery
 * into the receiving socket (the kernel does it in the sending context), which a NIC would
 * do elsewhere; the difference between modes is what to read, not the absolute figure.
 *
 * Usage: bench_udp_batch [--count N] [--quick] [--no-pin]
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "bench_host.h"

#ifndef SV_BENCH_BUILD_TYPE
#define SV_BENCH_BUILD_TYPE "unknown"
#endif
#ifndef SV_BENCH_CFLAGS
#define SV_BENCH_CFLAGS "unknown"
#endif

#define PAYLOAD 500
#define SLOT 65535 /* a receive slot, as src/net/udp.c sizes them */
#define MAX_BATCH 64
#define FLOOD_BURST 64
#define STALL_NS 50000000.0 /* no progress for 50 ms: take what is in flight as lost */

enum rx_mode { RX_RECVFROM, RX_MMSG };
enum tx_mode { TX_SENDTO, TX_MMSG };

struct run {
    /* set up by the caller */
    int rfd, sfd;
    struct sockaddr_in dst;
    unsigned long n;
    unsigned burst, window;
    bool gated; /* backlog: the receiver reads only once the window is queued */
    enum rx_mode rx;
    unsigned rx_batch;
    enum tx_mode tx;
    unsigned tx_batch;
    /* shared between the threads */
    _Atomic unsigned long rcvd;
    _Atomic bool tx_done;
    _Atomic unsigned long gate; /* gated: datagrams the receiver may read so far */
    /* results */
    unsigned long received, bad, rx_wakeups, rx_reads, rx_nonempty;
    double rx_cpu_ns;
    unsigned long sent, tx_calls, stalls;
    double tx_cpu_ns;
};

static bool pin = true;
static double clock_cost_ns; /* one CLOCK_THREAD_CPUTIME_ID read */

__attribute__((noreturn)) static void die(const char *what)
{
    fprintf(stderr, "bench_udp_batch: %s: %s\n", what, strerror(errno));
    exit(1);
}

static double clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void pin_to(unsigned cpu)
{
    cpu_set_t set;

    if (!pin || sysconf(_SC_NPROCESSORS_ONLN) < 2)
        return;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* A UDP socket bound to 127.0.0.1 on an ephemeral port; its address into @p a if not NULL. */
static int udp_socket(int rcvbuf, struct sockaddr_in *a)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    if (fd < 0)
        die("socket");
    if (rcvbuf && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)))
        die("SO_RCVBUF");
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
        getsockname(fd, (struct sockaddr *)&sin, &len))
        die("bind");
    if (a)
        *a = sin;
    return fd;
}

static int rmem_max(void)
{
    FILE *f = fopen("/proc/sys/net/core/rmem_max", "r");
    int v = 212992;

    if (f) {
        if (fscanf(f, "%d", &v) != 1)
            v = 212992;
        fclose(f);
    }
    return v;
}

static void *rx_main(void *arg)
{
    struct run *r = arg;
    static struct mmsghdr mm[MAX_BATCH];
    static struct iovec iov[MAX_BATCH];
    static struct sockaddr_storage from[MAX_BATCH];
    char *buf = malloc((size_t)SLOT * MAX_BATCH);
    struct epoll_event ev = {.events = EPOLLIN};
    int ep = epoll_create1(0);
    unsigned long got = 0;
    bool timing = true; /* the CPU clock runs except while waiting at the gate */
    double t0;

    if (!buf || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, r->rfd, &ev))
        die("receiver setup");
    pin_to(0);
    t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    while (got < r->n) {
        int ne;

        if (r->gated && got >= atomic_load_explicit(&r->gate, memory_order_acquire)) {
            /* The queue is drained: stop the clock until the next backlog is in. */
            r->rx_cpu_ns += clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0 - clock_cost_ns;
            timing = false;
            while (got >= atomic_load_explicit(&r->gate, memory_order_acquire) &&
                   !atomic_load(&r->tx_done))
                sched_yield();
            if (got >= atomic_load_explicit(&r->gate, memory_order_acquire))
                break; /* the sender is done: the rest is lost */
            timing = true;
            t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
        }
        ne = epoll_wait(ep, &ev, 1, 200);

        r->rx_wakeups++;
        if (ne < 0 && errno == EINTR)
            continue;
        if (ne < 0)
            die("epoll_wait");
        if (ne == 0) {
            if (atomic_load(&r->tx_done))
                break; /* the sender is done and nothing came for 200 ms: the rest is lost */
            continue;
        }
        if (r->rx == RX_RECVFROM) {
            unsigned i;

            for (i = 0; i < r->rx_batch; i++) {
                socklen_t fl = sizeof(from[0]);
                ssize_t k =
                    recvfrom(r->rfd, buf, SLOT, MSG_DONTWAIT, (struct sockaddr *)&from[0], &fl);

                r->rx_reads++;
                if (k < 0) {
                    if (errno != EAGAIN && errno != EINTR)
                        die("recvfrom");
                    break;
                }
                r->bad += k != PAYLOAD;
                r->rx_nonempty++;
                got++;
            }
        } else {
            int k;

            /* Set the headers up again for every call, as src/net/udp.c does. */
            for (unsigned i = 0; i < r->rx_batch; i++) {
                iov[i].iov_base = buf + (size_t)i * SLOT;
                iov[i].iov_len = SLOT;
                memset(&mm[i], 0, sizeof(mm[i]));
                mm[i].msg_hdr.msg_iov = &iov[i];
                mm[i].msg_hdr.msg_iovlen = 1;
                mm[i].msg_hdr.msg_name = &from[i];
                mm[i].msg_hdr.msg_namelen = sizeof(from[i]);
            }
            k = recvmmsg(r->rfd, mm, r->rx_batch, MSG_DONTWAIT, NULL);
            r->rx_reads++;
            if (k < 0 && errno != EAGAIN && errno != EINTR)
                die("recvmmsg");
            if (k > 0) {
                r->rx_nonempty++;
                for (int i = 0; i < k; i++)
                    r->bad += mm[i].msg_len != PAYLOAD;
                got += (unsigned long)k;
            }
        }
        atomic_store_explicit(&r->rcvd, got, memory_order_release);
    }
    if (timing)
        r->rx_cpu_ns += clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0 - clock_cost_ns;
    r->received = got;
    close(ep);
    free(buf);
    return NULL;
}

/* Wait until @p b more datagrams keep at most the window in flight. A loss would stall the
 * sender for ever; after STALL_NS without progress, what is in flight is taken as lost. */
static void tx_wait(struct run *r, unsigned b, unsigned long *slack)
{
    unsigned long last = atomic_load_explicit(&r->rcvd, memory_order_acquire);
    double since = clock_ns(CLOCK_MONOTONIC);

    for (unsigned spins = 1;; spins++) {
        unsigned long rc = atomic_load_explicit(&r->rcvd, memory_order_acquire);
        unsigned long infl = r->sent - rc;

        if (*slack > infl)
            *slack = infl; /* some taken as lost came late */
        if (infl - *slack + b <= r->window)
            return;
        if (rc != last) {
            last = rc;
            since = clock_ns(CLOCK_MONOTONIC);
        } else if (spins % 256 == 0 && clock_ns(CLOCK_MONOTONIC) - since > STALL_NS) {
            *slack = r->sent - rc;
            r->stalls++;
            return;
        }
        if (spins % 64 == 0)
            sched_yield();
    }
}

static void *tx_main(void *arg)
{
    struct run *r = arg;
    static char data[MAX_BATCH][PAYLOAD];
    static struct mmsghdr mm[MAX_BATCH];
    static struct iovec iov[MAX_BATCH];
    unsigned long slack = 0;

    pin_to(1);
    for (unsigned i = 0; i < MAX_BATCH; i++) {
        memset(data[i], 'x', PAYLOAD);
        memcpy(data[i], "INVITE sip:", 11);
    }
    while (r->sent < r->n) {
        unsigned b = r->n - r->sent < r->burst ? (unsigned)(r->n - r->sent) : r->burst;
        double t0;

        if (!r->gated)
            tx_wait(r, b, &slack);
        t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
        if (r->tx == TX_SENDTO) {
            for (unsigned i = 0; i < b; i++) {
                ssize_t k;

                do {
                    k = sendto(r->sfd, data[i], PAYLOAD, 0, (struct sockaddr *)&r->dst,
                               sizeof(r->dst));
                    r->tx_calls++;
                } while (k < 0 && (errno == EINTR || errno == EAGAIN || errno == ENOBUFS));
                if (k < 0)
                    die("sendto");
            }
        } else {
            unsigned done = 0;

            while (done < b) {
                unsigned m = b - done < r->tx_batch ? b - done : r->tx_batch;
                int k;

                /* Each message names its destination, as a proxy's would (to different
                 * peers); headers are set up per call, as a send queue would be. */
                for (unsigned i = 0; i < m; i++) {
                    iov[i].iov_base = data[done + i];
                    iov[i].iov_len = PAYLOAD;
                    memset(&mm[i], 0, sizeof(mm[i]));
                    mm[i].msg_hdr.msg_iov = &iov[i];
                    mm[i].msg_hdr.msg_iovlen = 1;
                    mm[i].msg_hdr.msg_name = &r->dst;
                    mm[i].msg_hdr.msg_namelen = sizeof(r->dst);
                }
                k = sendmmsg(r->sfd, mm, m, 0);
                r->tx_calls++;
                if (k < 0 && errno != EINTR && errno != EAGAIN && errno != ENOBUFS)
                    die("sendmmsg");
                if (k > 0)
                    done += (unsigned)k;
            }
        }
        r->tx_cpu_ns += clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0 - clock_cost_ns;
        r->sent += b;
        if (r->gated && (r->sent % r->window == 0 || r->sent == r->n)) {
            /* A full backlog is queued: let the receiver drain it, and wait until it has. */
            atomic_store_explicit(&r->gate, r->sent, memory_order_release);
            tx_wait(r, r->window, &slack);
        }
    }
    atomic_store(&r->tx_done, true);
    return NULL;
}

static void run_one(struct run *r, int rcvbuf)
{
    pthread_t rt, st;

    r->rfd = udp_socket(rcvbuf, &r->dst);
    r->sfd = udp_socket(0, NULL);
    if (pthread_create(&rt, NULL, rx_main, r) || pthread_create(&st, NULL, tx_main, r)) {
        fprintf(stderr, "bench_udp_batch: pthread_create failed\n");
        exit(1);
    }
    pthread_join(st, NULL);
    pthread_join(rt, NULL);
    close(r->rfd);
    close(r->sfd);
}

/* How many datagrams a socket with @p rcvbuf holds before it drops. */
static unsigned capacity(int rcvbuf)
{
    struct sockaddr_in dst;
    int rfd = udp_socket(rcvbuf, &dst), sfd = udp_socket(0, NULL);
    char buf[PAYLOAD];
    unsigned n = 0;

    memset(buf, 'x', sizeof(buf));
    for (unsigned i = 0; i < 200000; i++)
        if (sendto(sfd, buf, sizeof(buf), 0, (struct sockaddr *)&dst, sizeof(dst)) < 0)
            die("sendto");
    while (recv(rfd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
        n++;
    close(rfd);
    close(sfd);
    return n;
}

static void calibrate_clock(void)
{
    double t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), t1;

    for (int i = 0; i < 10000; i++)
        clock_ns(CLOCK_THREAD_CPUTIME_ID);
    t1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    clock_cost_ns = (t1 - t0) / 10001;
}

struct load {
    const char *name;
    unsigned burst, window; /* window 0: the flood window */
    bool gated;
    unsigned long div; /* datagrams: --count / div */
};

static const struct {
    const char *name;
    enum rx_mode mode;
    unsigned batch;
} rx_modes[] = {
    {"recvfrom", RX_RECVFROM, 1}, {"recvfrom x32", RX_RECVFROM, 32}, {"recvmmsg 8", RX_MMSG, 8},
    {"recvmmsg 32", RX_MMSG, 32}, {"recvmmsg 64", RX_MMSG, 64},
};

static const struct {
    const char *name;
    enum tx_mode mode;
    unsigned batch;
} tx_modes[] = {
    {"sendto", TX_SENDTO, 1},
    {"sendmmsg 2", TX_MMSG, 2},
    {"sendmmsg 32", TX_MMSG, 32},
};

int main(int argc, char **argv)
{
    unsigned long count = 2000000;
    int rcvbuf, got_rcvbuf;
    socklen_t len = sizeof(got_rcvbuf);
    unsigned cap, flood_window;
    double la[3] = {0};
    int fails = 0;
    FILE *f;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            count = 20000;
        } else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            count = strtoul(argv[++i], NULL, 10);
            if (count < 1000)
                count = 1000;
        } else if (strcmp(argv[i], "--no-pin") == 0) {
            pin = false;
        } else {
            fprintf(stderr, "usage: bench_udp_batch [--count N] [--quick] [--no-pin]\n");
            return 2;
        }
    }

    rcvbuf = rmem_max();
    {
        int fd = udp_socket(rcvbuf, NULL);

        if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got_rcvbuf, &len))
            die("getsockopt");
        close(fd);
    }
    cap = capacity(rcvbuf);
    flood_window = cap / 2 > FLOOD_BURST ? cap / 2 : FLOOD_BURST;
    calibrate_clock();
    f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf %lf %lf", &la[0], &la[1], &la[2]) != 3)
            la[0] = la[1] = la[2] = 0;
        fclose(f);
    }

    bench_print_host(SV_BENCH_BUILD_TYPE, SV_BENCH_CFLAGS);
    printf("load:     %.2f %.2f %.2f (1, 5, 15 min, at start)\n", la[0], la[1], la[2]);
    printf("socket:   127.0.0.1, datagrams of %d octets; SO_RCVBUF %d asked (rmem_max), %d "
           "granted,\n          holds %u datagrams; flood window %u in flight\n",
           PAYLOAD, rcvbuf, got_rcvbuf, cap, flood_window);
    printf("threads:  receiver on CPU 0, sender on CPU 1%s; thread CPU clock read costs %.0f "
           "ns\n\n",
           pin ? "" : " (not pinned)", clock_cost_ns);

    static const struct load loads[] = {
        {"backlog (window queued, then drained)", FLOOD_BURST, 0, true, 2},
        {"stream (bursts of 64, window = capacity / 2)", FLOOD_BURST, 0, false, 1},
        {"bursts of 8, each read before the next", 8, 8, false, 4},
        {"single (one datagram, read before the next)", 1, 1, false, 20},
    };
    for (size_t l = 0; l < sizeof(loads) / sizeof(loads[0]); l++) {
        unsigned long n = count / loads[l].div;
        double base = 0;

        printf("receive, %s: %lu datagrams\n", loads[l].name, n);
        printf("%-14s %10s %8s %12s %12s %10s %12s\n", "mode", "received", "lost", "cpu ns/dgram",
               "calls/dgram", "mean batch", "vs recvfrom");
        for (size_t m = 0; m < sizeof(rx_modes) / sizeof(rx_modes[0]); m++) {
            struct run r = {
                .n = n,
                .burst = loads[l].burst,
                .window = loads[l].window ? loads[l].window : flood_window,
                .gated = loads[l].gated,
                .rx = rx_modes[m].mode,
                .rx_batch = rx_modes[m].batch,
                .tx = TX_MMSG,
                .tx_batch = 64,
            };
            double ns;

            if (r.gated) /* whole bursts, so that the gate opens on a full window */
                r.window -= r.window % FLOOD_BURST;
            run_one(&r, rcvbuf);
            if (!r.received || r.bad)
                fails++;
            ns = r.received ? r.rx_cpu_ns / (double)r.received : 0;
            if (m == 0)
                base = ns;
            printf("%-14s %10lu %8lu %12.0f %12.3f %10.2f %11.2fx\n", rx_modes[m].name, r.received,
                   r.sent - r.received, ns,
                   r.received ? (double)(r.rx_wakeups + r.rx_reads) / (double)r.received : 0,
                   r.rx_nonempty ? (double)r.received / (double)r.rx_nonempty : 0,
                   ns > 0 ? base / ns : 0);
            fflush(stdout);
        }
        printf("\n");
    }

    {
        double base = 0;
        unsigned long n = count / 2;

        printf("send, flood (bursts of 64, window = capacity / 2, receiver recvmmsg 64): %lu "
               "datagrams\n",
               n);
        printf("%-14s %10s %8s %12s %12s %12s\n", "mode", "sent", "lost", "cpu ns/dgram",
               "calls/dgram", "vs sendto");
        for (size_t m = 0; m < sizeof(tx_modes) / sizeof(tx_modes[0]); m++) {
            struct run r = {
                .n = n,
                .burst = FLOOD_BURST,
                .window = flood_window,
                .rx = RX_MMSG,
                .rx_batch = 64,
                .tx = tx_modes[m].mode,
                .tx_batch = tx_modes[m].batch,
            };
            double ns;

            run_one(&r, rcvbuf);
            if (!r.received || r.bad)
                fails++;
            ns = r.tx_cpu_ns / (double)r.sent;
            if (m == 0)
                base = ns;
            printf("%-14s %10lu %8lu %12.0f %12.3f %11.2fx\n", tx_modes[m].name, r.sent,
                   r.sent - r.received, ns, (double)r.tx_calls / (double)r.sent,
                   ns > 0 ? base / ns : 0);
            fflush(stdout);
        }
    }
    printf("\nlost = sent - received (receive buffer overflow); calls = epoll_wait + reads "
           "(receive),\nsend calls (send); mean batch = datagrams per read call that returned "
           "any.\n");
    if (fails) {
        fprintf(stderr, "bench_udp_batch: %d run(s) received nothing or bad lengths\n", fails);
        return 1;
    }
    return 0;
}
