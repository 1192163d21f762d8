/**
 * @file lab.h  Private to the application layer: the all-in-one lab (lab.c).
 */
#ifndef SIPVEIL_APP_LAB_H
#define SIPVEIL_APP_LAB_H

#include <stddef.h>

extern const char app_lab_config[];
extern const char app_lab_subscribers[];

/**
 * Make what the lab needs on first start, in the current directory: var/ (0700), the demo CA
 * and the P-CSCF's TLS certificate in var/tls/ (keys 0600, never committed), and the demo
 * subscribers in the store at @p store_path when it holds none.
 * @return an APP_EX_ status (logged)
 */
int app_lab_prepare(const char *store_path);

#endif
