/**
 * @file log.c  Leveled logging to stderr.
 *
 * One line per event: time, level, module, message. The level test happens in the sv_log
 * macro, so arguments of suppressed lines are never evaluated.
 */
#include <errno.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>
#include <sipveil/core.h>

enum sv_log_level sv_log_threshold = SV_LOG_NOTICE;

static const char *const level_names[] = {"err", "warn", "notice", "info", "debug"};

void sv_log_set_level(enum sv_log_level lvl)
{
    sv_log_threshold = lvl;
}

int sv_log_level_parse(const char *s, enum sv_log_level *lvl)
{
    for (size_t i = 0; i < SV_ARRAY_SIZE(level_names); i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *lvl = (enum sv_log_level)i;
            return 0;
        }
    }
    return EINVAL;
}

void sv_log_write(enum sv_log_level lvl, const char *module, const char *fmt, ...)
{
    char ts[32];
    struct timespec now;
    struct tm tm;
    va_list ap;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    flockfile(stderr);
    fprintf(stderr, "%s.%03ldZ %-6s %-6s ", ts, now.tv_nsec / 1000000L,
            level_names[lvl <= SV_LOG_DEBUG ? lvl : SV_LOG_DEBUG], module);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    funlockfile(stderr);
}
