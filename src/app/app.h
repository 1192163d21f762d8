/**
 * @file app.h  Private to the application layer: the subcommands of the sipveil binary.
 */
#ifndef SIPVEIL_APP_H
#define SIPVEIL_APP_H

#include <stdio.h>

/* sysexits.h values, spelled out so the exit codes are documented where they are used */
#define APP_EX_OK 0
#define APP_EX_USAGE 64
#define APP_EX_DATAERR 65  /* sipveil parse: malformed message */
#define APP_EX_SEMANTIC 66 /* sipveil parse: well-formed, but a server would refuse it */
#define APP_EX_NOINPUT 66
#define APP_EX_NOUSER 67 /* sipveil sub: no such subscriber */
#define APP_EX_UNAVAILABLE 69
#define APP_EX_SOFTWARE 70
#define APP_EX_OSERR 71
#define APP_EX_CANTCREAT 73 /* a file sipveil must write cannot be created */
#define APP_EX_IOERR 74
#define APP_EX_CONFIG 78

int app_cmd_parse(int argc, char **argv);
int app_cmd_run(int argc, char **argv);
int app_cmd_li(int argc, char **argv);
int app_cmd_ua(int argc, char **argv);
int app_cmd_sub(int argc, char **argv);
void app_usage_parse(FILE *f);
void app_usage_run(FILE *f);
void app_usage_li(FILE *f);
void app_usage_ua(FILE *f);
void app_usage_sub(FILE *f);

/** Read all of @p path ("-" or NULL: stdin) into a malloc'd buffer. @return 0 or errno. */
int app_read_all(const char *path, char **buf, size_t *len, size_t max);

#endif
