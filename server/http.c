/* http.c — the request state machine on top of libmicrohttpd 0.9.75.
 *
 * A request's state is created by the URI-log callback (the earliest hook,
 * which also gives the raw target with its query) and freed by the
 * completion callback, which is also where it is logged and counted. */
#include "http.h"

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "request.h"
#include "routes.h"

struct hl_srv_http {
    struct MHD_Daemon *daemon;
    hl_srv_state *st;
    atomic_long in_flight;
    MHD_socket quiesced;
};

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)conn;
    hl_srv_http *h = cls;
    hl_srv_request *req = hl_srv_request_new(uri);
    if (req)
        atomic_fetch_add(&h->in_flight, 1);
    return req;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    hl_srv_http *h = cls;
    hl_srv_request *req = *con_cls;
    if (req == NULL)
        return;
    double secs = hl_srv_request_seconds(req);
    hl_srv_log_request(req->method, req->target, req->status, req->bytes, secs);
    hl_srv_metrics_request(h->st->metrics, req->method, req->status, secs, req->bytes);
    hl_srv_request_free(req);
    *con_cls = NULL;
    atomic_fetch_sub(&h->in_flight, 1);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)conn;
    (void)socket_context;
    hl_srv_http *h = cls;
    hl_srv_metrics_connections(h->st->metrics, code == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1);
}

static bool declared_too_large(struct MHD_Connection *conn, uint64_t limit)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl == NULL)
        return false;
    /* libmicrohttpd has already refused a malformed Content-Length. */
    return strtoull(cl, NULL, 10) > limit;
}

typedef struct length_headers {
    const char *first;
    bool conflict;
} length_headers;

static enum MHD_Result note_length(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    length_headers *l = cls;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) != 0)
        return MHD_YES;
    if (l->first == NULL)
        l->first = value;
    else if (strcmp(l->first, value) != 0)
        l->conflict = true;
    return MHD_YES;
}

/* Two different Content-Length headers mean two readings of where the
 * body ends: a request-smuggling vector behind a proxy (RFC 9112 6.3). */
static bool conflicting_lengths(struct MHD_Connection *conn)
{
    length_headers l = {NULL, false};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, note_length, &l);
    return l.conflict;
}

/* The first call sees headers only.  Answering now would make 0.9.75 close
 * the connection, so only an oversized body is refused here, on purpose
 * before it is read. */
static enum MHD_Result first_call(hl_srv_http *h, hl_srv_request *req, const char *method)
{
    req->started = true;
    snprintf(req->method, sizeof req->method, "%s", method);
    if (conflicting_lengths(req->conn))
        req->bad_framing = true;
    else if (declared_too_large(req->conn, h->st->cfg->max_body))
        req->too_large = true;
    else
        return MHD_YES;
    return hl_srv_routes_dispatch(h->st, req);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    hl_srv_http *h = cls;
    hl_srv_request *req = *con_cls;
    if (req == NULL)
        return MHD_NO;  /* out of memory when the request began */
    req->conn = conn;
    req->path = url;
    if (!req->started)
        return first_call(h, req, method);
    if (*upload_data_size > 0) {
        bool ok = hl_srv_request_append(req, upload_data, *upload_data_size, h->st->cfg->max_body);
        *upload_data_size = 0;
        return ok ? MHD_YES : MHD_NO;
    }
    if (req->status != 0)
        return MHD_YES;
    return hl_srv_routes_dispatch(h->st, req);
}

static unsigned int daemon_flags(const hl_srv_config *cfg)
{
    unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    if (cfg->addr.any_v6)
        flags |= MHD_USE_DUAL_STACK;
    else if (cfg->addr.v6)
        flags |= MHD_USE_IPv6;
    return flags;
}

hl_srv_http *hl_srv_http_start(hl_srv_state *st)
{
    const hl_srv_config *cfg = st->cfg;
    hl_srv_http *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    h->st = st;
    h->quiesced = MHD_INVALID_SOCKET;
    h->daemon = MHD_start_daemon(
        daemon_flags(cfg), (uint16_t)cfg->port, NULL, NULL, on_request, h,
        MHD_OPTION_EXTERNAL_LOGGER, hl_srv_log_mhd, NULL,
        MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&cfg->addr.ss,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->max_connections,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cfg->connection_memory,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->idle_timeout,
        /* RFC 9112 strictly: no HTTP/1.1 request without Host, no
         * conflicting Content-Length headers (request smuggling). */
        MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
        /* Last, so that one thread ends the list here: libmicrohttpd warns
         * about a pool size of 0 or 1 instead of just using one thread. */
        cfg->threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, (unsigned int)cfg->threads,
        MHD_OPTION_END);
    if (h->daemon == NULL) {
        free(h);
        return NULL;
    }
    return h;
}

uint16_t hl_srv_http_port(hl_srv_http *h)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}

void hl_srv_http_quiesce(hl_srv_http *h)
{
    h->quiesced = MHD_quiesce_daemon(h->daemon);
}

bool hl_srv_http_wait_idle(hl_srv_http *h, unsigned timeout_ms)
{
    const struct timespec step = {.tv_nsec = 20 * 1000 * 1000};
    for (unsigned waited = 0; atomic_load(&h->in_flight) > 0; waited += 20) {
        if (waited >= timeout_ms)
            return false;
        nanosleep(&step, NULL);
    }
    return true;
}

void hl_srv_http_stop(hl_srv_http *h)
{
    MHD_stop_daemon(h->daemon);
    /* After quiescing, the listening socket is ours to close. */
    if (h->quiesced != MHD_INVALID_SOCKET)
        close(h->quiesced);
    free(h);
}
