/* routes.c — the server's own endpoints and the hand-off to the api. */
#include "routes.h"

#include <string.h>
#include <unistd.h>

#include "body_stream.h"
#include "cors.h"
#include "reply.h"
#include "static_files.h"

#define GET_ONLY "GET, HEAD"
#define HTML_CSP "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

static bool is_get(const hl_srv_request *req)
{
    return strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
}

static const char *header(const hl_srv_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

static enum MHD_Result preflight(hl_srv_state *st, hl_srv_request *req)
{
    const char *origin = header(req, "Origin");
    if (origin == NULL) {
        struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        if (r)
            MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, POST, PUT, PATCH, DELETE, OPTIONS");
        return hl_srv_reply(st, req, 204, r, 0);
    }
    if (!hl_srv_cors_allowed(st->cfg, origin))
        return hl_srv_reply_problem(st, req, 403, "this origin is not allowed");
    struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (r)
        hl_srv_cors_preflight_headers(r);
    return hl_srv_reply(st, req, 204, r, 0);
}

static enum MHD_Result api(hl_srv_state *st, hl_srv_request *req)
{
    hl_api_request in = {
        .method = req->method,
        .path = req->path,
        .query = hl_srv_request_query(req),
        .authorization = header(req, MHD_HTTP_HEADER_AUTHORIZATION),
        .accept = header(req, MHD_HTTP_HEADER_ACCEPT),
        .content_type = header(req, MHD_HTTP_HEADER_CONTENT_TYPE),
        .last_event_id = header(req, "Last-Event-ID"),
        .body = req->body,
        .body_len = req->body_len,
    };
    hl_api_response out = {0};
    hl_api_handle(st->api, &in, &out);
    struct MHD_Response *r;
    if (out.stream) {
        r = hl_srv_sse_response(st->sse, req->conn, out.stream, &req->bytes);
        out.stream = NULL;
    } else if (out.body_stream) {
        r = hl_srv_body_stream_response(out.body_stream, out.content_type, &req->bytes);
        out.body_stream = NULL;
    } else {
        r = MHD_create_response_from_buffer(out.body_len, out.body ? out.body : "",
                                            out.body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        if (r)
            out.body = NULL;  /* libmicrohttpd frees it now */
        if (r && out.content_type)
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, out.content_type);
    }
    if (r && out.location[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, out.location);
    if (r && out.allow[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, out.allow);
    if (r && out.auth_challenge)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"heaplab\"");
    int status = out.status;
    uint64_t bytes = out.body_len;
    hl_api_response_free(&out);
    return hl_srv_reply(st, req, status, r, bytes);
}

static enum MHD_Result healthz(hl_srv_state *st, hl_srv_request *req)
{
    static const char body[] = "{\"status\":\"ok\"}";
    return hl_srv_reply_text(st, req, 200, "application/json", body, sizeof body - 1);
}

static enum MHD_Result readyz(hl_srv_state *st, hl_srv_request *req)
{
    static const char ready[] = "{\"ready\":true}";
    static const char draining[] = "{\"ready\":false}";
    if (atomic_load(&st->draining))
        return hl_srv_reply_text(st, req, 503, "application/json", draining, sizeof draining - 1);
    return hl_srv_reply_text(st, req, 200, "application/json", ready, sizeof ready - 1);
}

static enum MHD_Result metrics(hl_srv_state *st, hl_srv_request *req)
{
    hl_api_stats stats;
    hl_api_get_stats(st->api, &stats);
    size_t len;
    char *text = hl_srv_metrics_render(st->metrics, &stats, &len);
    if (text == NULL)
        return hl_srv_reply_problem(st, req, 500, "out of memory");
    return hl_srv_reply_owned(st, req, 200, HL_SRV_METRICS_CONTENT_TYPE, text, len);
}

static enum MHD_Result send_file(hl_srv_state *st, hl_srv_request *req, const hl_srv_static_file *f,
                                 const char *ctype)
{
    struct MHD_Response *r = MHD_create_response_from_fd((size_t)f->size, f->fd);
    if (r == NULL) {
        close(f->fd);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    if (f->html)
        MHD_add_response_header(r, "Content-Security-Policy", HTML_CSP);
    return hl_srv_reply(st, req, 200, r, f->size);
}

static enum MHD_Result openapi(hl_srv_state *st, hl_srv_request *req)
{
    hl_srv_static_file f;
    if (!hl_srv_static_open_file(st->cfg->openapi_file, &f))
        return hl_srv_reply_problem(st, req, 404, "the OpenAPI document is not installed");
    return send_file(st, req, &f, "application/json");
}

static enum MHD_Result static_file(hl_srv_state *st, hl_srv_request *req)
{
    hl_srv_static_file f;
    if (!hl_srv_static_open(st->static_root, req->path, &f))
        return hl_srv_reply_problem(st, req, 404, "no such resource");
    if (!is_get(req)) {
        close(f.fd);
        return hl_srv_reply_not_allowed(st, req, GET_ONLY);
    }
    return send_file(st, req, &f, f.content_type);
}

static bool under_v1(const char *path)
{
    return strncmp(path, "/v1", 3) == 0 && (path[3] == '\0' || path[3] == '/');
}

static const struct {
    const char *path;
    enum MHD_Result (*handle)(hl_srv_state *, hl_srv_request *);
} SERVER_ROUTES[] = {
    {"/healthz", healthz},
    {"/readyz", readyz},
    {"/metrics", metrics},
    {"/openapi.json", openapi},
};

enum MHD_Result hl_srv_routes_dispatch(hl_srv_state *st, hl_srv_request *req)
{
    if (req->bad_framing)
        return hl_srv_reply_problem(st, req, 400, "conflicting Content-Length headers: send exactly one");
    if (req->too_large)
        return hl_srv_reply_problem(st, req, 413, "the request body is larger than the server accepts");
    if (strcmp(req->method, "OPTIONS") == 0)
        return preflight(st, req);
    /* libmicrohttpd decodes %00 into the path, which would cut it short
     * and address a different resource. */
    if (strcasestr(req->target, "%00") != NULL)
        return hl_srv_reply_problem(st, req, 400, "the URL contains an encoded NUL (%00)");
    if (under_v1(req->path))
        return api(st, req);
    for (size_t i = 0; i < sizeof SERVER_ROUTES / sizeof SERVER_ROUTES[0]; i++) {
        if (strcmp(req->path, SERVER_ROUTES[i].path) != 0)
            continue;
        if (!is_get(req))
            return hl_srv_reply_not_allowed(st, req, GET_ONLY);
        return SERVER_ROUTES[i].handle(st, req);
    }
    return static_file(st, req);
}
