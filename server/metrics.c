/* metrics.c — atomic counters, and their rendering. */
#include "metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const METHODS[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"};
#define NMETHODS (sizeof METHODS / sizeof METHODS[0])
#define NCLASSES 5  /* 1xx .. 5xx */

static const double BUCKETS[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define NBUCKETS (sizeof BUCKETS / sizeof BUCKETS[0])

struct hl_srv_metrics {
    atomic_uint_fast64_t requests[NMETHODS][NCLASSES];
    atomic_uint_fast64_t buckets[NBUCKETS + 1];  /* not cumulative; the last is +Inf */
    atomic_uint_fast64_t duration_ns;
    atomic_uint_fast64_t response_bytes;
    atomic_int_fast64_t connections;
};

hl_srv_metrics *hl_srv_metrics_new(void)
{
    /* calloc's zero bytes are valid zero atomics on every target we build for. */
    return calloc(1, sizeof(hl_srv_metrics));
}

void hl_srv_metrics_delete(hl_srv_metrics *m)
{
    free(m);
}

static size_t method_index(const char *method)
{
    for (size_t i = 0; i + 1 < NMETHODS; i++)
        if (strcmp(method, METHODS[i]) == 0)
            return i;
    return NMETHODS - 1;
}

void hl_srv_metrics_request(hl_srv_metrics *m, const char *method, int status, double seconds,
                            uint64_t bytes)
{
    if (status < 100 || status > 599)
        return;
    atomic_fetch_add(&m->requests[method_index(method)][status / 100 - 1], 1);
    size_t b = 0;
    while (b < NBUCKETS && seconds > BUCKETS[b])
        b++;
    atomic_fetch_add(&m->buckets[b], 1);
    atomic_fetch_add(&m->duration_ns, (uint_fast64_t)(seconds * 1e9));
    atomic_fetch_add(&m->response_bytes, bytes);
}

void hl_srv_metrics_connections(hl_srv_metrics *m, int delta)
{
    atomic_fetch_add(&m->connections, delta);
}

typedef struct text {
    char *buf;
    size_t len, cap;
    bool oom;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...)
{
    for (;;) {
        if (t->oom)
            return;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap * 2 + (size_t)(n > 0 ? n : 0);
        char *grown = realloc(t->buf, cap);
        if (grown == NULL) {
            t->oom = true;
            return;
        }
        t->buf = grown;
        t->cap = cap;
    }
}

static void family(text *t, const char *name, const char *type, const char *help)
{
    put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void scalar(text *t, const char *name, const char *type, const char *help, uint64_t v)
{
    family(t, name, type, help);
    put(t, "%s %llu\n", name, (unsigned long long)v);
}

static void render_requests(text *t, hl_srv_metrics *m)
{
    family(t, "heaplab_http_requests_total", "counter", "HTTP requests answered, by method and status class.");
    for (size_t i = 0; i < NMETHODS; i++)
        for (size_t c = 0; c < NCLASSES; c++) {
            uint64_t v = atomic_load(&m->requests[i][c]);
            if (v)
                put(t, "heaplab_http_requests_total{method=\"%s\",code=\"%zuxx\"} %llu\n", METHODS[i], c + 1,
                    (unsigned long long)v);
        }
}

static void render_durations(text *t, hl_srv_metrics *m)
{
    const char *name = "heaplab_http_request_duration_seconds";
    family(t, name, "histogram", "Time from request line to completed answer (streams: their lifetime).");
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= NBUCKETS; b++) {
        cumulative += atomic_load(&m->buckets[b]);
        if (b < NBUCKETS)
            put(t, "%s_bucket{le=\"%g\"} %llu\n", name, BUCKETS[b], (unsigned long long)cumulative);
        else
            put(t, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cumulative);
    }
    put(t, "%s_sum %.9f\n", name, (double)atomic_load(&m->duration_ns) / 1e9);
    put(t, "%s_count %llu\n", name, (unsigned long long)cumulative);
}

static void render_api(text *t, const hl_api_stats *s)
{
    scalar(t, "heaplab_heaps", "gauge", "Heaps that exist now.", s->heaps);
    scalar(t, "heaplab_heaps_created_total", "counter", "Heaps created.", s->heaps_created_total);
    scalar(t, "heaplab_heaps_deleted_total", "counter", "Heaps deleted.", s->heaps_deleted_total);
    scalar(t, "heaplab_objects", "gauge", "Live objects over all heaps.", s->objects);
    scalar(t, "heaplab_heap_allocated_bytes", "gauge", "Allocator bytes in use over all heaps.", s->bytes);
    scalar(t, "heaplab_operations_total", "counter", "Heap operations applied.", s->ops_total);
    scalar(t, "heaplab_gc_collections_total", "counter", "Cyclic garbage collections run.",
           s->collections_total);
    scalar(t, "heaplab_gc_collected_objects_total", "counter", "Objects freed by the cyclic collector.",
           s->collected_total);
    scalar(t, "heaplab_event_streams_open", "gauge", "Server-Sent Event streams open.", s->streams_open);
    family(t, "heaplab_journal_unsynced_age_seconds", "gauge",
           "Age of the oldest answered change not yet fsynced: what a machine crash would lose now.");
    put(t, "heaplab_journal_unsynced_age_seconds %.6f\n", s->unsynced_seconds);
}

char *hl_srv_metrics_render(hl_srv_metrics *m, const hl_api_stats *api, size_t *len)
{
    text t = {.buf = malloc(4096), .cap = 4096};
    t.oom = t.buf == NULL;
    family(&t, "heaplab_build_info", "gauge", "Always 1; the version is in the label.");
    put(&t, "heaplab_build_info{version=\"%s\"} 1\n", HEAPLAB_VERSION);
    render_requests(&t, m);
    render_durations(&t, m);
    scalar(&t, "heaplab_http_response_bytes_total", "counter", "Response body bytes sent.",
           atomic_load(&m->response_bytes));
    int64_t conns = atomic_load(&m->connections);
    scalar(&t, "heaplab_http_open_connections", "gauge", "Client connections open now.",
           conns > 0 ? (uint64_t)conns : 0);
    render_api(&t, api);
    if (t.oom) {
        free(t.buf);
        return NULL;
    }
    *len = t.len;
    return t.buf;
}
