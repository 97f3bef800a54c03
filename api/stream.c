/* stream.c — SSE streams; see stream.h. */
#include "stream.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FRAME_BATCH 64

struct hl_api_stream {
    hl_api_heap *entry;          /* referenced */
    hl_api_stream *next;         /* in entry->streams */
    uint64_t cursor;             /* next seq to deliver */
    char *pending;               /* formatted frames not yet read */
    size_t pending_len, pending_off;
    bool ended;
    atomic_bool *draining;
    atomic_uint_fast64_t *open_count;
    pthread_mutex_t notify_lock; /* serialises notify with close */
    void (*notify)(void *ctx);
    void *notify_ctx;
    bool closed;
};

hl_api_stream *hl_stream_open(hl_api_heap *e, uint64_t since, atomic_bool *draining, atomic_uint_fast64_t *open_count)
{
    hl_api_stream *s = calloc(1, sizeof *s);
    if (s == NULL || pthread_mutex_init(&s->notify_lock, NULL) != 0) {
        free(s);
        return NULL;
    }
    hl_registry_ref(e);
    s->entry = e;
    s->cursor = since;
    s->draining = draining;
    s->open_count = open_count;
    s->next = e->streams;
    e->streams = s;
    atomic_fetch_add(open_count, 1);
    return s;
}

hl_api_stream *hl_stream_next(hl_api_stream *s)
{
    return s->next;
}

void hl_stream_wake(hl_api_stream *s)
{
    pthread_mutex_lock(&s->notify_lock);
    if (!s->closed && s->notify != NULL)
        s->notify(s->notify_ctx);
    pthread_mutex_unlock(&s->notify_lock);
}

void hl_api_stream_set_notify(hl_api_stream *s, void (*notify)(void *ctx), void *ctx)
{
    pthread_mutex_lock(&s->notify_lock);
    s->notify = notify;
    s->notify_ctx = ctx;
    pthread_mutex_unlock(&s->notify_lock);
}

static bool append(hl_api_stream *s, const char *text, size_t n)
{
    char *grown = realloc(s->pending, s->pending_len + n + 1);
    if (grown == NULL)
        return false;
    s->pending = grown;
    memcpy(s->pending + s->pending_len, text, n);
    s->pending_len += n;
    s->pending[s->pending_len] = '\0';
    return true;
}

static bool append_frame(hl_api_stream *s, uint64_t seq, const char *event, json_t *data)
{
    char *body = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(data);
    if (body == NULL)
        return false;
    char head[96];
    int n = seq ? snprintf(head, sizeof head, "id: %llu\nevent: %s\ndata: ", (unsigned long long)seq, event)
                : snprintf(head, sizeof head, "event: %s\ndata: ", event);
    bool ok = append(s, head, (size_t)n) && append(s, body, strlen(body)) && append(s, "\n\n", 2);
    free(body);
    return ok;
}

/* Formats the events after the cursor (entry lock held). */
static void refill(hl_api_stream *s)
{
    hl_evring *ring = &s->entry->events;
    uint64_t first = hl_evring_first_seq(ring);
    if (s->cursor < first) {
        json_t *m = json_pack("{s:I,s:I}", "from", (json_int_t)s->cursor, "to", (json_int_t)(first - 1));
        append_frame(s, 0, "missed", m);
        s->cursor = first;
    }
    for (int i = 0; i < FRAME_BATCH && s->cursor < ring->next_seq; i++, s->cursor++) {
        const hl_evrec *e = hl_evring_get(ring, s->cursor);
        json_t *j = hl_evrec_json(e);
        const char *kind = json_string_value(json_object_get(j, "kind"));
        char name[32];
        snprintf(name, sizeof name, "%s", kind ? kind : "event");
        if (!append_frame(s, e->seq, name, j))
            break;
    }
}

ssize_t hl_api_stream_read(hl_api_stream *s, char *buf, size_t cap)
{
    if (s->pending_off == s->pending_len) {
        s->pending_off = s->pending_len = 0;
        if (s->ended)
            return -1;
        pthread_mutex_lock(&s->entry->lock);
        if (s->entry->deleted || atomic_load(s->draining))
            s->ended = true;
        else
            refill(s);
        pthread_mutex_unlock(&s->entry->lock);
        if (s->pending_len == 0)
            return s->ended ? -1 : 0;
    }
    size_t n = s->pending_len - s->pending_off;
    if (n > cap)
        n = cap;
    memcpy(buf, s->pending + s->pending_off, n);
    s->pending_off += n;
    return (ssize_t)n;
}

void hl_api_stream_close(hl_api_stream *s)
{
    pthread_mutex_lock(&s->notify_lock);
    s->closed = true;
    pthread_mutex_unlock(&s->notify_lock);
    hl_api_heap *e = s->entry;
    pthread_mutex_lock(&e->lock);
    for (hl_api_stream **p = &e->streams; *p != NULL; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            break;
        }
    }
    pthread_mutex_unlock(&e->lock);
    atomic_fetch_sub(s->open_count, 1);
    hl_registry_unref(e);
    pthread_mutex_destroy(&s->notify_lock);
    free(s->pending);
    free(s);
}
