/* state.h — what every request handler shares.
 *
 * Promise: one hl_srv_state lives from startup to exit and is read by
 * handlers on every thread; the only field that changes is `draining`,
 * once, from false to true, when shutdown begins.
 */
#ifndef HL_SRV_STATE_H
#define HL_SRV_STATE_H

#include <stdatomic.h>

#include "api.h"
#include "config.h"
#include "metrics.h"
#include "sse.h"

typedef struct hl_srv_state {
    const hl_srv_config *cfg;
    hl_api *api;
    char *static_root;      /* canonical cfg->static_dir; NULL when it is missing */
    hl_srv_metrics *metrics;
    hl_srv_sse_hub *sse;
    atomic_bool draining;
} hl_srv_state;

#endif
