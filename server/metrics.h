/* metrics.h — the server's counters, rendered for Prometheus.
 *
 * Promise: recording is lock-free and safe from any thread.  The rendering
 * is text exposition format 0.0.4: every family has HELP and TYPE, names
 * start with heaplab_, counters end in _total, units are seconds and bytes,
 * and no label carries a heap id (the label sets stay small and fixed).
 */
#ifndef HL_SRV_METRICS_H
#define HL_SRV_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "api.h"

#define HL_SRV_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct hl_srv_metrics hl_srv_metrics;

hl_srv_metrics *hl_srv_metrics_new(void);  /* NULL on OOM */
void hl_srv_metrics_delete(hl_srv_metrics *m);

void hl_srv_metrics_request(hl_srv_metrics *m, const char *method, int status, double seconds,
                            uint64_t bytes);
void hl_srv_metrics_connections(hl_srv_metrics *m, int delta);

/* malloc'd text (with *len), or NULL on OOM. */
char *hl_srv_metrics_render(hl_srv_metrics *m, const hl_api_stats *api, size_t *len);

#endif
