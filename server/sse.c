/* sse.c — suspend when idle, resume when notified.
 *
 * The api may call notify with its own locks held, so no lock of ours is
 * ever held while calling into the api.  Instead, a notify that finds the
 * stream running sets `notified`, and the reader, having seen an empty
 * stream, suspends only if no notify came in meanwhile (else it reads
 * again): a notify is never lost between the empty read and the
 * suspension.  The hub lists live streams so that keep-alive ticks and
 * draining can reach suspended ones. */
#include "sse.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_SIZE 4096
#define READ_AGAIN (-3)
static const char KEEPALIVE[] = ": keep-alive\n\n";

typedef struct sse_stream {
    hl_srv_sse_hub *hub;
    struct MHD_Connection *conn;
    hl_api_stream *api;
    uint64_t *bytes;
    pthread_mutex_t mu;
    bool suspended;
    bool notified;       /* a notify came while not suspended */
    bool keepalive_due;
    struct sse_stream *prev, *next;
} sse_stream;

struct hl_srv_sse_hub {
    pthread_mutex_t mu;  /* guards the list; taken before a stream's mu */
    sse_stream *head;
    atomic_bool draining;
};

hl_srv_sse_hub *hl_srv_sse_hub_new(void)
{
    hl_srv_sse_hub *hub = calloc(1, sizeof *hub);
    if (hub) {
        pthread_mutex_init(&hub->mu, NULL);
        atomic_init(&hub->draining, false);
    }
    return hub;
}

void hl_srv_sse_hub_delete(hl_srv_sse_hub *hub)
{
    if (hub == NULL)
        return;
    pthread_mutex_destroy(&hub->mu);
    free(hub);
}

/* Caller holds s->mu. */
static void wake(sse_stream *s)
{
    if (s->suspended) {
        s->suspended = false;
        MHD_resume_connection(s->conn);
    } else {
        s->notified = true;
    }
}

static void on_notify(void *ctx)
{
    sse_stream *s = ctx;
    pthread_mutex_lock(&s->mu);
    wake(s);
    pthread_mutex_unlock(&s->mu);
}

/* After an empty read: what to send instead, or 0 having suspended, or
 * READ_AGAIN because a notify arrived during the read. */
static ssize_t idle(sse_stream *s, char *buf, size_t max)
{
    ssize_t n = 0;
    pthread_mutex_lock(&s->mu);
    if (atomic_load(&s->hub->draining)) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    } else if (s->keepalive_due && max >= sizeof KEEPALIVE - 1) {
        memcpy(buf, KEEPALIVE, sizeof KEEPALIVE - 1);
        n = (ssize_t)(sizeof KEEPALIVE - 1);
    } else if (s->notified) {
        n = READ_AGAIN;
    } else {
        s->suspended = true;
        MHD_suspend_connection(s->conn);
    }
    s->keepalive_due = false;
    s->notified = false;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static ssize_t on_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    sse_stream *s = cls;
    ssize_t n;
    do {
        pthread_mutex_lock(&s->mu);
        s->notified = false;
        pthread_mutex_unlock(&s->mu);
        n = hl_api_stream_read(s->api, buf, max);
        if (n == 0)
            n = idle(s, buf, max);
    } while (n == READ_AGAIN);
    if (n > 0)
        *s->bytes += (uint64_t)n;
    return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : n;
}

static void on_free(void *cls)
{
    sse_stream *s = cls;
    hl_srv_sse_hub *hub = s->hub;
    pthread_mutex_lock(&hub->mu);
    if (s->prev)
        s->prev->next = s->next;
    else
        hub->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    pthread_mutex_unlock(&hub->mu);
    /* After close the api calls notify no more, so s can go. */
    hl_api_stream_close(s->api);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static void link_stream(hl_srv_sse_hub *hub, sse_stream *s)
{
    pthread_mutex_lock(&hub->mu);
    s->next = hub->head;
    if (hub->head)
        hub->head->prev = s;
    hub->head = s;
    pthread_mutex_unlock(&hub->mu);
}

struct MHD_Response *hl_srv_sse_response(hl_srv_sse_hub *hub, struct MHD_Connection *conn,
                                         hl_api_stream *api, uint64_t *bytes)
{
    sse_stream *s = calloc(1, sizeof *s);
    if (s == NULL) {
        hl_api_stream_close(api);
        return NULL;
    }
    *s = (sse_stream){.hub = hub, .conn = conn, .api = api, .bytes = bytes};
    pthread_mutex_init(&s->mu, NULL);
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, BLOCK_SIZE, on_read, s, on_free);
    if (r == NULL) {
        hl_api_stream_close(api);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    link_stream(hub, s);
    hl_api_stream_set_notify(api, on_notify, s);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    /* Reverse proxies (nginx) would otherwise hold events back. */
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    return r;
}

static void wake_all(hl_srv_sse_hub *hub, bool keepalive)
{
    pthread_mutex_lock(&hub->mu);
    for (sse_stream *s = hub->head; s; s = s->next) {
        pthread_mutex_lock(&s->mu);
        if (s->suspended && keepalive)
            s->keepalive_due = true;
        wake(s);
        pthread_mutex_unlock(&s->mu);
    }
    pthread_mutex_unlock(&hub->mu);
}

void hl_srv_sse_tick(hl_srv_sse_hub *hub)
{
    wake_all(hub, true);
}

void hl_srv_sse_drain(hl_srv_sse_hub *hub)
{
    atomic_store(&hub->draining, true);
    wake_all(hub, false);
}
