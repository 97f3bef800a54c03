/* api.h — heaplab's HTTP semantics, without sockets.
 *
 * Promise: hl_api_handle() turns one request (method, path, query, the few
 * headers that matter, body) into one response, exactly as the v1 contract
 * (api/openapi.json) says: JSON bodies, RFC 9457 problem+json errors, auth
 * by bearer token, per-heap locking.  It knows nothing of connections, so
 * tests call it directly.  Thread-safe: any number of threads may call it at
 * once; requests on different heaps run in parallel.  Live event streams
 * (Server-Sent Events) are handed to the server as an hl_api_stream that it
 * reads from and is notified about; answers too large to hold in memory
 * (the graph export) as an hl_api_body_stream that it pulls from.
 */
#ifndef HL_API_H
#define HL_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct hl_api hl_api;

typedef struct hl_api_config {
    const char *admin_token;      /* opens every heap and GET /v1/heaps; NULL = none */
    bool no_auth;                 /* every request is admin (refused off loopback by the server) */
    uint64_t max_heaps;           /* 0 = unlimited */
    uint64_t max_objects;         /* per heap, default for POST /v1/heaps; 0 = unlimited */
    uint64_t max_bytes;           /* per heap; 0 = unlimited */
    size_t event_ring;            /* events kept per heap; 0 = 10,000 */
    size_t max_batch_ops;         /* 0 = 1,000,000 */
    const char *shard;            /* prefix of minted heap ids ("s2" -> "s2-..."), NULL = none */
    const char *data_dir;         /* where heaps are kept across restarts; NULL = memory only */
    int fsync;                    /* hl_fsync_policy (store.h): 0 always, 1 everysec, 2 no */
    uint64_t snapshot_after;      /* journal bytes that trigger a snapshot; 0 = never */
    void (*log)(void *ctx, const char *line); /* what recovery has to say; NULL = quiet */
    void *log_ctx;
} hl_api_config;

hl_api *hl_api_new(const hl_api_config *cfg);  /* NULL on OOM or an unusable data_dir */
/* hl_api_new, saying why it failed in why. */
hl_api *hl_api_open(const hl_api_config *cfg, char *why, size_t why_cap);
void hl_api_delete(hl_api *api);

typedef struct hl_api_request {
    const char *method;        /* "GET", "POST", ... */
    const char *path;          /* "/v1/heaps/abc/objects", percent-decoded, no query */
    const char *query;         /* raw query string without '?', or NULL */
    const char *authorization; /* the Authorization header, or NULL */
    const char *accept;        /* the Accept header, or NULL */
    const char *content_type;  /* the Content-Type header, or NULL */
    const char *last_event_id; /* the Last-Event-ID header (SSE reconnects), or NULL */
    const char *body;          /* may be NULL when body_len is 0 */
    size_t body_len;
} hl_api_request;

typedef struct hl_api_stream hl_api_stream;
typedef struct hl_api_body_stream hl_api_body_stream;

typedef struct hl_api_response {
    int status;
    const char *content_type;  /* static string */
    char *body;                /* malloc'd, NUL-terminated; NULL for 204 or a stream */
    size_t body_len;
    hl_api_stream *stream;     /* set for an SSE response: read it instead of body */
    hl_api_body_stream *body_stream; /* set for a streamed body of content_type: read it instead of body */
    char location[160];        /* Location header for 201s, or "" */
    char allow[64];            /* Allow header for 405s, or "" */
    bool auth_challenge;       /* 401: send WWW-Authenticate: Bearer */
} hl_api_response;

void hl_api_handle(hl_api *api, const hl_api_request *req, hl_api_response *out);
/* Frees body; stream and body_stream are the caller's to close. */
void hl_api_response_free(hl_api_response *r);

/* ---- Server-Sent Events ----
 * hl_api_stream_read copies the next bytes of the stream into buf: > 0 is
 * a byte count, 0 means nothing yet (suspend the connection until notified),
 * -1 means the stream ended (heap deleted or server draining).  notify is
 * called from whatever thread appends events (with heaplab's own locks
 * held, never the server's), possibly before the server got round to
 * suspending: it must only wake the connection, and a wake that arrives
 * before the suspend must not be lost. */
ssize_t hl_api_stream_read(hl_api_stream *s, char *buf, size_t cap);
void hl_api_stream_set_notify(hl_api_stream *s, void (*notify)(void *ctx), void *ctx);
void hl_api_stream_close(hl_api_stream *s);  /* the server is done with it; before hl_api_delete */

/* ---- streamed bodies ----
 * A finite answer produced as it is read, in bounded memory: the server
 * asks for the next bytes whenever the client has taken the last ones, so a
 * slow client slows the producer instead of filling a buffer.
 * hl_api_body_stream_read copies up to cap next bytes into buf: > 0 is a
 * byte count, 0 means the body is complete, -1 means it was cut short (heap
 * deleted, server draining, out of memory) and the transfer should fail
 * visibly rather than end as if complete.  It never returns 0 early and
 * never waits for anything but the heap's lock. */
ssize_t hl_api_body_stream_read(hl_api_body_stream *s, char *buf, size_t cap);
void hl_api_body_stream_close(hl_api_body_stream *s);  /* before hl_api_delete */

/* Ends every open stream (reads return -1) and refuses new ones: for
 * draining before shutdown. */
void hl_api_shutdown_streams(hl_api *api);

/* ---- numbers for /metrics (the server adds its own) ---- */
typedef struct hl_api_stats {
    uint64_t heaps;
    uint64_t heaps_created_total;
    uint64_t heaps_deleted_total;
    uint64_t objects;            /* live objects over all heaps */
    uint64_t bytes;              /* allocator bytes in use over all heaps */
    uint64_t ops_total;          /* operations applied */
    uint64_t collections_total;
    uint64_t collected_total;
    uint64_t streams_open;
    double unsynced_seconds;     /* with a data directory: age of the oldest write not yet fsynced */
} hl_api_stats;
void hl_api_get_stats(hl_api *api, hl_api_stats *out);

#endif
