/* request.h — one HTTP request as the server tracks it.
 *
 * Promise: an hl_srv_request is created when the request line arrives and
 * freed when libmicrohttpd reports the request complete; in between it
 * holds the raw target, the body gathered so far (never more than the
 * limit: past it the body is dropped and too_large set), and the status and
 * size of the answer, for the log and the metrics.
 */
#ifndef HL_SRV_REQUEST_H
#define HL_SRV_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct MHD_Connection;

typedef struct hl_srv_request {
    struct MHD_Connection *conn;
    char *target;         /* as sent: percent-encoded path and query */
    const char *path;     /* decoded by libmicrohttpd; valid during handler calls only */
    char method[16];
    bool started;         /* the access handler has seen this request */
    bool too_large;
    bool bad_framing;     /* conflicting Content-Length headers */
    char *body;
    size_t body_len, body_cap;
    struct timespec t0;
    int status;           /* 0 until an answer is queued */
    uint64_t bytes;       /* body bytes of the answer (streamed ones as they go) */
} hl_srv_request;

hl_srv_request *hl_srv_request_new(const char *target);  /* NULL on OOM */
void hl_srv_request_free(hl_srv_request *r);

/* false when out of memory (the request should be dropped). */
bool hl_srv_request_append(hl_srv_request *r, const char *data, size_t n, uint64_t limit);

/* The raw query (after '?'), or NULL. */
const char *hl_srv_request_query(const hl_srv_request *r);

double hl_srv_request_seconds(const hl_srv_request *r);

#endif
