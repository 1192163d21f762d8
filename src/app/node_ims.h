/**
 * @file node_ims.h  Private to the application layer: the IMS state of the nodes of one
 * `sipveil run` (the subscriber store and one struct ims_state per IMS node), made by the
 * main thread and shared by the workers.
 */
#ifndef SIPVEIL_APP_NODE_IMS_H
#define SIPVEIL_APP_NODE_IMS_H

#include <sipveil/ims.h>
#include "config.h"

struct worker;

struct app_ims_set {
    struct store *store;     /* NULL when no node needs it */
    struct ims_state **st;   /* by node index; NULL for a node of no IMS role */
    size_t n;
};

/** Whether node @p nc has an IMS role, and which. */
bool app_ims_role(const struct app_node *nc, enum ims_role *role);
/** The array, all NULL (workers keep a pointer to it). @return an APP_EX_ status. */
int app_ims_alloc(struct app_ims_set *im, const struct app_config *cfg);
/** Open the store and make each IMS node's state, once worker 0 has bound its listeners (a
 * node's URI names its first one). @return an APP_EX_ status. */
int app_ims_start(struct app_ims_set *im, const struct app_config *cfg, const struct worker *w0);
void app_ims_sweep(struct app_ims_set *im);
void app_ims_free(struct app_ims_set *im);

#endif
